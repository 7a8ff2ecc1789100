//! `motcua doctor` as a technician runs it: exit codes 0/1/2 by the worst check, JSON shape,
//! and a broken config reported as a failed check rather than aborting the command.

use crate::support::*;

fn doctor(s: &Scratch, config: &str, root: &std::path::Path, json: bool) -> std::process::Output {
    let mut args = vec!["doctor", "--root", root.to_str().unwrap()];
    if json {
        args.push("--json");
    }
    std::process::Command::new(env!("CARGO_BIN_EXE_motcua"))
        .arg("--config")
        .arg(s.file("doctor.toml", config))
        .arg("--data-dir")
        .arg(s.data_dir())
        .args(&args)
        .env_remove("MOTCUA_DATA_DIR")
        .output()
        .unwrap()
}

#[test]
fn broken_config_is_a_failed_check_with_exit_2() {
    let s = Scratch::new();
    let out = doctor(&s, "[gpio]\npir_pin = 40\n", s.path(), true);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let rep: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rep["worst"], "fail");
    let config = &rep["checks"][0];
    assert_eq!(config["name"], "config");
    assert_eq!(config["level"], "fail");
    assert!(config["summary"]
        .as_str()
        .unwrap()
        .ends_with("gpio.pir_pin = 40 is not a header GPIO; use a BCM number from 0 to 27"));
    let names: Vec<&str> = rep["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "config",
            "catalog.db",
            "cameras",
            "gpio",
            "display",
            "clock",
            "server",
            "disk",
            "filesystems",
            "power",
            "temperature",
            "update"
        ]
    );
}

#[test]
fn warnings_only_exit_1_in_text() {
    let s = Scratch::new();
    let root = s.path().join("root");
    for f in [
        "dev/dri/card0",
        "sys/class/drm/card0-HDMI-A-1/status",
        "run/systemd/timesync/synchronized",
    ] {
        std::fs::create_dir_all(root.join(f).parent().unwrap()).unwrap();
        std::fs::write(root.join(f), "connected\n").unwrap();
    }
    let out = doctor(&s, "", &root, false);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("WARN  cameras      no camera found\n"),
        "{text}"
    );
    assert!(
        text.contains("ok    display      1 screen(s) connected\n"),
        "{text}"
    );
    assert!(
        text.ends_with("some checks need attention (exit 1)\n"),
        "{text}"
    );
}
