//! The self-description inside every stored snapshot JPEG: a COM segment right after SOI
//! holding `motcua-snapshot/1` and a JSON object with the chain sequence, counter, record ID,
//! capture time, reason and frame age. The file's SHA-256 (its name, and the chain entry's
//! `sha256`) covers it, so it cannot be edited without the chain noticing.
//!
//! It lets start-up reconcile re-adopt a file whose row was lost (WAL lost on power loss, a
//! backup restored, a row deleted) instead of deleting it. Byte-level only: never decodes
//! pixels. Parsing is fuzzed (`fuzz/`): the file may be anything someone left on the card.

use serde::{Deserialize, Serialize};

use crate::recorder::jpeg;

/// The first line of the comment; the JSON follows it.
pub const TAG: &str = "motcua-snapshot/1\n";
/// Longest comment accepted when reading (a real one is a few hundred bytes).
pub const MAX_LEN: usize = 4096;
/// Most bytes the comment adds to a frame when written (marker, length, tag and JSON with a
/// 200-byte reason and a 64-byte record ID fit well within it): what a capture reserves.
pub const MAX_OVERHEAD: usize = 1024;

/// What a snapshot file says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotMeta {
    /// The chain sequence of the capture entry it was stored under (= its snapshot id).
    pub seq: i64,
    pub counter: u32,
    pub record_id: Option<String>,
    pub captured_at_ms: i64,
    pub reason: String,
    /// How long before the trigger the frame started (negative: after it), when known.
    #[serde(default)]
    pub frame_age_ms: Option<i64>,
    /// A network camera's own clock for the frame (kept beside, never trusted); absent for
    /// USB cameras, so their files read as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub camera_time_ms: Option<i64>,
}

/// Why a file's self-description cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetaError {
    #[error("not a complete JPEG: {0}")]
    Jpeg(#[from] jpeg::JpegError),
    #[error("no motcua-snapshot comment")]
    Missing,
    #[error("more than one motcua-snapshot comment")]
    Duplicate,
    #[error("the motcua-snapshot comment is not valid: {0}")]
    Invalid(String),
}

/// `jpeg` with `m` as a COM segment right after SOI.
pub fn embed(jpeg_bytes: &[u8], m: &SnapshotMeta) -> Vec<u8> {
    let json = serde_json::to_string(m).unwrap_or_default();
    jpeg::with_comment(jpeg_bytes, &format!("{TAG}{json}"))
}

/// The self-description of a stored file: exactly one tagged comment, well-formed, with
/// plausible values. Anything else is an error (the file goes to quarantine).
pub fn extract(jpeg_bytes: &[u8]) -> Result<SnapshotMeta, MetaError> {
    let tagged: Vec<&[u8]> = jpeg::comments(jpeg_bytes)?
        .into_iter()
        .filter(|c| c.starts_with(TAG.as_bytes()))
        .collect();
    let body = match tagged.as_slice() {
        [] => return Err(MetaError::Missing),
        [one] => &one[TAG.len()..],
        _ => return Err(MetaError::Duplicate),
    };
    if body.len() > MAX_LEN {
        return Err(MetaError::Invalid(format!("longer than {MAX_LEN} bytes")));
    }
    let m: SnapshotMeta =
        serde_json::from_slice(body).map_err(|e| MetaError::Invalid(e.to_string()))?;
    if m.seq < 1 {
        return Err(MetaError::Invalid(format!("seq {} is not positive", m.seq)));
    }
    if m.captured_at_ms < 0 {
        return Err(MetaError::Invalid("captured_at_ms is negative".into()));
    }
    if m.reason.is_empty() || m.reason.chars().any(char::is_control) {
        return Err(MetaError::Invalid(
            "reason is empty or has control characters".into(),
        ));
    }
    if let Some(r) = &m.record_id {
        if r.is_empty() || r.len() > 64 || r.chars().any(|c| c.is_control() || c == '/') {
            return Err(MetaError::Invalid(format!(
                "record_id {r:?} is not plausible"
            )));
        }
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> SnapshotMeta {
        SnapshotMeta {
            seq: 7,
            counter: 2,
            record_id: Some("000.00.14.H56-251119-0042".into()),
            captured_at_ms: 1_764_000_000_000,
            reason: "started".into(),
            frame_age_ms: Some(12),
            camera_time_ms: None,
        }
    }

    fn tiny_jpeg() -> Vec<u8> {
        let mut out = Vec::new();
        jpeg_encoder::Encoder::new(&mut out, 80)
            .encode(&[128; 16 * 16 * 3], 16, 16, jpeg_encoder::ColorType::Rgb)
            .unwrap();
        out
    }

    #[test]
    fn round_trips_and_the_image_still_decodes() {
        let j = embed(&tiny_jpeg(), &meta());
        assert_eq!(extract(&j).unwrap(), meta());
        let mut d = jpeg_decoder::Decoder::new(&j[..]);
        assert_eq!(d.decode().unwrap().len(), 16 * 16 * 3);
    }

    #[test]
    fn each_bad_case_is_named() {
        let plain = tiny_jpeg();
        assert_eq!(extract(&plain), Err(MetaError::Missing));
        let twice = embed(&embed(&plain, &meta()), &meta());
        assert_eq!(extract(&twice), Err(MetaError::Duplicate));
        assert!(matches!(extract(b"not a jpeg"), Err(MetaError::Jpeg(_))));
        let garbage = jpeg::with_comment(&plain, &format!("{TAG}{{\"seq\":"));
        assert!(matches!(extract(&garbage), Err(MetaError::Invalid(_))));
        let mut m = meta();
        m.seq = 0;
        assert!(
            matches!(extract(&embed(&plain, &m)), Err(MetaError::Invalid(e)) if e.contains("seq 0"))
        );
        let mut m = meta();
        m.reason = "a\nb".into();
        assert!(matches!(
            extract(&embed(&plain, &m)),
            Err(MetaError::Invalid(_))
        ));
        let mut m = meta();
        m.record_id = Some("../x".into());
        assert!(matches!(
            extract(&embed(&plain, &m)),
            Err(MetaError::Invalid(_))
        ));
        let truncated = &embed(&plain, &meta())[..plain.len()];
        assert!(matches!(extract(truncated), Err(MetaError::Jpeg(_))));
    }
}
