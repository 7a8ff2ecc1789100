//! Server-rendered HTML of the review UI: the page frame (navigation, language switch,
//! logout form), language choice, time formatting, and the shared error page.
//!
//! Every page is built with `maud`, which escapes every interpolated value; `PreEscaped` is
//! never used with data. No inline script or style (the CSP forbids both); the only
//! stylesheet is `style.css`. Renders only what it is given: no database, no files.

pub mod admin;
pub mod footage;
pub mod login;

use axum::http::request::Parts;
use maud::{html, Markup, DOCTYPE};

use super::accounts::Role;
use super::session::Session;

pub const STYLE_CSS: &str = include_str!("style.css");

/// Vietnam has one time zone, UTC+7 (ICT), and no daylight saving: times are shown in it.
pub const ICT_OFFSET_SECS: i32 = 7 * 3600;

/// UI language: Vietnamese by default, English with `?lang=en` (remembered in a cookie).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Vi,
    En,
}

impl Lang {
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "vi" => Some(Lang::Vi),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Vi => "vi",
            Lang::En => "en",
        }
    }

    /// The Vietnamese or the English text.
    pub fn t<'a>(self, vi: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Vi => vi,
            Lang::En => en,
        }
    }

    /// `?lang=` of the request, else the `motcua_lang` cookie, else Vietnamese.
    pub fn from_parts(parts: &Parts) -> Lang {
        let from_query = parts
            .uri
            .query()
            .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("lang=")))
            .and_then(Lang::parse);
        from_query
            .or_else(|| {
                let h = parts
                    .headers
                    .get(axum::http::header::COOKIE)?
                    .to_str()
                    .ok()?;
                super::session::cookie(h, "motcua_lang").and_then(Lang::parse)
            })
            .unwrap_or_default()
    }
}

/// `ms` since the epoch as `HH:MM:SS DD/MM/YYYY` in ICT.
pub fn time_ict(ms: i64) -> String {
    let off = chrono::FixedOffset::east_opt(ICT_OFFSET_SECS).expect("valid offset");
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| {
            t.with_timezone(&off)
                .format("%H:%M:%S %d/%m/%Y")
                .to_string()
        })
        .unwrap_or_else(|| ms.to_string())
}

/// Only the clock part, `HH:MM:SS` ICT.
pub fn clock_ict(ms: i64) -> String {
    let off = chrono::FixedOffset::east_opt(ICT_OFFSET_SECS).expect("valid offset");
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.with_timezone(&off).format("%H:%M:%S").to_string())
        .unwrap_or_default()
}

/// The frame of every logged-in page.
pub fn layout(lang: Lang, title: &str, s: &Session, path: &str, body: Markup) -> Markup {
    let other = match lang {
        Lang::Vi => Lang::En,
        Lang::En => Lang::Vi,
    };
    let switch = format!(
        "{path}{}lang={}",
        if path.contains('?') { '&' } else { '?' },
        other.code()
    );
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · motcua" }
                link rel="stylesheet" href="/static/style.css";
            }
            body {
                header.top {
                    span.brand { "motcua" }
                    nav {
                        @if s.role == Role::Supervisor {
                            a href="/search" { (lang.t("Tra cứu", "Search")) }
                            a href="/audit" { (lang.t("Nhật ký truy cập", "Audit log")) }
                        }
                        a href="/health" { (lang.t("Tình trạng", "Health")) }
                        a href="/config" { (lang.t("Cấu hình", "Configuration")) }
                    }
                    span.who {
                        (s.user) " (" (role_name(lang, s.role)) ") "
                        a.lang href=(switch) { (other.code().to_uppercase()) }
                        form.inline method="post" action="/logout" {
                            input type="hidden" name="csrf" value=(s.csrf);
                            button type="submit" { (lang.t("Đăng xuất", "Log out")) }
                        }
                    }
                }
                main { h1 { (title) } (body) }
            }
        }
    }
}

pub fn role_name(lang: Lang, r: Role) -> &'static str {
    match r {
        Role::Supervisor => lang.t("giám sát", "supervisor"),
        Role::Technician => lang.t("kỹ thuật", "technician"),
    }
}

/// A bare page for refusals and errors, in both languages (the session may be gone).
pub fn error_page(status: u16, vi: &str, en: &str) -> Markup {
    html! {
        (DOCTYPE)
        html lang="vi" {
            head {
                meta charset="utf-8";
                title { (status) " · motcua" }
                link rel="stylesheet" href="/static/style.css";
            }
            body {
                main.narrow {
                    h1 { (status) }
                    p { (vi) }
                    p.en { (en) }
                    p { a href="/login" { "Đăng nhập / Log in" } " · " a href="/" { "motcua" } }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_in_ict() {
        assert_eq!(time_ict(0), "07:00:00 01/01/1970");
        assert_eq!(clock_ict(3_600_000), "08:00:00");
    }

    #[test]
    fn error_page_escapes() {
        let p = error_page(400, "<script>alert(1)</script>", "x\"y").into_string();
        assert!(!p.contains("<script>alert"), "{p}");
        assert!(p.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    }
}
