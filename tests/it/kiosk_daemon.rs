//! The kiosk on a device talks to `motcua daemon`: the services object `motcua kiosk` builds
//! (`kiosk::daemon_link::device_services`) against a real offline-only daemon — link state,
//! ratings into the daemon's outbox, record lookups answered "offline"; the motion
//! subscriber receiving the daemon's motion events and reconnecting after a restart.

use motcua::appliance::{LinkState, LookupError, Rating, RatingLevel};
use motcua::config::Config;
use motcua::daemon::{start, DaemonOptions};
use motcua::kiosk::daemon_link::device_services;
use motcua::record::RecordId;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kiosk_services_go_to_an_offline_only_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let cfg = Config::default();
    let mut opts = DaemonOptions::offline(&cfg, &data);
    opts.system.root = dir.path().join("root");
    let d = start(opts).await.unwrap();

    // Exactly what `motcua kiosk` builds from the same config and data directory.
    let services = device_services(&cfg, &data);
    let (link, stored, lookup) = tokio::task::spawn_blocking(move || {
        let link = services.link_state();
        let stored = services.submit_rating(Rating {
            key: "kiosk-1".into(),
            counter: 2,
            official_id: None,
            level: RatingLevel::Satisfied,
            at: "2026-11-23T08:00:00+07:00".into(),
        });
        let id: RecordId = "000.00.14.H56-261123-0042".parse().unwrap();
        (link, stored, services.lookup_record(&id))
    })
    .await
    .unwrap();
    assert_eq!(link, LinkState::NotConfigured);
    assert_eq!(stored, Ok(()));
    assert_eq!(motcua::sync::outbox::depth(&d.ctx.db()).unwrap(), 1);
    assert_eq!(lookup, Err(LookupError::Offline));
    d.stop().await;
}

/// The kiosk's motion subscriber against a real daemon: a motion notice arrives as an action
/// (a short quiet time only wakes, a long one also goes home), and after the daemon restarts
/// on the same socket the subscriber reconnects by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn motion_subscriber_reconnects_across_a_daemon_restart() {
    use motcua::daemon::protocol::Notice;
    use motcua::kiosk::motion::{spawn_subscriber, MotionAction};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let cfg = Config::default();
    let opts = || {
        let mut o = DaemonOptions::offline(&cfg, &data);
        o.system.root = dir.path().join("root");
        o
    };
    let d = start(opts()).await.unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let tx = std::sync::Mutex::new(tx);
    spawn_subscriber(
        d.socket_path.clone(),
        Duration::from_secs(90),
        stop.clone(),
        move |a| {
            let _ = tx.lock().unwrap().send(a);
        },
    );
    // Send until the subscriber is connected and gets one (events are not replayed).
    async fn expect(
        d: &motcua::daemon::RunningDaemon,
        rx: &std::sync::mpsc::Receiver<MotionAction>,
        quiet_ms: u64,
    ) -> MotionAction {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let _ = d.notices.send(Notice::Motion {
                quiet_before_ms: Some(quiet_ms),
            });
            tokio::time::sleep(Duration::from_millis(100)).await;
            if let Ok(a) = rx.try_recv() {
                while rx.try_recv().is_ok() {}
                return a;
            }
            assert!(Instant::now() < deadline, "no motion action arrived");
        }
    }
    assert_eq!(expect(&d, &rx, 1_500).await, MotionAction::Wake);
    assert_eq!(expect(&d, &rx, 600_000).await, MotionAction::WakeAndGoHome);
    d.stop().await;
    let d = start(opts()).await.unwrap();
    assert_eq!(expect(&d, &rx, 1_500).await, MotionAction::Wake);
    stop.store(true, Ordering::Relaxed);
    d.stop().await;
}
