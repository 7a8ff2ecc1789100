//! `DemoServices`: the in-process [`ApplianceServices`] for `motcua demo` and for a kiosk with
//! no daemon yet. Its records are a fixed set whose dates move with today, so each shows its
//! case on any day; ratings are appended to `ratings.jsonl` in the data directory and fsynced;
//! health is this machine's own (disk of the data directory, power, temperature).
//!
//! Demo record IDs (see docs/kiosk.md):
//! - `000.00.14.H56-260105-0001` in progress, on schedule (received 2 days ago, due in 3)
//! - `000.00.14.H56-260105-0002` ready for pickup, resolved ahead of schedule
//! - `000.00.14.H56-260105-0003` in progress and past its due date (overdue)
//! - `000.00.14.H56-260105-0004` more documents needed
//! - `000.00.14.H56-260105-0099` simulates a lost connection (the "needs the connection" case)
//!
//! In the demo the date inside the ID is not the received day: the dates follow today.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

use chrono::{Days, Local, NaiveDate};

use crate::appliance::{ApplianceServices, LinkState, LookupError, Rating, RatingError};
use crate::device::health::{self, HealthReport};
use crate::record::{RecordId, RecordStage, RecordStatus};

/// File the demo appends ratings to, inside the data directory.
pub const RATINGS_FILE: &str = "ratings.jsonl";

pub const DEMO_RECORD_IDS: [&str; 5] = [
    "000.00.14.H56-260105-0001",
    "000.00.14.H56-260105-0002",
    "000.00.14.H56-260105-0003",
    "000.00.14.H56-260105-0004",
    "000.00.14.H56-260105-0099",
];

pub struct DemoServices {
    ratings: PathBuf,
    /// Free space for the health report is measured here.
    data_dir: PathBuf,
    /// Fixed "today" for tests and screenshots; None means the local date.
    today: Option<NaiveDate>,
    lock: Mutex<()>,
    /// The simulated ticket issuer (there is no hub in the demo).
    tickets: super::demo_tickets::DemoIssuer,
}

impl DemoServices {
    pub fn new(data_dir: &std::path::Path) -> DemoServices {
        DemoServices {
            ratings: data_dir.join(RATINGS_FILE),
            data_dir: data_dir.to_owned(),
            today: None,
            lock: Mutex::new(()),
            tickets: Default::default(),
        }
    }

    pub fn with_today(mut self, today: NaiveDate) -> DemoServices {
        self.today = Some(today);
        self
    }

    fn today(&self) -> NaiveDate {
        self.today.unwrap_or_else(|| Local::now().date_naive())
    }

    /// The demo status of `id` on `today`, if it is a demo record.
    pub fn demo_status(id: &RecordId, today: NaiveDate) -> Result<RecordStatus, LookupError> {
        let ago = |n| today.checked_sub_days(Days::new(n)).unwrap_or(today);
        let ahead = |n| today.checked_add_days(Days::new(n)).unwrap_or(today);
        let (procedure, stage, received, due, done) = match id.as_str() {
            "000.00.14.H56-260105-0001" => {
                ("1.001193", RecordStage::InProgress, ago(2), ahead(3), None)
            }
            "000.00.14.H56-260105-0002" => (
                "2.000815",
                RecordStage::ReadyForPickup,
                ago(4),
                ahead(1),
                Some(ago(1)),
            ),
            "000.00.14.H56-260105-0003" => {
                ("1.003554", RecordStage::InProgress, ago(40), ago(5), None)
            }
            "000.00.14.H56-260105-0004" => (
                "1.000894",
                RecordStage::NeedsSupplement,
                ago(1),
                ahead(4),
                None,
            ),
            "000.00.14.H56-260105-0099" => return Err(LookupError::Offline),
            _ => return Err(LookupError::NotFound),
        };
        Ok(RecordStatus {
            id: id.clone(),
            procedure: Some(procedure.into()),
            stage,
            received_on: received,
            due_on: due,
            completed_on: done,
        })
    }
}

impl ApplianceServices for DemoServices {
    fn lookup_record(&self, id: &RecordId) -> Result<RecordStatus, LookupError> {
        DemoServices::demo_status(id, self.today())
    }

    fn submit_rating(&self, rating: Rating) -> Result<(), RatingError> {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let fail =
            |e: std::io::Error| RatingError::Failed(format!("{}: {e}", self.ratings.display()));
        let mut line =
            serde_json::to_string(&rating).map_err(|e| RatingError::Failed(e.to_string()))?;
        line.push('\n');
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.ratings)
            .map_err(fail)?;
        f.write_all(line.as_bytes()).map_err(fail)?;
        f.sync_all().map_err(fail)?;
        Ok(())
    }

    fn link_state(&self) -> LinkState {
        LinkState::NotConfigured
    }

    /// The doctor's checks on this machine with the default config (no daemon: no log, no
    /// units; no cameras, GPIO pins or server configured).
    fn doctor(&self) -> Result<crate::doctor::view::DoctorView, String> {
        use crate::doctor::{self, DoctorInputs, ServerNotConfigured, SysfsCameras};
        let root = std::path::Path::new("/");
        let gpio = crate::device::gpio::FakeGpio::new();
        let inputs = DoctorInputs {
            full: false,
            root,
            config_path: "(demo: no config file)".into(),
            config: Ok(crate::config::Config::default()),
            config_file_exists: true,
            data_dir: self.data_dir.clone(),
            gpio: &gpio,
            cameras: &SysfsCameras { root },
            server: &ServerNotConfigured,
            kernel_clock_synced: None,
            now: chrono::Utc::now(),
        };
        let report = doctor::run(&inputs);
        Ok(crate::doctor::view::DoctorView::new(
            &report,
            vec!["demo: no daemon, so no daemon log".into()],
            vec!["demo: no services".into()],
        ))
    }

    /// This machine's real disk, power and temperature; no cameras, no server.
    fn health(&self) -> Result<HealthReport, String> {
        Ok(health::collect(health::HealthInputs {
            root: std::path::Path::new("/"),
            data_dir: &self.data_dir,
            cameras: Vec::new(),
            sync: health::SyncHealth::NotConfigured,
            now: chrono::Utc::now(),
        }))
    }

    fn take_ticket(
        &self,
        counter: u32,
        _procedure: Option<&str>,
        key: &str,
    ) -> Result<crate::appliance::IssuedTicket, String> {
        self.tickets
            .take(&self.data_dir, counter, key, Local::now().fixed_offset())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::appliance::RatingLevel;
    use crate::record::Timeliness;

    #[test]
    fn demo_records_show_each_case_on_any_day() {
        let today = NaiveDate::from_ymd_opt(2027, 3, 1).unwrap();
        let s = DemoServices::new(std::path::Path::new("/nonexistent")).with_today(today);
        let get = |i: usize| s.lookup_record(&RecordId::parse(DEMO_RECORD_IDS[i]).unwrap());
        assert_eq!(get(0).unwrap().timeliness(today), Timeliness::OnTime);
        assert_eq!(
            get(1).unwrap().timeliness(today),
            Timeliness::AheadOfSchedule
        );
        assert_eq!(get(2).unwrap().timeliness(today), Timeliness::Overdue);
        assert_eq!(get(3).unwrap().stage, RecordStage::NeedsSupplement);
        assert_eq!(get(4), Err(LookupError::Offline));
        let other = RecordId::parse("000.00.14.H56-260105-0005").unwrap();
        assert_eq!(s.lookup_record(&other), Err(LookupError::NotFound));
    }

    #[test]
    fn ratings_are_appended_as_json_lines() {
        let dir = tempfile::tempdir().unwrap();
        let s = DemoServices::new(dir.path());
        for key in ["a", "b"] {
            s.submit_rating(Rating {
                key: key.into(),
                counter: 2,
                official_id: None,
                level: RatingLevel::Satisfied,
                at: "2026-11-20T09:00:00+07:00".into(),
            })
            .unwrap();
        }
        let text = std::fs::read_to_string(dir.path().join(RATINGS_FILE)).unwrap();
        let lines: Vec<Rating> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1].key, "b");
        assert_eq!(s.link_state(), LinkState::NotConfigured);
    }
}
