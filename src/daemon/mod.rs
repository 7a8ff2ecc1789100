//! `motcua daemon`, the sync part: starts the catalog poller, the queue follower, the outbox
//! uploader and the local socket for the kiosk, all holding one shutdown signal.
//!
//! `start` returns a handle that tests drive directly (short intervals, a shifted clock); the
//! CLI runs the same thing until SIGTERM/SIGINT. The recorder, GPIO and review web join here
//! later. This file wires tasks together; it holds no sync logic of its own.

pub mod client;
pub mod protocol;
pub mod shutdown;
pub mod socket;

use std::path::PathBuf;
use std::sync::Arc;

use tokio::task::JoinSet;

use crate::config::Config;
use crate::sync::clock::{Clock, SystemClock};
use crate::sync::{
    catalog_sync, queue_sync, uploader, ClientSettings, HubClient, PinnedKey, SyncContext,
    SyncError, SyncSettings,
};
use shutdown::{Shutdown, ShutdownTrigger};

/// Everything the daemon needs, resolved from the config (or built by a test).
pub struct DaemonOptions {
    pub server_url: String,
    pub token: String,
    pub keys: Vec<PinnedKey>,
    pub settings: SyncSettings,
    pub client: ClientSettings,
    pub clock: Arc<dyn Clock>,
    pub catalog_db: PathBuf,
    pub socket_path: PathBuf,
}

impl DaemonOptions {
    pub fn from_config(config: &Config, data_dir: &std::path::Path) -> Result<Self, SyncError> {
        let s = &config.sync;
        let server_url = s.server_url.clone().ok_or_else(|| {
            SyncError::NotConfigured("set [sync] server_url in the config file".into())
        })?;
        let token = s
            .load_token()
            .map_err(SyncError::NotConfigured)?
            .ok_or_else(|| {
                SyncError::NotConfigured(
                    "set [sync] token_file (or token) in the config file".into(),
                )
            })?;
        if s.public_keys.is_empty() {
            return Err(SyncError::NotConfigured(
                "pin at least one catalog key in [sync] public_keys (printed by `motcua hub keygen`)"
                    .into(),
            ));
        }
        let keys = s
            .public_keys
            .iter()
            .map(|k| PinnedKey::parse(k).map_err(SyncError::NotConfigured))
            .collect::<Result<_, _>>()?;
        let catalog_db = crate::store::catalog_path(data_dir)?;
        Ok(DaemonOptions {
            server_url,
            token,
            keys,
            settings: SyncSettings::from_config(config),
            client: SyncSettings::client_settings(config),
            clock: Arc::new(SystemClock),
            catalog_db,
            socket_path: s
                .socket_path
                .clone()
                .unwrap_or_else(|| data_dir.join(protocol::SOCKET_NAME)),
        })
    }
}

/// A started daemon. Dropping it without [`RunningDaemon::stop`] aborts the tasks.
pub struct RunningDaemon {
    pub ctx: Arc<SyncContext>,
    pub socket_path: PathBuf,
    trigger: ShutdownTrigger,
    tasks: JoinSet<()>,
}

/// Start every task on the current tokio runtime.
pub fn start(opts: DaemonOptions) -> Result<RunningDaemon, SyncError> {
    let client = HubClient::new(&opts.server_url, &opts.token, opts.client)?;
    let ctx = SyncContext::open(
        &opts.catalog_db,
        client,
        opts.keys,
        opts.clock,
        opts.settings,
    )?;
    let listener = socket::bind(&opts.socket_path).map_err(|e| {
        SyncError::NotConfigured(format!(
            "cannot create the local socket {}: {e}",
            opts.socket_path.display()
        ))
    })?;
    let (trigger, shutdown) = shutdown::channel();
    let mut tasks = JoinSet::new();
    tasks.spawn(catalog_sync::run(Arc::clone(&ctx), shutdown.clone()));
    tasks.spawn(queue_sync::run(Arc::clone(&ctx), shutdown.clone()));
    tasks.spawn(uploader::run(Arc::clone(&ctx), shutdown.clone()));
    tasks.spawn(socket::serve(listener, Arc::clone(&ctx), shutdown));
    Ok(RunningDaemon {
        ctx,
        socket_path: opts.socket_path,
        trigger,
        tasks,
    })
}

impl RunningDaemon {
    /// Ask every task to stop and wait for them.
    pub async fn stop(mut self) {
        self.trigger.fire();
        while self.tasks.join_next().await.is_some() {}
        let _ = std::fs::remove_file(&self.socket_path);
    }

    pub fn shutdown(&self) -> Shutdown {
        self.trigger.subscribe()
    }
}

/// Run until SIGTERM/SIGINT, then stop gracefully.
pub async fn run_until_signal(opts: DaemonOptions) -> Result<(), SyncError> {
    let daemon = start(opts)?;
    tracing::info!(
        "motcua daemon running; socket {}",
        daemon.socket_path.display()
    );
    shutdown::os_signal().await;
    tracing::info!("shutting down");
    daemon.stop().await;
    Ok(())
}
