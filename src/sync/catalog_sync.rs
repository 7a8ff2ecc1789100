//! The catalog poller: conditional download, signature check against pinned keys, bundle
//! validation, rollback / expiry / clock-skew refusal, then one-transaction apply.
//!
//! Invariant: whatever fails, the installed catalog stays exactly as it was (nothing is
//! written before every check passed, and `CatalogStore::apply` is all-or-nothing). Every
//! outcome is recorded in `sync_channels` so `motcua sync status` can say why.

use std::sync::Arc;

use chrono::DateTime;

use super::client::CatalogFetch;
use super::context::SyncContext;
use super::envelope;
use super::state::{self, Channel};
use super::SyncError;
use crate::catalog::{parse_bundle_owned, parse_bundle_spilled};
use crate::daemon::shutdown::Shutdown;
use crate::store::StoreError;

/// What a successful poll did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatalogOutcome {
    /// 304, or the same version again.
    Unchanged,
    Applied {
        version: u64,
    },
}

/// Poll once and record the outcome.
pub async fn poll_catalog(ctx: &Arc<SyncContext>) -> Result<CatalogOutcome, SyncError> {
    let result = poll_inner(ctx).await;
    let now = ctx.clock.now();
    ctx.link.observe(now, result.as_ref().map(|_| ()));
    let db = ctx.db();
    match &result {
        Ok(_) => state::record_success(&db, Channel::Catalog, now)?,
        Err(e) => {
            tracing::warn!("catalog sync: {e}");
            state::record_failure(&db, Channel::Catalog, now, e)?;
        }
    }
    result
}

async fn poll_inner(ctx: &Arc<SyncContext>) -> Result<CatalogOutcome, SyncError> {
    let installed = ctx.catalog().info()?;
    let etag = match installed {
        Some(_) => state::catalog_etag(&ctx.db())?,
        None => None,
    };
    let (env, etag) = match ctx.client()?.fetch_catalog(etag.as_deref()).await? {
        CatalogFetch::NotModified => return Ok(CatalogOutcome::Unchanged),
        CatalogFetch::New { envelope, etag, .. } => (envelope, etag),
    };
    // Verify and parse off the async threads (a full-size catalog takes a while). The
    // envelope's bytes become the bundle's bytes in place; they wait in an unnamed scratch file
    // beside catalog.db while the catalog is parsed, so text and parsed catalog never share
    // memory (the peak of a full-size apply, docs/benchmarks.md).
    let c = Arc::clone(ctx);
    let bundle = tokio::task::spawn_blocking(move || {
        let bytes = envelope::open_body(env, &c.keys)?;
        let dir = c.catalog().path().parent().map(|d| d.to_owned());
        let max = c.settings.max_bundle_bytes;
        match dir.and_then(|d| tempfile::tempfile_in(d).ok()) {
            Some(spill) => parse_bundle_spilled(bytes, max, spill),
            None => parse_bundle_owned(bytes, max),
        }
        .map_err(SyncError::from)
    })
    .await
    .map_err(|e| SyncError::Store(StoreError::Corrupt(format!("verify task failed: {e}"))))??;
    let now = ctx.clock.now();
    if let Some(info) = &installed {
        if bundle.version < info.version {
            return Err(SyncError::Rollback {
                installed: info.version,
                offered: bundle.version,
            });
        }
        if bundle.version == info.version {
            state::set_catalog_etag(&ctx.db(), etag.as_deref())?;
            return Ok(CatalogOutcome::Unchanged);
        }
    }
    if let Some(exp) = &bundle.expires_at {
        let expired = DateTime::parse_from_rfc3339(exp).map_or(true, |t| t <= now);
        if expired {
            return Err(SyncError::Expired {
                version: bundle.version,
                expires_at: exp.clone(),
            });
        }
    }
    if let Ok(issued) = DateTime::parse_from_rfc3339(&bundle.issued_at) {
        let ahead = issued.to_utc() - now;
        if ahead > ctx.settings.max_clock_skew {
            return Err(SyncError::ClockSkew {
                issued_at: bundle.issued_at.clone(),
                ahead_minutes: ahead.num_minutes(),
            });
        }
    }
    let version = bundle.version;
    let source = format!("{}/v1/catalog", ctx.client()?.base_url());
    let c = Arc::clone(ctx);
    tokio::task::spawn_blocking(move || c.catalog().apply(&bundle, &source, false))
        .await
        .map_err(|e| SyncError::Store(StoreError::Corrupt(format!("apply task failed: {e}"))))?
        .map_err(|e| match e {
            StoreError::Rollback { installed, new } => SyncError::Rollback {
                installed,
                offered: new,
            },
            other => SyncError::Store(other),
        })?;
    state::set_catalog_etag(&ctx.db(), etag.as_deref())?;
    tracing::info!("catalog version {version} applied");
    Ok(CatalogOutcome::Applied { version })
}

/// Poll until shutdown, with the catalog schedule.
pub async fn run(ctx: Arc<SyncContext>, mut shutdown: Shutdown) {
    let mut jitter = super::schedule::Jitter::default();
    let mut failures = 0u32;
    while !shutdown.is_shutdown() {
        let step = ctx.beats.catalog.step();
        let outcome = poll_catalog(&ctx).await;
        drop(step);
        let permanent = match outcome {
            Ok(_) => {
                failures = 0;
                false
            }
            Err(e) => {
                failures += 1;
                e.is_permanent()
            }
        };
        let delay = ctx
            .settings
            .catalog
            .next_delay(failures, permanent, jitter.unit());
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            // A newer catalog is out (queue long-poll): fetch it now, unless the last try
            // failed, when the backoff stands.
            _ = ctx.catalog_due.notified(), if failures == 0 => {}
            _ = shutdown.recv() => {}
        }
    }
}
