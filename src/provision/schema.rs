//! The technician's provisioning file (`motcua.toml` on the FAT boot partition): its schema,
//! parsing and validation.
//!
//! This schema belongs to provisioning, not to `config.rs`: it holds secrets (device token,
//! supervisor password, Wi-Fi passphrase, network cameras' passwords) that never reach
//! `/etc/motcua/motcua.toml`, and
//! sections whose owners have not landed in `config.rs` yet. Every error names the file, the
//! line and the key, like `config.rs` does; unknown keys are refused.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use base64::Engine;
use serde::Deserialize;
use toml::Spanned;

/// The only schema version this build understands.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvisionFile {
    /// Must be [`SCHEMA_VERSION`].
    pub schema: u32,
    pub center: Center,
    pub device: Device,
    #[serde(default)]
    pub kiosk: Kiosk,
    /// Without `[server]` the appliance runs offline (catalog from a USB file).
    #[serde(default)]
    pub server: Option<Server>,
    #[serde(default)]
    pub counters: Vec<Counter>,
    /// Network cameras (an NVR's or the counters' own IP cameras), by URL.
    #[serde(default)]
    pub recorder: Recorder,
    #[serde(default)]
    pub gpio: Gpio,
    pub supervisor: Supervisor,
    #[serde(default)]
    pub network: Network,
    /// A technician's way in: SSH is enabled only when this carries keys (key-only login).
    #[serde(default)]
    pub ssh: Option<Ssh>,
    /// The ticket printer, when the center has one (written to the device config as is).
    #[serde(default)]
    pub printer: Option<crate::printer::PrinterConfig>,
    /// Software updates from the hub: channel, reboot window, pin (`super::fleet`).
    #[serde(default)]
    pub update: Option<super::fleet::Update>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ssh {
    /// OpenSSH public keys (`ssh-ed25519 AAAA… comment`), one per technician; they log in as
    /// root with their key. No password login, ever.
    pub authorized_keys: Vec<String>,
}

/// Key types accepted in `[ssh] authorized_keys`.
pub const SSH_KEY_TYPES: &[&str] = &[
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-rsa",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
];

/// Why an OpenSSH public key line is refused, or None when it is well formed: a known type, a
/// base64 blob whose own type field matches it, and a printable comment; no options.
pub fn ssh_key_problem(line: &str) -> Option<String> {
    if line.contains(['\n', '\r']) || line.chars().any(char::is_control) {
        return Some("must be one line".into());
    }
    let mut parts = line.split_whitespace();
    let (Some(kind), Some(blob)) = (parts.next(), parts.next()) else {
        return Some(
            "must be `TYPE BASE64 [comment]`, e.g. the line of ~/.ssh/id_ed25519.pub".into(),
        );
    };
    if !SSH_KEY_TYPES.contains(&kind) {
        return Some(format!(
            "key type `{}` is not one of {} (key options are not allowed)",
            kind.chars().take(40).collect::<String>(),
            SSH_KEY_TYPES.join(", ")
        ));
    }
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(blob) else {
        return Some("the key is not valid base64 (copy the whole .pub line)".into());
    };
    let inner = bytes
        .get(..4)
        .map(|l| u32::from_be_bytes([l[0], l[1], l[2], l[3]]) as usize)
        .and_then(|n| bytes.get(4..4 + n));
    if inner != Some(kind.as_bytes()) {
        return Some(format!(
            "the key data is not a `{kind}` key (copy the whole .pub line)"
        ));
    }
    if kind == "ssh-ed25519" && bytes.len() != 51 {
        return Some("the ssh-ed25519 key has the wrong length (copy the whole .pub line)".into());
    }
    None
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Center {
    pub name: String,
    pub code: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Device {
    pub name: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Kiosk {
    #[serde(default)]
    pub language: Option<crate::catalog::Lang>,
    /// Secret: the PIN of the kiosk's technician screen (4–8 digits), stored only as an
    /// Argon2id hash in `[kiosk] technician_pin_hash`, blanked on the FAT copy.
    #[serde(default)]
    pub technician_pin: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Server {
    pub url: String,
    /// Secret: written to `secrets/device-token`, blanked on the FAT copy.
    pub token: Spanned<String>,
    /// Catalog signing keys the device trusts (base64 ed25519 public keys).
    pub public_keys: Vec<String>,
    /// The hub's CA certificate (PEM), when the province issues the hub's certificate itself:
    /// installed as `/etc/motcua/hub-ca.pem`, then only it is trusted (`super::fleet`).
    #[serde(default)]
    pub ca: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counter {
    pub id: u8,
    pub name: String,
    /// V4L2 device, preferably a stable `/dev/v4l/by-path/…` or `/dev/v4l/by-id/…` name;
    /// omitted when the counter's camera is a network camera (`[[recorder.cameras]]`).
    #[serde(default)]
    pub camera: Option<String>,
    /// BCM GPIO number of the counter's capture button.
    #[serde(default)]
    pub button_pin: Option<u8>,
}

/// `[recorder]` of the provisioning file: network cameras only (USB cameras are
/// `counters[].camera`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recorder {
    #[serde(default)]
    pub cameras: Vec<NetworkCamera>,
}

/// One network camera: written to motcua.toml as a `[[recorder.cameras]]` entry whose
/// `credentials_file` is `secrets/camera-<counter>`; the password goes only there.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkCamera {
    /// The counter it watches (1–32, one camera per counter).
    pub counter: u8,
    /// `rtsp://` stream or `http(s)://` snapshot URL, without user or password.
    pub url: String,
    /// The camera's (or NVR's) user, preferably a view-only one.
    pub user: String,
    /// Secret: written to `secrets/camera-<counter>`, blanked on the FAT copy.
    #[serde(default)]
    pub password: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gpio {
    #[serde(default)]
    pub motion_pin: Option<u8>,
    #[serde(default)]
    pub led_pin: Option<u8>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Supervisor {
    pub username: String,
    /// Secret: stored only as an Argon2id hash, blanked on the FAT copy.
    pub password: Spanned<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NetMode {
    #[default]
    Dhcp,
    Static,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    #[serde(default)]
    pub mode: NetMode,
    #[serde(default = "default_interface")]
    pub interface: String,
    /// `192.168.1.50/24` (static only).
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub gateway: Option<Ipv4Addr>,
    #[serde(default)]
    pub dns: Vec<IpAddr>,
    #[serde(default)]
    pub wifi: Option<Wifi>,
}

impl Default for Network {
    fn default() -> Self {
        Network {
            mode: NetMode::Dhcp,
            interface: default_interface(),
            address: None,
            gateway: None,
            dns: Vec::new(),
            wifi: None,
        }
    }
}

fn default_interface() -> String {
    "eth0".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Wifi {
    pub ssid: String,
    /// Secret: WPA passphrase (8–63 characters), blanked on the FAT copy.
    pub psk: Spanned<String>,
    /// Regulatory domain, two letters.
    #[serde(default = "default_country")]
    pub country: String,
}

fn default_country() -> String {
    "VN".into()
}

/// A provisioning file that cannot be applied. The message names file, line and key.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SchemaError {
    #[error("cannot read provisioning file {path}: {message}")]
    Read { path: PathBuf, message: String },
    #[error("{path}:{line}: key `{key}`: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        key: String,
        message: String,
    },
}

/// Byte ranges of the secret values in the file text (to blank them on the FAT copy).
pub fn secret_spans(p: &ProvisionFile) -> Vec<std::ops::Range<usize>> {
    let mut spans = vec![p.supervisor.password.span()];
    if let Some(s) = &p.server {
        spans.push(s.token.span());
    }
    if let Some(w) = &p.network.wifi {
        spans.push(w.psk.span());
    }
    if let Some(pin) = &p.kiosk.technician_pin {
        spans.push(pin.span());
    }
    spans.extend(
        p.recorder
            .cameras
            .iter()
            .filter_map(|c| c.password.as_ref().map(|p| p.span())),
    );
    spans
}

impl ProvisionFile {
    /// Parse and validate the text of a provisioning file; `path` is only used in messages.
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<ProvisionFile, SchemaError> {
        let invalid = |line, key: &str, message: String| SchemaError::Invalid {
            path: path.to_owned(),
            line,
            key: key.to_owned(),
            message,
        };
        let text = std::str::from_utf8(bytes).map_err(|e| {
            let line = line_of_bytes(&bytes[..e.valid_up_to()], usize::MAX);
            invalid(
                line,
                "-",
                "the file is not valid UTF-8 (save it as UTF-8)".into(),
            )
        })?;
        let de = toml::Deserializer::parse(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(1);
            invalid(line, "-", e.message().trim().to_owned())
        })?;
        let file: ProvisionFile = serde_path_to_error::deserialize(de).map_err(|e| {
            let key = e.path().to_string();
            let inner = e.into_inner();
            let line = inner.span().map(|s| line_of(text, s.start)).unwrap_or(1);
            invalid(line, &key, inner.message().trim().to_owned())
        })?;
        file.check()
            .map_err(|(key, message)| invalid(locate(text, &key), &key, message))?;
        Ok(file)
    }

    /// Checks serde cannot express. Returns the key (dotted, `counters[1].camera`) and why.
    fn check(&self) -> Result<(), (String, String)> {
        let err = |k: &str, m: &str| Err((k.to_owned(), m.to_owned()));
        if self.schema != SCHEMA_VERSION {
            return err("schema", "this appliance understands schema = 1 only");
        }
        if !text_ok(&self.center.name, 200) {
            return err("center.name", "must be 1 to 200 characters");
        }
        if !ident_ok(&self.center.code) {
            return err(
                "center.code",
                "must be 1 to 64 of a-z, 0-9 and '-' (the code the province gave)",
            );
        }
        if !text_ok(&self.device.name, 64) {
            return err("device.name", "must be 1 to 64 characters");
        }
        if let Some(s) = &self.server {
            if !(s.url.starts_with("https://") || s.url.starts_with("http://")) || s.url.len() > 512
            {
                return err("server.url", "must start with https://");
            }
            let t = s.token.get_ref();
            if t.is_empty() || t.len() > 512 || t.chars().any(|c| c.is_whitespace()) {
                return err(
                    "server.token",
                    "must be the token `motcua hub device add` printed (no spaces)",
                );
            }
            if s.public_keys.is_empty() {
                return err(
                    "server.public_keys",
                    "give at least one catalog signing key (`motcua hub keygen` prints it)",
                );
            }
            for (i, k) in s.public_keys.iter().enumerate() {
                let bytes = base64::engine::general_purpose::STANDARD.decode(k.trim());
                let Some(bytes) = bytes.ok().filter(|b| b.len() == 32) else {
                    return err(
                        &format!("server.public_keys[{i}]"),
                        "is not a base64 ed25519 public key (32 bytes)",
                    );
                };
                // The template's placeholder (`AAAA…=`, all zero) or any one-byte pattern.
                if bytes.iter().all(|b| *b == bytes[0]) {
                    return err(
                        &format!("server.public_keys[{i}]"),
                        "is the template's placeholder, not a real key; paste the key `motcua hub keygen` printed",
                    );
                }
                if crate::sync::PinnedKey::parse(k.trim()).is_err() {
                    return err(
                        &format!("server.public_keys[{i}]"),
                        "is not a valid ed25519 public key; paste the key `motcua hub keygen` printed",
                    );
                }
            }
        }
        let mut pins: Vec<(u8, String)> = Vec::new();
        let mut ids = Vec::new();
        for (i, c) in self.counters.iter().enumerate() {
            let at = |f: &str| format!("counters[{i}].{f}");
            if !(1..=32).contains(&c.id) || ids.contains(&c.id) {
                return err(&at("id"), "must be 1 to 32 and unique");
            }
            ids.push(c.id);
            if !text_ok(&c.name, 100) {
                return err(&at("name"), "must be 1 to 100 characters");
            }
            if let Some(camera) = &c.camera {
                let device = camera.starts_with("/dev/") && !camera.contains("..");
                if !device && camera != "synthetic" {
                    return err(
                        &at("camera"),
                        "must be a device path such as /dev/video0 (or \"synthetic\" for a test \
                         pattern); a network camera goes in [[recorder.cameras]]",
                    );
                }
            }
            if let Some(p) = c.button_pin {
                pins.push((p, at("button_pin")));
            }
        }
        self.check_network_cameras()?;
        if let Some(p) = self.gpio.motion_pin {
            pins.push((p, "gpio.motion_pin".into()));
        }
        if let Some(p) = self.gpio.led_pin {
            pins.push((p, "gpio.led_pin".into()));
        }
        for (n, (pin, key)) in pins.iter().enumerate() {
            if *pin > 27 {
                return err(key, "BCM GPIO numbers on the 40-pin header are 0 to 27");
            }
            if let Some((_, first)) = pins[..n].iter().find(|(p, _)| p == pin) {
                return err(key, &format!("GPIO {pin} is already used by {first}"));
            }
        }
        let u = &self.supervisor.username;
        if !(3..=32).contains(&u.len())
            || !u
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '_')
        {
            return err(
                "supervisor.username",
                "must be 3 to 32 of a-z, 0-9, '.' and '_'",
            );
        }
        if self.supervisor.password.get_ref().chars().count() < 10 {
            return err("supervisor.password", "must be at least 10 characters");
        }
        if let Some(pin) = &self.kiosk.technician_pin {
            if !crate::kiosk::technician::is_valid_pin(pin.get_ref()) {
                return err(
                    "kiosk.technician_pin",
                    "must be 4 to 8 digits (or remove the line for no PIN)",
                );
            }
        }
        if let Some(ssh) = &self.ssh {
            if ssh.authorized_keys.is_empty() {
                return err(
                    "ssh.authorized_keys",
                    "give at least one public key, or remove the [ssh] section (SSH stays off)",
                );
            }
            for (i, k) in ssh.authorized_keys.iter().enumerate() {
                if let Some(why) = ssh_key_problem(k.trim()) {
                    return err(&format!("ssh.authorized_keys[{i}]"), &why);
                }
            }
        }
        if let Some(Err(why)) = self
            .server
            .as_ref()
            .and_then(|s| s.ca.as_deref())
            .map(super::fleet::hub_ca_pem)
        {
            return err("server.ca", &why);
        }
        if let Some(u) = &self.update {
            if self.server.is_none() {
                return err(
                    "update",
                    "updates come from the hub: add [server], or remove [update]",
                );
            }
            u.check()?;
        }
        if let Some(pr) = &self.printer {
            let dev = pr.device.to_string_lossy();
            if !dev.starts_with("/dev/") || dev.contains("..") || dev.chars().any(char::is_control)
            {
                return err(
                    "printer.device",
                    "must be the printer's device node under /dev (a USB printer is /dev/usb/lp0)",
                );
            }
            if let Err(why) = pr.check() {
                return err("printer.width", &why);
            }
        }
        self.check_network()
    }

    fn check_network_cameras(&self) -> Result<(), (String, String)> {
        let err = |k: String, m: String| Err((k, m));
        for (i, c) in self.recorder.cameras.iter().enumerate() {
            let at = |f: &str| format!("recorder.cameras[{i}].{f}");
            if !(1..=32).contains(&c.counter) {
                return err(at("counter"), "must be 1 to 32".into());
            }
            if let Some(j) = self
                .counters
                .iter()
                .position(|u| u.id == c.counter && u.camera.is_some())
            {
                return err(
                    at("counter"),
                    format!(
                        "counter {} already has a camera (counters[{j}].camera); remove one of them",
                        c.counter
                    ),
                );
            }
            if let Some(j) = self.recorder.cameras[..i]
                .iter()
                .position(|o| o.counter == c.counter)
            {
                return err(
                    at("counter"),
                    format!(
                        "counter {} already has a camera (recorder.cameras[{j}]); one camera per \
                         counter",
                        c.counter
                    ),
                );
            }
            network_camera_url(&c.url).map_err(|why| (at("url"), why))?;
            if c.user.is_empty() || c.user.contains(':') || c.user.chars().any(char::is_control) {
                return err(
                    at("user"),
                    "must be the camera's user name (not empty, no ':')".into(),
                );
            }
            let Some(password) = &c.password else {
                return err(
                    at("password"),
                    "give the password of this user; it is written to the secrets directory, \
                     never to the config"
                        .into(),
                );
            };
            let p = password.get_ref();
            if p.is_empty() || p.chars().count() > 128 || p.chars().any(char::is_control) {
                return err(
                    at("password"),
                    "must be 1 to 128 characters on one line".into(),
                );
            }
        }
        Ok(())
    }

    fn check_network(&self) -> Result<(), (String, String)> {
        let err = |k: &str, m: &str| Err((k.to_owned(), m.to_owned()));
        let n = &self.network;
        if n.interface.is_empty()
            || n.interface.len() > 15
            || !n.interface.chars().all(|c| c.is_ascii_alphanumeric())
        {
            return err(
                "network.interface",
                "must be an interface name such as eth0",
            );
        }
        match n.mode {
            NetMode::Dhcp => {
                if n.address.is_some() || n.gateway.is_some() {
                    return err(
                        "network.mode",
                        "is \"dhcp\" but address/gateway are set; use mode = \"static\"",
                    );
                }
            }
            NetMode::Static => {
                let Some(a) = &n.address else {
                    return err(
                        "network.address",
                        "mode = \"static\" needs an address such as \"192.168.1.50/24\"",
                    );
                };
                if parse_cidr(a).is_none() {
                    return err("network.address", "must look like \"192.168.1.50/24\"");
                }
                if n.gateway.is_none() {
                    return err("network.gateway", "mode = \"static\" needs a gateway");
                }
                if n.dns.is_empty() {
                    return err(
                        "network.dns",
                        "mode = \"static\" needs at least one DNS server",
                    );
                }
            }
        }
        if let Some(w) = &n.wifi {
            if w.ssid.is_empty() || w.ssid.len() > 32 || w.ssid.contains(['"', '\n']) {
                return err("network.wifi.ssid", "must be 1 to 32 bytes, without quotes");
            }
            let psk = w.psk.get_ref();
            if !(8..=63).contains(&psk.len()) || psk.contains(['"', '\n']) {
                return err("network.wifi.psk", "a WPA passphrase is 8 to 63 characters");
            }
            if w.country.len() != 2 || !w.country.chars().all(|c| c.is_ascii_uppercase()) {
                return err(
                    "network.wifi.country",
                    "must be two capital letters, e.g. \"VN\"",
                );
            }
        }
        Ok(())
    }
}

/// Why `url` is not a network camera's URL the recorder accepts, if it is not.
pub fn network_camera_url(url: &str) -> Result<(), String> {
    use crate::recorder::camera::{http_snapshot::HttpSnapshotCamera, rtsp::RtspCamera};
    let checked = if url.starts_with("rtsp://") {
        RtspCamera::new(url, None).map(|_| ())
    } else if url.starts_with("http://") || url.starts_with("https://") {
        HttpSnapshotCamera::new(url, None, std::time::Duration::ZERO).map(|_| ())
    } else {
        Err(
            "must start with rtsp://, http:// or https:// (the stream or snapshot URL `motcua \
             cameras discover` prints)"
                .into(),
        )
    };
    checked.map_err(|why| {
        if why.contains("credentials_file") {
            "must not carry a user name or password; give them as user and password".into()
        } else if why.starts_with("must") {
            why
        } else {
            format!("is not a URL ({why})")
        }
    })
}

/// `a.b.c.d/nn` → (address, prefix length).
pub fn parse_cidr(s: &str) -> Option<(Ipv4Addr, u8)> {
    let (a, p) = s.split_once('/')?;
    let prefix: u8 = p.parse().ok().filter(|p| (1..=32).contains(p))?;
    Some((a.parse().ok()?, prefix))
}

fn text_ok(s: &str, max: usize) -> bool {
    !s.trim().is_empty() && s.chars().count() <= max && !s.chars().any(char::is_control)
}

fn ident_ok(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn line_of(text: &str, offset: usize) -> usize {
    line_of_bytes(text.as_bytes(), offset)
}

fn line_of_bytes(bytes: &[u8], offset: usize) -> usize {
    bytes[..offset.min(bytes.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// The line a dotted key (`network.wifi.psk`, `counters[1].camera`) is written on: the key's
/// own line when found under its table header, else the header's line, else 1.
fn locate(text: &str, key: &str) -> usize {
    // A whole section (`update`): its header.
    if !key.contains(['.', '[']) {
        let header = format!("[{key}]");
        if let Some(n) = text
            .lines()
            .position(|l| l.trim_start().starts_with(&header))
        {
            return n + 1;
        }
    }
    let (table, leaf) = match key.rsplit_once('.') {
        Some((t, l)) => (t, l),
        None => ("", key),
    };
    let leaf = leaf.split('[').next().unwrap_or(leaf);
    // `counters[1]` → the second `[[counters]]` header.
    let (header, nth) = match table.split_once('[') {
        Some((name, rest)) => (
            format!("[[{name}]]"),
            rest.trim_end_matches(']').parse().unwrap_or(0),
        ),
        None => (format!("[{table}]"), 0),
    };
    let mut in_table = table.is_empty();
    let mut seen = 0usize;
    let mut header_line = None;
    for (n, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.starts_with('[') {
            let hit = t.starts_with(&header) && (header.starts_with("[[") || !t.starts_with("[["));
            in_table = hit && seen == nth;
            if hit {
                seen += 1;
                if in_table {
                    header_line = Some(n + 1);
                }
            }
            continue;
        }
        if in_table {
            if let Some(rest) = t.strip_prefix(leaf) {
                if rest.trim_start().starts_with('=') {
                    return n + 1;
                }
            }
        }
    }
    header_line.unwrap_or(1)
}
