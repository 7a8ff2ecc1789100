//! The daemon's local socket (Unix domain, JSON lines): record lookups, ratings and the link
//! state on behalf of the kiosk process (which cannot write the stores), snapshot captures for
//! counter software, and a stream of device events (motion, buttons) for the kiosk.
//!
//! Every request is validated (`protocol.rs`) before it touches anything; record lookups go to
//! the server and fall back to the cache when the link is down. The socket file is made
//! group-accessible (0660, group `motcua-kiosk` when it exists) so only the kiosk can connect. It never serves footage:
//! a capture answers with the snapshot's id and hash only.
//!
//! Captures asked by any other user than root or the daemon's own (the kiosk's group: they
//! could fill the disk, and `min_free` retention would then delete older evidence) are
//! limited per counter ([`CaptureGate`], [`CAPTURE_LIMIT`] per [`CAPTURE_WINDOW`]) and must
//! name a record this device has seen at that counter or in its record cache
//! ([`record_known`]). The daemon's own user and root may write footage directly anyway.

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

use tokio::sync::broadcast;

use super::protocol::{check_rating, Notice, Request, Response, WireError, MAX_LINE};
use super::shutdown::Shutdown;
use crate::appliance::LookupError;
use crate::doctor::view::DoctorView;
use crate::record::RecordId;
use crate::recorder::Recorder;
use crate::sync::outbox::{self, OutboxKind};
use crate::sync::state::{self, Channel};
use crate::sync::SyncContext;

/// Bind the socket at `path` (a stale file from a previous run is replaced).
pub fn bind(path: &Path) -> std::io::Result<UnixListener> {
    if path.exists() {
        std::fs::remove_file(path)?;
    }
    let listener = UnixListener::bind(path)?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))?;
    // The kiosk connects through its own group (the package makes the daemon's user a member:
    // systemd/motcua.sysusers); where that group does not exist (development) the socket
    // keeps the daemon's group.
    if let Some(gid) = crate::provision::fsutil::group_id(Path::new("/"), KIOSK_GROUP) {
        if let Err(e) = std::os::unix::fs::chown(path, None, Some(gid)) {
            tracing::warn!(
                "cannot give {} to group {KIOSK_GROUP} ({e}): the kiosk will not reach the daemon",
                path.display()
            );
        }
    }
    Ok(listener)
}

/// The kiosk's group.
pub const KIOSK_GROUP: &str = "motcua-kiosk";

/// What the socket's requests reach.
pub struct Services {
    pub ctx: Arc<SyncContext>,
    /// `None` when the daemon runs no recorder (captures are refused, saying why).
    pub recorder: Option<Arc<Recorder>>,
    /// Device events for `subscribe` connections.
    pub notices: broadcast::Sender<Notice>,
    /// The capture limit for the kiosk's group.
    pub captures: CaptureGate,
    /// Runs the doctor's checks for a `doctor` request (blocking: called off the runtime).
    pub doctor: Arc<dyn Fn() -> DoctorView + Send + Sync>,
    /// Queue tickets (hub, or leased numbers through a network cut).
    pub tickets: Arc<crate::sync::tickets::TicketDesk>,
    /// The kiosk's latest `kiosk_status` (first frame, idle time).
    pub kiosk: Arc<super::kiosk_signal::KioskSignal>,
}

/// Captures per counter a limited client may ask for within [`CAPTURE_WINDOW`].
pub const CAPTURE_LIMIT: usize = 6;
/// The sliding window of [`CAPTURE_LIMIT`].
pub const CAPTURE_WINDOW: Duration = Duration::from_secs(60);

/// Who is limited, the counters that have a camera, and the recent captures per counter of
/// limited clients (an entry only for a configured counter, so the map stays bounded).
pub struct CaptureGate {
    exempt_uids: Vec<u32>,
    counters: Vec<u32>,
    recent: Mutex<HashMap<u32, VecDeque<Instant>>>,
}

impl CaptureGate {
    /// Root and the daemon's own user are not limited (both can write footage directly).
    /// `counters`: the counters with a configured camera.
    pub fn for_daemon(counters: Vec<u32>) -> CaptureGate {
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        CaptureGate::exempting(vec![0, me], counters)
    }

    pub fn exempting(exempt_uids: Vec<u32>, mut counters: Vec<u32>) -> CaptureGate {
        counters.sort_unstable();
        counters.dedup();
        CaptureGate {
            exempt_uids,
            counters,
            recent: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `counter` has a camera here; the exact refusal if not.
    pub fn check_counter(&self, counter: u32) -> Result<(), String> {
        if self.counters.contains(&counter) {
            return Ok(());
        }
        let list: Vec<String> = self.counters.iter().map(u32::to_string).collect();
        Err(if list.is_empty() {
            format!("counter {counter} has no camera on this device (no camera is configured)")
        } else {
            format!(
                "counter {counter} has no camera on this device (cameras at counter {})",
                list.join(", ")
            )
        })
    }

    /// Whether a client with this uid (None: unknown) is limited.
    pub fn limits(&self, uid: Option<u32>) -> bool {
        uid.is_none_or(|u| !self.exempt_uids.contains(&u))
    }

    /// Count one capture at `counter` at `now`, or say when the next one is allowed. A counter
    /// with no camera is refused before anything is counted.
    pub fn admit(&self, counter: u32, now: Instant) -> Result<(), String> {
        self.check_counter(counter)?;
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        let q = recent.entry(counter).or_default();
        while q
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= CAPTURE_WINDOW)
        {
            q.pop_front();
        }
        if q.len() >= CAPTURE_LIMIT {
            let wait = CAPTURE_WINDOW.saturating_sub(now.saturating_duration_since(q[0]));
            return Err(format!(
                "too many captures at counter {counter}: at most {CAPTURE_LIMIT} per {} s from the kiosk; try again in {} s",
                CAPTURE_WINDOW.as_secs(),
                wait.as_secs().max(1)
            ));
        }
        q.push_back(now);
        Ok(())
    }
}

/// Whether `id` is a record this device has seen at `counter` (queue board or its events) or
/// in its record cache (looked up on the kiosk).
pub fn record_known(
    conn: &rusqlite::Connection,
    counter: u32,
    id: &RecordId,
) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM queue_counters WHERE counter = ?1 AND record_id = ?2)
             OR EXISTS (SELECT 1 FROM queue_events WHERE counter = ?1 AND record_id = ?2)
             OR EXISTS (SELECT 1 FROM record_cache WHERE id = ?2)",
        rusqlite::params![counter, id.as_str()],
        |r| r.get(0),
    )
}

/// The gate for a limited client: a configured counter, a known record, then the rate limit.
fn check_capture(svc: &Services, counter: u32, id: &RecordId) -> Result<(), String> {
    svc.captures.check_counter(counter)?;
    let known = record_known(&svc.ctx.db(), counter, id)
        .map_err(|e| format!("cannot check the record ID: {e}"))?;
    if !known {
        return Err(format!(
            "record {} is not known at counter {counter} (not on its queue board, not looked up on this device); captures from the kiosk link only to records this device has seen",
            id.as_str()
        ));
    }
    svc.captures.admit(counter, Instant::now())
}

/// Serve until shutdown.
pub async fn serve(listener: UnixListener, ctx: Arc<Services>, mut shutdown: Shutdown) {
    loop {
        let conn = tokio::select! {
            c = listener.accept() => c,
            _ = shutdown.recv() => return,
        };
        match conn {
            Ok((stream, _)) => {
                let svc = Arc::clone(&ctx);
                let sd = shutdown.clone();
                tokio::spawn(async move { handle(stream, svc, sd).await });
            }
            Err(e) => {
                tracing::warn!("local socket accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

async fn handle(stream: UnixStream, svc: Arc<Services>, mut shutdown: Shutdown) {
    let kiosk_limited = svc
        .captures
        .limits(stream.peer_cred().ok().map(|c| c.uid()));
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let mut line = String::new();
        let mut limited = (&mut reader).take(MAX_LINE as u64 + 1);
        let n = tokio::select! {
            n = limited.read_line(&mut line) => n,
            _ = shutdown.recv() => return,
        };
        let answer = match n {
            Ok(0) => return,
            Ok(_) if line.len() > MAX_LINE || !line.ends_with('\n') => Response::Error(
                WireError::failed(format!("request longer than {MAX_LINE} bytes")),
            ),
            Ok(_) => match serde_json::from_str::<Request>(&line) {
                Ok(Request::Subscribe) => {
                    let rx = svc.notices.subscribe();
                    return stream_events(reader, write, rx, shutdown).await;
                }
                Ok(Request::Capture {
                    counter,
                    record_id,
                    reason,
                }) => match kiosk_limited.then(|| check_capture(&svc, counter, &record_id)) {
                    Some(Err(msg)) => Response::Error(WireError::failed(msg)),
                    _ => {
                        super::recording::capture(svc.recorder.clone(), counter, record_id, reason)
                            .await
                    }
                },
                Ok(Request::Doctor) => {
                    let run = Arc::clone(&svc.doctor);
                    // its own thread: the server check runs a runtime of its own
                    let (tx, rx) = tokio::sync::oneshot::channel();
                    std::thread::spawn(move || {
                        let _ = tx.send(run());
                    });
                    match rx.await {
                        Ok(v) => Response::Doctor(Box::new(v)),
                        Err(e) => Response::Error(WireError::failed(format!(
                            "the doctor's checks did not finish: {e}"
                        ))),
                    }
                }
                Ok(Request::TakeTicket {
                    counter,
                    procedure,
                    key,
                }) => {
                    if key.is_empty()
                        || key.len() > 128
                        || !key.bytes().all(|b| b.is_ascii_graphic())
                    {
                        Response::Error(WireError::failed(
                            "take_ticket: key must be 1-128 visible ASCII characters",
                        ))
                    } else {
                        match svc.tickets.take(counter, procedure.as_deref(), &key).await {
                            Ok(t) => Response::Ticket(t),
                            Err(msg) => Response::Error(WireError::failed(msg)),
                        }
                    }
                }
                Ok(Request::KioskStatus { drawn, idle_secs }) => {
                    svc.kiosk
                        .report(drawn, idle_secs, std::time::Instant::now());
                    Response::Stored
                }
                Ok(req) => answer(&svc.ctx, req).await,
                Err(e) => Response::Error(WireError::failed(format!("bad request: {e}"))),
            },
            Err(_) => return,
        };
        let mut out = serde_json::to_string(&answer).unwrap_or_default();
        out.push('\n');
        if write.write_all(out.as_bytes()).await.is_err() {
            return;
        }
        if matches!(n, Ok(k) if k > MAX_LINE) {
            return; // the rest of an oversized line is not worth reading
        }
    }
}

/// After `subscribe`: "subscribed", then one event line each, until the client goes away.
async fn stream_events(
    mut reader: BufReader<tokio::net::unix::OwnedReadHalf>,
    mut write: tokio::net::unix::OwnedWriteHalf,
    mut rx: broadcast::Receiver<Notice>,
    mut shutdown: Shutdown,
) {
    let line = |r: &Response| {
        let mut s = serde_json::to_string(r).unwrap_or_default();
        s.push('\n');
        s
    };
    if write
        .write_all(line(&Response::Subscribed).as_bytes())
        .await
        .is_err()
    {
        return;
    }
    let mut sink = [0u8; 512];
    loop {
        let notice = tokio::select! {
            n = rx.recv() => match n {
                Ok(n) => n,
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return,
            },
            r = reader.read(&mut sink) => match r {
                Ok(0) | Err(_) => return, // the client closed; anything it sends is ignored
                Ok(_) => continue,
            },
            _ = shutdown.recv() => return,
        };
        if write
            .write_all(line(&Response::Event(notice)).as_bytes())
            .await
            .is_err()
        {
            return;
        }
    }
}

async fn answer(ctx: &Arc<SyncContext>, req: Request) -> Response {
    match req {
        Request::Capture { .. }
        | Request::Subscribe
        | Request::Doctor
        | Request::KioskStatus { .. }
        | Request::TakeTicket { .. } => Response::Error(WireError::failed("not handled here")),
        Request::LinkState => Response::Link(ctx.link.state()),
        Request::Health => {
            let report = ctx
                .device_health
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            match report {
                Some(r) => Response::Health(Box::new(r)),
                None => Response::Error(WireError::failed(
                    "the daemon has not finished its first health check yet",
                )),
            }
        }
        Request::SubmitRating { rating } => {
            if let Err(msg) = check_rating(&rating) {
                return Response::Error(WireError::failed(msg));
            }
            let body = serde_json::to_string(&rating).unwrap_or_default();
            let r = outbox::enqueue(
                &ctx.db(),
                OutboxKind::Rating,
                &rating.key,
                &body,
                ctx.clock.now(),
            );
            match r {
                Ok(_) => {
                    ctx.outbox_ready.notify_one();
                    Response::Stored
                }
                Err(e) => Response::Error(WireError::failed(e.to_string())),
            }
        }
        Request::LookupRecord { id } => match lookup(ctx, &id).await {
            Ok(r) => r,
            Err(e) => Response::Error(e.into()),
        },
    }
}

async fn lookup(ctx: &Arc<SyncContext>, id: &RecordId) -> Result<Response, LookupError> {
    let fail = |e: crate::store::StoreError| LookupError::Failed(e.to_string());
    let Ok(client) = ctx.client() else {
        // Offline-only (docs/sync.md): the cache, else "offline" — not a failed channel.
        return match state::cached_record(&ctx.db(), id).map_err(fail)? {
            Some(cached) => Ok(Response::Record(cached)),
            None => Err(LookupError::Offline),
        };
    };
    let result = client.record_status(id).await;
    let now = ctx.clock.now();
    let db = ctx.db();
    match result {
        Ok(Some(status)) => {
            state::record_success(&db, Channel::Records, now).map_err(fail)?;
            state::cache_record(&db, &status, now).map_err(fail)?;
            Ok(Response::Record(status))
        }
        Ok(None) => {
            state::record_success(&db, Channel::Records, now).map_err(fail)?;
            Err(LookupError::NotFound)
        }
        Err(e) => {
            let _ = state::record_failure(&db, Channel::Records, now, &e);
            if e.is_offline() || !e.is_permanent() {
                match state::cached_record(&db, id).map_err(fail)? {
                    Some(cached) => Ok(Response::Record(cached)),
                    None => Err(LookupError::Offline),
                }
            } else {
                Err(LookupError::Failed(e.to_string()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kiosk_is_limited_per_counter_root_and_the_daemon_are_not() {
        let g = CaptureGate::exempting(vec![0, 998], vec![2, 1]);
        assert!(!g.limits(Some(0)) && !g.limits(Some(998)));
        assert!(g.limits(Some(997)) && g.limits(None));
        let t0 = Instant::now();
        for i in 0..CAPTURE_LIMIT {
            g.admit(1, t0 + Duration::from_secs(i as u64)).unwrap();
        }
        assert_eq!(
            g.admit(1, t0 + Duration::from_secs(10)).unwrap_err(),
            "too many captures at counter 1: at most 6 per 60 s from the kiosk; try again in 50 s"
        );
        // Another counter has its own budget; the first frees up as the window slides.
        g.admit(2, t0 + Duration::from_secs(10)).unwrap();
        g.admit(1, t0 + Duration::from_secs(60)).unwrap();
        assert!(g.admit(1, t0 + Duration::from_secs(60)).is_err());
    }

    /// Review of issue 15: every counter number a client sent got its own rate-limit entry,
    /// so the map grew without bound. A counter with no camera is refused, exactly, and
    /// leaves nothing behind.
    #[test]
    fn a_counter_with_no_camera_is_refused_and_not_remembered() {
        let g = CaptureGate::exempting(vec![0], vec![3, 1]);
        let t0 = Instant::now();
        for c in [0, 2, 4, 7, u32::MAX] {
            assert_eq!(
                g.admit(c, t0).unwrap_err(),
                format!("counter {c} has no camera on this device (cameras at counter 1, 3)")
            );
        }
        assert!(g.recent.lock().unwrap().is_empty());
        g.admit(3, t0).unwrap();
        assert_eq!(g.recent.lock().unwrap().len(), 1);
        let none = CaptureGate::exempting(vec![0], vec![]);
        assert_eq!(
            none.check_counter(1).unwrap_err(),
            "counter 1 has no camera on this device (no camera is configured)"
        );
    }

    #[test]
    fn a_record_is_known_from_the_board_its_events_or_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(crate::store::CATALOG_DB);
        crate::store::CatalogStore::open(&path).unwrap();
        let conn = crate::store::open_connection(&path, crate::store::Access::ReadWrite).unwrap();
        let id = |s: &str| RecordId::parse(s).unwrap();
        let a = id("000.00.14.H56-261123-0001");
        assert!(!record_known(&conn, 1, &a).unwrap());
        conn.execute(
            "INSERT INTO queue_counters (counter, status, record_id, updated_at) VALUES (1, 'serving', ?1, 'x')",
            [a.as_str()],
        )
        .unwrap();
        assert!(record_known(&conn, 1, &a).unwrap());
        assert!(
            !record_known(&conn, 2, &a).unwrap(),
            "known at counter 1 only"
        );
        let b = id("000.00.14.H56-261123-0002");
        conn.execute(
            "INSERT INTO queue_events (seq, counter, kind, record_id, at) VALUES (1, 2, 'started', ?1, 'x')",
            [b.as_str()],
        )
        .unwrap();
        assert!(record_known(&conn, 2, &b).unwrap());
        let c = id("000.00.14.H56-261123-0003");
        conn.execute(
            "INSERT INTO record_cache (id, body, fetched_at) VALUES (?1, '{}', 'x')",
            [c.as_str()],
        )
        .unwrap();
        assert!(record_known(&conn, 5, &c).unwrap());
    }
}
