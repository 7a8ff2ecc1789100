//! The footage anchor across the wire, device and hub as they ship (docs/hub.md, "Anchoring";
//! docs/storage.md): the device's uploader sends its signed chain head in a heartbeat to a
//! real hub on loopback, the hub anchors it and answers with a receipt, and the device gets a
//! receipt that verifies with the hub key it pins. A head the hub refuses still lets the
//! heartbeat through, and nothing is held in the outbox behind it.

use ed25519_dalek::SigningKey;

use crate::sync_support::{test_settings, Appliance, TestHub};
use motcua::recorder::anchor::{sign_head, verify_receipt};
use motcua::sync::{outbox, uploader};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_head_is_anchored_and_its_receipt_verifies_on_the_device() {
    let hub = TestHub::start().await;
    let app = Appliance::new(&hub.url(), &hub.token, vec![hub.pinned()]);
    let device_key = SigningKey::from_bytes(&[7; 32]);
    let at = "2026-12-05T10:00:00Z";
    let head = sign_head(&device_key, "kiosk-1", 12, &"ab".repeat(32), at);
    app.ctx.footage_anchor.publish(head.clone());

    uploader::enqueue_heartbeat(&app.ctx).unwrap();
    assert_eq!(uploader::upload_once(&app.ctx).await.unwrap(), 1);

    // The device got the receipt, and it verifies with the key it pins for catalogs.
    let receipts = app.ctx.footage_anchor.take_receipts();
    assert_eq!(receipts.len(), 1, "one receipt for the anchored head");
    let r = &receipts[0];
    assert_eq!(
        (r.device.as_str(), r.seq, r.hash.as_str()),
        ("kiosk-1", 12, head.hash.as_str())
    );
    assert_eq!(verify_receipt(r, &[hub.pinned().key]), Ok(0));
    // A receipt does not verify with another hub key.
    let other = SigningKey::from_bytes(&[9; 32]).verifying_key();
    assert!(verify_receipt(r, &[other]).is_err());
    // The hub holds the same anchor.
    let anchored = hub.state.store().anchors(Some("kiosk-1")).await.unwrap();
    assert_eq!(anchored.len(), 1);
    assert_eq!(anchored[0].hub_signature, r.hub_signature);

    // A forged history: a lower seq signed by the same key. The hub refuses to anchor it,
    // the heartbeat still goes through and the outbox is empty afterwards.
    app.ctx
        .footage_anchor
        .publish(sign_head(&device_key, "kiosk-1", 5, &"cd".repeat(32), at));
    uploader::enqueue_heartbeat(&app.ctx).unwrap();
    assert_eq!(uploader::upload_once(&app.ctx).await.unwrap(), 1);
    assert!(app.ctx.footage_anchor.take_receipts().is_empty());
    assert_eq!(outbox::depth(&app.ctx.db()).unwrap(), 0);
    assert_eq!(
        hub.state
            .store()
            .anchors(Some("kiosk-1"))
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        hub.state.store().upload_count("heartbeat").await.unwrap(),
        2
    );
}

/// Issue 16 review: `snapshots verify` trusted only the receipts stored on the device, so a
/// device whose receipts were deleted along with a consistently forged chain passed. With
/// `--against-hub` the CLI fetches this device's anchored heads from the real hub (the sync
/// client, as configured) and the forged chain fails; the honest chain passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_against_the_hub_catches_a_forgery_whose_local_receipts_are_gone() {
    use motcua::recorder::chain;
    use motcua::recorder::footage::{FootageStore, NewSnapshot};
    let hub = TestHub::start().await;
    let app = Appliance::new(&hub.url(), &hub.token, vec![hub.pinned()]);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let device_key = SigningKey::from_bytes(&[7; 32]);
    let head = {
        let (mut st, _) = FootageStore::open_writer(&data, 0).unwrap();
        for i in 0..4u8 {
            let jpeg =
                motcua::recorder::jpeg::encode_rgb(&vec![i * 40; 16 * 16 * 3], 16, 16, 80).unwrap();
            let rec = format!("000.00.14.H56-251119-{i:04}");
            st.ingest(
                &NewSnapshot {
                    jpeg: &jpeg,
                    width: 16,
                    height: 16,
                    counter: 1,
                    record_id: Some(&rec),
                    captured_at_ms: i as i64,
                    reason: "started",
                    thumbnail: None,
                    frame_age_ms: None,
                    camera_time_ms: None,
                },
                i as i64,
            )
            .unwrap();
        }
        st.sign_head(&device_key, "kiosk-1", "2026-12-05T10:00:00Z")
            .unwrap()
    };
    // the hub anchors it (the device never stores the receipt: as if deleted)
    app.ctx.footage_anchor.publish(head.clone());
    uploader::enqueue_heartbeat(&app.ctx).unwrap();
    assert_eq!(uploader::upload_once(&app.ctx).await.unwrap(), 1);
    assert_eq!(app.ctx.footage_anchor.take_receipts().len(), 1);

    let token = dir.path().join("token");
    std::fs::write(&token, &hub.token).unwrap();
    let config = dir.path().join("motcua.toml");
    std::fs::write(
        &config,
        format!(
            "[device]\nname = \"kiosk-1\"\n[sync]\nserver_url = \"{}\"\ntoken_file = \"{}\"\npublic_keys = [\"{}\"]\n",
            hub.url(),
            token.display(),
            hub.pinned().to_base64()
        ),
    )
    .unwrap();
    let verify = move |against: bool| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_motcua"));
        c.arg("--config")
            .arg(&config)
            .arg("--data-dir")
            .arg(&data)
            .args(["snapshots", "verify"])
            .env_remove("MOTCUA_DATA_DIR");
        if against {
            c.arg("--against-hub");
        }
        c.output().unwrap()
    };
    let text = |o: &std::process::Output| String::from_utf8_lossy(&o.stdout).into_owned();
    let v = verify.clone();
    let honest = tokio::task::spawn_blocking(move || v(true)).await.unwrap();
    assert!(honest.status.success(), "{}", text(&honest));
    assert!(
        text(&honest).contains(&format!(
            "hub: 1 anchored head(s) for device kiosk-1, the last 4 {} received at ",
            head.hash
        )) && text(&honest).contains("the chain holds them"),
        "{}",
        text(&honest)
    );

    // The forgery: move snapshot 2 to another record, recompute every chain entry.
    {
        let (st, _) = FootageStore::open_writer(&dir.path().join("data"), 10).unwrap();
        let c = st.connection();
        let other = "000.00.14.H56-251119-0077";
        c.execute("UPDATE snapshot SET record_id = ?1 WHERE id = 2", [other])
            .unwrap();
        c.execute("UPDATE chain SET record_id = ?1 WHERE seq = 2", [other])
            .unwrap();
        let mut prev = chain::GENESIS.to_owned();
        for e in st.chain_entries(1, 4).unwrap() {
            let h = chain::link(&prev, &e.fields.body_hash());
            c.execute(
                "UPDATE chain SET prev_hash = ?1, hash = ?2 WHERE seq = ?3",
                rusqlite::params![prev, h, e.fields.seq],
            )
            .unwrap();
            prev = h;
        }
    }
    let v = verify.clone();
    let local = tokio::task::spawn_blocking(move || v(false)).await.unwrap();
    assert!(
        local.status.success(),
        "the device alone cannot tell: {}",
        text(&local)
    );
    let forged = tokio::task::spawn_blocking(move || verify(true))
        .await
        .unwrap();
    assert!(!forged.status.success());
    let out = text(&forged);
    assert!(
        out.contains("PROBLEM: chain: entry 4 is ")
            && out.contains(&format!(
                "but the hub anchored {}; the chain was rewritten after it was anchored",
                head.hash
            ))
            && out.contains("the chain does NOT hold them"),
        "{out}"
    );
}

/// Found by the image's OTA test: a device provisioned as "Kiosk sảnh chính" put its name in
/// the heartbeat's idempotency key, the hub refused every heartbeat (the key must be visible
/// ASCII), and the fleet never heard of the device.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_named_in_vietnamese_delivers_its_heartbeats() {
    let hub = TestHub::start().await;
    let mut settings = test_settings();
    settings.device_name = "Kiosk sảnh chính".into();
    let app = Appliance::with_settings(&hub.url(), &hub.token, vec![hub.pinned()], settings);
    uploader::enqueue_heartbeat(&app.ctx).unwrap();
    assert_eq!(uploader::upload_once(&app.ctx).await.unwrap(), 1);
    assert_eq!(outbox::depth(&app.ctx.db()).unwrap(), 0);
    assert_eq!(hub.state.db().upload_count("heartbeat").unwrap(), 1);
}
