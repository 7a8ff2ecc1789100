//! Checking a case export on its own (`motcua snapshots check-export`): each JPEG against its
//! hash, each listed capture's fields against its body hash, the links from the first entry
//! to the head, and — in a signed export — the device's signature over the manifest, the
//! signed head (= the proven head) and the hub's receipt (device signature inside it; its hub
//! signature is checked against pinned hub keys by whoever has them: `docs/verify-export.py
//! --hub-key`). The same rules as the Python verifier.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ed25519_dalek::{Signature, Verifier};

use super::anchor;
use super::chain::{self, EntryFields, ENCODING};
use super::export::{ExportError, Manifest, FORMAT, FORMAT_V1, MANIFEST, SIGNATURE};

/// Check an export on its own: each JPEG against its hash, each listed capture's fields
/// against its body hash, the links from the first entry to the head, and in a signed export
/// the device's signatures and the anchor receipt (all but its hub signature, see
/// [`check_anchor_hub`]). An unsigned export passes with `device: None`: say so to the reader.
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
    let manifest_bytes = read(MANIFEST)?;
    let manifest: Manifest =
        serde_json::from_slice(&manifest_bytes).map_err(|e| invalid(format!("{MANIFEST}: {e}")))?;
    if !(manifest.format == FORMAT || manifest.format == FORMAT_V1)
        || manifest.chain.encoding != ENCODING
    {
        return Err(invalid("unknown format".into()));
    }
    let signature = read(SIGNATURE).ok();
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
            if f.seq != e.seq
                || f.record_id.as_deref() != Some(manifest.record_id.as_str())
                || !matches!(
                    f.kind,
                    chain::EntryKind::Capture | chain::EntryKind::Recover
                )
            {
                return Err(invalid(format!(
                    "entry {}: not a capture of record {}",
                    e.seq, manifest.record_id
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
    check_signatures(&manifest, &manifest_bytes, signature.as_deref()).map_err(invalid)?;
    Ok(manifest)
}

/// The device's signature over the manifest bytes, the signed head, and the receipt's device
/// part and place in the proof.
fn check_signatures(m: &Manifest, bytes: &[u8], sig: Option<&[u8]>) -> Result<(), String> {
    let Some(dev) = &m.device else {
        if sig.is_some() || m.signed_head.is_some() || m.anchor.is_some() {
            return Err("a signature or anchor without the signing device".into());
        }
        return Ok(());
    };
    let key = anchor::parse_public_key(&dev.key).map_err(|e| format!("device.key: {e}"))?;
    let sig = sig.ok_or(format!("the export names a device but has no {SIGNATURE}"))?;
    let sig = B64
        .decode(String::from_utf8_lossy(sig).trim())
        .ok()
        .and_then(|b| <[u8; 64]>::try_from(b).ok())
        .ok_or(format!("{SIGNATURE} is not a base64 ed25519 signature"))?;
    key.verify(bytes, &Signature::from_bytes(&sig))
        .map_err(|_| {
            format!("{SIGNATURE}: the device signature over {MANIFEST} does not verify")
        })?;
    let head = m.signed_head.as_ref().ok_or("no signed_head")?;
    if head.key != dev.key || head.seq != m.chain.head_seq || head.hash != m.chain.head_hash {
        return Err("signed_head is not the proven chain head by this device".into());
    }
    anchor::verify_head(&dev.name, head).map_err(|e| format!("signed_head: {e}"))?;
    if let Some(r) = &m.anchor {
        if r.key != dev.key || r.device != dev.name {
            return Err("anchor: the receipt is for another device".into());
        }
        anchor::verify_head(
            &r.device,
            &anchor::FootageHead {
                seq: r.seq,
                hash: r.hash.clone(),
                at: r.at.clone(),
                key: r.key.clone(),
                signature: r.signature.clone(),
            },
        )
        .map_err(|e| format!("anchor: {e}"))?;
        let at = m.chain.entries.iter().find(|e| e.seq == r.seq);
        if at.map(|e| e.hash.as_str()) != Some(r.hash.as_str()) {
            return Err(format!(
                "anchor: the proven chain does not pass through the anchored head (entry {})",
                r.seq
            ));
        }
    }
    Ok(())
}

/// Whether the export's anchor receipt carries a valid signature by one of `hub_keys`
/// (`Ok(None)`: the export has no anchor).
pub fn check_anchor_hub(
    m: &Manifest,
    hub_keys: &[ed25519_dalek::VerifyingKey],
) -> Result<Option<i64>, String> {
    match &m.anchor {
        None => Ok(None),
        Some(r) => anchor::verify_receipt(r, hub_keys).map(|_| Some(r.seq)),
    }
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
