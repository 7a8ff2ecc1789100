//! The public follow page in a real browser (Debian's headless Chromium): the number, the
//! counter and how many are ahead, refreshing itself, updated when the counter calls; nothing
//! about the device or the procedure; a wrong or malformed token is the same 404 page.

use std::path::Path;

use motcua::queue::{QueueEvent, QueueEventKind};
use reqwest::StatusCode;

use super::hub_fleet::{dump_dom, CHROMIUM};
use super::hub_support::{Backend, Hub};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_follow_page_in_chromium() {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: scripts/setup.sh --tests installs it"
    );
    let hub = Hub::start(Backend::Sqlite).await;
    let http = reqwest::Client::new();
    let mut follow = Vec::new();
    for i in 0..3 {
        let t: serde_json::Value = http
            .post(format!("{}/v1/tickets", hub.url()))
            .bearer_auth(&hub.token)
            .header("Idempotency-Key", format!("k{i}"))
            .body(r#"{"counter":2,"procedure":"1.001193"}"#)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        follow.push((
            t["ticket"].as_str().unwrap().to_owned(),
            t["follow"].as_str().unwrap().to_owned(),
        ));
    }
    let profile = tempfile::tempdir().unwrap();
    let (label, token) = &follow[2];
    let url = format!("{}/t/{token}", hub.url());
    let dom = tokio::task::spawn_blocking({
        let (url, p) = (url.clone(), profile.path().to_owned());
        move || dump_dom(&url, &p)
    })
    .await
    .unwrap();
    assert!(
        dom.contains(&format!("<h1 id=\"number\">{label}</h1>")),
        "{dom}"
    );
    assert_eq!(label, "2003");
    assert!(dom.contains("Quầy 2"), "{dom}");
    assert!(dom.contains("<strong id=\"ahead\">2</strong>"), "{dom}");
    assert!(dom.contains("http-equiv=\"refresh\""), "{dom}");
    for secret in ["kiosk-1", "1.001193", "Phường", &follow[0].1] {
        assert!(!dom.contains(secret), "the page shows {secret:?}");
    }
    // The counter calls the first ticket: one fewer ahead.
    hub.state
        .push_event(&QueueEvent {
            seq: 0,
            counter: 2,
            kind: QueueEventKind::Called,
            ticket: Some(follow[0].0.clone()),
            record_id: None,
            waiting: Some(2),
            at: chrono::Utc::now().to_rfc3339(),
        })
        .await
        .unwrap();
    let dom = tokio::task::spawn_blocking({
        let (url, p) = (url.clone(), profile.path().to_owned());
        move || dump_dom(&url, &p)
    })
    .await
    .unwrap();
    assert!(dom.contains("<strong id=\"ahead\">1</strong>"), "{dom}");
    // The called ticket's own page says so, and stops refreshing.
    let first = format!("{}/t/{}", hub.url(), follow[0].1);
    let dom = tokio::task::spawn_blocking({
        let p = profile.path().to_owned();
        move || dump_dom(&first, &p)
    })
    .await
    .unwrap();
    assert!(dom.contains("Đã đến lượt bạn: mời đến quầy 2."), "{dom}");
    assert!(!dom.contains("http-equiv=\"refresh\""), "{dom}");

    // Wrong tokens: one 404 page, whatever the token looks like, with no number in it.
    let mut bodies = Vec::new();
    for bad in [
        "0".repeat(64),
        "abc".into(),
        token.to_uppercase().replace('A', "B") + "0",
        format!("{}x", &token[..63]),
    ] {
        let r = http
            .get(format!("{}/t/{bad}", hub.url()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{bad}");
        bodies.push(r.text().await.unwrap());
    }
    assert!(bodies.iter().all(|b| b == &bodies[0]));
    assert!(bodies[0].contains("Không tìm thấy số"), "{}", bodies[0]);
    assert!(
        !bodies[0].contains("2001") && !bodies[0].contains("Quầy"),
        "{}",
        bodies[0]
    );
    let dom = tokio::task::spawn_blocking({
        let (u, p) = (
            format!("{}/t/{}", hub.url(), "f".repeat(64)),
            profile.path().to_owned(),
        );
        move || dump_dom(&u, &p)
    })
    .await
    .unwrap();
    assert!(dom.contains("Không tìm thấy số"), "{dom}");
}
