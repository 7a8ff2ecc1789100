//! Health, configuration and audit-log handlers, the stylesheet and the 404 page.
//!
//! Health and configuration are for both roles (a technician's whole view); the audit log is
//! for supervisors. Nothing here shows footage or a secret.

use axum::extract::{Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::audit;
use super::pages::{admin as page, STYLE_CSS};
use super::web::{blocking, Shared, Supervisor, Viewer, WebError};

/// Audit lines per page.
const AUDIT_PAGE: usize = 100;

pub async fn stylesheet() -> Response {
    let mut res = STYLE_CSS.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    res
}

pub async fn not_found() -> WebError {
    WebError::NotFound
}

#[derive(Debug, Deserialize)]
pub struct AuditParams {
    before: Option<i64>,
}

pub async fn audit(
    State(st): State<Shared>,
    Supervisor(v): Supervisor,
    Query(p): Query<AuditParams>,
) -> Result<Response, WebError> {
    let (v, lines) = blocking(move || {
        let store = st.footage.lock().unwrap_or_else(|e| e.into_inner());
        Ok((v, audit::recent(&store, p.before, AUDIT_PAGE)?))
    })
    .await?;
    let more = (lines.len() == AUDIT_PAGE)
        .then(|| lines.last().map(|l| l.seq))
        .flatten();
    Ok(page::audit(v.lang, &v.session, &lines, more).into_response())
}

/// Footage facts for the health page.
#[derive(Debug, Clone, Default)]
pub struct FootageHealth {
    pub snapshots: usize,
    pub bytes: i64,
    pub chain_entries: i64,
    pub head_seq: i64,
    pub chain_problems: Vec<String>,
    pub free_bytes: Option<u64>,
}

pub async fn health(State(st): State<Shared>, v: Viewer) -> Result<Response, WebError> {
    let st2 = st.clone();
    let f = blocking(move || {
        let store = st2.footage.lock().unwrap_or_else(|e| e.into_inner());
        // Chain and rows only: hashing every file belongs to `motcua snapshots verify`.
        let rep = store.verify(false)?;
        let bytes = store.total_bytes()?;
        let free = statvfs_free(&st2.data_dir);
        Ok(FootageHealth {
            snapshots: rep.snapshots,
            bytes,
            chain_entries: rep.chain_entries,
            head_seq: rep.head_seq,
            chain_problems: rep
                .problems
                .iter()
                .take(20)
                .map(|p| p.to_string())
                .collect(),
            free_bytes: free,
        })
    })
    .await?;
    let h = &st.health;
    Ok(page::health(v.lang, &v.session, &f, h.cameras(), h.sync(), h.device()).into_response())
}

fn statvfs_free(dir: &std::path::Path) -> Option<u64> {
    use crate::recorder::retention::{FreeSpace, StatvfsFreeSpace};
    StatvfsFreeSpace(dir.to_owned()).free_bytes().ok()
}

pub async fn config(State(st): State<Shared>, v: Viewer) -> Response {
    page::config(v.lang, &v.session, &st.config_lines).into_response()
}
