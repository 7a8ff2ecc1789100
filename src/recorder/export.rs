//! Case export: every snapshot of one record as a zip (JPEGs stored uncompressed +
//! `manifest.json` with their hashes and a chain proof from the first of them to the head),
//! and the check of such a zip. Exported snapshots are pinned against retention.
//!
//! The proof lists, for each chain entry in the range, only its body hash and link hash; full
//! fields appear only for this record's captures — no other citizen's record ID leaves.
//! Never modifies a snapshot or the chain; writes the zip via a temporary file and a rename.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::chain::{self, EntryFields, ENCODING};
use super::clock::format_ms;
use super::footage::{Filter, FootageError, FootageStore};
use crate::record::RecordId;

pub const MANIFEST: &str = "manifest.json";
pub const FORMAT: &str = "motcua-case-export/1";

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

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    pub format: String,
    pub record_id: String,
    pub exported_at: String,
    pub snapshots: Vec<ManifestSnapshot>,
    pub chain: ChainProof,
}

/// Export every snapshot of `record` into `out`, pinning them. Returns the manifest.
pub fn export_record(
    store: &mut FootageStore,
    record: &RecordId,
    out: &Path,
    now_ms: i64,
) -> Result<Manifest, ExportError> {
    let rows = store.list(&Filter {
        record_id: Some(record.as_str().to_owned()),
        ..Default::default()
    })?;
    if rows.is_empty() {
        return Err(ExportError::NothingToExport(record.to_string()));
    }
    let ids: Vec<i64> = rows.iter().map(|s| s.id).collect();
    // Pin first: from here on retention cannot remove what we are about to read.
    let (head_seq, head_hash) = store.pin_for_export(record.as_str(), &ids, now_ms)?;
    let first = *ids.iter().min().unwrap_or(&1);
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
            fields: (ids.contains(&e.fields.seq) && e.kind_text == "capture")
                .then(|| serde_json::to_value(&e.fields).unwrap_or_default()),
        })
        .collect();
    let werr = |message: String| ExportError::Write {
        path: out.display().to_string(),
        message,
    };
    let tmp = out.with_extension("zip.part");
    let file = File::create(&tmp).map_err(|e| werr(e.to_string()))?;
    let mut zip = zip::ZipWriter::new(file);
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut snapshots = Vec::new();
    for s in &rows {
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
        zip.start_file(name.as_str(), opts)
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
    };
    zip.start_file(MANIFEST, opts)
        .map_err(|e| werr(e.to_string()))?;
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| werr(e.to_string()))?;
    zip.write_all(&json).map_err(|e| werr(e.to_string()))?;
    let file = zip.finish().map_err(|e| werr(e.to_string()))?;
    file.sync_all().map_err(|e| werr(e.to_string()))?;
    fs::rename(&tmp, out).map_err(|e| werr(e.to_string()))?;
    Ok(manifest)
}

/// Check an export on its own: each JPEG against its hash, each listed capture's fields
/// against its body hash, and the links from the first entry to the head.
pub fn check_export(path: &Path) -> Result<Manifest, ExportError> {
    let invalid = |message: String| ExportError::Invalid {
        path: path.display().to_string(),
        message,
    };
    let file = File::open(path).map_err(|e| invalid(e.to_string()))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| invalid(e.to_string()))?;
    let mut read = |name: &str| -> Result<Vec<u8>, ExportError> {
        let mut f = zip
            .by_name(name)
            .map_err(|e| invalid(format!("{name}: {e}")))?;
        let mut buf = Vec::new();
        f.read_to_end(&mut buf)
            .map_err(|e| invalid(format!("{name}: {e}")))?;
        Ok(buf)
    };
    let manifest: Manifest = serde_json::from_slice(&read(MANIFEST)?)
        .map_err(|e| invalid(format!("{MANIFEST}: {e}")))?;
    if manifest.format != FORMAT || manifest.chain.encoding != ENCODING {
        return Err(invalid("unknown format".into()));
    }
    for s in &manifest.snapshots {
        if chain::sha256_hex(&read(&s.file)?) != s.sha256 {
            return Err(invalid(format!("{} does not match its SHA-256", s.file)));
        }
    }
    let mut prev = manifest.chain.start_prev_hash.clone();
    let mut proven = Vec::new();
    for e in &manifest.chain.entries {
        if let Some(fields) = &e.fields {
            let f = fields_from_json(fields)
                .ok_or_else(|| invalid(format!("entry {}: bad fields", e.seq)))?;
            if f.body_hash() != e.body_hash {
                return Err(invalid(format!(
                    "entry {}: fields do not match its body hash",
                    e.seq
                )));
            }
            proven.push((f.seq, f.sha256));
        }
        if chain::link(&prev, &e.body_hash) != e.hash {
            return Err(invalid(format!("entry {}: broken link", e.seq)));
        }
        prev = e.hash.clone();
    }
    if prev != manifest.chain.head_hash {
        return Err(invalid("the chain does not reach the stated head".into()));
    }
    for s in &manifest.snapshots {
        if !proven.contains(&(s.id, s.sha256.clone())) {
            return Err(invalid(format!(
                "snapshot {} has no proven chain entry",
                s.id
            )));
        }
    }
    Ok(manifest)
}

fn fields_from_json(v: &serde_json::Value) -> Option<EntryFields> {
    let s = |k: &str| v.get(k)?.as_str().map(str::to_owned);
    let i = |k: &str| v.get(k)?.as_i64();
    Some(EntryFields {
        seq: i("seq")?,
        kind: chain::EntryKind::parse(&s("kind")?)?,
        snapshot_id: i("snapshot_id")?,
        sha256: s("sha256")?,
        bytes: i("bytes")?,
        counter: u32::try_from(i("counter")?).ok()?,
        record_id: s("record_id"),
        captured_at_ms: i("captured_at_ms")?,
        recorded_at_ms: i("recorded_at_ms")?,
        reason: s("reason")?,
    })
}
