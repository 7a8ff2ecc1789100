//! The hub over HTTPS (rustls): certificate and key from `DIR/hub.toml`, a device that pins
//! the province's CA (`[sync] ca_file`) gets the catalog, one on the web PKI refuses the
//! unknown issuer, a bad CA file is a clear startup error, and plain HTTP on a LAN address is
//! refused.

use std::process::{Command, Stdio};
use std::time::Duration;

use motcua::sync::client::CatalogFetch;
use motcua::sync::HubClient;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};

use super::sync_support::test_client_settings;

struct Kill(std::process::Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A CA and a certificate it issued for localhost and 127.0.0.1, as PEM files in `dir`.
pub fn province_ca(
    dir: &std::path::Path,
) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let paths = (
        dir.join("ca.pem"),
        dir.join("cert.pem"),
        dir.join("key.pem"),
    );
    std::fs::write(&paths.0, ca.pem()).unwrap();
    std::fs::write(&paths.1, cert.pem()).unwrap();
    std::fs::write(&paths.2, key.serialize_pem()).unwrap();
    paths
}

fn motcua(dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_motcua"));
    c.arg("--config").arg(dir.join("none.toml"));
    c
}

#[tokio::test]
async fn devices_trust_the_hub_through_a_pinned_ca() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("none.toml"), "").unwrap();
    let data = dir.path().join("hub");
    let (ca, cert, key) = province_ca(dir.path());
    let run = |args: &[&str]| {
        let out = motcua(dir.path())
            .args(args)
            .arg("--data")
            .arg(&data)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    run(&["hub", "keygen"]);
    run(&[
        "hub",
        "publish",
        crate::support::SMALL_CATALOG,
        "--expires-in-days",
        "9",
    ]);
    let token = run(&["hub", "device", "add", "kiosk-1"]).trim().to_owned();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::write(
        data.join("hub.toml"),
        format!(
            "listen = \"127.0.0.1:{port}\"\ntls_cert = {:?}\ntls_key = {:?}\n",
            cert.to_str().unwrap(),
            key.to_str().unwrap()
        ),
    )
    .unwrap();
    let mut hub = Kill(
        motcua(dir.path())
            .args(["hub", "serve", "--data"])
            .arg(&data)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let base = format!("https://localhost:{port}");
    let mut pinned = test_client_settings();
    pinned.ca_file = Some(ca.clone());
    let client = HubClient::new(&base, &token, pinned.clone()).unwrap();
    let mut fetched = None;
    for _ in 0..100 {
        if let Ok(f) = client.fetch_catalog(None).await {
            fetched = Some(f);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        matches!(fetched, Some(CatalogFetch::New { .. })),
        "the pinned CA gets the catalog over HTTPS"
    );
    // The web PKI does not know the province's CA.
    let web = HubClient::new(&base, &token, test_client_settings()).unwrap();
    let err = web.fetch_catalog(None).await.unwrap_err().to_string();
    assert!(
        err.contains("UnknownIssuer") || err.contains("unknown issuer"),
        "{err}"
    );
    // A CA file that is not one is an error at startup, naming the file.
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "hello").unwrap();
    pinned.ca_file = Some(junk.clone());
    let err = HubClient::new(&base, &token, pinned)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains(&format!(
            "[sync] ca_file {}: no CERTIFICATE in the file",
            junk.display()
        )),
        "{err}"
    );
    let _ = hub.0.kill();
    let mut log = String::new();
    std::io::Read::read_to_string(hub.0.stderr.as_mut().unwrap(), &mut log).unwrap();
    assert!(
        log.contains(&format!("serving protocol v1 on https://127.0.0.1:{port}")),
        "{log}"
    );
}

#[test]
fn plain_http_on_a_lan_address_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("none.toml"), "").unwrap();
    let out = motcua(dir.path())
        .args(["hub", "serve", "--listen", "0.0.0.0:0", "--data"])
        .arg(dir.path().join("hub"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "refusing to serve the hub on 0.0.0.0:0 without TLS: give --tls-cert and --tls-key"
        ),
        "{err}"
    );
}
