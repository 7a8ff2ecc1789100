//! The provisioning file's fleet settings: `[update]` (the channel a device follows, when it may
//! reboot into a new version, a pin) and `[server] ca` (the hub's CA certificate, when the
//! province issues the hub's certificate itself). Their schema, their checks and what they
//! install: the `[update]` section of `/etc/motcua/motcua.toml` with only the keys given, and
//! `/etc/motcua/hub-ca.pem` named by `[sync] ca_file`.

use std::fmt::Write as _;

use serde::Deserialize;

use crate::update::config::{Window, MIN_CONFIRM_SECS, MIN_POLL_SECS};

/// `[update]` of the provisioning file: what a technician sets for a device. Keys left out
/// keep the daemon's defaults (`docs/config.md`, "## [update]").
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Update {
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub channel: Option<String>,
    /// `HH:MM-HH:MM`, local time.
    #[serde(default)]
    pub window: Option<String>,
    #[serde(default)]
    pub pinned_version: Option<String>,
    #[serde(default)]
    pub poll_interval_secs: Option<u64>,
    #[serde(default)]
    pub confirm_timeout_secs: Option<u64>,
}

impl Update {
    /// The first problem as (dotted key, why), checked as the daemon's config checks them.
    pub fn check(&self) -> Result<(), (String, String)> {
        let err = |k: &str, m: String| Err((format!("update.{k}"), m));
        if let Some(w) = &self.window {
            if let Err(why) = Window::parse(w) {
                return err("window", why);
            }
        }
        for (key, v) in [
            ("channel", &self.channel),
            ("pinned_version", &self.pinned_version),
        ] {
            if let Some(v) = v {
                if crate::hub::updates::check_label(v, "").is_err() {
                    return err(
                        key,
                        "1 to 64 letters, digits, '.', '-', '_' or '+' (as published on the hub)"
                            .into(),
                    );
                }
            }
        }
        if self.poll_interval_secs.is_some_and(|s| s < MIN_POLL_SECS) {
            return err(
                "poll_interval_secs",
                format!("must be at least {MIN_POLL_SECS}"),
            );
        }
        if self
            .confirm_timeout_secs
            .is_some_and(|s| s < MIN_CONFIRM_SECS)
        {
            return err(
                "confirm_timeout_secs",
                format!("must be at least {MIN_CONFIRM_SECS}"),
            );
        }
        Ok(())
    }

    /// The body of the device config's `[update]`: only the keys given (None when none are).
    pub fn render(&self) -> Option<String> {
        let q = |s: &str| toml::Value::String(s.to_owned()).to_string();
        let mut b = String::new();
        if let Some(e) = self.enabled {
            let _ = writeln!(b, "enabled = {e}");
        }
        for (key, v) in [
            ("channel", &self.channel),
            ("window", &self.window),
            ("pinned_version", &self.pinned_version),
        ] {
            if let Some(v) = v {
                let _ = writeln!(b, "{key} = {}", q(v));
            }
        }
        for (key, v) in [
            ("poll_interval_secs", self.poll_interval_secs),
            ("confirm_timeout_secs", self.confirm_timeout_secs),
        ] {
            if let Some(v) = v {
                let _ = writeln!(b, "{key} = {v}");
            }
        }
        (!b.is_empty()).then_some(b)
    }
}

/// `[server] ca`: the CA certificate(s) as they are installed (PEM, certificates only), or why
/// the text is refused: not PEM, a private key pasted in, no certificate, or one rustls
/// cannot use as a trust anchor.
pub fn hub_ca_pem(text: &str) -> Result<String, String> {
    let items = pem::parse_many(text)
        .map_err(|e| format!("not PEM ({e}); paste the CA certificate's whole text"))?;
    if items.iter().any(|p| p.tag().contains("PRIVATE KEY")) {
        return Err(
            "holds a private key: give the CA's certificate only, and keep the key off \
                    the card"
                .into(),
        );
    }
    let certs: Vec<&pem::Pem> = items.iter().filter(|p| p.tag() == "CERTIFICATE").collect();
    if certs.is_empty() {
        return Err(
            "no -----BEGIN CERTIFICATE----- block: paste the hub CA's certificate (PEM)".into(),
        );
    }
    let mut store = rustls::RootCertStore::empty();
    for (i, c) in certs.iter().enumerate() {
        let der = rustls::pki_types::CertificateDer::from(c.contents().to_vec());
        if let Err(e) = store.add(der) {
            return Err(format!(
                "certificate {} is not a usable CA certificate ({e})",
                i + 1
            ));
        }
    }
    let owned: Vec<pem::Pem> = certs.into_iter().cloned().collect();
    let lf = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
    Ok(pem::encode_many_config(&owned, lf))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ca_pem() -> String {
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        p.distinguished_name
            .push(rcgen::DnType::CommonName, "Province CA");
        let key = rcgen::KeyPair::generate().unwrap();
        p.self_signed(&key).unwrap().pem()
    }

    #[test]
    fn update_keys_are_checked_and_only_given_ones_written() {
        let u = Update {
            channel: Some("pilot".into()),
            window: Some("01:00-04:00".into()),
            pinned_version: Some("1.0.3".into()),
            ..Update::default()
        };
        assert_eq!(u.check(), Ok(()));
        assert_eq!(
            u.render().unwrap(),
            "channel = \"pilot\"\nwindow = \"01:00-04:00\"\npinned_version = \"1.0.3\"\n"
        );
        assert_eq!(Update::default().render(), None);
        let bad = |u: Update| u.check().unwrap_err().0;
        let w = Update {
            window: Some("22-05".into()),
            ..Update::default()
        };
        assert_eq!(bad(w), "update.window");
        let c = Update {
            channel: Some("kênh 1".into()),
            ..Update::default()
        };
        assert_eq!(bad(c), "update.channel");
        let p = Update {
            poll_interval_secs: Some(5),
            ..Update::default()
        };
        assert_eq!(bad(p), "update.poll_interval_secs");
        let t = Update {
            confirm_timeout_secs: Some(1),
            ..Update::default()
        };
        assert_eq!(bad(t), "update.confirm_timeout_secs");
    }

    #[test]
    fn hub_ca_keeps_certificates_and_refuses_the_rest() {
        let ca = ca_pem();
        let with_text = format!("Province CA, issued 2026\n{ca}");
        let out = hub_ca_pem(&with_text).unwrap();
        assert!(out.starts_with("-----BEGIN CERTIFICATE-----\n"), "{out}");
        assert!(!out.contains('\r'), "{out}");
        assert_eq!(
            pem::parse(&out).unwrap().contents(),
            pem::parse(&ca).unwrap().contents()
        );
        let key = rcgen::KeyPair::generate().unwrap().serialize_pem();
        assert!(hub_ca_pem(&format!("{ca}{key}"))
            .unwrap_err()
            .contains("private key"));
        assert!(hub_ca_pem("paste here")
            .unwrap_err()
            .contains("no -----BEGIN"));
        let garbage = pem::encode(&pem::Pem::new("CERTIFICATE", b"not der".to_vec()));
        assert!(hub_ca_pem(&garbage)
            .unwrap_err()
            .starts_with("certificate 1 is not a usable CA certificate"));
        assert!(
            hub_ca_pem("-----BEGIN CERTIFICATE-----\n@@@\n-----END CERTIFICATE-----\n")
                .unwrap_err()
                .starts_with("not PEM")
        );
    }
}
