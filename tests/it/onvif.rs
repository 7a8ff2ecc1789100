//! `motcua cameras discover` against a small ONVIF camera written in Python's standard library
//! (tests/ipcam/onvif_responder.py): WS-Discovery on a loopback port (`--target`; the tests never
//! send multicast), the device and media services with a checked WS-UsernameToken digest.
//! Described, wrong password, no password, a malformed answer and nobody answering each have
//! an exact outcome; the password never shows.

use std::io::BufRead;
use std::process::{Child, Command, Stdio};

use crate::ipcam_support::{PASSWORD, USER};

struct Responder {
    udp: u16,
    http: u16,
    child: Child,
}

impl Responder {
    fn start(extra: &[&str]) -> Responder {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/ipcam/onvif_responder.py"
        );
        let mut child = Command::new("/usr/bin/python3")
            .arg(script)
            .args([USER, PASSWORD])
            .args(extra)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let w: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(w.first(), Some(&"READY"), "{line}");
        Responder {
            udp: w[1].parse().unwrap(),
            http: w[2].parse().unwrap(),
            child,
        }
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn discover(target: u16, password: Option<&str>) -> (Option<i32>, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_motcua"));
    cmd.args(["cameras", "discover", "--timeout", "1", "--target"])
        .arg(format!("127.0.0.1:{target}"));
    if let Some(p) = password {
        let f = dir.path().join("onvif-password");
        std::fs::write(&f, format!("{p}\n")).unwrap();
        cmd.args(["--user", USER, "--password-file"]).arg(&f);
    }
    let o = cmd.output().unwrap();
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    );
    if let Some(p) = password {
        assert!(!out.contains(p) && !err.contains(p), "the password shows");
    }
    (o.status.code(), out, err)
}

#[test]
fn a_camera_is_described_with_its_urls_and_a_snippet() {
    let r = Responder::start(&[]);
    let (code, out, err) = discover(r.udp, Some(PASSWORD));
    assert_eq!(code, Some(0), "{err}");
    let h = r.http;
    assert_eq!(
        out,
        format!(
            "1 ONVIF camera(s) answered, 1 described

camera 1: HIKVISION DS-2CD1023G0E-I (firmware V5.7.3 build 220112, serial DS-2CD1023G0E-I20220101AAWRJ12345678)
  device service: http://127.0.0.1:{h}/onvif/device_service
  profile Profile_1 \"mainStream\": H264 1920x1080
    stream:   rtsp://127.0.0.1:554/Streaming/Channels/101
    snapshot: http://127.0.0.1:{h}/ISAPI/Streaming/channels/101/picture
  profile Profile_2 \"subStream\": JPEG 640x360
    stream:   rtsp://127.0.0.1:554/Streaming/Channels/102
    snapshot: http://127.0.0.1:{h}/ISAPI/Streaming/channels/102/picture
  for motcua.toml (its MJPEG stream: stored as sent; set the counter, and put `user:password` in the credentials file):
    [[recorder.cameras]]
    counter = 1
    device = \"rtsp://127.0.0.1:554/Streaming/Channels/102\"
    credentials_file = \"/etc/motcua/secrets/camera-1\"
"
        )
    );
    // The camera's stream URL carried its user name; it is not printed.
    assert!(!out.contains("admin@"));
    // The snippet is a config motcua accepts.
    let snippet: String = out
        .lines()
        .skip_while(|l| !l.contains("[[recorder.cameras]]"))
        .map(|l| format!("{}\n", l.trim()))
        .collect();
    let path = std::path::Path::new("motcua.toml");
    motcua::config::Config::parse(path, snippet.as_bytes()).unwrap();
}

#[test]
fn wrong_or_missing_passwords_are_named() {
    let r = Responder::start(&[]);
    let xaddr = format!("http://127.0.0.1:{}/onvif/device_service", r.http);
    let (code, out, err) = discover(r.udp, Some("not-the-password"));
    assert_eq!(code, Some(1));
    assert_eq!(
        out,
        format!(
            "1 ONVIF camera(s) answered, 0 described\n\ncamera 1: {xaddr}: refused the user name \
             or password (ONVIF NotAuthorized)\n"
        )
    );
    assert_eq!(
        err,
        "motcua: error: no camera could be described (see above)\n"
    );
    let (code, out, _) = discover(r.udp, None);
    assert_eq!(code, Some(1));
    assert!(
        out.ends_with(&format!(
            "camera 1: {xaddr}: asks for a user name and password (ONVIF NotAuthorized); give \
             --user and --password-file\n"
        )),
        "{out}"
    );
}

#[test]
fn a_malformed_answer_and_silence_are_named() {
    let r = Responder::start(&["--malformed", "GetProfiles"]);
    let (code, out, _) = discover(r.udp, Some(PASSWORD));
    assert_eq!(code, Some(1));
    assert_eq!(
        out.lines().last().unwrap(),
        format!(
            "camera 1: http://127.0.0.1:{}/onvif/device_service: the GetProfiles answer is not \
             valid XML (unexpected end of stream)",
            r.http
        )
    );

    // Nobody on that port.
    let free = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let (code, out, err) = discover(port, None);
    assert_eq!(code, Some(1));
    assert_eq!(out, "");
    assert_eq!(
        err,
        format!(
            "motcua: error: no ONVIF camera answered the WS-Discovery probe sent to \
             127.0.0.1:{port} within 1 s; check that the cameras are on this LAN with ONVIF \
             (and discovery) enabled, or give --target HOST:3702\n"
        )
    );
}

/// The review's bug: the UsernameToken was dated by the device's clock, and a camera whose
/// clock is hours off refused it. The responder's clock runs 3 h ahead (and then 3 h behind)
/// and refuses a Created more than 5 min from it; discover dates its tokens by the camera.
#[test]
fn a_camera_with_a_clock_hours_off_is_described() {
    for skew in ["10800", "-10800"] {
        let r = Responder::start(&["--clock-skew", skew]);
        // A token dated by the device's clock is refused by this camera...
        let device_service = format!("http://127.0.0.1:{}/onvif/device_service", r.http);
        let login = motcua::onvif::soap::Login {
            user: USER.into(),
            password: PASSWORD.into(),
            camera_offset_ms: 0,
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let refused = rt.block_on(motcua::onvif::soap::call(
            &reqwest::Client::new(),
            &device_service,
            "GetDeviceInformation",
            "<GetDeviceInformation xmlns=\"http://www.onvif.org/ver10/device/wsdl\"/>",
            Some(&login),
        ));
        assert_eq!(
            refused.unwrap_err().to_string(),
            "refused the user name or password (ONVIF NotAuthorized)"
        );
        // ...and discover, which asks the camera's time first, describes it.
        let (code, out, err) = discover(r.udp, Some(PASSWORD));
        assert_eq!(code, Some(0), "skew {skew}: {out}{err}");
        assert!(
            out.starts_with(&format!(
                "1 ONVIF camera(s) answered, 1 described\n\ncamera 1: HIKVISION DS-2CD1023G0E-I \
                 (firmware V5.7.3 build 220112, serial DS-2CD1023G0E-I20220101AAWRJ12345678)\n  \
                 device service: {device_service}\n"
            )),
            "skew {skew}: {out}"
        );
        assert!(out.contains("device = \"rtsp://127.0.0.1:554/Streaming/Channels/102\""));
    }
}
