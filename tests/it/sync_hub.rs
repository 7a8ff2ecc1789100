//! The reference hub's HTTP surface and CLI: every outside input is checked with an exact
//! answer (token, record ID, idempotency key, body shape), ETags give 304s, and the admin
//! commands (keygen, publish, device add, queue, record set) work on a real `hub.db`.

use reqwest::StatusCode;

use super::sync_support::*;

async fn get(url: String, token: Option<&str>, etag: Option<&str>) -> reqwest::Response {
    let mut r = reqwest::Client::new().get(url);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    if let Some(e) = etag {
        r = r.header("If-None-Match", e);
    }
    r.send().await.unwrap()
}

fn error_of(r: &reqwest::Response) -> String {
    r.headers()["x-motcua-error"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn hub_checks_every_input() {
    let hub = TestHub::start().await;
    let base = hub.url();
    let r = get(format!("{base}/v1/catalog"), None, None).await;
    assert_eq!(
        (r.status(), error_of(&r)),
        (StatusCode::UNAUTHORIZED, "missing bearer token".into())
    );
    let r = get(format!("{base}/v1/catalog"), Some("nope"), None).await;
    assert_eq!(
        (r.status(), error_of(&r)),
        (StatusCode::UNAUTHORIZED, "unknown device token".into())
    );
    let r = get(format!("{base}/v1/catalog"), Some(&hub.token), None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    let r = get(format!("{base}/v1/catalog"), Some(&hub.token), Some(&etag)).await;
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(r.bytes().await.unwrap().len(), 0);
    let r = get(
        format!("{base}/v1/records/..%2F..%2Fetc"),
        Some(&hub.token),
        None,
    )
    .await;
    assert_eq!(
        (r.status(), error_of(&r)),
        (
            StatusCode::BAD_REQUEST,
            "a record ID may contain only letters, digits, '.' and '-'".into()
        )
    );
    let r = get(
        format!("{base}/v1/records/000.00.14.H56-261120-0001"),
        Some(&hub.token),
        None,
    )
    .await;
    assert_eq!(
        (r.status(), error_of(&r)),
        (StatusCode::NOT_FOUND, "no record with this ID".into())
    );
    let r = get(format!("{base}/v1/health"), None, None).await;
    assert_eq!(r.text().await.unwrap(), "{\"ok\":true}");

    let post = |body: &'static str, key: Option<&'static str>| {
        let mut r = reqwest::Client::new()
            .post(format!("{base}/v1/ratings"))
            .bearer_auth(&hub.token)
            .body(body);
        if let Some(k) = key {
            r = r.header("Idempotency-Key", k);
        }
        r.send()
    };
    let good = r#"{"key":"k1","counter":2,"level":"satisfied","at":"2026-11-23T08:00:00+07:00"}"#;
    let r = post(good, None).await.unwrap();
    assert_eq!(
        (r.status(), error_of(&r)),
        (
            StatusCode::BAD_REQUEST,
            "Idempotency-Key header (1-128 visible ASCII characters) is required".into()
        )
    );
    let r = post(
        r#"{"key":"k1","counter":0,"level":"satisfied","at":"2026-11-23T08:00:00+07:00"}"#,
        Some("k1"),
    )
    .await
    .unwrap();
    assert_eq!(
        (r.status(), error_of(&r)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "rating counter 0 is out of range 1..=999".into()
        )
    );
    assert_eq!(
        post(good, Some("k1")).await.unwrap().status(),
        StatusCode::CREATED
    );
    assert_eq!(
        post(good, Some("k1")).await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(hub.state.db().upload_count("rating").unwrap(), 1);
    let big: &'static str = Box::leak("x".repeat(20_000).into_boxed_str());
    let r = post(big, Some("k2")).await.unwrap();
    assert_eq!(
        (r.status(), error_of(&r)),
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            "the request body is over 16 KiB".into()
        )
    );
    assert_eq!(r.headers()["content-type"], "application/json");
    let r = reqwest::Client::new()
        .post(format!("{base}/v1/heartbeats"))
        .bearer_auth(&hub.token)
        .header("Idempotency-Key", "k3")
        .body(vec![b'{', 0xff, b'}'])
        .send()
        .await
        .unwrap();
    assert_eq!(
        (r.status(), error_of(&r)),
        (
            StatusCode::BAD_REQUEST,
            "the request body is not UTF-8".into()
        )
    );
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap(),
        serde_json::json!({"error": "the request body is not UTF-8"})
    );
    // Heartbeats are checked against the spec: these were stored before.
    for (body, err) in [
        (
            r#"{"device":"kiosk-1","at":"2026-12-05T10:00:00Z","version":{}}"#,
            "heartbeat: version must be a string of at most 64 characters",
        ),
        (
            r#"{"at":"2026-12-05T10:00:00Z"}"#,
            "heartbeat: device is required",
        ),
    ] {
        let r = reqwest::Client::new()
            .post(format!("{base}/v1/heartbeats"))
            .bearer_auth(&hub.token)
            .header("Idempotency-Key", "k4")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(
            (r.status(), error_of(&r)),
            (StatusCode::UNPROCESSABLE_ENTITY, err.into())
        );
    }
    assert_eq!(hub.state.db().upload_count("heartbeat").unwrap(), 0);
    let r = post(
        r#"{"key":"k9","counter":2,"official_id":"","level":"satisfied","at":"2026-11-23T08:00:00+07:00"}"#,
        Some("k9"),
    )
    .await
    .unwrap();
    assert_eq!(
        (r.status(), error_of(&r)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "rating official_id must be 1-64 characters".into()
        )
    );
    // Unknown paths, wrong methods and bad queries answer in JSON too.
    for (method, path, status, err) in [
        ("GET", "/nope", StatusCode::NOT_FOUND, "no such path"),
        (
            "PUT",
            "/v1/catalog",
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed on this path",
        ),
        (
            "GET",
            "/v1/queue/events?wait=61",
            StatusCode::BAD_REQUEST,
            "query parameter wait: expected an integer 0..=60, got \"61\"",
        ),
        (
            "GET",
            "/v1/queue/events?after=-1",
            StatusCode::BAD_REQUEST,
            "query parameter after: expected an integer 0..=9223372036854775807, got \"-1\"",
        ),
        // Fits the spec's pattern, but no day 31 in February: no such record.
        (
            "GET",
            "/v1/records/000.00.14.H56-260231-0001",
            StatusCode::NOT_FOUND,
            "no record with this ID",
        ),
    ] {
        let r = reqwest::Client::new()
            .request(method.parse().unwrap(), format!("{base}{path}"))
            .bearer_auth(&hub.token)
            .send()
            .await
            .unwrap();
        assert_eq!((r.status(), error_of(&r)), (status, err.into()), "{path}");
        assert_eq!(r.headers()["content-type"], "application/json", "{path}");
    }
    let r = get(
        format!("{base}/v1/queue/events?after=0&wait=0"),
        Some(&hub.token),
        None,
    )
    .await;
    assert_eq!(
        r.text().await.unwrap(),
        format!(
            "{{\"catalog\":{},\"events\":[],\"head\":0}}",
            hub.state.db().latest().unwrap().unwrap().version
        )
    );
}

#[test]
fn hub_admin_commands() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("hub");
    std::fs::write(dir.path().join("none.toml"), "").unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_motcua"))
            .arg("--config")
            .arg(dir.path().join("none.toml"))
            .args(args)
            .arg("--data")
            .arg(&data)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, public, _) = run(&["hub", "keygen"]);
    assert!(ok);
    assert!(
        motcua::sync::PinnedKey::parse(public.trim()).is_ok(),
        "{public}"
    );
    let (ok, _, err) = run(&["hub", "keygen"]);
    assert!(!ok && err.contains("already exists"), "{err}");
    let demo = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/small-catalog.json"
    );
    let (ok, out, err) = run(&["hub", "publish", demo, "--expires-in-days", "30"]);
    assert!(ok, "{err}");
    assert!(
        out.starts_with("published catalog version 3 (5 procedures, "),
        "{out}"
    );
    let (_, out, _) = run(&["hub", "publish", demo]);
    assert!(out.starts_with("published catalog version 4 "), "{out}");
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"schema\": 1").unwrap();
    let (ok, _, err) = run(&["hub", "publish", bad.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("was not published"), "{err}");
    let (ok, token, _) = run(&["hub", "device", "add", "kiosk-1"]);
    assert!(
        ok && token.trim().starts_with("mct_") && token.trim().len() == 68,
        "{token}"
    );
    let (ok, _, err) = run(&["hub", "device", "add", "../x"]);
    assert!(
        !ok && err.contains("a device name is 1–64 letters, digits, '.', '-' or '_'"),
        "{err}"
    );
    let (ok, out, _) = run(&["hub", "queue", "call", "2"]);
    assert!(ok);
    assert!(
        out.starts_with("{\"seq\":1,\"counter\":2,\"kind\":\"called\",\"ticket\":\"2001\""),
        "{out}"
    );
    let (ok, out, _) = run(&[
        "hub",
        "queue",
        "start",
        "2",
        "--record",
        "000.00.14.h56-261120-0001",
    ]);
    assert!(
        ok && out.contains("\"record_id\":\"000.00.14.H56-261120-0001\""),
        "{out}"
    );
    let (ok, _, err) = run(&["hub", "queue", "start", "2", "--record", "'; drop"]);
    assert!(
        !ok && err.contains("a record ID may contain only letters"),
        "{err}"
    );
    let (ok, out, _) = run(&[
        "hub",
        "record",
        "set",
        "000.00.14.H56-261120-0001",
        "--stage",
        "ready-for-pickup",
        "--due",
        "2026-11-25",
    ]);
    assert!(ok);
    assert!(out.contains("\"stage\":\"ready_for_pickup\""), "{out}");
    // The device's hash is stored, never the token.
    let db = rusqlite::Connection::open(data.join("hub.db")).unwrap();
    let stored: String = db
        .query_row("SELECT token_sha256 FROM devices", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, motcua::hub::db::token_hash(token.trim()));
}
