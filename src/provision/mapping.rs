//! The one place that maps a provisioning file to the files it installs: the text of
//! `/etc/motcua/motcua.toml` (no secrets), the secret files' contents, the network units, and
//! every installed path.
//!
//! Sections owned by other areas (`[sync]`, `[recorder]`, `[gpio]`, `[review]`, `[center]`) are
//! written as soon as `config.rs` accepts them: [`render_config`] asks `Config` whether it knows
//! a section and writes the ones it does not know yet as comments (kept for the technician and
//! listed in `provisioned.json` as pending). When a section lands in `config.rs`, the next
//! provisioning enables it without a change here — unless its keys differ from the ones below,
//! which is the only thing to adjust.

use std::fmt::Write as _;
use std::path::Path;

use super::schema::{NetMode, ProvisionFile, Wifi};
use crate::config::Config;

/// Installed paths, relative to the root (`/`, or `--root DIR` in tests).
pub mod paths {
    pub const ETC: &str = "etc/motcua";
    pub const CONFIG: &str = "etc/motcua/motcua.toml";
    pub const SECRETS: &str = "etc/motcua/secrets";
    pub const TOKEN: &str = "etc/motcua/secrets/device-token";
    pub const DEVICE_KEY: &str = "etc/motcua/secrets/device.key";
    pub const DEVICE_PUB: &str = "etc/motcua/device.pub";
    /// `[server] ca`: the hub's CA certificate(s), named by `[sync] ca_file`.
    pub const HUB_CA: &str = "etc/motcua/hub-ca.pem";
    pub const TLS_KEY: &str = "etc/motcua/secrets/review-tls.key";
    pub const TLS_CERT: &str = "etc/motcua/review-tls.crt";
    pub const USERS: &str = "etc/motcua/secrets/review-users.toml";
    pub const NETWORK_DIR: &str = "etc/motcua/network";
    /// systemd-networkd unit; `/etc/systemd/network/10-motcua.network` links here in the image.
    pub const NETWORK_UNIT: &str = "etc/motcua/network/10-motcua.network";
    /// wpa_supplicant@wlan0 config (root only); `/etc/wpa_supplicant/…` links here in the image.
    pub const WPA_CONF: &str = "etc/motcua/secrets/wpa_supplicant-wlan0.conf";
    /// SSH (key-only, as root): the technicians' public keys from `[ssh] authorized_keys`.
    /// sshd runs only while this file exists (the image's ssh.service drop-in), and reads its
    /// host keys from the same directory (made on the device at the first SSH start).
    pub const SSH_DIR: &str = "etc/motcua/ssh";
    pub const SSH_KEYS: &str = "etc/motcua/ssh/authorized_keys";
    /// Public status for the kiosk's technician screen (JSON, world-readable).
    pub const STATUS: &str = "etc/motcua/provisioned.json";
    /// Why the last provisioning failed, for the kiosk's technician screen. Removed on success.
    /// In /run (tmpfs): the unapplied file stays on the FAT partition, so every boot retries
    /// and writes it again.
    pub const ERROR: &str = "run/motcua-provision/error";
    /// Written when provisioning succeeded during this boot (tmpfs: gone at the next boot);
    /// the kiosk then opens its technician screen by itself.
    pub const APPLIED_THIS_BOOT: &str = "run/motcua-provision/applied";
}

/// Absolute path of an installed file on the real device (for values written into config).
pub fn abs(rel: &str) -> String {
    format!("/{rel}")
}

/// One `[table]` of motcua.toml, rendered without its header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub name: &'static str,
    pub body: String,
}

fn q(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// motcua.toml's sections, in file order. Secrets appear only as paths to files.
pub fn config_sections(p: &ProvisionFile, pin_hash: Option<&str>) -> Vec<Section> {
    let mut out = Vec::new();
    out.push(Section {
        name: "device",
        body: format!("name = {}\n", q(&p.device.name)),
    });
    let mut kiosk = String::new();
    if let Some(lang) = p.kiosk.language {
        let l = match lang {
            crate::catalog::Lang::Vi => "vi",
            crate::catalog::Lang::En => "en",
        };
        let _ = writeln!(kiosk, "language = {}", q(l));
    }
    if let Some(h) = pin_hash {
        let _ = writeln!(kiosk, "technician_pin_hash = {}", q(h));
    }
    if !kiosk.is_empty() {
        out.push(Section {
            name: "kiosk",
            body: kiosk,
        });
    }
    out.push(Section {
        name: "center",
        body: format!(
            "name = {}\ncode = {}\n",
            q(&p.center.name),
            q(&p.center.code)
        ),
    });
    if let Some(s) = &p.server {
        let keys: Vec<String> = s.public_keys.iter().map(|k| q(k.trim())).collect();
        let mut body = format!(
            "server_url = {}\ntoken_file = {}\npublic_keys = [{}]\n",
            q(&s.url),
            q(&abs(paths::TOKEN)),
            keys.join(", ")
        );
        if s.ca.is_some() {
            let _ = writeln!(body, "ca_file = {}", q(&abs(paths::HUB_CA)));
        }
        out.push(Section { name: "sync", body });
        if let Some(body) = p.update.as_ref().and_then(|u| u.render()) {
            out.push(Section {
                name: "update",
                body,
            });
        }
    }
    let mut body = String::new();
    for c in &p.counters {
        if let Some(camera) = &c.camera {
            let _ = write!(
                body,
                "\n# {}\n[[recorder.cameras]]\ncounter = {}\ndevice = {}\n",
                c.name.replace('\n', " "),
                c.id,
                q(camera)
            );
        }
    }
    for c in &p.recorder.cameras {
        let name = p.counters.iter().find(|u| u.id == c.counter).map_or_else(
            || format!("counter {}", c.counter),
            |u| u.name.replace('\n', " "),
        );
        let _ = write!(
            body,
            "\n# {name} (network camera; user and password in its credentials_file)\n\
             [[recorder.cameras]]\ncounter = {}\ndevice = {}\ncredentials_file = {}\n",
            c.counter,
            q(&c.url),
            q(&abs(&camera_credentials(c.counter)))
        );
    }
    if !body.is_empty() {
        out.push(Section {
            name: "recorder",
            body,
        });
    }
    let mut gpio = String::new();
    if let Some(pin) = p.gpio.motion_pin {
        let _ = writeln!(gpio, "pir_pin = {pin}");
    }
    if let Some(pin) = p.gpio.led_pin {
        let _ = writeln!(gpio, "status_led_pin = {pin}");
    }
    for c in &p.counters {
        if let Some(pin) = c.button_pin {
            let _ = write!(
                gpio,
                "\n[[gpio.buttons]]\ncounter = {}\npin = {pin}\n",
                c.id
            );
        }
    }
    if !gpio.is_empty() {
        out.push(Section {
            name: "gpio",
            body: gpio,
        });
    }
    if let Some(pr) = &p.printer {
        out.push(Section {
            name: "printer",
            body: format!(
                "device = {}\nwidth = {}\n",
                q(&pr.device.to_string_lossy()),
                pr.width
            ),
        });
    }
    out.push(Section {
        name: "review",
        body: format!(
            "tls_cert = {}\ntls_key = {}\nusers_file = {}\n",
            q(&abs(paths::TLS_CERT)),
            q(&abs(paths::TLS_KEY)),
            q(&abs(paths::USERS))
        ),
    });
    out
}

/// A network camera's credentials file, relative to the root: `etc/motcua/secrets/camera-N`.
pub fn camera_credentials(counter: u8) -> String {
    format!("{}/camera-{counter}", paths::SECRETS)
}

/// Does this build's `config.rs` know section `name`? (An unknown one is refused by name.)
pub fn config_knows(name: &str) -> bool {
    match Config::parse(Path::new("probe.toml"), format!("[{name}]\n").as_bytes()) {
        Ok(_) => true,
        Err(e) => !e.to_string().contains(&format!("unknown field `{name}`")),
    }
}

/// The text of motcua.toml and the names of sections written as comments (not yet read by
/// this build).
pub fn render_config(
    sections: &[Section],
    knows: impl Fn(&str) -> bool,
    header: &str,
) -> (String, Vec<String>) {
    let mut text = String::new();
    for line in header.lines() {
        let _ = writeln!(text, "# {line}");
    }
    let mut pending = Vec::new();
    for s in sections {
        text.push('\n');
        if knows(s.name) {
            let _ = writeln!(text, "[{}]", s.name);
            text.push_str(&s.body);
        } else {
            pending.push(s.name.to_owned());
            let _ = writeln!(
                text,
                "# [{}] is not read by this version of motcua yet; kept for a later update:",
                s.name
            );
            let _ = writeln!(text, "# [{}]", s.name);
            for line in s.body.lines() {
                let _ = writeln!(text, "# {line}");
            }
        }
    }
    (text, pending)
}

/// systemd-networkd unit for the wired (or the only) interface.
pub fn network_unit(p: &ProvisionFile) -> String {
    let n = &p.network;
    let mut t = format!(
        "# Written by motcua provision. Edit the provisioning file instead.\n[Match]\nName={}\n\n[Network]\n",
        n.interface
    );
    match n.mode {
        NetMode::Dhcp => t.push_str("DHCP=yes\n"),
        NetMode::Static => {
            let _ = writeln!(t, "Address={}", n.address.as_deref().unwrap_or_default());
            if let Some(g) = n.gateway {
                let _ = writeln!(t, "Gateway={g}");
            }
            for d in &n.dns {
                let _ = writeln!(t, "DNS={d}");
            }
        }
    }
    if n.wifi.is_some() {
        // Wi-Fi always by DHCP; the wired settings above apply to `interface`.
        t.push_str("\n# Wi-Fi (wlan0) is configured in 11-motcua-wifi.network\n");
    }
    t
}

/// systemd-networkd unit for wlan0 (DHCP), written only when `[network.wifi]` is given.
pub const WIFI_NETWORK_UNIT: &str = "etc/motcua/network/11-motcua-wifi.network";
pub fn wifi_network_unit() -> String {
    "# Written by motcua provision.\n[Match]\nName=wlan0\n\n[Network]\nDHCP=yes\n".into()
}

/// wpa_supplicant configuration (holds the passphrase: root only).
pub fn wpa_conf(w: &Wifi) -> String {
    format!(
        "# Written by motcua provision.\nctrl_interface=DIR=/run/wpa_supplicant GROUP=netdev\ncountry={}\nnetwork={{\n  ssid=\"{}\"\n  psk=\"{}\"\n  key_mgmt=WPA-PSK\n}}\n",
        w.country,
        w.ssid,
        w.psk.get_ref()
    )
}

/// The review UI's account file: the first supervisor with an Argon2id (PHC string) hash.
pub fn users_file(username: &str, password_hash: &str) -> String {
    format!(
        "# Review UI accounts. Written by motcua provision; the password is stored only as a hash.\n\n[[user]]\nusername = {}\nrole = \"supervisor\"\npassword_hash = {}\n",
        q(username),
        q(password_hash)
    )
}

/// A hostname derived from the device name: lowercase ASCII letters, digits and '-'.
pub fn hostname(device_name: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let mut h = String::new();
    for c in device_name.nfd() {
        let c = match c {
            'đ' | 'Đ' => 'd',
            c => c.to_ascii_lowercase(),
        };
        if c.is_ascii_alphanumeric() {
            h.push(c);
        } else if (c == '-' || c == ' ' || c == '_' || c == '.') && !h.ends_with('-') {
            h.push('-');
        }
    }
    let h: String = h.trim_matches('-').chars().take(63).collect();
    let h = h.trim_end_matches('-').to_owned();
    if h.is_empty() {
        "motcua".into()
    } else {
        h
    }
}
