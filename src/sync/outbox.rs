//! The upload outbox in `catalog.db`: ratings and heartbeats waiting for the central server.
//!
//! An item is durable once `enqueue` returns; it leaves the table only after the server
//! acknowledged its idempotency key, so nothing is lost offline and nothing counts twice.
//! Heartbeats coalesce: only the newest unsent one is kept, so days offline cannot fill the
//! disk. This file never talks to the network.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};

use super::clock::rfc3339;
use crate::store::StoreError;

/// Largest outbox item body, in bytes.
pub const MAX_ITEM_BYTES: usize = 16 * 1024;
/// Most items kept; a rating beyond this is refused rather than silently dropped.
pub const MAX_ITEMS: u64 = 100_000;

/// Why an item was not stored.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("the item was refused: {0}")]
    Refused(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for OutboxError {
    fn from(e: rusqlite::Error) -> Self {
        OutboxError::Store(e.into())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxKind {
    Rating,
    Heartbeat,
}

impl OutboxKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxKind::Rating => "rating",
            OutboxKind::Heartbeat => "heartbeat",
        }
    }

    /// Where the item is posted.
    pub fn path(self) -> &'static str {
        match self {
            OutboxKind::Rating => "/v1/ratings",
            OutboxKind::Heartbeat => "/v1/heartbeats",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    pub id: i64,
    pub kind: OutboxKind,
    pub key: String,
    pub body: String,
    pub attempts: u32,
}

/// Store an item; `Ok(false)` when an item with the same key is already waiting.
pub fn enqueue(
    conn: &Connection,
    kind: OutboxKind,
    key: &str,
    body: &str,
    now: DateTime<Utc>,
) -> Result<bool, OutboxError> {
    if body.len() > MAX_ITEM_BYTES || key.is_empty() || key.len() > 128 {
        return Err(OutboxError::Refused(format!(
            "the key must be 1–128 bytes and the body at most {MAX_ITEM_BYTES} bytes"
        )));
    }
    if depth(conn)? >= MAX_ITEMS {
        return Err(OutboxError::Refused(format!(
            "the outbox holds {MAX_ITEMS} items already; the link has been down too long"
        )));
    }
    if kind == OutboxKind::Heartbeat {
        conn.execute("DELETE FROM outbox WHERE kind = 'heartbeat'", [])?;
    }
    let n = conn.execute(
        "INSERT OR IGNORE INTO outbox (kind, idempotency_key, body, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![kind.as_str(), key, body, rfc3339(now)],
    )?;
    Ok(n == 1)
}

/// The oldest `limit` items waiting.
pub fn pending(conn: &Connection, limit: usize) -> Result<Vec<OutboxItem>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT id, kind, idempotency_key, body, attempts FROM outbox ORDER BY id LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit as i64], |r| {
        let kind: String = r.get(1)?;
        Ok(OutboxItem {
            id: r.get(0)?,
            kind: if kind == "rating" {
                OutboxKind::Rating
            } else {
                OutboxKind::Heartbeat
            },
            key: r.get(2)?,
            body: r.get(3)?,
            attempts: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The server acknowledged the item.
pub fn mark_sent(conn: &Connection, id: i64) -> Result<(), StoreError> {
    conn.execute("DELETE FROM outbox WHERE id = ?1", [id])?;
    Ok(())
}

pub fn mark_failed(conn: &Connection, id: i64, error: &str) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE outbox SET attempts = attempts + 1, last_error = ?2 WHERE id = ?1",
        params![id, error],
    )?;
    Ok(())
}

pub fn depth(conn: &Connection) -> Result<u64, StoreError> {
    Ok(conn.query_row("SELECT count(*) FROM outbox", [], |r| r.get::<_, i64>(0))? as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{open_connection, Access, CatalogStore};

    #[test]
    fn items_are_kept_once_and_heartbeats_coalesce() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog.db");
        drop(CatalogStore::open(&path).unwrap());
        let conn = open_connection(&path, Access::ReadWrite).unwrap();
        let now = Utc::now();
        assert!(enqueue(&conn, OutboxKind::Rating, "r1", "{}", now).unwrap());
        assert!(!enqueue(&conn, OutboxKind::Rating, "r1", "{}", now).unwrap());
        assert!(enqueue(&conn, OutboxKind::Heartbeat, "h1", "{}", now).unwrap());
        assert!(enqueue(&conn, OutboxKind::Heartbeat, "h2", "{}", now).unwrap());
        assert_eq!(depth(&conn).unwrap(), 2);
        let items = pending(&conn, 10).unwrap();
        assert_eq!(items[0].key, "r1");
        assert_eq!(items[1].key, "h2");
        mark_failed(&conn, items[0].id, "down").unwrap();
        assert_eq!(pending(&conn, 1).unwrap()[0].attempts, 1);
        mark_sent(&conn, items[0].id).unwrap();
        assert_eq!(depth(&conn).unwrap(), 1);
        let err = enqueue(&conn, OutboxKind::Rating, "", "{}", now).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the item was refused: the key must be 1–128 bytes and the body at most 16384 bytes"
        );
    }
}
