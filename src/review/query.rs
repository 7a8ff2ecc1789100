//! Read-only footage searches for the review UI over its own read-only connection to
//! `footage.db`: cases by exact or prefix record ID, counter and date range.
//!
//! Reads the `snapshot` and `thumbnail` tables only (schema in `recorder/footage/schema.sql`); never writes.
//! Every value is a bound parameter; the prefix rule admits no SQL or LIKE metacharacters.

use chrono::NaiveDate;
use rusqlite::{params, Connection, OptionalExtension};

use super::pages::ICT_OFFSET_SECS;
use crate::record::{RecordId, MAX_RECORD_ID_LEN};
use crate::recorder::clock::format_ms;
use crate::recorder::footage::Snapshot;

/// Shortest record-ID prefix accepted (shorter would list nearly everything).
pub const MIN_PREFIX: usize = 3;
/// Most cases one search shows.
pub const MAX_RESULTS: usize = 200;

/// What the record box asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordQuery {
    /// A complete, valid record ID (`record::RecordId` rules).
    Exact(RecordId),
    /// The start of one: 3 to 40 of `A-Z 0-9 . -`, upper-cased.
    Prefix(String),
}

/// Parse the record box: empty → `None`; a valid ID → exact; else a safe prefix or an error.
pub fn parse_record_query(input: &str) -> Result<Option<RecordQuery>, String> {
    let s = input.trim();
    if s.is_empty() {
        return Ok(None);
    }
    if let Ok(id) = RecordId::parse(s) {
        return Ok(Some(RecordQuery::Exact(id)));
    }
    let ok_chars = s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    if !ok_chars {
        return Err("a record ID may contain only letters, digits, '.' and '-'".into());
    }
    if s.len() < MIN_PREFIX || s.len() > MAX_RECORD_ID_LEN {
        return Err(format!(
            "give a whole record ID or at least its first {MIN_PREFIX} characters"
        ));
    }
    Ok(Some(RecordQuery::Prefix(s.to_ascii_uppercase())))
}

/// Midnight ICT of `day`, as ms since the epoch.
pub fn day_start_ms(day: NaiveDate) -> i64 {
    day.and_time(chrono::NaiveTime::MIN)
        .and_utc()
        .timestamp_millis()
        - i64::from(ICT_OFFSET_SECS) * 1000
}

/// A search.
#[derive(Debug, Clone, Default)]
pub struct Search {
    pub record: Option<RecordQuery>,
    pub counter: Option<u32>,
    pub from: Option<NaiveDate>,
    /// Inclusive last day.
    pub to: Option<NaiveDate>,
}

/// One record's snapshots, summarised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseSummary {
    pub record_id: String,
    pub snapshots: i64,
    pub counters: String,
    pub first_ms: i64,
    pub last_ms: i64,
}

/// Cases matching `q`, most recent first, at most [`MAX_RESULTS`].
pub fn search(conn: &Connection, q: &Search) -> rusqlite::Result<Vec<CaseSummary>> {
    let (exact, prefix) = match &q.record {
        Some(RecordQuery::Exact(id)) => (Some(id.as_str().to_owned()), None),
        Some(RecordQuery::Prefix(p)) => (None, Some(p.clone())),
        None => (None, None),
    };
    let since = q.from.map(day_start_ms);
    let until = q.to.map(|d| day_start_ms(d) + 86_400_000);
    let mut stmt = conn.prepare_cached(
        "SELECT record_id, count(*), group_concat(DISTINCT counter), min(captured_at_ms), \
         max(captured_at_ms) FROM snapshot WHERE record_id IS NOT NULL \
         AND (?1 IS NULL OR record_id = ?1) \
         AND (?2 IS NULL OR substr(record_id, 1, length(?2)) = ?2) \
         AND (?3 IS NULL OR counter = ?3) \
         AND (?4 IS NULL OR captured_at_ms >= ?4) AND (?5 IS NULL OR captured_at_ms < ?5) \
         GROUP BY record_id ORDER BY max(captured_at_ms) DESC LIMIT ?6",
    )?;
    let rows = stmt.query_map(
        params![exact, prefix, q.counter, since, until, MAX_RESULTS as i64],
        |r| {
            Ok(CaseSummary {
                record_id: r.get(0)?,
                snapshots: r.get(1)?,
                counters: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                first_ms: r.get(3)?,
                last_ms: r.get(4)?,
            })
        },
    )?;
    rows.collect()
}

const COLS: &str = "id, sha256, bytes, width, height, counter, record_id, captured_at_ms, reason, \
     pinned, missing_since_ms IS NOT NULL, frame_age_ms, recovered_from_seq, camera_time_ms";

fn snapshot_row(r: &rusqlite::Row) -> rusqlite::Result<Snapshot> {
    let at: i64 = r.get(7)?;
    Ok(Snapshot {
        id: r.get(0)?,
        sha256: r.get(1)?,
        bytes: r.get(2)?,
        width: r.get(3)?,
        height: r.get(4)?,
        counter: r.get(5)?,
        record_id: r.get(6)?,
        captured_at_ms: at,
        captured_at: format_ms(at),
        reason: r.get(8)?,
        pinned: r.get(9)?,
        missing: r.get(10)?,
        frame_age_ms: r.get(11)?,
        recovered_from_seq: r.get(12)?,
        camera_time_ms: r.get(13)?,
    })
}

/// Every snapshot of a record, in time order.
pub fn record_snapshots(conn: &Connection, id: &RecordId) -> rusqlite::Result<Vec<Snapshot>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLS} FROM snapshot WHERE record_id = ?1 ORDER BY captured_at_ms, id"
    ))?;
    let rows = stmt.query_map([id.as_str()], snapshot_row)?;
    rows.collect()
}

/// A counter's snapshots on one day (ICT), in time order.
pub fn day_snapshots(
    conn: &Connection,
    counter: u32,
    day: NaiveDate,
) -> rusqlite::Result<Vec<Snapshot>> {
    let since = day_start_ms(day);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLS} FROM snapshot WHERE counter = ?1 AND captured_at_ms >= ?2 \
         AND captured_at_ms < ?3 ORDER BY captured_at_ms, id"
    ))?;
    let rows = stmt.query_map(params![counter, since, since + 86_400_000], snapshot_row)?;
    rows.collect()
}

/// One snapshot by id.
pub fn snapshot(conn: &Connection, id: i64) -> rusqlite::Result<Option<Snapshot>> {
    conn.query_row(
        &format!("SELECT {COLS} FROM snapshot WHERE id = ?1"),
        [id],
        snapshot_row,
    )
    .optional()
}

/// A snapshot's stored preview JPEG.
pub fn thumbnail(conn: &Connection, id: i64) -> rusqlite::Result<Option<Vec<u8>>> {
    conn.query_row(
        "SELECT jpeg FROM thumbnail WHERE snapshot_id = ?1",
        [id],
        |r| r.get(0),
    )
    .optional()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_box_rules() {
        assert!(matches!(
            parse_record_query(" 000.00.14.h56-251119-0042 "),
            Ok(Some(RecordQuery::Exact(_)))
        ));
        assert_eq!(
            parse_record_query("000.00.14.h56-2511").unwrap(),
            Some(RecordQuery::Prefix("000.00.14.H56-2511".into()))
        );
        assert_eq!(parse_record_query("").unwrap(), None);
        assert!(parse_record_query("00").is_err());
        assert!(parse_record_query("000%").is_err());
        assert!(parse_record_query("000_1").is_err());
        assert!(parse_record_query("000' OR 1=1 --").is_err());
        assert!(parse_record_query(&"1".repeat(41)).is_err());
    }

    #[test]
    fn day_is_ict() {
        let d = NaiveDate::from_ymd_opt(2025, 11, 19).unwrap();
        // 2025-11-19 00:00 ICT = 2025-11-18 17:00 UTC
        assert_eq!(day_start_ms(d), 1_763_485_200_000);
    }
}
