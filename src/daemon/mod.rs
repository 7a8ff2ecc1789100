//! `motcua daemon`: the appliance's background service. Starts, under one shutdown signal,
//! the sync tasks (catalog poller, queue follower, outbox uploader — or none of them when no
//! server is configured), the local socket for the kiosk and counter software, the recorder
//! (cameras, queue-event and periodic snapshots, retention), the review UI, the GPIO service,
//! the health report, and the systemd READY/STATUS/STOPPING/WATCHDOG notifications.
//!
//! `start` returns a handle that tests drive directly (short intervals, a fake GPIO, their own
//! notify socket); the CLI runs the same thing until SIGTERM (`device::shutdown`). This file
//! wires parts together; the logic is in `sync`, `recorder`, `review` and `device`.

pub mod client;
pub mod device;
pub mod doctor_run;
pub mod health;
pub mod kiosk_signal;
pub mod liveness;
pub mod log_ring;
pub mod protocol;
pub mod recording;
pub mod shutdown;
pub mod socket;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::sync::broadcast;
use tokio::task::JoinSet;

use crate::config::Config;
use crate::device::gpio::Gpio;
use crate::device::notify::SdNotify;
use crate::device::watchdog::Watchdog;
use crate::recorder::Recorder;
use crate::sync::clock::{Clock, SystemClock};
use crate::sync::{
    catalog_sync, queue_sync, uploader, ClientSettings, HubClient, PinnedKey, SyncContext,
    SyncError, SyncSettings,
};
use liveness::Probe;
use protocol::Notice;
use shutdown::{Shutdown, ShutdownTrigger};

/// The central server, when one is configured.
pub struct SyncOptions {
    pub server_url: String,
    pub token: String,
    pub keys: Vec<PinnedKey>,
    pub client: ClientSettings,
}

/// The machine around the daemon (real on a device; fakes in tests).
pub struct SystemOptions {
    /// `/` on a device: where health reads sysfs.
    pub root: PathBuf,
    /// GPIO backend; `None` opens rppal when `[gpio]` has pins.
    pub gpio: Option<Arc<dyn Gpio>>,
    /// `$NOTIFY_SOCKET` (path or `@abstract`); `None` outside systemd.
    pub notify_socket: Option<String>,
    /// Watchdog ping period (half of `WatchdogSec`); `None` without a watchdog.
    pub watchdog_period: Option<Duration>,
    pub health_interval: Duration,
    /// The config file the daemon was started with (the doctor's config check names it).
    pub config_path: PathBuf,
}

impl Default for SystemOptions {
    fn default() -> Self {
        SystemOptions {
            root: PathBuf::from("/"),
            gpio: None,
            notify_socket: None,
            watchdog_period: None,
            health_interval: Duration::from_secs(60),
            config_path: PathBuf::from(crate::config::DEFAULT_CONFIG_PATH),
        }
    }
}

/// Everything the daemon needs, resolved from the config (or built by a test).
pub struct DaemonOptions {
    /// `None`: offline-only (no `[sync] server_url`); the link state is "not configured".
    pub sync: Option<SyncOptions>,
    pub settings: SyncSettings,
    pub clock: Arc<dyn Clock>,
    pub data_dir: PathBuf,
    pub catalog_db: PathBuf,
    pub socket_path: PathBuf,
    /// `[recorder]`, `[review]` and `[gpio]` are read from here.
    pub config: Config,
    pub system: SystemOptions,
}

/// The local socket's path: `[sync] socket_path`, else `<data dir>/daemon.sock`.
pub fn socket_path(config: &Config, data_dir: &Path) -> PathBuf {
    config
        .sync
        .socket_path
        .clone()
        .unwrap_or_else(|| data_dir.join(protocol::SOCKET_NAME))
}

impl DaemonOptions {
    /// Offline-only options from the config (no server), real machine.
    pub fn offline(config: &Config, data_dir: &Path) -> DaemonOptions {
        DaemonOptions {
            sync: None,
            settings: SyncSettings::from_config(config),
            clock: Arc::new(SystemClock),
            data_dir: data_dir.to_owned(),
            catalog_db: data_dir.join(crate::store::CATALOG_DB),
            socket_path: socket_path(config, data_dir),
            config: config.clone(),
            system: SystemOptions::default(),
        }
    }

    /// From the config file and the environment (systemd). Without `[sync] server_url` the
    /// daemon runs offline-only; a server without a token or pinned keys is an error.
    pub fn from_config(config: &Config, data_dir: &Path) -> Result<Self, SyncError> {
        let mut opts = DaemonOptions::offline(config, data_dir);
        opts.catalog_db = crate::store::catalog_path(data_dir)?;
        opts.system.notify_socket = std::env::var("NOTIFY_SOCKET")
            .ok()
            .filter(|s| !s.is_empty());
        opts.system.watchdog_period = crate::device::notify::watchdog_period().map(|p| p / 2);
        let s = &config.sync;
        let Some(server_url) = s.server_url.clone() else {
            return Ok(opts);
        };
        let token = s
            .load_token()
            .map_err(SyncError::NotConfigured)?
            .ok_or_else(|| {
                SyncError::NotConfigured(
                    "set [sync] token_file (or token) in the config file".into(),
                )
            })?;
        if s.public_keys.is_empty() {
            return Err(SyncError::NotConfigured(
                "pin at least one catalog key in [sync] public_keys (printed by `motcua hub keygen`)"
                    .into(),
            ));
        }
        let keys = s
            .public_keys
            .iter()
            .map(|k| PinnedKey::parse(k).map_err(SyncError::NotConfigured))
            .collect::<Result<_, _>>()?;
        opts.sync = Some(SyncOptions {
            server_url,
            token,
            keys,
            client: SyncSettings::client_settings(config),
        });
        Ok(opts)
    }
}

/// A started daemon. Dropping it without [`RunningDaemon::stop`] aborts the tasks.
pub struct RunningDaemon {
    pub ctx: Arc<SyncContext>,
    pub socket_path: PathBuf,
    /// Where the review UI listens, when it runs.
    pub review_addr: Option<SocketAddr>,
    pub recorder: Option<Arc<Recorder>>,
    /// Device events as sent to the socket's subscribers.
    pub notices: broadcast::Sender<Notice>,
    trigger: Arc<ShutdownTrigger>,
    tasks: JoinSet<()>,
    recording: Option<recording::Recording>,
    device: Option<device::Device>,
    notify: SdNotify,
    watchdog: Option<Watchdog>,
}

fn notifier(socket: &Option<String>) -> SdNotify {
    match socket {
        Some(s) => SdNotify::to_socket(s).unwrap_or_else(|e| {
            tracing::warn!("NOTIFY_SOCKET={s} unusable: {e}");
            SdNotify::disabled()
        }),
        None => SdNotify::disabled(),
    }
}

/// Start every part on the current tokio runtime, then send READY=1.
pub async fn start(opts: DaemonOptions) -> anyhow::Result<RunningDaemon> {
    let (keys, client) = match opts.sync {
        Some(s) => (
            s.keys,
            Some(HubClient::new(&s.server_url, &s.token, s.client)?),
        ),
        None => (Vec::new(), None),
    };
    let ctx = SyncContext::open(&opts.catalog_db, client, keys, opts.clock, opts.settings)?;
    let config = &opts.config;
    let recorder = recording::open(config, &opts.data_dir, config.review_enabled)?;
    let review = if config.review_enabled {
        let ep = crate::review::Endpoint::from_config(&config.review)?;
        let listener = crate::review::server::bind(&ep).await?;
        Some((ep, listener))
    } else {
        None
    };
    let listener = socket::bind(&opts.socket_path).with_context(|| {
        format!(
            "cannot create the local socket {}",
            opts.socket_path.display()
        )
    })?;
    let (trigger, shutdown) = shutdown::channel();
    let mut tasks = JoinSet::new();
    let recording = recorder.map(|r| {
        recording::Recording::start(
            r,
            config,
            ctx.subscribe(),
            Arc::clone(&ctx.footage_anchor),
            shutdown.clone(),
            &mut tasks,
        )
    });
    let recorder = recording.as_ref().map(|r| Arc::clone(&r.recorder));
    let (notices, _) = broadcast::channel(256);
    // Unusable pins (wrong numbers, not a Pi) cost the motion sensor, the buttons and the LED,
    // not sync and recording: the daemon runs on and health reports a fault naming the cause.
    let (device, gpio_error) = if config.gpio.is_empty() {
        (None, None)
    } else {
        let started = match &opts.system.gpio {
            Some(g) => Ok(Arc::clone(g)),
            None => crate::device::gpio::open()
                .map(|(g, _)| Arc::from(g) as Arc<dyn Gpio>)
                .map_err(anyhow::Error::from),
        }
        .and_then(|gpio| {
            device::start(
                &config.gpio,
                gpio,
                opts.catalog_db.clone(),
                recorder.clone(),
                notices.clone(),
            )
        });
        match started {
            Ok(d) => (Some(d), None),
            Err(e) => {
                tracing::error!("GPIO unusable, running without motion sensor, capture buttons and status LED: {e:#}");
                (None, Some(format!("{e:#}")))
            }
        }
    };
    let mut probes: Vec<(&str, Probe)> = Vec::new();
    if ctx.is_configured() {
        tasks.spawn(catalog_sync::run(Arc::clone(&ctx), shutdown.clone()));
        tasks.spawn(queue_sync::run(Arc::clone(&ctx), shutdown.clone()));
        tasks.spawn(uploader::run(Arc::clone(&ctx), shutdown.clone()));
        probes.push(("catalog loop", Probe::Beat(ctx.beats.catalog.clone())));
        probes.push(("queue loop", Probe::Beat(ctx.beats.queue.clone())));
        probes.push(("outbox loop", Probe::Beat(ctx.beats.outbox.clone())));
    } else {
        tracing::warn!("no [sync] server_url: running offline-only; ratings wait in the outbox");
    }
    let tickets = crate::sync::tickets::TicketDesk::new(Arc::clone(&ctx), config.tickets.clone());
    let kiosk = Arc::new(kiosk_signal::KioskSignal::default());
    if ctx.is_configured() && config.update.enabled {
        tasks.spawn(crate::update::agent::run(
            Arc::clone(&ctx),
            config.update.clone(),
            opts.data_dir.clone(),
            update_signals(Arc::clone(&ctx), Arc::clone(&kiosk), config),
            shutdown.clone(),
        ));
    }
    if ctx.is_configured() {
        tasks.spawn(Arc::clone(&tickets).run(std::time::Duration::from_secs(15), shutdown.clone()));
    }
    let services = Arc::new(socket::Services {
        ctx: Arc::clone(&ctx),
        recorder: recorder.clone(),
        notices: notices.clone(),
        captures: socket::CaptureGate::for_daemon(
            recorder
                .as_ref()
                .map(|r| r.cameras().into_iter().map(|(c, _)| c).collect())
                .unwrap_or_default(),
        ),
        doctor: doctor_run::doctor_fn(doctor_run::DoctorSetup {
            config: opts.config.clone(),
            config_path: opts.system.config_path.clone(),
            data_dir: opts.data_dir.clone(),
            root: opts.system.root.clone(),
            gpio_error: gpio_error.clone(),
            ask_systemd: opts.system.notify_socket.is_some(),
            recorder: recorder.clone(),
        }),
        tickets,
        kiosk: Arc::clone(&kiosk),
    });
    let socket_done = Arc::new(AtomicBool::new(false));
    let done = Arc::clone(&socket_done);
    let sd = shutdown.clone();
    tasks.spawn(async move {
        socket::serve(listener, services, sd).await;
        done.store(true, Ordering::SeqCst);
    });
    probes.push((
        "local socket",
        Probe::Check(Box::new(move || !socket_done.load(Ordering::SeqCst))),
    ));
    if let Some(r) = &recording {
        probes.push(("recorder", Probe::Check(Box::new(r.alive_probe()))));
    }
    let mut review_addr = None;
    if let Some((ep, listener)) = review {
        review_addr = listener.local_addr().ok();
        let footage = recorder.as_ref().expect("review opens the recorder");
        let state = crate::review::ReviewState::open(crate::review::ReviewOptions {
            config: config.clone(),
            data_dir: opts.data_dir.clone(),
            footage: Arc::clone(footage.store()),
            clocks: Arc::clone(footage.clocks()),
            health: Arc::new(health::DaemonHealth {
                ctx: Arc::clone(&ctx),
                recorder: recorder.clone(),
            }),
        })?;
        let mut sd = shutdown.clone();
        tasks.spawn(async move {
            let stop = async move { sd.recv().await };
            if let Err(e) = crate::review::serve(listener, ep.tls, state, stop).await {
                tracing::error!("review UI: {e}");
            }
        });
    }
    tasks.spawn(health::run(
        health::HealthParts {
            ctx: Arc::clone(&ctx),
            recorder: recorder.clone(),
            device: device.as_ref().map(|d| Arc::clone(&d.service)),
            gpio_error,
            root: opts.system.root.clone(),
            data_dir: opts.data_dir.clone(),
            printer: config.printer.clone(),
        },
        opts.system.health_interval,
        shutdown.clone(),
    ));
    let watchdog = opts.system.watchdog_period.map(|period| {
        let wd = Watchdog::start(notifier(&opts.system.notify_socket), period);
        let probes = probes
            .into_iter()
            .map(|(name, p)| (wd.token(name), p))
            .collect();
        let every = (period / 4).max(Duration::from_millis(10));
        tasks.spawn(liveness::monitor(probes, every, shutdown.clone()));
        wd
    });
    let notify = notifier(&opts.system.notify_socket);
    notify.ready(&format!(
        "serving; sync {}, {} camera(s){}{}",
        if ctx.is_configured() {
            "on"
        } else {
            "not configured"
        },
        config.recorder.cameras.len(),
        if review_addr.is_some() {
            ", review UI"
        } else {
            ""
        },
        if device.is_some() { ", GPIO" } else { "" },
    ));
    Ok(RunningDaemon {
        ctx,
        socket_path: opts.socket_path,
        review_addr,
        recorder,
        notices,
        trigger: Arc::new(trigger),
        tasks,
        recording,
        device,
        notify,
        watchdog,
    })
}

/// What the update task needs to know each tick (docs/updates.md, "Quiet moments").
fn update_signals(
    ctx: Arc<SyncContext>,
    kiosk: Arc<kiosk_signal::KioskSignal>,
    config: &Config,
) -> Box<dyn Fn() -> crate::update::machine::Signals + Send + Sync> {
    use crate::queue::CounterStatus;
    let window = config.update.window();
    let quiet = Duration::from_secs(config.kiosk.idle_home_secs.into());
    Box::new(move || {
        use chrono::Timelike as _;
        let now = chrono::Local::now();
        let serving = crate::store::queue_store::board(&ctx.db())
            .map(|b| {
                b.iter()
                    .any(|c| matches!(c.status, CounterStatus::Serving | CounterStatus::Called))
            })
            .unwrap_or(true);
        let health_fault = ctx
            .device_health
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .is_some_and(|h| h.level == crate::device::health::HealthLevel::Fault);
        crate::update::machine::Signals {
            in_window: window.contains(now.hour() * 60 + now.minute()),
            kiosk_idle: kiosk.idle_for(quiet, std::time::Instant::now()),
            serving,
            kiosk_drawn: kiosk.drawn(),
            health_fault,
            synced: ctx.link.state() == crate::appliance::LinkState::Online,
        }
    })
}

impl RunningDaemon {
    /// Ask every part to stop and wait for it (STOPPING=1 first).
    pub async fn stop(mut self) {
        self.notify.stopping("stopping");
        self.trigger.fire();
        while self.tasks.join_next().await.is_some() {}
        let _ = std::fs::remove_file(&self.socket_path);
        let (device, recording, watchdog) = (
            self.device.take(),
            self.recording.take(),
            self.watchdog.take(),
        );
        self.recorder = None;
        let _ = tokio::task::spawn_blocking(move || {
            if let Some(d) = device {
                d.stop();
            }
            if let Some(r) = recording {
                r.stop();
            }
            if let Some(w) = watchdog {
                w.stop();
            }
        })
        .await;
    }

    pub fn shutdown(&self) -> Shutdown {
        self.trigger.subscribe()
    }

    /// The trigger, for a signal handler (`device::shutdown::ShutdownSignal::on_request`).
    pub fn trigger(&self) -> Arc<ShutdownTrigger> {
        Arc::clone(&self.trigger)
    }
}

/// Run until the first SIGTERM/SIGINT, then stop gracefully; a second signal ends the process
/// at once (`device::shutdown::ShutdownSignal`).
pub async fn run_until_signal(opts: DaemonOptions) -> anyhow::Result<()> {
    let signal = crate::device::shutdown::ShutdownSignal::install()?;
    let daemon = start(opts).await?;
    let trigger = daemon.trigger();
    signal.on_request(move || trigger.fire());
    tracing::info!(
        "motcua daemon running; socket {}",
        daemon.socket_path.display()
    );
    daemon.shutdown().recv().await;
    tracing::info!("shutting down");
    daemon.stop().await;
    Ok(())
}
