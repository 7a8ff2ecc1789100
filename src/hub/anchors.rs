//! Footage-chain anchoring (docs/hub.md, "Anchoring"): the `footage_head` a heartbeat may
//! carry, checked and its device signature verified, and the receipt the hub signs for it.
//!
//! Pure: the exact signed byte strings of the wire contract, shape checks with messages that
//! name the field, and signing. Where anchors are kept and the append-only rules are in the
//! store.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use serde::{Deserialize, Serialize};

/// A device's signed chain head, as carried in a heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FootageHead {
    pub seq: u64,
    pub hash: String,
    pub at: String,
    pub key: String,
    pub signature: String,
}

/// The hub's signed acknowledgement of an anchored head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub device: String,
    pub key: String,
    pub seq: u64,
    pub hash: String,
    pub at: String,
    pub signature: String,
    pub received_at: String,
    pub hub_seq: u64,
    pub hub_signature: String,
}

/// The bytes a device signs: `motcua-footage-head-v1\n{device}\n{seq}\n{hash}\n{at}`.
pub fn head_message(device: &str, h: &FootageHead) -> String {
    format!(
        "motcua-footage-head-v1\n{device}\n{}\n{}\n{}",
        h.seq, h.hash, h.at
    )
}

/// The bytes the hub signs for a receipt.
pub fn receipt_message(r: &Receipt) -> String {
    format!(
        "motcua-anchor-receipt-v1\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}",
        r.device, r.key, r.seq, r.hash, r.at, r.signature, r.received_at, r.hub_seq
    )
}

/// Fill `hub_signature` with the hub key's signature of the receipt.
pub fn sign_receipt(mut r: Receipt, key: &SigningKey) -> Receipt {
    r.hub_signature = B64.encode(key.sign(receipt_message(&r).as_bytes()).to_bytes());
    r
}

/// Does `r.hub_signature` verify with `key`?
pub fn receipt_verifies(r: &Receipt, key: &VerifyingKey) -> bool {
    B64.decode(&r.hub_signature)
        .ok()
        .and_then(|b| Signature::from_slice(&b).ok())
        .is_some_and(|s| key.verify(receipt_message(r).as_bytes(), &s).is_ok())
}

/// The shape of a heartbeat's `footage_head` as the schema states it (types, `seq` range,
/// `hash` hex, `at` in UTC): a head that breaks it makes the heartbeat invalid (422).
pub fn parse_head(v: &serde_json::Value) -> Result<FootageHead, String> {
    let mut v = v.clone();
    // JSON Schema counts 386.0 as an integer; serde does not.
    if let Some(seq) = v.get_mut("seq") {
        if let Some(f) = seq
            .as_f64()
            .filter(|f| f.fract() == 0.0 && *f >= 1.0 && *f <= 9.2e18)
        {
            if !seq.is_u64() {
                *seq = serde_json::Value::from(f as u64);
            }
        }
    }
    let h: FootageHead = serde_json::from_value(v).map_err(|e| format!("footage_head: {e}"))?;
    if h.seq == 0 || h.seq > i64::MAX as u64 {
        return Err("footage_head: seq must be an integer >= 1".into());
    }
    if h.hash.len() != 64
        || !h
            .hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err("footage_head: hash must be 64 lowercase hex digits".into());
    }
    match chrono::DateTime::parse_from_rfc3339(&h.at) {
        Ok(t) if t.offset().local_minus_utc() == 0 && h.at.ends_with('Z') && h.at.len() <= 40 => {}
        _ => return Err("footage_head: at must be an RFC 3339 UTC time ending in Z".into()),
    }
    Ok(h)
}

/// Check a heartbeat's `footage_head` member and verify its signature for `device`.
/// Errors after [`parse_head`]'s are what the schema cannot state (key and signature lengths,
/// whether it verifies): the hub answers them as `anchor_refused`.
pub fn check_head(device: &str, v: &serde_json::Value) -> Result<FootageHead, String> {
    let h = parse_head(v)?;
    let key = B64
        .decode(&h.key)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .and_then(|b| VerifyingKey::from_bytes(&b).ok())
        .ok_or("footage_head: key must be the base64 of a 32-byte ed25519 public key")?;
    let sig = B64
        .decode(&h.signature)
        .ok()
        .and_then(|b| Signature::from_slice(&b).ok())
        .ok_or("footage_head: signature must be the base64 of a 64-byte ed25519 signature")?;
    key.verify(head_message(device, &h).as_bytes(), &sig)
        .map_err(|_| "footage_head: signature does not verify".to_owned())?;
    Ok(h)
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_integral_float_seq_is_an_integer() {
        let mut v = serde_json::json!({
            "seq": 386.0, "hash": "ab".repeat(32), "at": "2026-12-05T10:00:00Z",
            "key": "k", "signature": "s"
        });
        assert_eq!(super::parse_head(&v).unwrap().seq, 386);
        v["seq"] = serde_json::json!(386.5);
        assert!(super::parse_head(&v).is_err());
    }

    use super::*;

    pub fn signed_head(device: &str, seq: u64, key: &SigningKey) -> FootageHead {
        let mut h = FootageHead {
            seq,
            hash: "ab".repeat(32),
            at: "2026-12-05T10:00:00Z".into(),
            key: B64.encode(key.verifying_key().to_bytes()),
            signature: String::new(),
        };
        h.signature = B64.encode(key.sign(head_message(device, &h).as_bytes()).to_bytes());
        h
    }

    #[test]
    fn a_signed_head_verifies_and_every_bad_field_is_named() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let good = signed_head("kiosk-1", 5, &key);
        let v = serde_json::to_value(&good).unwrap();
        assert_eq!(check_head("kiosk-1", &v).unwrap(), good);
        assert_eq!(
            check_head("kiosk-2", &v).unwrap_err(),
            "footage_head: signature does not verify"
        );
        let with = |field: &str, value: serde_json::Value| {
            let mut v = v.clone();
            v[field] = value;
            check_head("kiosk-1", &v).unwrap_err()
        };
        assert_eq!(
            with("seq", 0.into()),
            "footage_head: seq must be an integer >= 1"
        );
        assert_eq!(
            with("hash", "AB".repeat(32).into()),
            "footage_head: hash must be 64 lowercase hex digits"
        );
        assert_eq!(
            with("at", "2026-12-05T17:00:00+07:00".into()),
            "footage_head: at must be an RFC 3339 UTC time ending in Z"
        );
        assert_eq!(
            with("key", "AAAA".into()),
            "footage_head: key must be the base64 of a 32-byte ed25519 public key"
        );
        assert_eq!(
            with("signature", "!!".into()),
            "footage_head: signature must be the base64 of a 64-byte ed25519 signature"
        );
        assert!(with("extra", 1.into()).starts_with("footage_head: unknown field `extra`"));
    }

    #[test]
    fn receipts_are_signed_over_the_contract_bytes() {
        let hub = SigningKey::from_bytes(&[9; 32]);
        let r = sign_receipt(
            Receipt {
                device: "d".into(),
                key: "k".into(),
                seq: 3,
                hash: "h".into(),
                at: "a".into(),
                signature: "s".into(),
                received_at: "r".into(),
                hub_seq: 42,
                hub_signature: String::new(),
            },
            &hub,
        );
        assert_eq!(
            receipt_message(&r),
            "motcua-anchor-receipt-v1\nd\nk\n3\nh\na\ns\nr\n42"
        );
        assert!(receipt_verifies(&r, &hub.verifying_key()));
        let mut forged = r.clone();
        forged.hub_seq = 43;
        assert!(!receipt_verifies(&forged, &hub.verifying_key()));
    }
}
