//! Login, logout and the home redirect. Login is CSRF-protected by a pre-login cookie,
//! throttled per account and per source address (`auth::Throttle`) before any password is
//! checked, and verified with Argon2id on a blocking thread.
//!
//! Exact behaviour (tested): a wrong password → 401 and the form again; the failure that
//! reaches the limit, and every attempt while locked (even with the right password) → 429 with
//! `Retry-After`; success → 303 to `/` with a fresh session cookie. Never reveals whether an
//! account exists.

use std::time::{Duration, Instant};

use axum::extract::{Form, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::accounts::Role;
use super::audit::{self, Action, AuditEvent};
use super::auth::verify_password;
use super::pages::{login as page, Lang};
use super::session::{self, clear_cookie, prelogin_cookie_name, random_token, set_cookie};
use super::web::{blocking, conn_info, session_token, Shared, Viewer, WebError};

/// How long the login form stays valid.
const PRELOGIN_TTL: Duration = Duration::from_secs(1800);

pub async fn home(State(st): State<Shared>, mut parts: Parts) -> Response {
    match Viewer::from_request_parts(&mut parts, &st).await {
        Ok(v) if v.session.role == Role::Supervisor => Redirect::to("/search").into_response(),
        Ok(_) => Redirect::to("/health").into_response(),
        Err(_) => Redirect::to("/login").into_response(),
    }
}

fn with_cookie(mut res: Response, cookie: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

fn prelogin(parts: &Parts, tls: bool) -> Option<String> {
    let h = parts.headers.get(header::COOKIE)?.to_str().ok()?;
    session::cookie(h, prelogin_cookie_name(tls)).map(str::to_owned)
}

pub async fn login_form(State(st): State<Shared>, mut parts: Parts) -> Response {
    if Viewer::from_request_parts(&mut parts, &st).await.is_ok() {
        return Redirect::to("/").into_response();
    }
    let tls = conn_info(&parts).tls;
    let lang = Lang::from_parts(&parts);
    let token = random_token();
    let res = page::login(lang, &token, "", None).into_response();
    with_cookie(
        res,
        &set_cookie(prelogin_cookie_name(tls), &token, PRELOGIN_TTL, tls),
    )
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    csrf: Option<String>,
}

pub async fn login(
    State(st): State<Shared>,
    parts: Parts,
    Form(f): Form<LoginForm>,
) -> Result<Response, WebError> {
    let conn = conn_info(&parts);
    let lang = Lang::from_parts(&parts);
    let expected = prelogin(&parts, conn.tls).unwrap_or_default();
    super::csrf::check(&expected, f.csrf.as_deref()).map_err(WebError::Csrf)?;
    let user = f.username.trim().to_lowercase();
    let ip = conn.remote.ip();
    st.throttle
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .check(&user, ip, Instant::now())
        .map_err(|d| {
            tracing::warn!(%ip, "review login refused: locked");
            WebError::Locked(d)
        })?;
    let st2 = st.clone();
    let user2 = user.clone();
    let found = blocking(move || {
        let creds = st2
            .accounts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .credentials(&user2)?;
        let ok = verify_password(&f.password, creds.as_ref().map(|c| c.1.as_str()));
        Ok(creds.filter(|_| ok).map(|c| c.0))
    })
    .await?;
    let from = ip.to_string();
    let now = st.clocks.now_ms();
    let Some(role) = found else {
        let lock = st
            .throttle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .failure(&user, ip, Instant::now());
        let ev = AuditEvent {
            action: Action::LoginFailed,
            user: &user,
            role: None,
            from: &from,
            record_id: None,
            snapshot: None,
            counter: None,
            detail: lock
                .map(|d| format!("locked {} s", d.as_secs()))
                .unwrap_or_default(),
        };
        audit::append(
            &mut st.footage.lock().unwrap_or_else(|p| p.into_inner()),
            &ev,
            now,
        )?;
        if let Some(d) = lock {
            return Err(WebError::Locked(d));
        }
        let msg = lang.t(
            "Sai tên đăng nhập hoặc mật khẩu.",
            "Wrong user name or password.",
        );
        return Ok((
            StatusCode::UNAUTHORIZED,
            page::login(lang, &expected, &user, Some(msg)),
        )
            .into_response());
    };
    st.throttle
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .success(&user, ip);
    let (token, _s) = st
        .accounts
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .create_session(&user, role, now, st.cfg.session_lifetime(), &from)?;
    let ev = AuditEvent {
        action: Action::Login,
        user: &user,
        role: Some(role),
        from: &from,
        record_id: None,
        snapshot: None,
        counter: None,
        detail: String::new(),
    };
    audit::append(
        &mut st.footage.lock().unwrap_or_else(|p| p.into_inner()),
        &ev,
        now,
    )?;
    let res = Redirect::to("/").into_response();
    let res = with_cookie(
        res,
        &set_cookie(
            session::session_cookie_name(conn.tls),
            &token,
            st.cfg.session_lifetime(),
            conn.tls,
        ),
    );
    Ok(with_cookie(
        res,
        &clear_cookie(prelogin_cookie_name(conn.tls), conn.tls),
    ))
}

#[derive(Debug, Deserialize)]
pub struct LogoutForm {
    csrf: Option<String>,
}

pub async fn logout(
    State(st): State<Shared>,
    mut parts: Parts,
    Form(f): Form<LogoutForm>,
) -> Result<Response, WebError> {
    let v = Viewer::from_request_parts(&mut parts, &st).await?;
    super::csrf::check(&v.session.csrf, f.csrf.as_deref()).map_err(WebError::Csrf)?;
    if let Some(token) = session_token(&parts, v.conn.tls) {
        st.accounts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .end_session(&token)?;
    }
    let from = v.source_ip();
    let ev = AuditEvent {
        action: Action::Logout,
        user: &v.session.user,
        role: Some(v.session.role),
        from: &from,
        record_id: None,
        snapshot: None,
        counter: None,
        detail: String::new(),
    };
    audit::append(
        &mut st.footage.lock().unwrap_or_else(|p| p.into_inner()),
        &ev,
        st.clocks.now_ms(),
    )?;
    let res = Redirect::to("/login").into_response();
    Ok(with_cookie(
        res,
        &clear_cookie(session::session_cookie_name(v.conn.tls), v.conn.tls),
    ))
}
