//! The review UI's HTTP server: the accept loop (TLS via tokio-rustls, or plain on loopback),
//! the router, and the security headers every response carries.
//!
//! Owns connections and routing only; handlers live in `routes_*`. Never serves plain HTTP on
//! a non-loopback address (`tls::Endpoint` refuses to build one).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use super::web::ConnInfo;
use super::{routes_admin, routes_auth, routes_footage, Endpoint, ReviewError, ReviewState};

/// Content-Security-Policy of every page: nothing but this origin, no inline script or style,
/// no framing, forms only to this origin.
pub const CSP: &str = "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'none'; \
     frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(15);
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Bind the endpoint's address.
pub async fn bind(ep: &Endpoint) -> Result<TcpListener, ReviewError> {
    TcpListener::bind(ep.addr)
        .await
        .map_err(|source| ReviewError::Listen {
            addr: ep.addr,
            source,
        })
}

/// The routes.
pub fn router(state: Arc<ReviewState>) -> Router {
    Router::new()
        .route("/", get(routes_auth::home))
        .route(
            "/login",
            get(routes_auth::login_form).post(routes_auth::login),
        )
        .route("/logout", post(routes_auth::logout))
        .route("/static/style.css", get(routes_admin::stylesheet))
        .route("/search", get(routes_footage::search))
        .route("/case/{record}", get(routes_footage::case))
        .route("/case/{record}/export", post(routes_footage::export))
        .route("/snapshot/{id}", get(routes_footage::snapshot))
        .route("/snapshot/{id}/image", get(routes_footage::image))
        .route("/snapshot/{id}/thumb", get(routes_footage::thumbnail))
        .route(
            "/counter/{counter}/day/{day}",
            get(routes_footage::timeline),
        )
        .route("/audit", get(routes_admin::audit))
        .route("/health", get(routes_admin::health))
        .route("/config", get(routes_admin::config))
        .fallback(routes_admin::not_found)
        .layer(middleware::from_fn(super::web::remember_lang))
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

async fn security_headers(req: Request, next: Next) -> Response {
    let static_asset = req.uri().path().starts_with("/static/");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    // Footage, its pages and the audit log must never sit in a browser or proxy cache.
    let cache = if static_asset {
        "private, max-age=3600"
    } else {
        "no-store"
    };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    res
}

/// Serve the review UI on `listener` until `shutdown` resolves, then let open requests finish
/// (at most 5 s). `tls` is the endpoint's config; `None` only for a loopback listener.
///
/// This is what the daemon spawns as its review task:
/// `tokio::spawn(review::serve(listener, endpoint.tls, state, async move { sd.recv().await }))`.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    state: Arc<ReviewState>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ReviewError> {
    let local = listener.local_addr().ok();
    if tls.is_none() && !local.is_some_and(|a| a.ip().is_loopback()) {
        return Err(super::TlsError::PlainOnLan(
            local.unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0))),
        )
        .into());
    }
    let app = router(state);
    let acceptor = tls.map(TlsAcceptor::from);
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut conns = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    tracing::info!(addr = ?local, tls = acceptor.is_some(), "review UI listening");
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            accepted = listener.accept() => {
                let (tcp, remote) = match accepted {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::warn!(%e, "review UI: accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let app = app.clone();
                let acceptor = acceptor.clone();
                let stop = stop_rx.clone();
                conns.spawn(async move {
                    let info = ConnInfo { remote, tls: acceptor.is_some() };
                    match acceptor {
                        Some(acc) => {
                            match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acc.accept(tcp)).await {
                                Ok(Ok(stream)) => connection(TokioIo::new(stream), app, info, stop).await,
                                Ok(Err(e)) => tracing::debug!(%remote, %e, "TLS handshake failed"),
                                Err(_) => tracing::debug!(%remote, "TLS handshake timed out"),
                            }
                        }
                        None => connection(TokioIo::new(tcp), app, info, stop).await,
                    }
                });
            }
        }
    }
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while conns.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        conns.abort_all();
    }
    Ok(())
}

async fn connection<I>(io: I, app: Router, info: ConnInfo, mut stop: watch::Receiver<bool>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let svc = hyper::service::service_fn(move |mut req: Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(info);
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
        r = conn.as_mut() => { if let Err(e) = r { tracing::debug!(%e, "review UI connection"); } }
        _ = async { let _ = stop.wait_for(|s| *s).await; } => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}
