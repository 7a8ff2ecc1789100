//! The daemon as the appliance runs it, every part wired: a queue event from a real hub becomes
//! a snapshot (synthetic camera) listed by `motcua snapshots list --record`; `motcua snapshot
//! capture` goes through the daemon's socket while it runs and directly once it stopped;
//! systemd READY/WATCHDOG/STOPPING; offline-only mode with the review UI, GPIO (fake pins:
//! button → snapshot of the record on the board, PIR → a motion event to a socket
//! subscriber), health reports, ratings kept in the outbox and `sync status` saying "not
//! configured"; the doctor's server check against the hub (ok, and a refused token named).

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use motcua::appliance::{ApplianceServices, LinkState, Rating, RatingLevel};
use motcua::config::Config;
use motcua::daemon::client::DaemonClient;
use motcua::daemon::{start, DaemonOptions};
use motcua::device::gpio::FakeGpio;
use motcua::doctor::server::SyncServerCheck;
use motcua::doctor::{CheckLevel, ServerCheck};
use motcua::queue::{QueueEvent, QueueEventKind};
use motcua::record::RecordId;
use motcua::store::queue_store;

use super::support::stdout;
use super::sync_daemon::daemon_options;
use super::sync_support::TestHub;

const REC: &str = "000.00.14.H56-261123-0042";
const CAMERA: &str =
    "[[recorder.cameras]]\ncounter = 3\ndevice = \"synthetic\"\nwidth = 320\nheight = 240\n";

fn config(dir: &std::path::Path, text: &str) -> (Config, std::path::PathBuf) {
    let path = dir.join("motcua.toml");
    std::fs::write(&path, text).unwrap();
    (Config::parse(&path, text.as_bytes()).unwrap(), path)
}

fn motcua(config: &std::path::Path, data: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_motcua"))
        .arg("--config")
        .arg(config)
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env_remove("MOTCUA_DATA_DIR")
        .output()
        .unwrap()
}

fn listed(config: &std::path::Path, data: &std::path::Path) -> Vec<serde_json::Value> {
    let o = motcua(
        config,
        data,
        &["snapshots", "list", "--record", REC, "--json"],
    );
    if !o.status.success() {
        return Vec::new(); // footage.db not there yet
    }
    serde_json::from_slice::<Vec<serde_json::Value>>(&o.stdout).unwrap()
}

async fn until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !cond() {
        assert!(t0.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn datagrams(rx: &UnixDatagram) -> Vec<String> {
    let mut out = Vec::new();
    let mut buf = [0u8; 512];
    while let Ok(n) = rx.recv(&mut buf) {
        out.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    out
}

fn started(counter: u32) -> QueueEvent {
    QueueEvent {
        seq: 0,
        counter,
        kind: QueueEventKind::Started,
        ticket: Some("3001".into()),
        record_id: Some(RecordId::parse(REC).unwrap()),
        waiting: Some(0),
        at: chrono::Utc::now().to_rfc3339(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_event_becomes_a_snapshot_and_the_cli_captures_through_the_daemon() {
    let hub = TestHub::start().await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let (cfg, cfg_path) = config(dir.path(), CAMERA);
    let mut opts = daemon_options(&hub.url(), &hub, &data);
    opts.socket_path = motcua::daemon::socket_path(&cfg, &data);
    opts.config = cfg;
    let notify_path = dir.path().join("notify");
    let notify_rx = UnixDatagram::bind(&notify_path).unwrap();
    notify_rx.set_nonblocking(true).unwrap();
    opts.system.notify_socket = Some(notify_path.to_str().unwrap().into());
    opts.system.watchdog_period = Some(Duration::from_millis(100));
    let d = start(opts).await.unwrap();
    let ready = datagrams(&notify_rx);
    assert!(
        ready
            .iter()
            .any(|m| m.starts_with("READY=1") && m.contains("serving; sync on, 1 camera(s)")),
        "{ready:?}"
    );

    // The hub says: service started at counter 3 for REC → a snapshot in footage.db.
    hub.state.push_event(&started(3)).await.unwrap();
    until(
        "snapshot for the queue event",
        Duration::from_secs(10),
        || {
            listed(&cfg_path, &data)
                .iter()
                .any(|s| s["reason"] == "started" && s["counter"] == 3)
        },
    )
    .await;

    // The CLI asks the running daemon (it could not open the camera or the store itself).
    let o = motcua(
        &cfg_path,
        &data,
        &[
            "snapshot",
            "capture",
            "--counter",
            "3",
            "--record",
            REC,
            "--reason",
            "complaint",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let snap: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(snap["record_id"], REC);
    assert_eq!(snap["reason"], "complaint");
    assert_eq!(snap["sha256"].as_str().unwrap().len(), 64);
    let o = motcua(
        &cfg_path,
        &data,
        &["snapshot", "capture", "--counter", "9", "--record", REC],
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr).trim(),
        "motcua: error: no camera is configured for counter 9; add one under [[recorder.cameras]]"
    );
    // A malformed request on the socket gets an exact refusal, nothing is captured.
    let mut s = UnixStream::connect(&d.socket_path).unwrap();
    s.write_all(b"{\"op\":\"capture\",\"counter\":3,\"record_id\":\"../etc\"}\n")
        .unwrap();
    let mut line = String::new();
    BufReader::new(&s).read_line(&mut line).unwrap();
    assert!(
        line.contains("a record ID may contain only letters, digits"),
        "{line}"
    );

    tokio::time::sleep(Duration::from_millis(300)).await;
    let pings = datagrams(&notify_rx);
    assert!(
        pings.iter().filter(|m| *m == "WATCHDOG=1").count() >= 2,
        "{pings:?}"
    );
    d.stop().await;
    let last = datagrams(&notify_rx);
    assert!(
        last.contains(&"STOPPING=1\nSTATUS=stopping".to_owned()),
        "{last:?}"
    );

    // Daemon gone: the CLI captures directly (the camera and the footage lock are free).
    let o = motcua(
        &cfg_path,
        &data,
        &["snapshot", "capture", "--counter", "3", "--record", REC],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(listed(&cfg_path, &data).len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_only_daemon_runs_recorder_review_gpio_and_keeps_ratings() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let text = format!(
        "{CAMERA}\n[review]\nlisten = \"127.0.0.1:0\"\n\n[gpio]\npir_pin = 17\nbuttons = [{{ counter = 3, pin = 5 }}]\nstatus_led_pin = 22\n"
    );
    let (cfg, cfg_path) = config(dir.path(), &text);
    let gpio = FakeGpio::new();
    let mut opts = DaemonOptions::offline(&cfg, &data);
    opts.system.gpio = Some(Arc::new(gpio.clone()));
    opts.system.root = dir.path().join("root"); // no sysfs: health reads nothing there
    let d = start(opts).await.unwrap();

    let client = DaemonClient::new(&d.socket_path);
    assert_eq!(client.link_state(), LinkState::NotConfigured);
    let rating = Rating {
        key: "r-1".into(),
        counter: 3,
        official_id: None,
        level: RatingLevel::Satisfied,
        at: "2026-11-23T08:00:00+07:00".into(),
    };
    let c = client.clone();
    tokio::task::spawn_blocking(move || c.submit_rating(rating).unwrap())
        .await
        .unwrap();
    assert_eq!(motcua::sync::outbox::depth(&d.ctx.db()).unwrap(), 1);
    let o = motcua(&cfg_path, &data, &["sync", "status"]);
    assert!(
        stdout(&o).starts_with("server:       not configured (no [sync] server_url)"),
        "{}",
        stdout(&o)
    );
    assert!(
        stdout(&o).contains("\ndaemon:       running; "),
        "{}",
        stdout(&o)
    );
    assert!(
        stdout(&o).contains("outbox:       1 waiting"),
        "{}",
        stdout(&o)
    );

    // The review UI answers on its loopback address.
    let addr = d.review_addr.expect("review UI runs");
    let r = reqwest::get(format!("http://{addr}/login")).await.unwrap();
    assert_eq!(r.status(), 200);

    // Health: collected at start, shown on the LED, kept for heartbeats.
    until("a health report", Duration::from_secs(5), || {
        d.ctx.device_health.lock().unwrap().is_some()
    })
    .await;
    assert!(
        !gpio.output_history(22).is_empty(),
        "the status LED was driven"
    );

    // The kiosk subscribes; PIR motion arrives as an event line.
    let sub = UnixStream::connect(&d.socket_path).unwrap();
    (&sub).write_all(b"{\"op\":\"subscribe\"}\n").unwrap();
    sub.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut lines = BufReader::new(sub).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "\"subscribed\"");
    gpio.drive(17, true, Instant::now());
    assert_eq!(
        lines.next().unwrap().unwrap(),
        r#"{"event":{"kind":"motion","quiet_before_ms":null}}"#
    );

    // The board says counter 3 serves REC; its button takes a snapshot linked to it.
    queue_store::apply_events(
        &mut d.ctx.db(),
        &[QueueEvent {
            seq: 1,
            ..started(3)
        }],
    )
    .unwrap();
    let t0 = Instant::now();
    gpio.drive(5, true, t0);
    gpio.drive(5, false, t0 + Duration::from_millis(100));
    assert_eq!(
        lines.next().unwrap().unwrap(),
        r#"{"event":{"kind":"button","counter":3}}"#
    );
    until("button snapshot", Duration::from_secs(10), || {
        listed(&cfg_path, &data)
            .iter()
            .any(|s| s["reason"] == "button")
    })
    .await;
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_checks_the_server_with_the_sync_client() {
    let hub = TestHub::start().await;
    let dir = tempfile::tempdir().unwrap();
    let check = |token: &str| {
        let text = format!(
            "[sync]\nserver_url = \"{}\"\ntoken = \"{token}\"\npublic_keys = [\"{}\"]\n",
            hub.url(),
            hub.pinned().to_base64()
        );
        let (cfg, _) = config(dir.path(), &text);
        SyncServerCheck {
            config: Some(cfg),
            data_dir: dir.path().to_owned(),
        }
    };
    let good = check(&hub.token);
    let bad = check("mct_wrong");
    let (good, bad) = tokio::task::spawn_blocking(move || (good.check(), bad.check()))
        .await
        .unwrap();
    assert_eq!(good.level, CheckLevel::Ok, "{good:?}");
    assert!(
        good.summary
            .ends_with("reachable, token accepted, its catalog verifies with a pinned key"),
        "{}",
        good.summary
    );
    assert_eq!(bad.level, CheckLevel::Fail);
    assert!(
        bad.summary
            .starts_with("the central server refused this device's token (HTTP 401)"),
        "{}",
        bad.summary
    );
}

/// `motcua daemon` with no server configured starts (offline-only), serves its socket, and the
/// first SIGTERM stops it gracefully (exit 0, socket removed).
#[test]
fn motcua_daemon_runs_offline_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (_, cfg_path) = config(dir.path(), "");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_motcua"))
        .arg("--config")
        .arg(&cfg_path)
        .arg("--data-dir")
        .arg(&data)
        .arg("daemon")
        .env_remove("MOTCUA_DATA_DIR")
        .env_remove("NOTIFY_SOCKET")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let sock = data.join("daemon.sock");
    let t0 = Instant::now();
    while DaemonClient::if_running(&sock).is_none() {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "daemon did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        DaemonClient::new(&sock).link_state(),
        LinkState::NotConfigured
    );
    // SAFETY: signalling our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "daemon did not stop"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
    assert!(!sock.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_gpio_pins_leave_the_daemon_running_with_a_gpio_fault_in_health() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let text = format!("{CAMERA}\n[gpio]\npir_pin = 17\nstatus_led_pin = 22\n");
    let (cfg, _) = config(dir.path(), &text);
    let gpio = FakeGpio::new();
    gpio.set_busy(17);
    let mut opts = DaemonOptions::offline(&cfg, &data);
    opts.system.gpio = Some(Arc::new(gpio.clone()));
    opts.system.root = dir.path().join("root");
    let d = start(opts)
        .await
        .expect("the daemon starts without its GPIO");

    let client = DaemonClient::new(&d.socket_path);
    let health = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match client.health() {
                Ok(h) => return h,
                Err(e) if Instant::now() > deadline => panic!("no health report: {e}"),
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    })
    .await
    .unwrap();
    let item = health
        .items
        .iter()
        .find(|i| i.name == "gpio")
        .expect("a gpio line");
    assert_eq!(item.level, motcua::device::HealthLevel::Fault);
    assert!(
        item.message.contains("17"),
        "names the pin: {}",
        item.message
    );
    assert_eq!(health.level, motcua::device::HealthLevel::Fault);
    assert!(
        gpio.output_history(22).is_empty(),
        "nothing was left configured"
    );
}
