//! How citizens name administrative things, and where to send them when the center cannot
//! help: the types of the search lexicon and the referral table, their reviewed defaults
//! (`data/lexicon.toml`, `data/referrals.toml`, embedded in the binary) and their checks.
//!
//! A bundle may extend both with its optional top-level parts `lexicon` and `referrals`
//! (`docs/catalog-format.md`, "Search lexicon and referrals"). This file owns the data and
//! its validation; `crate::search` compiles it into the index and never reads files.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::model::Localized;

/// The reviewed default lexicon, embedded.
pub const DEFAULT_LEXICON_TOML: &str = include_str!("../../data/lexicon.toml");
/// The reviewed default referral table, embedded.
pub const DEFAULT_REFERRALS_TOML: &str = include_str!("../../data/referrals.toml");

/// Most entries of one kind in a bundle part (the defaults have a few hundred).
pub const MAX_LEXICON_ENTRIES: usize = 5_000;
/// Most words in one lexicon phrase.
pub const MAX_PHRASE_WORDS: usize = 16;

/// Words and phrases the search applies to every catalog at index time.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lexicon {
    /// What citizens say, mapped to the words the catalog uses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub terms: Vec<LexiconTerm>,
    /// Words that carry little meaning in a query ("làm", "cho", "xin"): they never decide a
    /// result.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fillers: Vec<WordList>,
    /// Phrases of published names that say nothing about the procedure ("Thủ tục",
    /// "(thực hiện tại cấp xã)"): not indexed in names, dropped from queries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub boilerplate: Vec<WordList>,
    /// Default popularity of procedures by (boilerplate-free) name, when no statistics exist.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub popular: Vec<Popular>,
    /// Default popularity by field name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub field_priors: Vec<FieldPrior>,
    /// Records received per procedure code (the hub's statistics). When present for any
    /// procedure it replaces the name and field defaults.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub popularity: BTreeMap<String, u64>,
}

/// One mapping from what citizens say to how the catalog says it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LexiconTerm {
    /// Citizen phrasings (any script the keyboard gives: accents optional).
    pub say: Vec<String>,
    /// Official phrases: a procedure whose name contains one of them gets every `say`.
    pub means: Vec<String>,
    /// Unless its name also contains one of these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not: Vec<String>,
    pub kind: TermKind,
    /// Why this mapping is right (usage, legal source, old name…). Required.
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TermKind {
    Colloquial,
    Abbreviation,
    Misspelling,
    OldName,
    English,
}

/// A list of words or phrases with the reason for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WordList {
    pub words: Vec<String>,
    /// Fillers only: the word is a filler only when typed with exactly these accents (`tại`
    /// is a filler, `tai` may be `tài sản`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub exact: bool,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Popular {
    /// A procedure name without boilerplate; names equal to it get `weight`, names starting
    /// with it 60% of it (all of it with `prefix`).
    pub name: String,
    #[serde(default)]
    pub prefix: bool,
    /// 0 to 1.
    pub weight: f32,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldPrior {
    /// A phrase of the field's name ("hộ tịch", "hải quan").
    pub field: String,
    /// 0 to 1.
    pub weight: f32,
    pub reason: String,
}

/// Where to go for something the center does not handle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Referral {
    /// Stable identifier, `[a-z0-9-]`; a bundle entry with the id of a default replaces it.
    pub id: String,
    /// Phrases that show the citizen wants this ("hộ chiếu", "passport").
    pub say: Vec<String>,
    /// What it is, for the screen ("Hộ chiếu").
    pub topic: Localized,
    /// Where to go.
    pub place: Localized,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<Localized>,
    pub reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReferralFile {
    referrals: Vec<Referral>,
}

/// The embedded default lexicon.
///
/// # Panics
/// If the embedded file is invalid: a build defect that the tests catch.
pub fn default_lexicon() -> Lexicon {
    let lexicon: Lexicon = toml::from_str(DEFAULT_LEXICON_TOML)
        .unwrap_or_else(|e| panic!("data/lexicon.toml is invalid (a build defect): {e}"));
    lexicon
}

/// The embedded default referral table.
///
/// # Panics
/// If the embedded file is invalid: a build defect that the tests catch.
pub fn default_referrals() -> Vec<Referral> {
    let file: ReferralFile = toml::from_str(DEFAULT_REFERRALS_TOML)
        .unwrap_or_else(|e| panic!("data/referrals.toml is invalid (a build defect): {e}"));
    file.referrals
}

/// The defaults extended by a bundle's parts: bundle terms, fillers and boilerplate are
/// added; bundle popularity replaces the defaults' (the defaults have none); a bundle
/// referral replaces the default with the same id and the others are added.
pub fn merged(
    bundle_lexicon: Option<&Lexicon>,
    bundle_referrals: &[Referral],
) -> (Lexicon, Vec<Referral>) {
    let mut lexicon = default_lexicon();
    if let Some(b) = bundle_lexicon {
        lexicon.terms.extend(b.terms.iter().cloned());
        lexicon.fillers.extend(b.fillers.iter().cloned());
        lexicon.boilerplate.extend(b.boilerplate.iter().cloned());
        lexicon.popular.extend(b.popular.iter().cloned());
        lexicon.field_priors.extend(b.field_priors.iter().cloned());
        lexicon.popularity = b.popularity.clone();
    }
    let mut referrals = default_referrals();
    for r in bundle_referrals {
        match referrals.iter_mut().find(|d| d.id == r.id) {
            Some(d) => *d = r.clone(),
            None => referrals.push(r.clone()),
        }
    }
    (lexicon, referrals)
}

/// Problems of a bundle's `lexicon` and `referrals` parts as (JSON path, message).
pub fn check_parts(lexicon: Option<&Lexicon>, referrals: &[Referral]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(l) = lexicon {
        check_lexicon(l, "lexicon", &mut out);
    }
    check_referrals(referrals, "referrals", &mut out);
    out
}

fn check_phrase(path: &str, s: &str, out: &mut Vec<(String, String)>) {
    let words = s
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .count();
    if words == 0 {
        out.push((path.into(), "must contain a letter or digit".into()));
    } else if words > MAX_PHRASE_WORDS {
        out.push((
            path.into(),
            format!("has {words} words; at most {MAX_PHRASE_WORDS}"),
        ));
    } else if s.chars().count() > 200 {
        out.push((path.into(), "is over 200 characters".into()));
    }
}

fn check_phrases(path: &str, list: &[String], required: bool, out: &mut Vec<(String, String)>) {
    if required && list.is_empty() {
        out.push((path.into(), "must list at least one phrase".into()));
    }
    if list.len() > 100 {
        out.push((
            path.into(),
            format!("has {} phrases; at most 100", list.len()),
        ));
        return;
    }
    for (i, s) in list.iter().enumerate() {
        check_phrase(&format!("{path}[{i}]"), s, out);
    }
}

fn check_reason(path: &str, reason: &str, out: &mut Vec<(String, String)>) {
    if reason.trim().is_empty() {
        out.push((path.into(), "must say why (a reason or source)".into()));
    } else if reason.chars().count() > 1000 {
        out.push((path.into(), "is over 1000 characters".into()));
    }
}

fn check_weight(path: &str, w: f32, out: &mut Vec<(String, String)>) {
    if !(0.0..=1.0).contains(&w) {
        out.push((path.into(), format!("{w} is not between 0 and 1")));
    }
}

fn check_count(path: &str, n: usize, out: &mut Vec<(String, String)>) -> bool {
    if n > MAX_LEXICON_ENTRIES {
        out.push((
            path.into(),
            format!("has {n} entries; at most {MAX_LEXICON_ENTRIES}"),
        ));
        return false;
    }
    true
}

/// Problems of a lexicon (the embedded default is checked by the same function in tests).
pub fn check_lexicon(l: &Lexicon, base: &str, out: &mut Vec<(String, String)>) {
    if check_count(&format!("{base}.terms"), l.terms.len(), out) {
        for (i, t) in l.terms.iter().enumerate() {
            let p = format!("{base}.terms[{i}]");
            check_phrases(&format!("{p}.say"), &t.say, true, out);
            check_phrases(&format!("{p}.means"), &t.means, true, out);
            check_phrases(&format!("{p}.not"), &t.not, false, out);
            check_reason(&format!("{p}.reason"), &t.reason, out);
        }
    }
    for (name, lists) in [("fillers", &l.fillers), ("boilerplate", &l.boilerplate)] {
        if check_count(&format!("{base}.{name}"), lists.len(), out) {
            for (i, w) in lists.iter().enumerate() {
                let p = format!("{base}.{name}[{i}]");
                check_phrases(&format!("{p}.words"), &w.words, true, out);
                check_reason(&format!("{p}.reason"), &w.reason, out);
            }
        }
    }
    if check_count(&format!("{base}.popular"), l.popular.len(), out) {
        for (i, p) in l.popular.iter().enumerate() {
            let path = format!("{base}.popular[{i}]");
            check_phrase(&format!("{path}.name"), &p.name, out);
            check_weight(&format!("{path}.weight"), p.weight, out);
            check_reason(&format!("{path}.reason"), &p.reason, out);
        }
    }
    if check_count(&format!("{base}.field_priors"), l.field_priors.len(), out) {
        for (i, p) in l.field_priors.iter().enumerate() {
            let path = format!("{base}.field_priors[{i}]");
            check_phrase(&format!("{path}.field"), &p.field, out);
            check_weight(&format!("{path}.weight"), p.weight, out);
            check_reason(&format!("{path}.reason"), &p.reason, out);
        }
    }
    if check_count(&format!("{base}.popularity"), l.popularity.len(), out) {
        for (code, n) in &l.popularity {
            if !super::validate::is_procedure_code(code) {
                out.push((
                    format!("{base}.popularity"),
                    format!(
                        "{} is not a procedure code",
                        super::validate::quote_code(code)
                    ),
                ));
            } else if *n > 100_000_000 {
                out.push((
                    format!("{base}.popularity.{code}"),
                    format!("{n} is implausibly large"),
                ));
            }
        }
    }
}

/// Problems of a referral table.
pub fn check_referrals(referrals: &[Referral], base: &str, out: &mut Vec<(String, String)>) {
    if !check_count(base, referrals.len(), out) {
        return;
    }
    let mut ids = std::collections::HashSet::new();
    for (i, r) in referrals.iter().enumerate() {
        let p = format!("{base}[{i}]");
        if !super::validate::is_field_code(&r.id) {
            out.push((
                format!("{p}.id"),
                format!(
                    "{} is not an id (lowercase letters, digits and '-', at most 40)",
                    super::validate::quote_code(&r.id)
                ),
            ));
        } else if !ids.insert(r.id.as_str()) {
            out.push((format!("{p}.id"), format!("{} appears twice", r.id)));
        }
        check_phrases(&format!("{p}.say"), &r.say, true, out);
        for (name, text) in [
            ("topic", Some(&r.topic)),
            ("place", Some(&r.place)),
            ("note", r.note.as_ref()),
        ] {
            if let Some(t) = text {
                if t.vi.trim().is_empty() {
                    out.push((format!("{p}.{name}.vi"), "must not be empty".into()));
                } else if t.vi.chars().count() > 500
                    || t.en.as_ref().is_some_and(|e| e.chars().count() > 500)
                {
                    out.push((format!("{p}.{name}"), "is over 500 characters".into()));
                }
            }
        }
        check_reason(&format!("{p}.reason"), &r.reason, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_large_enough() {
        let l = default_lexicon();
        let mut problems = Vec::new();
        check_lexicon(&l, "data/lexicon.toml", &mut problems);
        check_referrals(&default_referrals(), "data/referrals.toml", &mut problems);
        assert!(problems.is_empty(), "{problems:#?}");
        assert!(l.terms.len() >= 150, "{} lexicon terms", l.terms.len());
        for kind in [
            TermKind::Colloquial,
            TermKind::Abbreviation,
            TermKind::Misspelling,
            TermKind::OldName,
            TermKind::English,
        ] {
            assert!(l.terms.iter().any(|t| t.kind == kind), "no {kind:?} term");
        }
        assert!(default_referrals().len() >= 10);
    }

    #[test]
    fn bad_parts_are_named() {
        let l: Lexicon = serde_json::from_value(serde_json::json!({
            "terms": [{"say": [], "means": ["đăng ký khai sinh"], "kind": "colloquial", "reason": " "}],
            "popular": [{"name": "khai sinh", "weight": 2.0, "reason": "x"}],
            "popularity": {"1.001193": 10, "bad code!": 3}
        }))
        .unwrap();
        let r: Vec<Referral> = serde_json::from_value(serde_json::json!([
            {"id": "passport", "say": ["hộ chiếu"], "topic": "Hộ chiếu", "place": "Công an tỉnh", "reason": "x"},
            {"id": "passport", "say": ["..."], "topic": "x", "place": "", "reason": "x"}
        ]))
        .unwrap();
        let problems = check_parts(Some(&l), &r);
        let paths: Vec<&str> = problems.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "lexicon.terms[0].say",
                "lexicon.terms[0].reason",
                "lexicon.popular[0].weight",
                "lexicon.popularity",
                "referrals[1].id",
                "referrals[1].say[0]",
                "referrals[1].place.vi",
            ],
            "{problems:#?}"
        );
    }

    #[test]
    fn a_bundle_with_a_bad_part_is_refused_naming_where() {
        let mut json: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/fixtures/small-catalog.json")).unwrap();
        json["lexicon"] = serde_json::json!({
            "terms": [{"say": ["giấy chào đời"], "means": ["đăng ký khai sinh"], "kind": "colloquial", "reason": ""}]
        });
        json["referrals"] = serde_json::json!([
            {"id": "Passport!", "say": ["hộ chiếu"], "topic": "Hộ chiếu", "place": "Công an tỉnh", "reason": "x"}
        ]);
        let bytes = serde_json::to_vec(&json).unwrap();
        let err = super::super::parse_bundle(&bytes, super::super::DEFAULT_MAX_BUNDLE_BYTES)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("field lexicon.terms[0].reason: must say why (a reason or source)"),
            "{err}"
        );
        assert!(
            err.contains("field referrals[0].id: \"Passport!\" is not an id"),
            "{err}"
        );
        // An unknown kind is a shape error with its path.
        json["lexicon"]["terms"][0]["kind"] = "slang".into();
        let bytes = serde_json::to_vec(&json).unwrap();
        let err = super::super::parse_bundle(&bytes, super::super::DEFAULT_MAX_BUNDLE_BYTES)
            .unwrap_err()
            .to_string();
        assert!(err.contains("lexicon.terms[0].kind"), "{err}");
        // Valid parts are kept.
        json["lexicon"]["terms"][0]["kind"] = "colloquial".into();
        json["lexicon"]["terms"][0]["reason"] = "local usage".into();
        json["referrals"][0]["id"] = "passport".into();
        let bytes = serde_json::to_vec(&json).unwrap();
        let b = super::super::parse_bundle(&bytes, super::super::DEFAULT_MAX_BUNDLE_BYTES).unwrap();
        assert_eq!(b.lexicon.unwrap().terms[0].say, ["giấy chào đời"]);
        assert_eq!(b.referrals[0].id, "passport");
    }

    #[test]
    fn bundle_referral_replaces_default_with_same_id() {
        let defaults = default_referrals();
        let mut mine = defaults[0].clone();
        mine.place = Localized::vi("Bộ phận một cửa tỉnh X");
        let extra = Referral {
            id: "province-extra".into(),
            say: vec!["thẻ xe buýt".into()],
            topic: Localized::vi("Thẻ xe buýt"),
            place: Localized::vi("Trung tâm quản lý giao thông công cộng"),
            note: None,
            reason: "local".into(),
        };
        let (_, merged) = merged(None, &[mine.clone(), extra.clone()]);
        assert_eq!(merged.len(), defaults.len() + 1);
        assert_eq!(merged[0], mine);
        assert_eq!(merged.last(), Some(&extra));
    }
}
