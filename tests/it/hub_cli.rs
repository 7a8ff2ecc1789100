//! Bring-up as documented: hub commands without `--data` (the default hub directory), with the
//! global `--data-dir`, `hub serve --simulate` making a key and publishing a catalog, and
//! `hub anchors` listing what was anchored.

use std::process::{Command, Stdio};
use std::time::Duration;

fn motcua(home: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_motcua"));
    c.arg("--config")
        .arg(home.join("none.toml"))
        .env("XDG_DATA_HOME", home.join("share"))
        .env_remove("MOTCUA_HUB_DIR")
        .env_remove("MOTCUA_HUB_DATABASE");
    c
}

#[tokio::test]
async fn documented_hub_commands_work_as_written() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join("none.toml"), "").unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // `motcua hub serve --simulate`, no directory given.
    let mut hub = motcua(home.path())
        .args([
            "hub",
            "serve",
            "--simulate",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let default_dir = home.path().join("share/motcua-hub");
    // `motcua hub device add NAME`, no directory given: the same default.
    let mut token = String::new();
    for _ in 0..100 {
        let out = motcua(home.path())
            .args(["hub", "device", "add", "kiosk-1"])
            .output()
            .unwrap();
        if out.status.success() && default_dir.join("signing.key").exists() {
            token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(token.starts_with("mct_"), "{token}");
    // The simulator published the demo catalog.
    let mut status = 0;
    for _ in 0..200 {
        if let Ok(r) = reqwest::Client::new()
            .get(format!("http://127.0.0.1:{port}/v1/catalog"))
            .bearer_auth(&token)
            .send()
            .await
        {
            status = r.status().as_u16();
            if status == 200 {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200, "the simulator publishes a catalog");
    let _ = hub.kill();
    let mut log = String::new();
    std::io::Read::read_to_string(hub.stderr.as_mut().unwrap(), &mut log).unwrap();
    let _ = hub.wait();
    assert!(log.contains("made a signing key in"), "{log}");
    assert!(
        log.contains("published the demo catalog as version "),
        "{log}"
    );

    // The global --data-dir names the hub directory too.
    let other = home.path().join("other");
    let out = motcua(home.path())
        .arg("--data-dir")
        .arg(&other)
        .args(["hub", "keygen"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(other.join("signing.key").exists());
    // A --database that is not PostgreSQL is refused with the way out.
    let out = motcua(home.path())
        .args(["hub", "device", "add", "k", "--database", "mysql://x"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("--database \"mysql://x\": expected a postgres://USER@HOST/DB URL"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Nothing anchored yet.
    let out = motcua(home.path())
        .args(["hub", "anchors"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "no anchored footage heads\n"
    );
}
