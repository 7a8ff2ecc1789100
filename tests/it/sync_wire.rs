//! The catalog on the wire (issue 13): the real hub keeps the signed envelope gzip-compressed
//! and sends it so only to clients that accept gzip, the appliance asks for it and applies the
//! same catalog it would have applied from the plain body.

use std::io::Read as _;

use motcua::sync::body::Coding;
use motcua::sync::catalog_sync::{poll_catalog, CatalogOutcome};
use motcua::sync::{envelope, CatalogFetch};
use reqwest::StatusCode;

use super::sync_support::*;

async fn get(hub: &TestHub, accept: Option<&str>, etag: Option<&str>) -> reqwest::Response {
    let mut r = reqwest::Client::new()
        .get(format!("{}/v1/catalog", hub.url()))
        .bearer_auth(&hub.token);
    if let Some(a) = accept {
        r = r.header("Accept-Encoding", a);
    }
    if let Some(e) = etag {
        r = r.header("If-None-Match", e);
    }
    r.send().await.unwrap()
}

fn header(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

#[tokio::test]
async fn hub_sends_gzip_only_to_clients_that_accept_it() {
    let hub = TestHub::start().await;
    let plain = get(&hub, None, None).await;
    assert_eq!(plain.status(), StatusCode::OK);
    assert_eq!(header(&plain, "content-encoding"), None);
    assert_eq!(header(&plain, "vary").as_deref(), Some("accept-encoding"));
    let strong = header(&plain, "etag").unwrap();
    assert!(strong.starts_with("\"v"), "{strong}");
    let plain = plain.bytes().await.unwrap();

    for accept in ["gzip", "deflate, gzip;q=0.8", "*", "GZIP", "x-gzip"] {
        let r = get(&hub, Some(accept), None).await;
        assert_eq!(
            header(&r, "content-encoding").as_deref(),
            Some("gzip"),
            "{accept}"
        );
        assert_eq!(header(&r, "etag"), Some(format!("W/{strong}")), "{accept}");
        let z = r.bytes().await.unwrap();
        assert!(z.len() < plain.len(), "{} vs {}", z.len(), plain.len());
        let mut inflated = Vec::new();
        flate2::read::GzDecoder::new(&z[..])
            .read_to_end(&mut inflated)
            .unwrap();
        assert_eq!(
            inflated, plain,
            "{accept}: the same envelope, byte for byte"
        );
    }
    for accept in ["gzip;q=0", "identity", "br", "*;q=0", "gzip;q=0, *"] {
        let r = get(&hub, Some(accept), None).await;
        assert_eq!(header(&r, "content-encoding"), None, "{accept}");
        assert_eq!(header(&r, "etag").as_ref(), Some(&strong), "{accept}");
        assert_eq!(r.bytes().await.unwrap(), plain, "{accept}");
    }
    // Either form of the tag means "unchanged".
    for tag in [strong.clone(), format!("W/{strong}"), "\"other\", *".into()] {
        let r = get(&hub, Some("gzip"), Some(&tag)).await;
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED, "{tag}");
        assert_eq!(r.bytes().await.unwrap().len(), 0);
    }
    assert_eq!(
        get(&hub, Some("gzip"), Some("\"v1-0000\"")).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn compressed_publish_then_apply_round_trip() {
    let hub = TestHub::start().await;
    let p = hub.state.db().latest().unwrap().unwrap();
    assert_eq!(p.encoding, motcua::hub::Encoding::Gzip);
    let app = Appliance::new(&hub.url(), &hub.token, vec![hub.pinned()]);

    // What the client receives: gzip on the wire, the envelope after inflating.
    let CatalogFetch::New {
        envelope: body,
        bytes_read,
        coding,
        etag,
    } = app.ctx.client().unwrap().fetch_catalog(None).await.unwrap()
    else {
        panic!("expected a catalog");
    };
    assert_eq!(coding, Coding::Gzip);
    assert_eq!(bytes_read, p.stored_bytes);
    assert_eq!(body.len() as u64, p.envelope_bytes);
    assert!(etag.unwrap().starts_with("W/\"v"));
    let signed = envelope::open_body(body, &[hub.pinned()]).unwrap();
    let expected = motcua::catalog::parse_bundle(&signed, TEST_MAX_BUNDLE).unwrap();

    // The poller applies exactly that catalog, then a 304 with the weak tag.
    assert_eq!(
        poll_catalog(&app.ctx).await.unwrap(),
        CatalogOutcome::Applied { version: p.version }
    );
    assert_eq!(app.ctx.catalog().load().unwrap().unwrap(), expected);
    assert_eq!(
        poll_catalog(&app.ctx).await.unwrap(),
        CatalogOutcome::Unchanged
    );
    let v = hub.publish_catalog(30);
    assert_eq!(
        poll_catalog(&app.ctx).await.unwrap(),
        CatalogOutcome::Applied { version: v }
    );
    assert_eq!(app.status().last_error, None);
}
