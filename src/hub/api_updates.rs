//! Protocol v1's update routes (docs/updates.md, `docs/api/openapi.yaml`):
//! `GET /v1/update` answers which release a device should run on its channel (204: none, or
//! the one it runs), and `GET /v1/update/bundles/{sha256}` serves a bundle with single-range
//! `Range` support, so a cut download resumes. Both need the device's bearer token. Which
//! release a device gets is `hub::updates::choose`; this file only speaks HTTP.

use std::io::{Read, Seek, SeekFrom};

use axum::body::Bytes;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::api::{authorize, json, ApiError};
use super::server::HubState;
use super::updates::{self, check_label};

/// Bytes read from the file per body chunk.
const CHUNK: u64 = 64 * 1024;

pub fn router(state: HubState) -> Router {
    Router::new()
        .route("/v1/update", get(update))
        .route("/v1/update/bundles/{sha256}", get(bundle))
        .with_state(state)
}

/// `?channel=…&current=…[&want=…]`, validated.
#[derive(Debug, PartialEq, Eq)]
struct UpdateQuery {
    channel: String,
    current: Option<String>,
    want: Option<String>,
}

fn update_query(query: Option<&str>) -> Result<UpdateQuery, String> {
    let mut q = UpdateQuery {
        channel: String::new(),
        current: None,
        want: None,
    };
    for (name, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        let label = |what: &str| {
            check_label(&value, &format!("query parameter {what}:"))
                .map(|_| value.to_string())
                .map_err(|e| e.to_string())
        };
        match &*name {
            "channel" => q.channel = label("channel")?,
            "current" => q.current = Some(label("current")?),
            "want" => q.want = Some(label("want")?),
            _ => {}
        }
    }
    if q.channel.is_empty() {
        return Err("query parameter channel is required (e.g. channel=stable)".into());
    }
    Ok(q)
}

async fn update(
    State(state): State<HubState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let device = authorize(&state, &headers).await?;
    let q = update_query(query.as_deref()).map_err(|e| ApiError(StatusCode::BAD_REQUEST, e))?;
    let releases = state.store().updates().await?;
    let chosen = updates::choose(&releases, &q.channel, &device, q.want.as_deref());
    match chosen {
        Some(r) if q.current.as_deref() != Some(r.version.as_str()) => Ok(json(
            StatusCode::OK,
            serde_json::json!({
                "id": r.id,
                "channel": r.channel,
                "version": r.version,
                "size": r.size,
                "sha256": r.sha256,
                "url": format!("/v1/update/bundles/{}", r.sha256),
            })
            .to_string(),
        )),
        _ => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}

/// What a `Range` header asks of a `size`-byte file.
#[derive(Debug, PartialEq, Eq)]
enum Wanted {
    /// No usable single range: the whole file (RFC 9110 §14.2 lets a server ignore it).
    Whole,
    /// Bytes `start..=end`.
    Part(u64, u64),
    /// A range past the end: ignored too (the whole file), see [`bundle`].
    Unsatisfiable,
}

fn wanted(headers: &HeaderMap, size: u64) -> Wanted {
    let Some(spec) = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().strip_prefix("bytes="))
    else {
        return Wanted::Whole;
    };
    if spec.contains(',') {
        return Wanted::Whole;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return Wanted::Whole;
    };
    let num = |s: &str| {
        s.trim()
            .parse::<u64>()
            .ok()
            .filter(|_| !s.trim().is_empty())
    };
    match (num(a), num(b)) {
        (Some(start), _) if start >= size => Wanted::Unsatisfiable,
        (Some(start), None) if b.trim().is_empty() => Wanted::Part(start, size - 1),
        (Some(start), Some(end)) if start <= end => Wanted::Part(start, end.min(size - 1)),
        (None, Some(0)) if a.trim().is_empty() => Wanted::Unsatisfiable,
        (None, Some(n)) if a.trim().is_empty() && size > 0 => {
            Wanted::Part(size.saturating_sub(n), size - 1)
        }
        _ => Wanted::Whole,
    }
}

async fn bundle(
    State(state): State<HubState>,
    headers: HeaderMap,
    Path(sha256): Path<String>,
) -> Result<Response, ApiError> {
    authorize(&state, &headers).await?;
    let not_found = || ApiError(StatusCode::NOT_FOUND, "no such bundle".into());
    if !updates::is_sha256(&sha256) {
        return Err(not_found());
    }
    let releases = state.store().updates().await?;
    if !releases.iter().any(|r| r.sha256 == sha256) {
        return Err(not_found());
    }
    let Some(store) = state.inner.bundles.as_ref() else {
        return Err(not_found());
    };
    let path = store.path(&sha256);
    let opened = tokio::task::spawn_blocking(move || {
        let f = std::fs::File::open(&path).map_err(|e| (path.clone(), e))?;
        let size = f.metadata().map_err(|e| (path.clone(), e))?.len();
        Ok::<_, (std::path::PathBuf, std::io::Error)>((f, size))
    })
    .await
    .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let (mut file, size) = match opened {
        Ok(x) => x,
        Err((path, e)) => {
            tracing::error!(
                "hub: bundle {} is published but unreadable: {e}",
                path.display()
            );
            return Err(not_found());
        }
    };
    let etag = HeaderValue::from_str(&format!("\"{sha256}\"")).expect("hex is a header value");
    let (status, start, len) = match wanted(&headers, size) {
        Wanted::Whole => (StatusCode::OK, 0, size),
        Wanted::Part(s, e) => (StatusCode::PARTIAL_CONTENT, s, e - s + 1),
        // A range past the end is ignored like any unusable one (RFC 9110 §14.2 allows it;
        // a device resuming from a `.part` at or past the size starts over on a 200).
        Wanted::Unsatisfiable => (StatusCode::OK, 0, size),
    };
    file.seek(SeekFrom::Start(start))
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    // std::fs in blocking tasks, one chunk at a time (tokio's `fs` feature is not built).
    let stream = futures_util::stream::unfold((Some(file), len), |(file, left)| async move {
        let mut file = file?;
        if left == 0 {
            return None;
        }
        let chunk = left.min(CHUNK);
        let read = tokio::task::spawn_blocking(move || {
            let mut buf = vec![0u8; chunk as usize];
            let r = file.read_exact(&mut buf).map(|_| buf);
            (file, r)
        })
        .await;
        match read {
            Ok((file, Ok(buf))) => Some((Ok(Bytes::from(buf)), (Some(file), left - chunk))),
            Ok((_, Err(e))) => Some((Err(e), (None, 0))),
            Err(e) => Some((Err(std::io::Error::other(e)), (None, 0))),
        }
    });
    let mut resp = (status, Body::from_stream(stream)).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::ETAG, etag);
    if status == StatusCode::PARTIAL_CONTENT {
        let range = format!("bytes {start}-{}/{size}", start + len - 1);
        h.insert(
            header::CONTENT_RANGE,
            HeaderValue::from_str(&range).expect("ascii"),
        );
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(v: &str, size: u64) -> Wanted {
        let mut h = HeaderMap::new();
        h.insert(header::RANGE, HeaderValue::from_str(v).unwrap());
        wanted(&h, size)
    }

    #[test]
    fn ranges() {
        assert_eq!(wanted(&HeaderMap::new(), 10), Wanted::Whole);
        assert_eq!(range("bytes=4-", 10), Wanted::Part(4, 9));
        assert_eq!(range("bytes=2-5", 10), Wanted::Part(2, 5));
        assert_eq!(range("bytes=2-50", 10), Wanted::Part(2, 9));
        assert_eq!(range("bytes=-3", 10), Wanted::Part(7, 9));
        assert_eq!(range("bytes=-30", 10), Wanted::Part(0, 9));
        assert_eq!(range("bytes=10-", 10), Wanted::Unsatisfiable);
        assert_eq!(range("bytes=-0", 10), Wanted::Unsatisfiable);
        assert_eq!(range("bytes=5-2", 10), Wanted::Whole);
        assert_eq!(range("bytes=0-1,4-5", 10), Wanted::Whole);
        assert_eq!(range("items=0-1", 10), Wanted::Whole);
        assert_eq!(range("bytes=x-", 10), Wanted::Whole);
    }

    #[test]
    fn queries() {
        let q = update_query(Some("channel=stable&current=1.0&want=0.9")).unwrap();
        assert_eq!(
            q,
            UpdateQuery {
                channel: "stable".into(),
                current: Some("1.0".into()),
                want: Some("0.9".into())
            }
        );
        assert_eq!(
            update_query(Some("current=1")).unwrap_err(),
            "query parameter channel is required (e.g. channel=stable)"
        );
        assert!(update_query(Some("channel=a/b")).is_err());
    }
}
