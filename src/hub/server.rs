//! The hub's HTTP API (axum): protocol v1 as documented in `docs/api/openapi.yaml`.
//!
//! Every `/v1` route except `/v1/health` needs a device's bearer token. The catalog is kept
//! gzip-compressed and sent so to clients whose `Accept-Encoding` allows it (`Content-Encoding:
//! gzip`, weak ETag), inflated for the others; the latest one is cached in memory and shared by
//! concurrent downloads. Inputs are checked
//! here (record IDs, idempotency keys, body sizes, JSON shapes) with errors that say what was
//! wrong in an `X-Motcua-Error` header and a JSON body. The queue long-poll wakes as soon as an
//! event is pushed in-process, and within [`DB_WATCH`] when another process (the CLI) wrote it.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use tokio::sync::watch;

use super::{Encoding, HubDb, HubError, Publication};
use crate::appliance::Rating;
use crate::queue::QueueEvent;
use crate::record::RecordId;
use crate::sync::client::MAX_EVENTS_PER_BATCH;

/// How often the server looks for events written by another process.
pub const DB_WATCH: Duration = Duration::from_millis(200);
/// Longest long-poll the server grants.
pub const MAX_WAIT_SECS: u64 = 60;
/// Largest upload body accepted.
pub const MAX_UPLOAD_BYTES: usize = 16 * 1024;

#[derive(Clone)]
pub struct HubState {
    inner: Arc<Inner>,
}

struct Inner {
    db: Mutex<HubDb>,
    head: watch::Sender<u64>,
    closing: watch::Sender<bool>,
    catalog: Mutex<Option<CachedCatalog>>,
}

/// The latest publication's bytes, as stored and (once a client asked) as plain JSON.
struct CachedCatalog {
    version: u64,
    stored: Bytes,
    identity: Option<Bytes>,
}

impl HubState {
    pub fn open(dir: &std::path::Path) -> Result<HubState, HubError> {
        let db = HubDb::open(dir)?;
        let head = db.head()?;
        Ok(HubState {
            inner: Arc::new(Inner {
                db: Mutex::new(db),
                head: watch::channel(head).0,
                closing: watch::channel(false).0,
                catalog: Mutex::new(None),
            }),
        })
    }

    pub fn db(&self) -> MutexGuard<'_, HubDb> {
        self.inner.db.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Append an event and wake the long-polls at once.
    pub fn push_event(&self, e: &QueueEvent) -> Result<QueueEvent, HubError> {
        let stored = self.db().push_event(e)?;
        self.inner.head.send_replace(stored.seq);
        Ok(stored)
    }

    /// The body of publication `p`: gzip when `gzip` is allowed and it is stored so, else
    /// plain JSON. Returns the bytes and whether they are gzip.
    async fn envelope(&self, p: &Publication, gzip: bool) -> Result<(Bytes, bool), ApiError> {
        let cached = {
            let mut cache = self.inner.catalog.lock().unwrap_or_else(|e| e.into_inner());
            if cache.as_ref().is_none_or(|c| c.version != p.version) {
                let stored = self.db().envelope(p.version)?.ok_or_else(|| {
                    ApiError(StatusCode::NOT_FOUND, "no catalog published".into())
                })?;
                *cache = Some(CachedCatalog {
                    version: p.version,
                    stored: Bytes::from(stored),
                    identity: None,
                });
            }
            let c = cache.as_ref().expect("filled above");
            (c.stored.clone(), c.identity.clone())
        };
        match (p.encoding, gzip, cached) {
            (Encoding::Identity, _, (stored, _)) => Ok((stored, false)),
            (Encoding::Gzip, true, (stored, _)) => Ok((stored, true)),
            (Encoding::Gzip, false, (_, Some(identity))) => Ok((identity, false)),
            (Encoding::Gzip, false, (stored, None)) => {
                let identity = tokio::task::spawn_blocking(move || {
                    let mut out = Vec::new();
                    std::io::copy(&mut flate2::read::GzDecoder::new(&stored[..]), &mut out)
                        .map(|_| Bytes::from(out))
                })
                .await
                .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
                .map_err(|e| {
                    tracing::error!("hub: stored catalog {} does not inflate: {e}", p.version);
                    ApiError(StatusCode::INTERNAL_SERVER_ERROR, "internal error".into())
                })?;
                let mut cache = self.inner.catalog.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(c) = cache.as_mut().filter(|c| c.version == p.version) {
                    c.identity = Some(identity.clone());
                }
                Ok((identity, false))
            }
        }
    }

    /// Notice events other processes appended (polls `max(seq)` every [`DB_WATCH`]).
    fn refresh_head(&self) {
        if let Ok(h) = self.db().head() {
            self.inner.head.send_if_modified(|cur| {
                let changed = *cur != h;
                *cur = h;
                changed
            });
        }
    }
}

/// Serve the API on `listener` until `shutdown` resolves; open long-polls are answered at once.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: HubState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let watcher = {
        let state = state.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(DB_WATCH).await;
                state.refresh_head();
            }
        })
    };
    let closing = state.inner.clone();
    let app = router(state);
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            closing.closing.send_replace(true);
        })
        .await;
    watcher.abort();
    result
}

pub fn router(state: HubState) -> Router {
    Router::new()
        .route("/v1/health", get(health))
        .route("/v1/catalog", get(catalog))
        .route("/v1/queue/events", get(queue_events))
        .route("/v1/records/{id}", get(record))
        .route("/v1/ratings", post(upload_rating))
        .route("/v1/heartbeats", post(upload_heartbeat))
        .layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES))
        .with_state(state)
}

/// An API error: status, a short plain message in `X-Motcua-Error` and in the JSON body.
pub struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let msg: String = self
            .1
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect();
        let mut resp = (
            self.0,
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::json!({ "error": msg }).to_string(),
        )
            .into_response();
        if let Ok(v) = HeaderValue::from_str(&msg.replace(|c: char| !c.is_ascii(), "?")) {
            resp.headers_mut().insert("x-motcua-error", v);
        }
        resp
    }
}

impl From<HubError> for ApiError {
    fn from(e: HubError) -> Self {
        tracing::error!("hub: {e}");
        ApiError(StatusCode::INTERNAL_SERVER_ERROR, "internal error".into())
    }
}

fn json(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The device whose bearer token this is.
fn authorize(state: &HubState, headers: &HeaderMap) -> Result<String, ApiError> {
    let unauthorized = |m: &str| ApiError(StatusCode::UNAUTHORIZED, m.into());
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| unauthorized("missing bearer token"))?;
    let token = value
        .strip_prefix("Bearer ")
        .filter(|t| !t.is_empty() && t.len() <= 256)
        .ok_or_else(|| unauthorized("malformed Authorization header"))?;
    state
        .db()
        .device_for_token(token)?
        .ok_or_else(|| unauthorized("unknown device token"))
}

async fn health() -> Response {
    json(StatusCode::OK, "{\"ok\":true}".into())
}

/// Does `Accept-Encoding` allow gzip (RFC 9110 §12.5.3: `gzip`, `x-gzip` or `*`, q > 0)?
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    let mut star = None;
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q=").or(p.trim().strip_prefix("Q=")))
                .filter_map(|q| q.trim().parse::<f32>().ok())
                .next()
                .unwrap_or(1.0);
            match name.as_str() {
                "gzip" | "x-gzip" => return q > 0.0,
                "*" => star = Some(q > 0.0),
                _ => {}
            }
        }
    }
    star.unwrap_or(false)
}

/// Weak comparison (RFC 9110 §13.1.2): `W/"x"` matches `"x"`, and `*` matches anything.
fn none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim())
        .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == etag)
}

async fn catalog(State(state): State<HubState>, headers: HeaderMap) -> Result<Response, ApiError> {
    authorize(&state, &headers)?;
    let Some(p) = state.db().latest()? else {
        return Err(ApiError(
            StatusCode::NOT_FOUND,
            "no catalog published".into(),
        ));
    };
    let gzip = accepts_gzip(&headers) && p.encoding == Encoding::Gzip;
    // The gzip body is another representation of the same envelope: a weak validator.
    let etag = if gzip {
        format!("W/{}", p.etag)
    } else {
        p.etag.clone()
    };
    let etag = HeaderValue::from_str(&etag)
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let vary = (header::VARY, HeaderValue::from_static("accept-encoding"));
    if none_match(&headers, &p.etag) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag), vary]).into_response());
    }
    let (body, gzip) = state.envelope(&p, gzip).await?;
    let mut resp = (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::ETAG, etag),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            vary,
        ],
        body,
    )
        .into_response();
    if gzip {
        resp.headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    Ok(resp)
}

#[derive(Deserialize)]
struct EventsQuery {
    #[serde(default)]
    after: u64,
    #[serde(default)]
    wait: u64,
}

async fn queue_events(
    State(state): State<HubState>,
    headers: HeaderMap,
    Query(q): Query<EventsQuery>,
) -> Result<Response, ApiError> {
    authorize(&state, &headers)?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(q.wait.min(MAX_WAIT_SECS));
    let mut head = state.inner.head.subscribe();
    let mut closing = state.inner.closing.subscribe();
    loop {
        head.borrow_and_update();
        let events = state.db().events_after(q.after, MAX_EVENTS_PER_BATCH)?;
        if !events.is_empty() || tokio::time::Instant::now() >= deadline || *closing.borrow() {
            let head = state.db().head()?;
            let body = serde_json::json!({ "events": events, "head": head });
            return Ok(json(StatusCode::OK, body.to_string()));
        }
        tokio::select! {
            _ = head.changed() => {}
            _ = tokio::time::sleep_until(deadline) => {}
            _ = closing.changed() => {}
        }
    }
}

async fn record(
    State(state): State<HubState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    authorize(&state, &headers)?;
    let id = RecordId::parse(&id).map_err(|e| ApiError(StatusCode::BAD_REQUEST, e.to_string()))?;
    match state.db().record(&id)? {
        Some(s) => Ok(json(
            StatusCode::OK,
            serde_json::to_string(&s).unwrap_or_default(),
        )),
        None => Err(ApiError(
            StatusCode::NOT_FOUND,
            "no record with this ID".into(),
        )),
    }
}

fn idempotency_key(headers: &HeaderMap) -> Result<String, ApiError> {
    headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .filter(|k| !k.is_empty() && k.len() <= 128 && k.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .ok_or_else(|| {
            ApiError(
                StatusCode::BAD_REQUEST,
                "Idempotency-Key header (1-128 visible ASCII characters) is required".into(),
            )
        })
}

async fn upload_rating(
    State(state): State<HubState>,
    headers: HeaderMap,
    body: String,
) -> Result<Response, ApiError> {
    let device = authorize(&state, &headers)?;
    let key = idempotency_key(&headers)?;
    let rating: Rating = serde_json::from_str(&body)
        .map_err(|e| ApiError(StatusCode::UNPROCESSABLE_ENTITY, format!("rating: {e}")))?;
    crate::daemon::protocol::check_rating(&rating)
        .map_err(|e| ApiError(StatusCode::UNPROCESSABLE_ENTITY, e))?;
    store(&state, "rating", &device, &key, &body)
}

async fn upload_heartbeat(
    State(state): State<HubState>,
    headers: HeaderMap,
    body: String,
) -> Result<Response, ApiError> {
    let device = authorize(&state, &headers)?;
    let key = idempotency_key(&headers)?;
    let v: serde_json::Value = serde_json::from_str(&body)
        .map_err(|e| ApiError(StatusCode::UNPROCESSABLE_ENTITY, format!("heartbeat: {e}")))?;
    if !v.is_object() {
        return Err(ApiError(
            StatusCode::UNPROCESSABLE_ENTITY,
            "heartbeat: expected a JSON object".into(),
        ));
    }
    store(&state, "heartbeat", &device, &key, &body)
}

fn store(
    state: &HubState,
    kind: &str,
    device: &str,
    key: &str,
    body: &str,
) -> Result<Response, ApiError> {
    let new = state
        .db()
        .store_upload(kind, device, key, body, chrono::Utc::now())?;
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(json(status, format!("{{\"stored\":{new}}}")))
}
