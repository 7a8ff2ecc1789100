//! The converter on real portal records: `tests/fixtures/portal/` holds 29 of them, chosen for
//! the longest names and texts and the oddest tables (see its README). Every expectation here
//! was read off the record's published text by hand.

use std::path::PathBuf;

use super::*;
use crate::catalog::{parse_bundle, FeeFormula, PageTier};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/portal")
}

fn convert_fixtures(level: Level, overrides: Option<&Overrides>) -> (CatalogBundle, ConvertReport) {
    let (records, skipped) = read_records(&[fixtures()]).unwrap();
    assert!(skipped.is_empty(), "{skipped:?}");
    convert(
        &records,
        &ConvertOptions {
            level,
            version: 7,
            issued_at: "2026-12-01T08:00:00+07:00".into(),
            profile: None,
            overrides,
        },
    )
}

fn channel(p: &Procedure, ch: Channel) -> &ChannelExecution {
    p.channels
        .iter()
        .find(|c| c.channel == ch)
        .unwrap_or_else(|| panic!("{} has no {ch:?}", p.code))
}

fn time(p: &Procedure, ch: Channel) -> (Option<u32>, Option<u32>, &str) {
    let t = &channel(p, ch).processing_time;
    (t.working_days, t.calendar_days, t.text.vi.as_str())
}

#[test]
fn every_fixture_converts_and_the_bundle_imports() {
    let (b, report) = convert_fixtures(Level::All, None);
    assert_eq!(report.records_read, 29);
    assert_eq!(report.converted, 29);
    assert!(report.skipped.is_empty() && report.duplicates.is_empty());
    assert_eq!(report.unknown_keys.len(), 0);
    let json = serde_json::to_vec(&b).unwrap();
    let back = parse_bundle(&json, usize::MAX).unwrap();
    assert_eq!(back.procedures.len(), 29);
    // The longest real name (1,094 characters) is kept whole.
    let longest = back.procedure("1.013980").unwrap();
    assert_eq!(longest.name.vi.chars().count(), 1094);
}

#[test]
fn the_commune_filter_keeps_records_that_list_cap_xa() {
    let (b, report) = convert_fixtures(Level::Commune, None);
    assert_eq!((report.converted, report.filtered_out), (26, 3));
    assert!(b.procedure("1.000178").is_none() && b.procedure("1.013980").is_none());
    assert!(
        b.procedure("2.002225").is_some(),
        "Cấp bộ, Cấp tỉnh, Cấp xã"
    );
}

#[test]
fn times_are_structured_per_channel_only_where_unambiguous() {
    let (b, _) = convert_fixtures(Level::All, None);
    let p = b.procedure("1.012812").unwrap();
    assert_eq!(time(p, Channel::Direct), (None, Some(40), "40 Ngày"));
    assert_eq!(time(p, Channel::Postal), (None, Some(30), "30 Ngày"));
    let p = b.procedure("1.013967").unwrap();
    assert_eq!(time(p, Channel::Direct).1, Some(60));
    assert_eq!(time(p, Channel::Online).1, Some(45));
    assert_eq!(time(p, Channel::Postal).1, Some(45));
    let p = b.procedure("2.000930").unwrap();
    assert_eq!(time(p, Channel::Direct), (Some(5), None, "5 Ngày làm việc"));
    // A bare "1" with nothing to say what unit: text only.
    let p = b.procedure("1.001193").unwrap();
    assert_eq!(time(p, Channel::Direct), (None, None, "1"));
    // Two online rows (1 and 3 working days, by case): text of both, no single number.
    let p = b.procedure("1.010041").unwrap();
    assert_eq!(
        time(p, Channel::Online),
        (None, None, "1 Ngày làm việc; 3 Ngày làm việc")
    );
    // "120 VNĐ(20.000 đ/tờ khai)": a bare time glued to an amount has two readings.
    let p = b.procedure("1.007859").unwrap();
    assert_eq!(
        time(p, Channel::Online),
        (None, None, "120 VNĐ(20.000 đ/tờ khai)")
    );
    assert!(channel(p, Channel::Online).fees.is_empty());
}

#[test]
fn fees_are_structured_where_the_text_has_one_reading() {
    let (b, _) = convert_fixtures(Level::All, None);
    let fees = |code: &str, ch: Channel| channel(b.procedure(code).unwrap(), ch).fees.clone();
    let f = fees("2.000930", Channel::Direct);
    assert_eq!(f.len(), 1);
    assert_eq!(
        (f[0].text.vi.as_str(), &f[0].formula),
        ("Miễn phí", &Some(FeeFormula::Free))
    );
    // "Không có thông tin" as the time, a bare amount as the fee: per case.
    let f = fees("1.006468", Channel::Online);
    assert_eq!(f[0].formula, Some(FeeFormula::PerCase { amount: 20_000 }));
    assert_eq!(f[0].text.vi, "20.000 đồng");
    // Free, with the on-request copy fee split off as its own item.
    let f = fees("1.000894", Channel::Direct);
    assert_eq!(f[0].formula, Some(FeeFormula::Free));
    assert_eq!(f[0].text.vi, "Miễn phí (Miễn lệ phí.)");
    assert_eq!(f[1].applies, FeeApplies::OnRequest);
    assert!(f[1].text.vi.contains("Trích lục kết hôn (nếu có yêu cầu)"));
    // Free, but the note says the province sets the amount: text only.
    let f = fees("1.004859", Channel::Direct);
    assert_eq!(f[0].formula, None);
    assert!(f[0].text.vi.contains("Hội đồng nhân dân"));
    // Copy authentication: two in-person rows (commune in đồng, consulates in USD) with
    // different fees, so each is a labelled text-only case.
    let f = fees("2.000815", Channel::Direct);
    assert_eq!(f.len(), 2);
    assert_eq!(f[0].label.as_ref().unwrap().vi, "Trường hợp 1");
    assert_eq!(
        (f[0].text.vi.as_str(), &f[0].formula),
        ("2.000 đồng/trang", &None)
    );
    assert_eq!(f[1].text.vi, "10 USD/bản");
}

#[test]
fn documents_results_and_legal_basis_are_split_into_items() {
    let (b, _) = convert_fixtures(Level::All, None);
    let p = b.procedure("1.001193").unwrap();
    assert_eq!(p.result.as_ref().unwrap().vi, "Giấy khai sinh");
    let groups: Vec<_> = p
        .documents
        .iter()
        .filter_map(|d| d.group.as_ref().map(|g| g.vi.as_str()))
        .collect();
    assert!(groups.contains(&"Giấy tờ phải nộp"), "{groups:?}");
    assert!(groups.contains(&"Giấy tờ phải xuất trình"), "{groups:?}");
    let birth = p
        .documents
        .iter()
        .find(|d| d.name.vi.starts_with("Giấy chứng sinh"))
        .unwrap();
    assert_eq!((birth.originals, birth.copies), (1, 0));
    assert!(p
        .legal_basis
        .iter()
        .any(|l| l.ends_with("(85/2019/TT-BTC)") && l.starts_with("Thông tư Hướng dẫn về phí")));
    // A form's file name is its template.
    let p = b.procedure("1.008312").unwrap();
    assert_eq!(
        p.documents[0].template.as_deref(),
        Some("Mẫu số 01 TAIN.docx")
    );
    assert!(p.documents[0].name.vi.ends_with("mẫu số 01/TAIN"));
    // Portal fields without a place of their own in schema 1 are carried.
    let p = b.procedure("1.001193").unwrap();
    assert_eq!(p.decision.as_deref(), Some("163/QĐ-BTP"));
    assert!(p
        .source_url
        .as_deref()
        .unwrap()
        .starts_with("https://dichvucong.gov.vn/"));
    assert_eq!(p.online_url, p.source_url);
    assert_eq!(p.agency, None, "Không có thông tin is no agency");
    assert_eq!(p.conditions, None);
    let related = b.procedure("5.003809").unwrap().related.as_ref().unwrap();
    assert!(!related.vi.starts_with('#'), "{}", related.vi);
}

#[test]
fn overrides_replace_a_channel_and_report_disagreements() {
    let over = Overrides::parse(
        r#"{"fields": {"Chứng thực": "Certification"},
             "procedures": {
               "2.000815": {"name_en": "Certified copies from originals",
                 "channels": [{"channel": "direct", "fees": [{"text": "2.000 đồng/trang; từ trang thứ ba trở lên 1.000 đồng/trang, tối đa 200.000 đồng/bản",
                   "formula": {"kind": "per_page", "tiers": [{"from_page": 1, "amount": 2000}, {"from_page": 3, "amount": 1000}], "max_per_copy": 200000}}]},
                   {"channel": "postal", "fees": []}]},
               "1.012812": {"channels": [{"channel": "direct", "processing_time": {"text": "30 ngày", "calendar_days": 30}}]},
               "9.999999": {}
             }}"#
            .as_bytes(),
    )
    .unwrap();
    let (b, report) = convert_fixtures(Level::All, Some(&over));
    let p = b.procedure("2.000815").unwrap();
    assert_eq!(
        p.name.en.as_deref(),
        Some("Certified copies from originals")
    );
    let f = &channel(p, Channel::Direct).fees;
    assert_eq!(
        f[0].formula,
        Some(FeeFormula::PerPage {
            tiers: vec![
                PageTier {
                    from_page: 1,
                    amount: 2000
                },
                PageTier {
                    from_page: 3,
                    amount: 1000
                }
            ],
            max_per_copy: Some(200_000)
        })
    );
    let field = b.field(&p.field).unwrap();
    assert_eq!(field.name.en.as_deref(), Some("Certification"));
    assert_eq!(report.overridden, 2);
    assert_eq!(
        report.override_notes,
        vec![
            "1.012812 direct: hand-checked time (None, Some(30)) differs from the portal's (None, Some(40)) (40 Ngày)".to_owned(),
            "2.000815: the portal lists no postal channel; override not applied".to_owned(),
            "9.999999: no such procedure in this conversion".to_owned(),
        ]
    );
}

#[test]
fn a_bad_record_is_skipped_and_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.json"), b"{\"ma_thu_tuc\": 5}").unwrap();
    std::fs::write(
        dir.path().join("b.json"),
        br#"{"ma_thu_tuc": "../etc", "ten_thu_tuc": "x", "cap_thuc_hien": "C\u1ea5p x\u00e3"}"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("c.json"),
        r#"{"ma_thu_tuc": "1.000001", "ten_thu_tuc": " ", "cap_thuc_hien": "Cấp xã", "extra": 1}"#,
    )
    .unwrap();
    let (records, skipped) = read_records(&[dir.path().to_owned()]).unwrap();
    assert_eq!(skipped.len(), 1);
    assert!(skipped[0]
        .reason
        .starts_with("not a portal record: invalid type: integer `5`"));
    let (b, report) = convert(
        &records,
        &ConvertOptions {
            level: Level::Commune,
            version: 1,
            issued_at: "2026-12-01T08:00:00+07:00".into(),
            profile: None,
            overrides: None,
        },
    );
    assert!(b.procedures.is_empty());
    let reasons: Vec<_> = report.skipped.iter().map(|s| s.reason.as_str()).collect();
    assert_eq!(
        reasons,
        vec![
            "ma_thu_tuc \"../etc\" is not a procedure code",
            "ten_thu_tuc (the name) is empty"
        ]
    );
    assert_eq!(report.unknown_keys.get("extra"), Some(&1));
}

/// The committed default catalog is what the converter makes of the portal's records with the
/// committed center profile and overrides: checked on every fixture it contains.
#[test]
fn the_embedded_default_is_the_converters_output() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let profile =
        CenterProfile::parse(&std::fs::read(root.join("data/demo-center.json")).unwrap()).unwrap();
    let over = Overrides::parse(&std::fs::read(root.join("data/overrides.json")).unwrap()).unwrap();
    let (records, _) = read_records(&[fixtures()]).unwrap();
    let (b, _) = convert(
        &records,
        &ConvertOptions {
            level: Level::Commune,
            version: 2,
            issued_at: "2026-12-02T08:00:00+07:00".into(),
            profile: Some(&profile),
            overrides: Some(&over),
        },
    );
    let b = parse_bundle(&serde_json::to_vec(&b).unwrap(), usize::MAX).unwrap();
    let embedded = crate::catalog::demo_bundle();
    assert_eq!(b.procedures.len(), 26);
    for p in &b.procedures {
        assert_eq!(Some(p), embedded.procedure(&p.code), "{}", p.code);
    }
}
