//! Finding procedures for the search screen and the home tiles: runs the catalog's
//! [`SearchIndex`] on every keystroke (over the catalog, or within one field) and turns hits
//! into display rows, and, when the center does not handle what was typed, into the "not
//! here" panel (where to go instead, or ask at the guidance counter).
//!
//! Holds the catalog and its index (built once); no Slint types, no I/O.

use std::sync::Arc;

use crate::catalog::{CatalogBundle, Lang, Procedure};
use crate::search::{SearchIndex, Verdict};

/// Most results shown for one query.
pub const MAX_RESULTS: usize = 30;
/// Under the "not here" panel: at most this many of the closest procedures…
pub const CLOSEST_RESULTS: usize = 5;
/// …that matched at least this share of the query.
pub const CLOSEST_MIN_CONFIDENCE: f32 = 0.5;

/// One line of the results list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultItem {
    pub code: String,
    pub name: String,
    /// "code · field · processing time".
    pub detail: String,
}

/// What the search screen shows for a query.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchView {
    /// Best first. With `not_here`, the closest procedures anyway (may be empty).
    pub items: Vec<ResultItem>,
    pub not_here: Option<NotHere>,
}

/// The "the center does not handle this" panel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotHere {
    /// "Trung tâm không giải quyết “gia hạn hộ chiếu”".
    pub title: String,
    /// What the referral is about ("Hộ chiếu"), empty without a referral.
    pub topic: String,
    /// Where to go, empty without a referral.
    pub place: String,
    /// Extra advice from the referral, may be empty.
    pub note: String,
    /// Always: ask at the guidance counter.
    pub counter: String,
}

/// A home tile: a field and how many procedures it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldItem {
    pub code: String,
    pub name: String,
    pub count: usize,
}

pub struct SearchController {
    bundle: Arc<CatalogBundle>,
    index: SearchIndex,
}

impl SearchController {
    pub fn new(bundle: Arc<CatalogBundle>) -> SearchController {
        let index = SearchIndex::for_bundle(&bundle);
        SearchController { bundle, index }
    }

    pub fn bundle(&self) -> &Arc<CatalogBundle> {
        &self.bundle
    }

    /// Results for what was typed so far; empty query → no results.
    pub fn search(&self, query: &str, lang: Lang) -> Vec<ResultItem> {
        self.answer(query, lang).items
    }

    /// Results, or the "not here" panel, for what was typed so far. An empty query gives
    /// neither.
    pub fn answer(&self, query: &str, lang: Lang) -> SearchView {
        if query.trim().is_empty() {
            return SearchView::default();
        }
        let outcome = self.index.answer(query, MAX_RESULTS);
        // Not here: only a few of the closest procedures, and only fair matches.
        let (min, max) = match outcome.verdict {
            Verdict::Found => (0.0, MAX_RESULTS),
            Verdict::NotHere { .. } => (CLOSEST_MIN_CONFIDENCE, CLOSEST_RESULTS),
        };
        let items = outcome
            .hits
            .iter()
            .filter(|hit| hit.confidence >= min)
            .take(max)
            .filter_map(|hit| self.bundle.procedures.get(hit.doc))
            .map(|p| self.item(p, lang))
            .collect();
        let not_here = match outcome.verdict {
            Verdict::Found => None,
            Verdict::NotHere { referral } => Some(not_here(
                query,
                referral.and_then(|r| self.index.referral(r)),
                lang,
            )),
        };
        SearchView { items, not_here }
    }

    /// Results for what was typed, among one field's procedures only (every match, best
    /// first); empty query → no results.
    pub fn search_in_field(&self, query: &str, field: &str, lang: Lang) -> Vec<ResultItem> {
        if query.trim().is_empty() {
            return Vec::new();
        }
        self.index
            .search(query, self.bundle.procedures.len())
            .into_iter()
            .filter_map(|hit| self.bundle.procedures.get(hit.doc))
            .filter(|p| p.field == field)
            .map(|p| self.item(p, lang))
            .collect()
    }

    /// Every procedure of a field, in catalog order.
    pub fn field_procedures(&self, field: &str, lang: Lang) -> Vec<ResultItem> {
        self.bundle
            .procedures
            .iter()
            .filter(|p| p.field == field)
            .map(|p| self.item(p, lang))
            .collect()
    }

    pub fn field_name(&self, field: &str, lang: Lang) -> String {
        self.bundle
            .field(field)
            .map(|f| f.name.get(lang).to_owned())
            .unwrap_or_else(|| field.to_owned())
    }

    /// Fields that have procedures, in catalog order.
    pub fn fields(&self, lang: Lang) -> Vec<FieldItem> {
        self.bundle
            .fields
            .iter()
            .map(|f| FieldItem {
                code: f.code.clone(),
                name: f.name.get(lang).to_owned(),
                count: self
                    .bundle
                    .procedures
                    .iter()
                    .filter(|p| p.field == f.code)
                    .count(),
            })
            .filter(|f| f.count > 0)
            .collect()
    }

    fn item(&self, p: &Procedure, lang: Lang) -> ResultItem {
        let mut detail = vec![p.code.clone(), self.field_name(&p.field, lang)];
        if let Some(c) = p.channels.first() {
            detail.push(c.processing_time.text.get(lang).to_owned());
        }
        ResultItem {
            code: p.code.clone(),
            name: p.name.get(lang).to_owned(),
            detail: detail.join(" · "),
        }
    }
}

fn not_here(
    query: &str,
    referral: Option<&crate::catalog::lexicon::Referral>,
    lang: Lang,
) -> NotHere {
    let query = query.trim();
    let (title, counter) = match (lang, referral.is_some()) {
        (Lang::Vi, true) => (
            format!("Trung tâm không giải quyết “{query}”"),
            "Cần giúp đỡ, mời hỏi tại quầy hướng dẫn.",
        ),
        (Lang::En, true) => (
            format!("This center does not handle “{query}”"),
            "For help, ask at the guidance counter.",
        ),
        (Lang::Vi, false) => (
            format!("Không tìm thấy thủ tục của trung tâm cho “{query}”"),
            "Có thể trung tâm không giải quyết việc này. Mời hỏi tại quầy hướng dẫn.",
        ),
        (Lang::En, false) => (
            format!("No procedure of this center matches “{query}”"),
            "This center may not handle it. Please ask at the guidance counter.",
        ),
    };
    NotHere {
        title,
        topic: referral
            .map(|r| r.topic.get(lang).to_owned())
            .unwrap_or_default(),
        place: referral
            .map(|r| r.place.get(lang).to_owned())
            .unwrap_or_default(),
        note: referral
            .and_then(|r| r.note.as_ref())
            .map(|n| n.get(lang).to_owned())
            .unwrap_or_default(),
        counter: counter.to_owned(),
    }
}

/// Heading above the results: how many matched, or a hint.
pub fn results_heading(query: &str, count: usize, lang: Lang) -> String {
    match (query.trim().is_empty(), count, lang) {
        (true, _, Lang::Vi) => "Gõ vài chữ cái của tên thủ tục, không cần dấu".into(),
        (true, _, Lang::En) => "Type a few letters of the procedure's name".into(),
        (false, 0, Lang::Vi) => format!("Không tìm thấy thủ tục cho “{query}”"),
        (false, 0, Lang::En) => format!("No procedure found for “{query}”"),
        (false, n, Lang::Vi) => format!("{n} kết quả cho “{query}”"),
        (false, n, Lang::En) => format!("{n} results for “{query}”"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{parse_bundle, DEFAULT_MAX_BUNDLE_BYTES};

    fn small() -> SearchController {
        let json = include_str!("../../tests/fixtures/small-catalog.json");
        let bundle = parse_bundle(json.as_bytes(), DEFAULT_MAX_BUNDLE_BYTES).unwrap();
        SearchController::new(Arc::new(bundle))
    }

    #[test]
    fn unaccented_partial_query_finds_birth_registration() {
        let c = small();
        let hits = c.search("khai si", Lang::Vi);
        assert_eq!(hits[0].code, "1.001193");
        assert_eq!(hits[0].name, "Đăng ký khai sinh");
        assert!(
            hits[0].detail.starts_with("1.001193 · "),
            "{}",
            hits[0].detail
        );
        assert!(c.search("  ", Lang::Vi).is_empty());
        assert_eq!(c.search("2.000815", Lang::Vi)[0].code, "2.000815");
    }

    #[test]
    fn what_the_center_does_not_do_gets_the_not_here_panel() {
        let c = small();
        let v = c.answer("gia hạn hộ chiếu", Lang::Vi);
        let n = v.not_here.expect("not here");
        assert_eq!(n.title, "Trung tâm không giải quyết “gia hạn hộ chiếu”");
        assert_eq!(n.topic, "Hộ chiếu");
        assert!(n.place.contains("xuất nhập cảnh"), "{}", n.place);
        assert!(n.counter.contains("quầy hướng dẫn"));
        let v = c.answer("pizza margherita", Lang::En);
        let n = v.not_here.expect("not here");
        assert_eq!(n.place, "");
        assert!(n.counter.contains("guidance counter"));
        // Found: no panel.
        let v = c.answer("khai sinh", Lang::Vi);
        assert!(v.not_here.is_none());
        assert_eq!(v.items[0].code, "1.001193");
        assert_eq!(c.answer("  ", Lang::Vi), SearchView::default());
    }

    #[test]
    fn fields_count_their_procedures() {
        let c = small();
        let fields = c.fields(Lang::Vi);
        assert!(!fields.is_empty());
        let total: usize = fields.iter().map(|f| f.count).sum();
        assert_eq!(total, c.bundle().procedures.len());
        let first = &fields[0];
        assert_eq!(c.field_procedures(&first.code, Lang::Vi).len(), first.count);
        // "chung thuc" matches both authentication procedures; within Hộ tịch, whatever it
        // matches there (the engine also matches partly) is of Hộ tịch.
        assert_eq!(
            c.search_in_field("chung thuc", "chung-thuc", Lang::Vi)
                .len(),
            2
        );
        let field_of = |code: &str| c.bundle().procedure(code).unwrap().field.clone();
        assert!(c
            .search_in_field("chung thuc", "ho-tich", Lang::Vi)
            .iter()
            .all(|r| field_of(&r.code) == "ho-tich"));
        assert!(c.search_in_field(" ", "chung-thuc", Lang::Vi).is_empty());
        assert_eq!(
            results_heading("xyz", 0, Lang::En),
            "No procedure found for “xyz”"
        );
    }
}
