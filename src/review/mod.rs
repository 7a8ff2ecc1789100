//! The supervisor review UI: footage by record ID in a browser on the center's LAN, behind
//! accounts, sessions, CSRF tokens and an audit trail in the footage hash chain.
//!
//! Map: `config` (`[review]`), `tls` (certificate, fingerprint, where to listen), `server`
//! (accept loop, router, security headers), `web` (extractors, errors), `routes_*` (handlers),
//! `query` (read-only footage searches), `pages/` (HTML, escaped by `maud`), `auth` (Argon2id,
//! lockout), `accounts` + `session` (`review.db`), `csrf`, `audit`. See `docs/review.md`.
//!
//! The daemon runs [`serve`] as one of its tasks with the recorder's footage store; `motcua
//! review serve` runs it alone. This module never writes footage: it only reads it and appends
//! audit entries to the chain.

pub mod accounts;
pub mod audit;
pub mod auth;
pub mod config;
pub mod csrf;
mod pages;
mod query;
mod routes_admin;
mod routes_auth;
mod routes_footage;
pub mod server;
pub mod session;
pub mod tls;
mod web;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::recorder::clock::Clocks;
use crate::recorder::footage::{FootageError, FootageStore, FOOTAGE_DB};
use crate::recorder::Recorder;
use accounts::{AccountError, AccountStore};
use auth::{LockoutPolicy, Throttle};
use config::ReviewConfig;

pub use server::serve;
pub use tls::{Endpoint, TlsError};

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error(transparent)]
    Accounts(#[from] AccountError),
    #[error(transparent)]
    Footage(#[from] FootageError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// One camera line for the health page.
#[derive(Debug, Clone)]
pub struct CameraHealth {
    pub counter: u32,
    pub name: String,
    pub state: String,
    pub ok: bool,
    pub frames: u64,
}

/// What the health page can show beyond the footage store. Each piece is `None` until its
/// provider is wired (the page then says "not available yet").
pub trait HealthSource: Send + Sync {
    /// Cameras and their state (from the running recorder).
    fn cameras(&self) -> Option<Vec<CameraHealth>> {
        None
    }
    /// Sync status lines (from the daemon's sync tasks).
    fn sync(&self) -> Option<Vec<(String, String)>> {
        None
    }
    /// Device health lines (from `motcua doctor`'s report).
    fn device(&self) -> Option<Vec<(String, String)>> {
        None
    }
}

/// No providers: every piece "not available" (standalone `motcua review serve`).
pub struct NoHealth;
impl HealthSource for NoHealth {}

/// The running recorder's cameras.
pub struct RecorderHealth(pub Arc<Recorder>);

impl HealthSource for RecorderHealth {
    fn cameras(&self) -> Option<Vec<CameraHealth>> {
        use crate::recorder::camera::worker::CameraState;
        Some(
            self.0
                .cameras()
                .into_iter()
                .map(|(counter, s)| {
                    let (state, ok) = match &s.state {
                        CameraState::Starting => ("starting".to_owned(), false),
                        CameraState::Streaming { .. } => ("streaming".to_owned(), true),
                        CameraState::Degraded { error, .. } => {
                            (format!("degraded: {error}"), false)
                        }
                        CameraState::Stopped => ("stopped".to_owned(), false),
                    };
                    CameraHealth {
                        counter,
                        name: s.name,
                        state,
                        ok,
                        frames: s.frames,
                    }
                })
                .collect(),
        )
    }
}

/// Everything the handlers share.
pub struct ReviewState {
    pub(crate) cfg: ReviewConfig,
    pub(crate) data_dir: PathBuf,
    /// The footage writer (the recorder's, in the daemon): audit appends and exports.
    pub(crate) footage: Arc<Mutex<FootageStore>>,
    /// A separate read-only connection to `footage.db` for searches.
    pub(crate) footage_read: Mutex<rusqlite::Connection>,
    pub(crate) accounts: Mutex<AccountStore>,
    pub(crate) throttle: Mutex<Throttle>,
    pub(crate) clocks: Arc<dyn Clocks>,
    pub(crate) health: Arc<dyn HealthSource>,
    /// Lines for the configuration page (technicians): `(key, value)`, no secrets.
    pub(crate) config_lines: Vec<(String, String)>,
    /// The device key that signs case exports (none: not provisioned, exports unsigned).
    pub(crate) signer: Option<crate::recorder::export::DeviceSigner>,
}

/// What [`ReviewState::open`] needs.
pub struct ReviewOptions {
    pub config: crate::config::Config,
    pub data_dir: PathBuf,
    pub footage: Arc<Mutex<FootageStore>>,
    pub clocks: Arc<dyn Clocks>,
    pub health: Arc<dyn HealthSource>,
}

impl ReviewState {
    /// Open `review.db`, merge the provisioned users file (if configured), open a read-only
    /// connection to `footage.db`.
    pub fn open(o: ReviewOptions) -> Result<Arc<ReviewState>, ReviewError> {
        let cfg = o.config.review.clone();
        let accounts = AccountStore::open(&o.data_dir)?;
        if let Some(f) = &cfg.users_file {
            let merged = accounts.merge_users_file(f, o.clocks.now_ms())?;
            if !merged.is_empty() {
                tracing::info!(?merged, "merged provisioned review accounts");
            }
        }
        let footage_read = open_footage_read(&o.data_dir)?;
        let fingerprint = cfg
            .tls_cert
            .as_deref()
            .and_then(|p| tls::fingerprint_of_file(p).ok());
        let config_lines = config_lines(&o.config, &o.data_dir, fingerprint.as_deref());
        let signer = crate::recorder::export::DeviceSigner::load(
            &o.config.recorder.device_key,
            &o.config.device.name,
        )
        .unwrap_or_else(|e| {
            tracing::error!(%e, "case exports will be unsigned");
            None
        });
        Ok(Arc::new(ReviewState {
            throttle: Mutex::new(Throttle::new(LockoutPolicy::from_config(&cfg))),
            cfg,
            data_dir: o.data_dir,
            footage: o.footage,
            footage_read: Mutex::new(footage_read),
            accounts: Mutex::new(accounts),
            clocks: o.clocks,
            health: o.health,
            config_lines,
            signer,
        }))
    }
}

fn open_footage_read(data_dir: &Path) -> Result<rusqlite::Connection, ReviewError> {
    let path =
        crate::store::private::locate(data_dir, FOOTAGE_DB).map_err(|e| FootageError::Io {
            what: "cannot open the footage database in",
            path: data_dir.to_owned(),
            source: e,
        })?;
    let conn = crate::store::open_connection(&path, crate::store::Access::ReadOnly)
        .map_err(FootageError::from)?;
    Ok(conn)
}

fn config_lines(
    c: &crate::config::Config,
    data_dir: &Path,
    fp: Option<&str>,
) -> Vec<(String, String)> {
    let r = &c.review;
    let path = |p: &Option<PathBuf>| {
        p.as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "—".into())
    };
    let mut v = vec![
        ("device.name".into(), c.device.name.clone()),
        ("data_dir".into(), data_dir.display().to_string()),
        ("review.listen".into(), r.listen.to_string()),
        ("review.tls_cert".into(), path(&r.tls_cert)),
        (
            "review.tls_fingerprint_sha256".into(),
            fp.unwrap_or("—").into(),
        ),
        ("review.users_file".into(), path(&r.users_file)),
        (
            "review.session_minutes".into(),
            r.session_minutes.to_string(),
        ),
        ("review.idle_minutes".into(), r.idle_minutes.to_string()),
        (
            "review.lockout".into(),
            format!(
                "{} per account, {} per address, {}–{} s",
                r.lockout_account_attempts,
                r.lockout_ip_attempts,
                r.lockout_base_secs,
                r.lockout_max_secs
            ),
        ),
        (
            "recorder.ring_frames".into(),
            c.recorder.ring_frames.to_string(),
        ),
    ];
    for cam in &c.recorder.cameras {
        v.push((
            format!("recorder.cameras[counter {}]", cam.counter),
            format!("{} {}x{}", cam.device.display(), cam.width, cam.height),
        ));
    }
    v
}
