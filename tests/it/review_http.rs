//! The review UI over real HTTP(S) on loopback: who may see footage (exact status codes), the
//! login lockout, CSRF refusals, escaping, security headers and cookies, export and audit.

use std::time::Duration;

use crate::review_support::{self as rs, client, login, try_login, EVIL_REASON, OTHER, REC};

/// Today in Vietnam time, `YYYY-MM-DD` (the seeded snapshots were taken just now).
pub fn today_ict() -> String {
    (chrono::Utc::now() + chrono::Duration::hours(7))
        .format("%Y-%m-%d")
        .to_string()
}

fn footage_gets() -> Vec<String> {
    let day = today_ict();
    vec![
        "/search".into(),
        format!("/search?record={REC}"),
        format!("/case/{REC}"),
        "/snapshot/1".into(),
        "/snapshot/1/image".into(),
        "/snapshot/1/thumb".into(),
        format!("/counter/2/day/{day}"),
        "/audit".into(),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_footage_route_refuses_anonymous_401_and_technician_403() {
    let srv = rs::start("", false).await;
    let c = client();
    let b = &srv.base;
    let (tech, tech_csrf) = login(&c, b, "kythuat").await;
    let (sup, _) = login(&c, b, "giamsat").await;
    for path in footage_gets() {
        let anon = c.get(format!("{b}{path}")).send().await.unwrap();
        assert_eq!(anon.status(), 401, "anonymous GET {path}");
        let t = c
            .get(format!("{b}{path}"))
            .header("cookie", &tech)
            .send()
            .await
            .unwrap();
        assert_eq!(t.status(), 403, "technician GET {path}");
        let body = t.text().await.unwrap();
        assert!(
            !body.contains(REC),
            "a refusal shows no footage data: {path}"
        );
        let s = c
            .get(format!("{b}{path}"))
            .header("cookie", &sup)
            .send()
            .await
            .unwrap();
        assert_eq!(s.status(), 200, "supervisor GET {path}");
    }
    let export = format!("{b}/case/{REC}/export");
    let anon = c.post(&export).form(&[("csrf", "x")]).send().await.unwrap();
    assert_eq!(anon.status(), 401, "anonymous export");
    let t = c
        .post(&export)
        .header("cookie", &tech)
        .form(&[("csrf", tech_csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(
        t.status(),
        403,
        "technician export, even with a valid token"
    );
    // a technician's own pages
    for path in ["/health", "/config"] {
        let t = c
            .get(format!("{b}{path}"))
            .header("cookie", &tech)
            .send()
            .await
            .unwrap();
        assert_eq!(t.status(), 200, "technician GET {path}");
    }
    // a forged or garbage session cookie is anonymous
    let fake = c
        .get(format!("{b}/case/{REC}"))
        .header("cookie", format!("motcua_session={}", "a".repeat(64)))
        .send()
        .await
        .unwrap();
    assert_eq!(fake.status(), 401);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_lock_the_account_exponentially_and_the_right_one_waits() {
    let srv = rs::start(
        "lockout_account_attempts = 3\nlockout_ip_attempts = 100\nlockout_base_secs = 1\nlockout_max_secs = 8\n",
        false,
    )
    .await;
    let c = client();
    let b = &srv.base;
    for n in 1..=2 {
        let r = try_login(&c, b, "giamsat", "wrong password!").await;
        assert_eq!(r.status(), 401, "failure {n} is only refused");
    }
    let r = try_login(&c, b, "giamsat", "wrong password!").await;
    assert_eq!(r.status(), 429, "the 3rd failure locks");
    assert_eq!(r.headers()["retry-after"], "1");
    // locked: even the right password is refused, without being checked
    let r = try_login(&c, b, "giamsat", rs::PASSWORD).await;
    assert_eq!(r.status(), 429);
    // the other account from this address is not locked
    assert_eq!(
        try_login(&c, b, "kythuat", rs::PASSWORD).await.status(),
        303
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // 4th failure doubles the lock
    let r = try_login(&c, b, "giamsat", "wrong again!!").await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "2");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        try_login(&c, b, "giamsat", rs::PASSWORD).await.status(),
        303,
        "after the lock"
    );
    // success reset the count: one wrong password is again only a 401
    assert_eq!(
        try_login(&c, b, "giamsat", "nope nope nope").await.status(),
        401
    );
    // unknown accounts behave the same way (no enumeration)
    for _ in 0..2 {
        assert_eq!(
            try_login(&c, b, "khong.co", "whatever123").await.status(),
            401
        );
    }
    assert_eq!(
        try_login(&c, b, "khong.co", "whatever123").await.status(),
        429
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_guessing_many_accounts_is_locked() {
    let srv = rs::start(
        "lockout_account_attempts = 50\nlockout_ip_attempts = 4\nlockout_base_secs = 60\n",
        false,
    )
    .await;
    let c = client();
    for n in 0..3 {
        let r = try_login(&c, &srv.base, &format!("user{n}"), "guess guess").await;
        assert_eq!(r.status(), 401);
    }
    assert_eq!(
        try_login(&c, &srv.base, "user9", "guess guess")
            .await
            .status(),
        429
    );
    let r = try_login(&c, &srv.base, "giamsat", rs::PASSWORD).await;
    assert_eq!(r.status(), 429, "the address is locked for every account");
    assert_eq!(r.headers()["retry-after"], "60");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_without_the_csrf_token_are_refused_403() {
    let srv = rs::start("", false).await;
    let c = client();
    let b = &srv.base;
    let (sup, csrf) = login(&c, b, "giamsat").await;
    let export = format!("{b}/case/{REC}/export");
    let none = c
        .post(&export)
        .header("cookie", &sup)
        .form(&[("x", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 403, "no token");
    let wrong = c
        .post(&export)
        .header("cookie", &sup)
        .form(&[("csrf", "0".repeat(64).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 403, "another token");
    let out = c
        .post(format!("{b}/logout"))
        .header("cookie", &sup)
        .form(&[("a", "b")])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 403, "logout without token");
    // login without the pre-login token
    let l = c
        .post(format!("{b}/login"))
        .form(&[("username", "giamsat"), ("password", rs::PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(l.status(), 403, "login without token");
    // nothing was exported by the refused requests
    let exported: i64 = {
        let store = srv.recorder.store().lock().unwrap();
        store
            .connection()
            .query_row("SELECT count(*) FROM export", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(exported, 0);
    // with the token: the recorder's zip, valid on its own
    let ok = c
        .post(&export)
        .header("cookie", &sup)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["content-type"], "application/zip");
    assert_eq!(
        ok.headers()["content-disposition"],
        format!("attachment; filename=\"motcua-case-{REC}.zip\"").as_str()
    );
    let zip = ok.bytes().await.unwrap();
    let p = srv.dir.path().join("case.zip");
    std::fs::write(&p, &zip).unwrap();
    let m = motcua::recorder::export::check_export(&p).unwrap();
    assert_eq!((m.record_id.as_str(), m.snapshots.len()), (REC, 3));
    // logout with the token ends the session
    let out = c
        .post(format!("{b}/logout"))
        .header("cookie", &sup)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    let after = c
        .get(format!("{b}/search"))
        .header("cookie", &sup)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 401);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_escape_html_carry_security_headers_and_views_are_audited_in_the_chain() {
    let srv = rs::start("", false).await;
    let c = client();
    let b = &srv.base;
    let (sup, _) = login(&c, b, "giamsat").await;
    let page = c
        .get(format!("{b}/case/{OTHER}"))
        .header("cookie", &sup)
        .send()
        .await
        .unwrap();
    let h = page.headers().clone();
    let html = page.text().await.unwrap();
    assert!(!html.contains("<script>"), "{html}");
    assert!(
        html.contains("manual: &lt;script&gt;alert('x')&lt;/script&gt;"),
        "{html}"
    );
    let _ = EVIL_REASON;
    assert_eq!(h["content-security-policy"], motcua::review::server::CSP);
    assert!(motcua::review::server::CSP.contains("default-src 'self'"));
    assert!(motcua::review::server::CSP.contains("frame-ancestors 'none'"));
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["cache-control"], "no-store");
    let img = c
        .get(format!("{b}/snapshot/1/image"))
        .header("cookie", &sup)
        .send()
        .await
        .unwrap();
    assert_eq!(img.headers()["cache-control"], "no-store");
    assert_eq!(img.headers()["content-type"], "image/jpeg");
    let jpeg = img.bytes().await.unwrap();
    assert_eq!(&jpeg[..2], &[0xff, 0xd8]);
    // integrity marks on the case page
    let html = c
        .get(format!("{b}/case/{REC}"))
        .header("cookie", &sup)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(html.matches("class=\"ok integrity\"").count(), 3, "{html}");
    // a malformed record ID is a 400, not a query
    let bad = c
        .get(format!("{b}/case/..%2F..%2Fetc"))
        .header("cookie", &sup)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let bad = c
        .get(format!("{b}/search?record=%25%27"))
        .header("cookie", &sup)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    // prefix search finds both records
    let html = c
        .get(format!("{b}/search?record=000.00.14.h56"))
        .header("cookie", &sup)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(REC) && html.contains(OTHER), "{html}");
    // the audit page lists the views; the chain with audit entries still verifies
    let audit = c
        .get(format!("{b}/audit?lang=en"))
        .header("cookie", &sup)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for a in ["login", "view_case", "view_image", "search"] {
        assert!(
            audit.contains(&format!("<td class=\"action\">{a}")),
            "{a} in {audit}"
        );
    }
    let rep = srv.recorder.store().lock().unwrap().verify(true).unwrap();
    assert!(rep.ok(), "{:?}", rep.problems);
    assert!(
        rep.chain_entries >= 4 + 5,
        "4 captures plus 5 audit entries: {}",
        rep.chain_entries
    );
    // and the recorder's own command agrees
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_motcua"))
        .args(["--data-dir"])
        .arg(srv.dir.path().join("data"))
        .args(["snapshots", "verify"])
        .env_remove("MOTCUA_DATA_DIR")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "snapshots verify with audit entries: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_the_provisioned_certificate_sets_secure_host_cookies() {
    let srv = rs::start("", true).await;
    assert!(srv.base.starts_with("https://127.0.0.1:"), "{}", srv.base);
    let c = client();
    let res = try_login(&c, &srv.base, "giamsat", rs::PASSWORD).await;
    assert_eq!(res.status(), 303);
    let cookie = rs::set_cookie(&res, "__Host-motcua_session").unwrap();
    for flag in [
        "HttpOnly",
        "SameSite=Strict",
        "Secure",
        "Path=/",
        "Max-Age=28800",
    ] {
        assert!(cookie.contains(flag), "{flag} in {cookie}");
    }
    let (sup, _) = login(&c, &srv.base, "giamsat").await;
    let r = c
        .get(format!("{}/case/{REC}", srv.base))
        .header("cookie", &sup)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_on_a_lan_address_is_refused() {
    let l = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let ep = motcua::review::Endpoint::new(l.local_addr().unwrap(), None);
    assert!(matches!(ep, Err(motcua::review::TlsError::PlainOnLan(_))));
}
