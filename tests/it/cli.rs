//! The command line as a user meets it: exact output of search, fee and show on the small
//! fixture catalog, and exit codes.

use crate::support::*;

fn with_fixture() -> Scratch {
    let s = Scratch::new();
    let out = s.motcua(&["catalog", "import", SMALL_CATALOG]);
    assert!(out.status.success(), "{}", stderr(&out));
    s
}

#[test]
fn search_json_is_code_name_field_score_best_first() {
    let s = with_fixture();
    let out = s.motcua(&[
        "search", "dang", "ky", "khai", "sinh", "--json", "--limit", "3",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let hits: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!hits.is_empty() && hits.len() <= 3);
    assert_eq!(hits[0]["code"], "1.001193");
    assert_eq!(hits[0]["name"], "Đăng ký khai sinh");
    assert_eq!(hits[0]["field"], "ho-tich");
    // serde_json's map is sorted, so compare the key set.
    let keys: Vec<_> = hits[0].as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["code", "field", "name", "score"]);
    let scores: Vec<u64> = hits.iter().map(|h| h["score"].as_u64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
}

#[test]
fn search_by_d_for_dj_and_english() {
    let s = with_fixture();
    let out = s.motcua(&["search", "hoa giai tranh chap dat dai", "--json"]);
    let hits: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(hits[0]["code"], "1.003554");
    let out = s.motcua(&["search", "marriage", "--json", "--lang", "en"]);
    let hits: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(hits[0]["code"], "1.000894");
    assert_eq!(hits[0]["name"], "Marriage registration");
}

#[test]
fn fee_shows_working_and_total() {
    let s = with_fixture();
    let out = s.motcua(&[
        "fee",
        "2.000815",
        "--pages",
        "5",
        "--copies",
        "2",
        "--date",
        "2026-11-23",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<_> = text.lines().collect();
    assert_eq!(
        lines[1],
        "  Phí chứng thực: 2 trang × 2.000 đ + 3 trang × 1.000 đ = 7.000 đ / bản × 2 bản = 14.000 đ"
    );
    assert_eq!(lines[2], "Tổng cộng: 14.000 đ");
}

#[test]
fn text_only_fee_says_so_instead_of_guessing() {
    let s = with_fixture();
    let out = s.motcua(&["fee", "1.003554", "--lang", "en", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["total"], serde_json::Value::Null);
    assert_eq!(
        v["lines"][0]["working"],
        "Published as text only: \"As set by the provincial People's Council\""
    );
}

#[test]
fn fee_for_a_channel_not_offered_names_the_offered_ones() {
    let s = with_fixture();
    let out = s.motcua(&["fee", "2.000884", "--channel", "postal"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out).trim_end(),
        "motcua: error: procedure 2.000884 is not offered through channel postal; it is offered: direct"
    );
}

#[test]
fn unknown_code_suggests_search() {
    let s = with_fixture();
    let out = s.motcua(&["catalog", "show", "9.999999"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out).trim_end(),
        "motcua: error: no procedure with code \"9.999999\" in the catalog; try `motcua search 9.999999`"
    );
}

#[test]
fn embedded_demo_is_served_when_nothing_was_imported() {
    let s = Scratch::new();
    let out = s.motcua(&["catalog", "stats", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["origin"]["kind"], "embedded_demo");
    assert!(
        !s.data_dir().join("catalog.db").exists(),
        "reading must not create the store"
    );
}

/// The national portal's records, longest name (1,094 characters) and longest texts
/// included, convert into a bundle that `catalog import` takes whole; the summary counts
/// structured times and fees per channel.
#[test]
fn portal_records_convert_and_import_including_the_longest() {
    let s = Scratch::new();
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/portal");
    let out_file = s.path().join("national.json");
    let out = s.motcua(&[
        "catalog",
        "convert",
        fixtures,
        "--level",
        "all",
        "--issued-at",
        "2026-12-01T08:00:00+07:00",
        "--out",
        out_file.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with("converted 29 procedure(s) into "),
        "{text}"
    );
    assert!(
        text.contains("\nchannel    procedures  structured time"),
        "{text}"
    );
    let out = s.motcua(&["catalog", "import", out_file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = s.motcua(&["catalog", "show", "1.013980", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let p: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(p["name"]["vi"].as_str().unwrap().chars().count(), 1094);

    // Commune level only, and nothing to convert is an error that says why.
    let out = s.motcua(&[
        "catalog",
        "convert",
        &format!("{fixtures}/1.000178.json"),
        "--out",
        out_file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out).trim(),
        "motcua: error: no procedure to write: 1 record(s) read, 1 of another level, 0 skipped"
    );
}

/// Regression: `motcua catalog stats | head -1` (and `search … | head`) panicked with
/// "failed printing to stdout: Broken pipe".
#[test]
fn a_reader_that_goes_away_ends_the_command_quietly() {
    let s = Scratch::new();
    for args in ["catalog stats", "search dang ky --limit 50"] {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "'{}' --config /dev/null --data-dir '{}' {args} | true",
                env!("CARGO_BIN_EXE_motcua"),
                s.data_dir().display()
            ))
            .output()
            .unwrap();
        assert!(out.status.success(), "{args}");
        assert_eq!(stderr(&out), "", "{args}");
    }
}

/// Issue 15 review: root over SSH defaults to the appliance's data directory; a file it
/// created there (here: `private/review.db`) would belong to root and the daemon could not
/// open it. As root on a data directory another user owns, a writing command runs as that
/// user: everything it creates belongs to the owner.
#[test]
fn root_runs_as_the_owner_of_the_daemons_data_dir() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root");
        return;
    }
    let s = Scratch::new();
    // the owner (nobody) must be able to reach the data directory through the scratch dir
    std::fs::set_permissions(s.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = s.file("empty.toml", "");
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();
    let data = s.data_dir();
    std::fs::create_dir_all(&data).unwrap();
    std::os::unix::fs::chown(&data, Some(65534), Some(65534)).unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_motcua"))
            .arg("--config")
            .arg(&config)
            .arg("--data-dir")
            .arg(&data)
            .args(args)
            .env_remove("MOTCUA_DATA_DIR")
            .output()
            .unwrap()
    };
    let o = run(&["user", "list"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let made: Vec<_> = walk(&data);
    assert!(
        made.iter().any(|p| p.ends_with("private/review.db")),
        "{made:?}"
    );
    for p in &made {
        let m = std::fs::metadata(p).unwrap();
        assert_eq!((m.uid(), m.gid()), (65534, 65534), "{}", p.display());
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        }
        out.push(p);
    }
    out
}
