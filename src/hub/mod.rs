//! `motcua hub`: the central server. It speaks protocol v1 (`docs/sync.md`,
//! `docs/api/openapi.yaml`) from its store — SQLite `hub.db` for the demo and development,
//! PostgreSQL for a province (several hub processes on one database): signed catalog
//! publications, the queue event log, record statuses, device tokens (hashes only), the
//! uploads it received, anchored footage heads, and the fleet page for the province's IT.
//!
//! It serves HTTPS itself (rustls on ring; `--tls-cert/--tls-key`), or plain HTTP on a
//! loopback address for development. See docs/hub.md.

pub mod anchors;
pub mod api;
mod api_tickets;
mod api_updates;
pub mod config;
pub mod fleet;
pub mod keys;
pub mod publish;
pub mod server;
pub mod sim;
pub mod store;
pub mod tickets;
pub mod updates;
pub mod validate;

pub use server::{serve, serve_tls, HubState};
/// The SQLite store under its old name (`hub::db::record_status`, `hub::db::token_hash`).
pub use store::sqlite as db;
pub use store::{Database, Encoding, HubDb, HubError, Publication, Store, HUB_DB};
