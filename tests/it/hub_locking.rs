//! Writers in several processes on one `hub.db`: the simulator of a running hub and the
//! operator's `hub queue` commands. Every write must land (no "database is locked"), and the
//! hub's sequence numbers stay gapless and unique.

use std::path::Path;
use std::process::Command;

fn motcua(data: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_motcua"))
        .arg("--config")
        .arg(data.with_file_name("none.toml"))
        .args(args)
        .arg("--data")
        .arg(data)
        .output()
        .unwrap()
}

/// Four processes at a time append queue events while a hub's simulator appends its own.
/// Before writes took the lock up front (BEGIN IMMEDIATE), some of these failed at once with
/// "database is locked".
#[test]
fn queue_writes_from_several_processes_all_land() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("hub");
    std::fs::write(dir.path().join("none.toml"), "").unwrap();
    let out = motcua(&data, &["hub", "keygen"]);
    assert!(out.status.success());
    let mut server = Command::new(env!("CARGO_BIN_EXE_motcua"))
        .arg("--config")
        .arg(dir.path().join("none.toml"))
        .args(["hub", "serve", "--listen", "127.0.0.1:0", "--simulate"])
        .args(["--sim-pace-secs", "0.05", "--sim-counters", "3", "--data"])
        .arg(&data)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    const WRITERS: usize = 4;
    const CALLS: usize = 25;
    let failures: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..WRITERS)
            .map(|w| {
                let data = &data;
                s.spawn(move || {
                    let counter = (w + 10).to_string();
                    (0..CALLS)
                        .filter_map(|_| {
                            let out = motcua(data, &["hub", "queue", "call", &counter]);
                            (!out.status.success())
                                .then(|| String::from_utf8_lossy(&out.stderr).into_owned())
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(failures, Vec::<String>::new());
    let db = rusqlite::Connection::open(data.join("hub.db")).unwrap();
    let (n, max, ours): (i64, i64, i64) = db
        .query_row(
            "SELECT count(*), max(seq), sum(counter >= 10) FROM queue_events",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(ours, (WRITERS * CALLS) as i64);
    assert_eq!(n, max, "sequence numbers are gapless");
    // Each counter's tickets were numbered once each.
    let tickets: i64 = db
        .query_row(
            "SELECT count(DISTINCT ticket) FROM queue_events WHERE counter >= 10",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tickets, (WRITERS * CALLS) as i64);
}
