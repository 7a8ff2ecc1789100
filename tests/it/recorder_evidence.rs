//! Issue 16: acknowledged snapshots survive the loss of footage.db's WAL. A real `motcua`
//! process captures N snapshots (each acknowledged on stdout, for its own record ID), is
//! SIGKILLed, and the WAL is truncated — to nothing, or cut in half — as a power cut on an SD
//! card can leave it. The next start (open as the writer, which reconciles) must still list
//! all N by record ID: each file describes itself and is re-adopted, marked as recovered.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use motcua::recorder::footage::{Filter, FootageStore};

use crate::support::{stdout, Scratch};

/// Capture `n` snapshots in a child, kill it, cut the WAL to `keep(len)` bytes; returns the
/// acknowledged `(id, record)` pairs.
fn capture_then_cut_wal(s: &Scratch, n: u32, keep: impl Fn(u64) -> u64) -> Vec<(i64, String)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_motcua"))
        .arg("--config")
        .arg(s.file("empty.toml", ""))
        .arg("--data-dir")
        .arg(s.data_dir())
        .args(["snapshots", "ingest-loop", "--counter", "1", "--count"])
        .arg(n.to_string())
        .env_remove("MOTCUA_DATA_DIR")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut acked = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if line == "done" {
            break;
        }
        if let Some(rest) = line.strip_prefix("ok ") {
            let (id, rec) = rest.split_once(' ').unwrap();
            acked.push((id.parse().unwrap(), rec.to_owned()));
        }
    }
    child.kill().unwrap(); // SIGKILL: no checkpoint on close
    child.wait().unwrap();
    assert_eq!(acked.len(), n as usize);
    let wal = s.data_dir().join("private/footage.db-wal");
    let len = std::fs::metadata(&wal).unwrap().len();
    assert!(len > 0, "the commits are still in the WAL");
    std::fs::OpenOptions::new()
        .write(true)
        .open(&wal)
        .unwrap()
        .set_len(keep(len))
        .unwrap();
    // the shared-memory index does not survive a power cut either
    let _ = std::fs::remove_file(s.data_dir().join("private/footage.db-shm"));
    acked
}

fn all_listed_after_restart(s: &Scratch, acked: &[(i64, String)]) -> usize {
    let (store, report) = FootageStore::open_writer(&s.data_dir(), 1).unwrap();
    assert!(report.quarantined.is_empty(), "{report:?}");
    for (_, rec) in acked {
        let rows = store
            .list(&Filter {
                record_id: Some(rec.clone()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(rows.len(), 1, "record {rec} after the restart: {report:?}");
    }
    let v = store.verify(true).unwrap();
    assert!(v.ok(), "{:?}", v.problems);
    report.recovered.len()
}

#[test]
fn wal_truncated_after_n_acknowledged_snapshots_loses_none() {
    let s = Scratch::new();
    let acked = capture_then_cut_wal(&s, 10, |_| 0);
    let recovered = all_listed_after_restart(&s, &acked);
    assert_eq!(recovered, 10, "every row came back from its file");
    // and the CLI lists them by record ID, marked as recovered
    let out = s.motcua(&["snapshots", "list", "--record", &acked[3].1, "--json"]);
    assert!(out.status.success());
    let rows: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(rows[0]["recovered_from_seq"], acked[3].0);
    assert!(rows[0]["reason"]
        .as_str()
        .unwrap()
        .starts_with("recovered from seq"));
    // `snapshots verify` leads with them: count and record IDs, not a detail line
    let out = s.motcua(&["snapshots", "verify"]);
    let first = stdout(&out).lines().next().unwrap_or_default().to_owned();
    assert!(
        first.starts_with("RECOVERED 10 snapshot(s) after their rows were lost: #")
            && acked
                .iter()
                .all(|(_, rec)| first.contains(&format!("(record {rec}, "))),
        "{first}"
    );
}

#[test]
fn wal_cut_in_half_loses_none() {
    let s = Scratch::new();
    let acked = capture_then_cut_wal(&s, 11, |len| len / 2);
    let recovered = all_listed_after_restart(&s, &acked);
    assert!(
        (1..=11).contains(&recovered),
        "some rows survive in the WAL's first half, the rest come back from their files ({recovered})"
    );
}
