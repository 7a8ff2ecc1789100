//! Sync benchmarks (issue 4), printed as a table for `docs/benchmarks.md`:
//! queue propagation (hub call → appliance store committed) p50/p99 on loopback, verify +
//! apply of a 10,000-procedure bundle against a plain `serde_json` parse of the same bytes,
//! and the bytes an unchanged catalog poll moves. Run: `cargo bench --bench sync`.
//! A measuring program, not a criterion harness: the first measurement is a latency
//! distribution, not a throughput loop. It only talks to 127.0.0.1.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use motcua::catalog::{demo_bundle, parse_bundle};
use motcua::daemon::{start, DaemonOptions, SyncOptions};
use motcua::hub::{keys, HubState};
use motcua::queue::{QueueEvent, QueueEventKind};
use motcua::store::CatalogStore;
use motcua::sync::client::{ClientSettings, HubClient};
use motcua::sync::clock::SystemClock;
use motcua::sync::envelope::{open, seal};
use motcua::sync::schedule::Schedule;
use motcua::sync::{CatalogFetch, SyncSettings};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

const EVENTS: usize = 300;

fn settings() -> SyncSettings {
    let s = Schedule {
        interval: Duration::from_secs(300),
        backoff_base: Duration::from_millis(50),
        backoff_max: Duration::from_secs(1),
        jitter: 0.0,
    };
    SyncSettings {
        catalog: s.clone(),
        queue: s.clone(),
        outbox: s,
        heartbeat_interval: Duration::from_secs(3600),
        max_bundle_bytes: 256 * 1024 * 1024,
        max_clock_skew: chrono::Duration::minutes(10),
        device_name: "bench".into(),
    }
}

fn client_settings() -> ClientSettings {
    ClientSettings {
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(30),
        queue_wait: Duration::from_secs(25),
        max_envelope_bytes: ClientSettings::envelope_limit(256 * 1024 * 1024),
        ca_file: None,
    }
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

async fn propagation(hub: &HubState, url: &str, token: &str, key: &ed25519_dalek::SigningKey) {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = DaemonOptions::offline(&motcua::config::Config::default(), dir.path());
    opts.sync = Some(SyncOptions {
        server_url: url.into(),
        token: token.into(),
        keys: vec![keys::public_of(key)],
        client: client_settings(),
    });
    opts.settings = settings();
    opts.clock = Arc::new(SystemClock);
    opts.socket_path = dir.path().join("d.sock");
    let d = start(opts).await.unwrap();
    let mut rx = d.ctx.subscribe();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut lat = Vec::with_capacity(EVENTS);
    for n in 0..EVENTS {
        let e = QueueEvent {
            seq: 0,
            counter: 1 + (n % 4) as u32,
            kind: QueueEventKind::Called,
            ticket: Some(format!("{}", 1000 + n)),
            record_id: None,
            waiting: Some(3),
            at: chrono::Utc::now().to_rfc3339(),
        };
        let t0 = Instant::now();
        let stored = hub.push_event(&e).await.unwrap();
        // The daemon publishes right after the commit to catalog.db.
        loop {
            let got = rx.recv().await.unwrap();
            if got.seq == stored.seq {
                break;
            }
        }
        lat.push(t0.elapsed());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    lat.sort();
    let (p50, p99) = (pct(&lat, 0.5), pct(&lat, 0.99));
    println!(
        "queue propagation, {EVENTS} events: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ms(p50),
        ms(p99),
        ms(*lat.last().unwrap())
    );
    println!("  peer: polling every 2 s instead of long-polling: p50 ≈ 1000 ms, p99 ≈ 1980 ms (uniform wait) → long-poll p99 is {:.0}× lower", 1980.0 / ms(p99));
    d.stop().await;
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn big_bundle(n: usize) -> Vec<u8> {
    let mut b = demo_bundle();
    let base = b.procedures.clone();
    b.procedures = (0..n)
        .map(|i| {
            let mut p = base[i % base.len()].clone();
            p.code = format!("{}.{:06}", 1 + i % 9, i);
            p
        })
        .collect();
    b.version = 10;
    serde_json::to_vec(&b).unwrap()
}

fn apply_bench(key: &ed25519_dalek::SigningKey) {
    let bytes = big_bundle(10_000);
    let env = seal(&bytes, key);
    let pinned = vec![keys::public_of(key)];
    let dir = tempfile::tempdir().unwrap();
    let mut store = CatalogStore::open(&dir.path().join("catalog.db")).unwrap();
    let (mut full, mut verify, mut parse, mut apply, mut peer) =
        (vec![], vec![], vec![], vec![], vec![]);
    for round in 0..5u64 {
        let t0 = Instant::now();
        let raw = open(&env, &pinned).unwrap();
        let t1 = Instant::now();
        let mut bundle = parse_bundle(&raw, 256 * 1024 * 1024).unwrap();
        let t2 = Instant::now();
        bundle.version = 10 + round;
        store.apply(&bundle, "bench", false).unwrap();
        let t3 = Instant::now();
        full.push(t3 - t0);
        verify.push(t1 - t0);
        parse.push(t2 - t1);
        apply.push(t3 - t2);
        let p0 = Instant::now();
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        std::hint::black_box(v);
        peer.push(p0.elapsed());
    }
    let med = |v: &mut Vec<Duration>| {
        v.sort();
        ms(v[v.len() / 2])
    };
    let (f, p) = (med(&mut full), med(&mut peer));
    println!(
        "verify + apply, 10,000 procedures ({:.1} MiB bundle): median {:.0} ms (signature+base64 {:.0} ms, parse+validate {:.0} ms, SQLite transaction {:.0} ms)",
        bytes.len() as f64 / 1048576.0,
        f,
        med(&mut verify),
        med(&mut parse),
        med(&mut apply)
    );
    println!("  peer: serde_json::from_slice::<Value> of the same bytes: median {p:.0} ms → verify+apply is {:.1}× a bare parse", f / p);
}

/// A TCP relay that counts payload bytes both ways.
async fn counting_relay(
    upstream: std::net::SocketAddr,
) -> (String, Arc<AtomicU64>, Arc<AtomicU64>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let (up, down) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let (u, dn) = (Arc::clone(&up), Arc::clone(&down));
    tokio::spawn(async move {
        while let Ok((mut c, _)) = l.accept().await {
            let mut s = TcpStream::connect(upstream).await.unwrap();
            let (u, dn) = (Arc::clone(&u), Arc::clone(&dn));
            tokio::spawn(async move {
                if let Ok((a, b)) = tokio::io::copy_bidirectional(&mut c, &mut s).await {
                    u.fetch_add(a, Ordering::SeqCst);
                    dn.fetch_add(b, Ordering::SeqCst);
                }
                let _ = c.shutdown().await;
            });
        }
    });
    (format!("http://{addr}"), up, down)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        keys::keygen(dir.path()).unwrap();
        let key = keys::load_signing_key(dir.path()).unwrap();
        let hub = HubState::open(dir.path()).unwrap();
        let token = hub.db().add_device("bench", chrono::Utc::now()).unwrap();
        hub.db()
            .publish(motcua::catalog::DEMO_CATALOG_JSON.as_bytes(), &key, motcua::catalog::DEFAULT_MAX_BUNDLE_BYTES, Some(chrono::Duration::days(30)), chrono::Utc::now())
            .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(motcua::hub::serve(listener, hub.clone(), std::future::pending()));
        let url = format!("http://{addr}");

        propagation(&hub, &url, &token, &key).await;

        let (relay, up, down) = counting_relay(addr).await;
        let client = HubClient::new(&relay, &token, client_settings()).unwrap();
        let CatalogFetch::New { etag, bytes_read, .. } = client.fetch_catalog(None).await.unwrap() else {
            panic!("expected a catalog");
        };
        let client = HubClient::new(&relay, &token, client_settings()).unwrap();
        let (u0, d0) = (up.load(Ordering::SeqCst), down.load(Ordering::SeqCst));
        assert!(matches!(client.fetch_catalog(etag.as_deref()).await.unwrap(), CatalogFetch::NotModified));
        drop(client);
        tokio::time::sleep(Duration::from_millis(200)).await;
        let (u1, d1) = (up.load(Ordering::SeqCst) - u0, down.load(Ordering::SeqCst) - d0);
        println!(
            "unchanged poll (304, fresh connection): {} bytes request + {} bytes response = {} bytes of HTTP on the wire (TCP/IP headers not counted)",
            u1, d1, u1 + d1
        );
        println!("  peer: the full download of the same (demo, 5-procedure) catalog is {bytes_read} bytes of body → the 304 is {:.0}× smaller", bytes_read as f64 / (u1 + d1) as f64);
    });
    apply_bench(&ed25519_dalek::SigningKey::from_bytes(&[7; 32]));
}
