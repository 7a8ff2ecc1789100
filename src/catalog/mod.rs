//! The procedure catalog: its model, parsing and validation of bundles, cleaning of published
//! text, the fee calculator and the embedded demo catalog.

mod bundle;
pub mod fee;
pub mod model;
pub mod text;
pub mod validate;

pub use bundle::{
    parse_bundle, parse_bundle_owned, parse_bundle_spilled, BundleError, DEFAULT_MAX_BUNDLE_BYTES,
};
pub use model::*;

/// The demo catalog shipped inside the binary: the embedded default used when nothing was
/// imported. `tests` check that it passes the same validation as any other bundle.
pub const DEMO_CATALOG_JSON: &str = include_str!("../../data/demo-catalog.json");

/// The embedded demo catalog, parsed and validated.
pub fn demo_bundle() -> CatalogBundle {
    parse_bundle(DEMO_CATALOG_JSON.as_bytes(), DEFAULT_MAX_BUNDLE_BYTES)
        .unwrap_or_else(|e| panic!("the embedded demo catalog is invalid (a build defect): {e}"))
}

impl CatalogBundle {
    pub fn procedure(&self, code: &str) -> Option<&Procedure> {
        self.procedures.iter().find(|p| p.code == code)
    }

    pub fn field(&self, code: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.code == code)
    }

    /// Counters that serve a field, in counter order.
    pub fn counters_for_field<'a>(
        &'a self,
        field: &'a str,
    ) -> impl Iterator<Item = &'a Counter> + 'a {
        self.counters
            .iter()
            .filter(move |c| c.fields.iter().any(|f| f == field))
    }
}

#[cfg(test)]
mod demo_tests {
    use super::fee::{quote, FeeRequest};
    use super::*;

    fn fee_total(b: &CatalogBundle, code: &str, pages: u32, copies: u32) -> Option<u64> {
        let p = b
            .procedure(code)
            .unwrap_or_else(|| panic!("{code} missing"));
        let date = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        quote(
            &p.channels[0].fees,
            FeeRequest {
                pages,
                copies,
                date,
            },
            Lang::Vi,
        )
        .total
    }

    #[test]
    fn demo_catalog_is_valid_and_as_published() {
        let b = demo_bundle();
        assert!(b.procedures.len() >= 40, "{}", b.procedures.len());
        assert!(b.fields.len() >= 5);
        assert!(b.counters.len() >= 3 && !b.officials.is_empty() && b.statistics.is_some());
        // Every field is served by some counter, and every procedure has an English name.
        for f in &b.fields {
            assert!(
                b.counters_for_field(&f.code).next().is_some(),
                "{} unserved",
                f.code
            );
        }
        assert!(b.procedures.iter().all(|p| p.name.en.is_some()));
        // Birth registration on time is free; copy authentication and signature fees as in
        // Thông tư 226/2016/TT-BTC.
        assert!(b
            .procedure("1.001193")
            .unwrap()
            .name
            .vi
            .contains("khai sinh"));
        assert_eq!(fee_total(&b, "1.001193", 1, 1), Some(0));
        assert_eq!(fee_total(&b, "2.000815", 2, 1), Some(4_000));
        assert_eq!(fee_total(&b, "2.000815", 5, 1), Some(7_000));
        assert_eq!(fee_total(&b, "2.000815", 500, 1), Some(200_000));
        assert_eq!(fee_total(&b, "2.000884", 1, 1), Some(10_000));
    }
}
