//! The procedure catalog: its model, parsing and validation of bundles, cleaning of published
//! text, the fee calculator and the embedded demo catalog.

mod bundle;
pub mod fee;
pub mod lexicon;
pub mod model;
pub mod portal;
pub mod text;
pub mod validate;

pub use bundle::{parse_bundle, BundleError, DEFAULT_MAX_BUNDLE_BYTES};
pub use model::*;

/// The catalog shipped inside the binary, used when nothing was imported: every
/// commune-level procedure of the national portal's 2026 snapshot (588), converted by
/// `motcua catalog convert` with the demo center's setup and the hand-checked overrides
/// (`data/README.md`). `tests` check that it passes the same validation as any other bundle.
pub const DEMO_CATALOG_JSON: &str = include_str!("../../data/default-catalog.json");

/// The embedded default catalog, parsed and validated.
///
/// Parsed once per process (≈6 MB of JSON) and cloned for each caller.
pub fn demo_bundle() -> CatalogBundle {
    static PARSED: std::sync::OnceLock<CatalogBundle> = std::sync::OnceLock::new();
    PARSED
        .get_or_init(|| {
            parse_bundle(DEMO_CATALOG_JSON.as_bytes(), DEFAULT_MAX_BUNDLE_BYTES).unwrap_or_else(
                |e| panic!("the embedded default catalog is invalid (a build defect): {e}"),
            )
        })
        .clone()
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
        let exec = p
            .channels
            .iter()
            .find(|c| c.channel == Channel::Direct)
            .unwrap_or(&p.channels[0]);
        quote(
            &exec.fees,
            FeeRequest {
                pages,
                copies,
                date,
            },
            Lang::Vi,
        )
        .total
    }

    fn time(b: &CatalogBundle, code: &str, ch: Channel) -> (Option<u32>, Option<u32>) {
        let t = &b
            .procedure(code)
            .unwrap_or_else(|| panic!("{code} missing"))
            .channels
            .iter()
            .find(|c| c.channel == ch)
            .unwrap_or_else(|| panic!("{code} has no {ch:?}"))
            .processing_time;
        (t.working_days, t.calendar_days)
    }

    #[test]
    fn embedded_default_is_the_real_commune_catalog() {
        let b = demo_bundle();
        assert_eq!(b.schema, SCHEMA_VERSION);
        assert_eq!(b.procedures.len(), 588);
        assert_eq!(b.fields.len(), 61);
        assert_eq!(b.counters.len(), 5);
        assert!(!b.officials.is_empty() && b.statistics.is_some());
        // Every field is served by a counter and has an English name.
        for f in &b.fields {
            assert!(
                b.counters_for_field(&f.code).next().is_some(),
                "{} unserved",
                f.code
            );
            assert!(f.name.en.is_some(), "{} has no English name", f.code);
        }
        // Civil status is served at the justice counter, customs by the business counter,
        // residence (commune police) by the guidance counter.
        let counter = |field: &str| b.counters_for_field(field).next().unwrap().number;
        assert_eq!(counter("ho-tich"), 1);
        assert_eq!(counter("hai-quan"), 3);
        assert_eq!(counter("dang-ky-quan-ly-cu-tru"), 5);
        // The hand-checked overrides have English names.
        assert!(b.procedures.iter().filter(|p| p.name.en.is_some()).count() >= 37);
        // Fees as in Thông tư 226/2016/TT-BTC and 281/2016/TT-BTC.
        assert_eq!(fee_total(&b, "1.001193", 1, 1), Some(0));
        assert_eq!(fee_total(&b, "2.000815", 2, 1), Some(4_000));
        assert_eq!(fee_total(&b, "2.000815", 5, 1), Some(7_000));
        assert_eq!(fee_total(&b, "2.000815", 500, 1), Some(200_000));
        assert_eq!(fee_total(&b, "2.000884", 1, 1), Some(10_000));
        assert_eq!(fee_total(&b, "2.000884", 1, 3), Some(30_000));
    }

    /// The facts the real-catalog issue corrected, checked against the portal's 2026 snapshot.
    #[test]
    fn embedded_default_has_the_corrected_facts() {
        let b = demo_bundle();
        use Channel::*;
        assert_eq!(time(&b, "1.004859", Direct), (Some(1), None));
        for code in ["2.000720", "1.001570", "1.001266", "2.000575"] {
            assert_eq!(time(&b, code, Direct), (Some(1), None), "{code}");
        }
        assert_eq!(time(&b, "2.000930", Direct), (Some(5), None));
        assert_eq!(time(&b, "1.012812", Direct), (None, Some(40)));
        assert_eq!(time(&b, "1.012812", Postal), (None, Some(30)));
        assert_eq!(time(&b, "1.013967", Direct), (None, Some(60)));
        assert_eq!(time(&b, "1.013967", Online), (None, Some(45)));
        assert_eq!(time(&b, "1.013967", Postal), (None, Some(45)));
        assert_eq!(fee_total(&b, "1.004845", 1, 1), Some(0));
        for code in ["2.001035", "2.000913", "2.000927", "2.000942"] {
            let name = &b.procedure(code).unwrap().name;
            assert!(name.vi.contains("giao dịch"), "{code}: {}", name.vi);
            assert!(!name.vi.contains("hợp đồng"), "{code}: {}", name.vi);
            assert!(
                name.en.as_deref().unwrap().contains("transaction"),
                "{code}"
            );
        }
        let copies = &b.procedure("2.000815").unwrap().name;
        assert!(
            copies.vi.contains("nước ngoài") && copies.en.as_deref().unwrap().contains("foreign")
        );
    }
}
