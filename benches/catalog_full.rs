//! Catalog at full size (issue 13): `hub publish` of 10,000 procedures cloned from the real
//! converted catalog (new codes, same text), then a real daemon in a fresh child process downloads, verifies and applies it from
//! the hub on 127.0.0.1. Wall time of each part and the child's peak RSS (`VmHWM`), for the
//! gzip wire (what appliances do) against named peers in the same run: the same daemon
//! fetching the uncompressed body, the pre-issue-13 sequence of steps re-enacted with public
//! APIs, and a bare `serde_json` parse of the bundle. Run: `cargo bench --bench catalog_full`
//! (`BENCH_PROCEDURES=N` for another size, `BENCH_ROUNDS=R`). A measuring program, not a
//! criterion harness: each apply runs once per fresh process so that its peak is its own.

use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use motcua::catalog::{demo_bundle, CatalogBundle, DEFAULT_MAX_BUNDLE_BYTES};
use motcua::daemon::{start, DaemonOptions, SyncOptions};
use motcua::hub::{keys, HubState};
use motcua::sync::client::ClientSettings;
use motcua::sync::clock::SystemClock;
use motcua::sync::schedule::Schedule;
use motcua::sync::{PinnedKey, SyncSettings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// `n` procedures cloned from the embedded default catalog (the portal's 588 commune-level
/// procedures as converted, `data/default-catalog.json`) with new codes and the same text.
fn full_size_bundle(n: usize) -> Vec<u8> {
    let mut b = demo_bundle();
    let base = b.procedures.clone();
    b.procedures = (0..n)
        .map(|i| {
            let mut p = base[i % base.len()].clone();
            p.code = format!("{}.{:06}", 1 + i % 9, i);
            p
        })
        .collect();
    b.version = 1;
    serde_json::to_vec(&b).unwrap()
}

fn kib(line: &str) -> u64 {
    line.split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// (VmRSS, VmHWM) of this process in KiB.
fn rss() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let get = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .map(kib)
            .unwrap_or(0)
    };
    (get("VmRSS:"), get("VmHWM:"))
}

fn client_settings(limit: usize) -> ClientSettings {
    ClientSettings {
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(120),
        queue_wait: Duration::from_secs(25),
        max_envelope_bytes: ClientSettings::envelope_limit(limit),
        ca_file: None,
    }
}

/// The default limit, or (printed) the next power of two above a bundle that exceeds it.
fn limit_for(len: usize) -> usize {
    DEFAULT_MAX_BUNDLE_BYTES.max(len.next_power_of_two())
}

/// The child: a real daemon (default limits) pointed at `url`, until `version` is applied.
/// Prints `RESULT <ms> <rss before KiB> <peak KiB>`.
fn child_daemon(url: &str, token: &str, key: &str, version: u64, limit: usize) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let config = motcua::config::Config::default();
        let mut opts = DaemonOptions::offline(&config, dir.path());
        opts.sync = Some(SyncOptions {
            server_url: url.into(),
            token: token.into(),
            keys: vec![PinnedKey::parse(key).unwrap()],
            client: client_settings(limit),
        });
        let s = Schedule {
            interval: Duration::from_secs(300),
            backoff_base: Duration::from_millis(50),
            backoff_max: Duration::from_secs(1),
            jitter: 0.0,
        };
        opts.settings = SyncSettings {
            catalog: s.clone(),
            queue: s.clone(),
            outbox: s,
            heartbeat_interval: Duration::from_secs(3600),
            max_bundle_bytes: limit,
            max_clock_skew: chrono::Duration::minutes(10),
            device_name: "bench".into(),
        };
        opts.clock = Arc::new(SystemClock);
        opts.socket_path = dir.path().join("d.sock");
        let (before, _) = rss();
        let t0 = Instant::now();
        let d = start(opts).await.unwrap();
        loop {
            let ctx = Arc::clone(&d.ctx);
            let got = tokio::task::spawn_blocking(move || ctx.catalog().info().unwrap())
                .await
                .unwrap()
                .map(|i| i.version);
            if got == Some(version) {
                break;
            }
            if let Some(e) = motcua::sync::state::read_status(&d.ctx.db(), chrono::Utc::now())
                .unwrap()
                .last_error
            {
                panic!("the daemon could not apply the catalog: {e}");
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let ms = t0.elapsed().as_secs_f64() * 1000.0;
        let (_, peak) = rss();
        println!("RESULT {ms:.0} {before} {peak}");
        d.stop().await;
    });
}

/// The child, pre-issue-13 sequence: whole identity body, envelope struct, base64 copy,
/// parse, canonical copy, apply — each step with the public API it used.
fn child_old(url: &str, token: &str, key: &str, limit: usize) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (before, _) = rss();
    let t0 = Instant::now();
    let body = rt.block_on(async {
        reqwest::Client::new()
            .get(format!("{url}/v1/catalog"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .to_vec()
    });
    let env: motcua::sync::SignedEnvelope = serde_json::from_slice(&body).unwrap();
    let bytes = motcua::sync::envelope::open(&env, &[PinnedKey::parse(key).unwrap()]).unwrap();
    let bundle = motcua::catalog::parse_bundle(&bytes, limit).unwrap();
    let canonical = serde_json::to_vec(&bundle).unwrap();
    let mut store = motcua::store::CatalogStore::open(&dir.path().join("catalog.db")).unwrap();
    store.apply(&bundle, "bench", false).unwrap();
    std::hint::black_box((&body, &env, &bytes, &canonical));
    let ms = t0.elapsed().as_secs_f64() * 1000.0;
    let (_, peak) = rss();
    println!("RESULT {ms:.0} {before} {peak}");
}

/// A relay to the hub that counts bytes; with `identity` it turns the client's
/// `accept-encoding: gzip` into `accept-encoding: none` (an unknown coding: the hub answers
/// uncompressed), so the same daemon code measures the uncompressed wire.
async fn relay(upstream: std::net::SocketAddr, identity: bool) -> (String, Arc<AtomicU64>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let down = Arc::new(AtomicU64::new(0));
    let d = Arc::clone(&down);
    tokio::spawn(async move {
        while let Ok((mut c, _)) = l.accept().await {
            let d = Arc::clone(&d);
            tokio::spawn(async move {
                let mut s = TcpStream::connect(upstream).await.unwrap();
                let mut head = vec![0u8; 8192];
                let n = c.read(&mut head).await.unwrap();
                head.truncate(n);
                if identity {
                    let text = String::from_utf8_lossy(&head)
                        .replace("accept-encoding: gzip", "accept-encoding: none");
                    head = text.into_bytes();
                }
                s.write_all(&head).await.unwrap();
                if let Ok((_, b)) = tokio::io::copy_bidirectional(&mut c, &mut s).await {
                    d.fetch_add(b, Ordering::SeqCst);
                }
            });
        }
    });
    (format!("http://{addr}"), down)
}

fn run_child(args: &[&str]) -> (f64, u64, u64) {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .arg("--child")
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("RESULT "))
        .unwrap_or_else(|| panic!("child failed: {}", String::from_utf8_lossy(&out.stderr)));
    let v: Vec<f64> = line[7..].split(' ').map(|x| x.parse().unwrap()).collect();
    (v[0], v[1] as u64, v[2] as u64)
}

/// Where the time of publish and apply goes, step by step, in this process.
fn breakdown(bundle: &[u8], limit: usize) {
    let ms = |t: Instant| t.elapsed().as_secs_f64() * 1000.0;
    let t = Instant::now();
    let raw: CatalogBundle = serde_json::from_slice(bundle).unwrap();
    let parse = ms(t);
    drop(raw);
    let t = Instant::now();
    let b = motcua::catalog::parse_bundle(bundle, limit).unwrap();
    let validated = ms(t);
    let t = Instant::now();
    let spill = tempfile::tempfile().unwrap();
    let b2 = motcua::catalog::parse_bundle_spilled(bundle.to_vec(), limit, spill).unwrap();
    let spilled = ms(t);
    assert!(b2 == b);
    drop(b2);
    let t = Instant::now();
    let signed = serde_json::to_vec(&b).unwrap();
    let ser = ms(t);
    let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let t = Instant::now();
    let env = serde_json::to_vec(&motcua::sync::envelope::seal(&signed, &key)).unwrap();
    let seal = ms(t);
    let t = Instant::now();
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(1));
    z.write_all(&env).unwrap();
    let z = z.finish().unwrap();
    let gzip = ms(t);
    let t = Instant::now();
    let mut r =
        motcua::sync::body::BodyReader::new(motcua::sync::body::Coding::Gzip, u64::MAX, None);
    for c in z.chunks(16 * 1024) {
        r.push(c).unwrap();
    }
    let env = r.finish().unwrap();
    let gunzip = ms(t);
    let t = Instant::now();
    let pinned = keys::public_of(&key);
    let bytes = motcua::sync::envelope::open_body(env, &[pinned]).unwrap();
    let open = ms(t);
    drop(bytes);
    let dir = tempfile::tempdir().unwrap();
    let mut store = motcua::store::CatalogStore::open(&dir.path().join("c.db")).unwrap();
    let t = Instant::now();
    store.apply(&b, "bench", false).unwrap();
    let apply = ms(t);
    println!("steps (this process): serde parse {parse:.0} ms, parse_bundle (parse + validate + clean) {validated:.0} ms, the same through a scratch file {spilled:.0} ms, serialise {ser:.0} ms, seal (sign + base64) {seal:.0} ms, gzip -1 {gzip:.0} ms, gunzip {gunzip:.0} ms, open_body (base64 + verify) {open:.0} ms, store apply {apply:.0} ms");
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        let a = &args[i + 1..];
        match a[0].as_str() {
            "daemon" => child_daemon(
                &a[1],
                &a[2],
                &a[3],
                a[4].parse().unwrap(),
                a[5].parse().unwrap(),
            ),
            _ => child_old(&a[1], &a[2], &a[3], a[4].parse().unwrap()),
        }
        return;
    }
    let n: usize = std::env::var("BENCH_PROCEDURES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("catalog.json");
    let bundle = full_size_bundle(n);
    std::fs::File::create(&file)
        .unwrap()
        .write_all(&bundle)
        .unwrap();
    let parsed: CatalogBundle = serde_json::from_slice(&bundle).unwrap();
    println!(
        "catalog: {n} procedures, {:.1} MB of JSON ({:.0} bytes per procedure)",
        bundle.len() as f64 / 1e6,
        bundle.len() as f64 / parsed.procedures.len() as f64
    );
    drop(parsed);
    let limit = limit_for(bundle.len());
    if limit != DEFAULT_MAX_BUNDLE_BYTES {
        println!(
            "  over the default max_bundle_bytes ({DEFAULT_MAX_BUNDLE_BYTES}): this run uses {limit}"
        );
    }
    breakdown(&bundle, limit);
    let hub_dir = dir.path().join("hub");
    keys::keygen(&hub_dir).unwrap();
    let key = keys::load_signing_key(&hub_dir).unwrap();
    let pinned = keys::public_of(&key).to_base64();
    let hub = HubState::open(&hub_dir).unwrap();
    let token = hub.db().add_device("bench", chrono::Utc::now()).unwrap();

    let mut publish = Vec::new();
    let mut version = 0;
    for _ in 0..rounds {
        let t0 = Instant::now();
        let bytes = std::fs::read(&file).unwrap();
        let p = hub
            .db()
            .publish(
                &bytes,
                &key,
                limit,
                Some(chrono::Duration::days(30)),
                chrono::Utc::now(),
            )
            .unwrap();
        publish.push(t0.elapsed().as_secs_f64() * 1000.0);
        println!(
            "  published v{}: {} bytes signed envelope, {} bytes gzip stored ({:.1}x smaller)",
            p.version,
            p.envelope_bytes,
            p.stored_bytes,
            p.envelope_bytes as f64 / p.stored_bytes as f64
        );
        version = p.version;
    }
    let publish = median(publish);
    println!("hub publish (read file, validate, sign, gzip, store): median {publish:.0} ms");

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (gz_url, gz_down, id_url, id_down) = rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(motcua::hub::serve(
            listener,
            hub.clone(),
            std::future::pending(),
        ));
        let (gz_url, gz_down) = relay(addr, false).await;
        let (id_url, id_down) = relay(addr, true).await;
        (gz_url, gz_down, id_url, id_down)
    });
    let v = version.to_string();
    let lim = limit.to_string();
    let report = |name: &str, url: &str, down: Option<&AtomicU64>, old: bool| {
        let (mut ms, mut peak, mut base, mut wire) = (vec![], vec![], 0, 0);
        for _ in 0..rounds {
            let before = down.map(|d| d.load(Ordering::SeqCst)).unwrap_or(0);
            let (t, b, p) = if old {
                run_child(&["old", url, &token, &pinned, &lim])
            } else {
                run_child(&["daemon", url, &token, &pinned, &v, &lim])
            };
            ms.push(t);
            peak.push(p as f64 / 1024.0);
            base = b;
            std::thread::sleep(Duration::from_millis(300));
            wire = down.map(|d| d.load(Ordering::SeqCst) - before).unwrap_or(0);
        }
        let (t, p) = (median(ms), median(peak));
        let wire = if down.is_some() {
            format!(", {:.1} MB on the wire", wire as f64 / 1e6)
        } else {
            String::new()
        };
        println!(
            "{name}: median {t:.0} ms, peak RSS {p:.0} MiB (process before start {:.0} MiB){wire}",
            base as f64 / 1024.0
        );
        (t, p)
    };
    let (gz_t, gz_p) = report(
        "device apply, gzip wire (daemon)",
        &gz_url,
        Some(&gz_down),
        false,
    );
    let (id_t, id_p) = report(
        "  peer: device apply, uncompressed wire (same daemon)",
        &id_url,
        Some(&id_down),
        false,
    );
    let (old_t, old_p) = report(
        "  peer: pre-issue-13 sequence (whole body, struct copies)",
        &id_url,
        None,
        true,
    );
    let t0 = Instant::now();
    let value: serde_json::Value = serde_json::from_slice(&bundle).unwrap();
    let parse = t0.elapsed().as_secs_f64() * 1000.0;
    drop(value);
    println!("  peer: serde_json::from_slice::<Value> of the bundle: {parse:.0} ms");
    println!(
        "publish + apply (gzip): {:.0} ms (floor 3000 ms); peak daemon RSS {gz_p:.0} MiB (floor 150 MiB)",
        publish + gz_t
    );
    println!(
        "ratios: gzip apply / uncompressed apply = {:.2} (time), {:.2} (peak RSS); vs pre-issue-13 = {:.2} (time), {:.2} (peak RSS); gzip apply / bare parse = {:.1}",
        gz_t / id_t,
        gz_p / id_p,
        gz_t / old_t,
        gz_p / old_p,
        gz_t / parse
    );
}
