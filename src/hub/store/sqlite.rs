//! `hub.db`: the hub's SQLite store, for the demo, development and a single small hub —
//! publications (the exact signed bytes), the queue event log, record statuses, device token
//! hashes, received uploads, anchored footage heads and admin accounts.
//!
//! Schema versions are numbered (`PRAGMA user_version`) and applied in order, each in one
//! transaction; a database from a newer motcua is refused. Every write that reads before it
//! writes takes the write lock first (`BEGIN IMMEDIATE`), so writers in other processes wait
//! for each other (busy timeout) instead of failing with "database is locked".

use std::path::Path;

use chrono::{DateTime, Utc};
use ed25519_dalek::SigningKey;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::{
    check_name, new_token, now_text, AnchorOutcome, Encoding, FleetRow, HubError, Publication,
};
use crate::hub::anchors::{sign_receipt, FootageHead, Receipt};
use crate::queue::{QueueEvent, QueueEventKind};
use crate::record::{RecordId, RecordStage, RecordStatus};

pub use super::token_hash;

pub const HUB_DB: &str = "hub.db";

/// Schema versions, in order: version N is `MIGRATIONS[N - 1]`.
const MIGRATIONS: &[&str] = &[
    // 1: the original hub (older files already have these tables; columns added below).
    "
CREATE TABLE IF NOT EXISTS publications (
    version      INTEGER PRIMARY KEY,
    envelope     BLOB NOT NULL,
    etag         TEXT NOT NULL,
    procedures   INTEGER NOT NULL,
    published_at TEXT NOT NULL,
    encoding     TEXT NOT NULL DEFAULT 'identity' CHECK (encoding IN ('identity', 'gzip')),
    envelope_len INTEGER
) STRICT;
CREATE TABLE IF NOT EXISTS queue_events (
    seq       INTEGER PRIMARY KEY,
    counter   INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    ticket    TEXT,
    record_id TEXT,
    waiting   INTEGER,
    at        TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS counters (
    counter     INTEGER PRIMARY KEY,
    next_ticket INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS records (
    id   TEXT PRIMARY KEY,
    body TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS devices (
    name         TEXT PRIMARY KEY,
    token_sha256 TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS uploads (
    kind            TEXT NOT NULL,
    device          TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    body            TEXT NOT NULL,
    received_at     TEXT NOT NULL,
    PRIMARY KEY (kind, device, idempotency_key)
) STRICT;
",
    // 2: fleet view, stored responses, anchoring, admin accounts.
    "
ALTER TABLE uploads ADD COLUMN response TEXT;
ALTER TABLE devices ADD COLUMN center TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN last_seen TEXT;
ALTER TABLE devices ADD COLUMN last_heartbeat TEXT;
CREATE TABLE anchors (
    hub_seq       INTEGER PRIMARY KEY,
    device        TEXT NOT NULL,
    key           TEXT NOT NULL,
    seq           INTEGER NOT NULL,
    hash          TEXT NOT NULL,
    at            TEXT NOT NULL,
    signature     TEXT NOT NULL,
    received_at   TEXT NOT NULL,
    hub_signature TEXT NOT NULL,
    UNIQUE (device, seq)
) STRICT;
CREATE TRIGGER anchors_no_update BEFORE UPDATE ON anchors
    BEGIN SELECT RAISE(ABORT, 'anchors are append-only'); END;
CREATE TRIGGER anchors_no_delete BEFORE DELETE ON anchors
    BEGIN SELECT RAISE(ABORT, 'anchors are append-only'); END;
CREATE TABLE device_keys (
    device    TEXT PRIMARY KEY,
    key       TEXT NOT NULL,
    pinned_at TEXT NOT NULL
) STRICT;
CREATE TABLE anchor_conflicts (
    id          INTEGER PRIMARY KEY,
    device      TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    hash        TEXT NOT NULL,
    reason      TEXT NOT NULL,
    received_at TEXT NOT NULL
) STRICT;
CREATE TABLE admins (
    name     TEXT PRIMARY KEY,
    password TEXT NOT NULL
) STRICT;
",
    // 3: tickets (docs/hub.md, "Tickets").
    "
CREATE TABLE ticket_days (
    counter INTEGER NOT NULL,
    day     TEXT NOT NULL,
    next_n  INTEGER NOT NULL,
    PRIMARY KEY (counter, day)
) STRICT;
CREATE TABLE ticket_leases (
    id              INTEGER PRIMARY KEY,
    device          TEXT NOT NULL,
    counter         INTEGER NOT NULL,
    day             TEXT NOT NULL,
    first_n         INTEGER NOT NULL,
    last_n          INTEGER NOT NULL,
    labels          TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request         TEXT NOT NULL,
    closed          INTEGER NOT NULL DEFAULT 0,
    UNIQUE (device, idempotency_key)
) STRICT;
CREATE TABLE tickets (
    counter         INTEGER NOT NULL,
    day             TEXT NOT NULL,
    n               INTEGER NOT NULL,
    label           TEXT NOT NULL,
    device          TEXT NOT NULL,
    idempotency_key TEXT,
    request         TEXT,
    procedure       TEXT,
    issued_at       TEXT NOT NULL,
    follow          TEXT NOT NULL UNIQUE,
    lease_id        INTEGER,
    seq             INTEGER NOT NULL,
    called          INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (counter, day, n),
    UNIQUE (device, idempotency_key)
) STRICT;
CREATE INDEX tickets_label ON tickets (counter, label) WHERE called = 0;
",
    // 4: software updates (docs/updates.md); `devices` is a JSON array of names.
    "
CREATE TABLE updates (
    id           INTEGER PRIMARY KEY,
    channel      TEXT NOT NULL,
    version      TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    size         INTEGER NOT NULL,
    percent      INTEGER NOT NULL,
    devices      TEXT NOT NULL,
    paused       INTEGER NOT NULL DEFAULT 0,
    published_at TEXT NOT NULL,
    UNIQUE (channel, version)
) STRICT;
",
];

#[path = "sqlite_tickets.rs"]
mod tickets;
#[path = "sqlite_updates.rs"]
mod updates;

pub struct HubDb {
    conn: Connection,
}

impl HubDb {
    /// Open (creating, migrating) `DIR/hub.db`.
    pub fn open(dir: &Path) -> Result<HubDb, HubError> {
        std::fs::create_dir_all(dir).map_err(|e| HubError::io(dir, e))?;
        let conn = Connection::open(dir.join(HUB_DB))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        let mut db = HubDb { conn };
        db.migrate()?;
        Ok(db)
    }

    /// The schema version of this file.
    pub fn schema_version(&self) -> Result<u32, HubError> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    fn migrate(&mut self) -> Result<(), HubError> {
        loop {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            let v: u32 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
            if v as usize > MIGRATIONS.len() {
                return Err(HubError::Refused(format!(
                    "hub.db has schema version {v}, newer than this motcua knows ({}); use the newer motcua",
                    MIGRATIONS.len()
                )));
            }
            let Some(sql) = MIGRATIONS.get(v as usize) else {
                return Ok(());
            };
            tx.execute_batch(sql)?;
            if v == 0 {
                Self::add_publication_columns(&tx)?;
            }
            tx.pragma_update(None, "user_version", v + 1)?;
            tx.commit()?;
        }
    }

    /// Files from before version 1 lack these columns of `publications`.
    fn add_publication_columns(conn: &Connection) -> Result<(), HubError> {
        let has = |col: &str| -> Result<bool, HubError> {
            Ok(conn
                .prepare("SELECT 1 FROM pragma_table_info('publications') WHERE name = ?1")?
                .exists([col])?)
        };
        if !has("encoding")? {
            conn.execute_batch(
                "ALTER TABLE publications ADD COLUMN encoding TEXT NOT NULL DEFAULT 'identity'
                     CHECK (encoding IN ('identity', 'gzip'));",
            )?;
        }
        if !has("envelope_len")? {
            conn.execute_batch("ALTER TABLE publications ADD COLUMN envelope_len INTEGER;")?;
        }
        Ok(())
    }

    /// Validate, bump the version above the last publication, stamp `issued_at`, sign,
    /// compress and store. `max_bytes` bounds the file and the bundle that is signed.
    pub fn publish(
        &mut self,
        bytes: &[u8],
        key: &SigningKey,
        max_bytes: usize,
        expires_in: Option<chrono::Duration>,
        now: DateTime<Utc>,
    ) -> Result<Publication, HubError> {
        let counts = self.record_counts()?;
        let last = self.latest()?.map_or(0, |p| p.version);
        let p =
            crate::hub::publish::prepare(bytes, key, max_bytes, expires_in, now, last, &counts)?;
        self.conn.execute(
            "INSERT INTO publications (version, envelope, etag, procedures, published_at,
                 encoding, envelope_len)
             VALUES (?1, ?2, ?3, ?4, ?5, 'gzip', ?6)",
            params![
                p.version as i64,
                p.stored,
                p.etag,
                p.procedures as i64,
                now_text(now),
                p.envelope_len as i64
            ],
        )?;
        Ok(Publication {
            version: p.version,
            etag: p.etag,
            procedures: p.procedures,
            envelope_bytes: p.envelope_len,
            encoding: Encoding::Gzip,
            stored_bytes: p.stored.len() as u64,
        })
    }

    /// Records received per procedure, most first.
    fn record_counts(&self) -> Result<Vec<(String, u64)>, HubError> {
        let mut stmt = self.conn.prepare(
            "SELECT json_extract(body, '$.procedure') AS code, count(*) FROM records
             WHERE code IS NOT NULL GROUP BY code ORDER BY count(*) DESC, code",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?.max(0) as u64))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The newest publication (its description; [`HubDb::envelope`] has the bytes).
    pub fn latest(&self) -> Result<Option<Publication>, HubError> {
        Ok(self
            .conn
            .query_row(
                "SELECT version, etag, procedures, coalesce(envelope_len, length(envelope)),
                        encoding, length(envelope)
                 FROM publications ORDER BY version DESC LIMIT 1",
                [],
                |r| {
                    Ok(Publication {
                        version: r.get::<_, i64>(0)? as u64,
                        etag: r.get(1)?,
                        procedures: r.get::<_, i64>(2)? as u64,
                        envelope_bytes: r.get::<_, i64>(3)? as u64,
                        encoding: Encoding::from_sql(&r.get::<_, String>(4)?),
                        stored_bytes: r.get::<_, i64>(5)? as u64,
                    })
                },
            )
            .optional()?)
    }

    /// The stored bytes of a publication's envelope (in its [`Encoding`]).
    pub fn envelope(&self, version: u64) -> Result<Option<Vec<u8>>, HubError> {
        Ok(self
            .conn
            .query_row(
                "SELECT envelope FROM publications WHERE version = ?1",
                [version as i64],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Append a queue event; the hub assigns the sequence number (any `seq` given is ignored).
    /// `today`: the center's day (`TicketRules::today`), whose ticket a call takes out of the
    /// waiting line.
    pub fn push_event(&mut self, e: &QueueEvent, today: &str) -> Result<QueueEvent, HubError> {
        let mut e = e.clone();
        e.seq = 0;
        e.check().map_err(HubError::Refused)?;
        // IMMEDIATE: take the write lock before reading max(seq). A deferred transaction that
        // reads and then writes cannot wait for another process's write (SQLite answers
        // "database is locked" at once instead of honouring the busy timeout).
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let next: i64 = tx.query_row(
            "SELECT coalesce(max(seq), 0) + 1 FROM queue_events",
            [],
            |r| r.get(0),
        )?;
        e.seq = next as u64;
        crate::store::queue_store::insert_event(&tx, &e)?;
        tickets::mark_called(&tx, &e, today)?;
        tx.commit()?;
        Ok(e)
    }

    /// The ticket `hub queue call` calls at `counter`: the first issued ticket of `today` (the
    /// center's day, `TicketRules::today`) not yet called; with no issued ticket waiting, the next of the
    /// counter's own sequence (counter·1000 + n: a center that does not issue through the hub).
    pub fn next_ticket(&mut self, counter: u32, today: &str) -> Result<String, HubError> {
        let waiting: Option<String> = self
            .conn
            .query_row(
                "SELECT label FROM tickets WHERE counter = ?1 AND called = 0 AND day = ?2 \
                 ORDER BY n LIMIT 1",
                params![counter, today],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(label) = waiting {
            return Ok(label);
        }
        // One statement: the increment and the read cannot interleave with another writer.
        let n: i64 = self.conn.query_row(
            "INSERT INTO counters (counter, next_ticket) VALUES (?1, 1)
             ON CONFLICT (counter) DO UPDATE SET next_ticket = next_ticket + 1
             RETURNING next_ticket",
            [counter],
            |r| r.get(0),
        )?;
        Ok(format!("{}", counter as i64 * 1000 + n % 1000))
    }

    pub fn head(&self) -> Result<u64, HubError> {
        Ok(self
            .conn
            .query_row("SELECT coalesce(max(seq), 0) FROM queue_events", [], |r| {
                r.get::<_, i64>(0)
            })? as u64)
    }

    /// Up to `limit` events after `after`, in order.
    pub fn events_after(&self, after: u64, limit: usize) -> Result<Vec<QueueEvent>, HubError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, counter, kind, ticket, record_id, waiting, at FROM queue_events
             WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?;
        let rows = stmt.query_map(
            params![after.min(i64::MAX as u64) as i64, limit as i64],
            |r| {
                Ok(EventRow {
                    seq: r.get::<_, i64>(0)? as u64,
                    counter: r.get(1)?,
                    kind: r.get(2)?,
                    ticket: r.get(3)?,
                    record_id: r.get(4)?,
                    waiting: r.get(5)?,
                    at: r.get(6)?,
                })
            },
        )?;
        rows.map(|r| r.map_err(HubError::from).and_then(EventRow::into_event))
            .collect()
    }

    pub fn set_record(&mut self, s: &RecordStatus) -> Result<(), HubError> {
        let body = serde_json::to_string(s).map_err(|e| HubError::Refused(e.to_string()))?;
        self.conn.execute(
            "INSERT INTO records (id, body) VALUES (?1, ?2)
             ON CONFLICT (id) DO UPDATE SET body = excluded.body",
            params![s.id.as_str(), body],
        )?;
        Ok(())
    }

    pub fn record(&self, id: &RecordId) -> Result<Option<RecordStatus>, HubError> {
        let body: Option<String> = self
            .conn
            .query_row(
                "SELECT body FROM records WHERE id = ?1",
                [id.as_str()],
                |r| r.get(0),
            )
            .optional()?;
        body.map(|b| serde_json::from_str(&b).map_err(|e| HubError::Refused(e.to_string())))
            .transpose()
    }

    /// Register a device; returns its new token (shown once, stored only as a hash).
    pub fn add_device(&mut self, name: &str, now: DateTime<Utc>) -> Result<String, HubError> {
        self.add_device_at(name, "", now)
    }

    /// Register a device at `center` (or give it a new token, and a new center if one is given).
    pub fn add_device_at(
        &mut self,
        name: &str,
        center: &str,
        now: DateTime<Utc>,
    ) -> Result<String, HubError> {
        check_name(name, "device")?;
        check_center(center)?;
        let token = new_token()?;
        self.conn.execute(
            "INSERT INTO devices (name, token_sha256, created_at, center) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (name) DO UPDATE SET token_sha256 = excluded.token_sha256,
                 created_at = excluded.created_at,
                 -- a new token without --center keeps the device's center
                 center = CASE WHEN excluded.center = '' THEN devices.center
                               ELSE excluded.center END",
            params![name, token_hash(&token), now_text(now), center],
        )?;
        Ok(token)
    }

    /// The device a token belongs to.
    pub fn device_for_token(&self, token: &str) -> Result<Option<String>, HubError> {
        Ok(self
            .conn
            .prepare_cached("SELECT name FROM devices WHERE token_sha256 = ?1")?
            .query_row([token_hash(token)], |r| r.get(0))
            .optional()?)
    }

    /// Keep an upload once per (kind, device, key); true when it was new.
    pub fn store_upload(
        &mut self,
        kind: &str,
        device: &str,
        key: &str,
        body: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, HubError> {
        self.store_upload_with(kind, device, key, body, "{\"stored\":true}", now)
    }

    /// Keep an upload and the response it got; a heartbeat also becomes the device's latest.
    pub fn store_upload_with(
        &mut self,
        kind: &str,
        device: &str,
        key: &str,
        body: &str,
        response: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, HubError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let new = tx.execute(
            "INSERT OR IGNORE INTO uploads (kind, device, idempotency_key, body, received_at, response)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![kind, device, key, body, now_text(now), response],
        )? == 1;
        if new && kind == "heartbeat" {
            tx.execute(
                "UPDATE devices SET last_seen = ?2, last_heartbeat = ?3 WHERE name = ?1",
                params![device, now_text(now), body],
            )?;
        }
        tx.commit()?;
        Ok(new)
    }

    pub fn upload_response(
        &self,
        kind: &str,
        device: &str,
        key: &str,
    ) -> Result<Option<String>, HubError> {
        Ok(self
            .conn
            .query_row(
                "SELECT coalesce(response, '{\"stored\":true}') FROM uploads
                 WHERE kind = ?1 AND device = ?2 AND idempotency_key = ?3",
                params![kind, device, key],
                |r| r.get(0),
            )
            .optional()?)
    }

    pub fn upload_count(&self, kind: &str) -> Result<u64, HubError> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM uploads WHERE kind = ?1",
            [kind],
            |r| r.get::<_, i64>(0),
        )? as u64)
    }
}

/// A queue event row before its kind is checked.
pub(super) struct EventRow {
    pub seq: u64,
    pub counter: u32,
    pub kind: String,
    pub ticket: Option<String>,
    pub record_id: Option<String>,
    pub waiting: Option<u32>,
    pub at: String,
}

impl EventRow {
    pub fn into_event(self) -> Result<QueueEvent, HubError> {
        let kind: QueueEventKind = serde_json::from_value(serde_json::Value::String(self.kind))
            .map_err(|err| HubError::Refused(format!("stored event {}: {err}", self.seq)))?;
        Ok(QueueEvent {
            seq: self.seq,
            counter: self.counter,
            kind,
            ticket: self.ticket,
            record_id: self.record_id.and_then(|s| RecordId::parse(&s).ok()),
            waiting: self.waiting,
            at: self.at,
        })
    }
}

/// A center's name: up to 120 characters, no control characters.
pub fn check_center(center: &str) -> Result<(), HubError> {
    if center.chars().count() > 120 || center.chars().any(char::is_control) {
        return Err(HubError::Refused(
            "a center is at most 120 characters, without control characters".into(),
        ));
    }
    Ok(())
}

const RECEIPT_COLUMNS: &str =
    "device, key, seq, hash, at, signature, received_at, hub_seq, hub_signature";

fn receipt_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Receipt> {
    Ok(Receipt {
        device: r.get(0)?,
        key: r.get(1)?,
        seq: r.get::<_, i64>(2)? as u64,
        hash: r.get(3)?,
        at: r.get(4)?,
        signature: r.get(5)?,
        received_at: r.get(6)?,
        hub_seq: r.get::<_, i64>(7)? as u64,
        hub_signature: r.get(8)?,
    })
}

impl HubDb {
    /// Anchor `head` for `device` (already verified): key pinned on first use, append-only.
    pub fn anchor(
        &mut self,
        device: &str,
        head: &FootageHead,
        hub_key: &SigningKey,
        now: DateTime<Utc>,
    ) -> Result<AnchorOutcome, HubError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let conflict = |tx: &rusqlite::Transaction<'_>, reason: &str| -> Result<_, HubError> {
            tx.execute(
                // Once per (device, seq, hash, reason): a device re-sends its refused head
                // with every heartbeat until its chain moves on.
                "INSERT INTO anchor_conflicts (device, seq, hash, reason, received_at)
                 SELECT ?1, ?2, ?3, ?4, ?5 WHERE NOT EXISTS (SELECT 1 FROM anchor_conflicts
                     WHERE device = ?1 AND seq = ?2 AND hash = ?3 AND reason = ?4)",
                params![device, head.seq as i64, head.hash, reason, now_text(now)],
            )?;
            Ok(AnchorOutcome::Conflict(reason.to_owned()))
        };
        let pinned: Option<String> = tx
            .query_row(
                "SELECT key FROM device_keys WHERE device = ?1",
                [device],
                |r| r.get(0),
            )
            .optional()?;
        let outcome = match pinned {
            Some(k) if k != head.key => conflict(&tx, "footage_head: device key changed")?,
            _ => {
                let last: Option<Receipt> = tx
                    .query_row(
                        &format!(
                            "SELECT {RECEIPT_COLUMNS} FROM anchors WHERE device = ?1
                             ORDER BY seq DESC LIMIT 1"
                        ),
                        [device],
                        receipt_row,
                    )
                    .optional()?;
                let same: Option<Receipt> = tx
                    .query_row(
                        &format!(
                            "SELECT {RECEIPT_COLUMNS} FROM anchors WHERE device = ?1 AND seq = ?2"
                        ),
                        params![device, head.seq as i64],
                        receipt_row,
                    )
                    .optional()?;
                match (last, same) {
                    (_, Some(r)) if r.hash == head.hash => AnchorOutcome::Repeat(r),
                    (_, Some(_)) => conflict(
                        &tx,
                        "footage_head: a different hash was anchored at this seq",
                    )?,
                    (Some(l), None) if l.seq > head.seq => conflict(
                        &tx,
                        "footage_head: seq is below the device's last anchored head",
                    )?,
                    _ => {
                        tx.execute(
                            "INSERT OR IGNORE INTO device_keys (device, key, pinned_at)
                             VALUES (?1, ?2, ?3)",
                            params![device, head.key, now_text(now)],
                        )?;
                        let hub_seq: i64 = tx.query_row(
                            "SELECT coalesce(max(hub_seq), 0) + 1 FROM anchors",
                            [],
                            |r| r.get(0),
                        )?;
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
                            &format!("INSERT INTO anchors ({RECEIPT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
                            params![
                                r.device,
                                r.key,
                                r.seq as i64,
                                r.hash,
                                r.at,
                                r.signature,
                                r.received_at,
                                r.hub_seq as i64,
                                r.hub_signature
                            ],
                        )?;
                        AnchorOutcome::New(r)
                    }
                }
            }
        };
        tx.commit()?;
        Ok(outcome)
    }

    pub fn anchors(&self, device: Option<&str>) -> Result<Vec<Receipt>, HubError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {RECEIPT_COLUMNS} FROM anchors WHERE ?1 IS NULL OR device = ?1
             ORDER BY hub_seq DESC"
        ))?;
        let rows = stmt.query_map([device], receipt_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn fleet(&self) -> Result<Vec<FleetRow>, HubError> {
        let mut stmt = self.conn.prepare(
            "SELECT name, center, last_seen, last_heartbeat,
                    (SELECT count(*) FROM anchor_conflicts c WHERE c.device = d.name)
             FROM devices d ORDER BY name",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (name, center, last_seen, hb, conflicts) = row?;
            let last_anchor = self
                .conn
                .query_row(
                    &format!(
                        "SELECT {RECEIPT_COLUMNS} FROM anchors WHERE device = ?1
                         ORDER BY seq DESC LIMIT 1"
                    ),
                    [&name],
                    receipt_row,
                )
                .optional()?;
            out.push(FleetRow {
                name,
                center,
                last_seen,
                heartbeat: hb.and_then(|b| serde_json::from_str(&b).ok()),
                last_anchor,
                conflicts: conflicts as u64,
            });
        }
        Ok(out)
    }

    pub fn set_admin(&mut self, name: &str, phc: &str) -> Result<(), HubError> {
        check_name(name, "admin")?;
        self.conn.execute(
            "INSERT INTO admins (name, password) VALUES (?1, ?2)
             ON CONFLICT (name) DO UPDATE SET password = excluded.password",
            params![name, phc],
        )?;
        Ok(())
    }

    pub fn admin_hash(&self, name: &str) -> Result<Option<String>, HubError> {
        Ok(self
            .conn
            .query_row("SELECT password FROM admins WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()?)
    }
}

/// Build a record status for `hub record set`.
pub fn record_status(
    id: RecordId,
    stage: RecordStage,
    due_on: chrono::NaiveDate,
    completed_on: Option<chrono::NaiveDate>,
    procedure: Option<String>,
) -> RecordStatus {
    RecordStatus {
        received_on: id.received_on(),
        id,
        procedure,
        stage,
        due_on,
        completed_on,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::parse_bundle;

    #[test]
    fn migrations_are_numbered_and_a_newer_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let db = HubDb::open(dir.path()).unwrap();
        assert_eq!(db.schema_version().unwrap(), MIGRATIONS.len() as u32);
        drop(db);
        // Opening again applies nothing.
        assert_eq!(
            HubDb::open(dir.path()).unwrap().schema_version().unwrap(),
            MIGRATIONS.len() as u32
        );
        let conn = Connection::open(dir.path().join(HUB_DB)).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        let err = HubDb::open(dir.path()).err().unwrap().to_string();
        assert_eq!(
            err,
            format!(
                "hub.db has schema version 99, newer than this motcua knows ({}); use the newer motcua",
                MIGRATIONS.len()
            )
        );
    }

    #[test]
    fn what_is_signed_passes_validation_unchanged() {
        for text in [
            crate::catalog::DEMO_CATALOG_JSON,
            include_str!("../../../tests/fixtures/small-catalog.json"),
        ] {
            let once = parse_bundle(text.as_bytes(), 1 << 24).unwrap();
            let signed = serde_json::to_vec(&once).unwrap();
            assert_eq!(parse_bundle(&signed, 1 << 24).unwrap(), once);
        }
    }

    #[test]
    fn an_older_hub_db_is_upgraded_and_keeps_serving_its_publications() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join(HUB_DB)).unwrap();
        conn.execute_batch(
            "CREATE TABLE publications (version INTEGER PRIMARY KEY, envelope BLOB NOT NULL,
                 etag TEXT NOT NULL, procedures INTEGER NOT NULL, published_at TEXT NOT NULL) STRICT;
             INSERT INTO publications VALUES (3, X'7B7D', '\"v3-00\"', 5, '2026-01-01T00:00:00Z');",
        )
        .unwrap();
        drop(conn);
        let mut db = HubDb::open(dir.path()).unwrap();
        assert_eq!(
            db.latest().unwrap().unwrap(),
            Publication {
                version: 3,
                etag: "\"v3-00\"".into(),
                procedures: 5,
                envelope_bytes: 2,
                encoding: Encoding::Identity,
                stored_bytes: 2,
            }
        );
        assert_eq!(db.envelope(3).unwrap().unwrap(), b"{}");
        let key = SigningKey::from_bytes(&[1; 32]);
        let p = db
            .publish(
                crate::catalog::DEMO_CATALOG_JSON.as_bytes(),
                &key,
                1 << 24,
                None,
                Utc::now(),
            )
            .unwrap();
        assert_eq!((p.version, p.encoding), (4, Encoding::Gzip));
        assert!(p.stored_bytes * 3 < p.envelope_bytes, "{p:?}");
        assert_eq!(db.latest().unwrap().unwrap(), p);
    }

    /// Popularity comes from the hub's own records when the publisher gives none.
    #[test]
    fn publish_adds_records_per_procedure_as_popularity() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = HubDb::open(dir.path()).unwrap();
        let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        for (id, code) in [
            ("000.00.14.H56-261201-0001", Some("1.001193")),
            ("000.00.14.H56-261201-0002", Some("1.001193")),
            ("000.00.14.H56-261201-0003", Some("1.000894")),
            ("000.00.14.H56-261201-0004", Some("9.999999")),
            ("000.00.14.H56-261201-0005", None),
        ] {
            let id: RecordId = id.parse().unwrap();
            let s = record_status(
                id,
                RecordStage::Received,
                day,
                None,
                code.map(str::to_owned),
            );
            db.set_record(&s).unwrap();
        }
        let key = SigningKey::from_bytes(&[1; 32]);
        let p = db
            .publish(
                crate::catalog::DEMO_CATALOG_JSON.as_bytes(),
                &key,
                1 << 24,
                None,
                Utc::now(),
            )
            .unwrap();
        let mut envelope = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(&db.envelope(p.version).unwrap().unwrap()[..]),
            &mut envelope,
        )
        .unwrap();
        let bundle =
            crate::sync::envelope::open_body(envelope, &[crate::hub::keys::public_of(&key)])
                .unwrap();
        let bundle = parse_bundle(&bundle, 1 << 24).unwrap();
        let popularity = bundle.lexicon.unwrap().popularity;
        assert_eq!(
            popularity.into_iter().collect::<Vec<_>>(),
            vec![("1.000894".to_owned(), 1), ("1.001193".to_owned(), 2)]
        );
    }
}
