//! The ticket routes: `POST /v1/tickets` (issue one, device token + `Idempotency-Key`),
//! `POST /v1/tickets/leases` (a block of numbers for offline issuing),
//! `POST /v1/tickets/leases/{id}/report` (the numbers issued offline, and the rest given back),
//! and the public follow page `GET /t/{token}` (no login; number, counter, how many ahead —
//! nothing about the citizen). Numbering is `hub::tickets`; the rows are the store's.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::{html, DOCTYPE};

use super::api::{authorize, idempotency_key, json, unprocessable, ApiError, TextBody};
use super::server::{raise, HubState};
use super::tickets::{parse_report, IssueOutcome, IssueRequest, LeaseRequest, Ticket};

/// How often the follow page reloads itself.
pub const FOLLOW_REFRESH_SECS: u32 = 20;
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'";

pub fn router(state: HubState) -> Router {
    Router::new()
        .route("/v1/tickets", post(issue))
        .route("/v1/tickets/leases", post(lease))
        .route("/v1/tickets/leases/{id}/report", post(report))
        .route("/t/{token}", get(follow_page))
        .with_state(state)
}

fn wake(state: &HubState, tickets: &[Ticket]) {
    if let Some(seq) = tickets.iter().map(|t| t.seq).max() {
        raise(&state.inner.head, seq);
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

async fn issue(
    State(state): State<HubState>,
    headers: HeaderMap,
    TextBody(body): TextBody,
) -> Result<Response, ApiError> {
    let device = authorize(&state, &headers).await?;
    let key = idempotency_key(&headers)?;
    let req = IssueRequest::parse(&body).map_err(unprocessable)?;
    let outcome = state
        .store()
        .issue_ticket(
            &device,
            &key,
            &req,
            state.ticket_rules(),
            chrono::Utc::now(),
        )
        .await?;
    match outcome {
        IssueOutcome::New(t) => {
            wake(&state, std::slice::from_ref(&t));
            Ok(json(StatusCode::CREATED, to_json(&t)))
        }
        IssueOutcome::Repeat(t) => Ok(json(StatusCode::OK, to_json(&t))),
        IssueOutcome::Conflict(reason) => Err(ApiError(StatusCode::CONFLICT, reason)),
    }
}

async fn lease(
    State(state): State<HubState>,
    headers: HeaderMap,
    TextBody(body): TextBody,
) -> Result<Response, ApiError> {
    let device = authorize(&state, &headers).await?;
    let key = idempotency_key(&headers)?;
    let req = LeaseRequest::parse(&body).map_err(unprocessable)?;
    match state
        .store()
        .lease_tickets(
            &device,
            &key,
            &req,
            state.ticket_rules(),
            chrono::Utc::now(),
        )
        .await?
    {
        Ok(lease) => Ok(json(StatusCode::CREATED, to_json(&lease))),
        Err(reason) => Err(ApiError(StatusCode::CONFLICT, reason)),
    }
}

async fn report(
    State(state): State<HubState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    TextBody(body): TextBody,
) -> Result<Response, ApiError> {
    let device = authorize(&state, &headers).await?;
    let no_lease = || {
        ApiError(
            StatusCode::NOT_FOUND,
            format!("lease {id}: no such lease for this device"),
        )
    };
    let id: u64 = id.parse().map_err(|_| no_lease())?;
    let (issued, close) = parse_report(&body).map_err(unprocessable)?;
    match state
        .store()
        .report_lease(&device, id, &issued, close)
        .await?
    {
        Ok(outcome) => {
            wake(&state, &outcome.accepted);
            Ok(json(StatusCode::OK, to_json(&outcome)))
        }
        Err(reason) if reason.ends_with("no such lease for this device") => Err(no_lease()),
        Err(reason) => Err(ApiError(StatusCode::CONFLICT, reason)),
    }
}

/// `GET /t/{token}`: the public follow page. Anything but a known token is the same 404.
async fn follow_page(State(state): State<HubState>, Path(token): Path<String>) -> Response {
    let page = |status: StatusCode, body: maud::Markup| {
        (
            status,
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CONTENT_SECURITY_POLICY, CSP),
                (header::CACHE_CONTROL, "no-store"),
                (header::REFERRER_POLICY, "no-referrer"),
            ],
            body.into_string(),
        )
            .into_response()
    };
    let found = if token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit()) {
        state.store().follow(&token).await
    } else {
        Ok(None)
    };
    let f = match found {
        Ok(Some(f)) => f,
        Ok(None) => {
            return page(
                StatusCode::NOT_FOUND,
                shell(
                    html! { h1 { "Không tìm thấy số" } p { "Liên kết này không đúng." } },
                    false,
                ),
            )
        }
        Err(e) => {
            tracing::error!("hub: follow page: {e}");
            return page(
                StatusCode::INTERNAL_SERVER_ERROR,
                shell(
                    html! { h1 { "Lỗi máy chủ" } p { "Vui lòng thử lại sau." } },
                    false,
                ),
            );
        }
    };
    let today = state.ticket_rules().day(chrono::Utc::now()).0;
    let status = if f.day != today {
        html! { p #status { "Số này thuộc ngày " (f.day) " và đã hết hạn." } }
    } else if f.called {
        html! { p #status { "Đã đến lượt bạn: mời đến quầy " (f.counter) "." } }
    } else {
        html! { p #status { "Còn " strong #ahead { (f.ahead) } " người trước bạn." } }
    };
    let live = f.day == today && !f.called;
    page(
        StatusCode::OK,
        shell(
            html! {
                p { "Số của bạn" }
                h1 #number { (f.ticket) }
                p #counter { "Quầy " (f.counter) }
                (status)
                @if live { p .small { "Trang tự cập nhật mỗi " (FOLLOW_REFRESH_SECS) " giây." } }
            },
            live,
        ),
    )
}

fn shell(body: maud::Markup, refresh: bool) -> maud::Markup {
    html! {
        (DOCTYPE)
        html lang="vi" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                @if refresh { meta http-equiv="refresh" content=(FOLLOW_REFRESH_SECS); }
                title { "Theo dõi số thứ tự" }
                style { "body{font-family:sans-serif;text-align:center;margin:2em}h1{font-size:4em;margin:.2em}.small{color:#666;font-size:.8em}" }
            }
            body { (body) }
        }
    }
}
