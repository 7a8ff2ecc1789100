//! The fleet page for the province's IT (`GET /fleet`, an admin account): every device with
//! its center, last heartbeat, health, catalog and software versions and last anchored
//! footage head; devices silent for more than [`SILENT_AFTER`] are flagged. Search (`q`) and
//! sorting (`sort`, `dir`) happen on the server, so the page needs no script.
//!
//! Admins log in with HTTP Basic over the hub's HTTPS (`motcua hub admin add NAME`); the
//! Argon2id check runs on a blocking thread and a success is remembered for
//! [`LOGIN_CACHE`], so a page refresh does not cost a hash each time.

use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use maud::{html, Markup, DOCTYPE};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::api::ApiError;
use super::server::HubState;
use super::store::{hex, FleetRow};

/// A device with no heartbeat for this long is flagged silent.
pub const SILENT_AFTER: chrono::Duration = chrono::Duration::minutes(10);
/// How long a verified admin login is remembered.
pub const LOGIN_CACHE: Duration = Duration::from_secs(600);
/// Admin password checks that may run at once (each Argon2id check takes 19 MiB).
pub const CONCURRENT_LOGIN_CHECKS: usize = 2;
/// How long a login waits for a free check before it is answered 429.
pub const LOGIN_QUEUE_WAIT: Duration = Duration::from_secs(5);

const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'";

pub fn router(state: HubState) -> Router {
    Router::new().route("/fleet", get(page)).with_state(state)
}

#[derive(Debug, Deserialize, Default)]
pub struct FleetQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    sort: Option<String>,
    #[serde(default)]
    dir: Option<String>,
}

/// The admin this request is from (HTTP Basic), or a 401 that asks for a login.
async fn admin(state: &HubState, headers: &HeaderMap) -> Result<String, Response> {
    let ask = |msg: &str| {
        let mut r = ApiError(StatusCode::UNAUTHORIZED, msg.into()).into_response();
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"motcua hub\", charset=\"UTF-8\""),
        );
        r
    };
    let creds = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| ask("an admin login is required (motcua hub admin add NAME)"))?;
    let (name, password) = creds
        .split_once(':')
        .ok_or_else(|| ask("malformed Basic credentials"))?;
    let remembered = hex(&Sha256::digest(creds.as_bytes()));
    {
        let mut cache = state.inner.admins.lock().unwrap_or_else(|e| e.into_inner());
        cache.retain(|_, at| at.elapsed() < LOGIN_CACHE);
        if cache.contains_key(&remembered) {
            return Ok(name.to_owned());
        }
    }
    let phc = state
        .store()
        .admin_hash(name)
        .await
        .map_err(|e| ApiError::from(e).into_response())?;
    // A bounded number of checks at a time; a flood waits briefly, then is told to retry.
    let _permit = match tokio::time::timeout(LOGIN_QUEUE_WAIT, state.inner.login_checks.acquire())
        .await
    {
        Ok(Ok(p)) => p,
        _ => {
            return Err(ApiError(
                StatusCode::TOO_MANY_REQUESTS,
                "too many admin logins being checked at once; try again in a few seconds".into(),
            )
            .into_response())
        }
    };
    let pw = password.to_owned();
    let ok = tokio::task::spawn_blocking(move || {
        crate::review::auth::verify_password(&pw, phc.as_deref())
    })
    .await
    .unwrap_or(false);
    if !ok {
        return Err(ask("wrong admin name or password"));
    }
    state
        .inner
        .admins
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(remembered, Instant::now());
    Ok(name.to_owned())
}

/// One row as shown, with its sort keys.
struct Shown {
    row: FleetRow,
    last_seen: Option<DateTime<Utc>>,
    silent: bool,
    health: String,
    catalog: Option<u64>,
    software: String,
    /// "slot B · 1.1 · idle", and the last failed update's version and reason.
    update: String,
    update_failed: Option<String>,
}

/// The update column of a heartbeat: state line, and the failure when the last update failed.
fn update_cell(hb: Option<&serde_json::Value>) -> (String, Option<String>) {
    let Some(u) = hb.and_then(|h| h.get("update")).filter(|u| u.is_object()) else {
        return ("—".into(), None);
    };
    let text = |k: &str| u.get(k).and_then(|v| v.as_str());
    let mut line = format!(
        "slot {} · {} · {}",
        text("slot").unwrap_or("?"),
        text("version").unwrap_or("?"),
        text("state").unwrap_or("?")
    );
    if let Some(t) = text("target") {
        line.push_str(&format!(" → {t}"));
    }
    let failed = u
        .get("last")
        .filter(|l| l.get("result").and_then(|r| r.as_str()) == Some("failed"))
        .map(|l| {
            format!(
                "{}: {}",
                l.get("version").and_then(|v| v.as_str()).unwrap_or("?"),
                l.get("reason").and_then(|v| v.as_str()).unwrap_or("?")
            )
        });
    (line, failed)
}

fn shown(row: FleetRow, now: DateTime<Utc>) -> Shown {
    let last_seen = row
        .last_seen
        .as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.to_utc());
    let hb = row.heartbeat.as_ref();
    let health = hb
        .and_then(|h| h.pointer("/health/level"))
        .and_then(|l| l.as_str())
        .unwrap_or("—")
        .to_owned();
    let catalog = hb
        .and_then(|h| h.get("catalog_version"))
        .and_then(|v| v.as_u64());
    let software = hb
        .and_then(|h| h.get("version"))
        .and_then(|v| v.as_str())
        .unwrap_or("—")
        .to_owned();
    let (update, update_failed) = update_cell(hb);
    Shown {
        update,
        update_failed,
        silent: last_seen.is_none_or(|t| now - t > SILENT_AFTER),
        row,
        last_seen,
        health,
        catalog,
        software,
    }
}

/// "3 min ago", "2 h ago", "4 d ago".
pub fn age(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let s = (now - then).num_seconds().max(0);
    match s {
        0..60 => format!("{s} s ago"),
        60..3600 => format!("{} min ago", s / 60),
        3600..86400 => format!("{} h ago", s / 3600),
        _ => format!("{} d ago", s / 86400),
    }
}

const COLUMNS: &[(&str, &str)] = &[
    ("name", "Device"),
    ("center", "Center"),
    ("last_seen", "Last heartbeat"),
    ("health", "Health"),
    ("catalog", "Catalog"),
    ("software", "Software"),
    ("update", "Update"),
    ("anchor", "Last anchored head"),
];

/// Filter by `q` (device or center, case-insensitive) and sort.
fn arrange(mut rows: Vec<Shown>, q: &FleetQuery) -> Vec<Shown> {
    let needle = q.q.trim().to_lowercase();
    if !needle.is_empty() {
        rows.retain(|s| {
            s.row.name.to_lowercase().contains(&needle)
                || s.row.center.to_lowercase().contains(&needle)
        });
    }
    let sort = q.sort.as_deref().unwrap_or("name");
    rows.sort_by(|a, b| {
        let ord = match sort {
            "center" => a.row.center.cmp(&b.row.center),
            "last_seen" => a.last_seen.cmp(&b.last_seen),
            "health" => a.health.cmp(&b.health),
            "catalog" => a.catalog.cmp(&b.catalog),
            "software" => a.software.cmp(&b.software),
            "update" => a.update.cmp(&b.update),
            "anchor" => a
                .row
                .last_anchor
                .as_ref()
                .map(|r| &r.received_at)
                .cmp(&b.row.last_anchor.as_ref().map(|r| &r.received_at)),
            _ => std::cmp::Ordering::Equal,
        };
        ord.then_with(|| a.row.name.cmp(&b.row.name))
    });
    if q.dir.as_deref() == Some("desc") {
        rows.reverse();
    }
    rows
}

async fn page(
    State(state): State<HubState>,
    headers: HeaderMap,
    q: Result<Query<FleetQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let who = match admin(&state, &headers).await {
        Ok(n) => n,
        Err(r) => return r,
    };
    let Ok(Query(q)) = q else {
        return ApiError(StatusCode::BAD_REQUEST, "bad query string".into()).into_response();
    };
    let rows = match state.store().fleet().await {
        Ok(r) => r,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let now = Utc::now();
    let total = rows.len();
    let rows = arrange(rows.into_iter().map(|r| shown(r, now)).collect(), &q);
    let silent = rows.iter().filter(|s| s.silent).count();
    let mut resp = render(&who, &q, &rows, total, silent, now).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    resp
}

fn sort_link(q: &FleetQuery, key: &str) -> String {
    let current = q.sort.as_deref().unwrap_or("name");
    let dir = if current == key && q.dir.as_deref() != Some("desc") {
        "desc"
    } else {
        "asc"
    };
    let mut url = format!("/fleet?sort={key}&dir={dir}");
    if !q.q.is_empty() {
        url.push_str("&q=");
        url.push_str(&urlencode(&q.q));
    }
    url
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn render(
    who: &str,
    q: &FleetQuery,
    rows: &[Shown],
    total: usize,
    silent: usize,
    now: DateTime<Utc>,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "Fleet — motcua hub" }
                style { (maud::PreEscaped(STYLE)) }
            }
            body {
                header {
                    h1 { "Fleet" }
                    p #summary { (total) " devices, " (silent) " silent for more than 10 minutes. Signed in as " (who) "." }
                    form method="get" action="/fleet" {
                        input type="search" name="q" value=(q.q) placeholder="Device or center" aria-label="Search";
                        @if let Some(s) = &q.sort { input type="hidden" name="sort" value=(s); }
                        @if let Some(d) = &q.dir { input type="hidden" name="dir" value=(d); }
                        button type="submit" { "Search" }
                    }
                }
                table #fleet {
                    thead { tr {
                        @for (key, label) in COLUMNS {
                            th { a href=(sort_link(q, key)) data-sort=(key) { (label) } }
                        }
                    } }
                    tbody {
                        @for s in rows {
                            tr class=(if s.silent { "silent" } else { "" }) data-device=(s.row.name) {
                                td.name { (s.row.name) }
                                td.center { (s.row.center) }
                                td.last_seen {
                                    @match s.last_seen {
                                        Some(t) => { (s.row.last_seen.as_deref().unwrap_or("")) " (" (age(t, now)) ")" }
                                        None => { "never" }
                                    }
                                    @if s.silent { " " span.flag { "SILENT" } }
                                }
                                td.health { (s.health) }
                                td.catalog { @match s.catalog { Some(v) => (v), None => "—" } }
                                td.software { (s.software) }
                                td.update {
                                    (s.update)
                                    @if let Some(f) = &s.update_failed { " " span.flag.failed title=(f) { "UPDATE FAILED " (f) } }
                                }
                                td.anchor {
                                    @match &s.row.last_anchor {
                                        Some(a) => {
                                            "seq " (a.seq) " · " (a.at)
                                            @if let Ok(t) = DateTime::parse_from_rfc3339(&a.at) { " (" (age(t.to_utc(), now)) ")" }
                                        }
                                        None => "—",
                                    }
                                    @if s.row.conflicts > 0 { " " span.flag.conflict { (s.row.conflicts) " conflict(s)" } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

const STYLE: &str = "body{font-family:sans-serif;margin:1.5rem;color:#222}\
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #ddd;padding:.4rem .6rem;text-align:left}\
th a{color:inherit}tr.silent{background:#fff1f0}.flag{color:#b00;font-weight:bold}";

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, center: &str, seen_min_ago: Option<i64>, now: DateTime<Utc>) -> Shown {
        shown(
            FleetRow {
                name: name.into(),
                center: center.into(),
                last_seen: seen_min_ago
                    .map(|m| super::super::store::now_text(now - chrono::Duration::minutes(m))),
                heartbeat: None,
                last_anchor: None,
                conflicts: 0,
            },
            now,
        )
    }

    #[test]
    fn silence_search_and_sort() {
        let now = Utc::now();
        let rows = vec![
            row("b-kiosk", "Phường Ba Đình", Some(1), now),
            row("a-kiosk", "Xã Quảng Xương", Some(11), now),
            row("c-kiosk", "Phường Ba Đình", None, now),
        ];
        assert_eq!(
            rows.iter().map(|s| s.silent).collect::<Vec<_>>(),
            [false, true, true]
        );
        let q = |q: &str, sort: &str, dir: &str| FleetQuery {
            q: q.into(),
            sort: Some(sort.into()),
            dir: Some(dir.into()),
        };
        let names = |v: Vec<Shown>| v.into_iter().map(|s| s.row.name).collect::<Vec<_>>();
        let again = || {
            vec![
                row("b-kiosk", "Phường Ba Đình", Some(1), now),
                row("a-kiosk", "Xã Quảng Xương", Some(11), now),
                row("c-kiosk", "Phường Ba Đình", None, now),
            ]
        };
        assert_eq!(
            names(arrange(rows, &q("", "name", "asc"))),
            ["a-kiosk", "b-kiosk", "c-kiosk"]
        );
        assert_eq!(
            names(arrange(again(), &q("ba đình", "last_seen", "desc"))),
            ["b-kiosk", "c-kiosk"]
        );
        assert_eq!(age(now - chrono::Duration::minutes(12), now), "12 min ago");
    }

    #[test]
    fn the_update_column_shows_slot_version_state_and_a_failure() {
        assert_eq!(update_cell(None), ("—".into(), None));
        let hb = serde_json::json!({"update": {"state": "idle", "slot": "A", "version": "1.0",
            "last": {"result": "failed", "version": "1.1", "reason": "the kiosk never drew"}}});
        assert_eq!(
            update_cell(Some(&hb)),
            (
                "slot A · 1.0 · idle".into(),
                Some("1.1: the kiosk never drew".into())
            )
        );
        let hb = serde_json::json!({"update": {"state": "installed", "slot": "A",
            "version": "1.0", "target": "1.1", "last": {"result": "confirmed"}}});
        assert_eq!(
            update_cell(Some(&hb)),
            ("slot A · 1.0 · installed → 1.1".into(), None)
        );
    }
}
