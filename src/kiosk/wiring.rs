//! The one place where controllers meet the Slint views: builds the `KioskWindow`, connects
//! every adapter callback to a controller, and pushes controller output into the adapters.
//!
//! The UI thread never blocks: record lookups and ratings run on worker threads (when
//! `KioskDeps::background` is set) and come back through `upgrade_in_event_loop`; the queue
//! board and newly applied catalogs come from a [`StoreWatcher`] thread. Tests and screenshots run the same work inline.

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, FixedOffset};
use slint::ComponentHandle;

use super::idle::{Clock, IdleAction, IdleTimer};
use super::keyboard::TypedText;
use super::navigation::{Navigator, Screen};
use super::procedure_view::FeeCalculator;
use super::queue_board::read_board;
use super::record_lookup::MAX_INPUT;
use super::search_controller::SearchController;
use super::state::{Shared, State, TechState, TicketState};
use super::store_watch::{catalog_key, StoreChange, StoreWatcher};
use super::ui::*;
use super::views;
use super::wiring_tech;
use crate::appliance::{ApplianceServices, LinkState};
use crate::catalog::Lang;
use crate::config::{DisplayConfig, KioskConfig};
use crate::current::CurrentCatalog;
use crate::device::backlight::Backlight;
use crate::device::display::{DisplayPower, NoScreenControl, ScreenPower, ScreenState};
use crate::queue::CounterState;

/// Longest search query typed.
const MAX_QUERY: usize = 40;
/// The thank-you screen goes home after this long.
const THANKS_FOR: Duration = Duration::from_secs(6);

/// What the kiosk is built from.
pub struct KioskDeps {
    pub catalog: CurrentCatalog,
    pub services: Arc<dyn ApplianceServices>,
    pub kiosk: KioskConfig,
    pub device_name: String,
    /// The provisioned center name (`[center] name`); None: the catalog's own center name.
    pub center_name: Option<String>,
    /// `catalog.db` to watch for the queue board (None: no live board).
    pub catalog_db: Option<PathBuf>,
    pub clock: Arc<dyn Clock>,
    /// Worker threads and the queue watcher (the real kiosk); false runs everything inline.
    pub background: bool,
    /// Fixed date and time for deterministic screenshots and tests; None: the local clock.
    pub now: Option<DateTime<FixedOffset>>,
    /// Screen power: dim and switch off on idle (the backlight under `system_root`, if any).
    pub display: DisplayConfig,
    /// `/` on a device: the backlight, provisioning status and error files are read under it.
    /// None (demo, screenshots): no system files, no backlight (the screen only goes black).
    pub system_root: Option<PathBuf>,
    /// Ticket limits and the printer ("Lấy số").
    pub tickets: super::ticket::TicketDeps,
}

/// The running kiosk: the window plus its controllers.
pub struct Kiosk {
    window: KioskWindow,
    state: Rc<RefCell<State>>,
    _watcher: Option<StoreWatcher>,
    _idle_timer: Option<slint::Timer>,
    /// Set on drop: ends the motion subscriber thread.
    motion_stop: Arc<std::sync::atomic::AtomicBool>,
}

impl Drop for Kiosk {
    fn drop(&mut self) {
        self.motion_stop
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Kiosk {
    /// Build the window and wire it. Needs a Slint platform (a backend, the headless one, or
    /// the testing backend) on this thread.
    pub fn new(deps: KioskDeps) -> Result<Kiosk, slint::PlatformError> {
        let window = KioskWindow::new()?;
        let bundle = Arc::new(deps.catalog.bundle);
        let board = deps
            .catalog_db
            .as_deref()
            .map(read_board)
            .unwrap_or_default();
        // Inline (tests, screenshots) the link is asked once; a running kiosk polls it on a
        // thread and shows "offline" until the first answer.
        let link = if deps.background {
            LinkState::Offline { since: None }
        } else {
            deps.services.link_state()
        };
        let link_slot = deps.background.then(|| {
            super::daemon_link::spawn_link_poller(
                deps.services.clone(),
                super::daemon_link::LINK_POLL,
            )
        });
        let screen: Box<dyn ScreenPower> = match deps.system_root.as_deref() {
            Some(root) => match Backlight::find(root, deps.display.backlight.as_deref()) {
                Ok(Some(b)) => Box::new(b),
                Ok(None) => Box::new(NoScreenControl),
                Err(e) => {
                    tracing::warn!("display: {e}");
                    Box::new(NoScreenControl)
                }
            },
            None => Box::new(NoScreenControl),
        };
        let display = DisplayPower::new(deps.display.clone(), screen, deps.clock.now());
        let tech = TechState::new(deps.kiosk.technician_pin_hash.clone(), deps.system_root);
        let state = Rc::new(RefCell::new(State {
            tickets: TicketState::new(deps.tickets),
            catalog_db: deps.catalog_db.clone(),
            tech,
            display,
            ticks: 0,
            link,
            link_slot,
            search: SearchController::new(bundle.clone()),
            bundle,
            origin: deps.catalog.origin,
            services: deps.services,
            lang: deps.kiosk.language,
            default_lang: deps.kiosk.language,
            nav: Navigator::default(),
            query: TypedText::new(MAX_QUERY),
            field: None,
            record_input: TypedText::new(MAX_INPUT),
            record_result: None,
            record_error: None,
            procedure: None,
            calc: FeeCalculator::default(),
            rating_counter: None,
            rating_step: 0,
            thanks_at: None,
            board,
            idle: IdleTimer::new(
                Duration::from_secs(deps.kiosk.idle_home_secs.into()),
                Duration::from_secs(deps.kiosk.attract_after_secs.into()),
                deps.clock.now(),
            ),
            clock: deps.clock,
            background: deps.background,
            fixed_now: deps.now,
            device: deps.device_name,
            center_name: deps.center_name,
        }));
        connect(&window, &state);
        views::push_all(&window, &state.borrow());
        wiring_tech::check_auto_open(&window, &state, true);
        let mut kiosk = Kiosk {
            window,
            state,
            _watcher: None,
            _idle_timer: None,
            motion_stop: Arc::default(),
        };
        if deps.background {
            kiosk.start_background(deps.catalog_db);
        }
        Ok(kiosk)
    }

    fn start_background(&mut self, db: Option<PathBuf>) {
        if let Some(db) = db {
            // The watcher thread leaves the newest board in `latest` and wakes the UI thread,
            // which takes it in `QueueAdapter.board-changed` (a callback can hold the Rc state).
            let latest: Arc<std::sync::Mutex<Option<Vec<CounterState>>>> = Arc::default();
            let (wk, st, slot) = (self.window.as_weak(), self.state.clone(), latest.clone());
            self.window
                .global::<QueueAdapter>()
                .on_board_changed(move || {
                    let board = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
                    if let (Some(w), Some(board)) = (wk.upgrade(), board) {
                        st.borrow_mut().board = board;
                        views::push_queue(&w, &st.borrow());
                    }
                });
            // A newly applied catalog travels the same way, through `AppAdapter.catalog-changed`.
            let new_catalog: Arc<std::sync::Mutex<Option<CurrentCatalog>>> = Arc::default();
            let (wk, st, slot) = (
                self.window.as_weak(),
                self.state.clone(),
                new_catalog.clone(),
            );
            self.window
                .global::<AppAdapter>()
                .on_catalog_changed(move || {
                    let catalog = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
                    if let (Some(w), Some(catalog)) = (wk.upgrade(), catalog) {
                        set_catalog(&w, &st, catalog);
                    }
                });
            let shown = catalog_key(&self.state.borrow().origin);
            let weak = self.window.as_weak();
            self._watcher = Some(StoreWatcher::spawn(
                db,
                Duration::from_millis(500),
                shown,
                move |change| match change {
                    StoreChange::Board(board) => {
                        *latest.lock().unwrap_or_else(|e| e.into_inner()) = Some(board);
                        let _ = weak.upgrade_in_event_loop(|w| {
                            w.global::<QueueAdapter>().invoke_board_changed()
                        });
                    }
                    StoreChange::Catalog(c) => {
                        *new_catalog.lock().unwrap_or_else(|e| e.into_inner()) = Some(*c);
                        let _ = weak.upgrade_in_event_loop(|w| {
                            w.global::<AppAdapter>().invoke_catalog_changed()
                        });
                    }
                },
            ));
        }
        let timer = slint::Timer::default();
        let weak = self.window.as_weak();
        let state = self.state.clone();
        timer.start(
            slint::TimerMode::Repeated,
            Duration::from_secs(1),
            move || {
                if let Some(w) = weak.upgrade() {
                    tick(&w, &state);
                }
            },
        );
        self._idle_timer = Some(timer);
    }

    /// Keep a subscription to the daemon's device events at `socket`: motion wakes the
    /// screen, and goes home for a new visitor (see `kiosk::motion`).
    pub fn subscribe_motion(&self, socket: PathBuf, idle_home: Duration) {
        let weak = self.window.as_weak();
        super::motion::spawn_subscriber(socket, idle_home, self.motion_stop.clone(), move |a| {
            let _ = weak.upgrade_in_event_loop(move |w| {
                let app = w.global::<AppAdapter>();
                match a {
                    super::motion::MotionAction::Wake => app.invoke_wake(),
                    super::motion::MotionAction::WakeAndGoHome => app.invoke_new_visitor(),
                }
            });
        });
    }

    pub fn window(&self) -> &KioskWindow {
        &self.window
    }

    /// Seconds since the last touch, as a probe for the UI thread (`kiosk_status`).
    pub fn idle_probe(&self) -> impl Fn() -> u64 + 'static {
        let state = self.state.clone();
        move || match state.try_borrow() {
            Ok(s) => s.idle.idle_for(s.clock.now()).as_secs(),
            Err(_) => 0,
        }
    }

    /// What the idle timer runs every second (tests call it after moving a mock clock).
    pub fn tick(&self) {
        tick(&self.window, &self.state);
    }

    /// Show a newly applied catalog (the watcher's path, also for tests).
    pub fn set_catalog(&self, catalog: CurrentCatalog) {
        set_catalog(&self.window, &self.state, catalog);
    }

    /// Replace the queue board (the watcher's path, also for tests).
    pub fn set_board(&self, board: Vec<CounterState>) {
        self.state.borrow_mut().board = board;
        views::push_queue(&self.window, &self.state.borrow());
    }

    /// Open a screen as a citizen would reach it (screenshots, tests).
    pub fn open(&self, target: &super::ScreenTarget) -> Result<(), String> {
        use super::ScreenTarget as T;
        match target {
            T::Home => go(&self.window, &self.state, Screen::Home),
            T::Search(q) => {
                go(&self.window, &self.state, Screen::Search);
                self.state.borrow_mut().query.set(q);
                views::push_search(&self.window, &self.state.borrow());
            }
            T::Field(code) => {
                if self.state.borrow().bundle.field(code).is_none() {
                    return Err(format!("no field with code {code} in the catalog"));
                }
                super::wiring_screens::open_field(&self.window, &self.state, code);
            }
            T::Procedure(code) => {
                if self.state.borrow().bundle.procedure(code).is_none() {
                    return Err(format!("no procedure with code {code} in the catalog"));
                }
                open_procedure(&self.window, &self.state, code);
            }
            T::Queue => go(&self.window, &self.state, Screen::Queue),
            T::Record(id) => {
                go(&self.window, &self.state, Screen::Record);
                self.state.borrow_mut().record_input.set(id);
                super::wiring_screens::submit_record(&self.window, &self.state);
            }
            T::Officials => go(&self.window, &self.state, Screen::Officials),
            T::Stats => go(&self.window, &self.state, Screen::Stats),
            T::Rating => go(&self.window, &self.state, Screen::Rating),
            T::Pin => {
                go(&self.window, &self.state, Screen::Pin);
                wiring_tech::push_pin(&self.window, &self.state.borrow());
            }
            T::Technician => wiring_tech::open_screen(&self.window, &self.state),
            T::Attract => {
                go(&self.window, &self.state, Screen::Home);
                self.window.global::<AppAdapter>().set_attract(true);
            }
            T::Ticket(code) => {
                if self.state.borrow().bundle.procedure(code).is_none() {
                    return Err(format!("no procedure with code {code} in the catalog"));
                }
                open_procedure(&self.window, &self.state, code);
                self.window
                    .global::<ProcedureAdapter>()
                    .invoke_take_number();
            }
        }
        Ok(())
    }

    pub fn set_language(&self, lang: Lang) {
        self.state.borrow_mut().lang = lang;
        views::push_all(&self.window, &self.state.borrow());
    }
}

pub(super) fn go(w: &KioskWindow, state: &Shared, screen: Screen) {
    {
        let mut s = state.borrow_mut();
        s.nav.open(screen);
        match screen {
            Screen::Search => {
                s.query.clear();
                s.field = None;
            }
            Screen::Record => {
                s.record_input.clear();
                s.record_result = None;
                s.record_error = None;
            }
            Screen::Rating => {
                s.rating_step = 0;
                s.rating_counter = None;
            }
            _ => {}
        }
    }
    views::push_screen(w, &state.borrow());
}

pub(super) fn open_procedure(w: &KioskWindow, state: &Shared, code: &str) {
    {
        let mut s = state.borrow_mut();
        s.procedure = s.bundle.procedures.iter().position(|p| p.code == code);
        s.calc = FeeCalculator::default();
        s.nav.open(Screen::Procedure);
    }
    views::push_procedure(w, &state.borrow());
    views::push_screen(w, &state.borrow());
}

/// A new catalog replaces the one on screen. The citizen stays where they are when that still
/// exists (the same procedure by code); otherwise, and mid-search, the kiosk goes home.
fn set_catalog(w: &KioskWindow, state: &Shared, catalog: CurrentCatalog) {
    {
        let mut s = state.borrow_mut();
        let code = s.procedure.map(|i| s.bundle.procedures[i].code.clone());
        let bundle = Arc::new(catalog.bundle);
        tracing::info!("catalog v{} on screen", bundle.version);
        s.search = SearchController::new(bundle.clone());
        s.procedure = code.and_then(|c| bundle.procedures.iter().position(|p| p.code == c));
        s.bundle = bundle;
        s.origin = catalog.origin;
        s.field = None;
        let lost = match s.nav.current() {
            Screen::Procedure => s.procedure.is_none(),
            Screen::Search => true,
            _ => false,
        };
        if lost {
            s.nav.home();
        }
        if s.procedure.is_none() {
            s.calc = FeeCalculator::default();
        }
    }
    views::push_all(w, &state.borrow());
    // The technician screen lists the catalog version too.
    wiring_tech::push_tech(w, &state.borrow());
}

fn go_home(w: &KioskWindow, state: &Shared, reset_language: bool) {
    {
        let mut s = state.borrow_mut();
        s.nav.home();
        if reset_language {
            s.lang = s.default_lang;
        }
    }
    views::push_all(w, &state.borrow());
}

fn tick(w: &KioskWindow, state: &Shared) {
    let ticks = {
        let mut s = state.borrow_mut();
        s.ticks += 1;
        let now = s.clock.now();
        s.display.tick(now);
        s.ticks
    };
    push_screen_power(w, &state.borrow());
    if ticks % 5 == 0 {
        wiring_tech::check_auto_open(w, state, false);
    }
    let new_link = state.borrow().link_slot.as_ref().and_then(|s| s.take());
    if let Some(link) = new_link {
        if link != state.borrow().link {
            state.borrow_mut().link = link;
            views::push_status(w, &state.borrow());
        }
    }
    let (action, thanks_done) = {
        let mut s = state.borrow_mut();
        let now = s.clock.now();
        let thanks_done = s
            .thanks_at
            .is_some_and(|t| now.duration_since(t) >= THANKS_FOR);
        if thanks_done {
            s.thanks_at = None;
        }
        let action = s.idle.tick(now);
        // A provisioning error on the technician screen stays until someone closes it.
        let action = if s.tech.holds_screen(s.nav.current()) {
            IdleAction::Nothing
        } else {
            action
        };
        (action, thanks_done)
    };
    match action {
        IdleAction::GoHome => go_home(w, state, true),
        IdleAction::Attract => {
            go_home(w, state, true);
            w.global::<AppAdapter>().set_attract(true);
        }
        IdleAction::Nothing if thanks_done => go_home(w, state, false),
        IdleAction::Nothing => {}
    }
}

fn connect(w: &KioskWindow, state: &Shared) {
    let app = w.global::<AppAdapter>();
    let (wk, st) = (w.as_weak(), state.clone());
    app.on_go(move |name| {
        if let (Some(w), Some(screen)) = (wk.upgrade(), Screen::parse(&name)) {
            go(&w, &st, screen);
        }
    });
    let (wk, st) = (w.as_weak(), state.clone());
    app.on_back(move || {
        if let Some(w) = wk.upgrade() {
            st.borrow_mut().nav.back();
            views::push_screen(&w, &st.borrow());
        }
    });
    let (wk, st) = (w.as_weak(), state.clone());
    app.on_home(move || {
        if let Some(w) = wk.upgrade() {
            go_home(&w, &st, false);
        }
    });
    let (wk, st) = (w.as_weak(), state.clone());
    app.on_toggle_language(move || {
        if let Some(w) = wk.upgrade() {
            {
                let mut s = st.borrow_mut();
                s.lang = if s.lang == Lang::Vi {
                    Lang::En
                } else {
                    Lang::Vi
                };
            }
            views::push_all(&w, &st.borrow());
        }
    });
    let (wk, st) = (w.as_weak(), state.clone());
    let wake = move || {
        let (woke, screen_was_off) = match st.try_borrow_mut() {
            Ok(mut s) => {
                let now = s.clock.now();
                let off = s.display.state() != ScreenState::Awake;
                s.display.activity(now);
                (s.idle.touched(now), off)
            }
            Err(_) => (false, false),
        };
        if let Some(w) = wk.upgrade() {
            if woke {
                w.global::<AppAdapter>().set_attract(false);
            }
            if screen_was_off {
                if let Ok(s) = st.try_borrow() {
                    push_screen_power(&w, &s);
                }
            }
        }
    };
    app.on_touched(wake.clone());
    app.on_wake(wake.clone());
    let (wk, st) = (w.as_weak(), state.clone());
    app.on_new_visitor(move || {
        wake();
        if let Some(w) = wk.upgrade() {
            go_home(&w, &st, true);
        }
    });
    super::wiring_screens::connect_screens(w, state);
    super::wiring_ticket::connect_ticket(w, state);
    wiring_tech::connect(w, state);
}

/// Black overlay while the screen is off (the backlight, if any, is already off).
fn push_screen_power(w: &KioskWindow, st: &State) {
    let app = w.global::<AppAdapter>();
    let off = st.display.state() == ScreenState::Off;
    if app.get_screen_off() != off {
        app.set_screen_off(off);
    }
}
