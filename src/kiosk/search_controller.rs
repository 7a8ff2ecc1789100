//! Finding procedures for the search screen and the home tiles: runs the catalog's
//! [`SearchIndex`] on every keystroke (over the catalog, or within one field) and turns hits
//! into display rows.
//!
//! Holds the catalog and its index (built once); no Slint types, no I/O.

use std::sync::Arc;

use crate::catalog::{CatalogBundle, Lang, Procedure};
use crate::search::SearchIndex;

/// Most results shown for one query.
pub const MAX_RESULTS: usize = 30;

/// One line of the results list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultItem {
    pub code: String,
    pub name: String,
    /// "code · field · processing time".
    pub detail: String,
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
        let index = SearchIndex::build(&bundle.procedures);
        SearchController { bundle, index }
    }

    pub fn bundle(&self) -> &Arc<CatalogBundle> {
        &self.bundle
    }

    /// Results for what was typed so far; empty query → no results.
    pub fn search(&self, query: &str, lang: Lang) -> Vec<ResultItem> {
        if query.trim().is_empty() {
            return Vec::new();
        }
        self.index
            .search(query, MAX_RESULTS)
            .into_iter()
            .filter_map(|hit| self.bundle.procedures.get(hit.doc))
            .map(|p| self.item(p, lang))
            .collect()
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
    fn fields_count_their_procedures() {
        let c = small();
        let fields = c.fields(Lang::Vi);
        assert!(!fields.is_empty());
        let total: usize = fields.iter().map(|f| f.count).sum();
        assert_eq!(total, c.bundle().procedures.len());
        let first = &fields[0];
        assert_eq!(c.field_procedures(&first.code, Lang::Vi).len(), first.count);
        // "chung thuc" matches both authentication procedures, and nothing in Hộ tịch.
        assert_eq!(
            c.search_in_field("chung thuc", "chung-thuc", Lang::Vi)
                .len(),
            2
        );
        assert!(c
            .search_in_field("chung thuc", "ho-tich", Lang::Vi)
            .is_empty());
        assert!(c.search_in_field(" ", "chung-thuc", Lang::Vi).is_empty());
        assert_eq!(
            results_heading("xyz", 0, Lang::En),
            "No procedure found for “xyz”"
        );
    }
}
