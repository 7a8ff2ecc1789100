//! The signed catalog envelope: `{"format", "key_id", "signature", "bundle"}` where `bundle` is
//! the base64 of the exact bundle bytes and `signature` is ed25519 over those bytes.
//!
//! Signing and verifying work on bytes, never on re-serialised JSON. Verification happens
//! before the bundle is parsed at all. This file never touches the network or a store.

use std::borrow::Cow;
use std::io::Write;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::SyncError;

/// The `format` value of a v1 envelope.
pub const ENVELOPE_FORMAT: &str = "motcua-signed-catalog/1";

/// The JSON body of `GET /v1/catalog`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedEnvelope {
    pub format: String,
    /// [`key_id`] of the signing key.
    pub key_id: String,
    /// base64 ed25519 signature over the decoded `bundle` bytes.
    pub signature: String,
    /// base64 of the bundle JSON bytes.
    pub bundle: String,
}

/// A public key pinned in config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedKey {
    pub key: VerifyingKey,
    pub id: String,
}

/// Short identifier of a public key: the first 8 bytes of its SHA-256, in hex.
pub fn key_id(key: &VerifyingKey) -> String {
    Sha256::digest(key.as_bytes())[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl PinnedKey {
    /// Parse a base64 ed25519 public key (32 bytes).
    pub fn parse(text: &str) -> Result<PinnedKey, String> {
        let bytes = B64
            .decode(text.trim())
            .map_err(|e| format!("not base64: {e}"))?;
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "an ed25519 public key is 32 bytes".to_owned())?;
        let key = VerifyingKey::from_bytes(&arr).map_err(|e| e.to_string())?;
        Ok(PinnedKey {
            id: key_id(&key),
            key,
        })
    }

    pub fn to_base64(&self) -> String {
        B64.encode(self.key.as_bytes())
    }
}

/// Sign `bundle` bytes into an envelope.
pub fn seal(bundle: &[u8], key: &SigningKey) -> SignedEnvelope {
    SignedEnvelope {
        format: ENVELOPE_FORMAT.into(),
        key_id: key_id(&key.verifying_key()),
        signature: B64.encode(key.sign(bundle).to_bytes()),
        bundle: B64.encode(bundle),
    }
}

/// [`seal`] straight to JSON in `w`, byte for byte what `serde_json` writes for the sealed
/// envelope, without building the base64 text of a full-size bundle in memory.
pub fn seal_to_writer(bundle: &[u8], key: &SigningKey, w: &mut impl Write) -> std::io::Result<()> {
    // Every field but `bundle` is ASCII without escapes: the format constant, hex, base64.
    write!(
        w,
        "{{\"format\":\"{ENVELOPE_FORMAT}\",\"key_id\":\"{}\",\"signature\":\"{}\",\"bundle\":\"",
        key_id(&key.verifying_key()),
        B64.encode(key.sign(bundle).to_bytes())
    )?;
    let mut enc = base64::write::EncoderWriter::new(&mut *w, &B64);
    enc.write_all(bundle)?;
    enc.finish()?;
    drop(enc);
    w.write_all(b"\"}")
}

/// Check the envelope against the pinned keys and return the exact bundle bytes it carries.
pub fn open(envelope: &SignedEnvelope, keys: &[PinnedKey]) -> Result<Vec<u8>, SyncError> {
    let (key, sig) = check_head(
        &envelope.format,
        &envelope.key_id,
        &envelope.signature,
        keys,
    )?;
    let bundle = B64.decode(&envelope.bundle).map_err(not_base64)?;
    verify(key, &sig, &bundle, &envelope.key_id)?;
    Ok(bundle)
}

/// The envelope as it arrives, borrowing from the body (base64 has no JSON escapes).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvelopeRef<'a> {
    #[serde(borrow)]
    format: Cow<'a, str>,
    #[serde(borrow)]
    key_id: Cow<'a, str>,
    #[serde(borrow)]
    signature: Cow<'a, str>,
    #[serde(borrow)]
    bundle: Cow<'a, str>,
}

/// [`open`] for a received body (the envelope's JSON bytes), without a second copy of the
/// catalog: the base64 `bundle` is decoded in place inside `body`, which becomes the exact
/// signed bundle bytes. Peak memory is the body itself.
pub fn open_body(mut body: Vec<u8>, keys: &[PinnedKey]) -> Result<Vec<u8>, SyncError> {
    let env: EnvelopeRef = serde_json::from_slice(&body).map_err(|e| SyncError::InvalidJson {
        what: "the catalog envelope",
        detail: e.to_string(),
    })?;
    let (key, sig) = check_head(&env.format, &env.key_id, &env.signature, keys)?;
    let key_id = env.key_id.into_owned();
    let bundle = match env.bundle {
        Cow::Borrowed(text) => {
            let start = text.as_ptr() as usize - body.as_ptr() as usize;
            let len = text.len();
            decode_in_place(&mut body, start, len)?;
            body
        }
        Cow::Owned(text) => B64.decode(text).map_err(not_base64)?,
    };
    verify(key, &sig, &bundle, &key_id)?;
    Ok(bundle)
}

/// Format, pinned key and signature syntax: everything that does not need the bundle.
fn check_head<'k>(
    format: &str,
    key_id: &str,
    signature: &str,
    keys: &'k [PinnedKey],
) -> Result<(&'k PinnedKey, Signature), SyncError> {
    if format != ENVELOPE_FORMAT {
        return Err(SyncError::Protocol(format!(
            "catalog envelope format {:?} is not {ENVELOPE_FORMAT:?} (update motcua?)",
            format.chars().take(60).collect::<String>()
        )));
    }
    let short: String = key_id.chars().take(64).collect();
    let Some(key) = keys.iter().find(|k| k.id == key_id) else {
        return Err(SyncError::UnknownKey { key_id: short });
    };
    let bad = || SyncError::BadSignature {
        key_id: short.clone(),
    };
    let sig_bytes = B64.decode(signature).map_err(|_| bad())?;
    let sig = Signature::from_slice(&sig_bytes).map_err(|_| bad())?;
    Ok((key, sig))
}

fn verify(key: &PinnedKey, sig: &Signature, bundle: &[u8], key_id: &str) -> Result<(), SyncError> {
    key.key
        .verify(bundle, sig)
        .map_err(|_| SyncError::BadSignature {
            key_id: key_id.chars().take(64).collect(),
        })
}

fn not_base64(e: impl std::fmt::Display) -> SyncError {
    SyncError::InvalidJson {
        what: "the catalog envelope",
        detail: format!("field bundle is not base64: {e}"),
    }
}

/// Decode the base64 text at `buf[start..start + len]` into `buf[..]` and truncate `buf` to
/// the decoded bytes. The writer never overtakes the reader: each step decodes at most as
/// many characters as there is room behind the read position (4 characters → 3 bytes, so the
/// room grows as it goes). Padding is allowed only at the very end.
fn decode_in_place(buf: &mut Vec<u8>, start: usize, len: usize) -> Result<(), SyncError> {
    const STEP: usize = 64 * 1024;
    let end = start + len;
    let (mut r, mut w) = (start, 0usize);
    while r < end {
        let mut n = ((r - w) / 3 * 4).min(STEP).min(end - r);
        if n < end - r {
            n -= n % 4;
        }
        if n == 0 {
            return Err(not_base64("the envelope is too short to decode"));
        }
        let (head, tail) = buf.split_at_mut(r);
        let got = B64.decode_slice(&tail[..n], &mut head[w..]).map_err(|e| {
            not_base64(format!(
                "{e} (in characters {}..{})",
                r - start,
                r - start + n
            ))
        })?;
        if r + n < end && got != n / 4 * 3 {
            return Err(not_base64(format!(
                "padding inside the text (characters {}..{})",
                r - start,
                r - start + n
            )));
        }
        w += got;
        r += n;
    }
    buf.truncate(w);
    buf.shrink_to_fit();
    Ok(())
}

/// A fresh signing key from the operating system's random source.
pub fn generate_signing_key() -> SigningKey {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).expect("the operating system's random source works");
    SigningKey::from_bytes(&seed)
}

/// Secret key file contents (base64 of the 32-byte seed).
pub fn signing_key_to_text(key: &SigningKey) -> String {
    format!("{}\n", B64.encode(key.to_bytes()))
}

pub fn signing_key_from_text(text: &str) -> Result<SigningKey, String> {
    let bytes = B64
        .decode(text.trim())
        .map_err(|e| format!("not base64: {e}"))?;
    let arr: [u8; 32] = bytes
        .try_into()
        .map_err(|_| "an ed25519 secret key is 32 bytes".to_owned())?;
    Ok(SigningKey::from_bytes(&arr))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> SigningKey {
        SigningKey::from_bytes(&[n; 32])
    }

    fn pinned(k: &SigningKey) -> PinnedKey {
        PinnedKey::parse(&B64.encode(k.verifying_key().as_bytes())).unwrap()
    }

    #[test]
    fn seal_then_open_returns_the_exact_bytes() {
        let k = key(1);
        let bytes = b"{\"schema\": 1,   \"odd\":\"spacing kept\"}";
        let env = seal(bytes, &k);
        assert_eq!(open(&env, &[pinned(&key(2)), pinned(&k)]).unwrap(), bytes);
    }

    #[test]
    fn tampering_and_unknown_keys_are_refused() {
        let k = key(1);
        let mut env = seal(b"{\"version\": 2}", &k);
        env.bundle = B64.encode(b"{\"version\": 9}");
        let err = open(&env, &[pinned(&k)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("the server's catalog signature does not match the pinned key (key id {}); the catalog was not installed", key_id(&k.verifying_key()))
        );
        let env = seal(b"{}", &key(3));
        let err = open(&env, &[pinned(&k)]).unwrap_err();
        assert!(
            matches!(err, SyncError::UnknownKey { ref key_id } if *key_id == super::key_id(&key(3).verifying_key()))
        );
        let mut env = seal(b"{}", &k);
        env.signature = "!!".into();
        assert!(matches!(
            open(&env, &[pinned(&k)]),
            Err(SyncError::BadSignature { .. })
        ));
    }

    #[test]
    fn sealing_to_a_writer_writes_what_serde_writes() {
        let k = key(4);
        for size in [0usize, 1, 2, 3, 4, 5000] {
            let bundle: Vec<u8> = (0..size).map(|i| (i % 256) as u8).collect();
            let mut out = Vec::new();
            seal_to_writer(&bundle, &k, &mut out).unwrap();
            assert_eq!(
                out,
                serde_json::to_vec(&seal(&bundle, &k)).unwrap(),
                "{size}"
            );
        }
    }

    #[test]
    fn open_body_decodes_in_place_whatever_the_layout() {
        let k = key(1);
        for size in [0usize, 1, 2, 3, 100, 70_000, 300_001] {
            let bundle: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
            let env = seal(&bundle, &k);
            let body = serde_json::to_vec(&env).unwrap();
            assert_eq!(open_body(body, &[pinned(&k)]).unwrap(), bundle, "{size}");
            // The bundle first (least room behind it), and with escapes (no borrowing).
            let first = format!(
                "{{\"bundle\":\"{}\",\"format\":\"{}\",\"key_id\":\"{}\",\"signature\":\"{}\"}}",
                env.bundle, env.format, env.key_id, env.signature
            );
            assert_eq!(
                open_body(first.into_bytes(), &[pinned(&k)]).unwrap(),
                bundle
            );
            let escaped = serde_json::to_vec(&env)
                .unwrap()
                .iter()
                .flat_map(|&b| {
                    if b == b'A' {
                        b"\\u0041".to_vec()
                    } else {
                        vec![b]
                    }
                })
                .collect::<Vec<u8>>();
            assert_eq!(open_body(escaped, &[pinned(&k)]).unwrap(), bundle);
        }
        let mut env = seal(&[1u8; 100_000], &k);
        env.bundle.insert_str(8, "QQ==");
        let err = open_body(serde_json::to_vec(&env).unwrap(), &[pinned(&k)]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("the server's answer is not valid JSON for the catalog envelope: field bundle is not base64: "),
            "{err}"
        );
        env.bundle.replace_range(8..12, "");
        env.bundle.replace_range(5..6, "!");
        assert!(open_body(serde_json::to_vec(&env).unwrap(), &[pinned(&k)]).is_err());
        let mut env = seal(b"{}", &k);
        env.bundle = B64.encode(b"{ }");
        assert!(matches!(
            open_body(serde_json::to_vec(&env).unwrap(), &[pinned(&k)]),
            Err(SyncError::BadSignature { .. })
        ));
    }

    #[test]
    fn keys_round_trip_as_text() {
        let k = key(7);
        let back = signing_key_from_text(&signing_key_to_text(&k)).unwrap();
        assert_eq!(back.to_bytes(), k.to_bytes());
        assert_eq!(
            PinnedKey::parse("bm90IGEga2V5").unwrap_err(),
            "an ed25519 public key is 32 bytes"
        );
        assert_eq!(pinned(&k).id.len(), 16);
    }
}
