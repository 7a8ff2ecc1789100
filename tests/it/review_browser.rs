//! The review UI in a real browser: Debian's headless Chromium driven through chromedriver
//! (W3C WebDriver over HTTP, spoken by the small client below) logs in, searches a record,
//! opens a snapshot, exports the case (the downloaded zip is checked), and finds the audit
//! entries. Skips, saying so, only when /usr/bin/chromium or chromedriver is absent.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::review_support::{self as rs, REC};

const CHROMIUM: &str = "/usr/bin/chromium";
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn chromedriver() -> Option<PathBuf> {
    ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

struct Driver {
    child: Child,
    http: reqwest::Client,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Browser<'a> {
    d: &'a Driver,
    session: String,
}

impl Driver {
    async fn start(exe: &Path) -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(exe)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let d = Driver {
            child,
            http: reqwest::Client::new(),
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = d.http.get(format!("{}/status", d.url)).send().await {
                let v: Value = r.json().await.unwrap_or_default();
                if v["value"]["ready"] == true {
                    break;
                }
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not become ready"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        d
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.http.request(method, format!("{}{path}", self.url));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("webdriver call");
        let status = res.status();
        let v: Value = res.json().await.unwrap_or_default();
        assert!(status.is_success(), "{path}: {status} {v}");
        v["value"].clone()
    }

    async fn browser(&self, profile: &Path, downloads: &Path) -> Browser<'_> {
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "acceptInsecureCerts": true,
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                         "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync",
                         "--disable-dev-shm-usage", "--window-size=1280,900",
                         format!("--user-data-dir={}", profile.display())],
                "prefs": {
                    "download.default_directory": downloads.display().to_string(),
                    "download.prompt_for_download": false,
                    "safebrowsing.enabled": false
                }
            }
        }}});
        let v = self
            .call(reqwest::Method::POST, "/session", Some(caps))
            .await;
        Browser {
            d: self,
            session: v["sessionId"].as_str().expect("a session id").to_owned(),
        }
    }
}

impl Browser<'_> {
    async fn post(&self, path: &str, body: Value) -> Value {
        self.d
            .call(
                reqwest::Method::POST,
                &format!("/session/{}{path}", self.session),
                Some(body),
            )
            .await
    }
    async fn get(&self, path: &str) -> Value {
        self.d
            .call(
                reqwest::Method::GET,
                &format!("/session/{}{path}", self.session),
                None,
            )
            .await
    }
    async fn goto(&self, url: &str) {
        self.post("/url", json!({"url": url})).await;
    }
    async fn find(&self, css: &str) -> String {
        let v = self
            .post("/element", json!({"using": "css selector", "value": css}))
            .await;
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {v}"))
            .to_owned()
    }
    async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.post(&format!("/element/{e}/click"), json!({})).await;
    }
    async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.post(&format!("/element/{e}/value"), json!({"text": text}))
            .await;
    }
    async fn url(&self) -> String {
        self.get("/url")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
    /// The URL once it satisfies `want` (a click's navigation may still be under way: the
    /// login POST hashes a password with Argon2id, slow on a loaded machine), or the last one
    /// seen after 30 s.
    async fn url_when(&self, want: impl Fn(&str) -> bool) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let url = self.url().await;
            if want(&url) || std::time::Instant::now() > deadline {
                return url;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    async fn source(&self) -> String {
        self.get("/source")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
    async fn script(&self, js: &str) -> Value {
        self.post("/execute/sync", json!({"script": js, "args": []}))
            .await
    }
    async fn screenshot(&self, to: &Path) {
        use base64_decode as b64;
        let v = self.get("/screenshot").await;
        if let Some(s) = v.as_str() {
            let _ = std::fs::write(to, b64(s));
        }
    }
    async fn quit(self) {
        let _ = self
            .d
            .http
            .delete(format!("{}/session/{}", self.d.url, self.session))
            .send()
            .await;
    }
}

/// Standard base64 (screenshots only; no dependency for one debugging aid).
fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for v in s.bytes().filter_map(val) {
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supervisor_finds_views_exports_and_sees_the_audit_in_chromium() {
    let Some(driver_exe) = chromedriver().filter(|_| Path::new(CHROMIUM).exists()) else {
        eprintln!(
            "SKIPPED review browser test: {CHROMIUM} or chromedriver is absent \
             (apt-get install -y chromium chromium-driver)"
        );
        return;
    };
    let srv = rs::start("", false).await;
    let profile = tempfile::tempdir().unwrap();
    let downloads = tempfile::tempdir().unwrap();
    let driver = Driver::start(&driver_exe).await;
    let b = driver.browser(profile.path(), downloads.path()).await;
    let shots = std::env::var_os("MOTCUA_SCREENSHOTS").map(PathBuf::from);
    let base = &srv.base;

    // log in
    b.goto(&format!("{base}/login")).await;
    b.type_into("#username", "giamsat").await;
    b.type_into("#password", rs::PASSWORD).await;
    b.click("#login-button").await;
    let url = b.url_when(|u| u.ends_with("/search")).await;
    assert!(url.ends_with("/search"), "after login: {url}");

    // search by record ID
    b.type_into("#record", REC).await;
    b.click("#search-button").await;
    // (the click may return before the results page has loaded, on a busy machine)
    let url = b.url_when(|u| u.contains("record=")).await;
    assert!(url.contains("record="), "after searching: {url}");
    assert!(b.source().await.contains(REC));
    b.click("a.case-link").await;
    let url = b.url_when(|u| u.ends_with(&format!("/case/{REC}"))).await;
    assert!(url.ends_with(&format!("/case/{REC}")), "{url}");
    let case = b.source().await;
    assert_eq!(
        case.matches("class=\"ok integrity\"").count(),
        3,
        "three intact snapshots"
    );
    if let Some(d) = &shots {
        b.screenshot(&d.join("review-case.png")).await;
    }

    // open a snapshot: the full image loads
    b.click("a.snapshot-link").await;
    let url = b.url_when(|u| u.contains("/snapshot/")).await;
    assert!(url.contains("/snapshot/"), "{url}");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let w = b
            .script("const i = document.getElementById('full-image'); return i.complete ? i.naturalWidth : 0;")
            .await;
        if w.as_u64().unwrap_or(0) == 640 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the full image did not load: {w}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // export the case: the browser downloads the recorder's zip
    b.goto(&format!("{base}/case/{REC}")).await;
    b.click("#export-button").await;
    let want = downloads.path().join(format!("motcua-case-{REC}.zip"));
    // The final name can exist before the bytes are in (CI once read an empty
    // or partial zip: "Could not find EOCD"); Chromium writes into
    // `<name>.crdownload` and renames it when done. Wait for no partial file
    // and a zip that checks, not merely for the name to appear.
    let deadline = Instant::now() + Duration::from_secs(20);
    let manifest = loop {
        let files: Vec<String> = std::fs::read_dir(downloads.path())
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        let partial = files.iter().any(|f| f.ends_with(".crdownload"));
        if want.exists() && !partial {
            // a real fault stays until the deadline and is reported there
            match motcua::recorder::export::check_export(&want) {
                Ok(m) => break m,
                Err(e) if Instant::now() >= deadline => panic!("a valid case export: {e:?}"),
                Err(_) => {}
            }
        }
        assert!(
            Instant::now() < deadline,
            "no finished download; files: {files:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(manifest.record_id, REC);
    assert_eq!(manifest.snapshots.len(), 3);

    // the audit log shows the views and the export, by this user
    b.goto(&format!("{base}/audit?lang=en")).await;
    let audit = b.source().await;
    for a in [
        "export_case",
        "view_image",
        "view_snapshot",
        "view_case",
        "search",
        "login",
    ] {
        assert!(
            audit.contains(&format!("<td class=\"action\">{a}")),
            "{a} missing in the audit page"
        );
    }
    assert!(audit.contains("giamsat (supervisor)"));
    assert!(audit.contains("127.0.0.1"));
    if let Some(d) = &shots {
        b.screenshot(&d.join("review-audit.png")).await;
    }
    b.quit().await;
    let rep = srv.recorder.store().lock().unwrap().verify(true).unwrap();
    assert!(rep.ok(), "{:?}", rep.problems);
    srv.stop().await;
}
