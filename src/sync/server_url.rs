//! Which central-server URLs a device accepts (`[sync] server_url`, the provisioning file):
//! `https://` anywhere, plain `http://` only to this machine's loopback (tests, a hub on the
//! same host). Checked when the config is read, so a daemon given `http://hub.lan` refuses to
//! start with a message saying why, instead of starting and then failing every request.
//!
//! The host is parsed with the `url` crate (the one reqwest uses), so `http://localhost.evil`
//! or `http://127.0.0.1@hub.lan` are not mistaken for loopback.

use std::net::IpAddr;

use reqwest::Url;

/// Longest URL accepted.
pub const MAX_LEN: usize = 512;

/// `Ok` when a device may talk to `url`; else a sentence for the technician.
pub fn check(url: &str) -> Result<(), String> {
    if url.len() > MAX_LEN {
        return Err(format!("is longer than {MAX_LEN} characters"));
    }
    let parsed = Url::parse(url).map_err(|e| format!("{url:?} is not a URL ({e})"))?;
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(format!("{url:?} names no host"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(format!(
            "{url:?} carries a user name or password; the device authenticates with its token"
        ));
    }
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(&parsed) => Ok(()),
        "http" => Err(format!(
            "{url:?} is plain http:// to another machine: the token and the catalog would cross \
             the network unprotected. Use https:// (plain http:// is accepted only for 127.0.0.1, \
             [::1] or localhost)"
        )),
        other => Err(format!("{url:?} uses {other}://; use https://")),
    }
}

/// True for `http://` URLs whose host is this machine's loopback.
pub fn is_loopback_http(url: &str) -> bool {
    Url::parse(url).is_ok_and(|u| u.scheme() == "http" && is_loopback(&u))
}

fn is_loopback(u: &Url) -> bool {
    let Some(host) = u.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_and_http_only_on_loopback() {
        for ok in [
            "https://hub.example.vn",
            "https://10.0.0.5:8443/base",
            "http://127.0.0.1:8080",
            "http://127.9.9.9",
            "http://localhost:3000",
            "http://[::1]:8080",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
        assert!(is_loopback_http("http://127.0.0.1:8080"));
        assert!(!is_loopback_http("https://127.0.0.1"));
    }

    #[test]
    fn refusals_name_the_url_and_the_reason() {
        assert_eq!(
            check("http://hub.lan:8080").unwrap_err(),
            "\"http://hub.lan:8080\" is plain http:// to another machine: the token and the \
             catalog would cross the network unprotected. Use https:// (plain http:// is \
             accepted only for 127.0.0.1, [::1] or localhost)"
        );
        // Look-alikes of loopback are other machines.
        for lookalike in [
            "http://localhost.evil.example",
            "http://127.0.0.1.nip.io",
            "http://127.0.0.1@hub.lan",
            "http://192.168.1.10",
        ] {
            assert!(check(lookalike).is_err(), "{lookalike}");
            assert!(!is_loopback_http(lookalike), "{lookalike}");
        }
        assert_eq!(
            check("ftp://x").unwrap_err(),
            "\"ftp://x\" uses ftp://; use https://"
        );
        assert!(check("hub.example.vn")
            .unwrap_err()
            .contains("is not a URL"));
        assert!(check("https://user:pw@hub.example.vn")
            .unwrap_err()
            .contains("user name or password"));
        assert_eq!(
            check(&format!("https://{}", "a".repeat(600))).unwrap_err(),
            "is longer than 512 characters"
        );
    }
}
