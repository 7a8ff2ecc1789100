//! The kiosk's state on the UI thread: what every screen shows and every controller keeps
//! (`State`, shared as `Shared`), with the technician side's and the ticket's parts. The views
//! read it, the wiring changes it; it imports neither.

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, FixedOffset, Local, NaiveDate};
use slint::{ModelRc, VecModel};

use super::idle::{Clock, IdleTimer};
use super::keyboard::TypedText;
use super::navigation::{Navigator, Screen};
use super::procedure_view::FeeCalculator;
use super::search_controller::SearchController;
use super::tech_info::TechInfo;
use super::technician::{PinGate, TapGesture};
use super::ticket::{Limits, TicketDeps};
use crate::appliance::{ApplianceServices, LinkState, LookupError};
use crate::catalog::{CatalogBundle, Lang};
use crate::current::CatalogOrigin;
use crate::device::display::DisplayPower;
use crate::queue::CounterState;
use crate::record::RecordStatus;

pub(super) struct State {
    pub bundle: Arc<CatalogBundle>,
    pub origin: CatalogOrigin,
    pub services: Arc<dyn ApplianceServices>,
    pub search: SearchController,
    pub lang: Lang,
    pub default_lang: Lang,
    pub nav: Navigator,
    pub query: TypedText,
    pub field: Option<String>,
    pub record_input: TypedText,
    pub record_result: Option<Result<RecordStatus, LookupError>>,
    pub record_error: Option<String>,
    pub procedure: Option<usize>,
    pub calc: FeeCalculator,
    pub rating_counter: Option<u32>,
    pub rating_step: i32,
    pub thanks_at: Option<std::time::Instant>,
    pub board: Vec<CounterState>,
    pub idle: IdleTimer,
    pub clock: Arc<dyn Clock>,
    pub background: bool,
    pub fixed_now: Option<DateTime<FixedOffset>>,
    pub device: String,
    /// The provisioned center name, shown instead of the catalog's when set.
    pub center_name: Option<String>,
    /// The link state shown on the status line (polled off the UI thread when `background`).
    pub link: LinkState,
    /// Where the poller leaves new link states (background only).
    pub link_slot: Option<super::daemon_link::LinkSlot>,
    /// The gesture, PIN and technician screen.
    pub tech: TechState,
    /// Screen power policy (awake → dimmed → off) and the screen it drives.
    pub display: DisplayPower,
    /// Ticks since start (the provisioning-error file is looked at every 5th).
    pub ticks: u64,
    /// "Lấy số": limits, printer, a ticket waiting for confirmation.
    pub tickets: TicketState,
    /// `catalog.db` (today's service times for the wait estimate); None: no estimate.
    pub catalog_db: Option<PathBuf>,
}

impl State {
    pub fn now(&self) -> DateTime<FixedOffset> {
        self.fixed_now
            .unwrap_or_else(|| Local::now().fixed_offset())
    }
    pub fn today(&self) -> NaiveDate {
        self.now().date_naive()
    }
}

pub(super) type Shared = Rc<RefCell<State>>;

/// The technician side's state, inside the kiosk's `State`.
pub(super) struct TechState {
    pub gesture: TapGesture,
    pub gate: PinGate,
    pub pin: String,
    /// Under the PIN dots: text and whether it is an error.
    pub message: Option<(String, bool)>,
    pub info: Option<TechInfo>,
    /// Where gathered info lands from the worker thread.
    pub slot: Arc<Mutex<Option<TechInfo>>>,
    /// `/` on a device; None (demo, screenshots) reads no system files.
    pub root: Option<PathBuf>,
    /// The provisioning error last opened by itself (the same one is not forced again).
    pub error_shown: Option<String>,
}

impl TechState {
    pub fn new(pin_hash: Option<String>, root: Option<PathBuf>) -> TechState {
        TechState {
            gesture: TapGesture::default(),
            gate: PinGate::new(pin_hash),
            pin: String::new(),
            message: None,
            info: None,
            slot: Arc::default(),
            root,
            error_shown: None,
        }
    }

    /// The technician screen is showing a provisioning error (idle must not hide it).
    pub fn holds_screen(&self, current: Screen) -> bool {
        current == Screen::Technician
            && self
                .info
                .as_ref()
                .is_some_and(|i| i.provision_error.is_some())
    }
}

/// The kiosk's ticket state: its limits, printer, and a ticket waiting for "yes, another".
pub(super) struct TicketState {
    pub limits: Limits,
    pub deps: TicketDeps,
    pub pending: Option<Want>,
}

impl TicketState {
    pub fn new(deps: TicketDeps) -> TicketState {
        TicketState {
            limits: Limits::new(deps.limits.per_minute, deps.limits.confirm_within_secs),
            deps,
            pending: None,
        }
    }
}

/// What the citizen asked a number for.
#[derive(Clone)]
pub(super) struct Want {
    pub counter: u32,
    /// Index of the procedure, when asked from its page.
    pub procedure: Option<usize>,
}

/// Convert a Vec into a Slint model.
pub(super) fn model<T: Clone + 'static>(v: Vec<T>) -> ModelRc<T> {
    ModelRc::new(VecModel::from(v))
}
