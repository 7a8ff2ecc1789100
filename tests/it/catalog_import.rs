//! Catalog bundles from outside: every bad case gets an exact error, and the installed
//! catalog stays as it was.

use motcua::catalog::validate::Problem;
use motcua::catalog::{parse_bundle, BundleError, DEFAULT_MAX_BUNDLE_BYTES};
use motcua::store::{CatalogStore, StoreError};
use serde_json::json;

use crate::support::*;

fn parse(v: &serde_json::Value) -> Result<motcua::catalog::CatalogBundle, BundleError> {
    parse_bundle(v.to_string().as_bytes(), DEFAULT_MAX_BUNDLE_BYTES)
}

fn problems(v: &serde_json::Value) -> Vec<Problem> {
    match parse(v) {
        Err(BundleError::Invalid(p)) => p.first,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

fn problem(code: Option<&str>, path: &str, message: &str) -> Problem {
    Problem {
        procedure: code.map(str::to_owned),
        path: path.to_owned(),
        message: message.to_owned(),
    }
}

#[test]
fn good_bundle_parses() {
    let b = parse(&small_catalog()).unwrap();
    assert_eq!(b.version, 3);
    assert_eq!(b.procedures.len(), 5);
    assert_eq!(b.procedures[0].code, "1.001193");
}

#[test]
fn malformed_json_names_line_and_column() {
    let err = parse_bundle(b"{\n  \"schema\": 1,\n  \"version\": 2,,\n}", 1 << 20).unwrap_err();
    assert_eq!(
        err,
        BundleError::Syntax {
            line: 3,
            column: 16,
            message: "key must be a string".into()
        }
    );
}

#[test]
fn truncated_json_is_a_syntax_error() {
    let text = small_catalog().to_string();
    let err = parse_bundle(&text.as_bytes()[..text.len() / 2], 1 << 20).unwrap_err();
    assert!(
        matches!(err, BundleError::Syntax { line: 1, .. }),
        "{err:?}"
    );
}

#[test]
fn unknown_schema_version_is_refused_with_advice() {
    let mut v = small_catalog();
    v["schema"] = json!(3);
    let err = parse(&v).unwrap_err();
    assert_eq!(
        err,
        BundleError::UnsupportedSchema {
            found: "3".into(),
            oldest: 1,
            supported: 2
        }
    );
    assert_eq!(
        err.to_string(),
        "catalog bundle has schema version 3; this motcua reads schemas 1 to 2 (update motcua, or ask the server for schema 2)"
    );
    // Schema 1 (the fixture) and schema 2 both read.
    v["schema"] = json!(2);
    assert!(parse(&v).is_ok());
}

#[test]
fn duplicate_codes_are_named() {
    let mut v = small_catalog();
    let dup = v["procedures"][0].clone();
    v["procedures"].as_array_mut().unwrap().push(dup);
    assert_eq!(
        problems(&v),
        vec![problem(
            Some("1.001193"),
            "code",
            "duplicate procedure code: it appears more than once"
        )]
    );
}

#[test]
fn counter_serving_unknown_field() {
    let mut v = small_catalog();
    v["counters"][1]["fields"] = json!(["chung-thuc", "xay-dung"]);
    assert_eq!(
        problems(&v),
        vec![problem(
            None,
            "counters[1].fields[1]",
            "counter 2 serves unknown field xay-dung"
        )]
    );
}

#[test]
fn negative_fee_names_procedure_and_field() {
    let mut v = small_catalog();
    v["procedures"][3]["channels"][0]["fees"][0]["formula"]["amount"] = json!(-10000);
    let err = parse(&v).unwrap_err();
    match &err {
        BundleError::Shape {
            procedure,
            path,
            message,
        } => {
            assert_eq!(procedure.as_deref(), Some("2.000884"));
            // serde buffers internally tagged enums, so the path ends at the formula.
            assert_eq!(path, "channels[0].fees[0].formula");
            assert!(
                message.starts_with("invalid value: integer `-10000`, expected u64"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().starts_with(
        "catalog bundle: procedure 2.000884: field channels[0].fees[0].formula: invalid value"
    ));
}

#[test]
fn absurd_fee_and_bad_tiers() {
    let mut v = small_catalog();
    v["procedures"][3]["channels"][0]["fees"][0]["formula"]["amount"] = json!(5_000_000_000u64);
    v["procedures"][2]["channels"][0]["fees"][0]["formula"]["tiers"] =
        json!([{"from_page": 3, "amount": 1000}, {"from_page": 2, "amount": 500}]);
    assert_eq!(
        problems(&v),
        vec![
            problem(
                Some("2.000815"),
                "channels[0].fees[0].formula.tiers[0].from_page",
                "the first tier must start at page 1"
            ),
            problem(
                Some("2.000815"),
                "channels[0].fees[0].formula.tiers[1].from_page",
                "tiers must start at increasing pages"
            ),
            problem(
                Some("2.000884"),
                "channels[0].fees[0].formula.amount",
                "5000000000 VND is above the plausible limit of 100000000 VND"
            ),
        ]
    );
}

#[test]
fn invalid_utf8_gives_the_offset() {
    let mut bytes = small_catalog().to_string().into_bytes();
    let at = bytes.windows(5).position(|w| w == b"khai ").unwrap();
    bytes[at] = 0xff;
    assert_eq!(
        parse_bundle(&bytes, 1 << 20).unwrap_err(),
        BundleError::NotUtf8 { offset: at }
    );
}

#[test]
fn ten_megabyte_string_is_refused() {
    let mut v = small_catalog();
    v["procedures"][1]["name"]["vi"] = json!("a".repeat(10 * 1024 * 1024));
    assert_eq!(
        problems(&v),
        vec![problem(
            Some("1.000894"),
            "name.vi",
            "text is 10485760 characters, over the limit of 2000"
        )]
    );
}

/// The real catalog's longest texts pass, and a bundle with hundreds of problems says how many
/// there are while listing only the first ones.
#[test]
fn error_counts_every_problem_and_lists_the_first() {
    let mut v = small_catalog();
    let template = v["procedures"][0].clone();
    let procedures: Vec<_> = (0..120)
        .map(|i| {
            let mut p = template.clone();
            p["code"] = json!(format!("9.{i:06}"));
            p["field"] = json!("no-such-field");
            p["online_url"] = json!("http://insecure.example");
            p
        })
        .collect();
    v["procedures"] = json!(procedures);
    let err = parse(&v).unwrap_err();
    let BundleError::Invalid(p) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(p.total, 240);
    assert_eq!(p.first.len(), motcua::catalog::validate::MAX_PROBLEMS);
    let text = err.to_string();
    assert!(
        text.starts_with("catalog bundle has 240 problems; the first 50:\n  - procedure 9.000000: field field: unknown field no-such-field\n"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 51);
}

#[test]
fn oversized_bundle_is_refused_before_parsing() {
    let text = small_catalog().to_string();
    assert_eq!(
        parse_bundle(text.as_bytes(), 1000).unwrap_err(),
        BundleError::TooLarge {
            size: text.len(),
            limit: 1000
        }
    );
}

#[test]
fn html_in_text_is_cleaned_not_kept() {
    let mut v = small_catalog();
    v["procedures"][0]["name"]["vi"] =
        json!("<b>Đăng ký</b>&nbsp;khai sinh<script>alert(1)</script>");
    v["procedures"][0]["steps"][0] = json!("Nộp hồ sơ<br>tại <a href=\"x\">Bộ phận một cửa</a>");
    let b = parse(&v).unwrap();
    assert_eq!(b.procedures[0].name.vi, "Đăng ký khai sinh");
    assert_eq!(
        b.procedures[0].steps[0].vi,
        "Nộp hồ sơ\ntại Bộ phận một cửa"
    );
}

#[test]
fn name_that_is_only_markup_is_empty_and_refused() {
    let mut v = small_catalog();
    v["fields"][2]["name"] = json!("<p></p>");
    assert_eq!(
        problems(&v),
        vec![problem(None, "fields[2].name.vi", "must not be empty")]
    );
}

#[test]
fn bad_codes_are_quoted_safely() {
    let mut v = small_catalog();
    v["procedures"][4]["code"] = json!("../../etc/passwd'; DROP TABLE x;--");
    v["procedures"][4]["online_url"] = json!("javascript:alert(1)");
    assert_eq!(
        problems(&v),
        vec![
            problem(
                Some("#5"),
                "code",
                "\"../../etc/passwd'; DROP TABLE x;--\" is not a procedure code (letters, digits, '.', '-', '_', at most 40)"
            ),
            problem(
                Some("#5"),
                "online_url",
                "must be an https:// address without spaces, at most 2048 bytes"
            ),
        ]
    );
}

#[test]
fn unknown_key_is_refused() {
    let mut v = small_catalog();
    v["procedures"][0]["fee_html"] = json!("<b>x</b>");
    let err = parse(&v).unwrap_err();
    match err {
        BundleError::Shape {
            procedure,
            path,
            message,
        } => {
            assert_eq!(procedure.as_deref(), Some("1.001193"));
            assert_eq!(path, "fee_html");
            assert!(message.starts_with("unknown field `fee_html`"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn rollback_is_refused_by_the_store_and_nothing_changes() {
    let s = Scratch::new();
    let mut store = CatalogStore::open(&s.path().join("catalog.db")).unwrap();
    let b3 = parse(&small_catalog()).unwrap();
    store.apply(&b3, "test", false).unwrap();
    let mut older = b3.clone();
    older.version = 2;
    older.procedures.truncate(1);
    let err = store.apply(&older, "test", false).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Rollback {
                installed: 3,
                new: 2
            }
        ),
        "{err}"
    );
    assert_eq!(store.load().unwrap().unwrap(), b3);
    store.apply(&older, "test", true).unwrap();
    assert_eq!(store.load().unwrap().unwrap().procedures.len(), 1);
}

#[test]
fn stored_catalog_round_trips_exactly() {
    let s = Scratch::new();
    let mut store = CatalogStore::open(&s.path().join("catalog.db")).unwrap();
    let b = parse(&small_catalog()).unwrap();
    let info = store.apply(&b, "file:x", false).unwrap();
    assert_eq!(info.procedures, 5);
    assert_eq!(info.counters, 3);
    assert_eq!(store.load().unwrap().unwrap(), b);
}

#[test]
fn cli_import_of_each_bad_file_leaves_the_catalog_unchanged() {
    let s = Scratch::new();
    let ok = s.motcua(&["catalog", "import", SMALL_CATALOG]);
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert_eq!(
        stdout(&ok).lines().next().unwrap(),
        format!(
            "imported catalog version 3 (5 procedures, 3 fields, 3 counters, 1 officials) into {}",
            s.data_dir().join("catalog.db").display()
        )
    );
    let before = s.motcua(&["catalog", "stats", "--json"]);

    let mut dup = small_catalog();
    dup["version"] = json!(4);
    let first = dup["procedures"][0].clone();
    dup["procedures"].as_array_mut().unwrap().push(first);
    let bad_files: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "syntax.json",
            b"{\"schema\": 1,".to_vec(),
            "not valid JSON at line 1",
        ),
        (
            "schema.json",
            br#"{"schema": 9}"#.to_vec(),
            "schema version 9",
        ),
        (
            "utf8.json",
            b"{\"schema\": 1, \"x\": \"\xff\"}".to_vec(),
            "not valid UTF-8",
        ),
        (
            "dup.json",
            dup.to_string().into_bytes(),
            "procedure 1.001193: field code: duplicate",
        ),
    ];
    for (name, bytes, expected) in bad_files {
        let f = s.file(name, bytes);
        let out = s.motcua(&["catalog", "import", f.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{name}");
        let err = stderr(&out);
        assert!(
            err.starts_with(&format!(
                "motcua: error: {} was not imported; the installed catalog is unchanged",
                f.display()
            )),
            "{name}: {err}"
        );
        assert!(err.contains(expected), "{name}: {err}");
        let after = s.motcua(&["catalog", "stats", "--json"]);
        assert_eq!(
            stdout(&after),
            stdout(&before),
            "{name} changed the catalog"
        );
    }
}
