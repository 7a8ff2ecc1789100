//! `[update]` in `motcua.toml`: how the daemon looks for, fetches and applies software
//! updates (docs/config.md, "## [update]"; docs/updates.md). Parsing and checking only.

use serde::Deserialize;

/// The shortest `update.poll_interval_secs` accepted: a fleet polling faster loads the hub.
pub const MIN_POLL_SECS: u64 = 10;
/// The shortest `update.confirm_timeout_secs` accepted: the kiosk's first frame, health and
/// a sync need at least this long after boot.
pub const MIN_CONFIRM_SECS: u64 = 30;

/// `[update]`. Every field has a default; updates need `[sync] server_url` too.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateConfig {
    /// Ask the hub for updates at all.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The hub channel this device follows.
    #[serde(default = "default_channel")]
    pub channel: String,
    /// Seconds between questions to the hub.
    #[serde(default = "default_poll")]
    pub poll_interval_secs: u64,
    /// Local time when a reboot into a new version may happen, `HH:MM-HH:MM` (may wrap
    /// midnight; equal ends: all day).
    #[serde(default = "default_window")]
    pub window: String,
    /// Stay on (or go to) exactly this version of the channel.
    #[serde(default)]
    pub pinned_version: Option<String>,
    /// Largest bundle downloaded, in bytes.
    #[serde(default = "default_max_bundle")]
    pub max_bundle_bytes: u64,
    /// Seconds the new version has, after boot, to draw the kiosk, be healthy and sync.
    #[serde(default = "default_confirm")]
    pub confirm_timeout_secs: u64,
    /// `rauc` (the device) or `fake` (the demo and tests: slots in a file).
    #[serde(default = "default_installer")]
    pub installer: String,
}

impl Default for UpdateConfig {
    fn default() -> Self {
        UpdateConfig {
            enabled: true,
            channel: default_channel(),
            poll_interval_secs: default_poll(),
            window: default_window(),
            pinned_version: None,
            max_bundle_bytes: default_max_bundle(),
            confirm_timeout_secs: default_confirm(),
            installer: default_installer(),
        }
    }
}

fn yes() -> bool {
    true
}
fn default_channel() -> String {
    "stable".into()
}
fn default_poll() -> u64 {
    300
}
fn default_window() -> String {
    "22:00-05:00".into()
}
fn default_max_bundle() -> u64 {
    2 << 30
}
fn default_confirm() -> u64 {
    600
}
fn default_installer() -> String {
    "rauc".into()
}

/// A daily local-time window, in minutes after midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: u32,
    pub end: u32,
}

impl Window {
    pub fn parse(s: &str) -> Result<Window, String> {
        let bad = || {
            format!("update.window {s:?}: expected HH:MM-HH:MM in local time, e.g. \"22:00-05:00\"")
        };
        let (a, b) = s.trim().split_once('-').ok_or_else(bad)?;
        let minutes = |t: &str| -> Option<u32> {
            let (h, m) = t.trim().split_once(':')?;
            let (h, m) = (h.parse::<u32>().ok()?, m.parse::<u32>().ok()?);
            (h < 24 && m < 60 && t.trim().len() == 5).then_some(h * 60 + m)
        };
        Ok(Window {
            start: minutes(a).ok_or_else(bad)?,
            end: minutes(b).ok_or_else(bad)?,
        })
    }

    /// Is `minute` (after local midnight) inside?
    pub fn contains(&self, minute: u32) -> bool {
        match self.start.cmp(&self.end) {
            std::cmp::Ordering::Equal => true,
            std::cmp::Ordering::Less => (self.start..self.end).contains(&minute),
            std::cmp::Ordering::Greater => minute >= self.start || minute < self.end,
        }
    }
}

impl UpdateConfig {
    pub fn window(&self) -> Window {
        Window::parse(&self.window).unwrap_or(Window { start: 0, end: 0 })
    }

    pub fn check(&self) -> Result<(), String> {
        Window::parse(&self.window)?;
        crate::hub::updates::check_label(&self.channel, "update.channel")
            .map_err(|e| e.to_string())?;
        if let Some(v) = &self.pinned_version {
            crate::hub::updates::check_label(v, "update.pinned_version")
                .map_err(|e| e.to_string())?;
        }
        if self.poll_interval_secs < MIN_POLL_SECS {
            return Err(format!(
                "update.poll_interval_secs must be at least {MIN_POLL_SECS}"
            ));
        }
        if self.confirm_timeout_secs < MIN_CONFIRM_SECS {
            return Err(format!(
                "update.confirm_timeout_secs must be at least {MIN_CONFIRM_SECS}"
            ));
        }
        if self.max_bundle_bytes < 1024 {
            return Err("update.max_bundle_bytes must be at least 1024".into());
        }
        if !matches!(self.installer.as_str(), "rauc" | "fake") {
            return Err(format!(
                "update.installer {:?}: give \"rauc\" (the device) or \"fake\" (demo, tests)",
                self.installer
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows() {
        let night = Window::parse("22:00-05:00").unwrap();
        assert!(night.contains(22 * 60));
        assert!(night.contains(3 * 60));
        assert!(!night.contains(5 * 60));
        assert!(!night.contains(12 * 60));
        let day = Window::parse("09:30-10:00").unwrap();
        assert!(day.contains(9 * 60 + 30) && !day.contains(10 * 60));
        assert!(Window::parse("00:00-00:00").unwrap().contains(700));
        for bad in ["22-05", "24:00-01:00", "1:00-2:00", "", "10:00"] {
            assert_eq!(
                Window::parse(bad).unwrap_err(),
                format!("update.window {bad:?}: expected HH:MM-HH:MM in local time, e.g. \"22:00-05:00\"")
            );
        }
    }

    #[test]
    fn checks_name_the_key() {
        let mut c = UpdateConfig::default();
        c.check().unwrap();
        c.installer = "apt".into();
        assert!(c
            .check()
            .unwrap_err()
            .starts_with("update.installer \"apt\""));
        let c = UpdateConfig {
            pinned_version: Some("1 0".into()),
            ..UpdateConfig::default()
        };
        assert!(c
            .check()
            .unwrap_err()
            .starts_with("update.pinned_version \"1 0\""));
    }
}
