//! The doctor report as it travels to the kiosk's technician screen (the daemon runs the
//! checks: the kiosk's user may not read footage or open cameras), with what `motcua doctor`
//! over SSH would add: the daemon's recent log lines and the services' state as systemd
//! reports it. Plain strings on the wire; built here, shown by `kiosk::wiring_tech`.

use serde::{Deserialize, Serialize};

use super::{CheckLevel, DoctorReport};

/// One check, owned (the report's names are `&'static str`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoctorLine {
    pub name: String,
    pub level: CheckLevel,
    pub summary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

/// What the technician screen's doctor view shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoctorView {
    pub worst: CheckLevel,
    pub checks: Vec<DoctorLine>,
    /// The daemon's most recent log lines (warnings and errors at the default level), oldest
    /// first.
    pub log: Vec<String>,
    /// One line per unit (`motcua-daemon.service: active (running), 0 restarts`), or one line
    /// saying why systemd could not be asked.
    pub services: Vec<String>,
}

impl DoctorView {
    pub fn new(report: &DoctorReport, log: Vec<String>, services: Vec<String>) -> DoctorView {
        DoctorView {
            worst: report.worst,
            checks: report
                .checks
                .iter()
                .map(|c| DoctorLine {
                    name: c.name.to_owned(),
                    level: c.level,
                    summary: c.summary.clone(),
                    next: c.next.clone(),
                    details: c.details.clone(),
                })
                .collect(),
            log,
            services,
        }
    }
}

/// The units' state from `systemctl show` (as any user may ask), one line each; one line
/// saying why if systemd cannot be asked (no systemd, a container, a test).
pub fn service_status(units: &[&str]) -> Vec<String> {
    let out = std::process::Command::new("systemctl")
        .args([
            "show",
            "--no-pager",
            "--property=Id,ActiveState,SubState,NRestarts",
        ])
        .args(units)
        .stdin(std::process::Stdio::null())
        .output();
    let out = match out {
        Ok(o) if o.status.success() => o,
        Ok(o) => {
            let why = String::from_utf8_lossy(&o.stderr).trim().to_owned();
            return vec![format!("systemd not reachable: {why}")];
        }
        Err(e) => return vec![format!("systemd not reachable: systemctl: {e}")],
    };
    parse_show(&String::from_utf8_lossy(&out.stdout))
}

/// `systemctl show` output (blocks of `Key=value` separated by blank lines) → one line a unit.
pub fn parse_show(text: &str) -> Vec<String> {
    text.split("\n\n")
        .filter(|b| !b.trim().is_empty())
        .map(|block| {
            let get = |k: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(&format!("{k}=")))
                    .unwrap_or("?")
                    .to_owned()
            };
            format!(
                "{}: {} ({}), {} restarts",
                get("Id"),
                get("ActiveState"),
                get("SubState"),
                get("NRestarts")
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn systemctl_show_becomes_one_line_a_unit() {
        let text =
            "Id=motcua-daemon.service\nActiveState=active\nSubState=running\nNRestarts=2\n\n\
                    NRestarts=0\nId=motcua-kiosk.service\nActiveState=failed\nSubState=failed\n";
        assert_eq!(
            parse_show(text),
            [
                "motcua-daemon.service: active (running), 2 restarts",
                "motcua-kiosk.service: failed (failed), 0 restarts"
            ]
        );
    }
}
