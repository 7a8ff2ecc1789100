//! Crash test: a child process ingests snapshots (and retention deletions) in a loop and is
//! SIGKILLed at random moments (most iterations 0–40 ms into its ingest loop, every eighth at
//! a random point of start-up and reconcile); after each kill, reconcile must leave no orphan file or row
//! and `verify` must pass. 200 kills by default; `MOTCUA_CRASH_ITERATIONS` for longer runs.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use motcua::recorder::footage::FootageStore;

use crate::support::Scratch;

#[test]
fn kill_during_ingest_leaves_consistent_footage() {
    let iterations: usize = std::env::var("MOTCUA_CRASH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let s = Scratch::new();
    let empty = s.file("empty.toml", "");
    let t0 = Instant::now();
    let mut rng = fastrand::Rng::with_seed(0x5eed);
    let (mut orphans, mut tmp, mut last_head) = (0, 0, 0);
    for i in 0..iterations {
        let mut child = Command::new(env!("CARGO_BIN_EXE_motcua"))
            .arg("--config")
            .arg(&empty)
            .arg("--data-dir")
            .arg(s.data_dir())
            .args(["snapshots", "ingest-loop", "--counter", "1"])
            .env_remove("MOTCUA_DATA_DIR")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        if i % 8 == 7 {
            std::thread::sleep(Duration::from_micros(rng.u64(0..80_000)));
        } else {
            let mut line = String::new();
            BufReader::new(child.stdout.take().unwrap())
                .read_line(&mut line)
                .unwrap();
            assert_eq!(
                line, "ready\n",
                "iteration {i}: the ingest loop did not start"
            );
            std::thread::sleep(Duration::from_micros(rng.u64(0..40_000)));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        if !s.data_dir().join("footage.db").exists() {
            continue; // killed before it created anything
        }
        let (store, report) = FootageStore::open_writer(&s.data_dir(), 0).unwrap();
        orphans += report.orphans_removed.len();
        tmp += report.tmp_removed;
        assert!(
            report.rows_missing_file.is_empty(),
            "iteration {i}: rows without files {report:?}"
        );
        let v = store.verify(true).unwrap();
        assert!(v.ok(), "iteration {i}: {:?}", v.problems);
        assert!(
            v.head_seq >= last_head,
            "iteration {i}: the chain went backwards"
        );
        last_head = v.head_seq;
    }
    eprintln!(
        "crash test: {iterations} kills in {:?}; chain head {last_head}; reconcile removed {orphans} orphan file(s) and {tmp} temp file(s)",
        t0.elapsed()
    );
    assert!(last_head > 0, "the child never stored anything");
}
