//! Appending review UI audit entries to the footage hash chain, and reading them back.
//!
//! An audit entry is an ordinary chain entry of kind `audit`, linked like captures and
//! deletions, so `verify` covers it and nobody can drop or edit one unnoticed. This file knows
//! only the chain's columns; what the `reason` JSON means belongs to `src/review/audit.rs`.
//! It never changes or removes an existing entry.

use super::StoredEntry;
use super::{chain_head, insert_entry, stored_entry_from_row, FootageError, FootageStore};
use crate::recorder::chain::{EntryFields, EntryKind, GENESIS};

/// What an audit entry records, in the chain's columns.
#[derive(Debug, Clone, Default)]
pub struct AuditAppend<'a> {
    /// The snapshot viewed, if one.
    pub snapshot_id: Option<i64>,
    /// That snapshot's content hash (proves which bytes were seen).
    pub sha256: Option<&'a str>,
    /// The counter concerned, if one.
    pub counter: Option<u32>,
    /// The record concerned, if one.
    pub record_id: Option<&'a str>,
    /// Who, what and from where (the caller's canonical text).
    pub detail: &'a str,
}

impl FootageStore {
    /// Append one audit entry at the chain head; returns its `seq`.
    pub fn append_audit(&mut self, a: &AuditAppend, now_ms: i64) -> Result<i64, FootageError> {
        let tx = self.conn.transaction()?;
        let seq = append_in(&tx, a, now_ms)?;
        tx.commit()?;
        Ok(seq)
    }

    /// Audit entries, newest first: at most `limit`, with `seq < before` when given.
    pub fn audit_entries(
        &self,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<StoredEntry>, FootageError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, kind, snapshot_id, sha256, bytes, counter, record_id, captured_at_ms, \
             recorded_at_ms, reason, prev_hash, hash FROM chain \
             WHERE kind = 'audit' AND (?1 IS NULL OR seq < ?1) ORDER BY seq DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(
            rusqlite::params![before, limit as i64],
            stored_entry_from_row,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// Append one audit entry at the chain head inside the caller's transaction; returns its seq.
pub(super) fn append_in(
    conn: &rusqlite::Connection,
    a: &AuditAppend,
    now_ms: i64,
) -> Result<i64, FootageError> {
    let (seq, prev) = chain_head(conn)?;
    let entry = EntryFields {
        seq: seq + 1,
        kind: EntryKind::Audit,
        snapshot_id: a.snapshot_id.unwrap_or(0),
        sha256: a.sha256.unwrap_or(GENESIS).to_owned(),
        bytes: 0,
        counter: a.counter.unwrap_or(0),
        record_id: a.record_id.map(str::to_owned),
        captured_at_ms: now_ms,
        recorded_at_ms: now_ms,
        reason: a.detail.to_owned(),
    };
    insert_entry(conn, &entry, &prev)?;
    Ok(entry.seq)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_entries_link_into_the_chain_and_verify() {
        let t = tempfile::tempdir().unwrap();
        let (mut st, _) = FootageStore::open_writer(t.path(), 0).unwrap();
        let a = st
            .append_audit(
                &AuditAppend {
                    record_id: Some("000.00.14.H56-251119-0042"),
                    detail: r#"{"action":"view_case"}"#,
                    ..Default::default()
                },
                5,
            )
            .unwrap();
        let b = st
            .append_audit(
                &AuditAppend {
                    detail: r#"{"action":"login"}"#,
                    ..Default::default()
                },
                6,
            )
            .unwrap();
        assert_eq!((a, b), (1, 2));
        let rep = st.verify(true).unwrap();
        assert!(rep.ok(), "{:?}", rep.problems);
        assert_eq!(rep.chain_entries, 2);
        let listed = st.audit_entries(None, 10).unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0].fields.seq, 2, "newest first");
        assert_eq!(st.audit_entries(Some(2), 10).unwrap().len(), 1);
        // editing an audit entry is caught like any other
        st.connection()
            .execute("UPDATE chain SET reason = '{}' WHERE seq = 1", [])
            .unwrap();
        assert!(!st.verify(false).unwrap().ok());
    }
}
