//! The doctor's server check, through the sync client itself: the server answers over TLS (or
//! loopback HTTP), the device token is accepted, and the catalog it serves verifies against
//! the pinned keys. One `GET /v1/catalog` with the installed catalog's ETag (a 304 costs a few
//! hundred bytes); a 401/403 is named as a refused token.
//!
//! Reads `catalog.db` read-only for the ETag; never installs or records anything.

use std::path::PathBuf;
use std::time::Duration;

use super::{Check, ServerCheck};
use crate::config::Config;
use crate::store::{open_connection, Access, CATALOG_DB};
use crate::sync::{envelope, CatalogFetch, HubClient, PinnedKey, SyncError, SyncSettings};

/// The real check, from the device's config.
pub struct SyncServerCheck {
    pub config: Option<Config>,
    pub data_dir: PathBuf,
}

const NAME: &str = "server";

impl ServerCheck for SyncServerCheck {
    fn check(&self) -> Check {
        let Some(config) = &self.config else {
            return Check::fail(
                NAME,
                "not checked: the config file is broken",
                "fix the config first",
            );
        };
        let s = &config.sync;
        let Some(url) = &s.server_url else {
            return Check::warn(
                NAME,
                "not configured: the daemon runs offline-only (ratings wait in the outbox)",
                "set [sync] server_url, token_file and public_keys to sync with the central server",
            );
        };
        let token = match s.load_token() {
            Ok(Some(t)) => t,
            Ok(None) => {
                return Check::fail(
                    NAME,
                    format!("{url}: no device token"),
                    "set [sync] token_file",
                )
            }
            Err(e) => return Check::fail(NAME, format!("{url}: {e}"), "fix [sync] token_file"),
        };
        let keys: Vec<PinnedKey> = match s.public_keys.iter().map(|k| PinnedKey::parse(k)).collect()
        {
            Ok(k) => k,
            Err(e) => return Check::fail(NAME, e, "fix [sync] public_keys"),
        };
        let mut settings = SyncSettings::client_settings(config);
        settings.request_timeout = settings.request_timeout.min(Duration::from_secs(30));
        let client = match HubClient::new(url, &token, settings) {
            Ok(c) => c,
            Err(e) => return Check::fail(NAME, e.to_string(), "fix [sync] server_url"),
        };
        let etag = open_connection(&self.data_dir.join(CATALOG_DB), Access::ReadOnly)
            .ok()
            .and_then(|c| crate::sync::state::catalog_etag(&c).ok().flatten());
        let rt = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => return Check::fail(NAME, format!("cannot start a runtime: {e}"), "retry"),
        };
        let result = rt.block_on(client.fetch_catalog(etag.as_deref()));
        judge(url, &keys, result)
    }
}

/// Turn the answer into a check (separate for tests).
pub fn judge(url: &str, keys: &[PinnedKey], r: Result<CatalogFetch, SyncError>) -> Check {
    match r {
        Ok(CatalogFetch::NotModified) => Check::ok(
            NAME,
            format!("{url} reachable, token accepted, catalog unchanged since the installed one"),
        ),
        Ok(CatalogFetch::New { envelope: env, .. }) => match envelope::open_body(env, keys) {
            Ok(_) => Check::ok(
                NAME,
                format!("{url} reachable, token accepted, its catalog verifies with a pinned key"),
            ),
            Err(e) => Check::fail(
                NAME,
                format!("{url} reachable and token accepted, but: {e}"),
                "pin the server's current key in [sync] public_keys (`motcua hub keygen` prints it)",
            ),
        },
        Err(e @ SyncError::Unauthorized { .. }) => Check::fail(
            NAME,
            e.to_string(),
            "issue a new token with `motcua hub device add NAME` and put it in [sync] token_file",
        ),
        Err(e) if e.is_offline() => Check::fail(
            NAME,
            e.to_string(),
            "check the network link, DNS, and that the server's TLS certificate is valid",
        ),
        Err(e) => Check::fail(NAME, e.to_string(), "see `motcua sync status` and the server's logs"),
    }
}
