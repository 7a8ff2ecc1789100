//! `motcua kiosk`, `motcua demo` and `motcua screenshot`: start the citizen kiosk on a display,
//! the self-running demo in a window, or render one screen to a PNG without a display.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _};
use chrono::Local;
use slint::ComponentHandle;

use super::{Context, LangArg};
use crate::appliance::ApplianceServices;
use crate::catalog::{demo_bundle, Lang};
use crate::current::{CatalogOrigin, CurrentCatalog};
use crate::device::shutdown::ShutdownSignal;
use crate::kiosk::daemon_link::{daemon_socket, device_services};
use crate::kiosk::demo_services::DemoServices;
use crate::kiosk::headless::{save_png, HeadlessWindow};
use crate::kiosk::idle::SystemClock;
use crate::kiosk::service::KioskService;
use crate::kiosk::{Kiosk, KioskDeps, ScreenTarget};
use crate::queue_sim::QueueSimulator;
use crate::store::{open_connection, queue_store, Access, CatalogStore, CATALOG_DB};

#[derive(Debug, clap::Args)]
pub struct ScreenshotArgs {
    /// home, search:QUERY, field:CODE, procedure:CODE, queue, record:ID, officials, stats, rating, pin or
    /// technician.
    #[arg(long, default_value = "home")]
    pub screen: ScreenTarget,
    /// PNG file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Size in pixels, WIDTHxHEIGHT.
    #[arg(long, default_value = "800x480", value_parser = parse_size)]
    pub size: (u32, u32),
    #[arg(long, value_enum)]
    pub lang: Option<LangArg>,
}

fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s
        .split_once('x')
        .ok_or_else(|| format!("{s:?} is not WIDTHxHEIGHT, e.g. 800x480"))?;
    let w: u32 = w.parse().map_err(|_| format!("bad width in {s:?}"))?;
    let h: u32 = h.parse().map_err(|_| format!("bad height in {s:?}"))?;
    if !(200..=4096).contains(&w) || !(200..=4096).contains(&h) {
        return Err(format!("{s:?}: width and height must be 200–4096"));
    }
    Ok((w, h))
}

#[derive(Debug, Default, clap::Args)]
pub struct KioskArgs {
    /// Development only: use the demo's in-process services (demo record IDs, ratings in a
    /// local file, no link) instead of `motcua daemon`'s socket.
    #[arg(long)]
    pub demo_services: bool,
}

/// Whose services the kiosk uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Services {
    /// `motcua daemon` over its local socket (`motcua kiosk` on a device).
    Daemon,
    /// In-process demo services (`motcua demo`, `motcua screenshot`, `--demo-services`).
    Demo,
}

fn appliance_services(ctx: &Context, which: Services) -> Arc<dyn ApplianceServices> {
    match which {
        Services::Daemon => device_services(&ctx.config, &ctx.data_dir),
        Services::Demo => Arc::new(DemoServices::new(&ctx.data_dir)),
    }
}

fn deps(ctx: &Context, catalog: CurrentCatalog, background: bool, which: Services) -> KioskDeps {
    KioskDeps {
        display: ctx.config.display.clone(),
        // Only `motcua kiosk` on a device reads /etc/motcua, /run and /sys: not the demo (it
        // would dim a laptop's backlight), not screenshots.
        system_root: (which == Services::Daemon && background).then(|| PathBuf::from("/")),
        tickets: crate::kiosk::ticket::TicketDeps {
            limits: ctx.config.tickets.clone(),
            printer: ctx.config.printer.clone(),
        },
        catalog,
        services: appliance_services(ctx, which),
        kiosk: ctx.config.kiosk.clone(),
        device_name: ctx.config.device.name.clone(),
        center_name: ctx.config.center.name.clone(),
        catalog_db: Some(ctx.data_dir.join(CATALOG_DB)),
        clock: Arc::new(SystemClock),
        background,
        now: None,
    }
}

fn no_display_hint(err: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!(
        "cannot open the kiosk window: {err}\n\
         No display is available (DISPLAY / WAYLAND_DISPLAY unset, or the window could not be \
         created). To see the screens without a display, render them to PNG files, e.g.\n  \
         motcua screenshot --screen home --out home.png"
    )
}

/// How often the kiosk tells the daemon it is drawing and how long it has been idle.
pub const KIOSK_STATUS_EVERY: Duration = Duration::from_secs(10);

pub fn run_kiosk(ctx: &Context, args: KioskArgs) -> anyhow::Result<()> {
    let catalog = CurrentCatalog::load(&ctx.data_dir)
        .with_context(|| format!("loading the catalog from {}", ctx.data_dir.display()))?;
    let which = if args.demo_services {
        Services::Demo
    } else {
        Services::Daemon
    };
    // The first SIGTERM quits the event loop (graceful); a second one ends the process.
    let shutdown = ShutdownSignal::install().context("installing the SIGTERM handler")?;
    let service = KioskService::from_env();
    let kiosk = Kiosk::new(deps(ctx, catalog, true, which)).map_err(no_display_hint)?;
    if which == Services::Daemon && ctx.config.display.motion_wakes {
        kiosk.subscribe_motion(
            daemon_socket(&ctx.config, &ctx.data_dir),
            Duration::from_secs(ctx.config.kiosk.idle_home_secs.into()),
        );
    }
    shutdown.on_request(|| {
        let _ = slint::invoke_from_event_loop(|| {
            let _ = slint::quit_event_loop();
        });
    });
    let _feeder = service.feed_from_ui_timer();
    kiosk.window().show().map_err(no_display_hint)?;
    // READY=1 from the event loop's first turn, i.e. once the window is up and drawing.
    let service = std::rc::Rc::new(std::cell::RefCell::new(Some(service)));
    let ready = service.clone();
    slint::Timer::single_shot(Duration::ZERO, move || {
        if let Some(s) = ready.borrow().as_ref() {
            s.ready();
        }
    });
    // The first frame and the idle time, to the daemon every few seconds (its update task
    // confirms a new version and picks a quiet moment to reboot from them).
    let reporter = slint::Timer::default();
    if which == Services::Daemon {
        let services = crate::kiosk::daemon_link::device_services(&ctx.config, &ctx.data_dir);
        let (tx, rx) = std::sync::mpsc::channel::<u64>();
        std::thread::Builder::new()
            .name("kiosk-status".into())
            .spawn(move || {
                while let Ok(idle) = rx.recv() {
                    if let Err(e) = services.report_kiosk(true, idle) {
                        tracing::debug!("kiosk_status: {e}");
                    }
                }
            })
            .context("starting the kiosk-status thread")?;
        let idle = kiosk.idle_probe();
        // The event loop's first turn: the window is up and its first frame drawn.
        let first = tx.clone();
        slint::Timer::single_shot(Duration::ZERO, move || {
            let _ = first.send(0);
        });
        reporter.start(slint::TimerMode::Repeated, KIOSK_STATUS_EVERY, move || {
            let _ = tx.send(idle());
        });
    }
    let result = slint::run_event_loop().map_err(no_display_hint);
    drop(reporter);
    if let Some(s) = service.borrow_mut().take() {
        s.stopping();
    }
    let _ = kiosk.window().hide();
    result
}

pub fn run_demo(ctx: &Context) -> anyhow::Result<()> {
    let on_display = ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()));
    if !on_display && cfg!(not(feature = "kms")) {
        return Err(no_display_hint(
            "neither DISPLAY nor WAYLAND_DISPLAY is set",
        ));
    }
    let dir = tempfile::tempdir().context("creating the demo's temporary data directory")?;
    let db = dir.path().join(CATALOG_DB);
    let bundle = demo_bundle();
    CatalogStore::open(&db)?.apply(&bundle, "embedded demo catalog", false)?;
    let counters: Vec<u32> = bundle.counters.iter().map(|c| c.number).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let sim_thread = {
        let (db, stop) = (db.clone(), stop.clone());
        std::thread::spawn(move || -> anyhow::Result<()> {
            let mut conn = open_connection(&db, Access::ReadWrite)?;
            let start = Local::now().fixed_offset();
            let mut sim =
                QueueSimulator::new(start.timestamp() as u64, &counters, 1, start).with_pace(6);
            while !stop.load(Ordering::Relaxed) {
                let events = sim.advance_to(Local::now().fixed_offset());
                queue_store::apply_events(&mut conn, &events)?;
                std::thread::sleep(Duration::from_secs(2));
            }
            Ok(())
        })
    };
    let demo_ctx = Context {
        config: ctx.config.clone(),
        data_dir: dir.path().to_owned(),
    };
    let catalog = CurrentCatalog::load(dir.path())?;
    eprintln!(
        "motcua demo: data in {} (removed on exit); try record IDs {}",
        dir.path().display(),
        crate::kiosk::demo_services::DEMO_RECORD_IDS.join(", ")
    );
    let result = Kiosk::new(deps(&demo_ctx, catalog, true, Services::Demo))
        .map_err(no_display_hint)
        .and_then(|k| k.window().run().map_err(no_display_hint));
    stop.store(true, Ordering::Relaxed);
    if let Ok(Err(e)) = sim_thread.join() {
        tracing::warn!("queue simulator stopped: {e}");
    }
    result
}

pub fn run_screenshot(ctx: &Context, args: ScreenshotArgs) -> anyhow::Result<()> {
    let (width, height) = args.size;
    let headless = HeadlessWindow::install()?;
    let catalog = CurrentCatalog::load(&ctx.data_dir)?;
    let demo = catalog.origin == CatalogOrigin::EmbeddedDemo;
    let counters: Vec<u32> = catalog.bundle.counters.iter().map(|c| c.number).collect();
    // Screenshots document the screens: demo services, no daemon needed.
    let d = deps(ctx, catalog, false, Services::Demo);
    let kiosk = Kiosk::new(d)?;
    if demo {
        // No queue data with the embedded demo: show a fixed simulated morning instead.
        let start = chrono::DateTime::parse_from_rfc3339("2026-11-20T08:00:00+07:00")?;
        let mut sim = QueueSimulator::new(1, &counters, 1, start);
        let mut states = Vec::new();
        for e in sim.advance_to(start + chrono::Duration::minutes(47)) {
            let i = states
                .iter()
                .position(|s: &crate::queue::CounterState| s.counter == e.counter);
            let next = e.apply_to(i.map(|i| &states[i]));
            match i {
                Some(i) => states[i] = next,
                None => states.push(next),
            }
        }
        states.sort_by_key(|s| s.counter);
        kiosk.set_board(states);
    }
    if let Some(lang) = args.lang {
        kiosk.set_language(Lang::from(lang));
    }
    kiosk.open(&args.screen).map_err(anyhow::Error::msg)?;
    headless.set_size(width, height);
    kiosk.window().show()?;
    let pixels = headless.render(width, height);
    if pixels.is_empty() {
        bail!("nothing was rendered");
    }
    save_png(&args.out, width, height, &pixels)
        .with_context(|| format!("writing {}", args.out.display()))?;
    Ok(())
}
