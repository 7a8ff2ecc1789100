//! `SyncError`: every way a sync step can fail, in plain words, and whether retrying soon can
//! help (`is_permanent`). HTTP status codes are mapped to errors here and nowhere else.
//!
//! Messages are shown to technicians by `motcua sync status`; each says what happened and,
//! where there is one, what to do. This file never performs I/O.

use std::time::Duration;

use crate::catalog::BundleError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("sync is not configured: {0}")]
    NotConfigured(String),
    #[error("cannot reach the central server at {url} ({detail}); check the network link")]
    Unreachable { url: String, detail: String },
    #[error("the central server did not finish answering within {} s while {what}; the link may be slow", .after.as_secs_f32())]
    Timeout { what: String, after: Duration },
    #[error("the central server had an internal error (HTTP {status}); it will be retried")]
    Server { status: u16 },
    #[error("the central server refused this device's token (HTTP {status}); issue a new one with `motcua hub device add` and put it in [sync] token_file")]
    Unauthorized { status: u16 },
    #[error("the central server rejected the request (HTTP {status}): {message}")]
    Rejected { status: u16, message: String },
    #[error("the download was cut off after {got} bytes ({detail}); it will be retried")]
    Truncated { got: u64, detail: String },
    #[error("the server's answer is larger than the limit of {limit} bytes (stopped after reading {read} bytes); raise catalog.max_bundle_bytes only if the catalog really is that big")]
    TooLarge { limit: u64, read: u64 },
    /// `compressed`: bytes received when inflating stopped (depends on network chunking, so
    /// it is not part of the message).
    #[error("the server's gzip answer inflates past the limit of {limit} bytes; inflating stopped there and nothing was installed; raise catalog.max_bundle_bytes only if the catalog really is that big")]
    InflatesTooLarge { limit: u64, compressed: u64 },
    #[error("the server's {coding} answer is damaged ({detail}); the catalog was not installed")]
    Damaged {
        coding: &'static str,
        detail: String,
    },
    #[error("the server answered with content type {found:?} instead of {expected}; is server_url pointing at a motcua hub?")]
    WrongContentType {
        found: String,
        expected: &'static str,
    },
    #[error("the server's answer is not valid JSON for {what}: {detail}")]
    InvalidJson { what: &'static str, detail: String },
    #[error("the server's catalog signature does not match the pinned key (key id {key_id}); the catalog was not installed")]
    BadSignature { key_id: String },
    #[error("the server's catalog is signed with key id {key_id}, which is not among the keys pinned in [sync] public_keys; the catalog was not installed")]
    UnknownKey { key_id: String },
    #[error("the server's catalog is invalid and was not installed: {0}")]
    Bundle(#[from] BundleError),
    #[error("the server offered catalog version {offered}, older than the installed version {installed}; refusing the rollback")]
    Rollback { installed: u64, offered: u64 },
    #[error("the server's catalog version {version} already expired at {expires_at}; keeping the installed catalog (the server must publish a fresh one)")]
    Expired { version: u64, expires_at: String },
    #[error("the server's catalog was issued at {issued_at}, {ahead_minutes} minutes ahead of this device's clock; check the device's time (NTP); keeping the installed catalog")]
    ClockSkew {
        issued_at: String,
        ahead_minutes: i64,
    },
    #[error("the server sent something this device cannot use: {0}")]
    Protocol(String),
    #[error("local storage failed: {0}")]
    Store(#[from] StoreError),
}

impl SyncError {
    /// True when retrying soon cannot help (a person must change the server or the config).
    /// Permanent errors are retried at the normal poll interval, transient ones with backoff.
    pub fn is_permanent(&self) -> bool {
        match self {
            SyncError::Unreachable { .. }
            | SyncError::Timeout { .. }
            | SyncError::Server { .. }
            | SyncError::Truncated { .. }
            | SyncError::ClockSkew { .. }
            | SyncError::Store(_) => false,
            SyncError::NotConfigured(_)
            | SyncError::Unauthorized { .. }
            | SyncError::Rejected { .. }
            | SyncError::TooLarge { .. }
            | SyncError::InflatesTooLarge { .. }
            | SyncError::Damaged { .. }
            | SyncError::WrongContentType { .. }
            | SyncError::InvalidJson { .. }
            | SyncError::BadSignature { .. }
            | SyncError::UnknownKey { .. }
            | SyncError::Bundle(_)
            | SyncError::Rollback { .. }
            | SyncError::Expired { .. }
            | SyncError::Protocol(_) => true,
        }
    }

    /// True when the server could not be talked to at all (the link is down).
    pub fn is_offline(&self) -> bool {
        matches!(
            self,
            SyncError::Unreachable { .. } | SyncError::Timeout { .. }
        )
    }
}

/// What a response's status code means. The one place status codes are interpreted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusClass {
    /// 200–299.
    Ok,
    /// 304: the catalog did not change.
    NotModified,
    /// 404: for record lookups, "no such record".
    NotFound,
}

/// Map a status code to a class or an error. `message` is the (bounded) body, for 4xx.
pub fn classify_status(status: u16, message: &str) -> Result<StatusClass, SyncError> {
    match status {
        200..=299 => Ok(StatusClass::Ok),
        304 => Ok(StatusClass::NotModified),
        404 => Ok(StatusClass::NotFound),
        401 | 403 => Err(SyncError::Unauthorized { status }),
        408 | 429 | 500..=599 => Err(SyncError::Server { status }),
        _ => Err(SyncError::Rejected {
            status,
            message: message.chars().take(200).collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_in_one_place() {
        assert_eq!(classify_status(200, "").unwrap(), StatusClass::Ok);
        assert_eq!(classify_status(304, "").unwrap(), StatusClass::NotModified);
        assert_eq!(classify_status(404, "").unwrap(), StatusClass::NotFound);
        let e = classify_status(401, "").unwrap_err();
        assert!(e.is_permanent());
        assert_eq!(e.to_string(), "the central server refused this device's token (HTTP 401); issue a new one with `motcua hub device add` and put it in [sync] token_file");
        let e = classify_status(503, "").unwrap_err();
        assert!(!e.is_permanent());
        assert_eq!(
            e.to_string(),
            "the central server had an internal error (HTTP 503); it will be retried"
        );
        let e = classify_status(422, &"x".repeat(1000)).unwrap_err();
        assert!(e.is_permanent());
        assert!(
            matches!(e, SyncError::Rejected { status: 422, ref message } if message.len() == 200)
        );
    }

    #[test]
    fn plain_words_for_signature_problems() {
        let e = SyncError::UnknownKey {
            key_id: "ab12cd34".into(),
        };
        assert_eq!(e.to_string(), "the server's catalog is signed with key id ab12cd34, which is not among the keys pinned in [sync] public_keys; the catalog was not installed");
        assert!(e.is_permanent());
    }
}
