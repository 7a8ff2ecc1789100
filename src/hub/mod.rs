//! `motcua hub`: the reference central server. It speaks protocol v1 (`docs/sync.md`,
//! `docs/api/openapi.yaml`) from its own SQLite database `hub.db`: signed catalog
//! publications, the queue event log, record statuses, device tokens (hashes only) and the
//! uploads it received. For development, tests, integrators and small deployments.
//!
//! The hub never touches an appliance's stores. It serves plain HTTP, or HTTPS with
//! `--tls-cert/--tls-key` being a documented TODO (put a TLS proxy in front; see docs/sync.md).

pub mod db;
pub mod keys;
pub mod server;
pub mod sim;

pub use db::{Encoding, HubDb, HubError, Publication, HUB_DB};
pub use server::{serve, HubState};
