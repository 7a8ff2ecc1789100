//! The hub's PostgreSQL store (production): the same tables as `hub.db`, reached through a
//! small pool (deadpool) of `tokio-postgres` connections, so several hub processes can share
//! one database and see the same queue.
//!
//! Migrations are numbered, recorded in `hub_migrations` and applied under an advisory lock
//! (two hubs starting at once do not race); a database from a newer motcua is refused.
//! Queue sequence numbers come from a one-row counter updated in the same statement as the
//! insert, so they are gapless and commit in order; every new event and publication is
//! announced with NOTIFY (`motcua_queue`, `motcua_catalog`) and [`PgStore::listen`] turns
//! those into wake-ups of the hub's long-polls.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use ed25519_dalek::SigningKey;
use futures_util::StreamExt as _;
use tokio::sync::watch;
use tokio_postgres::{AsyncMessage, NoTls, Row};

use super::sqlite::{check_center, EventRow};
use super::{
    check_name, new_token, now_text, token_hash, AnchorOutcome, Encoding, FleetRow, HubError,
    Publication,
};
use crate::hub::anchors::{sign_receipt, FootageHead, Receipt};
use crate::queue::QueueEvent;
use crate::record::{RecordId, RecordStatus};

/// NOTIFY channels.
pub const QUEUE_CHANNEL: &str = "motcua_queue";
pub const CATALOG_CHANNEL: &str = "motcua_catalog";
/// Connections in each hub's pool.
pub const POOL_SIZE: usize = 16;

/// Schema versions, in order: version N is `MIGRATIONS[N - 1]`.
pub const MIGRATIONS: &[&str] = &[
    // 1: catalog, queue, records, devices, uploads.
    "
CREATE TABLE publications (
    version      BIGINT PRIMARY KEY,
    envelope     BYTEA NOT NULL,
    etag         TEXT NOT NULL,
    procedures   BIGINT NOT NULL,
    published_at TEXT NOT NULL,
    encoding     TEXT NOT NULL CHECK (encoding IN ('identity', 'gzip')),
    envelope_len BIGINT NOT NULL
);
CREATE TABLE queue_head (
    only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
    seq      BIGINT NOT NULL
);
INSERT INTO queue_head (seq) VALUES (0);
CREATE TABLE queue_events (
    seq       BIGINT PRIMARY KEY,
    counter   INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    ticket    TEXT,
    record_id TEXT,
    waiting   INTEGER,
    at        TEXT NOT NULL
);
CREATE TABLE counters (
    counter     INTEGER PRIMARY KEY,
    next_ticket BIGINT NOT NULL
);
CREATE TABLE records (
    id   TEXT PRIMARY KEY,
    body TEXT NOT NULL
);
CREATE TABLE devices (
    name         TEXT PRIMARY KEY,
    token_sha256 TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL
);
CREATE TABLE uploads (
    kind            TEXT NOT NULL,
    device          TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    body            TEXT NOT NULL,
    received_at     TEXT NOT NULL,
    PRIMARY KEY (kind, device, idempotency_key)
);
",
    // 2: fleet view, stored responses, anchoring, admin accounts.
    "
ALTER TABLE uploads ADD COLUMN response TEXT;
ALTER TABLE devices ADD COLUMN center TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN last_seen TEXT;
ALTER TABLE devices ADD COLUMN last_heartbeat TEXT;
CREATE TABLE anchor_head (
    only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
    hub_seq  BIGINT NOT NULL
);
INSERT INTO anchor_head (hub_seq) VALUES (0);
CREATE TABLE anchors (
    hub_seq       BIGINT PRIMARY KEY,
    device        TEXT NOT NULL,
    key           TEXT NOT NULL,
    seq           BIGINT NOT NULL,
    hash          TEXT NOT NULL,
    at            TEXT NOT NULL,
    signature     TEXT NOT NULL,
    received_at   TEXT NOT NULL,
    hub_signature TEXT NOT NULL,
    UNIQUE (device, seq)
);
CREATE FUNCTION motcua_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'anchors are append-only'; END $$;
CREATE TRIGGER anchors_append_only BEFORE UPDATE OR DELETE ON anchors
    FOR EACH ROW EXECUTE FUNCTION motcua_append_only();
CREATE TABLE device_keys (
    device    TEXT PRIMARY KEY,
    key       TEXT NOT NULL,
    pinned_at TEXT NOT NULL
);
CREATE TABLE anchor_conflicts (
    id          BIGSERIAL PRIMARY KEY,
    device      TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    hash        TEXT NOT NULL,
    reason      TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE TABLE admins (
    name     TEXT PRIMARY KEY,
    password TEXT NOT NULL
);
",
    // 3: tickets (docs/hub.md, "Tickets").
    "
CREATE TABLE ticket_days (
    counter INTEGER NOT NULL,
    day     TEXT NOT NULL,
    next_n  BIGINT NOT NULL,
    PRIMARY KEY (counter, day)
);
CREATE TABLE ticket_leases (
    id              BIGSERIAL PRIMARY KEY,
    device          TEXT NOT NULL,
    counter         INTEGER NOT NULL,
    day             TEXT NOT NULL,
    first_n         BIGINT NOT NULL,
    last_n          BIGINT NOT NULL,
    labels          TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request         TEXT NOT NULL,
    closed          BOOLEAN NOT NULL DEFAULT FALSE,
    UNIQUE (device, idempotency_key)
);
CREATE TABLE tickets (
    counter         INTEGER NOT NULL,
    day             TEXT NOT NULL,
    n               BIGINT NOT NULL,
    label           TEXT NOT NULL,
    device          TEXT NOT NULL,
    idempotency_key TEXT,
    request         TEXT,
    procedure       TEXT,
    issued_at       TEXT NOT NULL,
    follow          TEXT NOT NULL UNIQUE,
    lease_id        BIGINT,
    seq             BIGINT NOT NULL,
    called          BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (counter, day, n),
    UNIQUE (device, idempotency_key)
);
CREATE INDEX tickets_label ON tickets (counter, label) WHERE NOT called;
",
    // 4: software updates (docs/updates.md); `devices` is a JSON array of names.
    "
CREATE TABLE updates (
    id           BIGSERIAL PRIMARY KEY,
    channel      TEXT NOT NULL,
    version      TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    size         BIGINT NOT NULL,
    percent      INTEGER NOT NULL,
    devices      TEXT NOT NULL,
    paused       BOOLEAN NOT NULL DEFAULT FALSE,
    published_at TEXT NOT NULL,
    UNIQUE (channel, version)
);
",
];

#[path = "pg_tickets.rs"]
mod tickets;
#[path = "pg_updates.rs"]
mod updates;

/// A PostgreSQL error as a hub error, with the server's message when there is one.
fn pg(e: tokio_postgres::Error) -> HubError {
    match e.as_db_error() {
        Some(db) => HubError::Pg(format!("{}: {}", db.code().code(), db.message())),
        None => HubError::Pg(e.to_string()),
    }
}

fn pool_err(e: impl std::fmt::Display) -> HubError {
    HubError::Pg(format!("no database connection: {e}"))
}

#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    config: std::sync::Arc<tokio_postgres::Config>,
}

const RECEIPT_COLUMNS: &str =
    "device, key, seq, hash, at, signature, received_at, hub_seq, hub_signature";

fn receipt_at(r: &Row, i: usize) -> Receipt {
    Receipt {
        device: r.get(i),
        key: r.get(i + 1),
        seq: r.get::<_, i64>(i + 2) as u64,
        hash: r.get(i + 3),
        at: r.get(i + 4),
        signature: r.get(i + 5),
        received_at: r.get(i + 6),
        hub_seq: r.get::<_, i64>(i + 7) as u64,
        hub_signature: r.get(i + 8),
    }
}

impl PgStore {
    /// Connect and migrate. The URL is libpq's (`postgres://user@host:port/db`, or with
    /// `?host=/run/postgresql` for a Unix socket).
    pub async fn connect(url: &str) -> Result<PgStore, HubError> {
        let config = tokio_postgres::Config::from_str(url)
            .map_err(|e| HubError::Refused(format!("--database: not a PostgreSQL URL ({e})")))?;
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .build()
            .map_err(pool_err)?;
        let store = PgStore {
            pool,
            config: std::sync::Arc::new(config),
        };
        store.migrate(MIGRATIONS.len()).await?;
        Ok(store)
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, HubError> {
        self.pool.get().await.map_err(pool_err)
    }

    /// Apply migrations up to version `to` (all of them, except in tests).
    pub async fn migrate(&self, to: usize) -> Result<(), HubError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        tx.batch_execute(
            "SELECT pg_advisory_xact_lock(7270001);
             CREATE TABLE IF NOT EXISTS hub_migrations (
                 version    INTEGER PRIMARY KEY,
                 applied_at TIMESTAMPTZ NOT NULL DEFAULT now());",
        )
        .await
        .map_err(pg)?;
        let v: i32 = tx
            .query_one("SELECT coalesce(max(version), 0) FROM hub_migrations", &[])
            .await
            .map_err(pg)?
            .get(0);
        if v as usize > MIGRATIONS.len() {
            return Err(HubError::Refused(format!(
                "the hub database has schema version {v}, newer than this motcua knows ({}); use the newer motcua",
                MIGRATIONS.len()
            )));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().take(to).skip(v as usize) {
            tx.batch_execute(sql).await.map_err(pg)?;
            tx.execute(
                "INSERT INTO hub_migrations (version) VALUES ($1)",
                &[&(i as i32 + 1)],
            )
            .await
            .map_err(pg)?;
        }
        tx.commit().await.map_err(pg)
    }

    pub async fn schema_version(&self) -> Result<u32, HubError> {
        let c = self.client().await?;
        let v: i32 = c
            .query_one("SELECT coalesce(max(version), 0) FROM hub_migrations", &[])
            .await
            .map_err(pg)?
            .get(0);
        Ok(v as u32)
    }

    pub async fn publish(
        &self,
        bytes: &[u8],
        key: &SigningKey,
        max_bytes: usize,
        expires_in: Option<chrono::Duration>,
        now: DateTime<Utc>,
    ) -> Result<Publication, HubError> {
        let c = self.client().await?;
        let counts: Vec<(String, u64)> = c
            .query(
                "SELECT body::jsonb->>'procedure' AS code, count(*) FROM records
                 WHERE body::jsonb->>'procedure' IS NOT NULL
                 GROUP BY code ORDER BY count(*) DESC, code",
                &[],
            )
            .await
            .map_err(pg)?
            .iter()
            .map(|r| (r.get(0), r.get::<_, i64>(1).max(0) as u64))
            .collect();
        let last = self.latest().await?.map_or(0, |p| p.version);
        let bytes = bytes.to_vec();
        let key = key.clone();
        let p = tokio::task::spawn_blocking(move || {
            crate::hub::publish::prepare(&bytes, &key, max_bytes, expires_in, now, last, &counts)
        })
        .await
        .map_err(|e| HubError::Refused(format!("publishing: {e}")))??;
        c.execute(
            "WITH i AS (INSERT INTO publications (version, envelope, etag, procedures,
                            published_at, encoding, envelope_len)
                        VALUES ($1, $2, $3, $4, $5, 'gzip', $6) RETURNING version)
             SELECT pg_notify($7, version::text) FROM i",
            &[
                &(p.version as i64),
                &p.stored,
                &p.etag,
                &(p.procedures as i64),
                &now_text(now),
                &(p.envelope_len as i64),
                &CATALOG_CHANNEL,
            ],
        )
        .await
        .map_err(pg)?;
        Ok(Publication {
            version: p.version,
            etag: p.etag,
            procedures: p.procedures,
            envelope_bytes: p.envelope_len,
            encoding: Encoding::Gzip,
            stored_bytes: p.stored.len() as u64,
        })
    }

    pub async fn latest(&self) -> Result<Option<Publication>, HubError> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                "SELECT version, etag, procedures, envelope_len, encoding, length(envelope)
                 FROM publications ORDER BY version DESC LIMIT 1",
                &[],
            )
            .await
            .map_err(pg)?;
        Ok(row.map(|r| Publication {
            version: r.get::<_, i64>(0) as u64,
            etag: r.get(1),
            procedures: r.get::<_, i64>(2) as u64,
            envelope_bytes: r.get::<_, i64>(3) as u64,
            encoding: Encoding::from_sql(r.get(4)),
            stored_bytes: r.get::<_, i32>(5) as u64,
        }))
    }

    pub async fn envelope(&self, version: u64) -> Result<Option<Vec<u8>>, HubError> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                "SELECT envelope FROM publications WHERE version = $1",
                &[&(version as i64)],
            )
            .await
            .map_err(pg)?;
        Ok(row.map(|r| r.get(0)))
    }

    /// Append an event: numbered, inserted and announced in one statement (the counter row's
    /// lock orders concurrent writers, from any hub process).
    pub async fn push_event(&self, e: &QueueEvent, today: &str) -> Result<QueueEvent, HubError> {
        let mut e = e.clone();
        e.seq = 0;
        e.check().map_err(HubError::Refused)?;
        let kind = serde_json::to_value(e.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let c = self.client().await?;
        let row = c
            .query_one(
                "WITH s AS (UPDATE queue_head SET seq = seq + 1 RETURNING seq),
                      i AS (INSERT INTO queue_events (seq, counter, kind, ticket, record_id, waiting, at)
                            SELECT s.seq, $1, $2, $3, $4, $5, $6 FROM s RETURNING seq),
                      -- A call takes the ticket out of the waiting line (for how many are ahead).
                      u AS (UPDATE tickets SET called = TRUE
                            WHERE $8 AND counter = $1 AND label = $3 AND NOT called
                              AND day = $9)
                 SELECT seq, pg_notify($7, seq::text)::text FROM i",
                &[
                    &(e.counter as i32),
                    &kind,
                    &e.ticket,
                    &e.record_id.as_ref().map(|r| r.as_str()),
                    &e.waiting.map(|w| w.min(i32::MAX as u32) as i32),
                    &e.at,
                    &QUEUE_CHANNEL,
                    &tickets::is_call(e.kind),
                    &today,
                ],
            )
            .await
            .map_err(pg)?;
        e.seq = row.get::<_, i64>(0) as u64;
        Ok(e)
    }

    /// As the SQLite store's `next_ticket`: the first waiting issued ticket, else the
    /// counter's own sequence.
    pub async fn next_ticket(&self, counter: u32, today: &str) -> Result<String, HubError> {
        let c = self.client().await?;
        let waiting = c
            .query_opt(
                "SELECT label FROM tickets WHERE counter = $1 AND NOT called AND day = $2 \
                 ORDER BY n LIMIT 1",
                &[&(counter as i32), &today],
            )
            .await
            .map_err(pg)?;
        if let Some(row) = waiting {
            return Ok(row.get(0));
        }
        let n: i64 = c
            .query_one(
                "INSERT INTO counters (counter, next_ticket) VALUES ($1, 1)
                 ON CONFLICT (counter) DO UPDATE SET next_ticket = counters.next_ticket + 1
                 RETURNING next_ticket",
                &[&(counter as i32)],
            )
            .await
            .map_err(pg)?
            .get(0);
        Ok(format!("{}", counter as i64 * 1000 + n % 1000))
    }

    pub async fn head(&self) -> Result<u64, HubError> {
        let c = self.client().await?;
        let seq: i64 = c
            .query_one("SELECT seq FROM queue_head", &[])
            .await
            .map_err(pg)?
            .get(0);
        Ok(seq as u64)
    }

    pub async fn events_after(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<QueueEvent>, HubError> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(
                "SELECT seq, counter, kind, ticket, record_id, waiting, at FROM queue_events
                 WHERE seq > $1 ORDER BY seq LIMIT $2",
            )
            .await
            .map_err(pg)?;
        let rows = c
            .query(
                &stmt,
                &[&(after.min(i64::MAX as u64) as i64), &(limit as i64)],
            )
            .await
            .map_err(pg)?;
        rows.iter()
            .map(|r| {
                EventRow {
                    seq: r.get::<_, i64>(0) as u64,
                    counter: r.get::<_, i32>(1) as u32,
                    kind: r.get(2),
                    ticket: r.get(3),
                    record_id: r.get(4),
                    waiting: r.get::<_, Option<i32>>(5).map(|w| w as u32),
                    at: r.get(6),
                }
                .into_event()
            })
            .collect()
    }

    pub async fn set_record(&self, s: &RecordStatus) -> Result<(), HubError> {
        let body = serde_json::to_string(s).map_err(|e| HubError::Refused(e.to_string()))?;
        let c = self.client().await?;
        c.execute(
            "INSERT INTO records (id, body) VALUES ($1, $2)
             ON CONFLICT (id) DO UPDATE SET body = excluded.body",
            &[&s.id.as_str(), &body],
        )
        .await
        .map_err(pg)?;
        Ok(())
    }

    pub async fn record(&self, id: &RecordId) -> Result<Option<RecordStatus>, HubError> {
        let c = self.client().await?;
        let row = c
            .query_opt("SELECT body FROM records WHERE id = $1", &[&id.as_str()])
            .await
            .map_err(pg)?;
        row.map(|r| {
            serde_json::from_str(r.get::<_, &str>(0)).map_err(|e| HubError::Refused(e.to_string()))
        })
        .transpose()
    }

    pub async fn add_device(
        &self,
        name: &str,
        center: &str,
        now: DateTime<Utc>,
    ) -> Result<String, HubError> {
        check_name(name, "device")?;
        check_center(center)?;
        let token = new_token()?;
        let c = self.client().await?;
        c.execute(
            "INSERT INTO devices (name, token_sha256, created_at, center) VALUES ($1, $2, $3, $4)
             ON CONFLICT (name) DO UPDATE SET token_sha256 = excluded.token_sha256,
                 created_at = excluded.created_at,
                 -- a new token without --center keeps the device's center
                 center = CASE WHEN excluded.center = '' THEN devices.center
                               ELSE excluded.center END",
            &[&name, &token_hash(&token), &now_text(now), &center],
        )
        .await
        .map_err(pg)?;
        Ok(token)
    }

    pub async fn device_for_token(&self, token: &str) -> Result<Option<String>, HubError> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached("SELECT name FROM devices WHERE token_sha256 = $1")
            .await
            .map_err(pg)?;
        let row = c
            .query_opt(&stmt, &[&token_hash(token)])
            .await
            .map_err(pg)?;
        Ok(row.map(|r| r.get(0)))
    }

    pub async fn upload_response(
        &self,
        kind: &str,
        device: &str,
        key: &str,
    ) -> Result<Option<String>, HubError> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                "SELECT coalesce(response, '{\"stored\":true}') FROM uploads
                 WHERE kind = $1 AND device = $2 AND idempotency_key = $3",
                &[&kind, &device, &key],
            )
            .await
            .map_err(pg)?;
        Ok(row.map(|r| r.get(0)))
    }

    pub async fn store_upload(
        &self,
        kind: &str,
        device: &str,
        key: &str,
        body: &str,
        response: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, HubError> {
        let c = self.client().await?;
        let now = now_text(now);
        // One statement: the upload and (for a new heartbeat) the device's latest.
        let n: i64 = c
            .query_one(
                "WITH i AS (INSERT INTO uploads (kind, device, idempotency_key, body, received_at, response)
                            VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING 1),
                      u AS (UPDATE devices SET last_seen = $5, last_heartbeat = $4
                            WHERE name = $2 AND $1 = 'heartbeat' AND EXISTS (SELECT 1 FROM i)
                            RETURNING 1)
                 SELECT (SELECT count(*) FROM i) + 0 * (SELECT count(*) FROM u)",
                &[&kind, &device, &key, &body, &now, &response],
            )
            .await
            .map_err(pg)?
            .get(0);
        Ok(n == 1)
    }

    pub async fn upload_count(&self, kind: &str) -> Result<u64, HubError> {
        let c = self.client().await?;
        let n: i64 = c
            .query_one("SELECT count(*) FROM uploads WHERE kind = $1", &[&kind])
            .await
            .map_err(pg)?
            .get(0);
        Ok(n as u64)
    }

    pub async fn anchor(
        &self,
        device: &str,
        head: &FootageHead,
        hub_key: &SigningKey,
        now: DateTime<Utc>,
    ) -> Result<AnchorOutcome, HubError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        // One device's anchors are decided one at a time, across hub processes.
        tx.execute(
            "SELECT pg_advisory_xact_lock(7270002, hashtext($1))",
            &[&device],
        )
        .await
        .map_err(pg)?;
        let seq = head.seq as i64;
        let pinned: Option<String> = tx
            .query_opt("SELECT key FROM device_keys WHERE device = $1", &[&device])
            .await
            .map_err(pg)?
            .map(|r| r.get(0));
        let sql_last = format!(
            "SELECT {RECEIPT_COLUMNS} FROM anchors WHERE device = $1 ORDER BY seq DESC LIMIT 1"
        );
        let sql_same =
            format!("SELECT {RECEIPT_COLUMNS} FROM anchors WHERE device = $1 AND seq = $2");
        let reason = if pinned.is_some_and(|k| k != head.key) {
            Some("footage_head: device key changed")
        } else {
            let last = tx
                .query_opt(&sql_last, &[&device])
                .await
                .map_err(pg)?
                .map(|r| receipt_at(&r, 0));
            let same = tx
                .query_opt(&sql_same, &[&device, &seq])
                .await
                .map_err(pg)?
                .map(|r| receipt_at(&r, 0));
            match (last, same) {
                (_, Some(r)) if r.hash == head.hash => {
                    tx.commit().await.map_err(pg)?;
                    return Ok(AnchorOutcome::Repeat(r));
                }
                (_, Some(_)) => Some("footage_head: a different hash was anchored at this seq"),
                (Some(l), None) if l.seq > head.seq => {
                    Some("footage_head: seq is below the device's last anchored head")
                }
                _ => None,
            }
        };
        let outcome = match reason {
            Some(reason) => {
                tx.execute(
                    // Once per (device, seq, hash, reason), as in the SQLite store.
                    "INSERT INTO anchor_conflicts (device, seq, hash, reason, received_at)
                     SELECT $1, $2, $3, $4, $5 WHERE NOT EXISTS (SELECT 1 FROM anchor_conflicts
                         WHERE device = $1 AND seq = $2 AND hash = $3 AND reason = $4)",
                    &[&device, &seq, &head.hash, &reason, &now_text(now)],
                )
                .await
                .map_err(pg)?;
                AnchorOutcome::Conflict(reason.to_owned())
            }
            None => {
                tx.execute(
                    "INSERT INTO device_keys (device, key, pinned_at) VALUES ($1, $2, $3)
                     ON CONFLICT DO NOTHING",
                    &[&device, &head.key, &now_text(now)],
                )
                .await
                .map_err(pg)?;
                let hub_seq: i64 = tx
                    .query_one(
                        "UPDATE anchor_head SET hub_seq = hub_seq + 1 RETURNING hub_seq",
                        &[],
                    )
                    .await
                    .map_err(pg)?
                    .get(0);
                let r = sign_receipt(
                    Receipt {
                        device: device.to_owned(),
                        key: head.key.clone(),
                        seq: head.seq,
                        hash: head.hash.clone(),
                        at: head.at.clone(),
                        signature: head.signature.clone(),
                        received_at: now_text(now),
                        hub_seq: hub_seq as u64,
                        hub_signature: String::new(),
                    },
                    hub_key,
                );
                tx.execute(
                    &format!(
                        "INSERT INTO anchors ({RECEIPT_COLUMNS})
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                    ),
                    &[
                        &r.device,
                        &r.key,
                        &seq,
                        &r.hash,
                        &r.at,
                        &r.signature,
                        &r.received_at,
                        &hub_seq,
                        &r.hub_signature,
                    ],
                )
                .await
                .map_err(pg)?;
                AnchorOutcome::New(r)
            }
        };
        tx.commit().await.map_err(pg)?;
        Ok(outcome)
    }

    pub async fn anchors(&self, device: Option<&str>) -> Result<Vec<Receipt>, HubError> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!(
                    "SELECT {RECEIPT_COLUMNS} FROM anchors
                     WHERE $1::text IS NULL OR device = $1 ORDER BY hub_seq DESC"
                ),
                &[&device],
            )
            .await
            .map_err(pg)?;
        Ok(rows.iter().map(|r| receipt_at(r, 0)).collect())
    }

    pub async fn fleet(&self) -> Result<Vec<FleetRow>, HubError> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT d.name, d.center, d.last_seen, d.last_heartbeat,
                        (SELECT count(*) FROM anchor_conflicts c WHERE c.device = d.name),
                        a.device, a.key, a.seq, a.hash, a.at, a.signature, a.received_at,
                        a.hub_seq, a.hub_signature
                 FROM devices d
                 LEFT JOIN LATERAL (SELECT * FROM anchors WHERE device = d.name
                                    ORDER BY seq DESC LIMIT 1) a ON TRUE
                 ORDER BY d.name",
                &[],
            )
            .await
            .map_err(pg)?;
        Ok(rows
            .iter()
            .map(|r| FleetRow {
                name: r.get(0),
                center: r.get(1),
                last_seen: r.get(2),
                heartbeat: r
                    .get::<_, Option<&str>>(3)
                    .and_then(|b| serde_json::from_str(b).ok()),
                conflicts: r.get::<_, i64>(4) as u64,
                last_anchor: r
                    .get::<_, Option<String>>(5)
                    .is_some()
                    .then(|| receipt_at(r, 5)),
            })
            .collect())
    }

    pub async fn set_admin(&self, name: &str, phc: &str) -> Result<(), HubError> {
        check_name(name, "admin")?;
        let c = self.client().await?;
        c.execute(
            "INSERT INTO admins (name, password) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET password = excluded.password",
            &[&name, &phc],
        )
        .await
        .map_err(pg)?;
        Ok(())
    }

    pub async fn admin_hash(&self, name: &str) -> Result<Option<String>, HubError> {
        let c = self.client().await?;
        let row = c
            .query_opt("SELECT password FROM admins WHERE name = $1", &[&name])
            .await
            .map_err(pg)?;
        Ok(row.map(|r| r.get(0)))
    }

    /// Follow NOTIFY on a connection of its own until the process ends: new queue heads go to
    /// `head`, new catalog versions to `catalog` (both only ever move forward). After each
    /// (re)connection the current values are read, so nothing announced while the
    /// connection was down is missed.
    pub async fn listen(self, head: watch::Sender<u64>, catalog: watch::Sender<u64>) {
        let forward = |tx: &watch::Sender<u64>, v: u64| {
            tx.send_if_modified(|cur| {
                let newer = v > *cur;
                if newer {
                    *cur = v;
                }
                newer
            });
        };
        loop {
            match self.config.connect(NoTls).await {
                Ok((client, mut conn)) => {
                    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
                    let driver = tokio::spawn(async move {
                        let mut messages =
                            futures_util::stream::poll_fn(move |cx| conn.poll_message(cx));
                        while let Some(m) = messages.next().await {
                            match m {
                                Ok(AsyncMessage::Notification(n)) => {
                                    let _ =
                                        tx.send((n.channel().to_owned(), n.payload().to_owned()));
                                }
                                Ok(_) => {}
                                Err(e) => {
                                    tracing::warn!("hub: PostgreSQL listener: {e}");
                                    break;
                                }
                            }
                        }
                    });
                    let listening = client
                        .batch_execute(&format!("LISTEN {QUEUE_CHANNEL}; LISTEN {CATALOG_CHANNEL}"))
                        .await;
                    if listening.is_ok() {
                        if let Ok(h) = self.head().await {
                            forward(&head, h);
                        }
                        if let Ok(Some(p)) = self.latest().await {
                            forward(&catalog, p.version);
                        }
                        while let Some((channel, payload)) = rx.recv().await {
                            let Ok(v) = payload.parse::<u64>() else {
                                continue;
                            };
                            if channel == QUEUE_CHANNEL {
                                forward(&head, v);
                            } else if channel == CATALOG_CHANNEL {
                                forward(&catalog, v);
                            }
                        }
                    }
                    driver.abort();
                    drop(client);
                }
                Err(e) => tracing::warn!("hub: cannot connect the PostgreSQL listener: {}", pg(e)),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}
