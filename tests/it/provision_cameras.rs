//! Network cameras in the provisioning file (review finding, issue 17): `[[recorder.cameras]]`
//! with a URL, a user and a password. Provisioning writes `user:password` to
//! `secrets/camera-N` (mode 0640, the group of the other secrets), the config entry naming
//! that file, and never the password anywhere else (config, output, status, the card's copy).
//! A bad URL, a missing password and a counter given two cameras are refused by line and key.
//! (Beside tests/it/provision.rs, whose `Device` it uses; that file is long enough.)

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use motcua::provision::schema::ProvisionFile;

use crate::provision::{filled, Device};
use crate::support::{stderr, stdout};

const NVR_PASSWORD: &str = "Nvr:pass 3";
const CAM4_PASSWORD: &str = "S3cret-cam4";

/// The filled template plus counter 3 on an NVR channel (RTSP) and counter 4 by snapshot URL.
fn with_cameras(cameras: &str) -> String {
    filled().replacen(
        "button_pin = 27\n",
        &format!(
            "button_pin = 27\n\n[[counters]]\nid = 3\nname = \"Quầy 3 – Kinh doanh\"\n{cameras}"
        ),
        1,
    )
}

fn nvr_camera(counter: u8) -> String {
    format!(
        "\n[[recorder.cameras]]\ncounter = {counter}\n\
         url = \"rtsp://192.168.1.64:554/Streaming/Channels/{counter}02\"\nuser = \"motcua\"\n\
         password = \"{NVR_PASSWORD}\"\n"
    )
}

fn snapshot_camera() -> String {
    format!(
        "\n[[recorder.cameras]]\ncounter = 4\n\
         url = \"http://192.168.1.65/ISAPI/Streaming/channels/101/picture\"\n\
         user = \"viewer\"\npassword = \"{CAM4_PASSWORD}\"\n"
    )
}

#[test]
fn network_cameras_are_provisioned_with_their_credentials_only_in_the_secrets_dir() {
    let d = Device::new();
    let out = d.provision(&with_cameras(&(nvr_camera(3) + &snapshot_camera())));
    assert!(out.status.success(), "{}", stderr(&out));

    let config = d.read("etc/motcua/motcua.toml");
    assert!(
        config.contains(
            "\n# Quầy 3 – Kinh doanh (network camera; user and password in its credentials_file)\n\
             [[recorder.cameras]]\ncounter = 3\n\
             device = \"rtsp://192.168.1.64:554/Streaming/Channels/302\"\n\
             credentials_file = \"/etc/motcua/secrets/camera-3\"\n"
        ),
        "{config}"
    );
    assert!(
        config.contains(
            "\n# counter 4 (network camera; user and password in its credentials_file)\n\
             [[recorder.cameras]]\ncounter = 4\n\
             device = \"http://192.168.1.65/ISAPI/Streaming/channels/101/picture\"\n\
             credentials_file = \"/etc/motcua/secrets/camera-4\"\n"
        ),
        "{config}"
    );
    let parsed =
        motcua::config::Config::parse(Path::new("motcua.toml"), config.as_bytes()).unwrap();
    let counters: Vec<u32> = parsed.recorder.cameras.iter().map(|c| c.counter).collect();
    assert_eq!(counters, [1, 2, 3, 4]);

    // The credentials: one file per camera, as the other secrets (mode 0640, same group).
    assert_eq!(
        d.read("etc/motcua/secrets/camera-3"),
        format!("motcua:{NVR_PASSWORD}\n")
    );
    assert_eq!(
        d.read("etc/motcua/secrets/camera-4"),
        format!("viewer:{CAM4_PASSWORD}\n")
    );
    let gid = |rel: &str| std::fs::metadata(d.root().join(rel)).unwrap().gid();
    for f in ["camera-3", "camera-4"] {
        let rel = format!("etc/motcua/secrets/{f}");
        assert_eq!(d.mode(&rel), 0o640, "{f}");
        assert_eq!(gid(&rel), gid("etc/motcua/secrets/device-token"), "{f}");
    }

    // The passwords nowhere else.
    let applied = std::fs::read_to_string(d.fat().join("motcua.toml.applied")).unwrap();
    for (what, text) in [
        ("config", config.as_str()),
        ("stdout", &stdout(&out)),
        ("stderr", &stderr(&out)),
        ("status", &d.read("etc/motcua/provisioned.json")),
        ("card copy", &applied),
    ] {
        for p in [NVR_PASSWORD, CAM4_PASSWORD] {
            assert!(!text.contains(p), "{what} shows a camera password");
        }
    }
    assert_eq!(applied.matches("password = \"\"").count(), 3, "{applied}");

    // Provisioned again without the snapshot camera: its credentials go with it.
    let out = d.provision(&with_cameras(&nvr_camera(3)));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!d.root().join("etc/motcua/secrets/camera-4").exists());
    assert_eq!(
        d.read("etc/motcua/secrets/camera-3"),
        format!("motcua:{NVR_PASSWORD}\n")
    );
    assert!(!d.read("etc/motcua/motcua.toml").contains("camera-4"));
}

/// 1-based line of the `nth` line of `text` starting with `prefix`.
fn line_of(text: &str, prefix: &str, nth: usize) -> usize {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.starts_with(prefix))
        .nth(nth)
        .unwrap_or_else(|| panic!("no {prefix:?} #{nth}"))
        .0
        + 1
}

#[test]
fn bad_network_cameras_are_refused_by_line_and_key() {
    let path = Path::new("/boot/firmware/motcua.toml");
    let good = nvr_camera(3);
    let cases: Vec<(String, &str, usize, &str, &str)> = vec![
        (
            good.replace("rtsp://192.168.1.64:554", "192.168.1.64:554"),
            "url = ",
            1, // the first is [server]'s
            "recorder.cameras[0].url",
            "must start with rtsp://, http:// or https:// (the stream or snapshot URL `motcua \
             cameras discover` prints)",
        ),
        (
            good.replace("rtsp://192.168.1.64", "rtsp://admin:12345@192.168.1.64"),
            "url = ",
            1, // the first is [server]'s
            "recorder.cameras[0].url",
            "must not carry a user name or password; give them as user and password",
        ),
        (
            good.replace(&format!("password = \"{NVR_PASSWORD}\"\n"), ""),
            "[[recorder.cameras]]",
            0,
            "recorder.cameras[0].password",
            "give the password of this user; it is written to the secrets directory, never to \
             the config",
        ),
        (
            // counter 1 has its USB camera in [[counters]]
            nvr_camera(1),
            "counter = 1",
            0,
            "recorder.cameras[0].counter",
            "counter 1 already has a camera (counters[0].camera); remove one of them",
        ),
        (
            good.clone() + &good,
            "counter = 3",
            1,
            "recorder.cameras[1].counter",
            "counter 3 already has a camera (recorder.cameras[0]); one camera per counter",
        ),
    ];
    for (cameras, at, nth, key, message) in cases {
        let text = with_cameras(&cameras);
        let line = line_of(&text, at, nth);
        let err = ProvisionFile::parse(path, text.as_bytes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("/boot/firmware/motcua.toml:{line}: key `{key}`: {message}"),
        );
        assert!(!err.to_string().contains(NVR_PASSWORD));
    }

    // Through the command: refused, nothing written, the previous config kept.
    let d = Device::new();
    assert!(d.provision(&filled()).status.success());
    let before = d.read("etc/motcua/motcua.toml");
    let out = d.provision(&with_cameras(&nvr_camera(1)));
    assert!(!out.status.success());
    assert!(
        stderr(&out).ends_with(
            "key `recorder.cameras[0].counter`: counter 1 already has a camera \
             (counters[0].camera); remove one of them\n"
        ),
        "{}",
        stderr(&out)
    );
    assert_eq!(d.read("etc/motcua/motcua.toml"), before);
    assert!(!d.root().join("etc/motcua/secrets/camera-1").exists());
}
