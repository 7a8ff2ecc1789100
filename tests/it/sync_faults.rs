//! Catalog sync against a real hub behind a fault-injecting front: every failure keeps the
//! installed catalog byte for byte, stays within the memory bound, is explained by the sync
//! status, and sync recovers as soon as the server behaves.

use std::sync::atomic::Ordering;

use base64::Engine as _;
use ed25519_dalek::SigningKey;
use motcua::catalog::{parse_bundle, CatalogBundle};
use motcua::sync::catalog_sync::{poll_catalog, CatalogOutcome};
use motcua::sync::envelope::{key_id, seal};
use motcua::sync::{ClientSettings, SyncError};

use super::sync_support::*;

struct Case {
    hub: TestHub,
    front: FaultFront,
    app: Appliance,
    baseline: (u64, String),
}

async fn setup() -> Case {
    let hub = TestHub::start().await;
    let front = FaultFront::start(hub.addr).await;
    let app = Appliance::new(&front.url(), &hub.token, vec![hub.pinned()]);
    let out = poll_catalog(&app.ctx).await.unwrap();
    let baseline = app.installed().unwrap();
    assert_eq!(
        out,
        CatalogOutcome::Applied {
            version: baseline.0
        }
    );
    Case {
        hub,
        front,
        app,
        baseline,
    }
}

impl Case {
    /// Poll under the current fault: refused with `message`, catalog unchanged, status says why.
    async fn refused(&self, message: &str) -> SyncError {
        let err = poll_catalog(&self.app.ctx).await.unwrap_err();
        assert_eq!(err.to_string(), message);
        self.assert_kept(message);
        err
    }

    fn assert_kept(&self, message: &str) {
        assert_eq!(self.app.installed().unwrap(), self.baseline);
        let status = self.app.status();
        assert_eq!(status.catalog_version, Some(self.baseline.0));
        assert_eq!(
            status.last_error.as_deref(),
            Some(&*format!("catalog: {message}"))
        );
    }

    /// The hub behaves again and has something new: the next poll installs it.
    async fn recovers(&mut self) {
        self.front.set(Fault::Proxy);
        let v = self.hub.publish_catalog(30);
        assert_eq!(
            poll_catalog(&self.app.ctx).await.unwrap(),
            CatalogOutcome::Applied { version: v }
        );
        assert_eq!(self.app.status().last_error, None);
    }

    /// A correctly signed envelope around `bundle` bytes.
    fn envelope(&self, bundle: &[u8], key: &SigningKey) -> Vec<u8> {
        serde_json::to_vec(&seal(bundle, key)).unwrap()
    }

    fn bundle_with(
        &self,
        version: u64,
        issued: chrono::DateTime<chrono::Utc>,
        expires_days: i64,
    ) -> Vec<u8> {
        let mut b: CatalogBundle = parse_bundle(&test_catalog_json(), TEST_MAX_BUNDLE).unwrap();
        b.version = version;
        b.issued_at = issued.to_rfc3339();
        b.expires_at = Some((issued + chrono::Duration::days(expires_days)).to_rfc3339());
        serde_json::to_vec(&b).unwrap()
    }
}

#[tokio::test]
async fn unchanged_catalog_is_a_304() {
    let c = setup().await;
    assert_eq!(
        poll_catalog(&c.app.ctx).await.unwrap(),
        CatalogOutcome::Unchanged
    );
    assert_eq!(c.app.installed().unwrap(), c.baseline);
}

#[tokio::test]
async fn hub_hangs_up() {
    let mut c = setup().await;
    c.front.set(Fault::HangUp);
    let err = poll_catalog(&c.app.ctx).await.unwrap_err();
    assert!(matches!(err, SyncError::Unreachable { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with(&format!(
            "cannot reach the central server at {}",
            c.front.url()
        )),
        "{err}"
    );
    assert!(!err.is_permanent());
    c.assert_kept(&err.to_string());
    c.recovers().await;
}

#[tokio::test]
async fn hub_down_connection_refused() {
    let mut hub = TestHub::start().await;
    let app = Appliance::new(&hub.url(), &hub.token, vec![hub.pinned()]);
    poll_catalog(&app.ctx).await.unwrap();
    let baseline = app.installed().unwrap();
    hub.kill();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let err = poll_catalog(&app.ctx).await.unwrap_err();
    assert!(err.is_offline(), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!(
            "cannot reach the central server at {} (",
            hub.url()
        )) && msg.ends_with("); check the network link"),
        "{msg}"
    );
    assert_eq!(app.installed().unwrap(), baseline);
    assert_eq!(app.status().last_error, Some(format!("catalog: {msg}")));
    assert!(matches!(
        app.ctx.link.state(),
        motcua::appliance::LinkState::Offline { since: Some(_) }
    ));
    hub.restart().await;
    let v = hub.publish_catalog(30);
    assert_eq!(
        poll_catalog(&app.ctx).await.unwrap(),
        CatalogOutcome::Applied { version: v }
    );
    assert_eq!(app.ctx.link.state(), motcua::appliance::LinkState::Online);
}

#[tokio::test]
async fn server_errors() {
    let mut c = setup().await;
    c.front.set(Fault::Status500);
    let err = c
        .refused("the central server had an internal error (HTTP 500); it will be retried")
        .await;
    assert!(!err.is_permanent());
    c.recovers().await;
}

#[tokio::test]
async fn slow_drip_times_out() {
    let mut c = setup().await;
    c.front.set(Fault::SlowDrip);
    let started = std::time::Instant::now();
    c.refused("the central server did not finish answering within 1 s while downloading the catalog; the link may be slow").await;
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
    c.recovers().await;
}

#[tokio::test]
async fn truncated_body() {
    let mut c = setup().await;
    let env = c.envelope(&test_catalog_json(), &c.hub.key);
    c.front.set(Fault::Truncated(env));
    let err = poll_catalog(&c.app.ctx).await.unwrap_err();
    assert!(matches!(err, SyncError::Truncated { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("the download was cut off after "),
        "{err}"
    );
    c.assert_kept(&err.to_string());
    c.recovers().await;
}

#[tokio::test]
async fn oversized_body_stops_at_the_limit() {
    let mut c = setup().await;
    let total = 256 * 1024 * 1024;
    c.front.set(Fault::Endless(total));
    let limit = ClientSettings::envelope_limit(TEST_MAX_BUNDLE);
    let err = poll_catalog(&c.app.ctx).await.unwrap_err();
    let SyncError::TooLarge { limit: l, read } = err else {
        panic!("{err:?}");
    };
    assert_eq!(l, limit);
    // Memory stays bounded: at most the limit plus one chunk was read.
    assert!(read > limit && read <= limit + 64 * 1024, "read {read}");
    assert!(c.front.written.load(Ordering::SeqCst) < total / 4);
    c.assert_kept(&format!("the server's answer is larger than the limit of {limit} bytes (stopped after reading {read} bytes); raise catalog.max_bundle_bytes only if the catalog really is that big"));
    c.recovers().await;
}

#[tokio::test]
async fn oversized_declared_length_is_refused_unread() {
    let mut c = setup().await;
    let limit = ClientSettings::envelope_limit(TEST_MAX_BUNDLE);
    c.front.set(Fault::Body(
        "application/json",
        vec![b' '; limit as usize + 1],
    ));
    c.refused(&format!("the server's answer is larger than the limit of {limit} bytes (stopped after reading 0 bytes); raise catalog.max_bundle_bytes only if the catalog really is that big")).await;
    c.recovers().await;
}

#[tokio::test]
async fn wrong_content_type() {
    let mut c = setup().await;
    c.front.set(Fault::Body(
        "text/html; charset=utf-8",
        b"<html>captive portal</html>".to_vec(),
    ));
    c.refused("the server answered with content type \"text/html; charset=utf-8\" instead of application/json; is server_url pointing at a motcua hub?").await;
    c.recovers().await;
}

#[tokio::test]
async fn invalid_json() {
    let mut c = setup().await;
    c.front.set(Fault::Body(
        "application/json",
        b"{\"format\": \"motcua-sig".to_vec(),
    ));
    c.refused("the server's answer is not valid JSON for the catalog envelope: EOF while parsing a string at line 1 column 22").await;
    c.recovers().await;
}

#[tokio::test]
async fn bad_signature() {
    let mut c = setup().await;
    let mut env = seal(
        &c.bundle_with(c.baseline.0 + 1, chrono::Utc::now(), 30),
        &c.hub.key,
    );
    let tampered = c.bundle_with(c.baseline.0 + 5, chrono::Utc::now(), 30);
    env.bundle = base64::engine::general_purpose::STANDARD.encode(tampered);
    c.front.set(Fault::Body(
        "application/json",
        serde_json::to_vec(&env).unwrap(),
    ));
    let id = key_id(&c.hub.key.verifying_key());
    c.refused(&format!("the server's catalog signature does not match the pinned key (key id {id}); the catalog was not installed")).await;
    c.recovers().await;
}

#[tokio::test]
async fn unknown_key() {
    let mut c = setup().await;
    let other = SigningKey::from_bytes(&[9; 32]);
    let env = c.envelope(
        &c.bundle_with(c.baseline.0 + 1, chrono::Utc::now(), 30),
        &other,
    );
    c.front.set(Fault::Body("application/json", env));
    let id = key_id(&other.verifying_key());
    c.refused(&format!("the server's catalog is signed with key id {id}, which is not among the keys pinned in [sync] public_keys; the catalog was not installed")).await;
    c.recovers().await;
}

#[tokio::test]
async fn rollback_is_refused() {
    let mut c = setup().await;
    // Install a second version so that an older, valid one (>= 1) exists to offer.
    let v = c.hub.publish_catalog(30);
    assert_eq!(
        poll_catalog(&c.app.ctx).await.unwrap(),
        CatalogOutcome::Applied { version: v }
    );
    c.baseline = c.app.installed().unwrap();
    let old = c.baseline.0 - 1;
    let env = c.envelope(&c.bundle_with(old, chrono::Utc::now(), 30), &c.hub.key);
    c.front.set(Fault::Body("application/json", env));
    let err = c.refused(&format!("the server offered catalog version {old}, older than the installed version {}; refusing the rollback", c.baseline.0)).await;
    assert!(err.is_permanent());
    c.recovers().await;
}

#[tokio::test]
async fn expired_bundle_is_refused_and_installed_expiry_warns() {
    let mut c = setup().await;
    // The device's clock says 40 days later; the hub's bundle expires after 30.
    c.app.clock.set(chrono::Duration::days(40));
    let err = poll_catalog(&c.app.ctx).await;
    // Same version as installed: unchanged, not an error. Publish a new one to be refused.
    assert_eq!(err.unwrap(), CatalogOutcome::Unchanged);
    let v = c.hub.publish_catalog(30);
    let err = poll_catalog(&c.app.ctx).await.unwrap_err();
    assert!(
        err.to_string().starts_with(&format!(
            "the server's catalog version {v} already expired at "
        )),
        "{err}"
    );
    assert!(
        err.to_string()
            .ends_with("; keeping the installed catalog (the server must publish a fresh one)"),
        "{err}"
    );
    c.assert_kept(&err.to_string());
    // The installed catalog is past its expiry too: the status warns, the catalog stays.
    let later = chrono::Utc::now() + chrono::Duration::days(40);
    let status = motcua::sync::state::read_status(&c.app.ctx.db(), later).unwrap();
    let warning = status.catalog_warning.unwrap();
    assert!(
        warning.starts_with("may be outdated: the catalog expired at "),
        "{warning}"
    );
    c.app.clock.set(chrono::Duration::zero());
    c.recovers().await;
}

#[tokio::test]
async fn clock_skew_is_refused_until_the_clock_is_right() {
    let mut c = setup().await;
    c.app.clock.set(-chrono::Duration::hours(3));
    c.hub.publish_catalog(30);
    let err = poll_catalog(&c.app.ctx).await.unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(", 179 minutes ahead of this device's clock; check the device's time (NTP); keeping the installed catalog") || msg.contains(", 180 minutes ahead"), "{msg}");
    assert!(!err.is_permanent());
    c.assert_kept(&msg);
    c.app.clock.set(chrono::Duration::zero());
    c.recovers().await;
}

#[tokio::test]
async fn bad_token_is_permanent() {
    let c = setup().await;
    let app = Appliance::new(&c.front.url(), "mct_wrong", vec![c.hub.pinned()]);
    let err = poll_catalog(&app.ctx).await.unwrap_err();
    assert!(
        matches!(err, SyncError::Unauthorized { status: 401 }),
        "{err:?}"
    );
    assert!(err.is_permanent());
    assert_eq!(app.installed(), None);
}
