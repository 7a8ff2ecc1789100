//! The anchoring thread: every `anchor_interval_secs` it stores the receipts the uploader
//! brought back (each verified with a pinned hub key and matched to a head this device
//! signed), signs the chain head with the device key if it moved since the last signed head
//! (exports sign one too), and publishes the latest signed head for the next heartbeat.
//! Nothing here talks to the network: the sync uploader carries heads and receipts through
//! the [`AnchorMailbox`].

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ed25519_dalek::VerifyingKey;

use super::anchor::AnchorMailbox;
use super::background::Background;
use super::clock::{rfc3339_s, Clocks};
use super::export::DeviceSigner;
use super::footage::{FootageError, FootageStore};

/// What one pass did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct AnchorPass {
    pub receipts_stored: usize,
    pub receipts_refused: usize,
    pub signed: Option<i64>,
}

/// One pass (see the module doc).
pub fn anchor_pass(
    store: &Mutex<FootageStore>,
    signer: &DeviceSigner,
    hub_keys: &[VerifyingKey],
    mailbox: &AnchorMailbox,
    now_ms: i64,
) -> Result<AnchorPass, FootageError> {
    let mut pass = AnchorPass::default();
    let mut st = store.lock().unwrap_or_else(|p| p.into_inner());
    for r in mailbox.take_receipts() {
        match st.store_receipt(&r, hub_keys, now_ms) {
            Ok(_) => pass.receipts_stored += 1,
            Err(e) => {
                pass.receipts_refused += 1;
                tracing::warn!(seq = r.seq, %e, "hub receipt refused");
            }
        }
    }
    let (seq, hash) = st.head()?;
    let last = st.latest_signed_head()?;
    let moved = last
        .as_ref()
        .is_none_or(|(dev, h)| h.seq != seq || h.hash != hash || *dev != signer.device);
    if seq > 0 && moved {
        st.sign_head(&signer.key, &signer.device, &rfc3339_s(now_ms))?;
        pass.signed = Some(seq);
    }
    if let Some((_, h)) = st.latest_signed_head()? {
        mailbox.publish(h);
    }
    Ok(pass)
}

/// The thread running [`anchor_pass`] every `interval` (and at once when poked).
pub struct AnchorWorker(Background);

impl AnchorWorker {
    pub fn spawn(
        store: Arc<Mutex<FootageStore>>,
        signer: DeviceSigner,
        hub_keys: Vec<VerifyingKey>,
        mailbox: Arc<AnchorMailbox>,
        clocks: Arc<dyn Clocks>,
        interval: Duration,
    ) -> std::io::Result<AnchorWorker> {
        let pass = move || match anchor_pass(&store, &signer, &hub_keys, &mailbox, clocks.now_ms())
        {
            Ok(p) if p != AnchorPass::default() => tracing::info!(?p, "footage anchor"),
            Ok(_) => {}
            Err(e) => tracing::error!(%e, "footage anchor pass failed"),
        };
        Ok(AnchorWorker(Background::spawn(
            "footage-anchor",
            interval,
            pass,
        )?))
    }

    pub fn poke(&self) {
        self.0.poke();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recorder::anchor::{self, Receipt};
    use crate::recorder::footage::NewSnapshot;
    use base64::Engine;
    use ed25519_dalek::{Signer, SigningKey};

    #[test]
    fn a_pass_signs_a_moved_head_publishes_it_and_stores_verified_receipts() {
        let t = tempfile::tempdir().unwrap();
        let (mut st, _) = FootageStore::open_writer(t.path(), 0).unwrap();
        let jpeg = crate::recorder::jpeg::encode_rgb(&[9; 16 * 16 * 3], 16, 16, 80).unwrap();
        let snap = NewSnapshot {
            jpeg: &jpeg,
            width: 16,
            height: 16,
            counter: 1,
            record_id: None,
            captured_at_ms: 1,
            reason: "interval",
            thumbnail: None,
            frame_age_ms: None,
            camera_time_ms: None,
        };
        st.ingest(&snap, 1).unwrap();
        let store = Mutex::new(st);
        let signer = DeviceSigner {
            key: SigningKey::from_bytes(&[3; 32]),
            device: "quay-1".into(),
        };
        let hub = SigningKey::from_bytes(&[4; 32]);
        let mb = AnchorMailbox::default();
        let p = anchor_pass(&store, &signer, &[hub.verifying_key()], &mb, 1_000).unwrap();
        assert_eq!(p.signed, Some(1));
        let head = mb.head().unwrap();
        assert_eq!((head.seq, head.at.as_str()), (1, "1970-01-01T00:00:01Z"));
        anchor::verify_head("quay-1", &head).unwrap();
        // nothing moved: no new signature
        let p = anchor_pass(&store, &signer, &[hub.verifying_key()], &mb, 2_000).unwrap();
        assert_eq!(p, AnchorPass::default());
        // the hub's receipt comes back through the mailbox; a forged one is refused
        let mut r = Receipt {
            device: "quay-1".into(),
            key: head.key.clone(),
            seq: head.seq,
            hash: head.hash.clone(),
            at: head.at.clone(),
            signature: head.signature.clone(),
            received_at: "1970-01-01T00:00:02Z".into(),
            hub_seq: 1,
            hub_signature: String::new(),
        };
        r.hub_signature = base64::engine::general_purpose::STANDARD
            .encode(hub.sign(anchor::receipt_message(&r).as_bytes()).to_bytes());
        let mut forged = r.clone();
        forged.hub_seq = 2;
        mb.deliver(r);
        mb.deliver(forged);
        let p = anchor_pass(&store, &signer, &[hub.verifying_key()], &mb, 3_000).unwrap();
        assert_eq!((p.receipts_stored, p.receipts_refused), (1, 1));
        assert_eq!(
            store
                .lock()
                .unwrap()
                .last_receipt()
                .unwrap()
                .unwrap()
                .hub_seq,
            1
        );
    }
}
