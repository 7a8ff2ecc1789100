//! Protocol v1's routes (axum), as documented in `docs/api/openapi.yaml`.
//!
//! Every `/v1` route except `/v1/health` needs a device's bearer token. Every error — bad
//! token, bad query, bad or oversized or non-UTF-8 body, unknown path, wrong method — is JSON
//! `{"error": …}` with the same short message in `X-Motcua-Error`. The catalog is sent gzip to
//! clients that accept it (weak ETag) and inflated for the others; the latest is cached in
//! memory. The queue long-poll ends as soon as there is an event after `after`, or a catalog
//! newer than the device's `catalog`, or `wait` runs out.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use super::anchors::{check_head, parse_head};
use super::server::{CachedCatalog, HubState};
use super::store::AnchorOutcome;
use super::{validate, Encoding, HubError, Publication};
use crate::record::RecordId;
use crate::sync::client::MAX_EVENTS_PER_BATCH;

pub use super::validate::MAX_WAIT_SECS;
/// Largest upload body accepted.
pub const MAX_UPLOAD_BYTES: usize = 16 * 1024;

pub fn router(state: HubState) -> Router {
    Router::new()
        .route("/v1/health", get(health))
        .route("/v1/catalog", get(catalog))
        .route("/v1/queue/events", get(queue_events))
        .route("/v1/records/{id}", get(record))
        .route("/v1/ratings", post(upload_rating))
        .route("/v1/heartbeats", post(upload_heartbeat))
        .route("/v1/anchors", get(anchors))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES))
        .with_state(state)
}

/// An API error: status, a short plain message in `X-Motcua-Error` and in the JSON body.
#[derive(Debug)]
pub struct ApiError(pub StatusCode, pub String);

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

async fn not_found() -> ApiError {
    ApiError(StatusCode::NOT_FOUND, "no such path".into())
}

async fn method_not_allowed() -> ApiError {
    ApiError(
        StatusCode::METHOD_NOT_ALLOWED,
        "method not allowed on this path".into(),
    )
}

pub(super) fn json(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// A request body as UTF-8 text, at most [`MAX_UPLOAD_BYTES`]; JSON errors otherwise.
pub struct TextBody(pub String);

impl<S: Send + Sync> FromRequest<S> for TextBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            let status = e.status();
            if status == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError(status, "the request body is over 16 KiB".into())
            } else {
                ApiError(status, format!("the request body: {}", e.body_text()))
            }
        })?;
        String::from_utf8(bytes.into()).map(TextBody).map_err(|_| {
            ApiError(
                StatusCode::BAD_REQUEST,
                "the request body is not UTF-8".into(),
            )
        })
    }
}

/// The device whose bearer token this is.
pub(super) async fn authorize(state: &HubState, headers: &HeaderMap) -> Result<String, ApiError> {
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
        .store()
        .device_for_token(token)
        .await?
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

/// The body of publication `p`: gzip when `gzip` is allowed and it is stored so, else
/// plain JSON. Returns the bytes and whether they are gzip.
async fn envelope(
    state: &HubState,
    p: &Publication,
    gzip: bool,
) -> Result<(Bytes, bool), ApiError> {
    let cached = state
        .inner
        .cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .filter(|c| c.version == p.version)
        .map(|c| (c.stored.clone(), c.identity.clone()));
    let (stored, identity) = match cached {
        Some(c) => c,
        None => {
            let stored = state
                .store()
                .envelope(p.version)
                .await?
                .map(Bytes::from)
                .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, "no catalog published".into()))?;
            *state.inner.cache.lock().unwrap_or_else(|e| e.into_inner()) = Some(CachedCatalog {
                version: p.version,
                stored: stored.clone(),
                identity: None,
            });
            (stored, None)
        }
    };
    match (p.encoding, gzip, identity) {
        (Encoding::Identity, _, _) => Ok((stored, false)),
        (Encoding::Gzip, true, _) => Ok((stored, true)),
        (Encoding::Gzip, false, Some(identity)) => Ok((identity, false)),
        (Encoding::Gzip, false, None) => {
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
            let mut cache = state.inner.cache.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(c) = cache.as_mut().filter(|c| c.version == p.version) {
                c.identity = Some(identity.clone());
            }
            Ok((identity, false))
        }
    }
}

async fn catalog(State(state): State<HubState>, headers: HeaderMap) -> Result<Response, ApiError> {
    authorize(&state, &headers).await?;
    let Some(p) = state.store().latest().await? else {
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
    let (body, gzip) = envelope(&state, &p, gzip).await?;
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

async fn queue_events(
    State(state): State<HubState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    authorize(&state, &headers).await?;
    let q = validate::events_query(query.as_deref())
        .map_err(|e| ApiError(StatusCode::BAD_REQUEST, e))?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(q.wait);
    let mut head = state.inner.head.subscribe();
    let mut catalog = state.inner.catalog.subscribe();
    let mut closing = state.inner.closing.subscribe();
    loop {
        let known_head = *head.borrow_and_update();
        let latest = *catalog.borrow_and_update();
        let newer_catalog = q.catalog.is_some_and(|held| latest > held);
        let ready = known_head > q.after || newer_catalog;
        if ready || tokio::time::Instant::now() >= deadline || *closing.borrow() {
            let cached = state
                .inner
                .answers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(known_head, latest, q.after);
            let body = match cached {
                Some(body) => body,
                None => {
                    let events = if known_head > q.after {
                        state
                            .store()
                            .events_after(q.after, MAX_EVENTS_PER_BATCH)
                            .await?
                    } else {
                        Vec::new()
                    };
                    let head = events.last().map_or(known_head, |e| e.seq.max(known_head));
                    let mut body = serde_json::json!({ "events": events, "head": head });
                    if latest > 0 {
                        body["catalog"] = latest.into();
                    }
                    let body = Bytes::from(body.to_string());
                    // Cache only an answer that matches the watched head exactly.
                    if head == known_head {
                        state
                            .inner
                            .answers
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .put(known_head, latest, q.after, body.clone());
                    }
                    body
                }
            };
            return Ok((
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                body,
            )
                .into_response());
        }
        tokio::select! {
            _ = head.changed() => {}
            _ = catalog.changed() => {}
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
    authorize(&state, &headers).await?;
    let not_found = || ApiError(StatusCode::NOT_FOUND, "no record with this ID".into());
    let id = match RecordId::parse(&id) {
        Ok(id) => id,
        // The spec's pattern allows some IDs no record can have (a 13th month): not found.
        Err(crate::record::RecordIdError::BadDate(_)) => return Err(not_found()),
        Err(e) => return Err(ApiError(StatusCode::BAD_REQUEST, e.to_string())),
    };
    match state.store().record(&id).await? {
        Some(s) => Ok(json(
            StatusCode::OK,
            serde_json::to_string(&s).unwrap_or_default(),
        )),
        None => Err(not_found()),
    }
}

pub(super) fn idempotency_key(headers: &HeaderMap) -> Result<String, ApiError> {
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

pub(super) fn unprocessable(e: String) -> ApiError {
    ApiError(StatusCode::UNPROCESSABLE_ENTITY, e)
}

async fn upload_rating(
    State(state): State<HubState>,
    headers: HeaderMap,
    TextBody(body): TextBody,
) -> Result<Response, ApiError> {
    let device = authorize(&state, &headers).await?;
    let key = idempotency_key(&headers)?;
    validate::rating(&body).map_err(unprocessable)?;
    store(
        &state,
        "rating",
        &device,
        &key,
        &body,
        "{\"stored\":true}".into(),
    )
    .await
}

async fn upload_heartbeat(
    State(state): State<HubState>,
    headers: HeaderMap,
    TextBody(body): TextBody,
) -> Result<Response, ApiError> {
    let device = authorize(&state, &headers).await?;
    let key = idempotency_key(&headers)?;
    let hb = validate::heartbeat(&body).map_err(unprocessable)?;
    if let Some(previous) = state
        .store()
        .upload_response("heartbeat", &device, &key)
        .await?
    {
        return Ok(json(StatusCode::OK, stored_false(&previous)));
    }
    let mut response = serde_json::json!({ "stored": true });
    // A footage head the hub cannot anchor never costs the heartbeat: the device's health
    // and last-seen time are kept, the reason comes back as `anchor_refused` (and conflicts
    // are recorded for the fleet page). Refusing the whole heartbeat would leave the device
    // "silent" and hold its outbox behind a heartbeat it re-sends with the same head.
    if let Some(head) = hb.get("footage_head") {
        match anchor_head(&state, &device, &hb, head).await? {
            Ok(receipt) => response["receipt"] = receipt,
            Err(reason) => {
                tracing::warn!(%device, %reason, "footage head not anchored");
                response["anchor_refused"] = reason.into();
            }
        }
    }
    store(
        &state,
        "heartbeat",
        &device,
        &key,
        &body,
        response.to_string(),
    )
    .await
}

/// Anchor a heartbeat's footage head: the receipt, or why it was not anchored.
async fn anchor_head(
    state: &HubState,
    device: &str,
    hb: &serde_json::Map<String, serde_json::Value>,
    head: &serde_json::Value,
) -> Result<Result<serde_json::Value, String>, ApiError> {
    // A head that breaks the schema makes the heartbeat invalid, like any other field.
    parse_head(head).map_err(unprocessable)?;
    let named = hb.get("device").and_then(|d| d.as_str()).unwrap_or("");
    if named != device {
        return Ok(Err(format!(
            "footage_head: the heartbeat's device {named:?} is not this token's device \
             {device:?}; set [device] name = {device:?} on the device"
        )));
    }
    let head = match check_head(device, head) {
        Ok(h) => h,
        Err(reason) => return Ok(Err(reason)),
    };
    let Some(key) = state.inner.key.as_ref() else {
        return Ok(Err(
            "footage_head: this hub has no signing key to sign receipts".into(),
        ));
    };
    Ok(
        match state
            .store()
            .anchor(device, &head, key, chrono::Utc::now())
            .await?
        {
            AnchorOutcome::New(r) | AnchorOutcome::Repeat(r) => {
                Ok(serde_json::to_value(r).unwrap_or_default())
            }
            AnchorOutcome::Conflict(reason) => Err(reason),
        },
    )
}

/// The stored response of an earlier upload, marked as a repeat.
fn stored_false(previous: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(previous) {
        Ok(mut v) if v.is_object() => {
            v["stored"] = false.into();
            v.to_string()
        }
        _ => "{\"stored\":false}".into(),
    }
}

async fn store(
    state: &HubState,
    kind: &str,
    device: &str,
    key: &str,
    body: &str,
    response: String,
) -> Result<Response, ApiError> {
    let new = state
        .store()
        .store_upload(kind, device, key, body, &response, chrono::Utc::now())
        .await?;
    if new {
        return Ok(json(StatusCode::CREATED, response));
    }
    let previous = state
        .store()
        .upload_response(kind, device, key)
        .await?
        .unwrap_or_default();
    Ok(json(StatusCode::OK, stored_false(&previous)))
}

async fn anchors(State(state): State<HubState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let device = authorize(&state, &headers).await?;
    let list = state.store().anchors(Some(&device)).await?;
    Ok(json(
        StatusCode::OK,
        serde_json::json!({ "anchors": list }).to_string(),
    ))
}
