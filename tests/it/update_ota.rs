//! Software updates against a real hub on loopback (docs/updates.md): staged rollout answers,
//! ranged bundle downloads resumed after a cut, size and checksum refusals, and the daemon's
//! update task through a whole good cycle on the fake slots, reported in heartbeats.

use std::sync::Arc;
use std::time::Duration;

use motcua::hub::updates::BundleStore;
use motcua::sync::HubClient;
use motcua::update::config::UpdateConfig;
use motcua::update::download::{self, DownloadError};
use motcua::update::installer::{FakeSlots, Installer};
use motcua::update::machine::{load_state, Signals};

use crate::sync_support::{test_client_settings, Appliance, Fault, FaultFront, TestHub};

/// 300 KB of bytes that compress badly, published as 1.1 for kiosk-1 only.
async fn publish(hub: &TestHub) -> (Vec<u8>, String) {
    let bundle: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let file = hub.dir().join("upload.raucb");
    std::fs::write(&file, &bundle).unwrap();
    let (sha, size) = BundleStore::new(hub.dir()).import(&file, 1 << 30).unwrap();
    hub.state
        .store()
        .publish_update(
            &motcua::hub::updates::NewRelease {
                channel: "stable",
                version: "1.1",
                sha256: &sha,
                size,
                percent: 0,
                devices: &["kiosk-1".into()],
            },
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    (bundle, sha)
}

#[tokio::test]
async fn the_rollout_answers_and_a_cut_download_resumes() {
    let hub = TestHub::start().await;
    let (bundle, sha) = publish(&hub).await;
    let other = hub
        .state
        .db()
        .add_device("kiosk-2", chrono::Utc::now())
        .unwrap();
    let front = FaultFront::start(hub.addr).await;
    let client = HubClient::new(&front.url(), &hub.token, test_client_settings()).unwrap();

    let offer = client
        .update_offer("stable", "1.0", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(offer.version, "1.1");
    assert_eq!(offer.size, 300_000);
    assert_eq!(offer.sha256, sha);
    assert_eq!(offer.url, format!("/v1/update/bundles/{sha}"));
    assert_eq!(
        client.update_offer("stable", "1.1", None).await.unwrap(),
        None,
        "runs it already"
    );
    assert_eq!(
        client.update_offer("beta", "1.0", None).await.unwrap(),
        None
    );
    let kiosk2 = HubClient::new(&hub.url(), &other, test_client_settings()).unwrap();
    assert_eq!(
        kiosk2.update_offer("stable", "1.0", None).await.unwrap(),
        None,
        "not named, 0 %"
    );
    assert_eq!(
        kiosk2
            .update_offer("stable", "1.0", Some("1.1"))
            .await
            .unwrap()
            .unwrap()
            .version,
        "1.1",
        "a pin asks for it"
    );

    let dir = tempfile::tempdir().unwrap();
    let e = download::fetch(
        &client,
        &offer,
        dir.path(),
        299_999,
        Duration::from_secs(10),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, DownloadError::OverLimit { .. }));
    assert_eq!(e.to_string(), "update 1.1: the hub announces 300000 bytes, over [update] max_bundle_bytes = 299999; raise it only if the root filesystem really is that big");

    front.set(Fault::ProxyCut(150_000));
    let e = download::fetch(
        &client,
        &offer,
        dir.path(),
        1 << 30,
        Duration::from_secs(10),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, DownloadError::Sync { .. }), "{e}");
    let (part, done) = download::paths(dir.path(), &offer);
    let kept = std::fs::metadata(&part).unwrap().len();
    assert!(kept > 100_000 && kept < 150_000, "{kept} bytes kept");
    front.set(Fault::Proxy);
    let path = download::fetch(
        &client,
        &offer,
        dir.path(),
        1 << 30,
        Duration::from_secs(10),
    )
    .await
    .unwrap();
    assert_eq!(path, done);
    assert_eq!(std::fs::read(&done).unwrap(), bundle);
    assert!(!part.exists());
    let last = front
        .heads
        .lock()
        .unwrap()
        .last()
        .unwrap()
        .to_ascii_lowercase();
    assert!(last.contains(&format!("range: bytes={kept}-")), "{last}");

    // A damaged .part (bit flipped) fails the checksum and is deleted.
    std::fs::remove_file(&done).unwrap();
    let mut bad = bundle.clone();
    bad[7] ^= 1;
    std::fs::write(&part, &bad).unwrap();
    let e = download::fetch(
        &client,
        &offer,
        dir.path(),
        1 << 30,
        Duration::from_secs(10),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, DownloadError::Checksum { .. }), "{e}");
    assert!(!part.exists() && !done.exists());
}

#[tokio::test]
async fn the_bundle_route_speaks_ranges_and_needs_a_token() {
    let hub = TestHub::start().await;
    let (bundle, sha) = publish(&hub).await;
    let url = format!("{}/v1/update/bundles/{sha}", hub.url());
    let http = reqwest::Client::new();
    let r = http
        .get(&url)
        .bearer_auth(&hub.token)
        .header("range", "bytes=10-19")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(r.headers()["content-range"], "bytes 10-19/300000");
    assert_eq!(r.headers()["accept-ranges"], "bytes");
    assert_eq!(r.bytes().await.unwrap(), bundle[10..20]);
    let r = http
        .get(&url)
        .bearer_auth(&hub.token)
        .header("range", "bytes=300000-")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "a range past the end is ignored");
    assert_eq!(r.headers()["content-length"], "300000");
    let r = http.get(&url).bearer_auth(&hub.token).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-length"], "300000");
    assert_eq!(http.get(&url).send().await.unwrap().status(), 401);
    let unknown = format!("{}/v1/update/bundles/{}", hub.url(), "0".repeat(64));
    assert_eq!(
        http.get(&unknown)
            .bearer_auth(&hub.token)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let r = http
        .get(format!("{}/v1/update", hub.url()))
        .bearer_auth(&hub.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

async fn wait_for(dir: &std::path::Path, phase: &str) {
    for _ in 0..200 {
        if load_state(dir).phase.name() == phase {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("update never reached {phase}: {:?}", load_state(dir));
}

/// The daemon's update task, from publish to confirmed, with a reboot between two runs.
#[tokio::test]
async fn the_update_task_installs_reboots_confirms_and_reports() {
    let hub = TestHub::start().await;
    publish(&hub).await;
    let app = Appliance::new(&hub.url(), &hub.token, vec![hub.pinned()]);
    let config = UpdateConfig {
        installer: "fake".into(),
        ..UpdateConfig::default()
    };
    let data = app.dir.path().to_owned();
    let dir = motcua::update::agent::update_dir(&data);
    let quiet = Signals {
        in_window: true,
        kiosk_idle: true,
        serving: false,
        kiosk_drawn: true,
        health_fault: false,
        synced: true,
    };
    let run = |ctx: Arc<motcua::sync::SyncContext>| {
        let (trigger, shutdown) = motcua::daemon::shutdown::channel();
        let task = tokio::spawn(motcua::update::agent::run(
            ctx,
            config.clone(),
            data.clone(),
            Box::new(move || quiet),
            shutdown,
        ));
        (trigger, task)
    };
    let (trigger, task) = run(Arc::clone(&app.ctx));
    wait_for(&dir, "rebooting").await;
    trigger.fire();
    task.await.unwrap();
    let slots = FakeSlots::open(&dir.join(motcua::update::agent::FAKE_SLOTS), "x").unwrap();
    assert_eq!(
        slots.counts().unwrap(),
        (1, 1),
        "one install, one reboot asked"
    );
    assert_eq!(slots.boot().unwrap(), "B");

    let (trigger, task) = run(Arc::clone(&app.ctx));
    wait_for(&dir, "idle").await;
    trigger.fire();
    task.await.unwrap();
    let s = slots.status().unwrap();
    assert_eq!(s.booted_version(), Some("1.1"));
    assert_eq!(s.slots[1].boot_status.as_deref(), Some("good"));

    motcua::sync::uploader::upload_once(&app.ctx).await.unwrap();
    let fleet = hub.state.store().fleet().await.unwrap();
    let row = fleet.iter().find(|r| r.name == "kiosk-1").unwrap();
    let u = &row.heartbeat.as_ref().unwrap()["update"];
    assert_eq!(u["state"], "idle");
    assert_eq!(u["slot"], "B");
    assert_eq!(u["version"], "1.1");
    assert_eq!(u["last"]["result"], "confirmed");
    assert_eq!(u["last"]["version"], "1.1");
}
