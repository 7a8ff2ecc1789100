//! The provisioning file's fleet settings (issue 19): `[server] ca`, the hub's CA when the
//! province issues the hub's certificate itself, is installed as `/etc/motcua/hub-ca.pem`
//! (certificates only) and named by `[sync] ca_file`; `[update]` reaches the device config
//! with only the keys given. Re-provisioning without them removes both. A private key pasted
//! as the CA, a bad window and `[update]` without `[server]` are refused by line and key, and
//! the previous config stays. (Beside tests/it/provision.rs, whose `Device` it uses.)

use std::path::Path;

use crate::provision::{filled, Device};
use crate::support::stderr;

fn ca_pem() -> String {
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    p.distinguished_name
        .push(rcgen::DnType::CommonName, "Sở TT&TT — CA tỉnh");
    let key = rcgen::KeyPair::generate().unwrap();
    p.self_signed(&key).unwrap().pem()
}

/// The filled template with `ca` in `[server]` and `update` appended.
fn with_fleet(ca: Option<&str>, update: &str) -> String {
    let mut t = filled();
    if let Some(ca) = ca {
        t = t.replacen("\n]\n", &format!("\n]\nca = \"\"\"\n{ca}\"\"\"\n"), 1);
    }
    t + update
}

const UPDATE: &str =
    "\n[update]\nchannel = \"pilot\"\nwindow = \"01:00-04:00\"\npinned_version = \"1.0.3\"\n";

#[test]
fn hub_ca_and_update_settings_are_installed_and_removed_with_the_file() {
    let d = Device::new();
    let ca = ca_pem();
    let out = d.provision(&with_fleet(
        Some(&format!("Province CA, 2026\n{ca}")),
        UPDATE,
    ));
    assert!(out.status.success(), "{}", stderr(&out));
    // The certificate only (the comment line is not carried), public.
    let installed = d.read("etc/motcua/hub-ca.pem");
    assert_eq!(
        pem::parse(&installed).unwrap().contents(),
        pem::parse(&ca).unwrap().contents()
    );
    assert!(
        installed.starts_with("-----BEGIN CERTIFICATE-----"),
        "{installed}"
    );
    assert_eq!(d.mode("etc/motcua/hub-ca.pem"), 0o644);
    let config = d.read("etc/motcua/motcua.toml");
    assert!(
        config.contains("ca_file = \"/etc/motcua/hub-ca.pem\"\n"),
        "{config}"
    );
    assert!(
        config.contains(
            "\n[update]\nchannel = \"pilot\"\nwindow = \"01:00-04:00\"\npinned_version = \"1.0.3\"\n"
        ),
        "{config}"
    );
    let parsed =
        motcua::config::Config::parse(Path::new("motcua.toml"), config.as_bytes()).unwrap();
    assert_eq!(parsed.update.channel, "pilot");
    assert_eq!(parsed.update.pinned_version.as_deref(), Some("1.0.3"));
    assert_eq!(parsed.update.poll_interval_secs, 300, "defaults kept");
    assert_eq!(
        parsed.sync.ca_file.as_deref(),
        Some(Path::new("/etc/motcua/hub-ca.pem"))
    );

    // Without them: no CA left to trust, the daemon's defaults for updates.
    let out = d.provision(&filled());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!d.root().join("etc/motcua/hub-ca.pem").exists());
    let config = d.read("etc/motcua/motcua.toml");
    assert!(
        !config.contains("ca_file") && !config.contains("[update]"),
        "{config}"
    );
}

#[test]
fn bad_fleet_settings_name_line_and_key_and_keep_the_old_config() {
    let d = Device::new();
    assert!(d.provision(&filled()).status.success());
    let before = d.read("etc/motcua/motcua.toml");
    let ca = ca_pem();
    let key = rcgen::KeyPair::generate().unwrap().serialize_pem();
    let refused = |text: String, key: &str, line_start: &str, why: &str| {
        let out = d.provision(&text);
        assert!(!out.status.success(), "{key} accepted");
        let line = text
            .lines()
            .position(|l| l.starts_with(line_start))
            .unwrap()
            + 1;
        assert_eq!(
            stderr(&out),
            format!(
                "motcua: error: {}:{line}: key `{key}`: {why}\n",
                d.fat().join("motcua.toml").display()
            )
        );
        assert_eq!(d.read("etc/motcua/motcua.toml"), before, "old config kept");
        assert!(!d.root().join("etc/motcua/hub-ca.pem").exists());
    };
    refused(
        with_fleet(Some(&format!("{ca}{key}")), ""),
        "server.ca",
        "ca = ",
        "holds a private key: give the CA's certificate only, and keep the key off the card",
    );
    refused(
        with_fleet(Some("the CA\n"), ""),
        "server.ca",
        "ca = ",
        "no -----BEGIN CERTIFICATE----- block: paste the hub CA's certificate (PEM)",
    );
    refused(
        with_fleet(None, "\n[update]\nwindow = \"22h-5h\"\n"),
        "update.window",
        "window = ",
        "update.window \"22h-5h\": expected HH:MM-HH:MM in local time, e.g. \"22:00-05:00\"",
    );
    refused(
        with_fleet(None, "\n[update]\ninstaller = \"fake\"\n"),
        "update.installer",
        "installer = ",
        "unknown field `installer`, expected one of `enabled`, `channel`, `window`, \
         `pinned_version`, `poll_interval_secs`, `confirm_timeout_secs`",
    );
    let offline = filled();
    let start = offline.find("\n[server]").unwrap();
    let end = start + offline[start..].find("\n]\n").unwrap() + 3;
    refused(
        format!("{}{}{UPDATE}", &offline[..start], &offline[end..]),
        "update",
        "[update]",
        "updates come from the hub: add [server], or remove [update]",
    );
}
