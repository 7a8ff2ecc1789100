//! Footage handlers, supervisors only: search, a record's case with integrity marks, one
//! snapshot, the full image, thumbnails, a counter's day, and the case export (zip).
//!
//! Every view and export is appended to the audit chain *before* footage is returned; if the
//! append fails, the request fails. Never changes a snapshot (export pins, via the recorder).

use axum::extract::{Form, Path, Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;

use super::audit::{self, Action, AuditEvent};
use super::pages::footage as page;
use super::query::{self, Search};
use super::web::{blocking, Shared, Supervisor, Viewer, WebError};
use super::ReviewState;
use crate::record::RecordId;
use crate::recorder::chain::{self, EntryKind, GENESIS};
use crate::recorder::footage::Snapshot;

#[derive(Debug, Default, Deserialize)]
pub struct SearchParams {
    #[serde(default)]
    record: String,
    #[serde(default)]
    counter: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

fn parse_day(s: &str) -> Result<Option<NaiveDate>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| format!("`{s}` is not a date like 2025-11-19"))
}

fn parse_search(p: &SearchParams) -> Result<Search, String> {
    let counter = match p.counter.trim() {
        "" => None,
        c => Some(
            c.parse::<u32>()
                .ok()
                .filter(|n| (1..=999).contains(n))
                .ok_or_else(|| "a counter is a number from 1 to 999".to_owned())?,
        ),
    };
    Ok(Search {
        record: query::parse_record_query(&p.record)?,
        counter,
        from: parse_day(&p.from)?,
        to: parse_day(&p.to)?,
    })
}

/// Append an audit event (locks the footage writer briefly).
fn record_audit(st: &ReviewState, ev: AuditEvent) -> Result<i64, WebError> {
    let now = st.clocks.now_ms();
    let mut store = st.footage.lock().unwrap_or_else(|p| p.into_inner());
    Ok(audit::append(&mut store, &ev, now)?)
}

fn event<'a>(v: &'a Viewer, from: &'a str, action: Action) -> AuditEvent<'a> {
    AuditEvent {
        action,
        user: &v.session.user,
        role: Some(v.session.role),
        from,
        record_id: None,
        snapshot: None,
        counter: None,
        detail: String::new(),
    }
}

pub async fn search(
    State(st): State<Shared>,
    Supervisor(v): Supervisor,
    Query(p): Query<SearchParams>,
) -> Result<Response, WebError> {
    let asked = !(p.record.trim().is_empty()
        && p.counter.trim().is_empty()
        && p.from.trim().is_empty()
        && p.to.trim().is_empty());
    let parsed = parse_search(&p);
    let form = page::SearchForm {
        record: p.record.clone(),
        counter: p.counter.clone(),
        from: p.from.clone(),
        to: p.to.clone(),
    };
    let q = match parsed {
        Err(msg) => {
            let body = page::search(v.lang, &v.session, &form, Some(&msg), None);
            return Ok((axum::http::StatusCode::BAD_REQUEST, body).into_response());
        }
        Ok(q) if !asked => {
            let _ = q;
            return Ok(page::search(v.lang, &v.session, &form, None, None).into_response());
        }
        Ok(q) => q,
    };
    let results = blocking(move || {
        let from = v.source_ip();
        let mut ev = event(&v, &from, Action::Search);
        ev.counter = q.counter;
        ev.detail = format!(
            "record={} counter={} from={} to={}",
            p.record.trim(),
            p.counter.trim(),
            p.from.trim(),
            p.to.trim()
        );
        record_audit(&st, ev)?;
        let conn = st.footage_read.lock().unwrap_or_else(|e| e.into_inner());
        let r = query::search(&conn, &q)?;
        Ok((v, r))
    })
    .await?;
    let (v, r) = results;
    Ok(page::search(v.lang, &v.session, &form, None, Some(&r)).into_response())
}

/// Integrity of one snapshot: file hash, and its capture entry's hash and links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Integrity {
    pub file_ok: bool,
    pub chain_ok: bool,
}

fn integrity(st: &ReviewState, s: &Snapshot) -> Result<Integrity, WebError> {
    let (entries, path) = {
        let store = st.footage.lock().unwrap_or_else(|p| p.into_inner());
        (
            store.chain_entries(s.id - 1, s.id + 1)?,
            store.dir().path_of(&s.sha256),
        )
    };
    let file_ok = std::fs::read(&path).is_ok_and(|b| chain::sha256_hex(&b) == s.sha256);
    let me = entries.iter().position(|e| e.fields.seq == s.id);
    let chain_ok = me.is_some_and(|i| {
        let e = &entries[i];
        let f = &e.fields;
        let prev_ok = match i.checked_sub(1).map(|j| &entries[j]) {
            Some(p) => p.hash == e.prev_hash,
            None => s.id == 1 && e.prev_hash == GENESIS,
        };
        let next_ok = entries.get(i + 1).is_none_or(|n| n.prev_hash == e.hash);
        f.kind == EntryKind::Capture
            && e.kind_text == "capture"
            && chain::link(&e.prev_hash, &f.body_hash()) == e.hash
            && prev_ok
            && next_ok
            && f.sha256 == s.sha256
            && f.bytes == s.bytes
            && f.counter == s.counter
            && f.record_id == s.record_id
            && f.captured_at_ms == s.captured_at_ms
            && f.reason == s.reason
    });
    Ok(Integrity { file_ok, chain_ok })
}

fn record_param(raw: &str) -> Result<RecordId, WebError> {
    RecordId::parse(raw).map_err(|e| WebError::BadRequest(e.to_string()))
}

pub async fn case(
    State(st): State<Shared>,
    Supervisor(v): Supervisor,
    Path(raw): Path<String>,
) -> Result<Response, WebError> {
    let id = record_param(&raw)?;
    let (v, id, rows) = blocking(move || {
        let from = v.source_ip();
        let mut ev = event(&v, &from, Action::ViewCase);
        ev.record_id = Some(id.as_str());
        record_audit(&st, ev)?;
        let snaps = {
            let conn = st.footage_read.lock().unwrap_or_else(|e| e.into_inner());
            query::record_snapshots(&conn, &id)?
        };
        let mut rows = Vec::with_capacity(snaps.len());
        for s in snaps {
            let i = integrity(&st, &s)?;
            rows.push((s, i));
        }
        Ok((v, id, rows))
    })
    .await?;
    Ok(page::case(v.lang, &v.session, &id, &rows).into_response())
}

fn snapshot_or_404(st: &ReviewState, id: i64) -> Result<Snapshot, WebError> {
    let conn = st.footage_read.lock().unwrap_or_else(|e| e.into_inner());
    query::snapshot(&conn, id)?.ok_or(WebError::NotFound)
}

pub async fn snapshot(
    State(st): State<Shared>,
    Supervisor(v): Supervisor,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let (v, s, i) = blocking(move || {
        let s = snapshot_or_404(&st, id)?;
        let from = v.source_ip();
        let mut ev = event(&v, &from, Action::ViewSnapshot);
        ev.record_id = s.record_id.as_deref();
        ev.snapshot = Some((s.id, &s.sha256));
        ev.counter = Some(s.counter);
        record_audit(&st, ev)?;
        let i = integrity(&st, &s)?;
        Ok((v, s, i))
    })
    .await?;
    Ok(page::snapshot(v.lang, &v.session, &s, i).into_response())
}

fn jpeg_response(bytes: Vec<u8>, name: String) -> Response {
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
    if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

pub async fn image(
    State(st): State<Shared>,
    Supervisor(v): Supervisor,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let (bytes, name) = blocking(move || {
        let s = snapshot_or_404(&st, id)?;
        let path = st
            .footage
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .dir()
            .path_of(&s.sha256);
        let bytes = std::fs::read(&path).map_err(|_| WebError::NotFound)?;
        let from = v.source_ip();
        let mut ev = event(&v, &from, Action::ViewImage);
        ev.record_id = s.record_id.as_deref();
        ev.snapshot = Some((s.id, &s.sha256));
        ev.counter = Some(s.counter);
        record_audit(&st, ev)?;
        Ok((bytes, format!("snapshot-{}.jpg", s.id)))
    })
    .await?;
    Ok(jpeg_response(bytes, name))
}

/// Previews are listed by an audited page (case, snapshot, timeline) and not logged one by one.
pub async fn thumbnail(
    State(st): State<Shared>,
    Supervisor(_v): Supervisor,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let bytes = blocking(move || {
        let conn = st.footage_read.lock().unwrap_or_else(|e| e.into_inner());
        query::thumbnail(&conn, id)?.ok_or(WebError::NotFound)
    })
    .await?;
    Ok(jpeg_response(bytes, format!("thumb-{id}.jpg")))
}

pub async fn timeline(
    State(st): State<Shared>,
    Supervisor(v): Supervisor,
    Path((counter, day)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let counter: u32 = counter
        .parse()
        .ok()
        .filter(|n| (1..=999).contains(n))
        .ok_or_else(|| WebError::BadRequest("a counter is a number from 1 to 999".into()))?;
    let day = parse_day(&day)
        .ok()
        .flatten()
        .ok_or_else(|| WebError::BadRequest("a day looks like 2025-11-19".into()))?;
    let (v, rows) = blocking(move || {
        let from = v.source_ip();
        let mut ev = event(&v, &from, Action::ViewTimeline);
        ev.counter = Some(counter);
        ev.detail = format!("day={day}");
        record_audit(&st, ev)?;
        let conn = st.footage_read.lock().unwrap_or_else(|e| e.into_inner());
        Ok((v, query::day_snapshots(&conn, counter, day)?))
    })
    .await?;
    Ok(page::timeline(v.lang, &v.session, counter, day, &rows).into_response())
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    csrf: Option<String>,
}

pub async fn export(
    State(st): State<Shared>,
    Supervisor(v): Supervisor,
    Path(raw): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Result<Response, WebError> {
    super::csrf::check(&v.session.csrf, f.csrf.as_deref()).map_err(WebError::Csrf)?;
    let id = record_param(&raw)?;
    let (bytes, name) = blocking(move || {
        let dir = st.data_dir.join("review-exports");
        std::fs::create_dir_all(&dir)?;
        let out = dir.join(format!("{}.zip", super::session::random_token()));
        let now = st.clocks.now_ms();
        let mut store = st.footage.lock().unwrap_or_else(|p| p.into_inner());
        let from = v.source_ip();
        let mut started = event(&v, &from, Action::ExportCase);
        started.record_id = Some(id.as_str());
        started.detail = "started".into();
        let opts = crate::recorder::export::ExportOptions {
            signer: st.signer.as_ref(),
            audit: &audit::canonical(&started),
        };
        let manifest =
            match crate::recorder::export::export_record(&mut store, &id, &out, now, &opts) {
                Ok(m) => m,
                Err(crate::recorder::export::ExportError::NothingToExport(_)) => {
                    return Err(WebError::NotFound)
                }
                Err(e) => return Err(e.into()),
            };
        let bytes = std::fs::read(&out);
        let _ = std::fs::remove_file(&out);
        let bytes = bytes?;
        let mut ev = event(&v, &from, Action::ExportCase);
        ev.record_id = Some(id.as_str());
        ev.detail = format!(
            "{} snapshots, {} bytes, zip sha256 {}, chain head {}",
            manifest.snapshots.len(),
            bytes.len(),
            chain::sha256_hex(&bytes),
            manifest.chain.head_seq
        );
        audit::append(&mut store, &ev, now)?;
        Ok((bytes, format!("motcua-case-{}.zip", id.as_str())))
    })
    .await?;
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}
