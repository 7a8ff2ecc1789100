//! Two `motcua hub serve` processes on one PostgreSQL serve the same devices and see the same
//! queue: an event written by the CLI (a third process) wakes long-polls on both hubs (NOTIFY;
//! neither hub polls the database), and an upload's idempotency holds across hubs.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::hub_support::Postgres;

struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn motcua(config: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_motcua"));
    c.arg("--config").arg(config);
    c
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn healthy(base: &str) {
    for _ in 0..100 {
        if reqwest::get(format!("{base}/v1/health")).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{base} did not come up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hubs_on_one_postgres_share_devices_and_queue() {
    let pg = Postgres::start();
    let url = pg.create_db("province").await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("none.toml");
    std::fs::write(&config, "").unwrap();
    let data = dir.path().join("hub");
    let run = |args: &[&str]| {
        let out = motcua(&config)
            .args(args)
            .arg("--data")
            .arg(&data)
            .args(["--database", &url])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    run(&["hub", "keygen"]);
    let token = run(&[
        "hub",
        "device",
        "add",
        "kiosk-1",
        "--center",
        "Phường Đông Sơn",
    ])
    .trim()
    .to_owned();
    let bases: Vec<String> = (0..2)
        .map(|_| format!("http://127.0.0.1:{}", free_port()))
        .collect();
    let _hubs: Vec<Serving> = bases
        .iter()
        .map(|b| {
            Serving(
                motcua(&config)
                    .args(["hub", "serve", "--listen", b.trim_start_matches("http://")])
                    .arg("--data")
                    .arg(&data)
                    .args(["--database", &url])
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap(),
            )
        })
        .collect();
    for b in &bases {
        healthy(b).await;
    }
    let http = reqwest::Client::new();
    // Long-polls on both hubs, then one event from the CLI.
    let polls: Vec<_> = bases
        .iter()
        .map(|b| {
            let req = http
                .get(format!("{b}/v1/queue/events?after=0&wait=30"))
                .bearer_auth(&token)
                .send();
            tokio::spawn(async move {
                req.await
                    .unwrap()
                    .json::<serde_json::Value>()
                    .await
                    .unwrap()
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let line = run(&["hub", "queue", "call", "3"]);
    assert!(
        line.starts_with("{\"seq\":1,\"counter\":3,\"kind\":\"called\",\"ticket\":\"3001\""),
        "{line}"
    );
    for p in polls {
        let got = tokio::time::timeout(Duration::from_secs(5), p)
            .await
            .expect("both hubs answer the long-poll")
            .unwrap();
        assert_eq!(
            (got["head"].clone(), got["events"][0]["ticket"].clone()),
            (1.into(), "3001".into())
        );
    }
    // An upload through one hub is a repeat through the other.
    let rating = r#"{"key":"r1","counter":3,"level":"satisfied","at":"2026-12-05T08:00:00+07:00"}"#;
    let mut statuses = Vec::new();
    for b in &bases {
        let r = http
            .post(format!("{b}/v1/ratings"))
            .bearer_auth(&token)
            .header("Idempotency-Key", "r1")
            .body(rating)
            .send()
            .await
            .unwrap();
        statuses.push((r.status().as_u16(), r.text().await.unwrap()));
    }
    assert_eq!(
        statuses,
        [
            (201, "{\"stored\":true}".to_owned()),
            (200, "{\"stored\":false}".to_owned())
        ]
    );
}
