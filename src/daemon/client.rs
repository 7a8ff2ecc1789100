//! `DaemonClient`: the kiosk's implementation of `ApplianceServices` on a device — it talks to
//! the daemon's local socket (blocking std I/O with timeouts; the kiosk calls it off the UI
//! thread). It never opens a store and never talks to the network beyond the socket.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

use super::protocol::{Request, Response, WireError, MAX_LINE};
use crate::appliance::{ApplianceServices, LinkState, LookupError, Rating, RatingError};
use crate::device::HealthReport;
use crate::record::{RecordId, RecordStatus};

/// How long one call may take (a record lookup waits for the server).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, Clone)]
pub struct DaemonClient {
    path: PathBuf,
    timeout: Duration,
}

impl DaemonClient {
    pub fn new(path: impl Into<PathBuf>) -> DaemonClient {
        DaemonClient {
            path: path.into(),
            timeout: CALL_TIMEOUT,
        }
    }

    /// A client if a daemon accepts connections at `path` now (the socket file alone may be
    /// stale after a crash).
    pub fn if_running(path: &std::path::Path) -> Option<DaemonClient> {
        UnixStream::connect(path)
            .ok()
            .map(|_| DaemonClient::new(path))
    }

    /// One request, one answer, on a fresh connection (calls are rare; no pooling).
    pub fn call(&self, req: &Request) -> Result<Response, WireError> {
        let unavailable = |e: std::io::Error| {
            WireError::failed(format!("the motcua daemon is not answering ({e})"))
        };
        let mut stream = UnixStream::connect(&self.path).map_err(unavailable)?;
        stream
            .set_read_timeout(Some(self.timeout))
            .map_err(unavailable)?;
        stream
            .set_write_timeout(Some(self.timeout))
            .map_err(unavailable)?;
        let mut line = serde_json::to_string(req).map_err(|e| WireError::failed(e.to_string()))?;
        line.push('\n');
        stream.write_all(line.as_bytes()).map_err(unavailable)?;
        let mut answer = String::new();
        BufReader::new(stream)
            .take(MAX_LINE as u64 + 1)
            .read_line(&mut answer)
            .map_err(unavailable)?;
        serde_json::from_str(&answer)
            .map_err(|e| WireError::failed(format!("the daemon's answer is unreadable: {e}")))
    }
}

impl ApplianceServices for DaemonClient {
    fn lookup_record(&self, id: &RecordId) -> Result<RecordStatus, LookupError> {
        match self.call(&Request::LookupRecord { id: id.clone() }) {
            Ok(Response::Record(s)) => Ok(s),
            Ok(Response::Error(e)) | Err(e) => Err(e.into_lookup()),
            Ok(other) => Err(LookupError::Failed(format!("unexpected answer {other:?}"))),
        }
    }

    fn submit_rating(&self, rating: Rating) -> Result<(), RatingError> {
        match self.call(&Request::SubmitRating { rating }) {
            Ok(Response::Stored) => Ok(()),
            Ok(Response::Error(e)) | Err(e) => Err(e.into_rating()),
            Ok(other) => Err(RatingError::Failed(format!("unexpected answer {other:?}"))),
        }
    }

    fn link_state(&self) -> LinkState {
        match self.call(&Request::LinkState) {
            Ok(Response::Link(s)) => s,
            _ => LinkState::Offline { since: None },
        }
    }

    fn health(&self) -> Result<HealthReport, String> {
        match self.call(&Request::Health) {
            Ok(Response::Health(r)) => Ok(*r),
            Ok(Response::Error(e)) | Err(e) => Err(e.message),
            Ok(other) => Err(format!("unexpected answer {other:?}")),
        }
    }

    fn doctor(&self) -> Result<crate::doctor::view::DoctorView, String> {
        match self.call(&Request::Doctor) {
            Ok(Response::Doctor(v)) => Ok(*v),
            Ok(Response::Error(e)) | Err(e) => Err(e.message),
            Ok(other) => Err(format!("unexpected answer {other:?}")),
        }
    }

    fn take_ticket(
        &self,
        counter: u32,
        procedure: Option<&str>,
        key: &str,
    ) -> Result<crate::appliance::IssuedTicket, String> {
        let req = Request::TakeTicket {
            counter,
            procedure: procedure.map(str::to_owned),
            key: key.to_owned(),
        };
        match self.call(&req) {
            Ok(Response::Ticket(t)) => Ok(t),
            Ok(Response::Error(e)) | Err(e) => Err(e.message),
            Ok(other) => Err(format!("unexpected answer {other:?}")),
        }
    }

    fn report_kiosk(&self, drawn: bool, idle_secs: u64) -> Result<(), String> {
        match self.call(&Request::KioskStatus { drawn, idle_secs }) {
            Ok(Response::Stored) => Ok(()),
            Ok(Response::Error(e)) | Err(e) => Err(e.message),
            Ok(other) => Err(format!("unexpected answer {other:?}")),
        }
    }
}
