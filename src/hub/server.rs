//! The hub process: its shared state (store, signing key, the watch channels that wake
//! long-polls) and the listening loops, plain HTTP on loopback or HTTPS (rustls on ring).
//!
//! Long-polls wake on a new queue head or catalog version. In-process writes wake them at
//! once; writes by other processes arrive through PostgreSQL's LISTEN/NOTIFY, or, on SQLite
//! (no notifications), by looking at the file every [`DB_WATCH`]. The routes are in `api.rs`
//! and `fleet.rs`.

use std::convert::Infallible;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::Router;
use ed25519_dalek::SigningKey;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::watch;
use tower::ServiceExt as _;

use super::store::{Database, HubDb, Store};
use super::{keys, HubError};
use crate::queue::QueueEvent;

/// How often a SQLite hub looks for events and publications written by another process.
pub const DB_WATCH: Duration = Duration::from_millis(200);
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct HubState {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub store: Store,
    /// The latest queue sequence number.
    pub head: watch::Sender<u64>,
    /// The latest published catalog version (0: none).
    pub catalog: watch::Sender<u64>,
    pub closing: watch::Sender<bool>,
    pub cache: Mutex<Option<CachedCatalog>>,
    /// Signs anchor receipts (the catalog key); None when the hub has none.
    pub key: Option<SigningKey>,
    /// Admin logins verified recently: (name, SHA-256 of name:password) → when.
    pub admins: Mutex<std::collections::HashMap<String, std::time::Instant>>,
    /// At most this many admin password checks (Argon2id, 19 MiB each) run at once, so
    /// unauthenticated requests to the fleet page cannot exhaust memory or CPU.
    pub login_checks: tokio::sync::Semaphore,
    /// Long-poll answers for the current queue head and catalog, by `after`: when an event
    /// wakes thousands of devices, they mostly ask the same thing, answered once.
    pub answers: Mutex<Answers>,
    /// Ticket numbering: the center's time zone and counter prefixes.
    pub tickets: super::tickets::TicketRules,
    /// Update bundle files (`DIR/updates`); None: this hub serves no bundles.
    pub bundles: Option<super::updates::BundleStore>,
}

/// Long-poll answers valid for one (head, catalog).
#[derive(Default)]
pub(super) struct Answers {
    pub head: u64,
    pub catalog: u64,
    pub by_after: std::collections::HashMap<u64, Bytes>,
}

impl Answers {
    /// The answer for `after`, if computed for this head and catalog.
    pub fn get(&mut self, head: u64, catalog: u64, after: u64) -> Option<Bytes> {
        if (self.head, self.catalog) != (head, catalog) {
            *self = Answers {
                head,
                catalog,
                by_after: Default::default(),
            };
        }
        self.by_after.get(&after).cloned()
    }

    pub fn put(&mut self, head: u64, catalog: u64, after: u64, body: Bytes) {
        if (self.head, self.catalog) == (head, catalog) && self.by_after.len() < 1024 {
            self.by_after.insert(after, body);
        }
    }
}

/// The latest publication's bytes, as stored and (once a client asked) as plain JSON.
pub(super) struct CachedCatalog {
    pub version: u64,
    pub stored: Bytes,
    pub identity: Option<Bytes>,
}

impl HubState {
    /// A hub on `DIR/hub.db` with the signing key of `DIR`, if there is one.
    pub fn open(dir: &std::path::Path) -> Result<HubState, HubError> {
        let db = HubDb::open(dir)?;
        let (head, latest) = (db.head()?, db.latest()?.map_or(0, |p| p.version));
        let store = Store::Sqlite(Arc::new(Mutex::new(db)));
        Ok(
            HubState::new(store, keys::load_signing_key(dir).ok(), head, latest)
                .with_bundle_dir(dir),
        )
    }

    /// A hub on `database`, signing receipts with `key`.
    pub async fn connect(db: &Database, key: Option<SigningKey>) -> Result<HubState, HubError> {
        let store = Store::open(db).await?;
        let head = store.head().await?;
        let latest = store.latest().await?.map_or(0, |p| p.version);
        let state = HubState::new(store, key, head, latest);
        Ok(match db {
            Database::Sqlite(dir) => state.with_bundle_dir(dir),
            Database::Postgres(_) => state,
        })
    }

    /// Serve update bundles from `hub_dir/updates` (before serving, like
    /// [`HubState::with_ticket_rules`]). Several hub processes on one PostgreSQL database
    /// need this directory shared (or the same files copied to each).
    ///
    /// # Panics
    /// When the state was already cloned.
    pub fn with_bundle_dir(mut self, hub_dir: &std::path::Path) -> HubState {
        Arc::get_mut(&mut self.inner)
            .expect("with_bundle_dir before the state is shared")
            .bundles = Some(super::updates::BundleStore::new(hub_dir));
        self
    }

    fn new(store: Store, key: Option<SigningKey>, head: u64, latest: u64) -> HubState {
        HubState {
            inner: Arc::new(Inner {
                store,
                head: watch::channel(head).0,
                catalog: watch::channel(latest).0,
                closing: watch::channel(false).0,
                cache: Mutex::new(None),
                key,
                admins: Mutex::new(Default::default()),
                login_checks: tokio::sync::Semaphore::new(super::fleet::CONCURRENT_LOGIN_CHECKS),
                answers: Mutex::new(Answers::default()),
                tickets: Default::default(),
                bundles: None,
            }),
        }
    }

    /// Number tickets by `rules` (before serving: the state must not be shared yet).
    ///
    /// # Panics
    /// When the state was already cloned.
    pub fn with_ticket_rules(mut self, rules: super::tickets::TicketRules) -> HubState {
        Arc::get_mut(&mut self.inner)
            .expect("with_ticket_rules before the state is shared")
            .tickets = rules;
        self
    }

    pub fn ticket_rules(&self) -> &super::tickets::TicketRules {
        &self.inner.tickets
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The SQLite store, for tests, benches and tools.
    ///
    /// # Panics
    /// On a PostgreSQL hub (use [`HubState::store`]).
    pub fn db(&self) -> MutexGuard<'_, HubDb> {
        self.inner
            .store
            .sqlite()
            .expect("HubState::db() is the SQLite store; this hub runs on PostgreSQL")
    }

    /// Append an event and wake the long-polls at once.
    pub async fn push_event(&self, e: &QueueEvent) -> Result<QueueEvent, HubError> {
        let today = self.ticket_rules().today(chrono::Utc::now());
        let stored = self.inner.store.push_event(e, &today).await?;
        raise(&self.inner.head, stored.seq);
        Ok(stored)
    }

    /// Publish a catalog and wake the long-polls at once.
    pub async fn publish(
        &self,
        bytes: &[u8],
        key: &SigningKey,
        max_bytes: usize,
        expires_in: Option<chrono::Duration>,
    ) -> Result<super::Publication, HubError> {
        let p = self
            .inner
            .store
            .publish(bytes, key, max_bytes, expires_in, chrono::Utc::now())
            .await?;
        raise(&self.inner.catalog, p.version);
        Ok(p)
    }

    /// Notice what was written to a SQLite store behind this state's back (other processes,
    /// or [`HubState::db`]) now rather than within [`DB_WATCH`].
    pub fn refresh(&self) {
        if let Some(db) = self.inner.store.sqlite() {
            let (head, latest) = (db.head(), db.latest());
            drop(db);
            if let Ok(h) = head {
                raise(&self.inner.head, h);
            }
            if let Ok(Some(p)) = latest {
                raise(&self.inner.catalog, p.version);
            }
        }
    }

    /// Follow writes by other processes: LISTEN/NOTIFY on PostgreSQL, a look every
    /// [`DB_WATCH`] on SQLite. Runs until aborted.
    async fn watch_other_writers(self) {
        match &self.inner.store {
            Store::Postgres(pg) => {
                pg.clone()
                    .listen(self.inner.head.clone(), self.inner.catalog.clone())
                    .await
            }
            Store::Sqlite(_) => loop {
                tokio::time::sleep(DB_WATCH).await;
                self.refresh();
            },
        }
    }
}

/// Move a watched value forward (never back), waking its watchers when it moved.
pub(super) fn raise(tx: &watch::Sender<u64>, v: u64) {
    tx.send_if_modified(|cur| {
        let newer = v > *cur;
        if newer {
            *cur = v;
        }
        newer
    });
}

/// Serve plain HTTP on `listener` until `shutdown` resolves; open long-polls are answered at
/// once. Plain HTTP is for loopback (and tests); see [`serve_tls`].
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: HubState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_tls(listener, None, state, shutdown).await
}

/// Serve on `listener`, over TLS when `tls` is given, until `shutdown` resolves; then answer
/// open long-polls and let requests finish (at most 5 s).
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    state: HubState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let watcher = tokio::spawn(state.clone().watch_other_writers());
    let app = super::api::router(state.clone())
        .merge(super::api_tickets::router(state.clone()))
        .merge(super::api_updates::router(state.clone()))
        .merge(super::fleet::router(state.clone()));
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut conns = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            accepted = listener.accept() => {
                let (tcp, remote) = match accepted {
                    Ok(x) => x,
                    Err(e) => {
                        // Out of file descriptors, most likely: wait for some to close.
                        tracing::warn!("hub: accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let _ = tcp.set_nodelay(true);
                let (app, acceptor, stop) = (app.clone(), acceptor.clone(), stop_rx.clone());
                conns.spawn(async move {
                    match acceptor {
                        Some(acc) => match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acc.accept(tcp)).await {
                            Ok(Ok(stream)) => connection(TokioIo::new(stream), app, stop).await,
                            Ok(Err(e)) => tracing::debug!(%remote, %e, "hub: TLS handshake failed"),
                            Err(_) => tracing::debug!(%remote, "hub: TLS handshake timed out"),
                        },
                        None => connection(TokioIo::new(tcp), app, stop).await,
                    }
                });
            }
        }
    }
    state.inner.closing.send_replace(true);
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while conns.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        conns.abort_all();
    }
    watcher.abort();
    Ok(())
}

async fn connection<I>(io: I, app: Router, mut stop: watch::Receiver<bool>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let svc = hyper::service::service_fn(move |req: axum::http::Request<hyper::body::Incoming>| {
        let app = app.clone();
        async move {
            Ok::<_, Infallible>(
                app.oneshot(req.map(axum::body::Body::new))
                    .await
                    .unwrap_or_else(|e| match e {}),
            )
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .serve_connection(io, svc);
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => { if let Err(e) = r { tracing::debug!(%e, "hub connection"); } }
        _ = async { let _ = stop.wait_for(|s| *s).await; } => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}
