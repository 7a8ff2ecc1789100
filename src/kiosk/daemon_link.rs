//! The kiosk's link to `motcua daemon` on a device: the services object (a
//! [`DaemonClient`] on the daemon's local socket) and the link-state poller, which asks the
//! daemon on its own thread and leaves the answer for the UI thread's 1 s tick to take.
//!
//! Nothing here runs on the UI thread except [`LinkSlot::take`], which only locks a mutex.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use crate::appliance::{ApplianceServices, LinkState};
use crate::config::Config;
use crate::daemon::client::DaemonClient;

/// How often the link state is asked for.
pub const LINK_POLL: Duration = Duration::from_secs(5);

/// The daemon's socket as the kiosk finds it: `[sync] socket_path`, else
/// `<data dir>/daemon.sock` (the same rule as the daemon's).
pub fn daemon_socket(config: &Config, data_dir: &Path) -> PathBuf {
    crate::daemon::socket_path(config, data_dir)
}

/// The services of `motcua kiosk` on a device: every call goes to the daemon. When the daemon
/// is not running, lookups and ratings fail with "the motcua daemon is not answering" and the
/// link reads as offline, so the kiosk keeps working and says so.
pub fn device_services(config: &Config, data_dir: &Path) -> Arc<dyn ApplianceServices> {
    Arc::new(DaemonClient::new(daemon_socket(config, data_dir)))
}

/// The newest link state from the poller, not yet shown.
#[derive(Clone, Default)]
pub struct LinkSlot(Arc<Mutex<Option<LinkState>>>);

impl LinkSlot {
    /// The newest state since the last call, if any (UI thread; never blocks for long).
    pub fn take(&self) -> Option<LinkState> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// Ask `services.link_state()` now and then every `period` on a thread of its own; each answer
/// lands in the returned slot. The thread ends once the slot is dropped.
pub fn spawn_link_poller(services: Arc<dyn ApplianceServices>, period: Duration) -> LinkSlot {
    let slot = LinkSlot::default();
    let weak: Weak<Mutex<Option<LinkState>>> = Arc::downgrade(&slot.0);
    let spawned = std::thread::Builder::new()
        .name("kiosk-link".into())
        .spawn(move || loop {
            let link = services.link_state();
            let Some(cell) = weak.upgrade() else {
                return;
            };
            *cell.lock().unwrap_or_else(|e| e.into_inner()) = Some(link);
            drop(cell);
            std::thread::sleep(period);
        });
    if let Err(e) = spawned {
        tracing::warn!("cannot start the link-state poller: {e}");
    }
    slot
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::appliance::{LookupError, Rating, RatingError};
    use crate::record::{RecordId, RecordStatus};

    struct Fixed;
    impl ApplianceServices for Fixed {
        fn lookup_record(&self, _: &RecordId) -> Result<RecordStatus, LookupError> {
            Err(LookupError::Offline)
        }
        fn submit_rating(&self, _: Rating) -> Result<(), RatingError> {
            Ok(())
        }
        fn link_state(&self) -> LinkState {
            LinkState::Online
        }
        fn health(&self) -> Result<crate::device::HealthReport, String> {
            Err("no daemon in this test".into())
        }
        fn doctor(&self) -> Result<crate::doctor::view::DoctorView, String> {
            Err("no daemon in this test".into())
        }
    }

    #[test]
    fn the_poller_fills_the_slot_off_the_calling_thread() {
        let slot = spawn_link_poller(Arc::new(Fixed), Duration::from_millis(10));
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(l) = slot.take() {
                assert_eq!(l, LinkState::Online);
                break;
            }
            assert!(std::time::Instant::now() < deadline, "no link state polled");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn without_a_daemon_the_link_reads_offline() {
        let dir = tempfile::tempdir().unwrap();
        let s = device_services(&Config::default(), dir.path());
        assert_eq!(s.link_state(), LinkState::Offline { since: None });
    }
}
