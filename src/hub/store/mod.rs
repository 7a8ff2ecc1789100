//! The hub's store, behind one async API with two backends: SQLite (`DIR/hub.db`, for the demo,
//! development and a single small hub) and PostgreSQL (`--database postgres://…`, production:
//! several hub processes on one database, queue fan-out by LISTEN/NOTIFY).
//!
//! Owns the shared row types and the choice of backend; each backend owns its SQL and its
//! versioned migrations. What is signed and how (publications, anchor receipts) is decided in
//! `hub::publish` and `hub::anchors`; the store only keeps the results. Nothing here talks HTTP.

pub mod postgres;
pub mod sqlite;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, SecondsFormat, Utc};
use ed25519_dalek::SigningKey;
use sha2::{Digest, Sha256};

use super::anchors::{FootageHead, Receipt};
use super::tickets::{
    Follow, IssueOutcome, IssueRequest, Lease, LeaseRequest, ReportOutcome, Reported, TicketRules,
};
use super::updates::{Change, NewRelease, Release};
use crate::catalog::BundleError;
use crate::queue::QueueEvent;
use crate::record::{RecordId, RecordStatus};

pub use postgres::PgStore;
pub use sqlite::{HubDb, HUB_DB};

#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error("{0}")]
    Refused(String),
    #[error("the catalog was not published: {0}")]
    Bundle(#[from] BundleError),
    #[error("hub database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("hub database error (PostgreSQL): {0}")]
    Pg(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl HubError {
    pub fn io(path: &Path, source: std::io::Error) -> HubError {
        HubError::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// How a publication's envelope is stored (and can be served without recoding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Plain JSON (publications made before compression existed).
    Identity,
    Gzip,
}

impl Encoding {
    pub fn from_sql(s: &str) -> Encoding {
        if s == "gzip" {
            Encoding::Gzip
        } else {
            Encoding::Identity
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Identity => "identity",
            Encoding::Gzip => "gzip",
        }
    }
}

/// A signed catalog as stored, without its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publication {
    pub version: u64,
    /// `"v<version>-<16 hex of the identity envelope's SHA-256>"`, whatever the encoding.
    pub etag: String,
    pub procedures: u64,
    /// Bytes of the signed envelope as plain JSON.
    pub envelope_bytes: u64,
    /// How `stored_bytes` of it are kept (and sent to clients that accept it).
    pub encoding: Encoding,
    pub stored_bytes: u64,
}

/// What an anchoring attempt did (see docs/hub.md, "Anchoring").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnchorOutcome {
    New(Receipt),
    /// The same head (seq and hash) again: its existing receipt.
    Repeat(Receipt),
    /// Refused; the reason (the conflict is kept for the fleet page).
    Conflict(String),
}

/// One device as the fleet page shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetRow {
    pub name: String,
    pub center: String,
    /// Hub clock, RFC 3339.
    pub last_seen: Option<String>,
    /// The last heartbeat's body.
    pub heartbeat: Option<serde_json::Value>,
    pub last_anchor: Option<Receipt>,
    pub conflicts: u64,
}

pub fn now_text(now: DateTime<Utc>) -> String {
    now.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of a token, as stored.
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// A new device token: `mct_` and 64 hex digits.
pub fn new_token() -> Result<String, HubError> {
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).map_err(|e| HubError::Refused(e.to_string()))?;
    Ok(format!("mct_{}", hex(&raw)))
}

/// Device and admin names: 1–64 letters, digits, '.', '-' or '_'.
pub fn check_name(name: &str, what: &str) -> Result<(), HubError> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
    {
        return Err(HubError::Refused(format!(
            "a {what} name is 1–64 letters, digits, '.', '-' or '_'"
        )));
    }
    Ok(())
}

/// Where the hub keeps its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// `DIR/hub.db`.
    Sqlite(PathBuf),
    /// A `postgres://` or `postgresql://` URL.
    Postgres(String),
}

impl Database {
    /// `--database` when given (a PostgreSQL URL), else `DIR/hub.db`.
    pub fn choose(database: Option<&str>, dir: &Path) -> Result<Database, HubError> {
        match database {
            None => Ok(Database::Sqlite(dir.to_owned())),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(Database::Postgres(url.to_owned()))
            }
            Some(other) => Err(HubError::Refused(format!(
                "--database {other:?}: expected a postgres://USER@HOST/DB URL (leave it out to use {})",
                dir.join(HUB_DB).display()
            ))),
        }
    }
}

/// The hub's store: one of the two backends, cheap to clone.
#[derive(Clone)]
pub enum Store {
    Sqlite(Arc<Mutex<HubDb>>),
    Postgres(PgStore),
}

macro_rules! both {
    ($self:ident, $db:ident => $sqlite:expr, $pg:ident => $postgres:expr) => {
        match $self {
            Store::Sqlite(m) => {
                #[allow(unused_mut)]
                let mut $db = m.lock().unwrap_or_else(|e| e.into_inner());
                $sqlite
            }
            Store::Postgres($pg) => $postgres,
        }
    };
}

impl Store {
    /// Open (creating and migrating) the store.
    pub async fn open(db: &Database) -> Result<Store, HubError> {
        match db {
            Database::Sqlite(dir) => Ok(Store::Sqlite(Arc::new(Mutex::new(HubDb::open(dir)?)))),
            Database::Postgres(url) => Ok(Store::Postgres(PgStore::connect(url).await?)),
        }
    }

    /// The SQLite backend's connection, for tools and tests; None on PostgreSQL.
    pub fn sqlite(&self) -> Option<MutexGuard<'_, HubDb>> {
        match self {
            Store::Sqlite(m) => Some(m.lock().unwrap_or_else(|e| e.into_inner())),
            Store::Postgres(_) => None,
        }
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgresql",
        }
    }

    pub async fn publish(
        &self,
        bytes: &[u8],
        key: &SigningKey,
        max_bytes: usize,
        expires_in: Option<chrono::Duration>,
        now: DateTime<Utc>,
    ) -> Result<Publication, HubError> {
        both!(self, db => db.publish(bytes, key, max_bytes, expires_in, now),
              pg => pg.publish(bytes, key, max_bytes, expires_in, now).await)
    }

    pub async fn latest(&self) -> Result<Option<Publication>, HubError> {
        both!(self, db => db.latest(), pg => pg.latest().await)
    }

    pub async fn envelope(&self, version: u64) -> Result<Option<Vec<u8>>, HubError> {
        both!(self, db => db.envelope(version), pg => pg.envelope(version).await)
    }

    /// Append a queue event; a call takes `today`'s ticket of its label out of the line
    /// (`today`: `TicketRules::today`, the center's day).
    pub async fn push_event(&self, e: &QueueEvent, today: &str) -> Result<QueueEvent, HubError> {
        both!(self, db => db.push_event(e, today), pg => pg.push_event(e, today).await)
    }

    /// The first waiting ticket of `today` at `counter`, else the counter's own sequence.
    pub async fn next_ticket(&self, counter: u32, today: &str) -> Result<String, HubError> {
        both!(self, db => db.next_ticket(counter, today), pg => pg.next_ticket(counter, today).await)
    }

    pub async fn head(&self) -> Result<u64, HubError> {
        both!(self, db => db.head(), pg => pg.head().await)
    }

    pub async fn events_after(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<QueueEvent>, HubError> {
        both!(self, db => db.events_after(after, limit), pg => pg.events_after(after, limit).await)
    }

    pub async fn set_record(&self, s: &RecordStatus) -> Result<(), HubError> {
        both!(self, db => db.set_record(s), pg => pg.set_record(s).await)
    }

    pub async fn record(&self, id: &RecordId) -> Result<Option<RecordStatus>, HubError> {
        both!(self, db => db.record(id), pg => pg.record(id).await)
    }

    /// Register a device at `center` (or replace its token); returns the new token.
    pub async fn add_device(
        &self,
        name: &str,
        center: &str,
        now: DateTime<Utc>,
    ) -> Result<String, HubError> {
        both!(self, db => db.add_device_at(name, center, now),
              pg => pg.add_device(name, center, now).await)
    }

    pub async fn device_for_token(&self, token: &str) -> Result<Option<String>, HubError> {
        both!(self, db => db.device_for_token(token), pg => pg.device_for_token(token).await)
    }

    /// The response stored with an earlier upload under this key, if any.
    pub async fn upload_response(
        &self,
        kind: &str,
        device: &str,
        key: &str,
    ) -> Result<Option<String>, HubError> {
        both!(self, db => db.upload_response(kind, device, key),
              pg => pg.upload_response(kind, device, key).await)
    }

    /// Keep an upload once per (kind, device, key) with the response it got; true when new.
    /// A heartbeat also becomes its device's latest (for the fleet page).
    pub async fn store_upload(
        &self,
        kind: &str,
        device: &str,
        key: &str,
        body: &str,
        response: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, HubError> {
        both!(self, db => db.store_upload_with(kind, device, key, body, response, now),
              pg => pg.store_upload(kind, device, key, body, response, now).await)
    }

    pub async fn upload_count(&self, kind: &str) -> Result<u64, HubError> {
        both!(self, db => db.upload_count(kind), pg => pg.upload_count(kind).await)
    }

    /// Anchor a verified footage head for `device`, signing the receipt with `hub_key`.
    pub async fn anchor(
        &self,
        device: &str,
        head: &FootageHead,
        hub_key: &SigningKey,
        now: DateTime<Utc>,
    ) -> Result<AnchorOutcome, HubError> {
        both!(self, db => db.anchor(device, head, hub_key, now),
              pg => pg.anchor(device, head, hub_key, now).await)
    }

    /// Anchored heads, newest first (one device's, or everyone's).
    pub async fn anchors(&self, device: Option<&str>) -> Result<Vec<Receipt>, HubError> {
        both!(self, db => db.anchors(device), pg => pg.anchors(device).await)
    }

    pub async fn fleet(&self) -> Result<Vec<FleetRow>, HubError> {
        both!(self, db => db.fleet(), pg => pg.fleet().await)
    }

    /// Issue the next ticket of `req.counter` for the center's day at `now`.
    pub async fn issue_ticket(
        &self,
        device: &str,
        key: &str,
        req: &IssueRequest,
        rules: &TicketRules,
        now: DateTime<Utc>,
    ) -> Result<IssueOutcome, HubError> {
        both!(self, db => db.issue_ticket(device, key, req, rules, now),
              pg => pg.issue_ticket(device, key, req, rules, now).await)
    }

    /// Lease a block of today's numbers to `device`; `Err(reason)` for a reused key.
    pub async fn lease_tickets(
        &self,
        device: &str,
        key: &str,
        req: &LeaseRequest,
        rules: &TicketRules,
        now: DateTime<Utc>,
    ) -> Result<Result<Lease, String>, HubError> {
        both!(self, db => db.lease_tickets(device, key, req, rules, now),
              pg => pg.lease_tickets(device, key, req, rules, now).await)
    }

    /// Enter the numbers a device issued from a lease; with `close`, give the rest back.
    pub async fn report_lease(
        &self,
        device: &str,
        lease: u64,
        issued: &[Reported],
        close: bool,
    ) -> Result<Result<ReportOutcome, String>, HubError> {
        both!(self, db => db.report_lease(device, lease, issued, close),
              pg => pg.report_lease(device, lease, issued, close).await)
    }

    /// The public view of a ticket by its follow token.
    pub async fn follow(&self, token: &str) -> Result<Option<Follow>, HubError> {
        both!(self, db => db.follow(token), pg => pg.follow(token).await)
    }

    /// Every ticket number entered for `day`: (counter, number, label), in order.
    pub async fn tickets_of_day(&self, day: &str) -> Result<Vec<(u32, u64, String)>, HubError> {
        both!(self, db => db.tickets_of_day(day), pg => pg.tickets_of_day(day).await)
    }

    /// Record a release of a bundle already in the bundle store (`hub::updates`).
    pub async fn publish_update(
        &self,
        new: &NewRelease<'_>,
        now: DateTime<Utc>,
    ) -> Result<Release, HubError> {
        both!(self, db => db.publish_update(new, now), pg => pg.publish_update(new, now).await)
    }

    /// Every release, newest first.
    pub async fn updates(&self) -> Result<Vec<Release>, HubError> {
        both!(self, db => db.updates(), pg => pg.updates().await)
    }

    /// Pause, resume or widen release `id`.
    pub async fn change_update(&self, id: u64, change: Change) -> Result<Release, HubError> {
        both!(self, db => db.change_update(id, change), pg => pg.change_update(id, change).await)
    }

    pub async fn set_admin(&self, name: &str, phc: &str) -> Result<(), HubError> {
        both!(self, db => db.set_admin(name, phc), pg => pg.set_admin(name, phc).await)
    }

    pub async fn admin_hash(&self, name: &str) -> Result<Option<String>, HubError> {
        both!(self, db => db.admin_hash(name), pg => pg.admin_hash(name).await)
    }
}
