//! The installed units, udev rules and image scripts as files: each field failure of issue 15
//! that needs systemd (or a whole image) to show is pinned here by reading what ships —
//! DeviceAllow, ReadOnlyPaths, InaccessiblePaths, the fontconfig cache, the first-boot
//! condition, the GPIO and Wi-Fi udev rules, SSH key-only — and the release files
//! (`image/release-files.sh`) are produced for real on a small file and checked with
//! `sha256sum -c` as a technician would.

use std::path::Path;
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn read(rel: &str) -> String {
    std::fs::read_to_string(Path::new(ROOT).join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Every value of `key=` in a unit file (one entry per line, in order).
fn values(unit: &str, key: &str) -> Vec<String> {
    unit.lines()
        .filter_map(|l| l.trim().strip_prefix(&format!("{key}=")))
        .map(str::to_owned)
        .collect()
}

#[test]
fn kiosk_opens_input_devices_read_write() {
    // libinput opens /dev/input/event* O_RDWR: with `char-input r` touch was dead (EPERM).
    let kiosk = read("systemd/motcua-kiosk.service");
    let allow = values(&kiosk, "DeviceAllow");
    assert!(allow.contains(&"char-input rw".to_owned()), "{allow:?}");
    assert!(!allow.contains(&"char-input r".to_owned()), "{allow:?}");
}

/// The private databases are masked as a directory (a file mask misses a file SQLite recreates
/// after the daemon restarts), and the tmpfiles entry makes that directory owner-only.
#[test]
fn kiosk_cannot_reach_the_private_directory_and_it_is_owner_only() {
    let kiosk = read("systemd/motcua-kiosk.service");
    let paths: Vec<String> = values(&kiosk, "InaccessiblePaths")
        .iter()
        .flat_map(|v| v.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
        .collect();
    for p in ["-/var/lib/motcua/private", "-/var/lib/motcua/footage"] {
        assert!(paths.contains(&p.to_owned()), "{p} missing from {paths:?}");
    }
    let tmpfiles = read("systemd/motcua.tmpfiles");
    assert!(
        tmpfiles
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == [
                    "d",
                    "/var/lib/motcua/private",
                    "0700",
                    "motcua",
                    "motcua",
                    "-"
                ]),
        "{tmpfiles}"
    );
    // the kiosk is not in the daemon's group, so 0700/0600 hold without the unit too
    let sysusers = read("systemd/motcua.sysusers");
    assert!(
        !sysusers
            .lines()
            .any(|l| l.starts_with("m motcua-kiosk motcua")),
        "{sysusers}"
    );
}

#[test]
fn kiosk_cannot_reach_footage_wal_or_review_db() {
    let kiosk = read("systemd/motcua-kiosk.service");
    let paths: Vec<String> = values(&kiosk, "InaccessiblePaths")
        .iter()
        .flat_map(|v| v.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
        .collect();
    for p in [
        "footage",
        "footage.db",
        "footage.db-wal",
        "footage.db-shm",
        "review.db",
        "review.db-wal",
        "review.db-shm",
    ] {
        let want = format!("-/var/lib/motcua/{p}");
        assert!(paths.contains(&want), "{want} missing from {paths:?}");
    }
    assert!(paths.contains(&"-/etc/motcua/secrets".to_owned()));
}

#[test]
fn kiosk_has_a_writable_fontconfig_cache() {
    let kiosk = read("systemd/motcua-kiosk.service");
    assert_eq!(values(&kiosk, "CacheDirectory"), ["motcua-kiosk"]);
    assert!(values(&kiosk, "Environment")
        .contains(&"XDG_CACHE_HOME=/var/cache/motcua-kiosk".to_owned()));
}

#[test]
fn kiosk_does_not_wait_for_the_daemon_to_be_ready() {
    // The kiosk's first frame must not queue behind the daemon's start (cameras, recorder
    // reconcile): ordered after provisioning and udev only, and still pulling the daemon in.
    let kiosk = read("systemd/motcua-kiosk.service");
    let after: Vec<String> = values(&kiosk, "After")
        .iter()
        .flat_map(|v| v.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
        .collect();
    assert_eq!(after, ["motcua-firstboot.service", "systemd-udevd.service"]);
    assert_eq!(values(&kiosk, "Wants"), ["motcua-daemon.service"]);
}

#[test]
fn daemon_starts_where_a_sysfs_path_is_absent() {
    // Without `-`, a missing /sys/class/backlight (no panel) fails the unit at start.
    let daemon = read("systemd/motcua-daemon.service");
    let ro: Vec<String> = values(&daemon, "ReadOnlyPaths")
        .iter()
        .flat_map(|v| v.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
        .collect();
    assert!(!ro.is_empty());
    for p in &ro {
        assert!(
            p.starts_with('-'),
            "ReadOnlyPaths entry {p} has no `-` prefix"
        );
    }
    let allow = values(&daemon, "DeviceAllow");
    assert!(allow.contains(&"char-gpiochip rw".to_owned()), "{allow:?}");
}

#[test]
fn group_gpio_gets_the_gpio_character_devices() {
    let rule = read("systemd/60-motcua-gpio.rules");
    let line = rule
        .lines()
        .find(|l| !l.starts_with('#') && !l.trim().is_empty())
        .unwrap();
    assert_eq!(
        line,
        r#"SUBSYSTEM=="gpio", KERNEL=="gpiochip[0-9]*", GROUP="gpio", MODE="0660""#
    );
    let sysusers = read("systemd/motcua.sysusers");
    assert!(sysusers.lines().any(|l| l == "m motcua gpio"));
    let cargo = read("Cargo.toml");
    assert!(cargo.contains(r#"["systemd/60-motcua-gpio.rules", "usr/lib/udev/rules.d/", "644"]"#));
}

#[test]
fn wpa_supplicant_starts_only_with_a_wlan_device() {
    // Enabled unconditionally it waited 90 s at every boot for a wlan0 that may not exist.
    let build = read("image/build.sh");
    for line in build.lines().filter(|l| l.contains("systemctl enable")) {
        assert!(!line.contains("wpa_supplicant"), "{line}");
    }
    let rule = read("systemd/61-motcua-wifi.rules");
    assert!(rule.contains(
        r#"SUBSYSTEM=="net", ACTION=="add", KERNEL=="wlan0", TAG+="systemd", ENV{SYSTEMD_WANTS}+="wpa_supplicant@wlan0.service""#
    ));
    assert!(build.contains("ConditionPathExists=/etc/motcua/secrets/wpa_supplicant-wlan0.conf"));
    let cargo = read("Cargo.toml");
    assert!(cargo.contains(r#"["systemd/61-motcua-wifi.rules", "usr/lib/udev/rules.d/", "644"]"#));
}

#[test]
fn firstboot_runs_every_boot_so_a_misnamed_file_is_reported() {
    let unit = read("systemd/motcua-firstboot.service");
    assert!(values(&unit, "ConditionPathExists").is_empty(), "{unit}");
    assert_eq!(
        values(&unit, "ExecStart"),
        ["/usr/bin/motcua provision --if-present --from /boot/firmware/motcua.toml"]
    );
}

#[test]
fn ssh_is_key_only_and_needs_provisioned_keys() {
    let build = read("image/build.sh");
    for line in [
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PermitEmptyPasswords no",
        "PermitRootLogin prohibit-password",
        "AuthorizedKeysFile /etc/motcua/ssh/authorized_keys",
        "ConditionPathExists=/etc/motcua/ssh/authorized_keys",
    ] {
        assert!(
            build.lines().any(|l| l == line),
            "{line} missing in image/build.sh"
        );
    }
    assert!(
        build.contains(r#"rm -f "$R"/etc/ssh/ssh_host_*"#),
        "no host keys in the image"
    );
}

fn release_files(dir: &Path, url_base: Option<&str>) -> std::process::Output {
    let mut c = Command::new("bash");
    c.arg(Path::new(ROOT).join("image/release-files.sh"))
        .arg(dir)
        .arg("motcua-test")
        .arg("1.2.3")
        .arg("Debian trixie arm64");
    c.env_remove("URL_BASE").env_remove("DEVICES");
    if let Some(u) = url_base {
        c.env("URL_BASE", u);
    }
    c.output().unwrap()
}

#[test]
fn release_files_check_out_with_only_what_is_shipped() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    std::fs::write(p.join("motcua-test.img"), vec![7u8; 4096]).unwrap();
    std::fs::write(p.join("motcua-test.img.xz"), b"compressed").unwrap();
    std::fs::write(p.join("motcua-test.img.bmap"), b"<bmap/>").unwrap();
    let o = release_files(p, None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "release-files: no Imager JSON written: set URL_BASE=https://…/ (where motcua-test.img.xz will be served)"
    );
    assert!(!p.join("motcua-test.rpi-imager.json").exists());
    // What a technician receives: the .img.xz, the .bmap and the .sha256 (not the .img).
    let shipped = tempfile::tempdir().unwrap();
    for f in [
        "motcua-test.img.xz",
        "motcua-test.img.bmap",
        "motcua-test.sha256",
    ] {
        std::fs::copy(p.join(f), shipped.path().join(f)).unwrap();
    }
    let c = Command::new("sha256sum")
        .args(["-c", "motcua-test.sha256"])
        .current_dir(shipped.path())
        .output()
        .unwrap();
    assert!(c.status.success(), "{}", String::from_utf8_lossy(&c.stdout));
    assert_eq!(
        String::from_utf8_lossy(&c.stdout),
        "motcua-test.img.xz: OK\nmotcua-test.img.bmap: OK\n"
    );

    // With URL_BASE: an absolute URL and the devices the image boots.
    let o = release_files(p, Some("http://example.org/"));
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr).trim(),
        "release-files: URL_BASE must start with https:// (got http://example.org/)"
    );
    let o = release_files(p, Some("https://images.example.gov.vn/motcua"));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(p.join("motcua-test.rpi-imager.json")).unwrap(),
    )
    .unwrap();
    let os = &json["os_list"][0];
    assert_eq!(
        os["url"],
        "https://images.example.gov.vn/motcua/motcua-test.img.xz"
    );
    assert_eq!(os["devices"], serde_json::json!(["pi5-64bit", "pi4-64bit"]));
    assert_eq!(os["extract_size"], 4096);
    assert_eq!(os["image_download_size"], 10);
}

/// Review finding (issue 20): neither service could open the ticket printer (DevicePolicy
/// closed without the USB printer's major, and neither user in group lp); `doctor` said "not
/// connected". Both units now allow char major "usb" and both users are in lp.
#[test]
fn both_services_may_open_the_ticket_printer() {
    let sysusers = read("systemd/motcua.sysusers");
    for unit in ["motcua-daemon", "motcua-kiosk"] {
        let text = read(&format!("systemd/{unit}.service"));
        assert!(
            values(&text, "DeviceAllow").contains(&"char-usb rw".to_owned()),
            "{unit}"
        );
        assert!(
            values(&text, "SupplementaryGroups")
                .iter()
                .any(|v| v.split_whitespace().any(|g| g == "lp")),
            "{unit}"
        );
        let user = unit.strip_suffix("-daemon").unwrap_or(unit);
        assert!(
            sysusers.lines().any(|l| l == format!("m {user} lp")),
            "{user}"
        );
    }
}
