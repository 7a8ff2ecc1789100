//! The `[review]` section of `motcua.toml`: where the supervisor review UI listens, its TLS
//! certificate, the provisioned accounts file, session lifetime and the login lockout policy.
//! Every field is documented in `docs/config.md` ("## [review]"); unknown keys are refused.
//!
//! Parsing and checking only: never opens the certificate, a socket or a database.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewConfig {
    /// Address and port to listen on. A non-loopback address requires `tls_cert` and `tls_key`.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// PEM certificate made at provisioning (`motcua review fingerprint` prints its SHA-256).
    #[serde(default)]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of that certificate (readable by the daemon only).
    #[serde(default)]
    pub tls_key: Option<PathBuf>,
    /// Accounts written by `motcua provision` (TOML, `[[user]]` with an Argon2id hash); merged
    /// into `review.db` whenever its content changes.
    #[serde(default)]
    pub users_file: Option<PathBuf>,
    /// A session ends this many minutes after login, whatever the activity (5 to 1440).
    #[serde(default = "default_session_minutes")]
    pub session_minutes: u32,
    /// A session ends after this many minutes without a request (1 to `session_minutes`).
    #[serde(default = "default_idle_minutes")]
    pub idle_minutes: u32,
    /// Wrong passwords allowed for one account before it is locked (1 to 100).
    #[serde(default = "default_account_attempts")]
    pub lockout_account_attempts: u32,
    /// Wrong passwords allowed from one IP address (any accounts) before it is locked (1 to 1000).
    #[serde(default = "default_ip_attempts")]
    pub lockout_ip_attempts: u32,
    /// First lock in seconds; each further failure doubles it (1 to 3600).
    #[serde(default = "default_lockout_base")]
    pub lockout_base_secs: u32,
    /// Longest lock in seconds (at least `lockout_base_secs`, at most 86400).
    #[serde(default = "default_lockout_max")]
    pub lockout_max_secs: u32,
}

impl Default for ReviewConfig {
    fn default() -> Self {
        ReviewConfig {
            listen: default_listen(),
            tls_cert: None,
            tls_key: None,
            users_file: None,
            session_minutes: default_session_minutes(),
            idle_minutes: default_idle_minutes(),
            lockout_account_attempts: default_account_attempts(),
            lockout_ip_attempts: default_ip_attempts(),
            lockout_base_secs: default_lockout_base(),
            lockout_max_secs: default_lockout_max(),
        }
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([0, 0, 0, 0], 8443))
}
fn default_session_minutes() -> u32 {
    480
}
fn default_idle_minutes() -> u32 {
    30
}
fn default_account_attempts() -> u32 {
    5
}
fn default_ip_attempts() -> u32 {
    20
}
fn default_lockout_base() -> u32 {
    30
}
fn default_lockout_max() -> u32 {
    3600
}

impl ReviewConfig {
    /// Semantic checks; the message names the key.
    pub fn check(&self) -> Result<(), String> {
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err("review.tls_cert and review.tls_key must be given together".into());
        }
        if !(5..=1440).contains(&self.session_minutes) {
            return Err("review.session_minutes must be between 5 and 1440".into());
        }
        if self.idle_minutes < 1 || self.idle_minutes > self.session_minutes {
            return Err("review.idle_minutes must be between 1 and review.session_minutes".into());
        }
        if !(1..=100).contains(&self.lockout_account_attempts) {
            return Err("review.lockout_account_attempts must be between 1 and 100".into());
        }
        if !(1..=1000).contains(&self.lockout_ip_attempts) {
            return Err("review.lockout_ip_attempts must be between 1 and 1000".into());
        }
        if !(1..=3600).contains(&self.lockout_base_secs) {
            return Err("review.lockout_base_secs must be between 1 and 3600".into());
        }
        if self.lockout_max_secs < self.lockout_base_secs || self.lockout_max_secs > 86_400 {
            return Err(
                "review.lockout_max_secs must be between review.lockout_base_secs and 86400".into(),
            );
        }
        Ok(())
    }

    pub fn session_lifetime(&self) -> Duration {
        Duration::from_secs(u64::from(self.session_minutes) * 60)
    }

    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(u64::from(self.idle_minutes) * 60)
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use std::path::Path;

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse(Path::new("m.toml"), text.as_bytes()).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_and_provisioned_keys() {
        let c = parse("").unwrap().review;
        assert_eq!(c.listen.to_string(), "0.0.0.0:8443");
        assert_eq!((c.session_minutes, c.idle_minutes), (480, 30));
        let c = parse(
            "[review]\nlisten = \"127.0.0.1:8080\"\ntls_cert = \"/etc/motcua/review-tls.crt\"\n\
             tls_key = \"/etc/motcua/secrets/review-tls.key\"\n\
             users_file = \"/etc/motcua/secrets/review-users.toml\"\nsession_minutes = 60\n\
             idle_minutes = 10\nlockout_account_attempts = 3\nlockout_ip_attempts = 10\n\
             lockout_base_secs = 2\nlockout_max_secs = 60\n",
        )
        .unwrap()
        .review;
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.lockout_base_secs, 2);
        assert!(c.users_file.is_some());
    }

    #[test]
    fn unknown_key_and_bad_values_are_named() {
        let e = parse("[review]\nlisten = \"127.0.0.1:1\"\nport = 3\n").unwrap_err();
        assert!(e.contains("m.toml:3: key `review.port`"), "{e}");
        let e = parse("[review]\nlisten = \"somewhere\"\n").unwrap_err();
        assert!(e.contains("key `review.listen`"), "{e}");
        let e = parse("[review]\ntls_cert = \"/a\"\n").unwrap_err();
        assert!(e.contains("must be given together"), "{e}");
        let e = parse("[review]\nsession_minutes = 20\nidle_minutes = 30\n").unwrap_err();
        assert!(e.contains("review.idle_minutes"), "{e}");
        let e = parse("[review]\nlockout_base_secs = 10\nlockout_max_secs = 5\n").unwrap_err();
        assert!(e.contains("review.lockout_max_secs"), "{e}");
    }
}
