//! `motcua doctor`: one list of checks a technician runs on site — config, stores, cameras,
//! GPIO, display, ticket printer, clock, server, disk, power and temperature, update slots — each ok / warn / fail with what
//! to do next, and an exit code for the worst (0 ok, 1 warn, 2 fail).
//!
//! Every check reads under an injectable root and through small probe traits, so tests run on
//! a fake tree. Never repairs, migrates or writes anything: it only looks.

mod checks;
pub mod server;
mod system;
mod update;
pub mod view;

use std::path::{Path, PathBuf};

use serde::Serialize;

pub use checks::{recovered_text, GpioProbe, PinResult, RealGpioProbe, HASH_NEWEST};
pub use system::{kernel_clock_synced, CameraInfo, CameraProbe, SysfsCameras};

use crate::config::{Config, ConfigError};

/// How a check came out. Ordered: worst is max.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckLevel {
    Ok,
    Warn,
    Fail,
}

impl CheckLevel {
    /// Process exit code: 0 ok, 1 warn, 2 fail.
    pub fn exit_code(self) -> u8 {
        self as u8
    }
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub level: CheckLevel,
    /// What was found, in one line.
    pub summary: String,
    /// What to do next (empty when ok).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// Further lines (one camera, one connector…).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

impl Check {
    pub fn ok(name: &'static str, summary: impl Into<String>) -> Check {
        Check {
            name,
            level: CheckLevel::Ok,
            summary: summary.into(),
            next: None,
            details: Vec::new(),
        }
    }
    pub fn warn(name: &'static str, summary: impl Into<String>, next: impl Into<String>) -> Check {
        Check {
            level: CheckLevel::Warn,
            next: Some(next.into()),
            ..Check::ok(name, summary)
        }
    }
    pub fn fail(name: &'static str, summary: impl Into<String>, next: impl Into<String>) -> Check {
        Check {
            level: CheckLevel::Fail,
            next: Some(next.into()),
            ..Check::ok(name, summary)
        }
    }
    pub fn with_details(mut self, details: Vec<String>) -> Check {
        self.details = details;
        self
    }
}

/// The server check, given by the sync code once merged (TLS, token accepted).
pub trait ServerCheck {
    fn check(&self) -> Check;
}

/// A fixed "not configured" (tests; the real check is [`server::SyncServerCheck`]).
#[derive(Debug, Default)]
pub struct ServerNotConfigured;

impl ServerCheck for ServerNotConfigured {
    fn check(&self) -> Check {
        Check::warn(
            "server",
            "server check not configured in this build",
            "set [sync] server_url and token_file, then run `motcua sync status`",
        )
    }
}

/// What the doctor looks at.
pub struct DoctorInputs<'a> {
    /// `/` on the appliance; a fake tree in tests.
    pub root: &'a Path,
    /// The config file and how loading it went.
    pub config_path: PathBuf,
    pub config: Result<Config, ConfigError>,
    /// False when the default path was used and is missing (defaults apply).
    pub config_file_exists: bool,
    pub data_dir: PathBuf,
    /// Hash every footage file (`doctor --full`); else only the newest [`HASH_NEWEST`].
    pub full: bool,
    pub gpio: &'a dyn GpioProbe,
    pub cameras: &'a dyn CameraProbe,
    pub server: &'a dyn ServerCheck,
    /// The kernel's NTP state (`None`: not asked, e.g. in tests).
    pub kernel_clock_synced: Option<bool>,
    pub now: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DoctorReport {
    pub worst: CheckLevel,
    pub checks: Vec<Check>,
}

/// Run every check, in the order a technician would fix things.
pub fn run(inp: &DoctorInputs<'_>) -> DoctorReport {
    let default_config = Config::default();
    let config = inp.config.as_ref().unwrap_or(&default_config);
    let mut checks = vec![checks::config(inp)];
    checks.extend(checks::stores(&inp.data_dir, inp.full));
    checks.push(system::cameras(inp.root, config, inp.cameras));
    checks.push(checks::gpio(config, inp.gpio));
    checks.push(system::display(inp.root, config));
    checks.extend(checks::printer(config));
    checks.push(system::clock(inp.root, inp.kernel_clock_synced, inp.now));
    checks.push(inp.server.check());
    checks.extend(checks::health(inp.root, &inp.data_dir));
    checks.push(update::check(inp.root, &inp.data_dir, config));
    DoctorReport {
        worst: checks
            .iter()
            .map(|c| c.level)
            .max()
            .unwrap_or(CheckLevel::Ok),
        checks,
    }
}

impl DoctorReport {
    pub fn exit_code(&self) -> u8 {
        self.worst.exit_code()
    }

    /// The report as a technician reads it on a terminal.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for c in &self.checks {
            let tag = match c.level {
                CheckLevel::Ok => "ok  ",
                CheckLevel::Warn => "WARN",
                CheckLevel::Fail => "FAIL",
            };
            out.push_str(&format!("{tag}  {:<12} {}\n", c.name, c.summary));
            for d in &c.details {
                out.push_str(&format!("{:18}{d}\n", ""));
            }
            if let Some(n) = &c.next {
                out.push_str(&format!("{:18}→ {n}\n", ""));
            }
        }
        let worst = match self.worst {
            CheckLevel::Ok => "all checks passed",
            CheckLevel::Warn => "some checks need attention",
            CheckLevel::Fail => "some checks failed",
        };
        out.push_str(&format!("\n{worst} (exit {})\n", self.exit_code()));
        out
    }
}

#[cfg(test)]
mod tests;
