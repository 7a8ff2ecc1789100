//! The kiosk on a device talks to `motcua daemon`: the services object `motcua kiosk` builds
//! (`kiosk::daemon_link::device_services`) against a real offline-only daemon — link state,
//! ratings into the daemon's outbox, record lookups answered "offline".

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
