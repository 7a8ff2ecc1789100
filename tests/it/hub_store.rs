//! One suite, both stores: the same store calls and the same HTTP exchanges run against
//! SQLite (`hub.db`) and a real PostgreSQL, and must give the same answers — queue numbering,
//! tickets, records, devices, idempotent uploads, anchoring (append-only, key pinned on first
//! use, conflicts kept), the fleet rows, admin accounts, and long-polls that wake for queue
//! events and for a new catalog.

use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signer as _, SigningKey};
use motcua::hub::anchors::{head_message, receipt_verifies, FootageHead};
use motcua::hub::store::AnchorOutcome;
use motcua::hub::Store;
use motcua::queue::{QueueEvent, QueueEventKind};
use reqwest::StatusCode;

use super::hub_support::{Backend, Hub, Postgres};

pub fn event(counter: u32, kind: QueueEventKind) -> QueueEvent {
    QueueEvent {
        seq: 0,
        counter,
        kind,
        ticket: Some(format!("{counter}001")),
        record_id: None,
        waiting: Some(2),
        at: "2026-12-05T08:00:00+07:00".into(),
    }
}

pub fn signed_head(device: &str, seq: u64, hash_byte: u8, key: &SigningKey) -> FootageHead {
    let mut h = FootageHead {
        seq,
        hash: format!("{hash_byte:02x}").repeat(32),
        at: "2026-12-05T10:00:00Z".into(),
        key: B64.encode(key.verifying_key().to_bytes()),
        signature: String::new(),
    };
    h.signature = B64.encode(key.sign(head_message(device, &h).as_bytes()).to_bytes());
    h
}

/// Version 1.1 of channel "stable", 10 % and `devices`.
fn release<'a>(sha256: &'a str, devices: &'a [String]) -> motcua::hub::updates::NewRelease<'a> {
    motcua::hub::updates::NewRelease {
        channel: "stable",
        version: "1.1",
        sha256,
        size: 10,
        percent: 10,
        devices,
    }
}

/// Update releases: the same rows and judgements on either store.
async fn exercise_updates(store: &Store) {
    use motcua::hub::updates::{choose, Change};
    let now = chrono::Utc::now();
    let sha = "ab".repeat(32);
    let r = store
        .publish_update(&release(&sha, &["pi-a".into()]), now)
        .await
        .unwrap();
    assert_eq!(
        (r.percent, r.devices.clone(), r.paused),
        (10, vec!["pi-a".to_owned()], false)
    );
    let e = store
        .publish_update(&release(&sha, &[]), now)
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "channel \"stable\" already has version \"1.1\"; publish a new version"
    );
    let e = store
        .change_update(r.id, Change::Percent(5))
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .ends_with("a rollout only grows (pause it instead)"),
        "{e}"
    );
    assert_eq!(
        store
            .change_update(r.id, Change::Percent(40))
            .await
            .unwrap()
            .percent,
        40
    );
    assert!(
        store
            .change_update(r.id, Change::Pause)
            .await
            .unwrap()
            .paused
    );
    let all = store.updates().await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!((all[0].percent, all[0].paused), (40, true));
    assert_eq!(choose(&all, "stable", "pi-a", None), None, "paused");
    store.change_update(r.id, Change::Resume).await.unwrap();
    let all = store.updates().await.unwrap();
    assert_eq!(choose(&all, "stable", "pi-a", None).unwrap().version, "1.1");
    assert!(store.change_update(999, Change::Pause).await.is_err());
}

async fn exercise_store(store: &Store, hub_key: &SigningKey) {
    let now = chrono::Utc::now();
    // Queue: the hub numbers events 1, 2, 3…; tickets per counter.
    assert_eq!(store.head().await.unwrap(), 0);
    for n in 1..=3 {
        let e = store
            .push_event(&event(n, QueueEventKind::Called), "2026-12-06")
            .await
            .unwrap();
        assert_eq!(e.seq, n as u64);
    }
    let bad = QueueEvent {
        counter: 0,
        ..event(1, QueueEventKind::Called)
    };
    assert!(store.push_event(&bad, "2026-12-06").await.is_err());
    assert_eq!(store.head().await.unwrap(), 3);
    let after1: Vec<u64> = store
        .events_after(1, 10)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(after1, [2, 3]);
    assert_eq!(store.events_after(0, 2).await.unwrap().len(), 2);
    assert_eq!(store.next_ticket(4, "2026-12-06").await.unwrap(), "4001");
    assert_eq!(store.next_ticket(4, "2026-12-06").await.unwrap(), "4002");
    // Records.
    let id: motcua::record::RecordId = "000.00.14.H56-261201-0001".parse().unwrap();
    assert_eq!(store.record(&id).await.unwrap(), None);
    let s = motcua::hub::db::record_status(
        id.clone(),
        motcua::record::RecordStage::InProgress,
        chrono::NaiveDate::from_ymd_opt(2026, 12, 9).unwrap(),
        None,
        Some("1.001193".into()),
    );
    store.set_record(&s).await.unwrap();
    assert_eq!(store.record(&id).await.unwrap(), Some(s));
    // Devices: tokens are found by hash; a new token replaces the old one.
    let t1 = store
        .add_device("kiosk-9", "Xã Hoằng Hóa", now)
        .await
        .unwrap();
    assert_eq!(
        store.device_for_token(&t1).await.unwrap().as_deref(),
        Some("kiosk-9")
    );
    // A new token without a center (rotating the token) keeps the device's center.
    let t2 = store.add_device("kiosk-9", "", now).await.unwrap();
    assert_eq!(store.device_for_token(&t1).await.unwrap(), None);
    assert!(store.device_for_token(&t2).await.unwrap().is_some());
    let fleet = store.fleet().await.unwrap();
    let row = fleet.iter().find(|r| r.name == "kiosk-9").unwrap();
    assert_eq!(row.center, "Xã Hoằng Hóa");
    assert!(store.add_device("../x", "", now).await.is_err());
    // Uploads: once per key, with the answer kept.
    let hb =
        r#"{"device":"kiosk-9","at":"2026-12-05T10:00:00Z","version":"0.1.0","catalog_version":3}"#;
    assert!(store
        .store_upload(
            "heartbeat",
            "kiosk-9",
            "k1",
            hb,
            "{\"stored\":true,\"x\":1}",
            now
        )
        .await
        .unwrap());
    assert!(!store
        .store_upload("heartbeat", "kiosk-9", "k1", hb, "{}", now)
        .await
        .unwrap());
    assert_eq!(
        store
            .upload_response("heartbeat", "kiosk-9", "k1")
            .await
            .unwrap()
            .as_deref(),
        Some("{\"stored\":true,\"x\":1}")
    );
    assert_eq!(store.upload_count("heartbeat").await.unwrap(), 1);
    // Anchoring.
    let dev_key = SigningKey::from_bytes(&[5; 32]);
    let h2 = signed_head("kiosk-9", 2, 0xaa, &dev_key);
    let AnchorOutcome::New(r) = store.anchor("kiosk-9", &h2, hub_key, now).await.unwrap() else {
        panic!("first head is new")
    };
    assert_eq!((r.hub_seq, r.seq), (1, 2));
    assert!(receipt_verifies(&r, &hub_key.verifying_key()));
    assert_eq!(
        store.anchor("kiosk-9", &h2, hub_key, now).await.unwrap(),
        AnchorOutcome::Repeat(r.clone())
    );
    let older = signed_head("kiosk-9", 1, 0xbb, &dev_key);
    assert_eq!(
        store.anchor("kiosk-9", &older, hub_key, now).await.unwrap(),
        AnchorOutcome::Conflict(
            "footage_head: seq is below the device's last anchored head".into()
        )
    );
    let forked = signed_head("kiosk-9", 2, 0xcc, &dev_key);
    assert_eq!(
        store
            .anchor("kiosk-9", &forked, hub_key, now)
            .await
            .unwrap(),
        AnchorOutcome::Conflict("footage_head: a different hash was anchored at this seq".into())
    );
    let other_key = signed_head("kiosk-9", 3, 0xdd, &SigningKey::from_bytes(&[6; 32]));
    assert_eq!(
        store
            .anchor("kiosk-9", &other_key, hub_key, now)
            .await
            .unwrap(),
        AnchorOutcome::Conflict("footage_head: device key changed".into())
    );
    let h5 = signed_head("kiosk-9", 5, 0xee, &dev_key);
    let AnchorOutcome::New(r5) = store.anchor("kiosk-9", &h5, hub_key, now).await.unwrap() else {
        panic!("a later head is new")
    };
    assert_eq!(r5.hub_seq, 2);
    let listed: Vec<u64> = store
        .anchors(Some("kiosk-9"))
        .await
        .unwrap()
        .iter()
        .map(|r| r.seq)
        .collect();
    assert_eq!(listed, [5, 2], "newest first");
    assert!(store.anchors(Some("kiosk-1")).await.unwrap().is_empty());
    // Fleet rows.
    let fleet = store.fleet().await.unwrap();
    let row = fleet.iter().find(|r| r.name == "kiosk-9").unwrap();
    assert_eq!(row.center, "Xã Hoằng Hóa");
    assert!(row.last_seen.is_some());
    assert_eq!(row.heartbeat.as_ref().unwrap()["catalog_version"], 3);
    assert_eq!(row.last_anchor.as_ref().unwrap().seq, 5);
    assert_eq!(row.conflicts, 3);
    // Admins.
    assert_eq!(store.admin_hash("it").await.unwrap(), None);
    store.set_admin("it", "$argon2id$x").await.unwrap();
    assert_eq!(
        store.admin_hash("it").await.unwrap().as_deref(),
        Some("$argon2id$x")
    );
    // Publications.
    assert_eq!(store.latest().await.unwrap(), None);
    let bundle = crate::support::small_catalog().to_string();
    let p = store
        .publish(
            bundle.as_bytes(),
            hub_key,
            1 << 20,
            Some(chrono::Duration::days(3)),
            now,
        )
        .await
        .unwrap();
    assert_eq!(store.latest().await.unwrap(), Some(p.clone()));
    let gz = store.envelope(p.version).await.unwrap().unwrap();
    assert_eq!(gz.len() as u64, p.stored_bytes);
    let p2 = store
        .publish(bundle.as_bytes(), hub_key, 1 << 20, None, now)
        .await
        .unwrap();
    assert_eq!(p2.version, p.version + 1);
}

#[tokio::test]
async fn store_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&motcua::hub::Database::Sqlite(dir.path().to_owned()))
        .await
        .unwrap();
    exercise_store(&store, &SigningKey::from_bytes(&[1; 32])).await;
    exercise_updates(&store).await;
    // Anchors are append-only in the file itself.
    let db = rusqlite::Connection::open(dir.path().join("hub.db")).unwrap();
    let err = db.execute("UPDATE anchors SET hash = 'x'", []).unwrap_err();
    assert!(err.to_string().contains("anchors are append-only"), "{err}");
    let err = db.execute("DELETE FROM anchors", []).unwrap_err();
    assert!(err.to_string().contains("anchors are append-only"), "{err}");
}

#[tokio::test]
async fn store_on_postgres() {
    let pg = Postgres::start();
    let url = pg.create_db("hub").await;
    let store = Store::open(&motcua::hub::Database::Postgres(url.clone()))
        .await
        .unwrap();
    exercise_store(&store, &SigningKey::from_bytes(&[1; 32])).await;
    exercise_updates(&store).await;
    let err = pg
        .sql(&url, "UPDATE anchors SET hash = 'x'")
        .await
        .unwrap_err();
    assert!(
        format!("{err:?}").contains("anchors are append-only"),
        "{err:?}"
    );
    let err = pg.sql(&url, "DELETE FROM anchors").await.unwrap_err();
    assert!(
        format!("{err:?}").contains("anchors are append-only"),
        "{err:?}"
    );
}

/// Migrations: a version-1 database keeps its data through version 2, a second start applies
/// nothing, and a database from a newer motcua is refused.
#[tokio::test]
async fn postgres_migrations_are_numbered_and_tested() {
    use motcua::hub::store::postgres::{PgStore, MIGRATIONS};
    let pg = Postgres::start();
    let url = pg.create_db("hub").await;
    pg.sql(
        &url,
        "CREATE TABLE hub_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now());",
    )
    .await
    .unwrap();
    // Version 1 by hand, as an older motcua left it, with a device and an upload.
    pg.sql(
        &url,
        &format!(
            "{} INSERT INTO hub_migrations (version) VALUES (1);
             INSERT INTO devices VALUES ('old', 'abc', '2026-01-01T00:00:00Z');
             INSERT INTO uploads VALUES ('rating', 'old', 'k', '{{}}', '2026-01-01T00:00:00Z');",
            MIGRATIONS[0]
        ),
    )
    .await
    .unwrap();
    let store = PgStore::connect(&url).await.unwrap();
    assert_eq!(
        store.schema_version().await.unwrap(),
        MIGRATIONS.len() as u32
    );
    assert_eq!(store.upload_count("rating").await.unwrap(), 1);
    assert_eq!(
        store
            .upload_response("rating", "old", "k")
            .await
            .unwrap()
            .as_deref(),
        Some("{\"stored\":true}")
    );
    let fleet = store.fleet().await.unwrap();
    assert_eq!(
        (fleet[0].name.as_str(), fleet[0].center.as_str()),
        ("old", "")
    );
    drop(store);
    // Again: nothing to do.
    let store = PgStore::connect(&url).await.unwrap();
    assert_eq!(
        store.schema_version().await.unwrap(),
        MIGRATIONS.len() as u32
    );
    drop(store);
    pg.sql(&url, "INSERT INTO hub_migrations (version) VALUES (99)")
        .await
        .unwrap();
    let err = PgStore::connect(&url).await.err().unwrap().to_string();
    assert_eq!(
        err,
        format!(
            "the hub database has schema version 99, newer than this motcua knows ({}); use the newer motcua",
            MIGRATIONS.len()
        )
    );
}

async fn exercise_api(hub: &Hub) {
    let base = hub.url();
    let http = reqwest::Client::new();
    // A long-poll wakes for a queue event pushed by this hub...
    let poll = |after: u64, catalog: Option<u64>| {
        let mut url = format!("{base}/v1/queue/events?after={after}&wait=30");
        if let Some(c) = catalog {
            url.push_str(&format!("&catalog={c}"));
        }
        let req = http.get(url).bearer_auth(&hub.token).send();
        async move {
            req.await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    let waiting = tokio::spawn(poll(0, None));
    tokio::time::sleep(Duration::from_millis(300)).await;
    hub.state
        .push_event(&event(2, QueueEventKind::Called))
        .await
        .unwrap();
    let got = tokio::time::timeout(Duration::from_secs(2), waiting)
        .await
        .expect("the long-poll ends at once")
        .unwrap();
    assert_eq!(got["head"], 1);
    assert_eq!(got["events"][0]["seq"], 1);
    assert!(got.get("catalog").is_none(), "nothing published yet: {got}");
    // ...and for a catalog newer than the device's, published by another process.
    let waiting = tokio::spawn(poll(1, Some(0)));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let published = Instant::now();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_motcua"))
        .arg("--config")
        .arg(hub.path().join("none.toml"))
        .args(["hub", "publish", crate::support::SMALL_CATALOG, "--data"])
        .arg(hub.path())
        .args(hub.database_args())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("the long-poll ends for the new catalog")
        .unwrap();
    assert!(
        published.elapsed() < Duration::from_secs(2),
        "catalog seen {:?} after publish",
        published.elapsed()
    );
    let version = hub.state.store().latest().await.unwrap().unwrap().version;
    assert_eq!(
        (
            got["catalog"].as_u64(),
            got["events"].as_array().map(Vec::len)
        ),
        (Some(version), Some(0))
    );
    // A device holding that catalog waits again.
    let r = http
        .get(format!(
            "{base}/v1/queue/events?after=1&wait=1&catalog={version}"
        ))
        .bearer_auth(&hub.token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.text().await.unwrap(),
        format!("{{\"catalog\":{version},\"events\":[],\"head\":1}}")
    );

    // Anchoring through heartbeats.
    let dev_key = SigningKey::from_bytes(&[3; 32]);
    let beat = |key: &'static str, head: Option<FootageHead>, device: &str| {
        let mut body = serde_json::json!({
            "device": device, "at": "2026-12-05T10:00:01Z", "catalog_version": 1,
            "queue_seq": 1, "outbox_depth": 0, "version": "0.1.0",
            "health": {"level": "ok"}
        });
        if let Some(h) = head {
            body["footage_head"] = serde_json::to_value(h).unwrap();
        }
        http.post(format!("{base}/v1/heartbeats"))
            .bearer_auth(&hub.token)
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };
    let head = signed_head("kiosk-1", 7, 0x11, &dev_key);
    let r = beat("h1", Some(head.clone()), "kiosk-1").await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let first: serde_json::Value = r.json().await.unwrap();
    let receipt: motcua::hub::anchors::Receipt =
        serde_json::from_value(first["receipt"].clone()).unwrap();
    assert!(receipt_verifies(&receipt, &hub.key.verifying_key()));
    assert_eq!(
        (receipt.device.as_str(), receipt.seq, receipt.hub_seq),
        ("kiosk-1", 7, 1)
    );
    // The same Idempotency-Key: the same answer (marked as a repeat).
    let r = beat("h1", Some(head.clone()), "kiosk-1").await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let again: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        (again["stored"].clone(), again["receipt"].clone()),
        (false.into(), first["receipt"].clone())
    );
    // The same head under a new key: the existing receipt.
    let r = beat("h2", Some(head.clone()), "kiosk-1").await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["receipt"],
        first["receipt"]
    );
    // Refused heads, each with its reason; the heartbeat itself is still stored (the device
    // is not "silent" and its outbox is not held), and no receipt is given.
    let mut forged = signed_head("kiosk-1", 8, 0x12, &dev_key);
    forged.hash = "13".repeat(32);
    let below = signed_head("kiosk-1", 6, 0x14, &dev_key);
    for (key, h, device, msg) in [
        ("h3", forged, "kiosk-1", "footage_head: signature does not verify".to_owned()),
        ("h4", below.clone(), "kiosk-1", "footage_head: seq is below the device's last anchored head".to_owned()),
        ("h5", signed_head("kiosk-1", 9, 0x15, &SigningKey::from_bytes(&[4; 32])), "kiosk-1", "footage_head: device key changed".to_owned()),
        ("h6", signed_head("kiosk-2", 9, 0x16, &dev_key), "kiosk-2", "footage_head: the heartbeat's device \"kiosk-2\" is not this token's device \"kiosk-1\"; set [device] name = \"kiosk-1\" on the device".to_owned()),
        // The same conflicting head again (the next heartbeat): refused, recorded once.
        ("h4b", below, "kiosk-1", "footage_head: seq is below the device's last anchored head".to_owned()),
    ] {
        let r = beat(key, Some(h), device).await.unwrap();
        assert_eq!(r.status(), StatusCode::CREATED, "{key}");
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["anchor_refused"], msg.as_str(), "{key}");
        assert_eq!(v["receipt"], serde_json::Value::Null, "{key}");
    }
    assert_eq!(
        hub.state.store().upload_count("heartbeat").await.unwrap(),
        7
    );
    // A heartbeat without a head: as before, no receipt.
    let r = beat("h7", None, "kiosk-1").await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.text().await.unwrap(), "{\"stored\":true}");
    // The device can fetch its receipts.
    let r = http
        .get(format!("{base}/v1/anchors"))
        .bearer_auth(&hub.token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap(),
        serde_json::json!({ "anchors": [first["receipt"]] })
    );
    let fleet = hub.state.store().fleet().await.unwrap();
    assert_eq!(
        fleet[0].conflicts, 2,
        "the two conflicts are kept, each once"
    );
}

#[tokio::test]
async fn api_on_sqlite() {
    let hub = Hub::start(Backend::Sqlite).await;
    std::fs::write(hub.path().join("none.toml"), "").unwrap();
    exercise_api(&hub).await;
}

#[tokio::test]
async fn api_on_postgres() {
    let hub = Hub::start(Backend::Postgres(Postgres::start())).await;
    std::fs::write(hub.path().join("none.toml"), "").unwrap();
    exercise_api(&hub).await;
}
