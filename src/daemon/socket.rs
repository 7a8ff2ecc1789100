//! The daemon's local socket (Unix domain, JSON lines): record lookups, ratings and the link
//! state on behalf of the kiosk process (which cannot write the stores), snapshot captures for
//! counter software, and a stream of device events (motion, buttons) for the kiosk.
//!
//! Every request is validated (`protocol.rs`) before it touches anything; record lookups go to
//! the server and fall back to the cache when the link is down. The socket file is made
//! group-accessible (0660, group `motcua-kiosk` when it exists) so only the kiosk can connect. It never serves footage:
//! a capture answers with the snapshot's id and hash only.

use std::path::Path;
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

use tokio::sync::broadcast;

use super::protocol::{check_rating, Notice, Request, Response, WireError, MAX_LINE};
use super::shutdown::Shutdown;
use crate::appliance::LookupError;
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
                }) => {
                    super::recording::capture(svc.recorder.clone(), counter, record_id, reason)
                        .await
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
        Request::Capture { .. } | Request::Subscribe => {
            Response::Error(WireError::failed("not handled here"))
        }
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
