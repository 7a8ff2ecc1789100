//! Software updates published on the hub (docs/updates.md): what a release is, who is in its
//! staged rollout, which release a device should have, and the bundle files themselves.
//!
//! Both stores keep the same `updates` rows and call the judgements here (`check_publish`,
//! `change`, `choose`), so SQLite and PostgreSQL answer alike. Bundles are kept outside the
//! database, content-addressed: `DIR/updates/<sha256>.raucb`, written temp → fsync → rename.
//! Nothing here speaks HTTP or SQL, and nothing here checks a bundle's signature: that is
//! RAUC's job on the device, against its keyring.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::store::{check_name, hex};
use super::HubError;

/// Where bundles live under the hub's directory.
pub const BUNDLE_DIR: &str = "updates";
/// Most devices named in one release.
pub const MAX_NAMED_DEVICES: usize = 1000;

/// One published update of a channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Release {
    pub id: u64,
    pub channel: String,
    pub version: String,
    /// Lower-case hex SHA-256 of the bundle file.
    pub sha256: String,
    pub size: u64,
    /// 0–100: devices whose rollout bucket is under this are in.
    pub percent: u8,
    /// Devices in the rollout whatever the percentage.
    pub devices: Vec<String>,
    pub paused: bool,
    pub published_at: String,
}

/// A release to record: a bundle already in the bundle store, for a channel and a rollout.
#[derive(Debug, Clone, Copy)]
pub struct NewRelease<'a> {
    pub channel: &'a str,
    pub version: &'a str,
    /// Lower-case hex SHA-256 of the bundle file.
    pub sha256: &'a str,
    pub size: u64,
    /// 0–100 (see [`Release::percent`]).
    pub percent: u8,
    pub devices: &'a [String],
}

/// A change to a release (`hub update pause|resume|promote`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Pause,
    Resume,
    /// Raise the percentage (never lower: devices already updated would be left out).
    Percent(u8),
}

/// A channel or version name: 1–64 letters, digits, '.', '-', '_' or '+'.
pub fn check_label(s: &str, what: &str) -> Result<(), HubError> {
    if s.is_empty()
        || s.len() > 64
        || !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'+'))
    {
        return Err(HubError::Refused(format!(
            "{what} {s:?}: 1–64 letters, digits, '.', '-', '_' or '+'"
        )));
    }
    Ok(())
}

/// Is `s` 64 lower-case hex digits?
pub fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Check a new release against the channel's existing ones (any order).
pub fn check_publish(
    channel: &str,
    version: &str,
    percent: u8,
    devices: &[String],
    existing: &[Release],
) -> Result<(), HubError> {
    check_label(channel, "channel")?;
    check_label(version, "version")?;
    if percent > 100 {
        return Err(HubError::Refused(format!(
            "--percent {percent}: give 0–100"
        )));
    }
    if devices.len() > MAX_NAMED_DEVICES {
        return Err(HubError::Refused(format!(
            "--devices: {} names, at most {MAX_NAMED_DEVICES}",
            devices.len()
        )));
    }
    for d in devices {
        check_name(d, "device")?;
    }
    if percent == 0 && devices.is_empty() {
        return Err(HubError::Refused(
            "an update needs --percent N (1–100) or --devices a,b: nobody would get it".into(),
        ));
    }
    if existing
        .iter()
        .any(|r| r.channel == channel && r.version == version)
    {
        return Err(HubError::Refused(format!(
            "channel {channel:?} already has version {version:?}; publish a new version"
        )));
    }
    Ok(())
}

/// The release after `change`, or why not.
pub fn change(current: &Release, change: Change) -> Result<Release, HubError> {
    let mut r = current.clone();
    match change {
        Change::Pause => r.paused = true,
        Change::Resume => r.paused = false,
        Change::Percent(p) if p > 100 => {
            return Err(HubError::Refused(format!("--percent {p}: give 0–100")))
        }
        Change::Percent(p) if p < current.percent => {
            return Err(HubError::Refused(format!(
                "update {}: {p} % is below its {} %; a rollout only grows (pause it instead)",
                current.id, current.percent
            )))
        }
        Change::Percent(p) => r.percent = p,
    }
    Ok(r)
}

/// The device's rollout bucket for a release, 0–99: the first 8 bytes of
/// SHA-256("<release id>:<device>") modulo 100. Stable, so raising the percent only adds.
pub fn bucket(release_id: u64, device: &str) -> u8 {
    let d = Sha256::digest(format!("{release_id}:{device}").as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&d[..8]);
    (u64::from_be_bytes(first) % 100) as u8
}

/// Is `device` in the release's rollout?
pub fn includes(r: &Release, device: &str) -> bool {
    r.devices.iter().any(|d| d == device) || bucket(r.id, device) < r.percent
}

/// The release `device` should run on `channel`: with `want`, that version (a pinned device),
/// else the newest unpaused release whose rollout includes it. `releases` in any order.
pub fn choose<'a>(
    releases: &'a [Release],
    channel: &str,
    device: &str,
    want: Option<&str>,
) -> Option<&'a Release> {
    let mut of_channel: Vec<&Release> = releases
        .iter()
        .filter(|r| r.channel == channel && !r.paused)
        .collect();
    of_channel.sort_by_key(|r| std::cmp::Reverse(r.id));
    match want {
        Some(v) => of_channel.into_iter().find(|r| r.version == v),
        None => of_channel.into_iter().find(|r| includes(r, device)),
    }
}

/// The hub's bundle files.
#[derive(Debug, Clone)]
pub struct BundleStore {
    dir: PathBuf,
}

impl BundleStore {
    /// Bundles under `hub_dir/updates`.
    pub fn new(hub_dir: &Path) -> BundleStore {
        BundleStore {
            dir: hub_dir.join(BUNDLE_DIR),
        }
    }

    pub fn path(&self, sha256: &str) -> PathBuf {
        self.dir.join(format!("{sha256}.raucb"))
    }

    /// Copy `file` in, hashing as it goes; returns (sha256, size). At most `max_bytes`.
    pub fn import(&self, file: &Path, max_bytes: u64) -> Result<(String, u64), HubError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| HubError::io(&self.dir, e))?;
        let mut src = std::fs::File::open(file).map_err(|e| HubError::io(file, e))?;
        let mut tmp =
            tempfile::NamedTempFile::new_in(&self.dir).map_err(|e| HubError::io(&self.dir, e))?;
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = src.read(&mut buf).map_err(|e| HubError::io(file, e))?;
            if n == 0 {
                break;
            }
            size += n as u64;
            if size > max_bytes {
                return Err(HubError::Refused(format!(
                    "{}: over {max_bytes} bytes, the largest bundle this hub takes",
                    file.display()
                )));
            }
            hasher.update(&buf[..n]);
            tmp.write_all(&buf[..n])
                .map_err(|e| HubError::io(tmp.path(), e))?;
        }
        if size == 0 {
            return Err(HubError::Refused(format!(
                "{}: empty file, not a bundle",
                file.display()
            )));
        }
        tmp.as_file()
            .sync_all()
            .map_err(|e| HubError::io(tmp.path(), e))?;
        let sha = hex(&hasher.finalize());
        let dest = self.path(&sha);
        tmp.persist(&dest)
            .map_err(|e| HubError::io(&dest, e.error))?;
        if let Ok(d) = std::fs::File::open(&self.dir) {
            let _ = d.sync_all();
        }
        Ok((sha, size))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(id: u64, version: &str, percent: u8, devices: &[&str]) -> Release {
        Release {
            id,
            channel: "stable".into(),
            version: version.into(),
            sha256: "a".repeat(64),
            size: 10,
            percent,
            devices: devices.iter().map(|d| d.to_string()).collect(),
            paused: false,
            published_at: "2026-12-06T00:00:00Z".into(),
        }
    }

    #[test]
    fn raising_the_percent_only_adds_devices() {
        let names: Vec<String> = (0..1000).map(|i| format!("pi-{i}")).collect();
        let mut before = 0;
        for p in [0u8, 5, 10, 50, 100] {
            let r = release(7, "2", p, &[]);
            let inside: Vec<_> = names.iter().filter(|n| includes(&r, n)).collect();
            assert!(inside.len() >= before);
            let lower = release(7, "2", p.saturating_sub(5), &[]);
            assert!(names
                .iter()
                .filter(|n| includes(&lower, n))
                .all(|n| includes(&r, n)));
            before = inside.len();
        }
        assert_eq!(before, 1000);
        let ten = names.iter().filter(|n| bucket(7, n) < 10).count();
        assert!((60..=140).contains(&ten), "{ten} of 1000 in a 10 % rollout");
    }

    #[test]
    fn named_devices_are_in_whatever_the_percent() {
        let r = release(1, "2", 0, &["pi-a"]);
        assert!(includes(&r, "pi-a"));
        assert!(!includes(&r, "pi-b"));
    }

    #[test]
    fn choose_takes_the_newest_including_release_and_honours_pins_and_pauses() {
        let old = release(1, "1.0", 100, &[]);
        let new = release(2, "1.1", 0, &["pi-a"]);
        let all = vec![old.clone(), new.clone()];
        assert_eq!(choose(&all, "stable", "pi-a", None), Some(&new));
        assert_eq!(choose(&all, "stable", "pi-b", None), Some(&old));
        assert_eq!(choose(&all, "beta", "pi-a", None), None);
        assert_eq!(choose(&all, "stable", "pi-a", Some("1.0")), Some(&old));
        assert_eq!(choose(&all, "stable", "pi-a", Some("9")), None);
        let paused = vec![old.clone(), change(&new, Change::Pause).unwrap()];
        assert_eq!(choose(&paused, "stable", "pi-a", None), Some(&old));
    }

    #[test]
    fn changes_and_publications_are_judged() {
        let r = release(3, "2", 10, &[]);
        assert_eq!(change(&r, Change::Percent(50)).unwrap().percent, 50);
        let e = change(&r, Change::Percent(5)).unwrap_err().to_string();
        assert_eq!(
            e,
            "update 3: 5 % is below its 10 %; a rollout only grows (pause it instead)"
        );
        assert!(change(&r, Change::Percent(101)).is_err());
        assert!(check_publish("stable", "2", 10, &[], std::slice::from_ref(&r)).is_err());
        assert!(check_publish("stable", "3", 0, &[], &[]).is_err());
        assert!(check_publish("sta ble", "3", 10, &[], &[]).is_err());
        assert!(check_publish("stable", "3", 10, &["bad/name".into()], &[]).is_err());
        check_publish("stable", "3", 0, &["pi-a".into()], &[r]).unwrap();
    }

    #[test]
    fn import_is_content_addressed_and_size_limited() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("b.raucb");
        std::fs::write(&file, b"bundle").unwrap();
        let store = BundleStore::new(dir.path());
        let (sha, size) = store.import(&file, 100).unwrap();
        assert_eq!(size, 6);
        assert_eq!(sha, hex(&Sha256::digest(b"bundle")));
        assert_eq!(std::fs::read(store.path(&sha)).unwrap(), b"bundle");
        let e = store.import(&file, 5).unwrap_err().to_string();
        assert!(
            e.ends_with("over 5 bytes, the largest bundle this hub takes"),
            "{e}"
        );
    }
}
