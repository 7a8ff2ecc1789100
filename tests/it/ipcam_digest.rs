//! HTTP Digest against a camera that refuses nonce reuse (tests/ipcam/digest_once.py: a fresh
//! nonce per 401, each good once, reuse answered 401 without `stale=true`). The snapshot
//! source retries once with the fresh challenge and keeps streaming; a password changed on
//! the camera is still "refused the user name or password" after exactly that one retry.

use std::io::{BufRead, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::ipcam_support::{credentials, jpeg, PASSWORD, USER};

use motcua::recorder::camera::http_snapshot::HttpSnapshotCamera;
use motcua::recorder::camera::{CameraError, FrameSource};

struct DigestOnce {
    dir: tempfile::TempDir,
    port: u16,
    child: Child,
}

impl DigestOnce {
    fn start() -> DigestOnce {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("password"), PASSWORD).unwrap();
        std::fs::write(dir.path().join("picture.jpg"), jpeg(320, 240, 120)).unwrap();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ipcam/digest_once.py");
        let mut child = Command::new("/usr/bin/python3")
            .arg(script)
            .arg(USER)
            .arg(dir.path().join("password"))
            .arg(dir.path().join("picture.jpg"))
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .strip_prefix("READY ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("digest_once.py did not start: {line:?}"));
        DigestOnce { dir, port, child }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/picture", self.port)
    }

    /// `requests=N ok=N reused=N wrong=N` for /picture so far.
    fn stats(&self) -> String {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.write_all(b"GET /stats HTTP/1.0\r\n\r\n").unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        text.split("\r\n\r\n").nth(1).unwrap_or("").to_owned()
    }

    fn change_password(&self, password: &str) {
        std::fs::write(self.dir.path().join("password"), password).unwrap();
    }
}

impl Drop for DigestOnce {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn camera(url: &str, creds: PathBuf) -> HttpSnapshotCamera {
    HttpSnapshotCamera::new(url, Some(creds), Duration::from_millis(50)).unwrap()
}

#[test]
fn a_camera_refusing_nonce_reuse_gets_one_retry_with_its_fresh_nonce() {
    let srv = DigestOnce::start();
    let secrets = tempfile::tempdir().unwrap();
    let creds = credentials(secrets.path(), &format!("{USER}:{PASSWORD}"));
    let mut cam = camera(&srv.url(), creds);
    let info = cam.start().unwrap();
    assert_eq!((info.width, info.height), (320, 240));
    // start: no credentials → 401, then the first nonce → 200
    assert_eq!(srv.stats(), "requests=2 ok=1 reused=0 wrong=0");
    cam.next_frame().unwrap(); // the frame fetched by start
    for n in 1..=3 {
        let f = cam.next_frame().unwrap();
        assert_eq!((f.width, f.height), (320, 240));
        // each fetch: the cached nonce refused (401, no stale), one retry with the fresh one
        assert_eq!(
            srv.stats(),
            format!("requests={} ok={} reused={n} wrong=0", 2 + 2 * n, 1 + n)
        );
    }

    // The password changed on the camera: refused after exactly one retry, never shown.
    srv.change_password("changed-on-the-camera");
    let err = cam.next_frame().unwrap_err();
    assert_eq!(
        err,
        CameraError::Io {
            device: srv.url(),
            message: "refused the user name or password (HTTP 401)".into()
        }
    );
    assert!(!format!("{err} {err:?}").contains(PASSWORD));
    assert_eq!(srv.stats(), "requests=10 ok=4 reused=4 wrong=1");
    cam.stop();

    // A wrong password from the start: the 401 without credentials, one try, refused.
    srv.change_password(PASSWORD);
    let wrong_dir = tempfile::tempdir().unwrap();
    let wrong = credentials(wrong_dir.path(), &format!("{USER}:not-{PASSWORD}"));
    let err = camera(&srv.url(), wrong).start().unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "camera {}: refused the user name or password (HTTP 401)",
            srv.url()
        )
    );
    assert_eq!(srv.stats(), "requests=12 ok=4 reused=4 wrong=2");
}

/// Once Digest worked, a 401 asking for Basic (a spoofed address on the LAN, or a camera
/// reset) is refused: the password is never sent in clear.
#[test]
fn a_downgrade_from_digest_to_basic_is_refused_and_no_password_goes_in_clear() {
    let srv = DigestOnce::start();
    let secrets = tempfile::tempdir().unwrap();
    let creds = credentials(secrets.path(), &format!("{USER}:{PASSWORD}"));
    let mut cam = camera(&srv.url(), creds);
    cam.start().unwrap();
    cam.next_frame().unwrap();
    std::fs::write(srv.dir.path().join("basic"), "").unwrap();
    let err = cam.next_frame().unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "camera {}: asked for Basic authentication after Digest (HTTP 401): refused, so the \
             password is not sent in clear; check who answers at this address",
            srv.url()
        )
    );
    // the cached nonce's request, answered with the Basic challenge; no Basic answer sent
    assert_eq!(srv.stats(), "requests=3 ok=1 reused=0 wrong=0 basic=0");
}
