//! What the kiosk asks of the rest of the appliance: record-status lookups, satisfaction
//! ratings for upload, the state of the link to the central server, and the health report.
//!
//! The kiosk runs as its own user and cannot write the stores; on a device these calls go to
//! the daemon over its local socket. In `motcua demo` and in tests an in-process
//! implementation answers. Calls may block (network): the kiosk makes them off the UI thread.

use serde::{Deserialize, Serialize};

use crate::record::{RecordId, RecordStatus};

/// The 3-level satisfaction scale of the public service evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RatingLevel {
    /// Rất hài lòng.
    VerySatisfied,
    /// Hài lòng.
    Satisfied,
    /// Không hài lòng.
    Unsatisfied,
}

/// A citizen's rating of a counter (and its official, when known).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rating {
    /// Idempotency key: the same rating uploaded twice counts once.
    pub key: String,
    pub counter: u32,
    #[serde(default)]
    pub official_id: Option<String>,
    pub level: RatingLevel,
    /// RFC 3339.
    pub at: String,
}

impl Rating {
    /// The checks every holder of a rating makes (the daemon before storing it for upload,
    /// the hub before accepting it): key, counter, official and time. Messages are ASCII:
    /// the hub sends them in its `X-Motcua-Error` header.
    pub fn check(&self) -> Result<(), String> {
        if self.key.is_empty()
            || self.key.len() > 64
            || !self
                .key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err("rating key must be 1-64 letters, digits, '-' or '_'".into());
        }
        if self.counter == 0 || self.counter > 999 {
            return Err(format!(
                "rating counter {} is out of range 1..=999",
                self.counter
            ));
        }
        if let Some(o) = &self.official_id {
            if o.is_empty() || o.chars().count() > 64 {
                return Err("rating official_id must be 1-64 characters".into());
            }
        }
        if self.at.len() > 64 || chrono::DateTime::parse_from_rfc3339(&self.at).is_err() {
            return Err(format!("rating time {:?} is not RFC 3339", self.at));
        }
        Ok(())
    }
}

/// Why a record lookup gave no status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    /// No connection to the central server: the lookup needs it.
    #[error("the record lookup needs the connection to the central server, which is down")]
    Offline,
    #[error("no record with this ID is known")]
    NotFound,
    #[error("the lookup failed: {0}")]
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RatingError {
    #[error("the rating could not be stored: {0}")]
    Failed(String),
}

/// Link to the central server, as the status line shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum LinkState {
    /// Synced recently.
    Online,
    /// Last attempts failed; the catalog shown may be outdated.
    Offline { since: Option<String> },
    /// Running without a server (demo without a hub, or not configured).
    NotConfigured,
}

/// A ticket as the kiosk shows and prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedTicket {
    /// The board label ("1015").
    pub ticket: String,
    pub counter: u32,
    /// People ahead at this counter when it was issued (offline: the board's last count).
    pub ahead: u32,
    /// The public follow page; none when issued offline.
    pub follow_url: Option<String>,
    /// Issued from a lease while the hub could not be reached.
    pub offline: bool,
    /// RFC 3339.
    pub issued_at: String,
}

/// The appliance's services as the kiosk uses them.
pub trait ApplianceServices: Send + Sync + 'static {
    fn lookup_record(&self, id: &RecordId) -> Result<RecordStatus, LookupError>;
    /// Keep a rating for upload (outbox); returns once it is stored durably.
    fn submit_rating(&self, rating: Rating) -> Result<(), RatingError>;
    fn link_state(&self) -> LinkState;
    /// The appliance's health (disk, cameras, power, sync…) for the technician screen; an
    /// error says why there is none (e.g. the daemon is not running).
    fn health(&self) -> Result<crate::device::HealthReport, String>;
    /// The doctor's checks with the daemon's recent log lines and the units' state (the
    /// technician screen's doctor view); an error says why there are none.
    fn doctor(&self) -> Result<crate::doctor::view::DoctorView, String>;
    /// A queue ticket for `counter` (the hub's, or a leased number through a network cut);
    /// `key` is the same for retries of one tap. The error is a sentence for the log; the
    /// kiosk shows its own words.
    fn take_ticket(
        &self,
        counter: u32,
        procedure: Option<&str>,
        key: &str,
    ) -> Result<IssuedTicket, String> {
        let _ = (counter, procedure, key);
        Err("this kiosk has no ticket service".into())
    }
    /// Tell the appliance the kiosk has drawn (`drawn`) and how long it has been untouched:
    /// the update task confirms a new version and picks a quiet moment from it. Nothing to
    /// do without a daemon.
    fn report_kiosk(&self, drawn: bool, idle_secs: u64) -> Result<(), String> {
        let _ = (drawn, idle_secs);
        Ok(())
    }
}
