//! The doctor's `update` check: the A/B slots (RAUC's `rauc status`, or the fake slots file),
//! the running version, and the update state from `<data dir>/update/state.json`. Only reads;
//! RAUC is asked only on a system that has it configured (`/etc/rauc/system.conf` under the
//! root), so the check runs the same on a fake tree.

use std::path::Path;

use super::Check;
use crate::config::Config;
use crate::update::installer::{FakeSlots, Installer, Rauc, Slots};
use crate::update::machine::{load_state, Outcome, Phase};

const NAME: &str = "update";

fn slots(root: &Path, data_dir: &Path, config: &Config) -> Result<Option<Slots>, String> {
    let dir = crate::update::agent::update_dir(data_dir);
    if config.update.installer == "fake" {
        let path = dir.join(crate::update::agent::FAKE_SLOTS);
        if !path.exists() {
            return Ok(None);
        }
        return FakeSlots::open(&path, env!("CARGO_PKG_VERSION"))?
            .status()
            .map(Some);
    }
    if !root.join("etc/rauc/system.conf").exists() {
        return Ok(None);
    }
    Rauc::default().status().map(Some)
}

pub fn check(root: &Path, data_dir: &Path, config: &Config) -> Check {
    let state = load_state(&crate::update::agent::update_dir(data_dir));
    let mut details = Vec::new();
    let slots = match slots(root, data_dir, config) {
        Ok(Some(s)) => {
            for slot in &s.slots {
                details.push(format!(
                    "slot {} ({}): {}{}, version {}",
                    slot.bootname,
                    slot.name,
                    slot.state,
                    slot.boot_status
                        .as_deref()
                        .map(|b| format!(", {b}"))
                        .unwrap_or_default(),
                    slot.version.as_deref().unwrap_or("unknown")
                ));
            }
            Some(s)
        }
        Ok(None) => None,
        Err(e) => {
            return Check::warn(
                NAME,
                format!("cannot read the slots: {e}"),
                "run `rauc status` as root; see docs/technician.md, \"Updates\"",
            )
        }
    };
    let phase = match &state.phase {
        Phase::Idle => "idle".to_owned(),
        p => format!(
            "{} {}",
            p.name(),
            p.offer().map(|o| o.version.as_str()).unwrap_or("")
        ),
    };
    if let Some(p) = &config.update.pinned_version {
        details.push(format!("pinned to version {p}"));
    }
    let fallback = crate::update::release::running_version();
    let running = match &slots {
        Some(s) => format!(
            "slot {}, version {}",
            s.booted,
            s.booted_version().unwrap_or(&fallback)
        ),
        None => format!("no A/B slots on this system (no RAUC), version {fallback}"),
    };
    let summary = format!("{running}; update {phase}");
    match &state.last {
        Some(Outcome::Failed {
            version,
            reason,
            at,
            ..
        }) => Check::warn(
            NAME,
            format!("{summary}; update {version} failed at {at}"),
            format!("{reason}; the hub's fleet page shows it too. A new version must be published to try again"),
        )
        .with_details(details),
        Some(Outcome::Confirmed { version, at }) => {
            details.push(format!("update {version} confirmed at {at}"));
            Check::ok(NAME, summary).with_details(details)
        }
        None => Check::ok(NAME, summary).with_details(details),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_rauc_it_says_so_and_a_failure_warns() {
        let root = tempfile::tempdir().unwrap();
        let data = tempfile::tempdir().unwrap();
        let c = check(root.path(), data.path(), &Config::default());
        assert_eq!(c.level, super::super::CheckLevel::Ok);
        assert!(c
            .summary
            .starts_with("no A/B slots on this system (no RAUC), version "));
        assert!(c.summary.ends_with("; update idle"));
        let dir = crate::update::agent::update_dir(data.path());
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join(crate::update::machine::STATE_FILE),
            r#"{"phase":{"phase":"idle"},"last":{"result":"failed","version":"1.1","sha256":"x",
                "reason":"the kiosk never drew","at":"2026-12-06T01:00:00Z"}}"#,
        )
        .unwrap();
        let config = Config {
            update: crate::update::config::UpdateConfig {
                installer: "fake".into(),
                ..Default::default()
            },
            ..Config::default()
        };
        FakeSlots::open(&dir.join(crate::update::agent::FAKE_SLOTS), "1.0").unwrap();
        let c = check(root.path(), data.path(), &config);
        assert_eq!(c.level, super::super::CheckLevel::Warn);
        assert_eq!(
            c.summary,
            "slot A, version 1.0; update idle; update 1.1 failed at 2026-12-06T01:00:00Z"
        );
        assert_eq!(c.details[0], "slot A (rootfs.0): booted, good, version 1.0");
    }
}
