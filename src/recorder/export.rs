//! Case export: every snapshot of one record as a zip (JPEGs stored uncompressed +
//! `manifest.json` with their hashes, a chain proof, the head signed by the device key and the
//! hub's receipt for the last anchored head + `manifest.sig`, the device's ed25519 signature
//! over the exact manifest bytes). Checking one is `export_check.rs`; a verifier that needs no
//! device is `docs/verify-export.py`.
//!
//! The proof lists, for each chain entry in the range, only its body hash and link hash; full
//! fields appear only for this record's captures — no other citizen's record ID leaves.
//! Every export appends an audit entry to the chain (in the same transaction that pins the
//! snapshots, so the proven head includes it). A failed export leaves no file and no pins:
//! the zip is written to `<out>.part` and renamed only when complete; on any error the part
//! is removed and the pins and export row it made are undone.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ed25519_dalek::{Signer as _, SigningKey};
use serde::{Deserialize, Serialize};

use super::anchor::{FootageHead, Receipt};
use super::chain::{self, ENCODING};
use super::clock::{format_ms, rfc3339_s};
use super::footage::{AuditAppend, Filter, FootageError, FootageStore};
use crate::record::RecordId;

pub use super::export_check::check_export;

pub const MANIFEST: &str = "manifest.json";
/// base64 ed25519 signature by the device key over the exact bytes of `manifest.json`.
pub const SIGNATURE: &str = "manifest.sig";
pub const FORMAT: &str = "motcua-case-export/2";
/// The format before signatures; still checked.
pub const FORMAT_V1: &str = "motcua-case-export/1";

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("no snapshots are stored for record {0}")]
    NothingToExport(String),
    #[error("snapshot {id}: its file is missing or altered; run `motcua snapshots verify`")]
    BadFile { id: i64 },
    #[error(transparent)]
    Footage(#[from] FootageError),
    #[error("cannot write {path}: {message}")]
    Write { path: String, message: String },
    #[error("export {path} is not valid: {message}")]
    Invalid { path: String, message: String },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ManifestSnapshot {
    pub id: i64,
    pub file: String,
    pub sha256: String,
    pub bytes: i64,
    pub width: u32,
    pub height: u32,
    pub counter: u32,
    pub captured_at: String,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame_age_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovered_from_seq: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProofEntry {
    pub seq: i64,
    pub body_hash: String,
    pub hash: String,
    /// Present for this record's capture entries: everything needed to recompute `body_hash`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChainProof {
    pub encoding: String,
    pub link: String,
    pub start_prev_hash: String,
    pub head_seq: i64,
    pub head_hash: String,
    pub entries: Vec<ProofEntry>,
}

/// Who signed: the device name (as the hub knows it) and its public key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ManifestDevice {
    pub name: String,
    /// base64 of the 32-byte ed25519 public key.
    pub key: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    pub format: String,
    pub record_id: String,
    pub exported_at: String,
    pub snapshots: Vec<ManifestSnapshot>,
    pub chain: ChainProof,
    /// The signing device (absent: an unsigned export from a device without a key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<ManifestDevice>,
    /// The chain head (= `chain.head_*`) signed by the device at export time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_head: Option<FootageHead>,
    /// The hub's receipt for the last head it anchored (within `chain.entries`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchor: Option<Receipt>,
}

/// The device key and name that sign exports and heads.
#[derive(Clone)]
pub struct DeviceSigner {
    pub key: SigningKey,
    pub device: String,
}

impl DeviceSigner {
    /// The key at `path` (provisioning's PKCS#8 PEM) for `device`; `Ok(None)` if there is no
    /// key file (not provisioned: exports are unsigned and say so).
    pub fn load(path: &Path, device: &str) -> Result<Option<DeviceSigner>, String> {
        Ok(
            super::anchor::load_device_key(path)?.map(|key| DeviceSigner {
                key,
                device: device.to_owned(),
            }),
        )
    }
}

impl std::fmt::Debug for DeviceSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DeviceSigner({})", self.device)
    }
}

/// How to export: who signs (None: unsigned, and the manifest says so by having no
/// `device`), and the audit entry's text (canonical JSON of who asked, from where).
pub struct ExportOptions<'a> {
    pub signer: Option<&'a DeviceSigner>,
    pub audit: &'a str,
}

/// Export every snapshot of `record` into `out`, pinning them. Returns the manifest.
pub fn export_record(
    store: &mut FootageStore,
    record: &RecordId,
    out: &Path,
    now_ms: i64,
    opts: &ExportOptions,
) -> Result<Manifest, ExportError> {
    let rows = store.list(&Filter {
        record_id: Some(record.as_str().to_owned()),
        ..Default::default()
    })?;
    if rows.is_empty() {
        return Err(ExportError::NothingToExport(record.to_string()));
    }
    let ids: Vec<i64> = rows.iter().map(|s| s.id).collect();
    // Pin first (with the audit entry and the export row, one transaction): from here on
    // retention cannot remove what we are about to read.
    let audit = AuditAppend {
        record_id: Some(record.as_str()),
        detail: opts.audit,
        ..Default::default()
    };
    let tmp = out.with_extension("zip.part");
    let pinned = store.begin_export(record.as_str(), &ids, &audit, now_ms, Some(out))?;
    let written = write_zip(store, record, &rows, out, &tmp, &pinned, now_ms, opts);
    if written.is_ok() {
        // the zip is in place; a crash before this line is settled by undo_cut_exports
        if let Err(e) = store.finish_export(&pinned) {
            tracing::error!(%e, "cannot mark a finished export as done");
        }
    } else {
        let _ = fs::remove_file(&tmp);
        if let Err(e) = store.undo_export(&pinned) {
            tracing::error!(%e, "cannot undo the pins of a failed export");
        }
    }
    written
}

#[allow(clippy::too_many_arguments)]
fn write_zip(
    store: &mut FootageStore,
    record: &RecordId,
    rows: &[super::footage::Snapshot],
    out: &Path,
    tmp: &Path,
    pinned: &super::footage::ExportBegun,
    now_ms: i64,
    opts: &ExportOptions,
) -> Result<Manifest, ExportError> {
    let werr = |message: String| ExportError::Write {
        path: out.display().to_string(),
        message,
    };
    let (head_seq, head_hash) = (pinned.head_seq, pinned.head_hash.clone());
    let signed_head = match opts.signer {
        // exactly the head the export pinned: captures may have moved the chain since (the
        // daemon keeps capturing while the CLI exports), and the proof ends at the pinned head
        Some(s) => {
            Some(store.sign_head_at(&s.key, &s.device, head_seq, &head_hash, &rfc3339_s(now_ms))?)
        }
        None => None,
    };
    let anchor = store.last_receipt_at_or_below(head_seq)?;
    let ids: Vec<i64> = rows.iter().map(|s| s.id).collect();
    let mut first = *ids.iter().min().unwrap_or(&1);
    if let Some(a) = &anchor {
        first = first.min(a.seq);
    }
    let entries = store.chain_entries(first, head_seq)?;
    let start_prev_hash = entries
        .first()
        .map(|e| e.prev_hash.clone())
        .unwrap_or_default();
    let proof = entries
        .iter()
        .map(|e| ProofEntry {
            seq: e.fields.seq,
            body_hash: e.fields.body_hash(),
            hash: e.hash.clone(),
            fields: (ids.contains(&e.fields.seq)
                && matches!(e.kind_text.as_str(), "capture" | "recover"))
            .then(|| serde_json::to_value(&e.fields).unwrap_or_default()),
        })
        .collect();
    let file = File::create(tmp).map_err(|e| werr(e.to_string()))?;
    let mut zip = zip::ZipWriter::new(file);
    let opts_zip =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut snapshots = Vec::new();
    for s in rows {
        let data = fs::read(store.dir().path_of(&s.sha256))
            .map_err(|_| ExportError::BadFile { id: s.id })?;
        if chain::sha256_hex(&data) != s.sha256 {
            return Err(ExportError::BadFile { id: s.id });
        }
        let name = format!(
            "snapshots/{:08}-counter{}-{}.jpg",
            s.id,
            s.counter,
            &s.sha256[..12]
        );
        zip.start_file(name.as_str(), opts_zip)
            .map_err(|e| werr(e.to_string()))?;
        zip.write_all(&data).map_err(|e| werr(e.to_string()))?;
        snapshots.push(ManifestSnapshot {
            id: s.id,
            file: name,
            sha256: s.sha256.clone(),
            bytes: s.bytes,
            width: s.width,
            height: s.height,
            counter: s.counter,
            captured_at: s.captured_at.clone(),
            reason: s.reason.clone(),
            frame_age_ms: s.frame_age_ms,
            recovered_from_seq: s.recovered_from_seq,
        });
    }
    let manifest = Manifest {
        format: FORMAT.into(),
        record_id: record.to_string(),
        exported_at: format_ms(now_ms),
        snapshots,
        chain: ChainProof {
            encoding: ENCODING.into(),
            link: "hash = SHA-256(prev_hash_hex || body_hash_hex); body_hash = SHA-256(canonical fields)".into(),
            start_prev_hash,
            head_seq,
            head_hash,
            entries: proof,
        },
        device: opts.signer.map(|s| ManifestDevice {
            name: s.device.clone(),
            key: B64.encode(s.key.verifying_key().as_bytes()),
        }),
        signed_head,
        anchor,
    };
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| werr(e.to_string()))?;
    zip.start_file(MANIFEST, opts_zip)
        .map_err(|e| werr(e.to_string()))?;
    zip.write_all(&json).map_err(|e| werr(e.to_string()))?;
    if let Some(s) = opts.signer {
        zip.start_file(SIGNATURE, opts_zip)
            .map_err(|e| werr(e.to_string()))?;
        let sig = B64.encode(s.key.sign(&json).to_bytes());
        zip.write_all(sig.as_bytes())
            .map_err(|e| werr(e.to_string()))?;
    }
    let file = zip.finish().map_err(|e| werr(e.to_string()))?;
    file.sync_all().map_err(|e| werr(e.to_string()))?;
    fs::rename(tmp, out).map_err(|e| werr(e.to_string()))?;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = super::footage::files::sync_dir(dir);
    }
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recorder::footage::NewSnapshot;
    use crate::recorder::jpeg;

    const REC: &str = "000.00.14.H56-251119-0042";

    fn capture(st: &mut FootageStore, n: u8, at: i64) {
        let jpeg = jpeg::encode_rgb(&vec![n; 16 * 16 * 3], 16, 16, 80).unwrap();
        st.ingest(
            &NewSnapshot {
                jpeg: &jpeg,
                width: 16,
                height: 16,
                counter: 1,
                record_id: Some(REC),
                captured_at_ms: at,
                reason: "started",
                thumbnail: None,
                frame_age_ms: None,
                camera_time_ms: None,
            },
            at,
        )
        .unwrap();
    }

    /// The daemon captures between the export's pin and its signature (another connection,
    /// as another process would): the export still proves and signs the head it pinned.
    #[test]
    fn an_export_signs_the_head_it_pinned_not_one_captured_after() {
        let t = tempfile::tempdir().unwrap();
        let (mut st, _) = FootageStore::open_writer(t.path(), 0).unwrap();
        capture(&mut st, 10, 1000);
        let rec = RecordId::parse(REC).unwrap();
        let audit = AuditAppend {
            record_id: Some(REC),
            detail: "{\"via\":\"test\"}",
            ..Default::default()
        };
        let rows = st
            .list(&Filter {
                record_id: Some(REC.into()),
                ..Default::default()
            })
            .unwrap();
        let pinned = st
            .begin_export(REC, &[rows[0].id], &audit, 2000, None)
            .unwrap();
        // the chain moves on after the pin
        capture(&mut st, 20, 3000);
        capture(&mut st, 30, 4000);
        assert!(st.head().unwrap().0 > pinned.head_seq);
        let signer = DeviceSigner {
            key: SigningKey::from_bytes(&[7; 32]),
            device: "quay-1".into(),
        };
        let opts = ExportOptions {
            signer: Some(&signer),
            audit: "",
        };
        let out = t.path().join("case.zip");
        let tmp = out.with_extension("zip.part");
        let m = write_zip(&mut st, &rec, &rows, &out, &tmp, &pinned, 5000, &opts).unwrap();
        let h = m.signed_head.as_ref().unwrap();
        assert_eq!(
            (h.seq, h.hash.as_str()),
            (pinned.head_seq, pinned.head_hash.as_str())
        );
        let checked = check_export(&out).unwrap();
        assert_eq!(checked.chain.head_seq, pinned.head_seq);
        // a head the chain does not hold is refused, not signed
        let err = st
            .sign_head_at(
                &signer.key,
                "quay-1",
                2,
                &"0".repeat(64),
                "2026-12-05T10:00:00Z",
            )
            .unwrap_err();
        assert!(
            err.to_string().contains("the chain has no such entry"),
            "{err}"
        );
    }
}
