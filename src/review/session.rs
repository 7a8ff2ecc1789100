//! Server-side sessions in `review.db` and their cookie: create at login, look up and touch on
//! each request, end at logout, password change, removal, expiry or idleness.
//!
//! The cookie carries a 256-bit random token; the table stores only its SHA-256, so a copy of
//! `review.db` does not log anyone in. Never puts a user name or role in a cookie.

use std::time::Duration;

use rusqlite::{params, OptionalExtension};

use super::accounts::{AccountError, AccountStore, Role};
use crate::recorder::chain::{hex, sha256_hex};

/// Cookie name over HTTPS: the `__Host-` prefix makes browsers insist on Secure, Path=/ and no
/// Domain.
pub const COOKIE_TLS: &str = "__Host-motcua_session";
/// Cookie name over plain HTTP (loopback only, development and tests).
pub const COOKIE_PLAIN: &str = "motcua_session";
/// Pre-login cookie holding the login form's CSRF token.
pub const PRELOGIN_TLS: &str = "__Host-motcua_login";
pub const PRELOGIN_PLAIN: &str = "motcua_login";

/// A logged-in user, as the handlers see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub user: String,
    pub role: Role,
    /// The synchronizer token every POST form must carry.
    pub csrf: String,
    pub expires_ms: i64,
}

/// 32 random bytes as hex.
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).expect("the OS random source works");
    hex(&b)
}

impl AccountStore {
    /// Start a session; returns the cookie token and the session.
    pub fn create_session(
        &self,
        user: &str,
        role: Role,
        now_ms: i64,
        lifetime: Duration,
        remote: &str,
    ) -> Result<(String, Session), AccountError> {
        let token = random_token();
        let csrf = random_token();
        let expires_ms = now_ms + lifetime.as_millis() as i64;
        self.conn.execute(
            "INSERT INTO session (token_sha256, user_name, csrf, created_ms, expires_ms, \
             last_seen_ms, remote) VALUES (?1, ?2, ?3, ?4, ?5, ?4, ?6)",
            params![
                sha256_hex(token.as_bytes()),
                user,
                csrf,
                now_ms,
                expires_ms,
                remote
            ],
        )?;
        // Old sessions are swept here rather than by a timer.
        self.conn
            .execute("DELETE FROM session WHERE expires_ms <= ?1", [now_ms])?;
        Ok((
            token,
            Session {
                user: user.to_owned(),
                role,
                csrf,
                expires_ms,
            },
        ))
    }

    /// The live session for a cookie token, touched; `None` if unknown, expired or idle too long
    /// (then it is deleted).
    pub fn session(
        &self,
        token: &str,
        now_ms: i64,
        idle: Duration,
    ) -> Result<Option<Session>, AccountError> {
        if token.len() != 64 {
            return Ok(None);
        }
        let key = sha256_hex(token.as_bytes());
        let row = self
            .conn
            .query_row(
                "SELECT s.user_name, u.role, s.csrf, s.expires_ms, s.last_seen_ms FROM session s \
                 JOIN user u ON u.name = s.user_name WHERE s.token_sha256 = ?1",
                [&key],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, i64>(4)?,
                    ))
                },
            )
            .optional()?;
        let Some((user, role, csrf, expires_ms, last_seen)) = row else {
            return Ok(None);
        };
        let role = Role::parse(&role);
        if now_ms >= expires_ms || now_ms - last_seen >= idle.as_millis() as i64 || role.is_none() {
            self.conn
                .execute("DELETE FROM session WHERE token_sha256 = ?1", [&key])?;
            return Ok(None);
        }
        self.conn.execute(
            "UPDATE session SET last_seen_ms = ?2 WHERE token_sha256 = ?1",
            params![key, now_ms],
        )?;
        Ok(role.map(|role| Session {
            user,
            role,
            csrf,
            expires_ms,
        }))
    }

    pub fn end_session(&self, token: &str) -> Result<(), AccountError> {
        self.conn.execute(
            "DELETE FROM session WHERE token_sha256 = ?1",
            [sha256_hex(token.as_bytes())],
        )?;
        Ok(())
    }
}

/// The value of cookie `name` in a `Cookie` request header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, Path=/, Secure over TLS, with Max-Age.
pub fn set_cookie(name: &str, value: &str, max_age: Duration, tls: bool) -> String {
    format!(
        "{name}={value}; Path=/; Max-Age={}; HttpOnly; SameSite=Strict{}",
        max_age.as_secs(),
        if tls { "; Secure" } else { "" }
    )
}

/// A `Set-Cookie` value that deletes the cookie.
pub fn clear_cookie(name: &str, tls: bool) -> String {
    set_cookie(name, "", Duration::ZERO, tls)
}

pub fn session_cookie_name(tls: bool) -> &'static str {
    if tls {
        COOKIE_TLS
    } else {
        COOKIE_PLAIN
    }
}

pub fn prelogin_cookie_name(tls: bool) -> &'static str {
    if tls {
        PRELOGIN_TLS
    } else {
        PRELOGIN_PLAIN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_idle_out_and_end_with_the_account() {
        let t = tempfile::tempdir().unwrap();
        let s = AccountStore::open(t.path()).unwrap();
        s.add("lan", Role::Supervisor, "$argon2id$x", 0).unwrap();
        let hour = Duration::from_secs(3600);
        let idle = Duration::from_secs(600);
        let (tok, sess) = s
            .create_session("lan", Role::Supervisor, 0, hour, "127.0.0.1")
            .unwrap();
        assert_eq!(s.session(&tok, 1_000, idle).unwrap(), Some(sess.clone()));
        assert_eq!(s.session(&"0".repeat(64), 1_000, idle).unwrap(), None);
        // touched at 1 s, so still alive at 1 s + 9 min
        assert!(s.session(&tok, 541_000, idle).unwrap().is_some());
        assert!(
            s.session(&tok, 541_000 + 600_000, idle).unwrap().is_none(),
            "idle"
        );
        let (tok, _) = s
            .create_session("lan", Role::Supervisor, 0, hour, "x")
            .unwrap();
        assert!(s
            .session(&tok, 3_600_000, Duration::from_secs(7200))
            .unwrap()
            .is_none());
        let (tok, _) = s
            .create_session("lan", Role::Supervisor, 0, hour, "x")
            .unwrap();
        s.set_password("lan", "$argon2id$y", 1).unwrap();
        assert!(
            s.session(&tok, 2, idle).unwrap().is_none(),
            "password change ends it"
        );
        let (tok, _) = s
            .create_session("lan", Role::Supervisor, 0, hour, "x")
            .unwrap();
        s.remove("lan").unwrap();
        assert!(
            s.session(&tok, 2, idle).unwrap().is_none(),
            "removal ends it"
        );
    }

    #[test]
    fn cookies() {
        assert_eq!(
            cookie("a=1; motcua_session=abc; b=2", "motcua_session"),
            Some("abc")
        );
        assert_eq!(cookie("xmotcua_session=abc", "motcua_session"), None);
        let c = set_cookie(COOKIE_TLS, "t", Duration::from_secs(60), true);
        assert_eq!(
            c,
            "__Host-motcua_session=t; Path=/; Max-Age=60; HttpOnly; SameSite=Strict; Secure"
        );
        assert!(!set_cookie(COOKIE_PLAIN, "t", Duration::ZERO, false).contains("Secure"));
    }
}
