//! The fleet page in a real browser: Debian's headless Chromium signs in as a hub admin over
//! the hub's HTTPS and reads the page as rendered — every device with its center, last
//! heartbeat, health, catalog and software versions and last anchored head, silent devices
//! flagged, search and sorting through the page's own links. Without a login: 401.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use ed25519_dalek::SigningKey;
use motcua::hub::store::AnchorOutcome;
use motcua::hub::HubState;

use super::hub_store::signed_head;
use super::hub_tls::province_ca;

pub(super) const CHROMIUM: &str = "/usr/bin/chromium";

/// The page's DOM after Chromium loaded and rendered `url`.
pub(super) fn dump_dom(url: &str, profile: &Path) -> String {
    let out = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-dev-shm-usage",
            // The test CA is not in Chromium's store; the device side of trust is tested in
            // hub_tls.rs.
            "--ignore-certificate-errors",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(url)
        .output()
        .expect("chromium runs (scripts/setup.sh --tests installs it)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Device names of the table's rows, in order.
fn rows(dom: &str) -> Vec<String> {
    dom.split("data-device=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_owned())
        .collect()
}

fn href(dom: &str, sort: &str) -> String {
    let marker = format!("data-sort=\"{sort}\"");
    let at = dom.find(&marker).expect("a sort link");
    let before = &dom[..at];
    let start = before.rfind("href=\"").unwrap() + 6;
    before[start..]
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fleet_page_in_chromium() {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: scripts/setup.sh --tests installs it"
    );
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("hub");
    motcua::hub::keys::keygen(&data).unwrap();
    let (_, cert, key) = province_ca(dir.path());
    std::fs::write(dir.path().join("none.toml"), "").unwrap();
    let mut admin = Command::new(env!("CARGO_BIN_EXE_motcua"))
        .arg("--config")
        .arg(dir.path().join("none.toml"))
        .args(["hub", "admin", "add", "it-so", "--data"])
        .arg(&data)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(
        admin.stdin.as_mut().unwrap(),
        b"correct horse battery staple\n",
    )
    .unwrap();
    assert!(admin.wait().unwrap().success());

    let state = HubState::open(&data).unwrap();
    let store = state.store().clone();
    let now = chrono::Utc::now();
    for (name, center) in [
        ("tho-xuan-1", "Xã Thọ Xuân"),
        ("ham-rong-1", "Phường Hàm Rồng"),
        ("ham-rong-2", "Phường Hàm Rồng"),
    ] {
        store.add_device(name, center, now).await.unwrap();
    }
    let beat = |catalog: u64, level: &str| {
        format!(
            r#"{{"device":"x","at":"2026-12-05T10:00:00Z","catalog_version":{catalog},"version":"0.1.{catalog}","health":{{"level":"{level}"}}}}"#
        )
    };
    store
        .store_upload("heartbeat", "ham-rong-1", "a", &beat(7, "ok"), "{}", now)
        .await
        .unwrap();
    store
        .store_upload(
            "heartbeat",
            "tho-xuan-1",
            "b",
            &beat(6, "warn"),
            "{}",
            now - chrono::Duration::minutes(25),
        )
        .await
        .unwrap();
    let dev_key = SigningKey::from_bytes(&[8; 32]);
    let hub_key = motcua::hub::keys::load_signing_key(&data).unwrap();
    let head = signed_head("ham-rong-1", 41, 0x5a, &dev_key);
    assert!(matches!(
        store
            .anchor("ham-rong-1", &head, &hub_key, now)
            .await
            .unwrap(),
        AnchorOutcome::New(_)
    ));

    let tls = Arc::new(motcua::review::tls::server_config(&cert, &key).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(motcua::hub::serve_tls(
        listener,
        Some(tls),
        state,
        std::future::pending(),
    ));

    // No login, or a wrong one: 401 asking for Basic credentials.
    let http = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let r = http
        .get(format!("https://127.0.0.1:{port}/fleet"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.headers()["www-authenticate"],
        "Basic realm=\"motcua hub\", charset=\"UTF-8\""
    );
    let r = http
        .get(format!("https://127.0.0.1:{port}/fleet"))
        .basic_auth("it-so", Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        (
            r.status().as_u16(),
            r.headers()["x-motcua-error"].to_str().unwrap()
        ),
        (401, "wrong admin name or password")
    );

    let profile = dir.path().join("chromium");
    let base = format!("https://it-so:correct%20horse%20battery%20staple@127.0.0.1:{port}");
    let page = |path: String| {
        let profile = profile.clone();
        let url = format!("{base}{path}");
        tokio::task::spawn_blocking(move || dump_dom(&url, &profile))
    };
    let dom = page("/fleet".into()).await.unwrap();
    assert!(
        dom.contains("3 devices, 2 silent for more than 10 minutes. Signed in as it-so."),
        "{dom}"
    );
    assert_eq!(rows(&dom), ["ham-rong-1", "ham-rong-2", "tho-xuan-1"]);
    let row = |name: &str| {
        let start = dom.find(&format!("data-device=\"{name}\"")).unwrap();
        let end = dom[start..].find("</tr>").unwrap();
        dom[start..start + end].to_owned()
    };
    let fresh = row("ham-rong-1");
    for text in [
        "Phường Hàm Rồng",
        "<td class=\"health\">ok</td>",
        "<td class=\"catalog\">7</td>",
        "<td class=\"software\">0.1.7</td>",
        "seq 41 · 2026-12-05T10:00:00Z",
    ] {
        assert!(fresh.contains(text), "{text} in {fresh}");
    }
    assert!(!fresh.contains("SILENT"), "{fresh}");
    assert!(row("tho-xuan-1").contains("(25 min ago) <span class=\"flag\">SILENT</span>"));
    assert!(row("ham-rong-2").contains("never <span class=\"flag\">SILENT</span>"));

    // Search, then sort by last heartbeat through the page's link, and reverse it.
    let dom = page("/fleet?q=h%C3%A0m+r%E1%BB%93ng".into()).await.unwrap();
    assert_eq!(rows(&dom), ["ham-rong-1", "ham-rong-2"]);
    let by_seen = href(&dom, "last_seen");
    assert_eq!(
        by_seen,
        "/fleet?sort=last_seen&dir=asc&q=h%C3%A0m%20r%E1%BB%93ng"
    );
    let dom = page(by_seen).await.unwrap();
    assert_eq!(rows(&dom), ["ham-rong-2", "ham-rong-1"], "never seen first");
    let dom = page(href(&dom, "last_seen")).await.unwrap();
    assert_eq!(rows(&dom), ["ham-rong-1", "ham-rong-2"]);
    let dom = page("/fleet?sort=catalog&dir=desc".into()).await.unwrap();
    assert_eq!(rows(&dom), ["ham-rong-1", "tho-xuan-1", "ham-rong-2"]);
}
