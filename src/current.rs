//! The catalog this device serves right now: the installed one from `catalog.db`, or the
//! embedded demo when nothing was ever installed.
//!
//! Loading is read-only; it never creates or modifies the store.

use std::path::Path;

use serde::Serialize;

use crate::catalog::{demo_bundle, CatalogBundle};
use crate::store::{CatalogInfo, CatalogStore, StoreError, CATALOG_DB};

/// Where the served catalog came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CatalogOrigin {
    /// The demo catalog inside the binary.
    EmbeddedDemo,
    /// Applied to `catalog.db` by an import or a sync.
    Installed(CatalogInfo),
}

pub struct CurrentCatalog {
    pub bundle: CatalogBundle,
    pub origin: CatalogOrigin,
}

impl CurrentCatalog {
    /// The installed catalog under `data_dir`, else the embedded demo.
    pub fn load(data_dir: &Path) -> Result<CurrentCatalog, StoreError> {
        let path = data_dir.join(CATALOG_DB);
        if path.exists() {
            let store = CatalogStore::open_read_only(&path)?;
            if let (Some(info), Some(bundle)) = (store.info()?, store.load()?) {
                return Ok(CurrentCatalog {
                    bundle,
                    origin: CatalogOrigin::Installed(info),
                });
            }
        }
        Ok(CurrentCatalog::demo())
    }

    pub fn demo() -> CurrentCatalog {
        CurrentCatalog {
            bundle: demo_bundle(),
            origin: CatalogOrigin::EmbeddedDemo,
        }
    }
}
