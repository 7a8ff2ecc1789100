//! The `[recorder]` section of `motcua.toml`: cameras per counter and the retention policy.
//! Every field is documented in `docs/config.md` ("## [recorder]"); unknown keys are refused.
//!
//! Parsing and checking only; never opens a device.

use std::path::PathBuf;

use serde::Deserialize;

use super::camera::PixelFormat;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecorderConfig {
    /// Frames kept in RAM per camera (the pre-trigger window), 2 to 60.
    #[serde(default = "default_ring")]
    pub ring_frames: usize,
    /// JPEG quality used when a YUYV camera's frame is encoded, 50 to 95.
    #[serde(default = "default_quality")]
    pub yuyv_quality: u8,
    /// One entry per counter camera.
    #[serde(default)]
    pub cameras: Vec<CameraConfig>,
    #[serde(default)]
    pub retention: RetentionConfig,
    /// The device's ed25519 key (PEM, written by provisioning): signs chain heads and case
    /// exports. Absent file: exports are unsigned and say so, no head is anchored.
    #[serde(default = "default_device_key")]
    pub device_key: PathBuf,
    /// Seconds between signed chain heads for the hub (60 to 86400); every export signs one too.
    #[serde(default = "default_anchor_interval")]
    pub anchor_interval_secs: u32,
    /// The directory every network camera's `credentials_file` must be in: the device's
    /// secrets directory. Leave it on the device; tests and development set their own.
    #[serde(default = "default_secrets_dir")]
    pub secrets_dir: PathBuf,
}

impl Default for RecorderConfig {
    fn default() -> Self {
        RecorderConfig {
            ring_frames: default_ring(),
            yuyv_quality: default_quality(),
            cameras: Vec::new(),
            retention: RetentionConfig::default(),
            device_key: default_device_key(),
            anchor_interval_secs: default_anchor_interval(),
            secrets_dir: default_secrets_dir(),
        }
    }
}

fn default_device_key() -> PathBuf {
    PathBuf::from("/etc/motcua/secrets/device.key")
}
/// The device's secrets directory (`root:motcua`, mode 0750, made by provisioning).
pub const SECRETS_DIR: &str = "/etc/motcua/secrets";

fn default_secrets_dir() -> PathBuf {
    PathBuf::from(SECRETS_DIR)
}
fn default_anchor_interval() -> u32 {
    600
}

fn default_ring() -> usize {
    8
}
fn default_quality() -> u8 {
    85
}

/// Which pixel formats to accept, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum FormatPreference {
    /// MJPEG if the camera offers it, else YUYV.
    #[default]
    Auto,
    Mjpeg,
    Yuyv,
}

impl FormatPreference {
    pub fn order(self) -> Vec<PixelFormat> {
        match self {
            FormatPreference::Auto => vec![PixelFormat::Mjpeg, PixelFormat::Yuyv],
            FormatPreference::Mjpeg => vec![PixelFormat::Mjpeg],
            FormatPreference::Yuyv => vec![PixelFormat::Yuyv],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraConfig {
    /// Counter number this camera watches (1 to 999, unique).
    pub counter: u32,
    /// Stable device path, e.g. `/dev/v4l/by-id/usb-046d_C270-video-index0`; or `synthetic`
    /// for the built-in test-pattern camera (development and demos).
    pub device: PathBuf,
    /// Requested width in pixels (the driver may pick the nearest it supports).
    #[serde(default = "default_width")]
    pub width: u32,
    /// Requested height in pixels.
    #[serde(default = "default_height")]
    pub height: u32,
    /// `auto` (MJPEG, else YUYV), `mjpeg` or `yuyv`.
    #[serde(default)]
    pub format: FormatPreference,
    /// Take a snapshot every this many seconds (0 = off; otherwise at least 10).
    #[serde(default)]
    pub interval_secs: u32,
    /// For a network camera (`device = "http://…"`): the file in the secrets directory holding
    /// `user:password` (never written into this config).
    #[serde(default)]
    pub credentials_file: Option<PathBuf>,
    /// For a network camera: fetch its snapshot URL every this many milliseconds (200 to
    /// 10000); the newest fetched frame is what a trigger stores.
    #[serde(default = "default_fetch_interval")]
    pub fetch_interval_ms: u32,
}

fn default_fetch_interval() -> u32 {
    500
}

fn default_width() -> u32 {
    1280
}
fn default_height() -> u32 {
    720
}

impl CameraConfig {
    pub fn is_synthetic(&self) -> bool {
        self.device.as_os_str() == "synthetic"
    }

    /// A network camera's snapshot URL (`http://` or `https://`) or stream (`rtsp://`)
    /// instead of a device node.
    pub fn url(&self) -> Option<&str> {
        let d = self.device.to_str()?;
        ["http://", "https://", "rtsp://"]
            .iter()
            .any(|p| d.starts_with(p))
            .then_some(d)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    /// Delete unpinned snapshots older than this many days (1 to 3650).
    #[serde(default = "default_age")]
    pub max_age_days: u32,
    /// Keep the snapshots' total size under this many bytes (0 = no quota).
    #[serde(default)]
    pub max_bytes: u64,
    /// Prune the oldest unpinned snapshots while the data filesystem has less free space.
    #[serde(default = "default_min_free")]
    pub min_free_bytes: u64,
    /// Seconds between retention passes (60 to 86400); low space also triggers one.
    #[serde(default = "default_check")]
    pub check_interval_secs: u32,
    /// Never delete a snapshot younger than this many seconds (0 to 2592000), whatever the
    /// quota or free space says: a capture that would need to fails loudly instead.
    #[serde(default = "default_min_age")]
    pub min_age_secs: u32,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            max_age_days: default_age(),
            max_bytes: 0,
            min_free_bytes: default_min_free(),
            check_interval_secs: default_check(),
            min_age_secs: default_min_age(),
        }
    }
}

fn default_age() -> u32 {
    90
}
fn default_min_free() -> u64 {
    500 * 1024 * 1024
}
fn default_check() -> u32 {
    600
}
fn default_min_age() -> u32 {
    3600
}

impl RecorderConfig {
    /// Semantic checks; the message names the key.
    pub fn check(&self) -> Result<(), String> {
        if !(2..=60).contains(&self.ring_frames) {
            return Err("recorder.ring_frames must be between 2 and 60".into());
        }
        if !(50..=95).contains(&self.yuyv_quality) {
            return Err("recorder.yuyv_quality must be between 50 and 95".into());
        }
        let r = &self.retention;
        if !(1..=3650).contains(&r.max_age_days) {
            return Err("recorder.retention.max_age_days must be between 1 and 3650".into());
        }
        if !(60..=86_400).contains(&r.check_interval_secs) {
            return Err(
                "recorder.retention.check_interval_secs must be between 60 and 86400".into(),
            );
        }
        if r.min_age_secs > 2_592_000 {
            return Err("recorder.retention.min_age_secs must be between 0 and 2592000".into());
        }
        if !(60..=86_400).contains(&self.anchor_interval_secs) {
            return Err("recorder.anchor_interval_secs must be between 60 and 86400".into());
        }
        if !self.secrets_dir.is_absolute() {
            return Err(format!(
                "recorder.secrets_dir {} must be an absolute path ({SECRETS_DIR} on the device)",
                self.secrets_dir.display()
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, c) in self.cameras.iter().enumerate() {
            let at = format!("recorder.cameras[{i}]");
            if !(1..=999).contains(&c.counter) {
                return Err(format!("{at}.counter must be between 1 and 999"));
            }
            if !seen.insert(c.counter) {
                return Err(format!("{at}.counter {} is configured twice", c.counter));
            }
            if let Some(url) = c.url() {
                if url.starts_with("rtsp://") {
                    crate::recorder::camera::rtsp::RtspCamera::new(url, None).map(|_| ())
                } else {
                    crate::recorder::camera::http_snapshot::HttpSnapshotCamera::new(
                        url,
                        None,
                        std::time::Duration::ZERO,
                    )
                    .map(|_| ())
                }
                .map_err(|why| format!("{at}.device {why}"))?;
                if let Some(f) = &c.credentials_file {
                    self.check_in_secrets_dir(&at, f)?;
                }
                // a trigger waits for the next fetch, at most FIRST_FRAME_WAIT (3 s): a pace
                // slower than 2 s would make some captures fail for want of a fresh frame
                if !(200..=2_000).contains(&c.fetch_interval_ms) {
                    return Err(format!(
                        "{at}.fetch_interval_ms must be between 200 and 2000 (a capture waits \
                         at most 3 s for a picture taken after its trigger)"
                    ));
                }
            } else if c.credentials_file.is_some() {
                return Err(format!(
                    "{at}.credentials_file is only for a network camera (device = \"http://…\" or \"rtsp://…\")"
                ));
            } else if !c.is_synthetic() && !c.device.starts_with("/dev/") {
                return Err(format!("{at}.device must be a path under /dev/ (preferably /dev/v4l/by-id/...), an http:// or https:// snapshot URL, an rtsp:// stream, or \"synthetic\""));
            }
            if !(160..=4096).contains(&c.width)
                || !(120..=4096).contains(&c.height)
                || c.width % 2 != 0
            {
                return Err(format!(
                    "{at}: width must be an even number 160..4096 and height 120..4096"
                ));
            }
            if c.interval_secs != 0 && c.interval_secs < 10 {
                return Err(format!("{at}.interval_secs must be 0 (off) or at least 10"));
            }
        }
        Ok(())
    }
}

impl RecorderConfig {
    /// A credentials file is named by an absolute path inside `secrets_dir`, without `..`.
    fn check_in_secrets_dir(&self, at: &str, f: &std::path::Path) -> Result<(), String> {
        use std::path::Component;
        let plain = f.is_absolute() && f.components().all(|c| !matches!(c, Component::ParentDir));
        if plain && f.starts_with(&self.secrets_dir) && f != self.secrets_dir {
            return Ok(());
        }
        Err(format!(
            "{at}.credentials_file {} is not in the secrets directory {}: move it there (owner \
             root, group motcua, mode 0640) and give its full path",
            f.display(),
            self.secrets_dir.display()
        ))
    }

    /// Checks that read the disk (`Config::load`, not `Config::parse`): each network camera's
    /// credentials file, where it exists, is readable by its owner and group only and
    /// writable by its owner only. A missing file is left to the camera's own error.
    pub fn check_files(&self) -> Result<(), String> {
        use std::os::unix::fs::MetadataExt;
        for (i, c) in self.cameras.iter().enumerate() {
            let Some(f) = &c.credentials_file else {
                continue;
            };
            let Ok(meta) = std::fs::metadata(f) else {
                continue;
            };
            let mode = meta.mode() & 0o7777;
            let why = if mode & 0o007 != 0 {
                "other users can read or change it"
            } else if mode & 0o020 != 0 {
                "its group can change it"
            } else {
                continue;
            };
            return Err(format!(
                "recorder.cameras[{i}].credentials_file {} has mode {mode:04o}: {why}; run \
                 `chown root:motcua {f}` and `chmod 0640 {f}`",
                f.display(),
                f = f.display()
            ));
        }
        Ok(())
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
    fn full_recorder_section_parses() {
        let c = parse(
            "[recorder]\nring_frames = 4\n[recorder.retention]\nmax_age_days = 30\nmax_bytes = 1000000\n\
             [[recorder.cameras]]\ncounter = 1\ndevice = \"/dev/v4l/by-id/usb-cam-video-index0\"\nwidth = 1920\nheight = 1080\nformat = \"mjpeg\"\ninterval_secs = 60\n\
             [[recorder.cameras]]\ncounter = 2\ndevice = \"synthetic\"\n",
        )
        .unwrap();
        let r = &c.recorder;
        assert_eq!(r.ring_frames, 4);
        assert_eq!(r.retention.max_age_days, 30);
        assert_eq!(r.cameras.len(), 2);
        assert_eq!(r.cameras[0].width, 1920);
        assert!(r.cameras[1].is_synthetic());
        assert_eq!((r.cameras[1].width, r.cameras[1].interval_secs), (1280, 0));
    }

    #[test]
    fn recorder_errors_name_the_key() {
        assert_eq!(
            parse("[[recorder.cameras]]\ncounter = 1\ndevice = \"synthetic\"\nfps = 5\n").unwrap_err(),
            "m.toml:4: key `recorder.cameras[0].fps`: unknown field `fps`, expected one of `counter`, `device`, `width`, `height`, `format`, `interval_secs`, `credentials_file`, `fetch_interval_ms`"
        );
        assert_eq!(
            parse("[[recorder.cameras]]\ncounter = 1\ndevice = \"../etc/passwd\"\n").unwrap_err(),
            "m.toml: recorder.cameras[0].device must be a path under /dev/ (preferably /dev/v4l/by-id/...), an http:// or https:// snapshot URL, an rtsp:// stream, or \"synthetic\""
        );
        // Network cameras: URL checked, credentials only in their file, a sane fetch pace.
        let cam = parse("[[recorder.cameras]]\ncounter = 1\ndevice = \"http://192.168.1.64/ISAPI/Streaming/channels/101/picture\"\ncredentials_file = \"/etc/motcua/secrets/camera-1\"\n").unwrap();
        let c = &cam.recorder.cameras[0];
        assert_eq!(
            c.url(),
            Some("http://192.168.1.64/ISAPI/Streaming/channels/101/picture")
        );
        assert_eq!(c.fetch_interval_ms, 500);
        assert_eq!(
            parse("[[recorder.cameras]]\ncounter = 1\ndevice = \"http://admin:12345@192.168.1.64/x\"\n").unwrap_err(),
            "m.toml: recorder.cameras[0].device must not carry a user name or password; put them in credentials_file"
        );
        assert_eq!(
            parse("[[recorder.cameras]]\ncounter = 1\ndevice = \"http://cam/x\"\nfetch_interval_ms = 50\n").unwrap_err(),
            "m.toml: recorder.cameras[0].fetch_interval_ms must be between 200 and 2000 (a capture waits at most 3 s for a picture taken after its trigger)"
        );
        assert!(parse("[[recorder.cameras]]\ncounter = 1\ndevice = \"http://cam/x\"\nfetch_interval_ms = 2001\n").is_err());
        assert_eq!(
            parse("[[recorder.cameras]]\ncounter = 1\ndevice = \"/dev/video0\"\ncredentials_file = \"/x\"\n").unwrap_err(),
            "m.toml: recorder.cameras[0].credentials_file is only for a network camera (device = \"http://…\" or \"rtsp://…\")"
        );
        assert_eq!(
            parse("[[recorder.cameras]]\ncounter = 1\ndevice = \"synthetic\"\n[[recorder.cameras]]\ncounter = 1\ndevice = \"synthetic\"\n").unwrap_err(),
            "m.toml: recorder.cameras[1].counter 1 is configured twice"
        );
        assert_eq!(
            parse("[[recorder.cameras]]\ncounter = 1\ndevice = \"synthetic\"\ninterval_secs = 3\n")
                .unwrap_err(),
            "m.toml: recorder.cameras[0].interval_secs must be 0 (off) or at least 10"
        );
        assert_eq!(
            parse("[recorder.retention]\nmax_age_days = 0\n").unwrap_err(),
            "m.toml: recorder.retention.max_age_days must be between 1 and 3650"
        );
        assert!(parse(
            "[[recorder.cameras]]\ncounter = 1\ndevice = \"synthetic\"\nformat = \"h264\"\n"
        )
        .unwrap_err()
        .contains("key `recorder.cameras[0].format`"));
    }

    /// Review finding (issue 17): a credentials file anywhere, with any mode, was accepted.
    #[test]
    fn credentials_files_must_be_in_the_secrets_dir() {
        let cam = |f: &str| {
            format!("[[recorder.cameras]]\ncounter = 1\ndevice = \"rtsp://192.168.1.64/102\"\ncredentials_file = \"{f}\"\n")
        };
        for f in [
            "/home/pi/camera-1",
            "/etc/motcua/secrets/../motcua.toml",
            "camera-1",
            "/etc/motcua/secrets",
        ] {
            assert_eq!(
                parse(&cam(f)).unwrap_err(),
                format!("m.toml: recorder.cameras[0].credentials_file {f} is not in the secrets directory /etc/motcua/secrets: move it there (owner root, group motcua, mode 0640) and give its full path")
            );
        }
        parse(&cam("/etc/motcua/secrets/camera-1")).unwrap();
        // tests and development name their own directory
        let own = format!(
            "[recorder]\nsecrets_dir = \"/tmp/s\"\n{}",
            cam("/tmp/s/camera-1")
        );
        parse(&own).unwrap();
        assert_eq!(
            parse(&format!("[recorder]\nsecrets_dir = \"s\"\n{}", cam("/etc/motcua/secrets/camera-1"))).unwrap_err(),
            "m.toml: recorder.secrets_dir s must be an absolute path (/etc/motcua/secrets on the device)"
        );
    }

    #[test]
    fn credentials_files_others_can_read_or_the_group_can_change_are_refused_on_load() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let creds = dir.path().join("camera-1");
        std::fs::write(&creds, "admin:pw\n").unwrap();
        let config = dir.path().join("motcua.toml");
        std::fs::write(
            &config,
            format!(
                "[recorder]\nsecrets_dir = \"{d}\"\n[[recorder.cameras]]\ncounter = 1\n\
                 device = \"rtsp://192.168.1.64/102\"\ncredentials_file = \"{c}\"\n",
                d = dir.path().display(),
                c = creds.display()
            ),
        )
        .unwrap();
        let c = creds.display();
        for (mode, why) in [
            (0o644, "other users can read or change it"),
            (0o604, "other users can read or change it"),
            (0o642, "other users can read or change it"),
            (0o660, "its group can change it"),
        ] {
            std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(mode)).unwrap();
            assert_eq!(
                Config::load(&config, true).unwrap_err().to_string(),
                format!(
                    "{}: recorder.cameras[0].credentials_file {c} has mode {mode:04o}: {why}; \
                     run `chown root:motcua {c}` and `chmod 0640 {c}`",
                    config.display()
                )
            );
        }
        for good in [0o640, 0o600, 0o400] {
            std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(good)).unwrap();
            Config::load(&config, true).unwrap();
        }
        // parse alone never reads the disk
        std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o644)).unwrap();
        Config::parse(&config, &std::fs::read(&config).unwrap()).unwrap();
    }
}
