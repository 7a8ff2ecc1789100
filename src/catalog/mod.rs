//! The procedure catalog: its model, parsing and validation of bundles, cleaning of published
//! text, the fee calculator and the embedded demo catalog.

mod bundle;
pub mod fee;
pub mod model;
pub mod text;
pub mod validate;

pub use bundle::{parse_bundle, BundleError, DEFAULT_MAX_BUNDLE_BYTES};
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
