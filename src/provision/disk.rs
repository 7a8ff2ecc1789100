//! Growing the data partition to fill the SD card, and the two kernel command-line settings
//! that make a read-only-root device keep its identity (machine id and hostname).
//!
//! The grow step is a plan of commands computed from sysfs (so tests check it against a fake
//! `/sys` under `--root`): `sfdisk -N` moves the partition's end to the end of the disk, `partx
//! -u` tells the kernel, `resize2fs` grows the mounted ext4 online. Each step is idempotent: a
//! power cut in between is finished at the next boot's provisioning or by running it again.

use std::fs;
use std::path::Path;

/// The data partition's filesystem label (set by image/build.sh).
pub const DATA_LABEL: &str = "MOTCUADATA";
/// Don't bother growing for less than this many free 512-byte sectors (16 MiB).
pub const MIN_GROW_SECTORS: u64 = 16 * 2048;

/// One command to run; `stdin` is fed to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cmd {
    pub argv: Vec<String>,
    pub stdin: Option<String>,
}

impl std::fmt::Display for Cmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(s) = &self.stdin {
            write!(f, "echo '{}' | ", s.trim_end())?;
        }
        write!(f, "{}", self.argv.join(" "))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrowPlan {
    pub disk: String,
    pub partition: String,
    pub number: u32,
    pub free_sectors: u64,
    pub commands: Vec<Cmd>,
}

fn read_u64(p: &Path) -> Result<u64, String> {
    fs::read_to_string(p)
        .map_err(|e| format!("{}: {e}", p.display()))?
        .trim()
        .parse()
        .map_err(|e| format!("{}: {e}", p.display()))
}

/// The plan to grow the partition labelled `label`, or `None` when it already fills the disk.
/// Errors when the partition cannot be found or is not the last one on its disk.
pub fn grow_plan(root: &Path, label: &str) -> Result<Option<GrowPlan>, String> {
    let by_label = root.join("dev/disk/by-label").join(label);
    let dev = fs::canonicalize(&by_label).map_err(|e| {
        format!(
            "no partition labelled {label} ({}: {e})",
            by_label.display()
        )
    })?;
    let part = dev
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or("bad device path")?;
    let sys = fs::canonicalize(root.join("sys/class/block").join(&part))
        .map_err(|e| format!("/sys/class/block/{part}: {e}"))?;
    let number = read_u64(&sys.join("partition"))? as u32;
    let start = read_u64(&sys.join("start"))?;
    let size = read_u64(&sys.join("size"))?;
    let disk_sys = sys.parent().ok_or("no parent disk in sysfs")?;
    let disk = disk_sys
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or("bad disk path")?;
    let disk_size = read_u64(&disk_sys.join("size"))?;
    for entry in fs::read_dir(disk_sys).map_err(|e| e.to_string())?.flatten() {
        let other = entry.path();
        if other != sys && other.join("partition").exists() {
            if let Ok(s) = read_u64(&other.join("start")) {
                if s > start {
                    return Err(format!(
                        "{part} is not the last partition on {disk}; not growing it"
                    ));
                }
            }
        }
    }
    let free = disk_size.saturating_sub(start + size);
    if free < MIN_GROW_SECTORS {
        return Ok(None);
    }
    let disk_dev = format!("/dev/{disk}");
    let part_dev = format!("/dev/{part}");
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let n = number.to_string();
    Ok(Some(GrowPlan {
        commands: vec![
            Cmd {
                argv: s(&[
                    "sfdisk",
                    "--force",
                    "--no-reread",
                    "--no-tell-kernel",
                    "-N",
                    &n,
                    &disk_dev,
                ]),
                stdin: Some(", +\n".into()),
            },
            Cmd {
                argv: s(&["partx", "--update", "--nr", &n, &disk_dev]),
                stdin: None,
            },
            Cmd {
                argv: s(&["resize2fs", &part_dev]),
                stdin: None,
            },
        ],
        disk: disk_dev,
        partition: part_dev,
        number,
        free_sectors: free,
    }))
}

/// Run a plan's commands in order; stops at the first failure.
pub fn run(cmds: &[Cmd]) -> Result<(), String> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    for c in cmds {
        let mut child = Command::new(&c.argv[0])
            .args(&c.argv[1..])
            .stdin(if c.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("{c}: {e}"))?;
        if let (Some(input), Some(mut pipe)) = (&c.stdin, child.stdin.take()) {
            pipe.write_all(input.as_bytes())
                .map_err(|e| format!("{c}: {e}"))?;
        }
        let out = child.wait_with_output().map_err(|e| format!("{c}: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "{c}: {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
    }
    Ok(())
}

/// The kernel command line with `systemd.machine_id=` and `systemd.hostname=` set. An existing
/// machine id is kept (the device's identity must not change); the hostname follows the
/// provisioning file. Returns `None` when nothing changes.
pub fn cmdline_with(cmdline: &str, machine_id: &str, hostname: &str) -> Option<String> {
    let mut words: Vec<String> = cmdline.split_whitespace().map(str::to_owned).collect();
    let has_id = words.iter().any(|w| w.starts_with("systemd.machine_id="));
    words.retain(|w| !w.starts_with("systemd.hostname="));
    if !has_id && valid_machine_id(machine_id) {
        words.push(format!("systemd.machine_id={machine_id}"));
    }
    words.push(format!("systemd.hostname={hostname}"));
    let new = words.join(" ");
    (new != cmdline.trim()).then(|| new + "\n")
}

/// The A/B image's kernel arguments file on the FAT partition, read by U-Boot's boot script
/// (`image/ab/boot.cmd`, `env import -t`): one line `motcua_bootargs=<arguments>`.
pub const CMDLINE_ENV: &str = "motcua-cmdline.env";

/// [`cmdline_with`] for `motcua-cmdline.env`: the `motcua_bootargs=` line gets the machine id
/// and hostname; other lines are kept. A file without that line is an error (a card whose
/// boot script would ignore what is written).
pub fn cmdline_env_with(
    text: &str,
    machine_id: &str,
    hostname: &str,
) -> Result<Option<String>, String> {
    const KEY: &str = "motcua_bootargs=";
    let mut found = false;
    let mut changed = false;
    let mut out = String::new();
    for line in text.lines() {
        match line.strip_prefix(KEY) {
            Some(args) if !found => {
                found = true;
                match cmdline_with(args, machine_id, hostname) {
                    Some(new) => {
                        changed = true;
                        out.push_str(KEY);
                        out.push_str(new.trim_end());
                    }
                    None => out.push_str(line),
                }
            }
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    if !found {
        return Err(format!("no line starting with {KEY}"));
    }
    Ok(changed.then_some(out))
}

/// 32 lower-case hex digits, not all zero.
pub fn valid_machine_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && id.bytes().any(|b| b != b'0')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmdline_gets_id_once_and_hostname_updates() {
        let base = "console=tty0 root=LABEL=RASPIROOT ro rootwait";
        let id = "0123456789abcdef0123456789abcdef";
        let c1 = cmdline_with(base, id, "quay-1").unwrap();
        assert_eq!(
            c1,
            format!("{base} systemd.machine_id={id} systemd.hostname=quay-1\n")
        );
        assert_eq!(
            cmdline_with(&c1, "ffffffffffffffffffffffffffffffff", "quay-1"),
            None
        );
        let c2 = cmdline_with(&c1, id, "quay-2").unwrap();
        assert!(c2.contains(&format!("systemd.machine_id={id}")), "{c2}");
        assert!(c2.ends_with("systemd.hostname=quay-2\n"), "{c2}");
        assert!(!cmdline_with(base, "uninitialized", "h")
            .unwrap()
            .contains("machine_id"));
    }

    #[test]
    fn cmdline_env_line_gets_id_and_hostname() {
        let id = "0123456789abcdef0123456789abcdef";
        let base = "# kernel arguments\nmotcua_bootargs=console=tty0 fsck.repair=yes\n";
        let new = cmdline_env_with(base, id, "quay-1").unwrap().unwrap();
        assert_eq!(
            new,
            format!("# kernel arguments\nmotcua_bootargs=console=tty0 fsck.repair=yes systemd.machine_id={id} systemd.hostname=quay-1\n")
        );
        assert_eq!(cmdline_env_with(&new, id, "quay-1").unwrap(), None);
        assert_eq!(
            cmdline_env_with("console=tty0\n", id, "h").unwrap_err(),
            "no line starting with motcua_bootargs="
        );
    }
}
