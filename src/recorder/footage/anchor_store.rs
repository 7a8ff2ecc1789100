//! Signed chain heads and the hub's receipts in `footage.db`, and the check that the chain
//! still extends the last anchored head. Signing and signature checks are `recorder::anchor`;
//! this file only stores and compares. Receipts are append-only (triggers refuse changes).

use ed25519_dalek::{SigningKey, VerifyingKey};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::verify::{Problem, VerifyReport};
use super::{chain_head, FootageError, FootageStore};
use crate::recorder::anchor::{self, FootageHead, Receipt};

/// The last head the hub anchored, as `verify` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnchoredHead {
    pub seq: i64,
    pub hash: String,
    pub at: String,
    pub received_at: String,
    pub hub_seq: i64,
}

/// Why a receipt was not stored.
#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    #[error("{0}")]
    Invalid(String),
    #[error("the receipt is for a head this device never signed (seq {seq}, {hash})")]
    NotOurs { seq: i64, hash: String },
    #[error(transparent)]
    Footage(#[from] FootageError),
}

impl From<rusqlite::Error> for ReceiptError {
    fn from(e: rusqlite::Error) -> Self {
        ReceiptError::Footage(e.into())
    }
}

impl FootageStore {
    /// Sign the current chain head as `device` at `at` (RFC 3339 UTC) and keep it.
    pub fn sign_head(
        &mut self,
        key: &SigningKey,
        device: &str,
        at: &str,
    ) -> Result<FootageHead, FootageError> {
        let (seq, hash) = chain_head(&self.conn)?;
        self.sign_head_at(key, device, seq, &hash, at)
    }

    /// Sign the head `(seq, hash)` — one this store's chain holds, e.g. the head an export
    /// pinned while captures go on from another process — and keep it. Refuses a head the
    /// chain does not have at that seq.
    pub fn sign_head_at(
        &mut self,
        key: &SigningKey,
        device: &str,
        seq: i64,
        hash: &str,
        at: &str,
    ) -> Result<FootageHead, FootageError> {
        let held: bool = seq == 0
            || self.conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM chain WHERE seq = ?1 AND hash = ?2)",
                params![seq, hash],
                |r| r.get(0),
            )?;
        if !held {
            return Err(FootageError::Invalid(format!(
                "cannot sign head {seq} ({hash}): the chain has no such entry"
            )));
        }
        let head = anchor::sign_head(key, device, seq, hash, at);
        self.conn.execute(
            "INSERT INTO signed_head (seq, hash, at, device, key, signature) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                head.seq,
                head.hash,
                head.at,
                device,
                head.key,
                head.signature
            ],
        )?;
        Ok(head)
    }

    /// The latest signed head (highest seq; of those, the last signed) and the device name it
    /// was signed as. By seq, not by signing order: an export signs the head it pinned, which
    /// may be older than one the anchoring thread signed meanwhile.
    pub fn latest_signed_head(&self) -> Result<Option<(String, FootageHead)>, FootageError> {
        Ok(self
            .conn
            .query_row(
                "SELECT device, seq, hash, at, key, signature FROM signed_head \
                 ORDER BY seq DESC, id DESC LIMIT 1",
                [],
                |r| {
                    Ok((
                        r.get(0)?,
                        FootageHead {
                            seq: r.get(1)?,
                            hash: r.get(2)?,
                            at: r.get(3)?,
                            key: r.get(4)?,
                            signature: r.get(5)?,
                        },
                    ))
                },
            )
            .optional()?)
    }

    /// Verify a receipt with the pinned hub keys, check it answers a head this device signed,
    /// and keep it (a receipt already kept is not stored twice). Returns whether it was new.
    pub fn store_receipt(
        &mut self,
        r: &Receipt,
        hub_keys: &[VerifyingKey],
        now_ms: i64,
    ) -> Result<bool, ReceiptError> {
        let i = anchor::verify_receipt(r, hub_keys).map_err(ReceiptError::Invalid)?;
        let ours: bool = self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM signed_head WHERE seq = ?1 AND hash = ?2 AND at = ?3 \
             AND key = ?4 AND signature = ?5 AND device = ?6)",
            params![r.seq, r.hash, r.at, r.key, r.signature, r.device],
            |row| row.get(0),
        )?;
        if !ours {
            return Err(ReceiptError::NotOurs {
                seq: r.seq,
                hash: r.hash.clone(),
            });
        }
        use base64::Engine;
        let hub_key = base64::engine::general_purpose::STANDARD.encode(hub_keys[i].as_bytes());
        let n = self.conn.execute(
            "INSERT OR IGNORE INTO anchor_receipt (device, key, seq, hash, at, signature, \
             received_at, hub_seq, hub_signature, hub_key, stored_at_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                r.device,
                r.key,
                r.seq,
                r.hash,
                r.at,
                r.signature,
                r.received_at,
                r.hub_seq,
                r.hub_signature,
                hub_key,
                now_ms
            ],
        )?;
        Ok(n == 1)
    }

    /// Every stored receipt with the hub key that verified it, highest seq last.
    pub fn receipts(&self) -> Result<Vec<(Receipt, String)>, FootageError> {
        let mut stmt = self.conn.prepare(
            "SELECT device, key, seq, hash, at, signature, received_at, hub_seq, hub_signature, \
             hub_key FROM anchor_receipt ORDER BY seq, id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                Receipt {
                    device: r.get(0)?,
                    key: r.get(1)?,
                    seq: r.get(2)?,
                    hash: r.get(3)?,
                    at: r.get(4)?,
                    signature: r.get(5)?,
                    received_at: r.get(6)?,
                    hub_seq: r.get(7)?,
                    hub_signature: r.get(8)?,
                },
                r.get(9)?,
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The last anchored head (highest seq) with its receipt, if any.
    pub fn last_receipt(&self) -> Result<Option<Receipt>, FootageError> {
        Ok(self.receipts()?.pop().map(|(r, _)| r))
    }

    /// The highest anchored head at or below `seq` (an export's pinned head: a receipt for a
    /// later head, arrived while the export ran, must not hide the one the export can prove).
    pub fn last_receipt_at_or_below(&self, seq: i64) -> Result<Option<Receipt>, FootageError> {
        Ok(self
            .receipts()?
            .into_iter()
            .rev()
            .find(|(r, _)| r.seq <= seq)
            .map(|(r, _)| r))
    }

    /// The chain entry at an anchored head's seq must have the anchored hash; a problem
    /// otherwise (`found` None: the chain is shorter).
    fn check_chain_holds(
        &self,
        report: &mut VerifyReport,
        r: &Receipt,
    ) -> Result<(), FootageError> {
        let found: Option<String> = self
            .conn
            .query_row("SELECT hash FROM chain WHERE seq = ?1", [r.seq], |x| {
                x.get(0)
            })
            .optional()?;
        if found.as_deref() != Some(r.hash.as_str()) {
            report.problems.push(Problem::AnchorMismatch {
                seq: r.seq,
                anchored_hash: r.hash.clone(),
                found,
            });
        }
        Ok(())
    }

    /// `verify --against-hub`: the receipts the hub holds for this device (`GET /v1/anchors`),
    /// each verified with a pinned hub key and for `device`, and the chain must hold every
    /// anchored head. A device whose local receipts were deleted along with a forged chain
    /// fails here: the hub's copy cannot be deleted from the device. Sets `hub_anchored` to
    /// the highest anchored head.
    pub fn verify_hub_anchors(
        &self,
        report: &mut VerifyReport,
        receipts: &[Receipt],
        hub_keys: &[VerifyingKey],
        device: &str,
    ) -> Result<(), FootageError> {
        let mut best: Option<&Receipt> = None;
        for r in receipts {
            let valid = if r.device != device {
                Err(format!("the hub sent a receipt for device {:?}", r.device))
            } else {
                anchor::verify_receipt(r, hub_keys).map(drop)
            };
            if let Err(message) = valid {
                report.problems.push(Problem::AnchorReceiptInvalid {
                    seq: r.seq,
                    message,
                });
                continue;
            }
            self.check_chain_holds(report, r)?;
            if best.is_none_or(|b| r.seq > b.seq) {
                best = Some(r);
            }
        }
        // every receipt stored here must be on the hub too (a hub that lists none for this
        // device anchors nothing: that is a problem, not a pass)
        for (local, _) in self.receipts()? {
            if !receipts
                .iter()
                .any(|h| h.seq == local.seq && h.hash == local.hash && h.hub_seq == local.hub_seq)
            {
                report.problems.push(Problem::AnchorNotOnHub {
                    seq: local.seq,
                    hub_seq: local.hub_seq,
                });
            }
        }
        report.hub_anchored = best.map(|r| AnchoredHead {
            seq: r.seq,
            hash: r.hash.clone(),
            at: r.at.clone(),
            received_at: r.received_at.clone(),
            hub_seq: r.hub_seq,
        });
        Ok(())
    }

    /// `verify`'s anchor part: each stored receipt must still verify (with the hub key it was
    /// accepted with, which must be one of `trusted` when given), and the chain entry at each
    /// anchored seq must have the anchored hash. The walk in `verify` checks that the chain is
    /// intact after it.
    pub(super) fn verify_anchor(
        &self,
        report: &mut VerifyReport,
        trusted: Option<&[VerifyingKey]>,
    ) -> Result<(), FootageError> {
        for (r, hub_key) in self.receipts()? {
            let key = match anchor::parse_public_key(&hub_key) {
                Ok(k) if trusted.is_none_or(|t| t.contains(&k)) => k,
                Ok(_) => {
                    report.problems.push(Problem::AnchorReceiptInvalid {
                        seq: r.seq,
                        message: "signed by a hub key this device does not pin".into(),
                    });
                    continue;
                }
                Err(e) => {
                    report.problems.push(Problem::AnchorReceiptInvalid {
                        seq: r.seq,
                        message: e,
                    });
                    continue;
                }
            };
            if let Err(message) = anchor::verify_receipt(&r, &[key]) {
                report.problems.push(Problem::AnchorReceiptInvalid {
                    seq: r.seq,
                    message,
                });
                continue;
            }
            self.check_chain_holds(report, &r)?;
            report.anchored = Some(AnchoredHead {
                seq: r.seq,
                hash: r.hash,
                at: r.at,
                received_at: r.received_at,
                hub_seq: r.hub_seq,
            });
        }
        Ok(())
    }
}
