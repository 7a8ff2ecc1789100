//! Behaviour tests of search as a citizen sees it, on a small realistic catalog.

use unicode_normalization::UnicodeNormalization;

use super::*;
use crate::catalog::Procedure;

/// Built from JSON, as bundles are, so fields added to the model later with defaults do
/// not break these tests.
fn procedure(code: &str, vi: &str, en: Option<&str>, keywords: &[&str]) -> Procedure {
    serde_json::from_value(serde_json::json!({
        "code": code,
        "name": {"vi": vi, "en": en},
        "field": "ho-tich",
        "channels": [{"channel": "direct", "processing_time": {"text": "Trong ngày"}}],
        "keywords": keywords,
    }))
    .expect("a valid procedure")
}

fn catalog() -> Vec<Procedure> {
    let nfd_hoa_giai: String = "Hoà giải tranh chấp đất đai".nfd().collect();
    vec![
        /* 0 */
        procedure(
            "1.001193",
            "Đăng ký khai sinh",
            Some("Birth registration"),
            &["giấy khai sinh", "newborn"],
        ),
        /* 1 */
        procedure(
            "1.004884",
            "Đăng ký khai sinh lưu động",
            Some("Mobile birth registration"),
            &[],
        ),
        /* 2 */
        procedure(
            "1.001695",
            "Đăng ký lại khai sinh",
            Some("Re-registration of birth"),
            &[],
        ),
        /* 3 */
        procedure(
            "1.000894",
            "Đăng ký kết hôn",
            Some("Marriage registration"),
            &["giấy đăng ký kết hôn", "marriage"],
        ),
        /* 4 */
        procedure(
            "2.000815",
            "Chứng thực bản sao từ bản chính giấy tờ, văn bản",
            Some("Certifying copies from originals"),
            &["công chứng", "sao y", "certified copy"],
        ),
        /* 5 */
        procedure(
            "2.000884",
            "Chứng thực chữ ký trong các giấy tờ, văn bản",
            Some("Signature authentication"),
            &[],
        ),
        /* 6 */
        procedure(
            "1.003554",
            &nfd_hoa_giai,
            Some("Mediation of land disputes"),
            &[],
        ),
        /* 7 */
        procedure(
            "1.000656",
            "Đăng ký khai tử",
            Some("Death registration"),
            &[],
        ),
        /* 8 */
        procedure(
            "2.001023",
            "Cấp giấy chứng nhận quyền sử dụng đất",
            Some("Land use right certificate"),
            &["sổ đỏ"],
        ),
        /* 9 */
        procedure(
            "1.009001",
            "Cấp phép khai thác công trình thuỷ lợi",
            None,
            &[],
        ),
        /* 10 */
        procedure(
            "1.001100",
            "Xác nhận tình trạng hôn nhân",
            Some("Certificate of marital status"),
            &["độc thân"],
        ),
    ]
}

fn index() -> SearchIndex {
    SearchIndex::build(&catalog())
}

fn docs(hits: &[SearchHit]) -> Vec<usize> {
    hits.iter().map(|h| h.doc).collect()
}

#[allow(dead_code)]
fn tiers(hits: &[SearchHit]) -> Vec<MatchTier> {
    hits.iter().map(|h| h.tier).collect()
}

fn top(ix: &SearchIndex, q: &str) -> usize {
    let o = ix.answer(q, 10);
    assert!(o.found(), "{q}: {:?}", o.verdict);
    o.hits[0].doc
}

#[test]
fn index_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<SearchIndex>();
    assert_eq!(index().len(), 11);
    assert!(SearchIndex::build(&[]).is_empty());
    assert_eq!(SearchIndex::build(&[]).search("khai sinh", 10), []);
}

#[test]
fn accentless_query_finds_birth_registration_first() {
    let hits = index().search("dang ky khai sinh", 10);
    assert_eq!(&docs(&hits)[..3], [0, 1, 2]);
    assert!(hits[..3].iter().all(|h| h.tier == MatchTier::Words));
    assert!(hits[0].confidence > 0.9, "{hits:?}");
}

#[test]
fn accented_case_nfd_and_punctuation_do_not_change_the_order() {
    let ix = index();
    let plain = docs(&ix.search("dang ky khai sinh", 10));
    assert_eq!(docs(&ix.search("Đăng ký khai sinh", 10)), plain);
    assert_eq!(docs(&ix.search("ĐĂNG KÝ KHAI SINH", 10)), plain);
    assert_eq!(docs(&ix.search("  đăng-ký, (khai) sinh!! ", 10)), plain);
    let nfd: String = "Đăng ký khai sinh".nfd().collect();
    assert_eq!(docs(&ix.search(&nfd, 10)), plain);
}

#[test]
fn tone_placement_and_nfd_data_are_equal() {
    let ix = index();
    // Doc 6 is stored in NFD with the old placement "Hoà".
    for q in ["hoa giai", "hòa giải", "hoà giải", "HÒA GIẢI"] {
        assert_eq!(top(&ix, q), 6, "{q}");
    }
    // Doc 9 is stored with the old placement "thuỷ".
    assert_eq!(top(&ix, "thủy lợi"), 9);
    assert_eq!(top(&ix, "thuỷ lợi"), 9);
}

#[test]
fn d_typed_for_d_with_stroke() {
    let ix = index();
    assert_eq!(top(&ix, "dang ky ket hon"), 3);
    assert_eq!(top(&ix, "dat dai"), 6);
    assert_eq!(top(&ix, "doc than"), 10);
}

#[test]
fn the_word_being_typed_matches_as_a_prefix() {
    let ix = index();
    assert_eq!(top(&ix, "khai si"), 0);
    assert_eq!(top(&ix, "dang ky ket h"), 3);
    assert_eq!(top(&ix, "chung thuc ban s"), 4);
    // A finished word (a space after it) is not a prefix of a longer one any more.
    let o = ix.answer("xac nhan tinh ", 10);
    assert_eq!(o.hits[0].doc, 10);
}

#[test]
fn one_typo_per_word_is_tolerated_two_for_long_words_none_for_short() {
    let ix = index();
    assert_eq!(top(&ix, "khai sjnh"), 0);
    assert_eq!(top(&ix, "dang ky ket hom"), 3);
    // Transposition counts as one edit.
    assert_eq!(top(&ix, "dang ky ket hno"), 3);
    // "regstrasion": two edits from "registration".
    assert_eq!(top(&ix, "birth regstrasion"), 0);
    // "kx" is one edit from "ky" but two-letter words never match fuzzily.
    assert!(ix.search("kx", 10).is_empty());
    assert!(ix.search("regxstrasxon", 10).is_empty());
}

#[test]
fn codes_match_with_or_without_dots() {
    let ix = index();
    for q in ["1.001193", "1001193", " 1.001193 ", "1 001193"] {
        let hits = ix.search(q, 10);
        assert_eq!((hits[0].doc, hits[0].tier), (0, MatchTier::Code), "{q}");
        assert_eq!(hits[0].confidence, 1.0);
    }
    // A prefix: both codes starting 1.0011.
    let hits = ix.search("1.0011", 10);
    assert_eq!(docs(&hits), [0, 10]);
    // The exact code first, then shorter codes.
    let ix2 = SearchIndex::build(&[
        procedure("1.2345", "A", None, &[]),
        procedure("1.234", "B", None, &[]),
        procedure("1.23", "C", None, &[]),
    ]);
    assert_eq!(docs(&ix2.search("1.23", 10)), [2, 1, 0]);
    // Fewer than three digits is not a code query.
    assert!(ix2
        .search("1.2", 10)
        .iter()
        .all(|h| h.tier != MatchTier::Code));
}

#[test]
fn i_and_y_are_the_same_in_open_syllables() {
    let ix = index();
    assert_eq!(top(&ix, "dang ki ket hon"), 3);
    assert_eq!(top(&ix, "đăng kí kết hôn"), 3);
    assert_eq!(top(&ix, "chứng thực chữ kí"), 5);
}

#[test]
fn telex_and_vni_typed_without_an_input_method_are_read_twice() {
    let ix = index();
    assert_eq!(top(&ix, "chuwngs thuwcj chuwx kys"), 5);
    assert_eq!(top(&ix, "ddawng kys keets hoon"), 3);
    assert_eq!(top(&ix, "d9a8ng ky1 khai sinh"), 0);
}

#[test]
fn accents_the_citizen_typed_break_ties() {
    // Identical but for one accent: only what the citizen typed can tell them apart.
    let ix = SearchIndex::build(&[
        procedure("9.1", "Cấp bản đồ địa chính", None, &[]),
        procedure("9.2", "Cấp bán đồ địa chính", None, &[]),
    ]);
    assert_eq!(top(&ix, "bán đồ"), 1);
    assert_eq!(top(&ix, "bản đồ"), 0);
    assert_eq!(top(&ix, "ban do"), 0);
}

#[test]
fn filler_words_never_hijack_a_result() {
    let ix = index();
    // "cho", "cháu", "làm", "xin" are fillers: birth registration stays first.
    assert_eq!(top(&ix, "đăng ký khai sinh cho cháu"), 0);
    assert_eq!(top(&ix, "xin làm giấy khai sinh cho con"), 0);
    // A query of fillers only is not an answer.
    assert!(!ix.answer("cho tôi xin với", 10).found());
}

#[test]
fn the_lexicon_maps_what_citizens_say_to_official_names() {
    // No keywords at all: everything below comes from data/lexicon.toml.
    let ix = SearchIndex::build(&[
        procedure("1", "Thủ tục đăng ký khai sinh", None, &[]),
        procedure(
            "2",
            "Thủ tục cấp Giấy xác nhận tình trạng hôn nhân",
            None,
            &[],
        ),
        procedure(
            "3",
            "Chứng thực bản sao từ bản chính giấy tờ, văn bản",
            None,
            &[],
        ),
        procedure("4", "Cấp lại thẻ căn cước", None, &[]),
        procedure("5", "Đăng ký thường trú", None, &[]),
        procedure(
            "6",
            "Cấp Giấy chứng nhận quyền sử dụng đất lần đầu",
            None,
            &[],
        ),
    ]);
    assert_eq!(top(&ix, "giấy chứng nhận độc thân"), 1);
    assert_eq!(top(&ix, "công chứng giấy tờ"), 2);
    assert_eq!(top(&ix, "CCCD"), 3);
    assert_eq!(top(&ix, "nhập hộ khẩu"), 4);
    assert_eq!(top(&ix, "sổ đỏ"), 5);
    assert_eq!(top(&ix, "birth certificate"), 0);
    assert_eq!(top(&ix, "ĐKKS"), 0);
}

#[test]
fn popularity_breaks_near_ties_on_short_prefixes() {
    let ix = SearchIndex::build(&[
        procedure("1", "Chứng thực di chúc", None, &[]),
        procedure("2", "Chứng thực văn bản từ chối nhận di sản", None, &[]),
        procedure(
            "3",
            "Chứng thực bản sao từ bản chính giấy tờ, văn bản",
            None,
            &[],
        ),
        procedure(
            "4",
            "Chứng thực chữ ký trong các giấy tờ, văn bản",
            None,
            &[],
        ),
    ]);
    let hits = ix.search("chung thuc", 10);
    assert_eq!(&docs(&hits)[..2], [2, 3], "{hits:?}");
    assert!(ix.prior(2) > ix.prior(0));
}

#[test]
fn popularity_comes_from_record_counts_when_the_bundle_has_them() {
    let procs = [
        procedure("1.1", "Chứng thực di chúc", None, &[]),
        procedure("1.2", "Chứng thực chữ ký", None, &[]),
    ];
    let mut lexicon = crate::catalog::lexicon::Lexicon::default();
    lexicon.popularity.insert("1.1".into(), 900);
    lexicon.popularity.insert("1.2".into(), 3);
    let ix = SearchIndex::build_with(&procs, &[], &lexicon, Vec::new());
    assert_eq!(ix.prior(0), 1.0);
    assert!(ix.prior(1) < 0.3);
    assert_eq!(top(&ix, "chung thuc"), 0);
}

#[test]
fn says_not_here_with_a_referral_for_what_the_center_does_not_do() {
    let ix = SearchIndex::build(&[
        procedure(
            "1.010386",
            "Trình báo mất hộ chiếu phổ thông (thực hiện tại cấp xã)",
            None,
            &[],
        ),
        procedure("2.001659", "Xóa đăng ký phương tiện", None, &[]),
        procedure(
            "1.013080",
            "Cấp lại chứng nhận đăng ký xe, biển số xe",
            None,
            &[],
        ),
    ]);
    for q in [
        "gia hạn hộ chiếu",
        "làm hộ chiếu",
        "cấp hộ chiếu phổ thông",
        "passport renewal",
    ] {
        let o = ix.answer(q, 10);
        let Verdict::NotHere { referral: Some(r) } = o.verdict else {
            panic!("{q}: {:?}", o.verdict);
        };
        assert_eq!(ix.referral(r).unwrap().id, "passport", "{q}");
    }
    // Reporting a lost passport is done here.
    let o = ix.answer("mất hộ chiếu", 10);
    assert!(o.found() && o.hits[0].doc == 0, "{o:?}");
    // "lái" is not "lại": a new driving licence is not a re-issued vehicle registration.
    let o = ix.answer("làm lại bằng lái xe", 10);
    assert!(
        matches!(o.verdict, Verdict::NotHere { referral: Some(_) }),
        "{o:?}"
    );
}

#[test]
fn says_not_here_when_nothing_or_only_one_weak_typo_matches() {
    let ix = index();
    for q in ["xin visa đi mỹ", "zzzq", "pizza"] {
        let o = ix.answer(q, 10);
        assert!(!o.found(), "{q}: {o:?}");
    }
    // "khai sjnh": two words, one a typo: still an answer.
    assert!(ix.answer("khai sjnh", 10).found());
}

#[test]
fn bundle_referrals_and_lexicon_extend_the_defaults() {
    let mut bundle = crate::catalog::demo_bundle();
    bundle.referrals.push(crate::catalog::lexicon::Referral {
        id: "bus-card".into(),
        say: vec!["thẻ xe buýt".into()],
        topic: crate::catalog::Localized::vi("Thẻ xe buýt"),
        place: crate::catalog::Localized::vi("Trung tâm quản lý giao thông công cộng"),
        note: None,
        reason: "local".into(),
    });
    let lexicon: crate::catalog::lexicon::Lexicon = toml::from_str(
        r#"terms = [{ say = ["giấy chào đời"], means = ["đăng ký khai sinh"], kind = "colloquial", reason = "test" }]"#,
    )
    .unwrap();
    bundle.lexicon = Some(lexicon);
    let ix = SearchIndex::for_bundle(&bundle);
    let o = ix.answer("làm thẻ xe buýt", 10);
    let Verdict::NotHere { referral: Some(r) } = o.verdict else {
        panic!("{o:?}");
    };
    assert_eq!(ix.referral(r).unwrap().id, "bus-card");
    let hit = &bundle.procedures[top(&ix, "giấy chào đời")];
    assert_eq!(hit.code, "1.001193");
}

#[test]
fn empty_and_punctuation_queries_find_nothing() {
    let ix = index();
    assert_eq!(ix.search("", 10), []);
    assert_eq!(ix.search("   \t\n ", 10), []);
    assert_eq!(ix.search("?!,.-", 10), []);
    assert_eq!(ix.search("dang ky", 0), []);
    assert!(!ix.answer("", 10).found());
}

#[test]
fn limit_is_respected() {
    let ix = index();
    assert_eq!(ix.search("dang ky", 2).len(), 2);
    assert!(ix.search("dang ky", 100).len() >= 5);
}

#[test]
fn very_long_queries_are_capped_and_never_panic() {
    let ix = index();
    let long = "đăng ký khai sinh ".repeat(600); // > 10 KB
    assert!(long.len() > 10_000);
    let start = std::time::Instant::now();
    assert_eq!(ix.search(&long, 10)[0].doc, 0);
    assert_eq!(ix.search(&"đ".repeat(6000), 10), []);
    assert_eq!(ix.search(&"a".repeat(10_000), 10), []);
    assert!(!ix.search(&"ký, ".repeat(3000), 10).is_empty());
    assert!(start.elapsed() < std::time::Duration::from_secs(1));
}

#[test]
fn html_in_catalog_text_is_not_searchable() {
    let ix = SearchIndex::build(&[procedure("9.1", "Đăng&nbsp;ký<br>khai sinh", None, &[])]);
    assert_eq!(ix.search("nbsp", 10), []);
    assert_eq!(ix.search("br", 10), []);
    assert_eq!(top(&ix, "dang ky khai sinh"), 0);
}

#[test]
fn a_query_that_is_a_whole_keyword_beats_a_chance_phrase_in_a_name() {
    // Without accents "so do" is both "sổ đỏ" (the red book, a keyword) and "(cơ) sở do".
    let ix = SearchIndex::build(&[
        procedure("9.1", "Công nhận cơ sở do bị mất", None, &[]),
        procedure(
            "9.2",
            "Cấp Giấy chứng nhận quyền sử dụng đất",
            None,
            &["sổ đỏ"],
        ),
    ]);
    assert_eq!(docs(&ix.search("so do", 10)), [1, 0]);
}

#[test]
fn a_leading_thu_tuc_has_no_weight() {
    let ix = SearchIndex::build(&[
        procedure("9.1", "Đăng ký khai tử lần đầu", None, &[]),
        procedure("9.2", "Thủ tục đăng ký khai tử", None, &[]),
        procedure("9.3", "Thủ tục hải quan đối với hàng hóa", None, &[]),
    ]);
    assert_eq!(docs(&ix.search("dang ky khai tu", 10))[..2], [1, 0]);
    // "thủ tục" in the query is dropped: it does not pull the customs procedure up.
    assert_eq!(top(&ix, "thủ tục đăng ký khai tử"), 1);
}

#[test]
fn pruned_top_k_equals_the_head_of_the_full_ranking() {
    // Many similar names, so bounds and ties are exercised.
    let actions = [
        "Đăng ký",
        "Cấp",
        "Cấp lại",
        "Chứng thực",
        "Xác nhận",
        "Thay đổi",
    ];
    let objects = [
        "khai sinh",
        "kết hôn",
        "hộ kinh doanh",
        "giấy phép xây dựng",
        "quyền sử dụng đất",
        "bản sao",
        "chữ ký",
        "đất đai",
    ];
    let tails = [
        "",
        "lưu động",
        "có yếu tố nước ngoài",
        "do bị mất",
        "lần đầu",
    ];
    let mut catalog = Vec::new();
    for (i, a) in actions.iter().enumerate() {
        for (j, o) in objects.iter().enumerate() {
            for (k, t) in tails.iter().enumerate() {
                let kw: &[&str] = if (i + j + k) % 3 == 0 { &[o] } else { &[] };
                let name = format!("{a} {o} {t}");
                catalog.push(procedure(&format!("1.{i}{j}{k}"), &name, None, kw));
            }
        }
    }
    let ix = SearchIndex::build(&catalog);
    let queries = [
        "d",
        "c",
        "k",
        "dang",
        "dang k",
        "khai",
        "ban sao",
        "dat",
        "giay p",
        "sjnh",
        "chu k",
        "cap lai",
        "ho kinh doanh",
        "lan dau",
        "1.1",
        "xyz khai",
        "đăng kí",
        "bán",
    ];
    assert!(ix.search("d", usize::MAX).len() > 100);
    for q in queries {
        let all = ix.search(q, usize::MAX);
        for limit in [1, 3, 10] {
            let head: Vec<_> = all.iter().take(limit).cloned().collect();
            assert_eq!(ix.search(q, limit), head, "{q} limit {limit}");
        }
    }
}

#[test]
fn odd_input_never_panics() {
    let ix = index();
    let odd = [
        "\u{0301}\u{0303}", // combining marks only: folds to nothing
        "🙂 khai sinh 🙂",  // emoji around words
        "khai\u{0}sinh",    // NUL as a separator
        "ĐĐĐĐĐĐĐĐĐĐĐĐĐĐĐĐĐĐĐĐĐĐĐĐĐĐĐĐĐĐĐĐĐĐĐĐĐĐĐĐ", // long, multi-byte, fuzzy-sized
        "İstanbul ǅ ß",     // lowercasing that expands
        "العربية 中文 русский", // other scripts
        "1.",
        "...1.001193...",
        "1.001193 khai sinh",
        "ww dd aa 99 9a9",
    ];
    for q in odd {
        for limit in [1, 10] {
            let hits = ix.search(q, limit);
            assert!(hits.len() <= limit, "{q}");
        }
    }
    assert_eq!(ix.search("\u{0301}\u{0303}", 10), []);
    assert_eq!(
        docs(&ix.search("🙂 khai sinh 🙂", 10)),
        docs(&ix.search("khai sinh", 10))
    );
    assert_eq!(
        docs(&ix.search("khai\u{0}sinh", 10)),
        docs(&ix.search("khai sinh", 10))
    );
}

#[test]
fn the_default_lexicon_reaches_every_field_of_the_real_commune_catalog() {
    let bundle = crate::catalog::demo_bundle();
    let ix = SearchIndex::for_bundle(&bundle);
    let mut fields: std::collections::BTreeMap<&str, usize> =
        bundle.fields.iter().map(|f| (f.code.as_str(), 0)).collect();
    let mut with = 0;
    for (doc, p) in bundle.procedures.iter().enumerate() {
        if !ix.text(doc as u32, super::index::KEYWORDS).0.is_empty() {
            *fields.get_mut(p.field.as_str()).unwrap() += 1;
            with += 1;
        }
    }
    let bare: Vec<_> = fields.iter().filter(|(_, n)| **n == 0).collect();
    assert!(
        bare.is_empty(),
        "fields without any lexicon phrasing: {bare:?}"
    );
    assert!(
        with * 4 > bundle.procedures.len() * 3,
        "{with} procedures with phrasings"
    );
}
