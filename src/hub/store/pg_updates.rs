//! Software updates on PostgreSQL: the same `updates` rows and answers as
//! `sqlite_updates.rs`. Publishing takes an advisory lock so two hub processes cannot both
//! judge the same (channel, version) new; the judgements are `hub::updates`'.

use chrono::{DateTime, Utc};
use tokio_postgres::Row;

use super::{now_text, pg, HubError, PgStore};
use crate::hub::updates::{self, Change, NewRelease, Release};

const COLUMNS: &str = "id, channel, version, sha256, size, percent, devices, paused, published_at";

fn release(r: &Row) -> Release {
    let devices: String = r.get(6);
    Release {
        id: r.get::<_, i64>(0) as u64,
        channel: r.get(1),
        version: r.get(2),
        sha256: r.get(3),
        size: r.get::<_, i64>(4) as u64,
        percent: r.get::<_, i32>(5).clamp(0, 100) as u8,
        devices: serde_json::from_str(&devices).unwrap_or_default(),
        paused: r.get(7),
        published_at: r.get(8),
    }
}

impl PgStore {
    /// Record a release of a bundle already in the bundle store.
    pub async fn publish_update(
        &self,
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
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        tx.batch_execute("SELECT pg_advisory_xact_lock(7270019)")
            .await
            .map_err(pg)?;
        let existing: Vec<Release> = tx
            .query(&format!("SELECT {COLUMNS} FROM updates"), &[])
            .await
            .map_err(pg)?
            .iter()
            .map(release)
            .collect();
        updates::check_publish(channel, version, percent, devices, &existing)?;
        let names = serde_json::to_string(devices).unwrap_or_else(|_| "[]".into());
        let r = tx
            .query_one(
                &format!(
                    "INSERT INTO updates (channel, version, sha256, size, percent, devices,
                         published_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}"
                ),
                &[
                    &channel,
                    &version,
                    &sha256,
                    &(size as i64),
                    &(percent as i32),
                    &names,
                    &now_text(now),
                ],
            )
            .await
            .map_err(pg)?;
        tx.commit().await.map_err(pg)?;
        Ok(release(&r))
    }

    /// Every release, newest first.
    pub async fn updates(&self) -> Result<Vec<Release>, HubError> {
        let c = self.client().await?;
        Ok(c.query(
            &format!("SELECT {COLUMNS} FROM updates ORDER BY id DESC"),
            &[],
        )
        .await
        .map_err(pg)?
        .iter()
        .map(release)
        .collect())
    }

    /// Pause, resume or widen release `id`.
    pub async fn change_update(&self, id: u64, change: Change) -> Result<Release, HubError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        let current = tx
            .query_opt(
                &format!("SELECT {COLUMNS} FROM updates WHERE id = $1 FOR UPDATE"),
                &[&(id as i64)],
            )
            .await
            .map_err(pg)?
            .map(|r| release(&r))
            .ok_or_else(|| HubError::Refused(format!("no update {id} (see `hub update list`)")))?;
        let next = updates::change(&current, change)?;
        tx.execute(
            "UPDATE updates SET percent = $2, paused = $3 WHERE id = $1",
            &[&(id as i64), &(next.percent as i32), &next.paused],
        )
        .await
        .map_err(pg)?;
        tx.commit().await.map_err(pg)?;
        Ok(next)
    }
}
