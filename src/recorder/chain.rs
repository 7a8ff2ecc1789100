//! The hash chain over footage entries: the canonical bytes of an entry, its body hash, and the
//! link `hash = SHA-256(prev_hash ‖ body_hash)`.
//!
//! Pure functions only: no database, no files. Changing the encoding changes every hash ever
//! written, so it is versioned (`ENCODING`) and must never be edited in place.

use sha2::{Digest, Sha256};

/// Tag mixed into every body so a hash cannot be confused with another format's.
pub const ENCODING: &str = "motcua-footage-chain/1";

/// `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A snapshot was stored.
    Capture,
    /// A snapshot was deleted by the retention policy (the reason says which rule).
    Delete,
    /// Someone viewed or exported footage in the review UI (the reason holds who, what and
    /// from where as JSON; see `src/review/audit.rs`). Appended, never changed or deleted.
    Audit,
    /// A snapshot whose row was lost (WAL lost on power loss, a backup restored, a row
    /// deleted) was re-adopted from its self-describing file at start-up: fields as in a
    /// capture, the reason says `recovered from seq N: <original reason>`.
    Recover,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Capture => "capture",
            EntryKind::Delete => "delete",
            EntryKind::Audit => "audit",
            EntryKind::Recover => "recover",
        }
    }

    pub fn parse(s: &str) -> Option<EntryKind> {
        match s {
            "capture" => Some(EntryKind::Capture),
            "delete" => Some(EntryKind::Delete),
            "audit" => Some(EntryKind::Audit),
            "recover" => Some(EntryKind::Recover),
            _ => None,
        }
    }
}

/// The fields of one chain entry, as stored in `footage.db`'s `chain` table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EntryFields {
    pub seq: i64,
    #[serde(serialize_with = "ser_kind")]
    pub kind: EntryKind,
    /// The snapshot concerned: for a capture or recover entry its own id (= `seq`), for a
    /// delete the capture's, for an audit entry the snapshot viewed or 0.
    pub snapshot_id: i64,
    pub sha256: String,
    pub bytes: i64,
    pub counter: u32,
    pub record_id: Option<String>,
    pub captured_at_ms: i64,
    pub recorded_at_ms: i64,
    pub reason: String,
}

fn ser_kind<S: serde::Serializer>(k: &EntryKind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(k.as_str())
}

impl EntryFields {
    /// Canonical bytes: the encoding tag then each field length-prefixed, in a fixed order.
    pub fn canonical(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        let mut put = |b: &[u8]| {
            out.extend_from_slice(&(b.len() as u32).to_be_bytes());
            out.extend_from_slice(b);
        };
        put(ENCODING.as_bytes());
        put(self.seq.to_string().as_bytes());
        put(self.kind.as_str().as_bytes());
        put(self.snapshot_id.to_string().as_bytes());
        put(self.sha256.as_bytes());
        put(self.bytes.to_string().as_bytes());
        put(self.counter.to_string().as_bytes());
        match &self.record_id {
            Some(r) => put(format!("r:{r}").as_bytes()),
            None => put(b"-"),
        }
        put(self.captured_at_ms.to_string().as_bytes());
        put(self.recorded_at_ms.to_string().as_bytes());
        put(self.reason.as_bytes());
        out
    }

    /// SHA-256 of the canonical bytes, hex.
    pub fn body_hash(&self) -> String {
        hex(&Sha256::digest(self.canonical()))
    }
}

/// The entry hash: SHA-256 over the previous entry's hash and this entry's body hash (both as
/// hex text). An export can prove an entry is in the chain by listing only the body hashes of
/// the entries between it and the head — no other record's fields leave the device.
pub fn link(prev_hash: &str, body_hash: &str) -> String {
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(body_hash.as_bytes());
    hex(&h.finalize())
}

/// The reason of a `recover` entry for a snapshot first stored as `seq` for `reason`.
pub fn recovered_reason(seq: i64, reason: &str) -> String {
    format!("recovered from seq {seq}: {reason}")
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// SHA-256 of `data`, lower-case hex.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// True for 64 lower-case hex digits (a content name).
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> EntryFields {
        EntryFields {
            seq: 1,
            kind: EntryKind::Capture,
            snapshot_id: 1,
            sha256: sha256_hex(b"x"),
            bytes: 1,
            counter: 3,
            record_id: Some("000.00.14.H56-251119-0042".into()),
            captured_at_ms: 10,
            recorded_at_ms: 11,
            reason: "started".into(),
        }
    }

    #[test]
    fn every_field_changes_the_hash() {
        let base = entry().body_hash();
        let mut e = entry();
        e.counter = 4;
        assert_ne!(e.body_hash(), base);
        let mut e = entry();
        e.record_id = None;
        assert_ne!(e.body_hash(), base);
        let mut e = entry();
        e.kind = EntryKind::Delete;
        assert_ne!(e.body_hash(), base);
        // field boundaries are unambiguous
        let mut a = entry();
        a.reason = "ab".into();
        a.record_id = None;
        let mut b = entry();
        b.reason = "b".into();
        b.record_id = None;
        assert_ne!(a.canonical(), b.canonical());
        assert_eq!(entry().body_hash(), base, "deterministic");
    }

    #[test]
    fn link_is_order_sensitive() {
        assert_ne!(link(GENESIS, "a"), link("a", GENESIS));
        assert_eq!(link(GENESIS, "a").len(), 64);
        assert!(is_sha256_hex(&link(GENESIS, "a")));
        assert!(!is_sha256_hex("../../etc/passwd"));
    }
}
