//! `snapshots verify`: recompute the hash chain, compare every row with its capture entry,
//! hash every file, and name each problem. Read-only: never repairs anything.
//!
//! A deletion by the retention policy leaves a `delete` entry, so it is not a problem; a row
//! removed any other way, an edited row or entry, or an altered file is.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use super::{snapshot_from_row, FootageError, FootageStore, Snapshot, SNAPSHOT_COLS};
use crate::recorder::chain::{self, EntryKind, GENESIS};

/// One integrity problem, named so a supervisor can act on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Problem {
    ChainGap {
        expected: i64,
        found: i64,
    },
    ChainLinkBroken {
        seq: i64,
    },
    ChainHashMismatch {
        seq: i64,
    },
    ChainBadKind {
        seq: i64,
        kind: String,
    },
    RowNotInChain {
        id: i64,
    },
    RowDiffersFromChain {
        id: i64,
        field: &'static str,
    },
    DeletedWithoutRecord {
        id: i64,
    },
    DeletedRowStillPresent {
        id: i64,
    },
    FileMissing {
        id: i64,
        path: PathBuf,
    },
    FileAltered {
        id: i64,
        path: PathBuf,
        actual_sha256: String,
    },
    OrphanFile {
        path: PathBuf,
    },
    UnexpectedFile {
        path: PathBuf,
    },
    QuarantinedFile {
        path: PathBuf,
    },
    StaleThumbnail {
        snapshot_id: i64,
    },
    /// The chain does not extend the last head the hub anchored: the entry at that sequence
    /// has another hash (`found` = None: the chain is shorter than the anchored head).
    AnchorMismatch {
        seq: i64,
        anchored_hash: String,
        found: Option<String>,
    },
    /// A stored receipt does not verify with any pinned hub key (or with the device key).
    AnchorReceiptInvalid {
        seq: i64,
        message: String,
    },
    /// `--against-hub`: a receipt stored on the device (valid) that the hub does not list.
    AnchorNotOnHub {
        seq: i64,
        hub_seq: i64,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Problem::*;
        match self {
            ChainGap { expected, found } => write!(f, "chain: entry {expected} is missing (next is {found}); entries were removed"),
            ChainLinkBroken { seq } => write!(f, "chain: entry {seq} does not link to entry {}; the chain was edited", seq - 1),
            ChainHashMismatch { seq } => write!(f, "chain: entry {seq} does not match its hash; its fields were edited"),
            ChainBadKind { seq, kind } => write!(f, "chain: entry {seq} has unknown kind `{kind}`"),
            RowNotInChain { id } => write!(f, "snapshot {id}: row has no capture entry in the chain; it was added outside motcua"),
            RowDiffersFromChain { id, field } => write!(f, "snapshot {id}: `{field}` differs from its chain entry; the row was edited"),
            DeletedWithoutRecord { id } => write!(f, "snapshot {id}: row is gone but no retention deletion is recorded; it was removed outside motcua"),
            DeletedRowStillPresent { id } => write!(f, "snapshot {id}: recorded as deleted by retention but its row is still present"),
            FileMissing { id, path } => write!(f, "snapshot {id}: file {} is missing", path.display()),
            FileAltered { id, path, actual_sha256 } => write!(f, "snapshot {id}: file {} was altered (its SHA-256 is now {actual_sha256})", path.display()),
            OrphanFile { path } => write!(f, "file {} has no snapshot row (run the daemon once to reconcile)", path.display()),
            UnexpectedFile { path } => write!(f, "file {} does not belong in the footage directory", path.display()),
            QuarantinedFile { path } => write!(f, "file {} was quarantined: the store could not account for it (look at it, then move it away)", path.display()),
            StaleThumbnail { snapshot_id } => write!(f, "preview for snapshot {snapshot_id} has no snapshot row (left over; it is replaced when that id is reused)"),
            AnchorMismatch { seq, anchored_hash, found: Some(h) } => write!(f, "chain: entry {seq} is {h} but the hub anchored {anchored_hash}; the chain was rewritten after it was anchored"),
            AnchorMismatch { seq, anchored_hash, found: None } => write!(f, "chain: the hub anchored entry {seq} ({anchored_hash}) but the chain is shorter; entries were removed after it was anchored"),
            AnchorReceiptInvalid { seq, message } => write!(f, "anchor receipt for entry {seq} is not valid: {message}"),
            AnchorNotOnHub { seq, hub_seq } => write!(f, "anchor receipt for entry {seq} (hub seq {hub_seq}) is stored here but the hub does not list it; the hub's record for this device was lost or belongs to another device"),
        }
    }
}

/// A snapshot re-adopted from its self-describing file after its row was lost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecoveredSnapshot {
    pub id: i64,
    pub record_id: Option<String>,
    pub recovered_from_seq: i64,
}

/// The outcome of a full check.
#[derive(Debug, Default, Clone, Serialize)]
pub struct VerifyReport {
    pub chain_entries: i64,
    pub snapshots: usize,
    pub files_checked: usize,
    pub head_seq: i64,
    pub head_hash: String,
    /// Snapshots re-adopted from their files after their rows were lost.
    pub recovered: usize,
    /// Those snapshots: id, record ID, and the seq they were first stored as.
    pub recovered_snapshots: Vec<RecoveredSnapshot>,
    /// Files only checked to be there, not hashed (a bounded check: the doctor's).
    pub files_not_hashed: usize,
    /// Files in `quarantine/` (also listed as problems).
    pub quarantined: Vec<PathBuf>,
    /// The last head the hub anchored (from a verified receipt), if any; its check's outcome
    /// is in `problems`.
    pub anchored: Option<super::anchor_store::AnchoredHead>,
    /// With `--against-hub`: the last head the hub itself holds for this device (its receipt
    /// verified); the check's outcome is in `problems`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hub_anchored: Option<super::anchor_store::AnchoredHead>,
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

impl FootageStore {
    /// Check the chain, the rows against it, the anchor (stored hub receipts, each checked with
    /// the hub key it was accepted with) and (with `files`) every file's hash.
    pub fn verify(&self, files: bool) -> Result<VerifyReport, FootageError> {
        self.verify_trusting(files, None)
    }

    /// [`verify`](Self::verify), requiring each receipt's hub key to be one of `hub_keys`
    /// (the `[sync] public_keys` this device pins) when given.
    pub fn verify_trusting(
        &self,
        files: bool,
        hub_keys: Option<&[ed25519_dalek::VerifyingKey]>,
    ) -> Result<VerifyReport, FootageError> {
        self.verify_with(files.then_some(usize::MAX), hub_keys)
    }

    /// A bounded check for the doctor on a full card: everything but the file hashes, then
    /// only the newest `hash_newest` snapshots' files are hashed; the others are checked to be
    /// there (`files_not_hashed`). `verify(true)` hashes every file.
    pub fn verify_bounded(&self, hash_newest: usize) -> Result<VerifyReport, FootageError> {
        self.verify_with(Some(hash_newest), None)
    }

    /// `files`: None, no file checks; Some(n): every file checked present, the newest n hashed.
    fn verify_with(
        &self,
        files: Option<usize>,
        hub_keys: Option<&[ed25519_dalek::VerifyingKey]>,
    ) -> Result<VerifyReport, FootageError> {
        let mut report = VerifyReport {
            head_hash: GENESIS.to_owned(),
            ..Default::default()
        };
        let rows: Vec<Snapshot> = {
            let mut stmt = self
                .conn
                .prepare(&format!("SELECT {SNAPSHOT_COLS} FROM snapshot ORDER BY id"))?;
            let rows = stmt.query_map([], snapshot_from_row)?;
            rows.collect::<Result<_, _>>()?
        };
        let mut by_id: HashMap<i64, &Snapshot> = rows.iter().map(|s| (s.id, s)).collect();
        report.snapshots = rows.len();
        let (head, _) = self.head()?;
        let mut captures = Vec::new();
        let mut deleted = HashSet::new();
        let mut expected_seq = 1;
        let mut prev = GENESIS.to_owned();
        // Walk in pages so a long chain does not sit in memory.
        let mut from = 1;
        while from <= head {
            let page = self.chain_entries(from, from + 9_999)?;
            from += 10_000;
            for e in page {
                let seq = e.fields.seq;
                if seq != expected_seq {
                    report.problems.push(Problem::ChainGap {
                        expected: expected_seq,
                        found: seq,
                    });
                }
                expected_seq = seq + 1;
                if EntryKind::parse(&e.kind_text).is_none() {
                    report.problems.push(Problem::ChainBadKind {
                        seq,
                        kind: e.kind_text.clone(),
                    });
                }
                if e.prev_hash != prev {
                    report.problems.push(Problem::ChainLinkBroken { seq });
                }
                if chain::link(&e.prev_hash, &e.fields.body_hash()) != e.hash {
                    report.problems.push(Problem::ChainHashMismatch { seq });
                }
                prev = e.hash.clone();
                report.chain_entries += 1;
                report.head_seq = seq;
                report.head_hash = e.hash.clone();
                match e.fields.kind {
                    EntryKind::Capture | EntryKind::Recover => captures.push(e.fields),
                    EntryKind::Delete => {
                        deleted.insert(e.fields.snapshot_id);
                    }
                    // Review UI audit entries describe an access, not a row: the link and
                    // body hash checks above are all there is to verify.
                    EntryKind::Audit => {}
                }
            }
        }
        // Re-adopted rows, by the seq they claim to have been first stored as, with their hash:
        // a capture with no row is excused only by a recovered row holding the same file.
        let recovered_from: HashMap<i64, &str> = rows
            .iter()
            .filter_map(|r| r.recovered_from_seq.map(|s| (s, r.sha256.as_str())))
            .collect();
        report.recovered = recovered_from.len();
        report.recovered_snapshots = rows
            .iter()
            .filter_map(|r| {
                r.recovered_from_seq.map(|seq| RecoveredSnapshot {
                    id: r.id,
                    record_id: r.record_id.clone(),
                    recovered_from_seq: seq,
                })
            })
            .collect();
        for c in &captures {
            match (by_id.remove(&c.seq), deleted.contains(&c.seq)) {
                (Some(row), false) => {
                    if let Some(field) = differing_field(row, c) {
                        report
                            .problems
                            .push(Problem::RowDiffersFromChain { id: row.id, field });
                    }
                }
                (Some(row), true) => report
                    .problems
                    .push(Problem::DeletedRowStillPresent { id: row.id }),
                // Re-adopted from its file after the row was lost: the `recover` entry says so.
                (None, false) if recovered_from.get(&c.seq) == Some(&c.sha256.as_str()) => {}
                (None, false) => report
                    .problems
                    .push(Problem::DeletedWithoutRecord { id: c.seq }),
                (None, true) => {}
            }
        }
        let mut not_in_chain: Vec<i64> = by_id.keys().copied().collect();
        not_in_chain.sort();
        for id in not_in_chain {
            report.problems.push(Problem::RowNotInChain { id });
        }
        let stale: Vec<i64> = {
            let mut stmt = self.conn.prepare(
                "SELECT snapshot_id FROM thumbnail WHERE snapshot_id NOT IN \
                 (SELECT id FROM snapshot) ORDER BY snapshot_id",
            )?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        for snapshot_id in stale {
            report
                .problems
                .push(Problem::StaleThumbnail { snapshot_id });
        }
        self.verify_anchor(&mut report, hub_keys)?;
        if let Some(hash_newest) = files {
            self.verify_files(&rows, &mut report, hash_newest)?;
        }
        Ok(report)
    }

    fn verify_files(
        &self,
        rows: &[Snapshot],
        report: &mut VerifyReport,
        hash_newest: usize,
    ) -> Result<(), FootageError> {
        let mut checked: HashMap<&str, Option<String>> = HashMap::new();
        // rows are in id (commit) order: the newest are last
        let stat_only = rows.len().saturating_sub(hash_newest);
        for (i, s) in rows.iter().enumerate() {
            let path = self.dir.path_of(&s.sha256);
            if i < stat_only && !checked.contains_key(s.sha256.as_str()) {
                if path.is_file() {
                    checked.insert(&s.sha256, Some(s.sha256.clone()));
                    report.files_not_hashed += 1;
                } else {
                    report
                        .problems
                        .push(Problem::FileMissing { id: s.id, path });
                }
                continue;
            }
            let actual = checked
                .entry(&s.sha256)
                .or_insert_with(|| std::fs::read(&path).ok().map(|b| chain::sha256_hex(&b)));
            match actual {
                None => report
                    .problems
                    .push(Problem::FileMissing { id: s.id, path }),
                Some(a) if *a != s.sha256 => report.problems.push(Problem::FileAltered {
                    id: s.id,
                    path,
                    actual_sha256: a.clone(),
                }),
                Some(_) => {}
            }
        }
        report.files_checked = checked.len() - report.files_not_hashed;
        let pending: HashSet<String> = {
            let mut stmt = self.conn.prepare("SELECT sha256 FROM pending_delete")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        let root = self.dir.root().to_owned();
        let scan = self
            .dir
            .scan()
            .map_err(FootageError::io("cannot scan", &root))?;
        for sha in scan.content {
            if !checked.contains_key(sha.as_str()) && !pending.contains(&sha) {
                report.problems.push(Problem::OrphanFile {
                    path: self.dir.path_of(&sha),
                });
            }
        }
        for path in scan.unexpected {
            report.problems.push(Problem::UnexpectedFile { path });
        }
        report.quarantined = self
            .dir
            .quarantined()
            .map_err(FootageError::io("cannot list", &root))?;
        for path in &report.quarantined {
            report
                .problems
                .push(Problem::QuarantinedFile { path: path.clone() });
        }
        Ok(())
    }
}

fn differing_field(row: &Snapshot, c: &chain::EntryFields) -> Option<&'static str> {
    if row.sha256 != c.sha256 {
        Some("sha256")
    } else if row.bytes != c.bytes {
        Some("bytes")
    } else if row.counter != c.counter {
        Some("counter")
    } else if row.record_id != c.record_id {
        Some("record_id")
    } else if row.captured_at_ms != c.captured_at_ms {
        Some("captured_at")
    } else if row.reason != c.reason {
        Some("reason")
    } else {
        None
    }
}
