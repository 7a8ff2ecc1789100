//! The footage anchor across the wire, device and hub as they ship (docs/hub.md, "Anchoring";
//! docs/storage.md): the device's uploader sends its signed chain head in a heartbeat to a
//! real hub on loopback, the hub anchors it and answers with a receipt, and the device gets a
//! receipt that verifies with the hub key it pins. A head the hub refuses still lets the
//! heartbeat through, and nothing is held in the outbox behind it.

use ed25519_dalek::SigningKey;

use crate::sync_support::{Appliance, TestHub};
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
