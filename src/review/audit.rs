//! The review UI's audit trail: who viewed or exported what, when and from where, appended as
//! `audit` entries to the footage hash chain (`recorder::footage::AuditAppend`).
//!
//! The entry's `reason` is this file's canonical JSON (fixed field order, version `v`), so the
//! chain hash covers every field. Append-only: nothing here edits or deletes an entry, and a
//! failed append makes the request fail (footage is never shown unaudited).

use serde::{Deserialize, Serialize};

use super::accounts::Role;
use crate::recorder::chain::{EntryKind, GENESIS};
use crate::recorder::footage::{AuditAppend, FootageError, FootageStore, StoredEntry};

/// What was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Login,
    LoginFailed,
    Logout,
    Search,
    ViewCase,
    ViewSnapshot,
    ViewImage,
    ViewTimeline,
    ExportCase,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Login => "login",
            Action::LoginFailed => "login_failed",
            Action::Logout => "logout",
            Action::Search => "search",
            Action::ViewCase => "view_case",
            Action::ViewSnapshot => "view_snapshot",
            Action::ViewImage => "view_image",
            Action::ViewTimeline => "view_timeline",
            Action::ExportCase => "export_case",
        }
    }
}

/// The canonical body of an audit entry (stored as the chain entry's `reason`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditDetail {
    pub v: u32,
    pub action: Action,
    pub user: String,
    pub role: Option<String>,
    /// Source IP address of the request.
    pub from: String,
    /// Free text: the search asked, the counter and day, the export's snapshot count.
    pub detail: String,
}

/// One audit event to append.
#[derive(Debug, Clone)]
pub struct AuditEvent<'a> {
    pub action: Action,
    pub user: &'a str,
    pub role: Option<Role>,
    pub from: &'a str,
    pub record_id: Option<&'a str>,
    pub snapshot: Option<(i64, &'a str)>,
    pub counter: Option<u32>,
    pub detail: String,
}

/// The canonical JSON of an event: the chain entry's `reason`.
pub fn canonical(ev: &AuditEvent) -> String {
    let body = AuditDetail {
        v: 1,
        action: ev.action,
        user: ev.user.to_owned(),
        role: ev.role.map(|r| r.as_str().to_owned()),
        from: ev.from.to_owned(),
        detail: ev.detail.clone(),
    };
    serde_json::to_string(&body).unwrap_or_default()
}

/// Append an event to the chain; returns its sequence number.
pub fn append(store: &mut FootageStore, ev: &AuditEvent, now_ms: i64) -> Result<i64, FootageError> {
    let body = AuditDetail {
        v: 1,
        action: ev.action,
        user: ev.user.to_owned(),
        role: ev.role.map(|r| r.as_str().to_owned()),
        from: ev.from.to_owned(),
        detail: ev.detail.clone(),
    };
    let text = serde_json::to_string(&body).expect("plain struct serialises");
    store.append_audit(
        &AuditAppend {
            snapshot_id: ev.snapshot.map(|s| s.0),
            sha256: ev.snapshot.map(|s| s.1),
            counter: ev.counter,
            record_id: ev.record_id,
            detail: &text,
        },
        now_ms,
    )
}

/// An audit entry for display.
#[derive(Debug, Clone)]
pub struct AuditLine {
    pub seq: i64,
    pub at_ms: i64,
    pub record_id: Option<String>,
    pub snapshot_id: Option<i64>,
    pub counter: Option<u32>,
    /// `None` if the stored text is not this format (shown raw instead).
    pub detail: Option<AuditDetail>,
    pub raw: String,
    pub hash: String,
}

impl AuditLine {
    pub fn from_entry(e: &StoredEntry) -> AuditLine {
        debug_assert_eq!(e.fields.kind, EntryKind::Audit);
        let f = &e.fields;
        AuditLine {
            seq: f.seq,
            at_ms: f.recorded_at_ms,
            record_id: f.record_id.clone(),
            snapshot_id: (f.snapshot_id != 0).then_some(f.snapshot_id),
            counter: (f.counter != 0).then_some(f.counter),
            detail: serde_json::from_str(&f.reason).ok(),
            raw: f.reason.clone(),
            hash: if e.hash.is_empty() {
                GENESIS.into()
            } else {
                e.hash.clone()
            },
        }
    }
}

/// The newest audit lines (before `before`, if given).
pub fn recent(
    store: &FootageStore,
    before: Option<i64>,
    limit: usize,
) -> Result<Vec<AuditLine>, FootageError> {
    Ok(store
        .audit_entries(before, limit)?
        .iter()
        .map(AuditLine::from_entry)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_verify() {
        let t = tempfile::tempdir().unwrap();
        let (mut st, _) = FootageStore::open_writer(t.path(), 0).unwrap();
        let seq = append(
            &mut st,
            &AuditEvent {
                action: Action::ViewCase,
                user: "lan",
                role: Some(Role::Supervisor),
                from: "192.0.2.7",
                record_id: Some("000.00.14.H56-251119-0042"),
                snapshot: None,
                counter: None,
                detail: String::new(),
            },
            1_000,
        )
        .unwrap();
        let lines = recent(&st, None, 10).unwrap();
        assert_eq!(lines.len(), 1);
        let l = &lines[0];
        assert_eq!(l.seq, seq);
        let d = l.detail.as_ref().unwrap();
        assert_eq!(
            (d.action, d.user.as_str(), d.from.as_str()),
            (Action::ViewCase, "lan", "192.0.2.7")
        );
        assert_eq!(
            l.raw,
            r#"{"v":1,"action":"view_case","user":"lan","role":"supervisor","from":"192.0.2.7","detail":""}"#
        );
        assert!(st.verify(true).unwrap().ok());
    }
}
