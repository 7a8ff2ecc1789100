//! Province-scale load on loopback, bounded in time; run on demand (they print numbers for
//! docs/benchmarks.md and take a minute or two):
//!
//!     cargo test --test it hub_load -- --ignored --nocapture --test-threads 1
//!
//! * `fan_out_to_3000_long_polls`: 3,000 simulated devices, each with its own token, hold
//!   long-polls on one `motcua hub serve` process; one queue event is written by another
//!   process; every device must get it. Prints the latency percentiles and the hub's RSS and
//!   CPU time (from /proc). `MOTCUA_LOAD_STORE=postgres` runs the hub on PostgreSQL.
//! * `a_day_of_a_province_on_postgres`: 166 centers × 8 counters × 120 tickets (called,
//!   started, finished: 478,080 events) pushed through the PostgreSQL store by 166
//!   concurrent writers, for at most `MOTCUA_LOAD_SECS` (default 120) seconds; prints the
//!   throughput and the share of the day replayed.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use motcua::hub::{Database, Store};
use motcua::queue::{QueueEvent, QueueEventKind};

use super::hub_support::Postgres;

const DEVICES: usize = 3000;

struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Raise this process's open-file limit (children inherit it): 3,000 connections need it.
fn raise_nofile(want: u64) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        lim.rlim_cur = want.min(lim.rlim_max);
        libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
    }
    assert!(
        lim.rlim_cur >= want,
        "RLIMIT_NOFILE hard limit {} < {want}",
        lim.rlim_max
    );
}

/// (RSS bytes, CPU seconds user+system) of a process, from /proc.
fn usage(pid: u32) -> (u64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    (rss_kb * 1024, (ticks(11) + ticks(12)) / hz)
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "load test: run on demand, see the file's header"]
async fn fan_out_to_3000_long_polls() {
    raise_nofile(16_384);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("hub");
    let pg = (std::env::var("MOTCUA_LOAD_STORE").as_deref() == Ok("postgres"))
        .then(|| Postgres::start_with(&[]));
    let db = match &pg {
        Some(pg) => Database::Postgres(pg.create_db("load").await),
        None => Database::Sqlite(data.clone()),
    };
    // 3,000 devices with their own tokens, registered in one go.
    let store = Store::open(&db).await.unwrap();
    let mut tokens = Vec::with_capacity(DEVICES);
    for i in 0..DEVICES {
        tokens.push(
            store
                .add_device(
                    &format!("kiosk-{i:04}"),
                    &format!("center {}", i % 166),
                    chrono::Utc::now(),
                )
                .await
                .unwrap(),
        );
    }
    drop(store);
    std::fs::write(dir.path().join("none.toml"), "").unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let database: Vec<String> = match &db {
        Database::Postgres(url) => vec!["--database".into(), url.clone()],
        Database::Sqlite(_) => vec![],
    };
    let hub = Kill(
        Command::new(env!("CARGO_BIN_EXE_motcua"))
            .arg("--config")
            .arg(dir.path().join("none.toml"))
            .args([
                "hub",
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--data",
            ])
            .arg(&data)
            .args(&database)
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let pid = hub.0.id();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    for _ in 0..100 {
        if http.get(format!("{base}/v1/health")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let idle = usage(pid);
    // Open the long-polls in waves of 250 (the listen backlog is finite).
    let started = Instant::now();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Instant, bool)>();
    for chunk in tokens.chunks(250) {
        for token in chunk {
            let req = http
                .get(format!("{base}/v1/queue/events?after=0&wait=60"))
                .bearer_auth(token)
                .timeout(Duration::from_secs(90))
                .send();
            let tx = tx.clone();
            tokio::spawn(async move {
                let ok = match req.await {
                    Ok(r) => r.text().await.is_ok_and(|b| b.contains("\"seq\":1")),
                    Err(_) => false,
                };
                let _ = tx.send((Instant::now(), ok));
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Wait until the hub holds them all (one descriptor each), at most 60 s.
    while open_fds(pid) < DEVICES && started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let held = open_fds(pid);
    let before = usage(pid);
    // One event, from another process (as an operator's `hub queue` or another hub would).
    let pushed = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_motcua"))
        .arg("--config")
        .arg(dir.path().join("none.toml"))
        .args(["hub", "queue", "call", "7", "--data"])
        .arg(&data)
        .args(&database)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = pushed.elapsed();
    drop(tx);
    let mut latencies = Vec::with_capacity(DEVICES);
    let mut failed = 0;
    let deadline = pushed + Duration::from_secs(30);
    while latencies.len() + failed < DEVICES {
        match tokio::time::timeout_at(deadline.into(), rx.recv()).await {
            Ok(Some((at, true))) => latencies.push(at.saturating_duration_since(pushed)),
            Ok(Some((_, false))) => failed += 1,
            _ => break,
        }
    }
    let after = usage(pid);
    latencies.sort();
    let n = latencies.len();
    println!(
        "hub_load fan-out ({}): {n}/{DEVICES} devices got the event ({failed} failed); \
         connections held {held}; CLI write took {written:?}; latency from the write's start \
         p50 {:?} p99 {:?} max {:?}; hub RSS idle {:.1} MiB, holding {DEVICES} polls {:.1} MiB, \
         after {:.1} MiB; hub CPU to open the polls {:.2} s, for the fan-out {:.2} s",
        if pg.is_some() { "PostgreSQL" } else { "SQLite" },
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies[n - 1],
        idle.0 as f64 / 1048576.0,
        before.0 as f64 / 1048576.0,
        after.0 as f64 / 1048576.0,
        before.1 - idle.1,
        after.1 - before.1,
    );
    assert_eq!((n, failed), (DEVICES, 0), "every device gets the event");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "load test: run on demand, see the file's header"]
async fn a_day_of_a_province_on_postgres() {
    const CENTERS: u32 = 166;
    const COUNTERS: u32 = 8;
    const TICKETS: u32 = 120;
    let limit = Duration::from_secs(
        std::env::var("MOTCUA_LOAD_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(120),
    );
    // Durable commits, as in production.
    let pg = Postgres::start_with(&[]);
    let url = pg.create_db("day").await;
    let store = Store::open(&Database::Postgres(url)).await.unwrap();
    let t0 = Instant::now();
    let deadline = t0 + limit;
    let mut tasks = Vec::new();
    for center in 0..CENTERS {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            // A center's counters take turns, ticket by ticket, as the day goes.
            'day: for t in 1..=TICKETS {
                for c in 1..=COUNTERS {
                    let counter = (center * COUNTERS + c) % 999 + 1;
                    for kind in [
                        QueueEventKind::Called,
                        QueueEventKind::Started,
                        QueueEventKind::Finished,
                    ] {
                        if Instant::now() >= deadline {
                            break 'day;
                        }
                        let e = QueueEvent {
                            seq: 0,
                            counter,
                            kind,
                            ticket: Some(format!("{}", c * 1000 + t)),
                            record_id: None,
                            waiting: Some(TICKETS - t),
                            at: "2026-12-05T08:00:00+07:00".into(),
                        };
                        let s = Instant::now();
                        store.push_event(&e, "2026-12-05").await.unwrap();
                        latencies.push(s.elapsed());
                    }
                }
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let elapsed = t0.elapsed();
    all.sort();
    let total = (CENTERS * COUNTERS * TICKETS * 3) as usize;
    let head = store.head().await.unwrap();
    println!(
        "hub_load day replay (PostgreSQL, durable commits, {CENTERS} concurrent writers): \
         {} of {total} events ({:.1} %) in {elapsed:.1?}: {:.0} events/s; insert latency p50 \
         {:?} p99 {:?}; a whole day at this rate: {:.1} min",
        all.len(),
        100.0 * all.len() as f64 / total as f64,
        all.len() as f64 / elapsed.as_secs_f64(),
        percentile(&all, 0.5),
        percentile(&all, 0.99),
        total as f64 / (all.len() as f64 / elapsed.as_secs_f64()) / 60.0,
    );
    assert_eq!(
        head as usize,
        all.len(),
        "gapless: every event numbered once"
    );
}
