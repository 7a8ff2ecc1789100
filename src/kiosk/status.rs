//! The status line: catalog version and when it was last updated, with a stale or offline
//! marker from the link state and the bundle's `expires_at`.

use chrono::{DateTime, FixedOffset};

use super::queue_board::ICT_OFFSET_SECS;

use crate::appliance::LinkState;
use crate::catalog::{CatalogBundle, Lang};
use crate::current::CatalogOrigin;

/// Text and whether to show it as a warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusText {
    pub text: String,
    pub warning: bool,
}

/// In the center's time (ICT, UTC+7), not the machine's (an image may run in UTC).
fn local(rfc3339: &str) -> String {
    let ict = FixedOffset::east_opt(ICT_OFFSET_SECS).expect("valid offset");
    DateTime::parse_from_rfc3339(rfc3339)
        .map(|d| d.with_timezone(&ict).format("%H:%M %d/%m/%Y").to_string())
        .unwrap_or_else(|_| rfc3339.to_owned())
}

pub fn status_text(
    bundle: &CatalogBundle,
    origin: &CatalogOrigin,
    link: &LinkState,
    now: DateTime<FixedOffset>,
    lang: Lang,
) -> StatusText {
    let vi = lang == Lang::Vi;
    let mut parts = vec![format!(
        "{} v{}",
        if vi { "Danh mục" } else { "Catalog" },
        bundle.version
    )];
    match origin {
        CatalogOrigin::EmbeddedDemo => {
            parts.push(if vi { "bản trình diễn" } else { "demo" }.into())
        }
        CatalogOrigin::Installed(info) => parts.push(format!(
            "{} {}",
            if vi { "cập nhật" } else { "updated" },
            local(&info.applied_at)
        )),
    }
    let mut warning = false;
    let expired = bundle
        .expires_at
        .as_deref()
        .and_then(|e| DateTime::parse_from_rfc3339(e).ok())
        .is_some_and(|e| e < now);
    if expired {
        warning = true;
        parts.push(
            if vi {
                "(!) có thể đã cũ"
            } else {
                "(!) may be outdated"
            }
            .into(),
        );
    }
    match link {
        LinkState::Online => {}
        LinkState::NotConfigured => {}
        LinkState::Offline { .. } => {
            warning = true;
            parts.push(
                if vi {
                    "(!) mất kết nối"
                } else {
                    "(!) offline"
                }
                .into(),
            );
        }
    }
    StatusText {
        text: parts.join(" · "),
        warning,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::demo_bundle;

    #[test]
    fn applied_time_is_shown_in_vietnam_time() {
        assert_eq!(local("2026-11-20T01:30:00Z"), "08:30 20/11/2026");
        assert_eq!(local("2026-11-20T23:30:00+07:00"), "23:30 20/11/2026");
    }

    #[test]
    fn expired_or_offline_is_a_warning() {
        let mut b = demo_bundle();
        b.version = 7;
        b.expires_at = Some("2026-01-01T00:00:00+07:00".into());
        let now = DateTime::parse_from_rfc3339("2026-06-01T00:00:00+07:00").unwrap();
        let s = status_text(
            &b,
            &CatalogOrigin::EmbeddedDemo,
            &LinkState::Online,
            now,
            Lang::Vi,
        );
        assert_eq!(s.text, "Danh mục v7 · bản trình diễn · (!) có thể đã cũ");
        assert!(s.warning);
        b.expires_at = None;
        let s = status_text(
            &b,
            &CatalogOrigin::EmbeddedDemo,
            &LinkState::Offline { since: None },
            now,
            Lang::En,
        );
        assert_eq!(s.text, "Catalog v7 · demo · (!) offline");
        let s = status_text(
            &b,
            &CatalogOrigin::EmbeddedDemo,
            &LinkState::NotConfigured,
            now,
            Lang::En,
        );
        assert!(!s.warning);
    }
}
