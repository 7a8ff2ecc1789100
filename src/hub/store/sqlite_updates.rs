//! Software updates in `hub.db`: the `updates` rows. What may be published or changed, and
//! which release a device gets, is judged in `hub::updates` (shared with PostgreSQL); this
//! file only reads and writes rows, each write under `BEGIN IMMEDIATE`.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::{now_text, HubDb, HubError};
use crate::hub::updates::{self, Change, NewRelease, Release};

const COLUMNS: &str = "id, channel, version, sha256, size, percent, devices, paused, published_at";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Release> {
    let devices: String = r.get(6)?;
    Ok(Release {
        id: r.get::<_, i64>(0)? as u64,
        channel: r.get(1)?,
        version: r.get(2)?,
        sha256: r.get(3)?,
        size: r.get::<_, i64>(4)? as u64,
        percent: r.get::<_, i64>(5)?.clamp(0, 100) as u8,
        devices: serde_json::from_str(&devices).unwrap_or_default(),
        paused: r.get::<_, i64>(7)? != 0,
        published_at: r.get(8)?,
    })
}

fn all(conn: &Connection) -> Result<Vec<Release>, HubError> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM updates ORDER BY id DESC"))?;
    let rows = stmt.query_map([], row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

impl HubDb {
    /// Record a release of a bundle already in the bundle store.
    pub fn publish_update(
        &mut self,
        new: &NewRelease<'_>,
        now: DateTime<Utc>,
    ) -> Result<Release, HubError> {
        let NewRelease {
            channel,
            version,
            sha256,
            size,
            percent,
            devices,
        } = *new;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        updates::check_publish(channel, version, percent, devices, &all(&tx)?)?;
        let names = serde_json::to_string(devices).unwrap_or_else(|_| "[]".into());
        tx.execute(
            "INSERT INTO updates (channel, version, sha256, size, percent, devices, published_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                channel,
                version,
                sha256,
                size as i64,
                percent as i64,
                names,
                now_text(now)
            ],
        )?;
        let id = tx.last_insert_rowid();
        let r = tx.query_row(
            &format!("SELECT {COLUMNS} FROM updates WHERE id = ?1"),
            [id],
            row,
        )?;
        tx.commit()?;
        Ok(r)
    }

    /// Every release, newest first.
    pub fn updates(&self) -> Result<Vec<Release>, HubError> {
        all(&self.conn)
    }

    /// Pause, resume or widen release `id`.
    pub fn change_update(&mut self, id: u64, c: Change) -> Result<Release, HubError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current = tx
            .query_row(
                &format!("SELECT {COLUMNS} FROM updates WHERE id = ?1"),
                [id as i64],
                row,
            )
            .optional()?
            .ok_or_else(|| HubError::Refused(format!("no update {id} (see `hub update list`)")))?;
        let next = updates::change(&current, c)?;
        tx.execute(
            "UPDATE updates SET percent = ?2, paused = ?3 WHERE id = ?1",
            params![id as i64, next.percent as i64, next.paused as i64],
        )?;
        tx.commit()?;
        Ok(next)
    }
}
