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

fn tiers(hits: &[SearchHit]) -> Vec<MatchTier> {
    hits.iter().map(|h| h.tier).collect()
}

#[test]
fn index_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<SearchIndex>();
    assert_eq!(index().len(), 11);
    assert!(SearchIndex::build(&[]).is_empty());
}

#[test]
fn accentless_query_finds_birth_registration_first() {
    let hits = index().search("dang ky khai sinh", 10);
    assert_eq!(docs(&hits), [0, 1, 2]);
    use MatchTier::*;
    assert_eq!(tiers(&hits), [Phrase, Phrase, Prefix]);
}

#[test]
fn accented_case_and_punctuation_do_not_matter() {
    let ix = index();
    let plain = ix.search("dang ky khai sinh", 10);
    assert_eq!(ix.search("Đăng ký khai sinh", 10), plain);
    assert_eq!(ix.search("ĐĂNG KÝ KHAI SINH", 10), plain);
    assert_eq!(ix.search("  đăng-ký, (khai) sinh!! ", 10), plain);
    let nfd: String = "Đăng ký khai sinh".nfd().collect();
    assert_eq!(ix.search(&nfd, 10), plain);
}

#[test]
fn tone_placement_and_nfd_data_are_equal() {
    let ix = index();
    // Doc 6 is stored in NFD with the old placement "Hoà".
    let expected = ix.search("hoa giai", 10);
    assert_eq!(expected[0].doc, 6);
    assert_eq!(expected[0].tier, MatchTier::Phrase);
    for q in ["hòa giải", "hoà giải", "HÒA GIẢI"] {
        assert_eq!(ix.search(q, 10), expected, "{q}");
    }
    // Doc 9 is stored with the old placement "thuỷ".
    assert_eq!(docs(&ix.search("thủy lợi", 10)), [9]);
    assert_eq!(docs(&ix.search("thuỷ lợi", 10)), [9]);
}

#[test]
fn d_typed_for_d_with_stroke() {
    let ix = index();
    assert_eq!(docs(&ix.search("dang ky ket hon", 10)), [3]);
    // "dai" is also one typo away from "dat": doc 8 comes, but only as a fuzzy match.
    let hits = ix.search("dat dai", 10);
    assert_eq!(docs(&hits), [6, 8]);
    assert_eq!(tiers(&hits), [MatchTier::Phrase, MatchTier::Fuzzy]);
    assert_eq!(docs(&ix.search("doc than", 10)), [10]);
}

#[test]
fn partial_words_match_as_prefix() {
    let ix = index();
    // Both names contain the phrase; the shorter name first.
    assert_eq!(docs(&ix.search("chung thuc", 10)), [5, 4]);
    let hits = ix.search("khai si", 10);
    // Doc 2 (5 words) is shorter than doc 1 (6 words).
    assert_eq!(docs(&hits), [0, 2, 1]);
    use MatchTier::*;
    assert_eq!(tiers(&hits), [Phrase, Phrase, Phrase]);
    // A prefix in the middle of the phrase does not make a phrase.
    let hits = ix.search("dang k khai sinh", 10);
    assert_eq!(docs(&hits), [0, 2, 1]);
    assert_eq!(tiers(&hits), [Prefix, Prefix, Prefix]);
}

#[test]
fn one_typo_per_word_is_tolerated() {
    let ix = index();
    let hits = ix.search("khai sjnh", 10);
    assert_eq!(docs(&hits), [0, 2, 1]);
    assert!(hits.iter().all(|h| h.tier == MatchTier::Fuzzy));
    assert_eq!(docs(&ix.search("dang ky ket hom", 10)), [3]);
    // Transposition counts as one edit.
    assert_eq!(docs(&ix.search("dang ky ket hno", 10)), [3]);
}

#[test]
fn long_words_tolerate_two_typos_short_words_none() {
    let ix = index();
    // "regstrasion": two edits from "registration" (11 letters).
    let hits = ix.search("birth regstrasion", 10);
    assert_eq!(docs(&hits), [0, 2, 1]);
    assert_eq!(hits[0].tier, MatchTier::Fuzzy);
    // "kx" is one edit from "ky" but two-letter words never match fuzzily.
    assert_eq!(ix.search("kx", 10), []);
    // Three edits is too many.
    assert_eq!(ix.search("regxstrasxon", 10), []);
}

#[test]
fn code_and_code_prefix_rank_first() {
    let ix = index();
    let hits = ix.search("1.001193", 10);
    assert_eq!(hits[0].doc, 0);
    assert_eq!(hits[0].tier, MatchTier::Code);
    assert!(hits[1..].iter().all(|h| h.tier < MatchTier::Code));
    let hits = ix.search(" 1.0011", 10);
    assert_eq!(&docs(&hits)[..2], [0, 10]);
    assert_eq!(&tiers(&hits)[..2], [MatchTier::Code, MatchTier::Code]);
    assert_eq!(hits[0].score, hits[1].score);
    // The exact code first, then shorter codes.
    let ix2 = SearchIndex::build(&[
        procedure("1.234", "A", None, &[]),
        procedure("1.23", "B", None, &[]),
        procedure("1.2", "C", None, &[]),
    ]);
    assert_eq!(docs(&ix2.search("1.2", 10)), [2, 1, 0]);
    // Two characters are not enough to be a code query.
    assert_eq!(ix2.search("1.", 10), []);
    let codes: Vec<usize> = ix
        .search("2.000", 10)
        .iter()
        .filter(|h| h.tier == MatchTier::Code)
        .map(|h| h.doc)
        .collect();
    assert_eq!(codes, [4, 5]);
}

#[test]
fn english_name_and_keywords_are_searched() {
    let ix = index();
    let hits = ix.search("birth registration", 10);
    assert_eq!(docs(&hits), [0, 1, 2]);
    use MatchTier::*;
    assert_eq!(tiers(&hits), [Phrase, Phrase, Prefix]);
    assert_eq!(docs(&ix.search("so do", 10)), [8]);
    let hits = ix.search("newborn", 10);
    assert_eq!(docs(&hits), [0]);
    assert_eq!(hits[0].tier, Phrase);
    assert_eq!(docs(&ix.search("Marriage", 10)), [3]);
}

#[test]
fn whole_keyword_then_vietnamese_name_then_shorter() {
    let ix = SearchIndex::build(&[
        procedure("9.1", "Cấp bản sao trích lục hộ tịch", None, &[]),
        procedure("9.2", "Thay đổi, cải chính hộ tịch", None, &["ho tich"]),
        procedure(
            "9.3",
            "Hộ tịch điện tử cho công dân ở nước ngoài",
            None,
            &[],
        ),
        procedure("9.4", "Giấy tờ khác", None, &["hộ tịch"]),
        procedure("9.5", "Giấy tờ khác", None, &["hộ", "tịch"]),
    ]);
    let hits = ix.search("ho tich", 10);
    // The query is a whole keyword of docs 1 and 3: first (the name phrase breaks the tie
    // for doc 1). Then phrases in the name, shorter names first. A phrase never spans two
    // keywords (doc 4).
    assert_eq!(docs(&hits), [1, 3, 0, 2, 4]);
    use MatchTier::*;
    assert_eq!(tiers(&hits), [Phrase, Phrase, Phrase, Phrase, Prefix]);
}

#[test]
fn exact_words_beat_prefixes_within_a_tier() {
    let ix = SearchIndex::build(&[
        procedure("9.1", "Cấp giấy phép xây dựng nhà ở riêng lẻ", None, &[]),
        procedure("9.2", "Cấp giấy phép", None, &[]),
    ]);
    let hits = ix.search("cap giay phe", 10);
    assert_eq!(docs(&hits), [1, 0]);
    let hits = ix.search("giay phep xay", 10);
    assert_eq!(docs(&hits), [0]);
    let hits = ix.search("giay", 10);
    // Same position, same exactness: the shorter name wins.
    assert_eq!(docs(&hits), [1, 0]);
}

#[test]
fn ties_break_by_document_id() {
    let same = procedure("9.1", "Đăng ký thường trú", None, &[]);
    let ix = SearchIndex::build(&[same.clone(), same.clone(), same]);
    let hits = ix.search("thuong tru", 10);
    assert_eq!(docs(&hits), [0, 1, 2]);
    assert!(hits.windows(2).all(|w| w[0].score == w[1].score));
}

#[test]
fn falls_back_to_partial_matches_when_no_document_has_every_word() {
    let ix = index();
    let hits = ix.search("dang ky khai sinh quyxyz", 10);
    assert!(hits.iter().all(|h| h.tier == MatchTier::Fuzzy));
    // Docs matching 4 of 5 words (shorter names first), then 3 of 5 ("Đăng ký khai tử").
    assert_eq!(&docs(&hits)[..4], [0, 2, 1, 7]);
    assert!(hits[2].score > hits[3].score);
    // One odd word never empties the screen.
    assert_eq!(ix.search("zzzq chung thuc ban sao", 10)[0].doc, 4);
}

#[test]
fn empty_and_punctuation_queries_find_nothing() {
    let ix = index();
    assert_eq!(ix.search("", 10), []);
    assert_eq!(ix.search("   \t\n ", 10), []);
    assert_eq!(ix.search("?!,.-", 10), []);
    assert_eq!(ix.search("dang ky", 0), []);
}

#[test]
fn limit_is_respected() {
    let ix = index();
    assert_eq!(docs(&ix.search("dang ky", 2)), [0, 3]);
    assert_eq!(ix.search("dang ky", 100).len(), 5);
}

#[test]
fn very_long_queries_are_capped_and_never_panic() {
    let ix = index();
    let long = "đăng ký khai sinh ".repeat(600); // > 10 KB
    assert!(long.len() > 10_000);
    let start = std::time::Instant::now();
    let hits = ix.search(&long, 10);
    // Only the first 8 words count: every word matched, but no 8-word phrase.
    assert_eq!(docs(&hits), [0, 2, 1]);
    assert_eq!(hits[0].tier, MatchTier::Prefix);
    assert_eq!(ix.search(&"đ".repeat(6000), 10), []);
    assert_eq!(ix.search(&"a".repeat(10_000), 10), []);
    // Six procedures contain "ký" (including "chữ ký").
    assert_eq!(ix.search(&"ký, ".repeat(3000), 10).len(), 6);
    assert!(start.elapsed() < std::time::Duration::from_secs(1));
}

#[test]
fn html_in_catalog_text_is_not_searchable() {
    let ix = SearchIndex::build(&[procedure("9.1", "Đăng&nbsp;ký<br>khai sinh", None, &[])]);
    assert_eq!(ix.search("nbsp", 10), []);
    assert_eq!(ix.search("br", 10), []);
    assert_eq!(
        ix.search("dang ky khai sinh", 10)[0].tier,
        MatchTier::Phrase
    );
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
    let hits = ix.search("so do", 10);
    assert_eq!(docs(&hits), [1, 0]);
    assert_eq!(tiers(&hits), [MatchTier::Phrase, MatchTier::Phrase]);
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
fn a_leading_thu_tuc_does_not_make_a_name_longer() {
    let ix = SearchIndex::build(&[
        procedure("9.1", "Đăng ký khai tử lần đầu", None, &[]),
        procedure("9.2", "Thủ tục đăng ký khai tử", None, &[]),
        procedure("9.3", "Thủ tục", None, &[]),
    ]);
    let hits = ix.search("dang ky khai tu", 10);
    assert_eq!(docs(&hits), [1, 0]);
    assert_eq!(tiers(&hits), [MatchTier::Phrase, MatchTier::Phrase]);
    // The words stay searchable.
    let hits = ix.search("thu tuc", 10);
    assert_eq!(docs(&hits), [2, 1]);
    assert_eq!(tiers(&hits), [MatchTier::Phrase, MatchTier::Phrase]);
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
    ];
    for q in odd {
        for limit in [1, 10] {
            let hits = ix.search(q, limit);
            assert!(hits.len() <= limit, "{q}");
        }
    }
    assert_eq!(ix.search("\u{0301}\u{0303}", 10), []);
    assert_eq!(ix.search("🙂 khai sinh 🙂", 10), ix.search("khai sinh", 10));
    assert_eq!(ix.search("khai\u{0}sinh", 10), ix.search("khai sinh", 10));
    // A code with text after it is not a code query; its words still match (partially:
    // no name has "001193").
    let hits = ix.search("1.001193 khai sinh", 10);
    assert_eq!((hits[0].doc, hits[0].tier), (0, MatchTier::Fuzzy));
}
