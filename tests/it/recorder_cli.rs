//! `motcua snapshots …` end to end on a scratch data directory with a synthetic camera:
//! capture, list, verify (clean and tampered), export and check-export, and bad input refused
//! with exact messages.

use crate::support::{stderr, stdout, Scratch};

const REC: &str = "000.00.14.H56-251119-0042";

fn synthetic_config(s: &Scratch) -> std::path::PathBuf {
    s.file(
        "rec.toml",
        "[[recorder.cameras]]\ncounter = 3\ndevice = \"synthetic\"\nwidth = 320\nheight = 240\n",
    )
}

fn motcua(s: &Scratch, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_motcua"))
        .arg("--config")
        .arg(synthetic_config(s))
        .arg("--data-dir")
        .arg(s.data_dir())
        .args(args)
        .env_remove("MOTCUA_DATA_DIR")
        .output()
        .unwrap()
}

#[test]
fn bad_record_ids_are_refused_before_anything_is_opened() {
    let s = Scratch::new();
    let long = "A".repeat(10 * 1024);
    let cases = [
        (
            "../../etc/passwd",
            "a record ID may contain only letters, digits, '.' and '-'",
        ),
        (
            "x'; DROP TABLE snapshot; --",
            "a record ID may contain only letters, digits, '.' and '-'",
        ),
        (long.as_str(), "a record ID is at most 40 characters"),
        (
            "000.00.14.H56-251399-0042",
            "the date part of a record ID (251399) is not a real day",
        ),
    ];
    for (id, msg) in cases {
        for sub in [
            ["snapshot", "capture", "--counter", "3"].as_slice(),
            ["snapshots", "list"].as_slice(),
        ] {
            let mut args = sub.to_vec();
            args.extend(["--record", id]);
            let o = motcua(&s, &args);
            assert_eq!(o.status.code(), Some(2), "{args:?}");
            let err = stderr(&o);
            assert!(
                err.contains(&format!("for '--record <ID>': {msg}")),
                "{err}"
            );
        }
    }
    assert!(
        !s.data_dir().join("private/footage.db").exists(),
        "nothing was created"
    );
}

#[test]
fn capture_list_verify_export_round_trip() {
    let s = Scratch::new();
    for reason in ["started", "finished"] {
        let o = motcua(
            &s,
            &[
                "snapshot",
                "capture",
                "--counter",
                "3",
                "--record",
                REC,
                "--reason",
                reason,
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let snap: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
        assert_eq!(snap["record_id"], REC);
        assert_eq!(
            (snap["width"].as_u64(), snap["height"].as_u64()),
            (Some(320), Some(240))
        );
    }
    let o = motcua(
        &s,
        &["snapshot", "capture", "--counter", "9", "--record", REC],
    );
    assert_eq!(
        stderr(&o).lines().next().unwrap(),
        "motcua: error: no camera is configured for counter 9; add one under [[recorder.cameras]]"
    );
    let o = motcua(
        &s,
        &[
            "snapshot",
            "capture",
            "--counter",
            "3",
            "--record",
            REC,
            "--reason",
            "a\u{7}b",
        ],
    );
    assert_eq!(
        stderr(&o).lines().next().unwrap(),
        "motcua: error: invalid reason: a reason must not contain control characters"
    );

    let o = motcua(
        &s,
        &[
            "snapshots",
            "list",
            "--record",
            &REC.to_lowercase(),
            "--json",
        ],
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1]["reason"], "finished");
    let o = motcua(
        &s,
        &[
            "snapshots",
            "list",
            "--since",
            "2000-01-01",
            "--until",
            "2000-01-02",
            "--json",
        ],
    );
    assert_eq!(stdout(&o).trim(), "[]");
    let o = motcua(&s, &["snapshots", "list", "--since", "soon"]);
    assert!(
        stderr(&o).contains("`soon` is not a time; use 2026-11-23 or 2026-11-23T10:00:00Z"),
        "{}",
        stderr(&o)
    );

    let o = motcua(&s, &["snapshots", "verify"]);
    assert!(o.status.success(), "{}", stdout(&o));
    assert!(
        stdout(&o)
            .starts_with("2 chain entries, 2 snapshots (0 recovered), 2 files checked; head 2 "),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).ends_with("not anchored: no hub receipt is stored yet\n"));

    let zip = s.path().join("case.zip");
    let o = motcua(
        &s,
        &[
            "snapshots",
            "export",
            "--record",
            REC,
            "--out",
            zip.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = motcua(&s, &["snapshots", "check-export", zip.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o)
        .contains("2 snapshot(s) of 000.00.14.H56-251119-0042 match their hashes and chain proof"));
    // no device key on this machine: the export says it is unsigned, and so does the check
    assert!(stdout(&o).contains("UNSIGNED (no device signature); no anchored head"));
    let o = motcua(&s, &["snapshots", "list", "--json"]);
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        rows.iter().all(|r| r["pinned"] == true),
        "exported snapshots are pinned"
    );
    let o = motcua(
        &s,
        &[
            "snapshots",
            "export",
            "--record",
            "000.00.14.H56-251119-0001",
            "--out",
            "x.zip",
        ],
    );
    assert_eq!(
        stderr(&o).lines().next().unwrap(),
        "motcua: error: no snapshots are stored for record 000.00.14.H56-251119-0001"
    );

    // tamper with a stored JPEG: verify names it and fails
    let sha = rows[0]["sha256"].as_str().unwrap();
    let path = s
        .data_dir()
        .join("footage")
        .join(&sha[..2])
        .join(format!("{sha}.jpg"));
    std::fs::write(&path, b"edited").unwrap();
    let o = motcua(&s, &["snapshots", "verify"]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.starts_with(&format!(
            "PROBLEM: snapshot 1: file {} was altered (its SHA-256 is now ",
            path.display()
        )),
        "{out}"
    );
    assert_eq!(
        stderr(&o).trim(),
        "motcua: error: 1 problem(s) found in the footage"
    );
}
