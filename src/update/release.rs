//! The version of the system this root runs, before RAUC has recorded one for its slot (a card
//! as flashed): the installed `motcua` package's version from dpkg's status file (`0.1.0-1`,
//! the version `image/build.sh` gives the image and its bundle, and so the one a hub publishes
//! for it), else the crate's (`0.1.0`: a laptop, a source build). Without it a fresh card
//! reported `0.1.0`, and an offer of its own release `0.1.0-1` looked new and was installed.

use std::path::Path;

/// Where dpkg keeps what is installed.
pub const DPKG_STATUS: &str = "/var/lib/dpkg/status";

/// The running system's version: the installed package's, or the crate's.
pub fn running_version() -> String {
    std::fs::read_to_string(Path::new(DPKG_STATUS))
        .ok()
        .and_then(|text| installed_version(&text, env!("CARGO_PKG_NAME")))
        .unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_owned())
}

/// The `Version:` of `package` in dpkg status `text` when it is installed (`Status: install
/// ok installed`, or `hold ok installed`); None when absent, only configured-files, or not a version the hub accepts
/// (1–64 letters, digits, `.`, `-`, `_`, `+`: no epoch, no `~`).
pub fn installed_version(text: &str, package: &str) -> Option<String> {
    text.split("\n\n").find_map(|stanza| {
        let field = |name: &str| {
            stanza.lines().find_map(|l| {
                l.strip_prefix(name)
                    .and_then(|rest| rest.strip_prefix(':'))
                    .map(str::trim)
            })
        };
        // `Status: WANT ok installed`, WANT `install` or `hold` (a package kept at its version).
        let installed = field("Status").is_some_and(|st| {
            let w: Vec<&str> = st.split_whitespace().collect();
            w.len() == 3 && matches!(w[0], "install" | "hold") && w[2] == "installed"
        });
        if field("Package") != Some(package) || !installed {
            return None;
        }
        let v = field("Version")?;
        crate::hub::updates::check_label(v, "version")
            .is_ok()
            .then(|| v.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "Package: mount\nStatus: install ok installed\nVersion: 2.41-5\n\n\
        Package: motcua-extra\nStatus: install ok installed\nVersion: 9.9\n\n\
        Package: motcua\nStatus: install ok installed\nPriority: optional\n\
        Description: kiosk\n Version: 7.7 (a description line)\nVersion: 0.1.0-1\n\n";

    #[test]
    fn the_installed_package_version_is_found() {
        assert_eq!(
            installed_version(STATUS, "motcua").as_deref(),
            Some("0.1.0-1")
        );
        assert_eq!(
            installed_version(STATUS, "mount").as_deref(),
            Some("2.41-5")
        );
        assert_eq!(installed_version(STATUS, "absent"), None);
    }

    #[test]
    fn only_installed_or_held_plain_versions_are_used() {
        let removed = "Package: motcua\nStatus: deinstall ok config-files\nVersion: 0.1.0-1\n";
        assert_eq!(installed_version(removed, "motcua"), None);
        for odd in ["1.0 beta/2", "1:0.1.0-1", "0.2~rc1"] {
            let text = format!("Package: motcua\nStatus: install ok installed\nVersion: {odd}\n");
            assert_eq!(installed_version(&text, "motcua"), None, "{odd}");
        }
        let long = format!(
            "Package: motcua\nStatus: install ok installed\nVersion: {}\n",
            "1".repeat(65)
        );
        assert_eq!(installed_version(&long, "motcua"), None);
        assert_eq!(installed_version("", "motcua"), None);
        let held = "Package: motcua\nStatus: hold ok installed\nVersion: 0.1.0-1\n";
        assert_eq!(
            installed_version(held, "motcua").as_deref(),
            Some("0.1.0-1")
        );
        let half = "Package: motcua\nStatus: install ok half-configured\nVersion: 0.1.0-1\n";
        assert_eq!(installed_version(half, "motcua"), None);
    }
}
