//! The daemon's capture gate for the kiosk's group, end to end: a real daemon (offline, a
//! synthetic camera at counter 3) and `motcua snapshot capture` run as another user (nobody,
//! through `setpriv`; the socket opened to it as the kiosk's group would be). Such a client
//! must name a record this device has seen at that counter, and gets at most
//! `CAPTURE_LIMIT` captures per counter per minute; root (the test itself) is not limited.
//! Needs root (setpriv); the lead's test run is root.

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output};

use motcua::config::Config;
use motcua::daemon::socket::CAPTURE_LIMIT;
use motcua::daemon::{start, DaemonOptions};
use motcua::queue::{QueueEvent, QueueEventKind};
use motcua::record::RecordId;
use motcua::store::queue_store;

const REC: &str = "000.00.14.H56-261123-0077";
const OTHER: &str = "000.00.14.H56-261123-0078";

fn capture(cfg: &std::path::Path, data: &std::path::Path, record: &str, as_nobody: bool) -> Output {
    capture_at(cfg, data, record, 3, as_nobody)
}

fn capture_at(
    cfg: &std::path::Path,
    data: &std::path::Path,
    record: &str,
    counter: u32,
    as_nobody: bool,
) -> Output {
    let bin = env!("CARGO_BIN_EXE_motcua");
    let mut c = if as_nobody {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", bin]);
        c
    } else {
        Command::new(bin)
    };
    c.arg("--config")
        .arg(cfg)
        .arg("--data-dir")
        .arg(data)
        .args(["snapshot", "capture", "--counter", &counter.to_string()])
        .args(["--record", record])
        .env_remove("MOTCUA_DATA_DIR")
        .output()
        .unwrap()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kiosk_group_is_limited_and_must_name_a_known_record() {
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "this test runs a client as another user (setpriv): run it as root"
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let text =
        "[[recorder.cameras]]\ncounter = 3\ndevice = \"synthetic\"\nwidth = 320\nheight = 240\n";
    let cfg_path = dir.path().join("motcua.toml");
    std::fs::write(&cfg_path, text).unwrap();
    let cfg = Config::parse(&cfg_path, text.as_bytes()).unwrap();
    let mut opts = DaemonOptions::offline(&cfg, &data);
    opts.system.root = dir.path().join("root");
    let d = start(opts).await.unwrap();
    // As the kiosk's group reaches it on the device (here: everyone, for user nobody).
    std::fs::set_permissions(&d.socket_path, std::fs::Permissions::from_mode(0o666)).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();

    // An unknown record is refused for the limited client, nothing is captured.
    let (c, dd) = (cfg_path.clone(), data.clone());
    let o = tokio::task::spawn_blocking(move || capture(&c, &dd, REC, true))
        .await
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert_eq!(
        err(&o),
        format!("motcua: error: record {REC} is not known at counter 3 (not on its queue board, not looked up on this device); captures from the kiosk link only to records this device has seen")
    );
    // A counter with no camera is refused before the record or the rate limit is looked at
    // (each counter sent used to get its own rate-limit entry).
    let (c, dd) = (cfg_path.clone(), data.clone());
    let o = tokio::task::spawn_blocking(move || capture_at(&c, &dd, REC, 9, true))
        .await
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert_eq!(
        err(&o),
        "motcua: error: counter 9 has no camera on this device (cameras at counter 3)"
    );
    // Root (like the daemon's own user) is not limited: it may write footage directly anyway.
    let (c, dd) = (cfg_path.clone(), data.clone());
    let o = tokio::task::spawn_blocking(move || capture(&c, &dd, OTHER, false))
        .await
        .unwrap();
    assert!(o.status.success(), "{}", err(&o));

    // The board says counter 3 serves REC: the limited client may capture it, CAPTURE_LIMIT
    // times a minute.
    queue_store::apply_events(
        &mut d.ctx.db(),
        &[QueueEvent {
            seq: 1,
            counter: 3,
            kind: QueueEventKind::Started,
            ticket: Some("3001".into()),
            record_id: Some(RecordId::parse(REC).unwrap()),
            waiting: Some(0),
            at: "2026-11-23T08:00:00+07:00".into(),
        }],
    )
    .unwrap();
    for i in 0..CAPTURE_LIMIT {
        let (c, dd) = (cfg_path.clone(), data.clone());
        let o = tokio::task::spawn_blocking(move || capture(&c, &dd, REC, true))
            .await
            .unwrap();
        assert!(o.status.success(), "capture {i}: {}", err(&o));
        let snap: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(snap["record_id"], REC);
    }
    let (c, dd) = (cfg_path.clone(), data.clone());
    let o = tokio::task::spawn_blocking(move || capture(&c, &dd, REC, true))
        .await
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).starts_with(
            "motcua: error: too many captures at counter 3: at most 6 per 60 s from the kiosk; try again in "
        ),
        "{}",
        err(&o)
    );
    // Root still can.
    let (c, dd) = (cfg_path.clone(), data.clone());
    let o = tokio::task::spawn_blocking(move || capture(&c, &dd, REC, false))
        .await
        .unwrap();
    assert!(o.status.success(), "{}", err(&o));
    d.stop().await;
}
