//! The one configuration file, `motcua.toml`, and where the data directory is.
//!
//! Every field is documented in `docs/config.md` (keep them in step). Unknown keys are refused,
//! and every error names the file, the line and the key, so a technician can fix it on site.
//! Loading never writes anything.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::catalog::{Lang, DEFAULT_MAX_BUNDLE_BYTES};
pub use crate::device::config::{ButtonPin, DisplayConfig, GpioConfig};

/// Where the service reads its configuration when `--config` is not given.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/motcua/motcua.toml";
/// Data directory of the installed service.
pub const SERVICE_DATA_DIR: &str = "/var/lib/motcua";
/// Environment variable naming the data directory.
pub const DATA_DIR_ENV: &str = "MOTCUA_DATA_DIR";

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Data directory; the `--data-dir` flag and `MOTCUA_DATA_DIR` take precedence.
    #[serde(default)]
    pub data_dir: Option<PathBuf>,
    #[serde(default)]
    pub device: DeviceConfig,
    /// The center this appliance serves (`docs/config.md`, "## [center]"), from provisioning.
    #[serde(default)]
    pub center: CenterConfig,
    #[serde(default)]
    pub kiosk: KioskConfig,
    #[serde(default)]
    pub catalog: CatalogConfig,
    #[serde(default)]
    pub gpio: GpioConfig,
    #[serde(default)]
    pub display: DisplayConfig,
    /// Counter cameras and snapshot retention (`docs/config.md`, "## [recorder]").
    #[serde(default)]
    pub recorder: crate::recorder::config::RecorderConfig,
    /// The central server (`docs/config.md`, "## [sync]").
    #[serde(default)]
    pub sync: SyncConfig,
    /// Taking a number at the kiosk (`docs/config.md`, "## [tickets]").
    #[serde(default)]
    pub tickets: crate::sync::tickets::TicketsConfig,
    /// The ticket printer (`docs/config.md`, "## [printer]"); none: tickets are not printed.
    #[serde(default)]
    pub printer: Option<crate::printer::PrinterConfig>,
    /// Supervisor review UI (`docs/config.md`, "## [review]").
    #[serde(default)]
    pub review: crate::review::config::ReviewConfig,
    /// Software updates from the hub (`docs/config.md`, "## [update]").
    #[serde(default)]
    pub update: crate::update::config::UpdateConfig,
    /// True when the file has a `[review]` table: the daemon then serves the review UI.
    #[serde(skip)]
    pub review_enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceConfig {
    /// Name of this appliance as shown to technicians and the server.
    #[serde(default = "default_device_name")]
    pub name: String,
}

impl Default for DeviceConfig {
    fn default() -> Self {
        DeviceConfig {
            name: default_device_name(),
        }
    }
}

fn default_device_name() -> String {
    "motcua".into()
}

/// The center (`[center]`), written by provisioning. Its name is what the kiosk's home screen
/// shows (the catalog's own center name only when it is absent).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CenterConfig {
    /// The center's name as citizens know it, e.g. "Trung tâm Phục vụ hành chính công xã Mẫu".
    #[serde(default)]
    pub name: Option<String>,
    /// The code the province gave (a-z, 0-9, '-').
    #[serde(default)]
    pub code: Option<String>,
}

impl CenterConfig {
    fn check(&self) -> Result<(), String> {
        if let Some(n) = &self.name {
            if n.trim().is_empty() || n.chars().count() > 200 || n.chars().any(char::is_control) {
                return Err(
                    "center.name must be 1 to 200 characters, without control characters".into(),
                );
            }
        }
        if let Some(c) = &self.code {
            let ok = (1..=64).contains(&c.len())
                && c.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            if !ok {
                return Err("center.code must be 1 to 64 of a-z, 0-9 and '-'".into());
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KioskConfig {
    /// Language shown after start-up and after the idle reset.
    #[serde(default)]
    pub language: Lang,
    /// Seconds without a touch before the kiosk goes back to the home screen.
    #[serde(default = "default_idle_home")]
    pub idle_home_secs: u32,
    /// Seconds without a touch before the dim attract screen.
    #[serde(default = "default_attract")]
    pub attract_after_secs: u32,
    /// Argon2id hash (PHC string) of the technician screen's PIN, written by provisioning
    /// from `technician_pin`. None: the hidden gesture opens the technician screen directly.
    #[serde(default)]
    pub technician_pin_hash: Option<String>,
}

impl Default for KioskConfig {
    fn default() -> Self {
        KioskConfig {
            language: Lang::Vi,
            idle_home_secs: default_idle_home(),
            attract_after_secs: default_attract(),
            technician_pin_hash: None,
        }
    }
}

fn default_idle_home() -> u32 {
    90
}
fn default_attract() -> u32 {
    300
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogConfig {
    /// Largest catalog bundle accepted (file import or download), in bytes.
    #[serde(default = "default_max_bundle")]
    pub max_bundle_bytes: usize,
}

impl Default for CatalogConfig {
    fn default() -> Self {
        CatalogConfig {
            max_bundle_bytes: default_max_bundle(),
        }
    }
}

fn default_max_bundle() -> usize {
    DEFAULT_MAX_BUNDLE_BYTES
}

/// The link to the central server (`[sync]`). Without `server_url` the daemon runs offline.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncConfig {
    /// Base URL of the central server, `https://…` (or `http://` on loopback for tests).
    #[serde(default)]
    pub server_url: Option<String>,
    /// This device's bearer token, inline. Prefer `token_file`.
    #[serde(default)]
    pub token: Option<String>,
    /// File holding this device's bearer token (first line), e.g. from provisioning.
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// Catalog signing keys this device trusts: ed25519 public keys, base64 (32 bytes each).
    #[serde(default)]
    pub public_keys: Vec<String>,
    /// PEM file with the CA certificate(s) the server's HTTPS certificate must chain to; when
    /// set, only these are trusted (a hub with a certificate from the province's own CA).
    /// Unset: the web PKI (a hub with a publicly trusted certificate).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Seconds between catalog polls when all is well (a ±10 % jitter is added).
    #[serde(default = "default_poll_interval")]
    pub poll_interval_secs: u64,
    /// First retry delay after a failure, in seconds; doubles with each failure.
    #[serde(default = "default_backoff_base")]
    pub backoff_base_secs: u64,
    /// Longest retry delay, in seconds (never longer than `poll_interval_secs` either).
    #[serde(default = "default_backoff_max")]
    pub backoff_max_secs: u64,
    /// Seconds to wait for a TCP/TLS connection to the server.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_secs: u64,
    /// Seconds a whole ordinary request (catalog download included) may take.
    #[serde(default = "default_request_timeout")]
    pub request_timeout_secs: u64,
    /// Seconds the server may hold a queue long-poll open before answering "nothing new".
    #[serde(default = "default_queue_wait")]
    pub queue_wait_secs: u64,
    /// Seconds between heartbeats queued for upload.
    #[serde(default = "default_heartbeat_interval")]
    pub heartbeat_interval_secs: u64,
    /// Local socket the kiosk talks to; default `<data dir>/daemon.sock`.
    #[serde(default)]
    pub socket_path: Option<PathBuf>,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            server_url: None,
            token: None,
            token_file: None,
            public_keys: Vec::new(),
            ca_file: None,
            poll_interval_secs: default_poll_interval(),
            backoff_base_secs: default_backoff_base(),
            backoff_max_secs: default_backoff_max(),
            connect_timeout_secs: default_connect_timeout(),
            request_timeout_secs: default_request_timeout(),
            queue_wait_secs: default_queue_wait(),
            heartbeat_interval_secs: default_heartbeat_interval(),
            socket_path: None,
        }
    }
}

fn default_poll_interval() -> u64 {
    300
}
fn default_backoff_base() -> u64 {
    5
}
fn default_backoff_max() -> u64 {
    300
}
fn default_connect_timeout() -> u64 {
    10
}
fn default_request_timeout() -> u64 {
    120
}
fn default_queue_wait() -> u64 {
    25
}
fn default_heartbeat_interval() -> u64 {
    300
}

impl SyncConfig {
    /// The device token: inline `token`, else the first line of `token_file`.
    pub fn load_token(&self) -> Result<Option<String>, String> {
        if let Some(t) = &self.token {
            return Ok(Some(t.trim().to_owned()));
        }
        let Some(path) = &self.token_file else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read sync.token_file {}: {e}", path.display()))?;
        let token = text.lines().next().unwrap_or("").trim().to_owned();
        if token.is_empty() {
            return Err(format!("sync.token_file {} is empty", path.display()));
        }
        Ok(Some(token))
    }

    fn check(&self) -> Result<(), String> {
        if let Some(url) = &self.server_url {
            crate::sync::server_url::check(url).map_err(|why| format!("sync.server_url {why}"))?;
        }
        if self.token.is_some() && self.token_file.is_some() {
            return Err("sync: give token or token_file, not both".into());
        }
        for (i, k) in self.public_keys.iter().enumerate() {
            if crate::sync::PinnedKey::parse(k).is_err() {
                return Err(format!(
                    "sync.public_keys[{i}] is not a base64 ed25519 public key (32 bytes); copy the line `motcua hub keygen` printed"
                ));
            }
        }
        if self.poll_interval_secs == 0 || self.backoff_base_secs == 0 || self.backoff_max_secs == 0
        {
            return Err("sync: poll_interval_secs, backoff_base_secs and backoff_max_secs must be at least 1".into());
        }
        if self.backoff_base_secs > self.backoff_max_secs {
            return Err("sync.backoff_base_secs must not be above sync.backoff_max_secs".into());
        }
        if self.connect_timeout_secs == 0 || self.request_timeout_secs == 0 {
            return Err("sync: timeouts must be at least 1 second".into());
        }
        if !(1..=120).contains(&self.queue_wait_secs) {
            return Err("sync.queue_wait_secs must be between 1 and 120".into());
        }
        if self.heartbeat_interval_secs < 10 {
            return Err("sync.heartbeat_interval_secs must be at least 10".into());
        }
        Ok(())
    }
}

/// A configuration file that could not be used. The message names file, line and key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: key `{key}`: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        key: String,
        message: String,
    },
    #[error("{path}: {message}")]
    Semantic { path: PathBuf, message: String },
}

impl Config {
    /// Load `path`. With `required == false` a missing file means all defaults.
    /// Beyond [`Config::parse`], the files it names are checked where that needs the disk
    /// (camera credentials files' modes).
    pub fn load(path: &Path, required: bool) -> Result<Config, ConfigError> {
        match std::fs::read(path) {
            Ok(bytes) => {
                let config = Config::parse(path, &bytes)?;
                config
                    .recorder
                    .check_files()
                    .map_err(|message| ConfigError::Semantic {
                        path: path.to_owned(),
                        message,
                    })?;
                Ok(config)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
                Ok(Config::default())
            }
            Err(source) => Err(ConfigError::Read {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// Parse the text of a config file; `path` is only used in messages.
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<Config, ConfigError> {
        let invalid = |line, key: &str, message: String| ConfigError::Invalid {
            path: path.to_owned(),
            line,
            key: key.to_owned(),
            message,
        };
        let text = std::str::from_utf8(bytes).map_err(|e| {
            let line = bytes[..e.valid_up_to()]
                .iter()
                .filter(|b| **b == b'\n')
                .count()
                + 1;
            invalid(line, "-", "the file is not valid UTF-8".into())
        })?;
        let de = toml::Deserializer::parse(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(1);
            invalid(line, "-", e.message().trim().to_owned())
        })?;
        let mut config: Config = serde_path_to_error::deserialize(de).map_err(|e| {
            let key = e.path().to_string();
            let inner = e.into_inner();
            let line = inner.span().map(|s| line_of(text, s.start)).unwrap_or(1);
            invalid(line, &key, inner.message().trim().to_owned())
        })?;
        config.review_enabled = text
            .parse::<toml::Table>()
            .is_ok_and(|t| t.contains_key("review"));
        config.check(path)?;
        Ok(config)
    }

    fn check(&self, path: &Path) -> Result<(), ConfigError> {
        let semantic = |message: String| ConfigError::Semantic {
            path: path.to_owned(),
            message,
        };
        self.tickets.check().map_err(semantic)?;
        if let Some(p) = &self.printer {
            p.check().map_err(semantic)?;
        }
        if self.kiosk.idle_home_secs < 10 {
            return Err(semantic("kiosk.idle_home_secs must be at least 10".into()));
        }
        if self.kiosk.attract_after_secs < self.kiosk.idle_home_secs {
            return Err(semantic(
                "kiosk.attract_after_secs must not be shorter than kiosk.idle_home_secs".into(),
            ));
        }
        if let Some(h) = &self.kiosk.technician_pin_hash {
            if !crate::review::auth::is_argon2id_hash(h) {
                return Err(semantic(
                    "kiosk.technician_pin_hash is not an Argon2id hash ($argon2id$…); set \
                     technician_pin in the provisioning file and apply it again"
                        .into(),
                ));
            }
        }
        if !(1024..=1024 * 1024 * 1024).contains(&self.catalog.max_bundle_bytes) {
            return Err(semantic(
                "catalog.max_bundle_bytes must be between 1024 and 1073741824".into(),
            ));
        }
        self.gpio.check().map_err(semantic)?;
        self.display.check().map_err(semantic)?;
        if self.device.name.trim().is_empty() || self.device.name.len() > 64 {
            return Err(semantic("device.name must be 1 to 64 characters".into()));
        }
        self.center.check().map_err(semantic)?;
        self.recorder.check().map_err(semantic)?;
        self.sync.check().map_err(semantic)?;
        self.review.check().map_err(semantic)?;
        self.update.check().map_err(semantic)?;
        Ok(())
    }

    /// The data directory: flag, then environment, then the file, then the default.
    pub fn data_dir(&self, flag: Option<&Path>) -> PathBuf {
        if let Some(dir) = flag {
            return dir.to_owned();
        }
        if let Some(dir) = std::env::var_os(DATA_DIR_ENV).filter(|d| !d.is_empty()) {
            return PathBuf::from(dir);
        }
        if let Some(dir) = &self.data_dir {
            return dir.clone();
        }
        default_data_dir()
    }
}

/// `/var/lib/motcua` under systemd (which sets `INVOCATION_ID`) and on an installed appliance
/// (a technician's `motcua doctor` over SSH as root must look at the service's data, not at
/// root's empty `~/.local/share/motcua`), else the user's data dir.
pub fn default_data_dir() -> PathBuf {
    if std::env::var_os("INVOCATION_ID").is_some() || installed_under(Path::new("/")) {
        return PathBuf::from(SERVICE_DATA_DIR);
    }
    dirs::data_dir()
        .map(|d| d.join("motcua"))
        .unwrap_or_else(|| PathBuf::from(".motcua"))
}

/// An installed appliance under `root`: the service's config file and data directory exist.
pub fn installed_under(root: &Path) -> bool {
    let rel = |p: &str| root.join(p.trim_start_matches('/'));
    rel(DEFAULT_CONFIG_PATH).is_file() && rel(SERVICE_DATA_DIR).is_dir()
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(Path::new("/etc/motcua/motcua.toml"), text.as_bytes())
    }

    #[test]
    fn an_installed_appliance_defaults_to_the_service_data_dir() {
        // The boot test's SSH login: `motcua doctor` as root looked at ~/.local/share/motcua.
        let t = tempfile::tempdir().unwrap();
        assert!(!installed_under(t.path()));
        std::fs::create_dir_all(t.path().join("etc/motcua")).unwrap();
        std::fs::write(t.path().join("etc/motcua/motcua.toml"), "").unwrap();
        assert!(
            !installed_under(t.path()),
            "config alone is not an appliance"
        );
        std::fs::create_dir_all(t.path().join("var/lib/motcua")).unwrap();
        assert!(installed_under(t.path()));
    }

    #[test]
    fn center_section_is_read_and_checked() {
        let c = parse("[center]\nname = \"Trung tâm xã Mẫu\"\ncode = \"xa-mau\"\n").unwrap();
        assert_eq!(c.center.name.as_deref(), Some("Trung tâm xã Mẫu"));
        assert_eq!(c.center.code.as_deref(), Some("xa-mau"));
        assert_eq!(
            parse("[center]\nname = \"  \"\n").unwrap_err().to_string(),
            "/etc/motcua/motcua.toml: center.name must be 1 to 200 characters, without control characters"
        );
        assert_eq!(
            parse("[center]\ncode = \"Xa Mau\"\n")
                .unwrap_err()
                .to_string(),
            "/etc/motcua/motcua.toml: center.code must be 1 to 64 of a-z, 0-9 and '-'"
        );
    }

    #[test]
    fn empty_file_is_all_defaults() {
        assert_eq!(parse("").unwrap(), Config::default());
    }

    #[test]
    fn full_file_parses() {
        let c = parse(
            "data_dir = \"/srv/motcua\"\n[device]\nname = \"kiosk-1\"\n[kiosk]\nlanguage = \"en\"\nidle_home_secs = 30\nattract_after_secs = 600\n[catalog]\nmax_bundle_bytes = 1048576\n",
        )
        .unwrap();
        assert_eq!(c.data_dir.as_deref(), Some(Path::new("/srv/motcua")));
        assert_eq!(c.kiosk.language, Lang::En);
        assert_eq!(c.kiosk.idle_home_secs, 30);
        assert_eq!(c.catalog.max_bundle_bytes, 1_048_576);
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let err = parse("[device]\nname = \"a\"\n\n[kiosk]\nidle_hom_secs = 5\n").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("/etc/motcua/motcua.toml:5: key `kiosk"),
            "{msg}"
        );
        assert!(msg.contains("unknown field `idle_hom_secs`"), "{msg}");
    }

    #[test]
    fn wrong_type_names_the_key() {
        let err = parse("[kiosk]\nidle_home_secs = \"soon\"\n").unwrap_err();
        match err {
            ConfigError::Invalid {
                line, key, message, ..
            } => {
                assert_eq!(line, 2);
                assert_eq!(key, "kiosk.idle_home_secs");
                assert!(message.contains("invalid type: string"), "{message}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn syntax_error_has_a_line() {
        let err = parse("[kiosk]\nlanguage = \n").unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { line: 2, .. }), "{err}");
    }

    #[test]
    fn bad_language_and_semantics() {
        let err = parse("[kiosk]\nlanguage = \"fr\"\n").unwrap_err();
        assert!(err.to_string().contains("key `kiosk.language`"), "{err}");
        let err = parse("[kiosk]\nidle_home_secs = 60\nattract_after_secs = 30\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "/etc/motcua/motcua.toml: kiosk.attract_after_secs must not be shorter than kiosk.idle_home_secs"
        );
    }

    #[test]
    fn sync_section_parses_and_checks() {
        let key = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
        let c = parse(&format!(
            "[sync]\nserver_url = \"https://hub.example.vn\"\ntoken_file = \"/etc/motcua/token\"\npublic_keys = [\"{key}\"]\npoll_interval_secs = 60\nbackoff_base_secs = 2\nbackoff_max_secs = 60\n"
        ))
        .unwrap();
        assert_eq!(c.sync.server_url.as_deref(), Some("https://hub.example.vn"));
        assert_eq!(c.sync.poll_interval_secs, 60);
        assert_eq!(c.sync.queue_wait_secs, 25);
        let err = parse("[sync]\npublic_keys = [\"bm90IGEga2V5\"]\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "/etc/motcua/motcua.toml: sync.public_keys[0] is not a base64 ed25519 public key (32 bytes); copy the line `motcua hub keygen` printed"
        );
        let err = parse("[sync]\nserver_url = \"ftp://x\"\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "/etc/motcua/motcua.toml: sync.server_url \"ftp://x\" uses ftp://; use https://"
        );
        // Plain http to another machine is refused when the config is read (the daemon does
        // not start), not discovered later as a network problem.
        let err = parse("[sync]\nserver_url = \"http://192.168.1.20:8080\"\n").unwrap_err();
        assert!(
            err.to_string().starts_with(
                "/etc/motcua/motcua.toml: sync.server_url \"http://192.168.1.20:8080\" is plain http:// to another machine"
            ),
            "{err}"
        );
        let err = parse("[sync]\nbackoff_base_secs = 10\nbackoff_max_secs = 5\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "/etc/motcua/motcua.toml: sync.backoff_base_secs must not be above sync.backoff_max_secs"
        );
        let err = parse("[sync]\ntoken = \"a\"\ntoken_file = \"/t\"\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "/etc/motcua/motcua.toml: sync: give token or token_file, not both"
        );
        let err = parse("[sync]\npoll_interval = 5\n").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("/etc/motcua/motcua.toml:2: key `sync.poll_interval`"),
            "{err}"
        );
        assert!(
            err.to_string().contains("unknown field `poll_interval`"),
            "{err}"
        );
    }

    #[test]
    fn not_utf8_is_refused() {
        let err = Config::parse(Path::new("x.toml"), b"[device]\nname = \"\xff\"\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "x.toml:2: key `-`: the file is not valid UTF-8"
        );
    }

    #[test]
    fn missing_optional_file_is_defaults_but_required_is_an_error() {
        let p = Path::new("/nonexistent/motcua.toml");
        assert_eq!(Config::load(p, false).unwrap(), Config::default());
        assert!(matches!(
            Config::load(p, true),
            Err(ConfigError::Read { .. })
        ));
    }
}
