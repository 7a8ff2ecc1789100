//! Passwords and the login throttle: Argon2id hashing in PHC form (the format `motcua
//! provision` writes), verification that costs the same for unknown accounts, and the
//! exponential lockout per account and per source IP address.
//!
//! Pure logic over a caller-supplied `Instant`: no database, no HTTP. Never logs or stores a
//! password, and never says whether an account exists.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use super::config::ReviewConfig;

/// Shortest password accepted (the same rule as the provisioning file's supervisor).
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longest password accepted (Argon2 takes any length; this bounds the work per request).
pub const MAX_PASSWORD_BYTES: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("a password needs at least {MIN_PASSWORD_CHARS} characters")]
    TooShort,
    #[error("a password is at most {MAX_PASSWORD_BYTES} bytes")]
    TooLong,
    #[error("cannot hash the password: {0}")]
    Hash(String),
}

/// Check a new password against the policy.
pub fn check_new_password(pw: &str) -> Result<(), PasswordError> {
    if pw.chars().count() < MIN_PASSWORD_CHARS {
        return Err(PasswordError::TooShort);
    }
    if pw.len() > MAX_PASSWORD_BYTES {
        return Err(PasswordError::TooLong);
    }
    Ok(())
}

/// Argon2id (v19, the crate's default cost: 19 MiB, 2 passes) in PHC string form.
pub fn hash_password(pw: &str) -> Result<String, PasswordError> {
    check_new_password(pw)?;
    let mut raw = [0u8; 16];
    getrandom::fill(&mut raw).map_err(|e| PasswordError::Hash(e.to_string()))?;
    let salt = SaltString::encode_b64(&raw).map_err(|e| PasswordError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(pw.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// True if `phc` is an Argon2id PHC string this build can verify.
pub fn is_argon2id_hash(phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| h.algorithm.as_str() == "argon2id")
}

/// Verify `pw` against `phc`; with `None` (no such account) a dummy hash is checked so the
/// answer takes as long either way. Slow on purpose: call from a blocking thread.
pub fn verify_password(pw: &str, phc: Option<&str>) -> bool {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let dummy =
        DUMMY.get_or_init(|| hash_password("motcua-dummy-password-for-timing").unwrap_or_default());
    let (hash, real) = match phc {
        Some(h) => (h, true),
        None => (dummy.as_str(), false),
    };
    if pw.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    let ok = PasswordHash::new(hash)
        .map(|h| Argon2::default().verify_password(pw.as_bytes(), &h).is_ok())
        .unwrap_or(false);
    ok && real
}

/// The lockout policy, from `[review]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    pub account_attempts: u32,
    pub ip_attempts: u32,
    pub base: Duration,
    pub max: Duration,
}

impl LockoutPolicy {
    pub fn from_config(c: &ReviewConfig) -> LockoutPolicy {
        LockoutPolicy {
            account_attempts: c.lockout_account_attempts,
            ip_attempts: c.lockout_ip_attempts,
            base: Duration::from_secs(c.lockout_base_secs.into()),
            max: Duration::from_secs(c.lockout_max_secs.into()),
        }
    }

    /// Lock after the `n`-th consecutive failure when `free` are allowed: none up to `free - 1`,
    /// then `base`, `2·base`, `4·base`… capped at `max`.
    pub fn lock_after(&self, n: u32, free: u32) -> Option<Duration> {
        if n < free {
            return None;
        }
        let doublings = (n - free).min(20);
        Some(self.base.saturating_mul(1 << doublings).min(self.max))
    }
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    locked_until: Option<Instant>,
    last: Instant,
}

/// Most accounts/addresses tracked at once; the stalest are forgotten first.
const MAX_TRACKED: usize = 10_000;

/// Consecutive login failures per account name and per source address.
#[derive(Debug)]
pub struct Throttle {
    policy: LockoutPolicy,
    accounts: HashMap<String, Failures>,
    ips: HashMap<IpAddr, Failures>,
}

impl Throttle {
    pub fn new(policy: LockoutPolicy) -> Throttle {
        Throttle {
            policy,
            accounts: HashMap::new(),
            ips: HashMap::new(),
        }
    }

    /// `Err(retry_after)` while the account or the address is locked. A locked login is refused
    /// before its password is looked at.
    pub fn check(&self, account: &str, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        let left = |f: Option<&Failures>| {
            f.and_then(|f| f.locked_until)
                .and_then(|t| t.checked_duration_since(now))
                .filter(|d| !d.is_zero())
        };
        let a = left(self.accounts.get(&key(account)));
        let i = left(self.ips.get(&ip));
        match a.max(i) {
            Some(d) => Err(d),
            None => Ok(()),
        }
    }

    /// Count a wrong password; returns the lock it starts, if any.
    pub fn failure(&mut self, account: &str, ip: IpAddr, now: Instant) -> Option<Duration> {
        let p = self.policy;
        let a = bump(&mut self.accounts, key(account), now, |n| {
            p.lock_after(n, p.account_attempts)
        });
        let i = bump(&mut self.ips, ip, now, |n| p.lock_after(n, p.ip_attempts));
        a.max(i)
    }

    /// A correct password clears the account's and the address's failures.
    pub fn success(&mut self, account: &str, ip: IpAddr) {
        self.accounts.remove(&key(account));
        self.ips.remove(&ip);
    }
}

fn key(account: &str) -> String {
    account.trim().to_lowercase()
}

fn bump<K: std::hash::Hash + Eq + Clone>(
    map: &mut HashMap<K, Failures>,
    k: K,
    now: Instant,
    lock: impl Fn(u32) -> Option<Duration>,
) -> Option<Duration> {
    if map.len() >= MAX_TRACKED && !map.contains_key(&k) {
        if let Some(stalest) = map
            .iter()
            .min_by_key(|(_, f)| f.last)
            .map(|(k, _)| k.clone())
        {
            map.remove(&stalest);
        }
    }
    let f = map.entry(k).or_insert(Failures {
        count: 0,
        locked_until: None,
        last: now,
    });
    f.count = f.count.saturating_add(1);
    f.last = now;
    let d = lock(f.count);
    f.locked_until = d.map(|d| now + d);
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> LockoutPolicy {
        LockoutPolicy {
            account_attempts: 3,
            ip_attempts: 5,
            base: Duration::from_secs(30),
            max: Duration::from_secs(100),
        }
    }

    #[test]
    fn hash_is_argon2id_phc_and_verifies() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$v=19$"), "{h}");
        assert!(is_argon2id_hash(&h));
        assert!(verify_password("correct horse battery", Some(&h)));
        assert!(!verify_password("correct horse batterY", Some(&h)));
        assert!(!verify_password("correct horse battery", None));
        assert!(!verify_password("x", Some("not a hash")));
        assert!(matches!(
            hash_password("short"),
            Err(PasswordError::TooShort)
        ));
    }

    #[test]
    fn lock_doubles_up_to_the_cap() {
        let p = policy();
        let l: Vec<_> = (1..=7)
            .map(|n| p.lock_after(n, 3).map(|d| d.as_secs()))
            .collect();
        assert_eq!(
            l,
            vec![
                None,
                None,
                Some(30),
                Some(60),
                Some(100),
                Some(100),
                Some(100)
            ]
        );
    }

    #[test]
    fn account_lock_then_expiry_then_success_resets() {
        let mut t = Throttle::new(policy());
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let t0 = Instant::now();
        assert_eq!(t.failure("Lan", ip, t0), None);
        assert_eq!(t.failure("lan", ip, t0), None);
        assert!(t.check("lan", ip, t0).is_ok());
        assert_eq!(t.failure("LAN ", ip, t0), Some(Duration::from_secs(30)));
        assert_eq!(t.check("lan", ip, t0), Err(Duration::from_secs(30)));
        // another account from another address is not affected
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(t.check("minh", other, t0).is_ok());
        let later = t0 + Duration::from_secs(31);
        assert!(t.check("lan", ip, later).is_ok());
        assert_eq!(t.failure("lan", ip, later), Some(Duration::from_secs(60)));
        t.success("lan", ip);
        assert!(t.check("lan", ip, later).is_ok());
        assert_eq!(t.failure("lan", ip, later), None);
    }

    #[test]
    fn one_address_trying_many_accounts_is_locked() {
        let mut t = Throttle::new(policy());
        let ip: IpAddr = "192.0.2.9".parse().unwrap();
        let t0 = Instant::now();
        for n in 0..4 {
            assert_eq!(t.failure(&format!("user{n}"), ip, t0), None);
        }
        assert_eq!(t.failure("user9", ip, t0), Some(Duration::from_secs(30)));
        assert!(t.check("someone-else", ip, t0).is_err());
    }
}
