//! The local socket's wire format (JSON lines) between the kiosk and the daemon.
//!
//! One request per line, one answer per line — except `subscribe`, after whose `"subscribed"`
//! answer the daemon writes one `{"event":…}` line per device event until either side closes.
//! Both sides use these types, so the format is defined once. Lines longer than [`MAX_LINE`]
//! are refused. No I/O here. Documented in `docs/sync.md` ("## The local socket").

use serde::{Deserialize, Serialize};

use crate::appliance::{LinkState, LookupError, Rating, RatingError};
use crate::device::HealthReport;
use crate::record::{RecordId, RecordStatus};
pub use crate::sync::tickets::IssuedTicket;

/// Longest request or answer line, in bytes.
pub const MAX_LINE: usize = 16 * 1024;

/// File name of the socket inside the data directory when `[sync] socket_path` is not set.
pub const SOCKET_NAME: &str = "daemon.sock";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    LookupRecord {
        id: RecordId,
    },
    SubmitRating {
        rating: Rating,
    },
    LinkState,
    /// Counter software (or `motcua snapshot capture`): a snapshot at `counter` now, linked to
    /// `record_id`. `reason` defaults to "manual".
    Capture {
        counter: u32,
        record_id: RecordId,
        #[serde(default)]
        reason: Option<String>,
    },
    /// Turn this connection into a stream of device events (motion, capture buttons).
    Subscribe,
    /// The daemon's latest health report (the kiosk's technician screen).
    Health,
    /// Run the doctor's checks as the daemon (the kiosk's technician screen: its user may not
    /// read footage or open cameras), with the recent log lines and the units' state.
    Doctor,
    /// A queue ticket for `counter` (from the hub, or from a lease while it is unreachable).
    /// `key` is the same for retries of one tap.
    TakeTicket {
        counter: u32,
        #[serde(default)]
        procedure: Option<String>,
        key: String,
    },
    /// The kiosk about itself, every few seconds: `drawn` once its first frame is on the
    /// screen, `idle_secs` since the last touch. Answered `"stored"`. The update task
    /// confirms a new version only after a first frame, and reboots only when idle.
    KioskStatus {
        drawn: bool,
        idle_secs: u64,
    },
}

/// A snapshot the daemon took for a `capture` request (field names as in `snapshots list`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Captured {
    pub id: i64,
    pub sha256: String,
    pub bytes: i64,
    pub counter: u32,
    pub record_id: Option<String>,
    pub captured_at: String,
    pub reason: String,
}

/// A device event pushed to subscribers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Notice {
    /// The PIR saw someone; `quiet_before_ms` is how long it had been idle (none: first edge
    /// since start). Wake the screen; go home only if `device::motion::is_new_visitor`.
    Motion { quiet_before_ms: Option<u64> },
    /// A counter's capture button was pressed (the daemon takes the snapshot itself).
    Button { counter: u32 },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    Offline,
    NotFound,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireError {
    pub kind: ErrorKind,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    Record(RecordStatus),
    Stored,
    Link(LinkState),
    Snapshot(Captured),
    Subscribed,
    Event(Notice),
    Health(Box<HealthReport>),
    Doctor(Box<crate::doctor::view::DoctorView>),
    Ticket(IssuedTicket),
    Error(WireError),
}

impl From<LookupError> for WireError {
    fn from(e: LookupError) -> Self {
        let kind = match e {
            LookupError::Offline => ErrorKind::Offline,
            LookupError::NotFound => ErrorKind::NotFound,
            LookupError::Failed(_) => ErrorKind::Failed,
        };
        WireError {
            kind,
            message: e.to_string(),
        }
    }
}

impl WireError {
    pub fn failed(message: impl Into<String>) -> WireError {
        WireError {
            kind: ErrorKind::Failed,
            message: message.into(),
        }
    }

    pub fn into_lookup(self) -> LookupError {
        match self.kind {
            ErrorKind::Offline => LookupError::Offline,
            ErrorKind::NotFound => LookupError::NotFound,
            ErrorKind::Failed => LookupError::Failed(self.message),
        }
    }

    pub fn into_rating(self) -> RatingError {
        RatingError::Failed(self.message)
    }
}

/// Check a rating from the kiosk before it is stored for upload ([`Rating::check`]).
pub fn check_rating(r: &Rating) -> Result<(), String> {
    r.check()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::appliance::RatingLevel;

    #[test]
    fn requests_are_strict() {
        let r: Request =
            serde_json::from_str(r#"{"op":"lookup_record","id":"000.00.14.h56-200203-0118"}"#)
                .unwrap();
        assert_eq!(
            r,
            Request::LookupRecord {
                id: RecordId::parse("000.00.14.H56-200203-0118").unwrap()
            }
        );
        let e = serde_json::from_str::<Request>(r#"{"op":"lookup_record","id":"../../etc"}"#)
            .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("a record ID may contain only letters, digits, '.' and '-'"),
            "{e}"
        );
        assert!(serde_json::from_str::<Request>(r#"{"op":"format_disk"}"#).is_err());
        let c: Request = serde_json::from_str(
            r#"{"op":"capture","counter":3,"record_id":"000.00.14.H56-251119-0042"}"#,
        )
        .unwrap();
        assert!(matches!(
            c,
            Request::Capture {
                counter: 3,
                reason: None,
                ..
            }
        ));
        let e = serde_json::from_str::<Request>(
            r#"{"op":"capture","counter":3,"record_id":"x'; DROP TABLE snapshot"}"#,
        )
        .unwrap_err();
        assert!(
            e.to_string().starts_with("a record ID may contain only"),
            "{e}"
        );
        let ev = Response::Event(Notice::Motion {
            quiet_before_ms: Some(1500),
        });
        assert_eq!(
            serde_json::to_string(&ev).unwrap(),
            r#"{"event":{"kind":"motion","quiet_before_ms":1500}}"#
        );
        assert_eq!(
            serde_json::to_string(&Response::Subscribed).unwrap(),
            r#""subscribed""#
        );
    }

    #[test]
    fn ratings_are_checked() {
        let mut r = Rating {
            key: "k-1".into(),
            counter: 2,
            official_id: None,
            level: RatingLevel::Satisfied,
            at: "2026-11-23T08:00:00+07:00".into(),
        };
        assert_eq!(check_rating(&r), Ok(()));
        r.key = "a b".into();
        assert_eq!(
            check_rating(&r).unwrap_err(),
            "rating key must be 1-64 letters, digits, '-' or '_'"
        );
        r.key = "k".into();
        r.counter = 1000;
        assert_eq!(
            check_rating(&r).unwrap_err(),
            "rating counter 1000 is out of range 1..=999"
        );
    }
}
