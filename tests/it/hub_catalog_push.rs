//! A catalog published on the hub reaches a device in seconds through the queue long-poll,
//! although the device's catalog interval is 300 s (that poll stays as the fallback).

use std::time::{Duration, Instant};

use super::sync_daemon::daemon_options;
use super::sync_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_published_catalog_reaches_the_device_within_two_seconds() {
    let hub = TestHub::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut options = daemon_options(&hub.url(), &hub, dir.path());
    options.settings.catalog.interval = Duration::from_secs(300);
    options.sync.as_mut().unwrap().client.queue_wait = Duration::from_secs(30);
    let d = motcua::daemon::start(options).await.unwrap();
    let version = || d.ctx.catalog().info().unwrap().map(|i| i.version);
    let first = hub.state.db().latest().unwrap().unwrap().version;
    let t0 = Instant::now();
    while version() != Some(first) {
        assert!(t0.elapsed() < Duration::from_secs(10), "first catalog");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Let the queue long-poll settle into waiting, then publish.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let published = Instant::now();
    let next = hub.publish_catalog(30);
    while version() != Some(next) {
        assert!(
            published.elapsed() < Duration::from_secs(2),
            "catalog {next} not applied within 2 s of publish (still {:?})",
            version()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    d.stop().await;
}
