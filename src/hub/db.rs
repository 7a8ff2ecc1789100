//! `hub.db`: the reference hub's own SQLite store — publications (the exact signed bytes),
//! the queue event log, record statuses, device token hashes and received uploads.
//!
//! Bundles are validated with `catalog::parse_bundle` before they are signed; the signed
//! envelope is stored gzip-compressed (it is served that way to clients that accept it, see
//! `server.rs`); tokens are stored only as SHA-256; record IDs are always `RecordId`s. Nothing
//! here talks HTTP.

use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use ed25519_dalek::SigningKey;
use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};

use crate::catalog::lexicon::MAX_LEXICON_ENTRIES;
use crate::catalog::{parse_bundle, BundleError};
use crate::queue::{QueueEvent, QueueEventKind};
use crate::record::{RecordId, RecordStage, RecordStatus};
use crate::sync::envelope::seal_to_writer;

pub const HUB_DB: &str = "hub.db";

const SCHEMA: &str = "
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
";

#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error("{0}")]
    Refused(String),
    #[error("the catalog was not published: {0}")]
    Bundle(#[from] BundleError),
    #[error("hub database error: {0}")]
    Sql(#[from] rusqlite::Error),
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

/// gzip level of stored envelopes. Level 1 (zlib-rs): the base64 inside the envelope
/// compresses almost as well at 1 as at 6, at a fraction of the time (`docs/benchmarks.md`).
pub const GZIP_LEVEL: u32 = 1;

/// How a publication's envelope is stored (and can be served without recoding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Plain JSON (publications made before compression existed).
    Identity,
    Gzip,
}

impl Encoding {
    fn from_sql(s: &str) -> Encoding {
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

/// A `Write` that hashes and counts what passes through to `inner`.
struct Tee<W> {
    inner: W,
    sha: Sha256,
    len: u64,
}

impl<W: std::io::Write> std::io::Write for Tee<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.sha.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

pub struct HubDb {
    conn: Connection,
}

fn now_text(now: DateTime<Utc>) -> String {
    now.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of a token, as stored.
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

impl HubDb {
    /// Open (creating) `DIR/hub.db`.
    pub fn open(dir: &Path) -> Result<HubDb, HubError> {
        std::fs::create_dir_all(dir).map_err(|e| HubError::io(dir, e))?;
        let conn = Connection::open(dir.join(HUB_DB))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.execute_batch(SCHEMA)?;
        Self::upgrade(&conn)?;
        Ok(HubDb { conn })
    }

    /// Add the columns of newer versions to an older `hub.db`.
    fn upgrade(conn: &Connection) -> Result<(), HubError> {
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
        let mut bundle = parse_bundle(bytes, max_bytes)?;
        self.add_popularity(&mut bundle)?;
        let last = self.latest()?.map_or(0, |p| p.version);
        bundle.version = bundle.version.max(last + 1);
        bundle.issued_at = now_text(now);
        if let Some(d) = expires_in {
            bundle.expires_at = Some(now_text(now + d));
        }
        if let Some(exp) = &bundle.expires_at {
            if DateTime::parse_from_rfc3339(exp).map_or(true, |t| t <= now) {
                return Err(HubError::Refused(format!(
                    "the bundle expires at {exp}, which has passed; every appliance would refuse it (use --expires-in-days)"
                )));
            }
        }
        let (version, procedures) = (bundle.version, bundle.procedures.len() as u64);
        let signed = serde_json::to_vec(&bundle).map_err(|e| HubError::Refused(e.to_string()))?;
        drop(bundle);
        // What the appliance will parse is the canonical form of a bundle that passed
        // validation; cleaning is idempotent (tested below), so it passes again and is not
        // re-parsed here (that was a third of a full-size publish). The size must fit too.
        if signed.len() > max_bytes {
            return Err(HubError::Refused(format!(
                "the signed bundle is {} bytes, over catalog.max_bundle_bytes ({max_bytes}); every appliance with that limit would refuse it",
                signed.len()
            )));
        }
        let tee = Tee {
            inner: flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(GZIP_LEVEL)),
            sha: Sha256::new(),
            len: 0,
        };
        let compress_err =
            |e: std::io::Error| HubError::Refused(format!("compressing the envelope: {e}"));
        let mut out = std::io::BufWriter::with_capacity(256 * 1024, tee);
        seal_to_writer(&signed, key, &mut out).map_err(compress_err)?;
        drop(signed);
        let tee = out.into_inner().map_err(|e| compress_err(e.into_error()))?;
        let stored = tee
            .inner
            .finish()
            .map_err(|e| HubError::Refused(format!("compressing the envelope: {e}")))?;
        let etag = format!("\"v{version}-{}\"", &hex(&tee.sha.finalize())[..16]);
        self.conn.execute(
            "INSERT INTO publications (version, envelope, etag, procedures, published_at,
                 encoding, envelope_len)
             VALUES (?1, ?2, ?3, ?4, ?5, 'gzip', ?6)",
            params![
                version as i64,
                stored,
                etag,
                procedures as i64,
                now_text(now),
                tee.len as i64
            ],
        )?;
        Ok(Publication {
            version,
            etag,
            procedures,
            envelope_bytes: tee.len,
            encoding: Encoding::Gzip,
            stored_bytes: stored.len() as u64,
        })
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
    pub fn push_event(&mut self, e: &QueueEvent) -> Result<QueueEvent, HubError> {
        let mut e = e.clone();
        e.seq = 0;
        e.check().map_err(HubError::Refused)?;
        let tx = self.conn.transaction()?;
        let next: i64 = tx.query_row(
            "SELECT coalesce(max(seq), 0) + 1 FROM queue_events",
            [],
            |r| r.get(0),
        )?;
        e.seq = next as u64;
        crate::store::queue_store::insert_event(&tx, &e)?;
        tx.commit()?;
        Ok(e)
    }

    /// The next ticket label for `counter` (counter·1000 + n), for `hub queue call`.
    pub fn next_ticket(&mut self, counter: u32) -> Result<String, HubError> {
        self.conn.execute(
            "INSERT INTO counters (counter, next_ticket) VALUES (?1, 1)
             ON CONFLICT (counter) DO UPDATE SET next_ticket = next_ticket + 1",
            [counter],
        )?;
        let n: i64 = self.conn.query_row(
            "SELECT next_ticket FROM counters WHERE counter = ?1",
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
        let mut stmt = self.conn.prepare(
            "SELECT seq, counter, kind, ticket, record_id, waiting, at FROM queue_events
             WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after as i64, limit as i64], |r| {
            let kind: String = r.get(2)?;
            let record: Option<String> = r.get(4)?;
            Ok((
                QueueEvent {
                    seq: r.get::<_, i64>(0)? as u64,
                    counter: r.get(1)?,
                    kind: QueueEventKind::Called,
                    ticket: r.get(3)?,
                    record_id: record.and_then(|s| RecordId::parse(&s).ok()),
                    waiting: r.get(5)?,
                    at: r.get(6)?,
                },
                kind,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (mut e, kind) = row?;
            e.kind = serde_json::from_value(serde_json::Value::String(kind))
                .map_err(|err| HubError::Refused(format!("stored event {}: {err}", e.seq)))?;
            out.push(e);
        }
        Ok(out)
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
        if name.is_empty()
            || name.len() > 64
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        {
            return Err(HubError::Refused(
                "a device name is 1–64 letters, digits, '.', '-' or '_'".into(),
            ));
        }
        let mut raw = [0u8; 32];
        getrandom::fill(&mut raw).map_err(|e| HubError::Refused(e.to_string()))?;
        let token = format!("mct_{}", hex(&raw));
        self.conn.execute(
            "INSERT INTO devices (name, token_sha256, created_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (name) DO UPDATE SET token_sha256 = excluded.token_sha256,
                 created_at = excluded.created_at",
            params![name, token_hash(&token), now_text(now)],
        )?;
        Ok(token)
    }

    /// The device a token belongs to.
    pub fn device_for_token(&self, token: &str) -> Result<Option<String>, HubError> {
        Ok(self
            .conn
            .query_row(
                "SELECT name FROM devices WHERE token_sha256 = ?1",
                [token_hash(token)],
                |r| r.get(0),
            )
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
        Ok(self.conn.execute(
            "INSERT OR IGNORE INTO uploads (kind, device, idempotency_key, body, received_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![kind, device, key, body, now_text(now)],
        )? == 1)
    }

    pub fn upload_count(&self, kind: &str) -> Result<u64, HubError> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM uploads WHERE kind = ?1",
            [kind],
            |r| r.get::<_, i64>(0),
        )? as u64)
    }
}

impl HubDb {
    /// The hub's statistics as the search's popularity prior (`lexicon.popularity`, see
    /// docs/search.md): records received per procedure of this catalog, the most frequent
    /// [`MAX_LEXICON_ENTRIES`] of them, unless the publisher supplied its own.
    fn add_popularity(&self, bundle: &mut crate::catalog::CatalogBundle) -> Result<(), HubError> {
        if bundle
            .lexicon
            .as_ref()
            .is_some_and(|l| !l.popularity.is_empty())
        {
            return Ok(());
        }
        let codes: std::collections::HashSet<&str> =
            bundle.procedures.iter().map(|p| p.code.as_str()).collect();
        let mut stmt = self.conn.prepare(
            "SELECT json_extract(body, '$.procedure') AS code, count(*) FROM records
             WHERE code IS NOT NULL GROUP BY code ORDER BY count(*) DESC, code",
        )?;
        let mut counts = std::collections::BTreeMap::new();
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        for row in rows {
            let (code, n) = row?;
            if counts.len() < MAX_LEXICON_ENTRIES && codes.contains(code.as_str()) {
                counts.insert(code, n.max(0) as u64);
            }
        }
        if !counts.is_empty() {
            bundle
                .lexicon
                .get_or_insert_with(Default::default)
                .popularity = counts;
        }
        Ok(())
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

    #[test]
    fn what_is_signed_passes_validation_unchanged() {
        for text in [
            crate::catalog::DEMO_CATALOG_JSON,
            include_str!("../../tests/fixtures/small-catalog.json"),
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
