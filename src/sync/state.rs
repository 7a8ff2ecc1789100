//! Sync state kept in `catalog.db` (`sync_channels`, `record_cache`) and the status report
//! that `motcua sync status` prints from a separate process.
//!
//! Each channel (catalog, queue, outbox, records) keeps its last attempt, last success, last
//! error in plain words and its failure count, so a technician can see why without logs.
//! This file never talks to the network.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::clock::rfc3339;
use super::SyncError;
use crate::record::{RecordId, RecordStatus};
use crate::store::StoreError;

/// One independently failing part of sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Catalog,
    Queue,
    Outbox,
    Records,
}

impl Channel {
    pub const ALL: [Channel; 4] = [
        Channel::Catalog,
        Channel::Queue,
        Channel::Outbox,
        Channel::Records,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Catalog => "catalog",
            Channel::Queue => "queue",
            Channel::Outbox => "outbox",
            Channel::Records => "records",
        }
    }
}

fn ensure(conn: &Connection, ch: Channel) -> Result<(), StoreError> {
    conn.execute(
        "INSERT OR IGNORE INTO sync_channels (channel) VALUES (?1)",
        [ch.as_str()],
    )?;
    Ok(())
}

/// A successful exchange: clears the error and the failure count.
pub fn record_success(
    conn: &Connection,
    ch: Channel,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    ensure(conn, ch)?;
    let t = rfc3339(now);
    conn.execute(
        "UPDATE sync_channels SET last_attempt_at = ?2, last_success_at = ?2, last_error = NULL,
             last_error_at = NULL, permanent = 0, failures = 0 WHERE channel = ?1",
        params![ch.as_str(), t],
    )?;
    Ok(())
}

/// A failed exchange; returns the number of consecutive failures.
pub fn record_failure(
    conn: &Connection,
    ch: Channel,
    now: DateTime<Utc>,
    err: &SyncError,
) -> Result<u32, StoreError> {
    ensure(conn, ch)?;
    let t = rfc3339(now);
    conn.execute(
        "UPDATE sync_channels SET last_attempt_at = ?2, last_error_at = ?2, last_error = ?3,
             permanent = ?4, failures = failures + 1 WHERE channel = ?1",
        params![ch.as_str(), t, err.to_string(), err.is_permanent()],
    )?;
    Ok(conn.query_row(
        "SELECT failures FROM sync_channels WHERE channel = ?1",
        [ch.as_str()],
        |r| r.get(0),
    )?)
}

pub fn catalog_etag(conn: &Connection) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT etag FROM sync_channels WHERE channel = 'catalog'",
            [],
            |r| r.get(0),
        )
        .optional()?
        .flatten())
}

pub fn set_catalog_etag(conn: &Connection, etag: Option<&str>) -> Result<(), StoreError> {
    ensure(conn, Channel::Catalog)?;
    conn.execute(
        "UPDATE sync_channels SET etag = ?1 WHERE channel = 'catalog'",
        [etag],
    )?;
    Ok(())
}

/// Keep a record status the server gave, for lookups while offline.
pub fn cache_record(
    conn: &Connection,
    s: &RecordStatus,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let body = serde_json::to_string(s).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    conn.execute(
        "INSERT INTO record_cache (id, body, fetched_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET body = excluded.body, fetched_at = excluded.fetched_at",
        params![s.id.as_str(), body, rfc3339(now)],
    )?;
    // The cache is small: keep the 2,000 most recent lookups.
    conn.execute(
        "DELETE FROM record_cache WHERE id NOT IN
             (SELECT id FROM record_cache ORDER BY fetched_at DESC LIMIT 2000)",
        [],
    )?;
    Ok(())
}

pub fn cached_record(conn: &Connection, id: &RecordId) -> Result<Option<RecordStatus>, StoreError> {
    let body: Option<String> = conn
        .query_row(
            "SELECT body FROM record_cache WHERE id = ?1",
            [id.as_str()],
            |r| r.get(0),
        )
        .optional()?;
    Ok(body.and_then(|b| serde_json::from_str(&b).ok()))
}

/// Where a channel stands, from its last attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelState {
    /// Its last attempt succeeded.
    Ok,
    /// Its last attempt failed (see `failures` and `last_error`).
    Failing,
    /// Never attempted (the daemon has not got that far, or the channel is not configured).
    NotTried,
}

impl ChannelState {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelState::Ok => "ok",
            ChannelState::Failing => "failing",
            ChannelState::NotTried => "not tried",
        }
    }
}

/// One channel as the status report shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChannelStatus {
    pub channel: String,
    pub state: ChannelState,
    pub last_attempt_at: Option<String>,
    pub last_success_at: Option<String>,
    pub last_error_at: Option<String>,
    pub last_error: Option<String>,
    /// True when retrying cannot help until someone changes something.
    pub permanent: bool,
    pub failures: u32,
}

/// What `motcua sync status` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncStatus {
    pub catalog_version: Option<u64>,
    pub catalog_source: Option<String>,
    pub catalog_expires_at: Option<String>,
    /// "may be outdated: …" when the installed catalog expired; never blank the screen for it.
    pub catalog_warning: Option<String>,
    pub queue_seq: u64,
    pub outbox_depth: u64,
    /// Most recent success on any channel.
    pub last_success_at: Option<String>,
    /// The most recent error still standing, in plain words, with its channel.
    pub last_error: Option<String>,
    /// The most recent attempt on any channel: how fresh this report is.
    pub last_activity_at: Option<String>,
    pub channels: Vec<ChannelStatus>,
    /// Each counter as the device last heard it from the server.
    pub queue: Vec<crate::queue::CounterState>,
}

/// Read the status from `catalog.db` (any connection, read-only is enough).
pub fn read_status(conn: &Connection, now: DateTime<Utc>) -> Result<SyncStatus, StoreError> {
    let catalog: Option<(i64, String, Option<String>)> = conn
        .query_row(
            "SELECT version, source, expires_at FROM catalog_info WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let catalog_warning = catalog
        .as_ref()
        .and_then(|(_, _, exp)| exp.as_deref())
        .and_then(|exp| expiry_warning(exp, now));
    let mut stmt = conn.prepare(
        "SELECT channel, last_attempt_at, last_success_at, last_error_at, last_error, permanent,
                failures FROM sync_channels ORDER BY channel",
    )?;
    let channels = stmt
        .query_map([], |r| {
            let failures: u32 = r.get(6)?;
            let last_attempt_at: Option<String> = r.get(1)?;
            let state = match (&last_attempt_at, failures) {
                (None, _) => ChannelState::NotTried,
                (Some(_), 0) => ChannelState::Ok,
                (Some(_), _) => ChannelState::Failing,
            };
            Ok(ChannelStatus {
                channel: r.get(0)?,
                state,
                last_attempt_at,
                last_success_at: r.get(2)?,
                last_error_at: r.get(3)?,
                last_error: r.get(4)?,
                permanent: r.get(5)?,
                failures,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let last_success_at = channels
        .iter()
        .filter_map(|c| c.last_success_at.clone())
        .max();
    let last_error = channels
        .iter()
        .filter(|c| c.last_error.is_some())
        .max_by_key(|c| c.last_error_at.clone())
        .map(|c| format!("{}: {}", c.channel, c.last_error.as_deref().unwrap_or("")));
    let last_activity_at = channels
        .iter()
        .filter_map(|c| c.last_attempt_at.clone())
        .max();
    Ok(SyncStatus {
        catalog_version: catalog.as_ref().map(|c| c.0 as u64),
        catalog_source: catalog.as_ref().map(|c| c.1.clone()),
        catalog_expires_at: catalog.and_then(|c| c.2),
        catalog_warning,
        queue_seq: crate::store::queue_store::last_seq(conn)?,
        outbox_depth: super::outbox::depth(conn)?,
        last_success_at,
        last_error,
        last_activity_at,
        channels,
        queue: crate::store::queue_store::board(conn)?,
    })
}

/// The "may be outdated" warning for a catalog expiring at `expires_at`, if it has expired.
pub fn expiry_warning(expires_at: &str, now: DateTime<Utc>) -> Option<String> {
    match DateTime::parse_from_rfc3339(expires_at) {
        Ok(t) if t <= now => Some(format!(
            "may be outdated: the catalog expired at {expires_at} and no newer one has arrived"
        )),
        Ok(_) => None,
        Err(_) => Some(format!(
            "may be outdated: the catalog's expiry {expires_at:?} is unreadable"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{open_connection, Access, CatalogStore};

    #[test]
    fn channels_remember_errors_until_a_success() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog.db");
        drop(CatalogStore::open(&path).unwrap());
        let conn = open_connection(&path, Access::ReadWrite).unwrap();
        let now = Utc::now();
        let err = SyncError::Server { status: 500 };
        assert_eq!(
            record_failure(&conn, Channel::Catalog, now, &err).unwrap(),
            1
        );
        assert_eq!(
            record_failure(&conn, Channel::Catalog, now, &err).unwrap(),
            2
        );
        let s = read_status(&conn, now).unwrap();
        assert_eq!(
            s.last_error.as_deref(),
            Some(
                "catalog: the central server had an internal error (HTTP 500); it will be retried"
            )
        );
        assert_eq!(s.channels[0].failures, 2);
        assert_eq!(s.channels[0].state, ChannelState::Failing);
        assert_eq!(s.last_activity_at, Some(rfc3339(now)));
        record_success(&conn, Channel::Catalog, now).unwrap();
        let s = read_status(&conn, now).unwrap();
        assert_eq!(s.last_error, None);
        assert_eq!(s.last_success_at, Some(rfc3339(now)));
        assert_eq!(s.channels[0].state, ChannelState::Ok);
        set_catalog_etag(&conn, Some("\"v3\"")).unwrap();
        assert_eq!(catalog_etag(&conn).unwrap().as_deref(), Some("\"v3\""));
    }

    #[test]
    fn expiry_warns_only_after_the_instant() {
        let now = DateTime::parse_from_rfc3339("2026-11-23T08:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(expiry_warning("2026-11-24T00:00:00+07:00", now), None);
        assert_eq!(
            expiry_warning("2026-11-23T07:00:00Z", now).as_deref(),
            Some("may be outdated: the catalog expired at 2026-11-23T07:00:00Z and no newer one has arrived")
        );
    }
}
