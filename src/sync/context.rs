//! `SyncContext`: what the sync tasks share — the one HTTP client, pinned keys, the stores,
//! the clock, the link monitor and the queue-event broadcast — and their settings.
//!
//! Built once by the daemon (or a test); never global. Database handles are std mutexes
//! held only for short statements or inside `spawn_blocking`, never across an `.await`.
//! Without a server (`client` is `None`) the context still holds the stores and the outbox:
//! the daemon runs offline-only and the link state is `NotConfigured`.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use tokio::sync::{broadcast, Notify};

use super::client::{ClientSettings, HubClient};
use super::clock::Clock;
use super::envelope::PinnedKey;
use super::schedule::Schedule;
use super::SyncError;
use crate::appliance::LinkState;
use crate::config::Config;
use crate::daemon::liveness::SyncBeats;
use crate::device::HealthReport;
use crate::queue::QueueEvent;
use crate::recorder::anchor::AnchorMailbox;
use crate::store::{open_connection, Access, CatalogStore};

/// Timing and limits of the sync tasks (from `[sync]`, or shortened by tests).
#[derive(Debug, Clone)]
pub struct SyncSettings {
    pub catalog: Schedule,
    /// Backoff of the queue long-poll after a failure (its interval is the retry cap).
    pub queue: Schedule,
    pub outbox: Schedule,
    pub heartbeat_interval: Duration,
    pub max_bundle_bytes: usize,
    /// A bundle issued further than this ahead of the device clock is refused.
    pub max_clock_skew: chrono::Duration,
    pub device_name: String,
}

impl SyncSettings {
    pub fn from_config(config: &Config) -> SyncSettings {
        let s = &config.sync;
        let secs = Duration::from_secs;
        let catalog = Schedule {
            interval: secs(s.poll_interval_secs),
            backoff_base: secs(s.backoff_base_secs),
            backoff_max: secs(s.backoff_max_secs),
            jitter: 0.1,
        };
        SyncSettings {
            queue: Schedule {
                interval: secs(s.backoff_max_secs.min(60)),
                ..catalog.clone()
            },
            outbox: Schedule {
                interval: secs(60),
                ..catalog.clone()
            },
            catalog,
            heartbeat_interval: secs(s.heartbeat_interval_secs),
            max_bundle_bytes: config.catalog.max_bundle_bytes,
            max_clock_skew: chrono::Duration::minutes(10),
            device_name: config.device.name.clone(),
        }
    }

    pub fn client_settings(config: &Config) -> ClientSettings {
        let s = &config.sync;
        ClientSettings {
            connect_timeout: Duration::from_secs(s.connect_timeout_secs),
            request_timeout: Duration::from_secs(s.request_timeout_secs),
            queue_wait: Duration::from_secs(s.queue_wait_secs),
            max_envelope_bytes: ClientSettings::envelope_limit(config.catalog.max_bundle_bytes),
            ca_file: s.ca_file.clone(),
        }
    }
}

/// Online/offline as the kiosk's status line shows it.
#[derive(Debug, Default)]
pub struct LinkMonitor {
    offline_since: Mutex<Option<Option<DateTime<Utc>>>>,
    /// No server configured: the state is always `NotConfigured`.
    not_configured: bool,
}

impl LinkMonitor {
    /// Note the outcome of an exchange with the server.
    pub fn observe(&self, now: DateTime<Utc>, result: Result<(), &SyncError>) {
        let mut s = self.offline_since.lock().unwrap_or_else(|e| e.into_inner());
        match result {
            Ok(()) => *s = Some(None),
            Err(e) if e.is_offline() => {
                if !matches!(*s, Some(Some(_))) {
                    *s = Some(Some(now));
                }
            }
            Err(_) => {}
        }
    }

    /// A monitor for a daemon running without a server.
    pub fn not_configured() -> LinkMonitor {
        LinkMonitor {
            not_configured: true,
            ..LinkMonitor::default()
        }
    }

    pub fn state(&self) -> LinkState {
        if self.not_configured {
            return LinkState::NotConfigured;
        }
        match *self.offline_since.lock().unwrap_or_else(|e| e.into_inner()) {
            Some(None) => LinkState::Online,
            Some(Some(t)) => LinkState::Offline {
                since: Some(super::clock::rfc3339(t)),
            },
            None => LinkState::Offline { since: None },
        }
    }
}

pub struct SyncContext {
    /// `None` when no server is configured (offline-only).
    client: Option<HubClient>,
    pub keys: Vec<PinnedKey>,
    pub clock: Arc<dyn Clock>,
    pub settings: SyncSettings,
    catalog: Mutex<CatalogStore>,
    db: Mutex<Connection>,
    pub link: LinkMonitor,
    pub events: broadcast::Sender<QueueEvent>,
    /// Wakes the uploader when the kiosk stored a rating.
    pub outbox_ready: Notify,
    /// Wakes the catalog poller when the queue long-poll learnt of a newer catalog.
    pub catalog_due: Notify,
    /// The newest catalog version the server announced through the queue long-poll.
    pub catalog_announced: std::sync::atomic::AtomicU64,
    /// Where the sync loops mark their steps for the watchdog (`daemon::liveness`).
    pub beats: SyncBeats,
    /// The latest device health report (the daemon's health task), sent with heartbeats.
    pub device_health: Mutex<Option<HealthReport>>,
    /// The latest signed footage chain head (sent with heartbeats) and the hub's receipts
    /// coming back (stored by the recorder's anchoring thread).
    pub footage_anchor: Arc<AnchorMailbox>,
    /// The update task's latest report (slot, version, state), for heartbeats and the doctor.
    pub update_report: Mutex<Option<serde_json::Value>>,
}

impl SyncContext {
    /// Open the stores at `catalog_db` (created and migrated if needed).
    pub fn open(
        catalog_db: &Path,
        client: impl Into<Option<HubClient>>,
        keys: Vec<PinnedKey>,
        clock: Arc<dyn Clock>,
        settings: SyncSettings,
    ) -> Result<Arc<SyncContext>, SyncError> {
        let catalog = CatalogStore::open(catalog_db)?;
        let db = open_connection(catalog_db, Access::ReadWrite)?;
        let (events, _) = broadcast::channel(1024);
        let client = client.into();
        let link = match client {
            Some(_) => LinkMonitor::default(),
            None => LinkMonitor::not_configured(),
        };
        Ok(Arc::new(SyncContext {
            client,
            keys,
            clock,
            settings,
            catalog: Mutex::new(catalog),
            db: Mutex::new(db),
            link,
            events,
            outbox_ready: Notify::new(),
            catalog_due: Notify::new(),
            catalog_announced: Default::default(),
            beats: SyncBeats::default(),
            device_health: Mutex::new(None),
            footage_anchor: Arc::new(AnchorMailbox::default()),
            update_report: Mutex::new(None),
        }))
    }

    /// The server's client, or `NotConfigured` in offline-only mode.
    pub fn client(&self) -> Result<&HubClient, SyncError> {
        self.client.as_ref().ok_or_else(|| {
            SyncError::NotConfigured("no [sync] server_url: running offline-only".into())
        })
    }

    pub fn is_configured(&self) -> bool {
        self.client.is_some()
    }

    /// The state/queue/outbox connection. Hold only for short synchronous work.
    pub fn db(&self) -> MutexGuard<'_, Connection> {
        self.db.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The catalog writer. Hold only inside `spawn_blocking` or for `info()`.
    pub fn catalog(&self) -> MutexGuard<'_, CatalogStore> {
        self.catalog.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queue events as they are applied (the recorder subscribes).
    pub fn subscribe(&self) -> broadcast::Receiver<QueueEvent> {
        self.events.subscribe()
    }
}
