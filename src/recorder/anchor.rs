//! Anchoring the footage chain outside the device (docs/storage.md, "Anchored heads"; the
//! wire contract with the hub is `footage_head` in heartbeats and the hub's `receipt`): the
//! exact texts that are signed, signing a head with the device key, and checking a head or a
//! receipt. Pure: no database, no network (storing receipts is `footage/anchor_store.rs`,
//! sending heads is the sync uploader's).
//!
//! Device signs `motcua-footage-head-v1\n{device}\n{seq}\n{hash}\n{at}`; the hub signs
//! `motcua-anchor-receipt-v1\n{device}\n{key}\n{seq}\n{hash}\n{at}\n{signature}\n{received_at}\n{hub_seq}`.

use std::path::Path;
use std::sync::Mutex;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ed25519_dalek::pkcs8::DecodePrivateKey;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};

use super::chain::is_sha256_hex;

/// A chain head signed by the device: the `footage_head` member of a heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FootageHead {
    pub seq: i64,
    pub hash: String,
    /// RFC 3339 UTC, exactly as signed.
    pub at: String,
    /// base64 of the device's 32-byte ed25519 public key.
    pub key: String,
    /// base64 of the 64-byte signature over [`head_message`].
    pub signature: String,
}

/// The hub's receipt for an anchored head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub device: String,
    pub key: String,
    pub seq: i64,
    pub hash: String,
    pub at: String,
    pub signature: String,
    pub received_at: String,
    pub hub_seq: i64,
    pub hub_signature: String,
}

/// The hand-over between the recorder, which signs heads and stores receipts, and the sync
/// uploader, which sends the latest signed head in heartbeats and brings the hub's receipts
/// back. Holds no more than the latest head and the receipts not yet stored.
#[derive(Debug, Default)]
pub struct AnchorMailbox {
    head: Mutex<Option<FootageHead>>,
    receipts: Mutex<Vec<Receipt>>,
}

impl AnchorMailbox {
    /// The head the next heartbeat carries.
    pub fn publish(&self, head: FootageHead) {
        *self.head.lock().unwrap_or_else(|p| p.into_inner()) = Some(head);
    }

    pub fn head(&self) -> Option<FootageHead> {
        self.head.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// A receipt the hub returned (not yet verified: the recorder verifies before storing).
    pub fn deliver(&self, r: Receipt) {
        let mut q = self.receipts.lock().unwrap_or_else(|p| p.into_inner());
        if q.len() < 1000 && !q.contains(&r) {
            q.push(r);
        }
    }

    pub fn take_receipts(&self) -> Vec<Receipt> {
        std::mem::take(&mut *self.receipts.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// The bytes the device signs for a head.
pub fn head_message(device: &str, seq: i64, hash: &str, at: &str) -> String {
    format!("motcua-footage-head-v1\n{device}\n{seq}\n{hash}\n{at}")
}

/// The bytes the hub signs for a receipt.
pub fn receipt_message(r: &Receipt) -> String {
    format!(
        "motcua-anchor-receipt-v1\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}",
        r.device, r.key, r.seq, r.hash, r.at, r.signature, r.received_at, r.hub_seq
    )
}

/// Sign the head `(seq, hash)` at time `at` (RFC 3339 UTC) as `device`.
pub fn sign_head(key: &SigningKey, device: &str, seq: i64, hash: &str, at: &str) -> FootageHead {
    let sig = key.sign(head_message(device, seq, hash, at).as_bytes());
    FootageHead {
        seq,
        hash: hash.to_owned(),
        at: at.to_owned(),
        key: B64.encode(key.verifying_key().as_bytes()),
        signature: B64.encode(sig.to_bytes()),
    }
}

/// A base64 ed25519 public key.
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, String> {
    let bytes = B64
        .decode(text.trim())
        .map_err(|_| "the key is not base64".to_owned())?;
    let arr: [u8; 32] = bytes
        .try_into()
        .map_err(|_| "an ed25519 public key is 32 bytes".to_owned())?;
    VerifyingKey::from_bytes(&arr).map_err(|_| "not a valid ed25519 public key".to_owned())
}

fn parse_signature(text: &str) -> Result<Signature, String> {
    let bytes = B64
        .decode(text.trim())
        .map_err(|_| "the signature is not base64".to_owned())?;
    let arr: [u8; 64] = bytes
        .try_into()
        .map_err(|_| "an ed25519 signature is 64 bytes".to_owned())?;
    Ok(Signature::from_bytes(&arr))
}

/// Check a head's shape and its signature with its own key.
pub fn verify_head(device: &str, h: &FootageHead) -> Result<(), String> {
    if h.seq < 1 || !is_sha256_hex(&h.hash) {
        return Err("footage_head: seq must be >= 1 and hash 64 lower-case hex digits".into());
    }
    let key = parse_public_key(&h.key).map_err(|e| format!("footage_head.key: {e}"))?;
    let sig = parse_signature(&h.signature).map_err(|e| format!("footage_head.signature: {e}"))?;
    key.verify(head_message(device, h.seq, &h.hash, &h.at).as_bytes(), &sig)
        .map_err(|_| "footage_head: signature does not verify".to_owned())
}

/// Check a receipt: the device's signature inside it, and the hub's signature with one of
/// `hub_keys`. Returns the index of the hub key that verified it.
pub fn verify_receipt(r: &Receipt, hub_keys: &[VerifyingKey]) -> Result<usize, String> {
    verify_head(
        &r.device,
        &FootageHead {
            seq: r.seq,
            hash: r.hash.clone(),
            at: r.at.clone(),
            key: r.key.clone(),
            signature: r.signature.clone(),
        },
    )
    .map_err(|e| format!("receipt: {e}"))?;
    let sig =
        parse_signature(&r.hub_signature).map_err(|e| format!("receipt.hub_signature: {e}"))?;
    let msg = receipt_message(r);
    hub_keys
        .iter()
        .position(|k| k.verify(msg.as_bytes(), &sig).is_ok())
        .ok_or_else(|| "receipt: the hub signature does not verify with a pinned hub key".into())
}

/// The device key from its PKCS#8 PEM file (as provisioning writes it). `Ok(None)` if the
/// file does not exist (a device not provisioned: exports are unsigned and say so).
pub fn load_device_key(path: &Path) -> Result<Option<SigningKey>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(format!(
                "cannot read the device key {}: {e}",
                path.display()
            ))
        }
    };
    let body: String = text
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN PRIVATE KEY-----"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    let der = B64.decode(body.trim()).map_err(|_| {
        format!(
            "the device key {} is not a PKCS#8 PEM private key",
            path.display()
        )
    })?;
    SigningKey::from_pkcs8_der(&der).map(Some).map_err(|e| {
        format!(
            "the device key {} is not an ed25519 key: {e}",
            path.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "ab00000000000000000000000000000000000000000000000000000000000000";

    fn receipt(dev: &SigningKey, hub: &SigningKey) -> Receipt {
        let h = sign_head(dev, "quay-1", 5, HASH, "2026-12-05T10:00:00Z");
        let mut r = Receipt {
            device: "quay-1".into(),
            key: h.key,
            seq: 5,
            hash: HASH.into(),
            at: h.at,
            signature: h.signature,
            received_at: "2026-12-05T10:00:01Z".into(),
            hub_seq: 42,
            hub_signature: String::new(),
        };
        r.hub_signature = B64.encode(hub.sign(receipt_message(&r).as_bytes()).to_bytes());
        r
    }

    #[test]
    fn heads_and_receipts_verify_and_each_bad_case_is_named() {
        let dev = SigningKey::from_bytes(&[1; 32]);
        let hub = SigningKey::from_bytes(&[2; 32]);
        let h = sign_head(&dev, "quay-1", 5, HASH, "2026-12-05T10:00:00Z");
        assert_eq!(verify_head("quay-1", &h), Ok(()));
        assert_eq!(
            verify_head("quay-2", &h),
            Err("footage_head: signature does not verify".into())
        );
        let mut bad = h.clone();
        bad.hash = "xyz".into();
        assert!(verify_head("quay-1", &bad)
            .unwrap_err()
            .contains("64 lower-case hex"));
        let r = receipt(&dev, &hub);
        assert_eq!(
            verify_receipt(&r, &[dev.verifying_key(), hub.verifying_key()]),
            Ok(1)
        );
        assert_eq!(
            verify_receipt(&r, &[dev.verifying_key()]),
            Err("receipt: the hub signature does not verify with a pinned hub key".into())
        );
        let mut moved = r.clone();
        moved.hub_seq = 43;
        assert!(verify_receipt(&moved, &[hub.verifying_key()]).is_err());
        let mut forged = r;
        forged.hash = HASH.replace("ab", "cd");
        assert_eq!(
            verify_receipt(&forged, &[hub.verifying_key()]),
            Err("receipt: footage_head: signature does not verify".into())
        );
    }

    #[test]
    fn the_provisioned_device_key_loads() {
        let t = tempfile::tempdir().unwrap();
        let (pem, public) = crate::provision::keys::device_key(None).unwrap();
        let p = t.path().join("device.key");
        std::fs::write(&p, pem).unwrap();
        let k = load_device_key(&p).unwrap().unwrap();
        assert_eq!(B64.encode(k.verifying_key().as_bytes()), public);
        assert!(load_device_key(&t.path().join("absent")).unwrap().is_none());
        std::fs::write(
            &p,
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        )
        .unwrap();
        assert!(load_device_key(&p)
            .unwrap_err()
            .contains("is not an ed25519 key"));
    }
}
