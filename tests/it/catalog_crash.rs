//! Power-cut safety of catalog imports: `motcua catalog import` is killed (SIGKILL) at random
//! points while applying a large bundle; afterwards the store must hold either the old or the
//! new catalog, whole, and pass SQLite's integrity check. See docs/storage.md.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use motcua::store::{open_connection, Access, CatalogStore};

use crate::support::*;

/// A bundle of `n` procedures derived from the small fixture, at `version`.
fn big_bundle(n: usize, version: u64) -> String {
    let mut v = small_catalog();
    let template = v["procedures"][2].clone();
    let procs = v["procedures"].as_array_mut().unwrap();
    for i in 0..n {
        let mut p = template.clone();
        p["code"] = serde_json::json!(format!("9.{i:06}"));
        procs.push(p);
    }
    v["version"] = serde_json::json!(version);
    v.to_string()
}

/// xorshift: deterministic kill points without a dependency.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn killed_import_leaves_old_or_new_catalog_whole() {
    let s = Scratch::new();
    let ok = s.motcua(&["catalog", "import", SMALL_CATALOG]);
    assert!(ok.status.success(), "{}", stderr(&ok));
    let db = s.data_dir().join("catalog.db");
    let config = s.file("empty.toml", "");

    // Calibrate: how long does a full import of the big bundle take here?
    let iterations: u64 = std::env::var("MOTCUA_CRASH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(25);
    let mut installed = (3u64, 5usize);
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut killed_mid_way = 0;
    let mut full_import = Duration::from_millis(300);
    for i in 0..iterations {
        let version = 4 + i;
        let n = 3000;
        let file = s.file("big.json", big_bundle(n, version));
        let started = Instant::now();
        let mut child = Command::new(env!("CARGO_BIN_EXE_motcua"))
            .arg("--config")
            .arg(&config)
            .arg("--data-dir")
            .arg(s.data_dir())
            .args(["catalog", "import"])
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let delay = Duration::from_micros(next(&mut rng) % (full_import.as_micros() as u64 + 1));
        std::thread::sleep(delay);
        let _ = child.kill();
        let status = child.wait().unwrap();
        if status.success() {
            full_import = full_import.max(started.elapsed());
        } else {
            killed_mid_way += 1;
        }

        let conn = open_connection(&db, Access::ReadOnly).unwrap();
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok", "iteration {i}");
        drop(conn);
        let store = CatalogStore::open_read_only(&db).unwrap();
        let info = store.info().unwrap().expect("a catalog stays installed");
        let bundle = store.load().unwrap().unwrap();
        let now = (info.version, bundle.procedures.len());
        assert!(
            now == installed || now == (version, n + 5),
            "iteration {i}: found version {} with {} procedures; expected {:?} or ({version}, {})",
            now.0,
            now.1,
            installed,
            n + 5
        );
        assert_eq!(info.procedures as usize, bundle.procedures.len());
        installed = now;
    }
    assert!(
        killed_mid_way > 0,
        "no import was ever interrupted; the test proved nothing"
    );
}
