//! What every handler shares: the `Viewer`/`Supervisor` extractors (session cookie → account,
//! role check), the UI language, the error type with its exact status codes, and running
//! blocking work (SQLite, file hashing, Argon2) off the async threads.
//!
//! Decides who may see a page; never renders footage itself.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::accounts::Role;
use super::pages::{self, Lang};
use super::session::{self, Session};
use super::ReviewState;

/// Per-connection facts the handlers read (source address, whether TLS is on).
#[derive(Debug, Clone, Copy)]
pub struct ConnInfo {
    pub remote: SocketAddr,
    pub tls: bool,
}

pub type Shared = Arc<ReviewState>;

/// A refusal or failure, with the status code the tests pin down.
#[derive(Debug)]
pub enum WebError {
    /// 401: no valid session (the page links to the login form).
    Unauthenticated,
    /// 403: logged in, but the role may not see this (a technician asking for footage).
    Forbidden,
    /// 403: a POST without the right CSRF token.
    Csrf(super::csrf::CsrfError),
    /// 400: a malformed record ID, counter, date or id.
    BadRequest(String),
    /// 404
    NotFound,
    /// 429 with `Retry-After`: login locked.
    Locked(Duration),
    /// 500: logged; the page only says something went wrong.
    Internal(String),
}

macro_rules! internal_from {
    ($($t:ty),*) => {$(
        impl From<$t> for WebError {
            fn from(e: $t) -> WebError {
                WebError::Internal(e.to_string())
            }
        }
    )*};
}
internal_from!(
    super::accounts::AccountError,
    crate::recorder::footage::FootageError,
    crate::recorder::export::ExportError,
    rusqlite::Error,
    std::io::Error
);

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, vi, en) = match &self {
            WebError::Unauthenticated => (
                StatusCode::UNAUTHORIZED,
                "Bạn cần đăng nhập (hoặc phiên đã hết hạn).".to_owned(),
                "Please log in (or your session has expired).".to_owned(),
            ),
            WebError::Forbidden => (
                StatusCode::FORBIDDEN,
                "Tài khoản của bạn không được xem trang này.".to_owned(),
                "Your account may not see this page.".to_owned(),
            ),
            WebError::Csrf(e) => (
                StatusCode::FORBIDDEN,
                "Biểu mẫu không hợp lệ hoặc đã cũ; hãy tải lại trang và thử lại.".to_owned(),
                format!("The form is invalid or stale ({e}); reload the page and try again."),
            ),
            WebError::BadRequest(m) => (
                StatusCode::BAD_REQUEST,
                format!("Yêu cầu không hợp lệ: {m}"),
                format!("Bad request: {m}"),
            ),
            WebError::NotFound => (
                StatusCode::NOT_FOUND,
                "Không tìm thấy.".to_owned(),
                "Not found.".to_owned(),
            ),
            WebError::Locked(d) => (
                StatusCode::TOO_MANY_REQUESTS,
                format!("Tạm khóa đăng nhập; thử lại sau {} giây.", secs(*d)),
                format!("Login temporarily locked; try again in {} s.", secs(*d)),
            ),
            WebError::Internal(m) => {
                tracing::error!(error = %m, "review UI request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Có lỗi trong thiết bị; xem nhật ký của dịch vụ.".to_owned(),
                    "The device hit an error; see the service log.".to_owned(),
                )
            }
        };
        let mut res = (status, pages::error_page(status.as_u16(), &vi, &en)).into_response();
        if let WebError::Locked(d) = self {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs(d)));
        }
        res
    }
}

/// Whole seconds, rounded up, at least 1.
pub fn secs(d: Duration) -> u64 {
    d.as_millis().div_ceil(1000).max(1) as u64
}

/// A logged-in account of any role.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub session: Session,
    pub conn: ConnInfo,
    pub lang: Lang,
}

impl Viewer {
    pub fn source_ip(&self) -> String {
        self.conn.remote.ip().to_string()
    }
}

/// A logged-in supervisor (everyone else: 401 or 403).
#[derive(Debug, Clone)]
pub struct Supervisor(pub Viewer);

pub fn conn_info(parts: &Parts) -> ConnInfo {
    parts
        .extensions
        .get::<ConnInfo>()
        .copied()
        .unwrap_or(ConnInfo {
            remote: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls: false,
        })
}

/// The session token from the request's cookie, if any.
pub fn session_token(parts: &Parts, tls: bool) -> Option<String> {
    let h = parts.headers.get(header::COOKIE)?.to_str().ok()?;
    session::cookie(h, session::session_cookie_name(tls)).map(str::to_owned)
}

impl FromRequestParts<Shared> for Viewer {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, st: &Shared) -> Result<Viewer, WebError> {
        let conn = conn_info(parts);
        let lang = Lang::from_parts(parts);
        let token = session_token(parts, conn.tls).ok_or(WebError::Unauthenticated)?;
        let now = st.clocks.now_ms();
        let session = st
            .accounts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .session(&token, now, st.cfg.idle_timeout())?
            .ok_or(WebError::Unauthenticated)?;
        Ok(Viewer {
            session,
            conn,
            lang,
        })
    }
}

impl FromRequestParts<Shared> for Supervisor {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, st: &Shared) -> Result<Supervisor, WebError> {
        let v = Viewer::from_request_parts(parts, st).await?;
        if v.session.role != Role::Supervisor {
            return Err(WebError::Forbidden);
        }
        Ok(Supervisor(v))
    }
}

impl FromRequestParts<Shared> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &Shared) -> Result<Lang, Self::Rejection> {
        Ok(Lang::from_parts(parts))
    }
}

/// `?lang=en|vi` also sets a `motcua_lang` cookie so the choice sticks across pages.
pub async fn remember_lang(req: Request, next: Next) -> Response {
    let asked = req
        .uri()
        .query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("lang=")))
        .and_then(Lang::parse);
    let tls = req.extensions().get::<ConnInfo>().is_some_and(|c| c.tls);
    let mut res = next.run(req).await;
    if let Some(l) = asked {
        let c = session::set_cookie(
            "motcua_lang",
            l.code(),
            Duration::from_secs(365 * 86_400),
            tls,
        );
        if let Ok(v) = HeaderValue::from_str(&c) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    res
}

/// Run blocking work (SQLite, hashing files, Argon2) on the blocking pool.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, WebError> + Send + 'static,
) -> Result<T, WebError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| WebError::Internal(format!("worker failed: {e}")))?
}
