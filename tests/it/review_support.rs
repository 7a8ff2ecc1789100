//! Shared by the review UI tests: a scratch data directory with footage from the synthetic
//! camera, accounts, and the real review server on 127.0.0.1:0 (plain or TLS) in the test's
//! runtime; plus a tiny cookie-aware client for logging in.

use std::path::Path;
use std::sync::Arc;

use motcua::config::Config;
use motcua::record::RecordId;
use motcua::recorder::clock::{Clocks, RealClocks};
use motcua::recorder::{sources_from_config, Reason, Recorder};
use motcua::review::accounts::{AccountStore, Role};
use motcua::review::auth::hash_password;
use motcua::review::{self, Endpoint, ReviewOptions, ReviewState};

pub const REC: &str = "000.00.14.H56-251119-0042";
pub const OTHER: &str = "000.00.14.H56-251119-0043";
pub const PASSWORD: &str = "mat-khau-dai-du-10";
pub const EVIL_REASON: &str = "manual: <script>alert('x')</script>";

pub struct Server {
    pub base: String,
    pub dir: tempfile::TempDir,
    pub recorder: Arc<Recorder>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Server {
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

/// Seeded footage (counter 2, synthetic camera): three snapshots of [`REC`], one of [`OTHER`]
/// with a `<script>` reason; users `giamsat` (supervisor) and `kythuat` (technician).
/// `review_toml` is extra `[review]` keys; `tls` serves HTTPS with a fresh certificate.
pub async fn start(review_toml: &str, tls: bool) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let text = format!(
        "[recorder]\n[[recorder.cameras]]\ncounter = 2\ndevice = \"synthetic\"\nwidth = 640\nheight = 480\n\n[review]\nlisten = \"127.0.0.1:0\"\n{review_toml}\n"
    );
    let config = Config::parse(Path::new("test.toml"), text.as_bytes()).unwrap();
    let clocks: Arc<dyn Clocks> = Arc::new(RealClocks);
    let cfg = config.recorder.clone();
    let (data2, clocks2) = (data.clone(), clocks.clone());
    let recorder = tokio::task::spawn_blocking(move || {
        let sources = sources_from_config(&cfg).unwrap();
        let (rec, _) = Recorder::start(&data2, &cfg, sources, clocks2, false).unwrap();
        let r = RecordId::parse(REC).unwrap();
        for reason in ["started", "manual: complaint", "finished"] {
            rec.capture(2, &r, &Reason::parse(reason).unwrap()).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(80));
        }
        let o = RecordId::parse(OTHER).unwrap();
        rec.capture(2, &o, &Reason::parse(EVIL_REASON).unwrap())
            .unwrap();
        let acc = AccountStore::open(&data2).unwrap();
        let h = hash_password(PASSWORD).unwrap();
        acc.add("giamsat", Role::Supervisor, &h, 0).unwrap();
        acc.add("kythuat", Role::Technician, &h, 0).unwrap();
        Arc::new(rec)
    })
    .await
    .unwrap();
    let endpoint = if tls {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let (c, k) = (
            dir.path().join("review-tls.crt"),
            dir.path().join("review-tls.key"),
        );
        std::fs::write(&c, cert.pem()).unwrap();
        std::fs::write(&k, key.serialize_pem()).unwrap();
        Endpoint::new("127.0.0.1:0".parse().unwrap(), Some((&c, &k))).unwrap()
    } else {
        Endpoint::from_config(&config.review).unwrap()
    };
    let state = ReviewState::open(ReviewOptions {
        config,
        data_dir: data.clone(),
        footage: recorder.store().clone(),
        clocks,
        health: Arc::new(review::RecorderHealth(recorder.clone())),
    })
    .unwrap();
    let listener = review::server::bind(&endpoint).await.unwrap();
    let base = format!("{}://{}", endpoint.scheme(), listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        review::serve(listener, endpoint.tls, state, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    Server {
        base,
        dir,
        recorder,
        stop: Some(tx),
        task: Some(task),
    }
}

/// A client that follows no redirects and keeps cookies by hand.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap()
}

/// The `name=value` of a `Set-Cookie` header named `name`.
pub fn set_cookie(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

/// The hidden `csrf` field of a page.
pub fn csrf_of(html: &str) -> String {
    let i = html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    html[i..i + 64].to_owned()
}

/// GET /login: `(prelogin cookie pair, csrf)`.
pub async fn login_form(c: &reqwest::Client, base: &str) -> (String, String) {
    let res = c.get(format!("{base}/login")).send().await.unwrap();
    let name = if base.starts_with("https") {
        "__Host-motcua_login"
    } else {
        "motcua_login"
    };
    let cookie = set_cookie(&res, name).unwrap();
    let pair = cookie.split(';').next().unwrap().to_owned();
    let html = res.text().await.unwrap();
    (pair, csrf_of(&html))
}

/// POST /login; returns the response.
pub async fn try_login(c: &reqwest::Client, base: &str, user: &str, pw: &str) -> reqwest::Response {
    let (cookie, csrf) = login_form(c, base).await;
    c.post(format!("{base}/login"))
        .header("cookie", cookie)
        .form(&[
            ("username", user),
            ("password", pw),
            ("csrf", csrf.as_str()),
        ])
        .send()
        .await
        .unwrap()
}

/// Log in; returns the session cookie pair (`name=value`) and the page's CSRF token.
pub async fn login(c: &reqwest::Client, base: &str, user: &str) -> (String, String) {
    let res = try_login(c, base, user, PASSWORD).await;
    assert_eq!(res.status(), 303, "login of {user}");
    let name = if base.starts_with("https") {
        "__Host-motcua_session"
    } else {
        "motcua_session"
    };
    let cookie = set_cookie(&res, name).unwrap();
    let pair = cookie.split(';').next().unwrap().to_owned();
    let html = c
        .get(format!("{base}/health"))
        .header("cookie", &pair)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    (pair, csrf_of(&html))
}
