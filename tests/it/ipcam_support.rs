//! The network cameras the IP camera tests talk to, on loopback: lighttpd (Debian's package)
//! with its own Digest and Basic authentication serving JPEGs at the Hikvision and Dahua
//! paths, and GStreamer's RTSP server (tests/ipcam/rtsp_server.py) with Digest auth. Each can
//! be unplugged (killed), plugged back on the same port, and frozen (SIGSTOP: a stalled stream).

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const HIKVISION: &str = "/ISAPI/Streaming/channels/101/picture";
pub const DAHUA: &str = "/cgi-bin/snapshot.cgi";
pub const USER: &str = "admin";
pub const PASSWORD: &str = "Cam3ra:secret";

/// lighttpd serving `www/` on a loopback port: digest under /ISAPI/, basic under /cgi-bin/.
pub struct Lighttpd {
    pub dir: tempfile::TempDir,
    pub port: u16,
    child: Option<Child>,
}

pub fn md5_hex(s: &str) -> String {
    use md5::{Digest, Md5};
    Md5::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn jpeg(width: u32, height: u32, shade: u8) -> Vec<u8> {
    let rgb = vec![shade; (width * height * 3) as usize];
    motcua::recorder::jpeg::encode_rgb(&rgb, width, height, 80).unwrap()
}

impl Lighttpd {
    pub fn start() -> Lighttpd {
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let www = dir.path().join("www");
        for p in [HIKVISION, DAHUA, "/garbage/picture"] {
            std::fs::create_dir_all(www.join(&p[1..]).parent().unwrap()).unwrap();
        }
        std::fs::write(www.join(&HIKVISION[1..]), jpeg(640, 360, 90)).unwrap();
        std::fs::write(www.join(&DAHUA[1..]), jpeg(320, 240, 160)).unwrap();
        std::fs::write(www.join("garbage/picture"), b"<html>login</html>").unwrap();
        // htdigest: user:realm:MD5(user:realm:password); lighttpd checks Basic against it too.
        let realm = "IP Camera";
        std::fs::write(
            dir.path().join("htdigest"),
            format!(
                "{USER}:{realm}:{}\n",
                md5_hex(&format!("{USER}:{realm}:{PASSWORD}"))
            ),
        )
        .unwrap();
        let conf = format!(
            r#"server.document-root = "{www}"
server.bind = "127.0.0.1"
server.port = {port}
server.pid-file = "{d}/pid"
server.errorlog = "{d}/error.log"
server.stat-cache-engine = "disable"
server.modules = ("mod_auth", "mod_authn_file")
mimetype.assign = ("" => "image/jpeg")
auth.backend = "htdigest"
auth.backend.htdigest.userfile = "{d}/htdigest"
auth.require = (
  "/ISAPI/" => ("method" => "digest", "realm" => "{realm}", "require" => "valid-user"),
  "/cgi-bin/" => ("method" => "basic", "realm" => "{realm}", "require" => "valid-user"),
)
"#,
            www = www.display(),
            d = dir.path().display(),
        );
        std::fs::write(dir.path().join("lighttpd.conf"), conf).unwrap();
        let mut l = Lighttpd {
            dir,
            port,
            child: None,
        };
        l.plug();
        l
    }

    /// Start (again) on the same port and wait until it accepts connections.
    pub fn plug(&mut self) {
        let child = Command::new("lighttpd")
            .arg("-D")
            .arg("-f")
            .arg(self.dir.path().join("lighttpd.conf"))
            .stdout(Stdio::null())
            .spawn()
            .expect("lighttpd (installed by scripts/setup.sh --tests)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "lighttpd did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn unplug(&mut self) {
        if let Some(mut c) = self.child.take() {
            unsafe { libc::kill(c.id() as i32, libc::SIGCONT) };
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn file(&self, path: &str) -> PathBuf {
        self.dir.path().join("www").join(&path[1..])
    }
}

impl Drop for Lighttpd {
    fn drop(&mut self) {
        self.unplug();
    }
}

/// `dir/camera-1` holding `text`, mode 0640 as in the secrets directory.
pub fn credentials(dir: &Path, text: &str) -> PathBuf {
    use std::os::unix::fs::OpenOptionsExt;
    let p = dir.join("camera-1");
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o640)
        .open(&p)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    p
}
/// GStreamer's RTSP server (tests/ipcam/rtsp_server.py) on a loopback port, Digest auth.
pub struct RtspServer {
    pub port: u16,
    size: String,
    child: Option<Child>,
    /// The server's client events after READY (`TEARDOWN /mjpeg`, `CLOSED`), in order.
    events: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl RtspServer {
    pub fn start() -> RtspServer {
        RtspServer::start_sized("320x240")
    }

    /// Serving pictures of `size` (`WIDTHxHEIGHT`).
    pub fn start_sized(size: &str) -> RtspServer {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut s = RtspServer {
            port,
            size: size.to_owned(),
            child: None,
            events: Default::default(),
        };
        s.plug();
        s
    }

    /// The server's process id (to read its CPU time).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    pub fn plug(&mut self) {
        use std::io::BufRead;
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ipcam/rtsp_server.py");
        // Debian's python3 (with python3-gi), not another python on PATH.
        let mut child = Command::new("/usr/bin/python3")
            .args([script, &self.port.to_string(), USER, PASSWORD, &self.size])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("/usr/bin/python3 with GStreamer's RTSP server (scripts/setup.sh --tests)");
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "READY", "the RTSP server did not start");
        let events = self.events.clone();
        std::thread::spawn(move || {
            for l in out.lines().map_while(Result::ok) {
                events.lock().unwrap().push(l);
            }
        });
        self.child = Some(child);
    }

    /// The client events the server printed so far.
    pub fn events(&self) -> Vec<String> {
        self.events.lock().unwrap().clone()
    }

    pub fn unplug(&mut self) {
        if let Some(mut c) = self.child.take() {
            unsafe { libc::kill(c.id() as i32, libc::SIGCONT) };
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("rtsp://127.0.0.1:{}{path}", self.port)
    }

    /// Freeze (SIGSTOP) or thaw (SIGCONT) the server: its connections stay open, silent.
    pub fn freeze(&self, frozen: bool) {
        let pid = self.child.as_ref().expect("running").id() as i32;
        let sig = if frozen { libc::SIGSTOP } else { libc::SIGCONT };
        assert_eq!(unsafe { libc::kill(pid, sig) }, 0);
    }
}

impl Drop for RtspServer {
    fn drop(&mut self) {
        self.unplug();
    }
}
/// Mean R, G, B of a decoded JPEG.
pub fn mean_rgb(jpeg: &[u8]) -> (u32, u32, u32, (u16, u16)) {
    let mut d = jpeg_decoder::Decoder::new(jpeg);
    let px = d.decode().unwrap();
    let info = d.info().unwrap();
    assert_eq!(px.len(), info.width as usize * info.height as usize * 3);
    let n = (px.len() / 3) as u64;
    let sum = |c: usize| (px.iter().skip(c).step_by(3).map(|&v| v as u64).sum::<u64>() / n) as u32;
    (sum(0), sum(1), sum(2), (info.width, info.height))
}
