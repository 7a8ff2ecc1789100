//! The panel backlight through sysfs (`<root>/sys/class/backlight/<name>/`): brightness and
//! `bl_power` blanking, every value read validated. The root is a parameter so tests run on a
//! fake tree in a temp dir.
//!
//! Never guesses: a file that does not hold what the kernel documents is an error naming the
//! file. DRM DPMS (screens without a backlight device) is not done here: it needs the DRM
//! master, which the kiosk's linuxkms backend holds (see docs/device.md).

use std::path::{Path, PathBuf};

/// `bl_power` values (include/uapi/linux/fb.h): on, and powered down.
pub const FB_BLANK_UNBLANK: u32 = 0;
pub const FB_BLANK_POWERDOWN: u32 = 4;
/// Largest `max_brightness` accepted as plausible.
pub const MAX_PLAUSIBLE_BRIGHTNESS: u32 = 1_000_000;

#[derive(Debug, thiserror::Error)]
pub enum DisplayError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}; the service needs write access to the backlight (udev rule or tmpfiles.d)")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} holds {found:?}, expected {expected}")]
    Invalid {
        path: PathBuf,
        found: String,
        expected: String,
    },
    #[error("backlight `{0}` not found under /sys/class/backlight; fix display.backlight in the config or remove it to use the first one")]
    NotFound(String),
}

/// One backlight device.
#[derive(Debug, Clone)]
pub struct Backlight {
    dir: PathBuf,
    name: String,
    max: u32,
}

/// Read a sysfs file holding one unsigned decimal integer and a newline.
pub fn read_u32(path: &Path) -> Result<u32, DisplayError> {
    let text = std::fs::read_to_string(path).map_err(|source| DisplayError::Read {
        path: path.to_owned(),
        source,
    })?;
    let t = text.trim_end_matches('\n');
    if t.is_empty() || t.len() > 10 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(path, t, "an unsigned decimal integer"));
    }
    t.parse()
        .map_err(|_| invalid(path, t, "an unsigned decimal integer"))
}

fn invalid(path: &Path, found: &str, expected: &str) -> DisplayError {
    DisplayError::Invalid {
        path: path.to_owned(),
        found: found.chars().take(40).collect(),
        expected: expected.to_owned(),
    }
}

impl Backlight {
    /// The backlight named `name`, or the first (by name) if `None`; `Ok(None)` when there is
    /// none and none was asked for.
    pub fn find(root: &Path, name: Option<&str>) -> Result<Option<Backlight>, DisplayError> {
        let class = root.join("sys/class/backlight");
        if let Some(name) = name {
            let dir = class.join(name);
            if !dir.join("brightness").exists() {
                return Err(DisplayError::NotFound(name.to_owned()));
            }
            return Backlight::open(&dir).map(Some);
        }
        let mut names: Vec<String> = match std::fs::read_dir(&class) {
            Ok(rd) => rd
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect(),
            Err(_) => return Ok(None),
        };
        names.sort();
        match names.first() {
            Some(n) => Backlight::open(&class.join(n)).map(Some),
            None => Ok(None),
        }
    }

    /// Open the device directory `dir` and validate `max_brightness` and `brightness`.
    pub fn open(dir: &Path) -> Result<Backlight, DisplayError> {
        let max_path = dir.join("max_brightness");
        let max = read_u32(&max_path)?;
        if max == 0 || max > MAX_PLAUSIBLE_BRIGHTNESS {
            return Err(invalid(
                &max_path,
                &max.to_string(),
                "a maximum between 1 and 1000000",
            ));
        }
        let bl = Backlight {
            dir: dir.to_owned(),
            name: dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            max,
        };
        bl.brightness()?;
        Ok(bl)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn max(&self) -> u32 {
        self.max
    }

    /// The brightness last set (0..=max).
    pub fn brightness(&self) -> Result<u32, DisplayError> {
        let path = self.dir.join("brightness");
        let b = read_u32(&path)?;
        if b > self.max {
            return Err(invalid(
                &path,
                &b.to_string(),
                &format!("at most max_brightness {}", self.max),
            ));
        }
        Ok(b)
    }

    /// `bl_power` is 0 (on); a device without the file counts as on.
    pub fn is_powered(&self) -> Result<bool, DisplayError> {
        let path = self.dir.join("bl_power");
        if !path.exists() {
            return Ok(true);
        }
        match read_u32(&path)? {
            FB_BLANK_UNBLANK => Ok(true),
            1..=4 => Ok(false),
            n => Err(invalid(
                &path,
                &n.to_string(),
                "a blanking level from 0 to 4",
            )),
        }
    }

    /// Raw brightness for a percentage, rounded up so 1 % is never black.
    pub fn raw_for_percent(&self, percent: u8) -> u32 {
        let p = u64::from(percent.min(100));
        ((u64::from(self.max) * p).div_ceil(100)) as u32
    }

    /// Set the brightness to `percent` of the maximum and make sure the backlight is on.
    pub fn set_percent(&self, percent: u8) -> Result<(), DisplayError> {
        self.write("brightness", self.raw_for_percent(percent))?;
        self.set_power(true)
    }

    /// Switch the backlight on or off through `bl_power` (brightness is kept).
    pub fn set_power(&self, on: bool) -> Result<(), DisplayError> {
        if !self.dir.join("bl_power").exists() {
            return if on {
                Ok(())
            } else {
                self.write("brightness", 0)
            };
        }
        self.write(
            "bl_power",
            if on {
                FB_BLANK_UNBLANK
            } else {
                FB_BLANK_POWERDOWN
            },
        )
    }

    fn write(&self, file: &str, value: u32) -> Result<(), DisplayError> {
        let path = self.dir.join(file);
        std::fs::write(&path, format!("{value}\n"))
            .map_err(|source| DisplayError::Write { path, source })
    }
}

/// Build a fake backlight device under `root` (tests, the demo and the VM test).
pub fn create_fake(root: &Path, name: &str, max: u32, brightness: u32) -> std::io::Result<PathBuf> {
    let dir = root.join("sys/class/backlight").join(name);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("max_brightness"), format!("{max}\n"))?;
    std::fs::write(dir.join("brightness"), format!("{brightness}\n"))?;
    std::fs::write(dir.join("actual_brightness"), format!("{brightness}\n"))?;
    std::fs::write(dir.join("bl_power"), "0\n")?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_first_or_named_and_sets_levels() {
        let root = tempfile::tempdir().unwrap();
        assert!(Backlight::find(root.path(), None).unwrap().is_none());
        create_fake(root.path(), "rpi_backlight", 255, 255).unwrap();
        let dir = create_fake(root.path(), "10-0045", 31, 31).unwrap();
        let bl = Backlight::find(root.path(), None).unwrap().unwrap();
        assert_eq!(bl.name(), "10-0045");
        bl.set_percent(20).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join("brightness")).unwrap(),
            "7\n"
        );
        assert_eq!(bl.brightness().unwrap(), 7);
        bl.set_power(false).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join("bl_power")).unwrap(),
            "4\n"
        );
        assert!(!bl.is_powered().unwrap());
        bl.set_percent(100).unwrap();
        assert_eq!(bl.brightness().unwrap(), 31);
        assert!(bl.is_powered().unwrap());
        let named = Backlight::find(root.path(), Some("rpi_backlight"))
            .unwrap()
            .unwrap();
        assert_eq!(named.max(), 255);
        assert_eq!(named.raw_for_percent(1), 3);
        assert_eq!(
            Backlight::find(root.path(), Some("dsi")).unwrap_err().to_string(),
            "backlight `dsi` not found under /sys/class/backlight; fix display.backlight in the config or remove it to use the first one"
        );
    }

    #[test]
    fn bad_sysfs_contents_are_refused_with_the_file_named() {
        let root = tempfile::tempdir().unwrap();
        let dir = create_fake(root.path(), "bl", 255, 10).unwrap();
        let cases = [
            (
                "max_brightness",
                "0\n",
                "holds \"0\", expected a maximum between 1 and 1000000",
            ),
            (
                "max_brightness",
                "-1\n",
                "holds \"-1\", expected an unsigned decimal integer",
            ),
            (
                "max_brightness",
                "2000000\n",
                "holds \"2000000\", expected a maximum between 1 and 1000000",
            ),
            (
                "max_brightness",
                "\n",
                "holds \"\", expected an unsigned decimal integer",
            ),
            (
                "max_brightness",
                "255 \n",
                "holds \"255 \", expected an unsigned decimal integer",
            ),
            (
                "brightness",
                "300\n",
                "holds \"300\", expected at most max_brightness 255",
            ),
            (
                "brightness",
                "99999999999\n",
                "holds \"99999999999\", expected an unsigned decimal integer",
            ),
        ];
        for (file, content, want) in cases {
            create_fake(root.path(), "bl", 255, 10).unwrap();
            std::fs::write(dir.join(file), content).unwrap();
            let err = Backlight::open(&dir).unwrap_err().to_string();
            assert_eq!(
                err,
                format!("{} {want}", dir.join(file).display()),
                "{file} {content:?}"
            );
        }
        create_fake(root.path(), "bl", 255, 10).unwrap();
        std::fs::write(dir.join("bl_power"), "7\n").unwrap();
        let bl = Backlight::open(&dir).unwrap();
        assert_eq!(
            bl.is_powered().unwrap_err().to_string(),
            format!(
                "{} holds \"7\", expected a blanking level from 0 to 4",
                dir.join("bl_power").display()
            )
        );
    }
}
