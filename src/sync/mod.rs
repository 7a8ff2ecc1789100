//! Sync with the central server (protocol v1, `docs/sync.md`): the HTTP client, the signed
//! catalog envelope, the pollers and the uploader, and the state they keep in `catalog.db`.
//!
//! The daemon (`crate::daemon`) runs these tasks; the kiosk never calls in here directly.
//! Invariant: a failure anywhere leaves the installed catalog and the queue tables as they were.

pub mod body;
pub mod catalog_sync;
pub mod client;
pub mod clock;
pub mod context;
pub mod envelope;
pub mod error;
pub mod outbox;
pub mod queue_sync;
pub mod schedule;
pub mod server_url;
pub mod state;
pub mod ticket_store;
pub mod tickets;
pub mod uploader;

pub use client::{CatalogFetch, ClientSettings, HubClient, QueueBatch};
pub use context::{SyncContext, SyncSettings};
pub use envelope::{PinnedKey, SignedEnvelope};
pub use error::SyncError;
