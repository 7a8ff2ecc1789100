//! What the technician screen shows, gathered off the UI thread: this device (name, center,
//! hostname, version, IP addresses), what provisioning left (`/etc/motcua/provisioned.json`:
//! device key, certificate fingerprint, warnings; `/run/motcua-provision/error`: why the last
//! attempt failed), the daemon's health report, and the doctor view (the doctor's checks run by
//! the daemon, its recent log lines and the units' state).
//!
//! Every file is read under a root (`/` on a device, a temp dir in tests), size-capped and
//! validated; a bad file becomes a line saying so, never a crash or a blank screen.

use std::path::Path;

use serde::Deserialize;

use crate::appliance::ApplianceServices;
use crate::device::HealthReport;
use crate::provision::mapping::paths;

/// Largest file read (provisioned.json, the error file).
const MAX_FILE: u64 = 64 * 1024;

/// The parts of `provisioned.json` the screen shows (`provision::Report`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Provisioned {
    pub device_name: String,
    pub center_code: String,
    pub hostname: String,
    pub device_public_key: String,
    pub tls_fingerprint_sha256: String,
    pub applied_at: String,
    #[serde(default)]
    pub warnings: Vec<String>,
    #[serde(default)]
    pub pending_sections: Vec<String>,
}

/// Everything on the screen at one moment.
#[derive(Debug, Clone)]
pub struct TechInfo {
    pub version: &'static str,
    pub hostname: String,
    /// (interface, address) for every non-loopback IPv4 and global IPv6 address.
    pub addresses: Vec<(String, String)>,
    /// None: never provisioned. Err: the file is there but unreadable.
    pub provisioned: Option<Result<Provisioned, String>>,
    /// The message of the last failed provisioning (this boot), if any.
    pub provision_error: Option<String>,
    /// Provisioning succeeded during this boot.
    pub provisioned_this_boot: bool,
    pub health: Result<HealthReport, String>,
    pub doctor: Result<crate::doctor::view::DoctorView, String>,
}

fn read_capped(path: &Path) -> Result<Option<String>, String> {
    use std::io::Read;
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let mut bytes = Vec::new();
    f.take(MAX_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(format!(
            "{} is larger than {MAX_FILE} bytes",
            path.display()
        ));
    }
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}

/// `provisioned.json` under `root`.
pub fn read_provisioned(root: &Path) -> Option<Result<Provisioned, String>> {
    let path = root.join(paths::STATUS);
    match read_capped(&path) {
        Ok(None) => None,
        Ok(Some(text)) => Some(
            serde_json::from_str::<Provisioned>(&text)
                .map_err(|e| format!("{} is not readable: {e}", path.display())),
        ),
        Err(e) => Some(Err(e)),
    }
}

/// The provisioning error under `root`: the file holds the time on its first line, then the
/// message. Control characters other than newlines are dropped.
pub fn read_provision_error(root: &Path) -> Option<String> {
    let text = match read_capped(&root.join(paths::ERROR)) {
        Ok(t) => t?,
        Err(e) => return Some(e),
    };
    let clean: String = text
        .chars()
        .filter(|c| !c.is_control() || *c == '\n')
        .collect();
    let clean = clean.trim();
    let message = match clean.split_once('\n') {
        Some((first, rest)) if chrono::DateTime::parse_from_rfc3339(first.trim()).is_ok() => {
            rest.trim()
        }
        _ => clean,
    };
    Some(if message.is_empty() {
        "provisioning failed (no message)".into()
    } else {
        message.to_owned()
    })
}

/// True when provisioning succeeded during this boot (its marker lives in /run, a tmpfs).
pub fn provisioned_this_boot(root: &Path) -> bool {
    root.join(paths::APPLIED_THIS_BOOT).exists()
}

/// This machine's host name.
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates within it when
    // the name fits (a truncated name is cut at the buffer's end below).
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "?".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// Non-loopback IPv4 addresses and global IPv6 addresses, by interface, sorted.
pub fn addresses() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `list` with a linked list that we walk read-only and free once.
    if unsafe { libc::getifaddrs(&mut list) } != 0 {
        return out;
    }
    let mut cur = list;
    while !cur.is_null() {
        // SAFETY: `cur` is a node of the list returned by getifaddrs, not yet freed.
        let ifa = unsafe { &*cur };
        cur = ifa.ifa_next;
        if ifa.ifa_addr.is_null() || ifa.ifa_name.is_null() {
            continue;
        }
        // SAFETY: ifa_name is a NUL-terminated string owned by the list.
        let name = unsafe { std::ffi::CStr::from_ptr(ifa.ifa_name) }
            .to_string_lossy()
            .into_owned();
        // SAFETY: ifa_addr is non-null and points at a sockaddr whose family says its type.
        let family = i32::from(unsafe { (*ifa.ifa_addr).sa_family });
        let addr = match family {
            libc::AF_INET => {
                // SAFETY: the family is AF_INET, so this is a sockaddr_in.
                let sin = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in) };
                let ip = std::net::Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
                (!ip.is_loopback()).then(|| ip.to_string())
            }
            libc::AF_INET6 => {
                // SAFETY: the family is AF_INET6, so this is a sockaddr_in6.
                let sin6 = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in6) };
                let ip = std::net::Ipv6Addr::from(sin6.sin6_addr.s6_addr);
                let link_local = (ip.segments()[0] & 0xffc0) == 0xfe80;
                (!ip.is_loopback() && !link_local).then(|| ip.to_string())
            }
            _ => None,
        };
        if let Some(a) = addr {
            out.push((name, a));
        }
    }
    // SAFETY: `list` came from getifaddrs and is freed exactly once.
    unsafe { libc::freeifaddrs(list) };
    out.sort();
    out.dedup();
    out
}

/// Gather everything (reads files and asks the daemon: call off the UI thread).
pub fn gather(root: &Path, services: &dyn ApplianceServices) -> TechInfo {
    TechInfo {
        version: env!("CARGO_PKG_VERSION"),
        hostname: hostname(),
        addresses: addresses(),
        provisioned: read_provisioned(root),
        provision_error: read_provision_error(root),
        provisioned_this_boot: provisioned_this_boot(root),
        health: services.health(),
        doctor: services.doctor(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    #[test]
    fn provisioned_json_is_read_and_a_bad_one_says_so() {
        let root = tempfile::tempdir().unwrap();
        assert_eq!(read_provisioned(root.path()), None);
        put(
            root.path(),
            paths::STATUS,
            r#"{"device_name":"Kiosk 1","center_code":"xa-mau","hostname":"kiosk-1",
               "device_public_key":"AAA","tls_fingerprint_sha256":"ab:cd","keys_created":true,
               "pending_sections":[],"applied_copy":"/boot/firmware/motcua.toml.applied",
               "cmdline_changed":true,"grow_commands":[],"grown":false,
               "warnings":["the data partition was not grown"],"applied_at":"2026-11-23T08:00:00Z"}"#,
        );
        let p = read_provisioned(root.path()).unwrap().unwrap();
        assert_eq!(p.tls_fingerprint_sha256, "ab:cd");
        assert_eq!(p.warnings, ["the data partition was not grown"]);
        put(root.path(), paths::STATUS, "{not json");
        let e = read_provisioned(root.path()).unwrap().unwrap_err();
        assert!(
            e.contains("provisioned.json is not readable"),
            "names the file: {e}"
        );
    }

    #[test]
    fn the_error_file_loses_its_timestamp_and_control_characters() {
        let root = tempfile::tempdir().unwrap();
        assert_eq!(read_provision_error(root.path()), None);
        put(
            root.path(),
            paths::ERROR,
            "2026-11-23T08:00:00Z\n/boot/firmware/motcua.toml:14: key `center.code`: \x1b[31mmust be a-z\n",
        );
        assert_eq!(
            read_provision_error(root.path()).unwrap(),
            "/boot/firmware/motcua.toml:14: key `center.code`: [31mmust be a-z"
        );
        put(root.path(), paths::ERROR, &"x".repeat(70 * 1024));
        assert!(read_provision_error(root.path())
            .unwrap()
            .contains("larger than"));
    }

    #[test]
    fn the_boot_marker_and_this_machines_addresses() {
        let root = tempfile::tempdir().unwrap();
        assert!(!provisioned_this_boot(root.path()));
        put(
            root.path(),
            paths::APPLIED_THIS_BOOT,
            "2026-11-23T08:00:00Z\n",
        );
        assert!(provisioned_this_boot(root.path()));
        assert!(!hostname().is_empty());
        for (_, a) in addresses() {
            let ip: std::net::IpAddr = a.parse().unwrap();
            assert!(!ip.is_loopback(), "{a}");
        }
    }
}
