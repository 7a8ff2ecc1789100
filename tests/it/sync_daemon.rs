//! The daemon as a whole against a real hub: recovery timing, the queue across a hub restart,
//! the outbox and record lookups through the local socket, and `motcua sync status`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use motcua::appliance::{ApplianceServices, LinkState, LookupError, Rating, RatingLevel};
use motcua::daemon::client::DaemonClient;
use motcua::daemon::{start, DaemonOptions, RunningDaemon, SyncOptions};
use motcua::queue::{QueueEvent, QueueEventKind};
use motcua::record::{RecordId, RecordStage};
use motcua::store::queue_store;
use motcua::sync::clock::SystemClock;
use motcua::sync::outbox;

use super::sync_support::*;

pub async fn daemon(url: &str, hub: &TestHub, dir: &std::path::Path) -> RunningDaemon {
    start(daemon_options(url, hub, dir)).await.unwrap()
}

/// Options for a daemon on `dir` synced with `hub` at `url`, with test timings.
pub fn daemon_options(url: &str, hub: &TestHub, dir: &std::path::Path) -> DaemonOptions {
    let mut o = DaemonOptions::offline(&motcua::config::Config::default(), dir);
    o.sync = Some(SyncOptions {
        server_url: url.to_owned(),
        token: hub.token.clone(),
        keys: vec![hub.pinned()],
        client: test_client_settings(),
    });
    o.settings = test_settings();
    o.clock = Arc::new(SystemClock);
    o
}

/// Wait (bounded) until `cond` holds.
async fn until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) -> Duration {
    let t0 = Instant::now();
    while !cond() {
        assert!(t0.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    t0.elapsed()
}

fn version(d: &RunningDaemon) -> Option<u64> {
    d.ctx.catalog().info().unwrap().map(|i| i.version)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_recovers_within_two_backoff_periods() {
    let hub = TestHub::start().await;
    let front = FaultFront::start(hub.addr).await;
    let dir = tempfile::tempdir().unwrap();
    let d = daemon(&front.url(), &hub, dir.path()).await;
    let first = hub.state.db().latest().unwrap().unwrap().version;
    until("first catalog", Duration::from_secs(5), || {
        version(&d) == Some(first)
    })
    .await;
    front.set(Fault::HangUp);
    let failures = || {
        let s = motcua::sync::state::read_status(&d.ctx.db(), chrono::Utc::now()).unwrap();
        s.channels
            .iter()
            .find(|c| c.channel == "catalog")
            .map_or(0, |c| c.failures)
    };
    until("4 failures", Duration::from_secs(5), || failures() >= 4).await;
    // Backoff is now at its cap: min(interval 400 ms, max 200 ms, 50 ms·2ⁿ) = 200 ms.
    let v = hub.publish_catalog(30);
    front.set(Fault::Proxy);
    let took = until("recovery", Duration::from_secs(5), || {
        version(&d) == Some(v)
    })
    .await;
    assert!(
        took <= Duration::from_millis(2 * 200 + 200),
        "recovered after {took:?}"
    );
    d.stop().await;
}

fn event(counter: u32, kind: QueueEventKind, n: u32) -> QueueEvent {
    QueueEvent {
        seq: 0,
        counter,
        kind,
        ticket: Some(format!("{}", counter * 1000 + n)),
        record_id: (kind == QueueEventKind::Started)
            .then(|| RecordId::parse(&format!("000.00.14.H56-261123-{n:04}")).unwrap()),
        waiting: Some(n),
        at: chrono::Utc::now().to_rfc3339(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_events_arrive_in_order_and_none_are_lost_across_a_hub_restart() {
    let mut hub = TestHub::start().await;
    let dir = tempfile::tempdir().unwrap();
    let d = daemon(&hub.url(), &hub, dir.path()).await;
    let mut rx = d.ctx.subscribe();
    let kinds = [
        QueueEventKind::Called,
        QueueEventKind::Started,
        QueueEventKind::Finished,
    ];
    let push = |hub: &TestHub, from: u32, to: u32| {
        for n in from..to {
            hub.state
                .db()
                .push_event(&event(1 + n % 3, kinds[(n % 3) as usize], n), "2026-12-06")
                .unwrap();
        }
    };
    let seq = |d: &RunningDaemon| queue_store::last_seq(&d.ctx.db()).unwrap();
    push(&hub, 0, 20);
    until("20 events", Duration::from_secs(5), || seq(&d) == 20).await;
    hub.kill();
    push(&hub, 20, 30); // written while the server is down
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(seq(&d), 20);
    hub.restart().await;
    push(&hub, 30, 40);
    until("40 events", Duration::from_secs(10), || seq(&d) == 40).await;
    let stored: Vec<u64> = d
        .ctx
        .db()
        .prepare("SELECT seq FROM queue_events ORDER BY rowid")
        .unwrap()
        .query_map([], |r| r.get::<_, i64>(0).map(|s| s as u64))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(stored, (1..=40).collect::<Vec<u64>>());
    // Published after each commit, so collect with a bound.
    let mut published = Vec::new();
    while published.len() < 40 {
        let e = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("event published")
            .unwrap();
        published.push(e.seq);
    }
    assert_eq!(published, (1..=40).collect::<Vec<u64>>());
    let board = queue_store::board(&d.ctx.db()).unwrap();
    assert_eq!(board.len(), 3);
    d.stop().await;
}

fn rating(key: &str) -> Rating {
    Rating {
        key: key.into(),
        counter: 2,
        official_id: Some("cb-02".into()),
        level: RatingLevel::VerySatisfied,
        at: "2026-11-23T08:00:00+07:00".into(),
    }
}

/// Run a blocking kiosk call off the runtime.
async fn kiosk<T: Send + 'static>(
    c: &DaemonClient,
    f: impl FnOnce(DaemonClient) -> T + Send + 'static,
) -> T {
    let c = c.clone();
    tokio::task::spawn_blocking(move || f(c)).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ratings_wait_offline_and_upload_once_and_lookups_use_the_cache() {
    let mut hub = TestHub::start().await;
    let id = RecordId::parse("000.00.14.H56-261120-0042").unwrap();
    let due = chrono::NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
    hub.state
        .db()
        .set_record(&motcua::hub::db::record_status(
            id.clone(),
            RecordStage::InProgress,
            due,
            None,
            None,
        ))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = daemon(&hub.url(), &hub, dir.path()).await;
    let client = DaemonClient::new(&d.socket_path);
    let s = kiosk(&client, {
        let id = id.clone();
        move |c| c.lookup_record(&id)
    })
    .await
    .unwrap();
    assert_eq!((s.stage, s.due_on), (RecordStage::InProgress, due));
    let unknown = RecordId::parse("000.00.14.H56-261120-0099").unwrap();
    let r = kiosk(&client, {
        let u = unknown.clone();
        move |c| c.lookup_record(&u)
    })
    .await;
    assert_eq!(r, Err(LookupError::NotFound));

    // The start-up heartbeat goes out first.
    until("heartbeat", Duration::from_secs(5), || {
        outbox::depth(&d.ctx.db()).unwrap() == 0
            && hub.state.db().upload_count("heartbeat").unwrap() == 1
    })
    .await;
    hub.kill();
    kiosk(&client, |c| c.submit_rating(rating("r-1")))
        .await
        .unwrap();
    let err = kiosk(&client, |c| {
        c.submit_rating(Rating {
            counter: 0,
            ..rating("r-2")
        })
    })
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the rating could not be stored: rating counter 0 is out of range 1..=999"
    );
    assert_eq!(outbox::depth(&d.ctx.db()).unwrap(), 1);
    // Offline: the cached status answers; an uncached record cannot be looked up.
    let cached = kiosk(&client, {
        let id = id.clone();
        move |c| c.lookup_record(&id)
    })
    .await
    .unwrap();
    assert_eq!(cached, s);
    let r = kiosk(&client, move |c| c.lookup_record(&unknown)).await;
    assert_eq!(r, Err(LookupError::Offline));
    until("offline link", Duration::from_secs(5), || {
        matches!(d.ctx.link.state(), LinkState::Offline { since: Some(_) })
    })
    .await;
    assert!(matches!(
        kiosk(&client, |c| c.link_state()).await,
        LinkState::Offline { .. }
    ));

    hub.restart().await;
    until("upload", Duration::from_secs(5), || {
        outbox::depth(&d.ctx.db()).unwrap() == 0
            && hub.state.db().upload_count("rating").unwrap() == 1
    })
    .await;
    // The same rating again (a kiosk retry): stored, uploaded, counted once by the hub.
    kiosk(&client, |c| c.submit_rating(rating("r-1")))
        .await
        .unwrap();
    until("second upload", Duration::from_secs(5), || {
        outbox::depth(&d.ctx.db()).unwrap() == 0
    })
    .await;
    assert_eq!(hub.state.db().upload_count("rating").unwrap(), 1);
    until("online", Duration::from_secs(5), || {
        d.ctx.link.state() == LinkState::Online
    })
    .await;
    d.stop().await;
    assert!(!dir.path().join("daemon.sock").exists());
}

#[tokio::test]
async fn sync_status_command_says_why() {
    let hub = TestHub::start().await;
    let front = FaultFront::start(hub.addr).await;
    let app = Appliance::new(&front.url(), &hub.token, vec![hub.pinned()]);
    motcua::sync::catalog_sync::poll_catalog(&app.ctx)
        .await
        .unwrap();
    // A counter serving a ticket, as the device heard it from the hub.
    hub.state
        .push_event(&event(2, QueueEventKind::Started, 7))
        .await
        .unwrap();
    motcua::sync::queue_sync::follow_once(&app.ctx)
        .await
        .unwrap();
    front.set(Fault::Status500);
    motcua::sync::catalog_sync::poll_catalog(&app.ctx)
        .await
        .unwrap_err();
    let version = app.installed().unwrap().0;
    let run = |json: bool| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_motcua"));
        cmd.arg("--config").arg(app.dir.path().join("none.toml"));
        cmd.arg("--data-dir")
            .arg(app.dir.path())
            .args(["sync", "status"]);
        if json {
            cmd.arg("--json");
        }
        std::fs::write(app.dir.path().join("none.toml"), "").unwrap();
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let v: serde_json::Value = serde_json::from_str(&run(true)).unwrap();
    // No daemon runs in this test: the report must not pass the recorded state off as current.
    assert_eq!(v["daemon_running"], false);
    assert!(v["state_age_secs"].as_i64().unwrap() >= 0, "{v}");
    assert_eq!(v["queue"][0]["counter"], 2);
    assert_eq!(v["queue"][0]["status"], "serving");
    assert_eq!(v["catalog_version"], version);
    assert_eq!(v["outbox_depth"], 0);
    assert_eq!(
        v["last_error"],
        "catalog: the central server had an internal error (HTTP 500); it will be retried"
    );
    let text = run(false);
    assert!(
        text.contains("\ndaemon:       NOT RUNNING (nothing answers at "),
        "{text}"
    );
    assert!(text.contains("its last attempt was "), "{text}");
    assert!(
        text.contains("\n  catalog  failing   1 failure(s), last "),
        "{text}"
    );
    assert!(
        text.contains("\n  queue    ok        last success "),
        "{text}"
    );
    assert!(
        text.contains("\n  counter 2   serving  ticket 2007 record 000.00.14.H56-261123-0007 · 7 waiting · updated "),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "catalog:      version {version} from {}/v1/catalog\n",
            front.url()
        )),
        "{text}"
    );
    assert!(text.contains("last error:   catalog: the central server had an internal error (HTTP 500); it will be retried\n"), "{text}");
}
