//! Ticket issue latency, on demand (numbers for docs/benchmarks.md, "Tickets"):
//!
//!     cargo test --test it hub_ticket_load -- --ignored --nocapture --test-threads 1
//!
//! On each store (SQLite, a real PostgreSQL): N tickets issued one after another through the
//! store (`issue_ticket`: number, `issued` event, ticket row, one transaction) against the
//! named peer, the existing queue-event write (`push_event`); and over HTTP on loopback,
//! `POST /v1/tickets` against the existing idempotent upload `POST /v1/ratings`. Prints
//! p50/p99 and the ratios; asserts only that every ticket got its own number.

use std::time::{Duration, Instant};

use motcua::hub::tickets::{IssueOutcome, IssueRequest, TicketRules};
use motcua::hub::{Database, Store};
use motcua::queue::QueueEventKind;

use super::hub_support::{Backend, Hub, Postgres};

const N: usize = 300;

fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0
}

async fn store_run(name: &str, store: &Store) {
    let rules = TicketRules::default();
    let mut tickets = Vec::with_capacity(N);
    let mut numbers = std::collections::BTreeSet::new();
    for i in 0..N {
        let req = IssueRequest {
            counter: 1 + (i % 8) as u32,
            procedure: None,
        };
        let t0 = Instant::now();
        let out = store
            .issue_ticket(
                "kiosk-1",
                &format!("b{i}"),
                &req,
                &rules,
                chrono::Utc::now(),
            )
            .await
            .unwrap();
        tickets.push(t0.elapsed());
        let IssueOutcome::New(t) = out else {
            panic!("{out:?}")
        };
        assert!(numbers.insert((t.counter, t.number)));
    }
    let mut events = Vec::with_capacity(N);
    for i in 0..N {
        let e = super::hub_store::event(1 + (i % 8) as u32, QueueEventKind::Called);
        let t0 = Instant::now();
        store.push_event(&e, "2026-12-06").await.unwrap();
        events.push(t0.elapsed());
    }
    let (t50, t99) = (pct(&mut tickets, 0.5), pct(&mut tickets, 0.99));
    let (e50, e99) = (pct(&mut events, 0.5), pct(&mut events, 0.99));
    println!(
        "tickets store {name}: issue_ticket p50 {t50:.2} ms p99 {t99:.2} ms | push_event p50 {e50:.2} ms p99 {e99:.2} ms | ratio p50 {:.2}x p99 {:.2}x",
        t50 / e50,
        t99 / e99
    );
}

async fn http_run(name: &str, hub: &Hub) {
    let http = reqwest::Client::new();
    let mut tickets = Vec::with_capacity(N);
    let mut ratings = Vec::with_capacity(N);
    for i in 0..N {
        let t0 = Instant::now();
        let r = http
            .post(format!("{}/v1/tickets", hub.url()))
            .bearer_auth(&hub.token)
            .header("Idempotency-Key", format!("t{i}"))
            .body(format!("{{\"counter\":{}}}", 1 + i % 8))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        r.bytes().await.unwrap();
        tickets.push(t0.elapsed());
        let t0 = Instant::now();
        let r = http
            .post(format!("{}/v1/ratings", hub.url()))
            .bearer_auth(&hub.token)
            .header("Idempotency-Key", format!("r{i}"))
            .body(format!(
                "{{\"key\":\"r{i}\",\"counter\":{},\"level\":\"satisfied\",\"at\":\"2026-12-06T08:00:00+07:00\"}}",
                1 + i % 8
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        r.bytes().await.unwrap();
        ratings.push(t0.elapsed());
    }
    let (t50, t99) = (pct(&mut tickets, 0.5), pct(&mut tickets, 0.99));
    let (r50, r99) = (pct(&mut ratings, 0.5), pct(&mut ratings, 0.99));
    println!(
        "tickets http {name}: POST /v1/tickets p50 {t50:.2} ms p99 {t99:.2} ms | POST /v1/ratings p50 {r50:.2} ms p99 {r99:.2} ms | ratio p50 {:.2}x p99 {:.2}x",
        t50 / r50,
        t99 / r99
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement: run on demand, see the file's header"]
async fn hub_ticket_load() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Store::open(&Database::Sqlite(dir.path().to_owned()))
        .await
        .unwrap();
    store_run("sqlite", &sqlite).await;
    let pg = Postgres::start();
    let pg_store = Store::open(&Database::Postgres(pg.create_db("bench").await))
        .await
        .unwrap();
    store_run("postgresql", &pg_store).await;
    http_run("sqlite", &Hub::start(Backend::Sqlite).await).await;
    http_run(
        "postgresql",
        &Hub::start(Backend::Postgres(Postgres::start())).await,
    )
    .await;
}
