//! Making a publication, the same for both stores: validate the bundle, add the hub's
//! popularity statistics, version it above the last publication, stamp and sign it, and
//! gzip the signed envelope (stored and served so, see `server.rs`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use ed25519_dalek::SigningKey;
use sha2::{Digest, Sha256};

use super::store::{hex, now_text, HubError};
use crate::catalog::lexicon::MAX_LEXICON_ENTRIES;
use crate::catalog::parse_bundle;
use crate::sync::envelope::seal_to_writer;

/// gzip level of stored envelopes. Level 1 (zlib-rs): the base64 inside the envelope
/// compresses almost as well at 1 as at 6, at a fraction of the time (`docs/benchmarks.md`).
pub const GZIP_LEVEL: u32 = 1;

/// A publication ready to be stored.
pub struct Prepared {
    pub version: u64,
    pub procedures: u64,
    /// The gzip-compressed signed envelope.
    pub stored: Vec<u8>,
    pub etag: String,
    /// Bytes of the envelope as plain JSON.
    pub envelope_len: u64,
}

/// A `Write` that hashes and counts what passes through to `inner`.
struct Tee<W> {
    inner: W,
    sha: Sha256,
    len: u64,
}

impl<W: std::io::Write> std::io::Write for Tee<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.sha.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Validate and sign `bytes`. `last_version` is the newest stored publication's (0 if none);
/// `record_counts` are records received per procedure code, most first (the popularity prior
/// when the publisher gives none, docs/search.md).
pub fn prepare(
    bytes: &[u8],
    key: &SigningKey,
    max_bytes: usize,
    expires_in: Option<chrono::Duration>,
    now: DateTime<Utc>,
    last_version: u64,
    record_counts: &[(String, u64)],
) -> Result<Prepared, HubError> {
    let mut bundle = parse_bundle(bytes, max_bytes)?;
    if bundle
        .lexicon
        .as_ref()
        .is_none_or(|l| l.popularity.is_empty())
    {
        let codes: std::collections::HashSet<&str> =
            bundle.procedures.iter().map(|p| p.code.as_str()).collect();
        let counts: BTreeMap<String, u64> = record_counts
            .iter()
            .filter(|(c, _)| codes.contains(c.as_str()))
            .take(MAX_LEXICON_ENTRIES)
            .cloned()
            .collect();
        if !counts.is_empty() {
            bundle
                .lexicon
                .get_or_insert_with(Default::default)
                .popularity = counts;
        }
    }
    bundle.version = bundle.version.max(last_version + 1);
    bundle.issued_at = now_text(now);
    if let Some(d) = expires_in {
        bundle.expires_at = Some(now_text(now + d));
    }
    if let Some(exp) = &bundle.expires_at {
        if DateTime::parse_from_rfc3339(exp).map_or(true, |t| t <= now) {
            return Err(HubError::Refused(format!(
                "the bundle expires at {exp}, which has passed; every appliance would refuse it (use --expires-in-days)"
            )));
        }
    }
    let (version, procedures) = (bundle.version, bundle.procedures.len() as u64);
    let signed = serde_json::to_vec(&bundle).map_err(|e| HubError::Refused(e.to_string()))?;
    drop(bundle);
    // What the appliance will parse is the canonical form of a bundle that passed
    // validation; cleaning is idempotent (tested in the SQLite store), so it passes again and
    // is not re-parsed here (that was a third of a full-size publish). The size must fit too.
    if signed.len() > max_bytes {
        return Err(HubError::Refused(format!(
            "the signed bundle is {} bytes, over catalog.max_bundle_bytes ({max_bytes}); every appliance with that limit would refuse it",
            signed.len()
        )));
    }
    let tee = Tee {
        inner: flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(GZIP_LEVEL)),
        sha: Sha256::new(),
        len: 0,
    };
    let compress_err =
        |e: std::io::Error| HubError::Refused(format!("compressing the envelope: {e}"));
    let mut out = std::io::BufWriter::with_capacity(256 * 1024, tee);
    seal_to_writer(&signed, key, &mut out).map_err(compress_err)?;
    drop(signed);
    let tee = out.into_inner().map_err(|e| compress_err(e.into_error()))?;
    let stored = tee.inner.finish().map_err(compress_err)?;
    let etag = format!("\"v{version}-{}\"", &hex(&tee.sha.finalize())[..16]);
    Ok(Prepared {
        version,
        procedures,
        stored,
        etag,
        envelope_len: tee.len,
    })
}
