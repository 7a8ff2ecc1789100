//! Tickets on both hub stores (SQLite and a real PostgreSQL): numbering per counter and
//! center day (reset at local midnight, tested with an injected clock), idempotency keys,
//! gapless numbers when two stores (two hub processes) issue at once, leases and their
//! reports, and the HTTP routes on a real hub on loopback.

use chrono::{DateTime, TimeZone as _, Utc};
use motcua::hub::tickets::{
    IssueOutcome, IssueRequest, LeaseRequest, Reported, Ticket, TicketRules,
};
use motcua::hub::{Database, Store};
use motcua::queue::QueueEventKind;
use reqwest::StatusCode;

use super::hub_support::{Backend, Hub, Postgres};

fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 6, h, m, s).unwrap()
}

fn req(counter: u32) -> IssueRequest {
    IssueRequest {
        counter,
        procedure: Some("1.001".into()),
    }
}

async fn issue(store: &Store, key: &str, r: &IssueRequest, now: DateTime<Utc>) -> IssueOutcome {
    let rules = TicketRules::new(
        None,
        std::collections::BTreeMap::from([(2, "B".to_string())]),
    )
    .unwrap();
    store
        .issue_ticket("kiosk-1", key, r, &rules, now)
        .await
        .unwrap()
}

fn new(o: IssueOutcome) -> Ticket {
    match o {
        IssueOutcome::New(t) => t,
        other => panic!("expected a new ticket, got {other:?}"),
    }
}

async fn exercise(store: &Store, second: &Store) {
    // 23:58 in Hanoi (16:58 UTC): numbers 1, 2 at counter 1; counter 2 has its prefix.
    let a = new(issue(store, "k1", &req(1), at(16, 58, 0)).await);
    assert_eq!(
        (a.ticket.as_str(), a.number, a.day.as_str(), a.ahead),
        ("1001", 1, "2026-12-06", 0)
    );
    let b = new(issue(store, "k2", &req(1), at(16, 59, 59)).await);
    assert_eq!((b.ticket.as_str(), b.ahead), ("1002", 1));
    let c = new(issue(store, "k3", &req(2), at(16, 59, 59)).await);
    assert_eq!(c.ticket, "B001");
    // The same key and body: the same ticket; another body: a conflict naming the key.
    let again = issue(store, "k1", &req(1), at(17, 30, 0)).await;
    assert_eq!(
        again,
        IssueOutcome::Repeat(Ticket {
            ahead: 0,
            ..a.clone()
        })
    );
    match issue(store, "k1", &req(3), at(17, 30, 0)).await {
        IssueOutcome::Conflict(m) => assert_eq!(
            m,
            "Idempotency-Key \"k1\" was already used for another ticket request \
             ({\"counter\":1,\"procedure\":\"1.001\"})"
        ),
        other => panic!("{other:?}"),
    }
    // Local midnight (17:00 UTC): counter 1 starts again at 1.
    let d = new(issue(store, "k4", &req(1), at(17, 0, 0)).await);
    assert_eq!(
        (d.ticket.as_str(), d.day.as_str(), d.ahead),
        ("1001", "2026-12-07", 0)
    );
    // Issued tickets are queue events the devices apply; a call takes one out of the line.
    let events = store.events_after(0, 100).await.unwrap();
    let issued: Vec<_> = events
        .iter()
        .map(|e| (e.kind, e.ticket.clone().unwrap(), e.waiting.unwrap()))
        .collect();
    assert_eq!(
        issued,
        [
            (QueueEventKind::Issued, "1001".into(), 1),
            (QueueEventKind::Issued, "1002".into(), 2),
            (QueueEventKind::Issued, "B001".into(), 1),
            (QueueEventKind::Issued, "1001".into(), 1),
        ]
    );
    let follow = store.follow(&b.follow).await.unwrap().unwrap();
    assert_eq!(
        (follow.ticket.as_str(), follow.ahead, follow.called),
        ("1002", 1, false)
    );
    let mut call = super::hub_store::event(1, QueueEventKind::Called);
    call.ticket = Some("1001".into());
    store.push_event(&call, "2026-12-07").await.unwrap();
    // the call is today's 1001; yesterday's line (labels repeat every day) is not touched
    assert!(store.follow(&d.follow).await.unwrap().unwrap().called);
    let follow = store.follow(&b.follow).await.unwrap().unwrap();
    assert_eq!((follow.ahead, follow.called), (1, false));
    assert!(store.follow(&"0".repeat(64)).await.unwrap().is_none());
    // `hub queue call` without a ticket calls the first issued ticket waiting (review
    // finding: it used a sequence of its own, unrelated to the numbers citizens hold)
    assert_eq!(store.next_ticket(2, "2026-12-06").await.unwrap(), "B001");
    let mut call = super::hub_store::event(2, QueueEventKind::Called);
    call.ticket = Some("B001".into());
    store.push_event(&call, "2026-12-06").await.unwrap();
    assert!(store.follow(&c.follow).await.unwrap().unwrap().called);
    // nothing issued waits: the counter's own sequence, as before tickets
    assert_eq!(store.next_ticket(2, "2026-12-06").await.unwrap(), "2001");

    // Two stores (two hub processes) issuing at once: numbers 2..=41 of the new day, each
    // once, and queue sequence numbers without a gap.
    let head = store.head().await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..40 {
        let s = if i % 2 == 0 {
            store.clone()
        } else {
            second.clone()
        };
        tasks.push(tokio::spawn(async move {
            new(issue(&s, &format!("p{i}"), &req(1), at(18, 0, 0)).await).number
        }));
    }
    let mut numbers = Vec::new();
    for t in tasks {
        numbers.push(t.await.unwrap());
    }
    numbers.sort();
    assert_eq!(numbers, (2..=41).collect::<Vec<u64>>());
    let seqs: Vec<u64> = store
        .events_after(head, 100)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(seqs, (head + 1..=head + 40).collect::<Vec<u64>>());

    // Leases: a block of 5 (42..=46); the hub issues after it; the same key is the same
    // lease, another body with it is refused.
    let rules = TicketRules::default();
    let lease_req = LeaseRequest {
        counter: 1,
        count: 5,
        day: None,
    };
    let lease = store
        .lease_tickets("kiosk-1", "L1", &lease_req, &rules, at(18, 0, 0))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (lease.first, lease.last, lease.day.as_str()),
        (42, 46, "2026-12-07")
    );
    assert_eq!(lease.labels[0], "1042");
    assert_eq!(lease.expires_at, "2026-12-07T17:00:00Z");
    let same = store
        .lease_tickets("kiosk-1", "L1", &lease_req, &rules, at(18, 5, 0))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(same, lease);
    let other = LeaseRequest {
        counter: 1,
        count: 6,
        day: None,
    };
    let err = store
        .lease_tickets("kiosk-1", "L1", &other, &rules, at(18, 5, 0))
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        err.starts_with("Idempotency-Key \"L1\" was already used for another lease request"),
        "{err}"
    );
    let after = new(issue(store, "after-lease", &req(1), at(18, 1, 0)).await);
    assert_eq!(after.number, 47);
    // Report two, a repeat of one, then close: the rest (44..=46) are void (the sequence has
    // moved past them), reporting a returned number is refused.
    let rep = |n: u64| Reported {
        number: n,
        issued_at: "2026-12-07T01:10:00Z".into(),
        replaces: None,
    };
    let out = store
        .report_lease("kiosk-1", lease.lease, &[rep(42), rep(43)], false)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        out.accepted
            .iter()
            .map(|t| t.ticket.as_str())
            .collect::<Vec<_>>(),
        ["1042", "1043"]
    );
    let out = store
        .report_lease("kiosk-1", lease.lease, &[rep(43)], true)
        .await
        .unwrap()
        .unwrap();
    assert!(out.accepted.is_empty());
    assert_eq!(out.returned, [44, 45, 46]);
    let err = store
        .report_lease("kiosk-1", lease.lease, &[rep(44)], false)
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(
        err,
        format!(
            "lease {}: closed; number 44 was given back and is void",
            lease.lease
        )
    );
    let err = store
        .report_lease("kiosk-2", lease.lease, &[rep(42)], false)
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(
        err,
        format!("lease {}: no such lease for this device", lease.lease)
    );
    // A lease that was the last allocation gives its unused tail back: no gap.
    let tail = store
        .lease_tickets("kiosk-1", "L2", &lease_req, &rules, at(18, 2, 0))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(tail.first, 48);
    let err = store
        .report_lease("kiosk-1", tail.lease, &[rep(60)], false)
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(
        err,
        format!(
            "lease {}: number 60 is not in this lease (48..=52)",
            tail.lease
        )
    );
    let out = store
        .report_lease("kiosk-1", tail.lease, &[rep(48)], true)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out.returned, [49, 50, 51, 52]);
    let next = new(issue(store, "after-return", &req(1), at(18, 3, 0)).await);
    assert_eq!(next.number, 49);
    let day: Vec<u64> = store
        .tickets_of_day("2026-12-07")
        .await
        .unwrap()
        .iter()
        .filter(|t| t.0 == 1)
        .map(|t| t.1)
        .collect();
    let mut expected: Vec<u64> = (1..=43).chain(47..=49).collect();
    expected.sort();
    assert_eq!(day, expected);
}

#[tokio::test]
async fn tickets_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::Sqlite(dir.path().to_owned());
    let (a, b) = (
        Store::open(&db).await.unwrap(),
        Store::open(&db).await.unwrap(),
    );
    exercise(&a, &b).await;
}

#[tokio::test]
async fn tickets_on_postgres() {
    let pg = Postgres::start();
    let db = Database::Postgres(pg.create_db("hub").await);
    let (a, b) = (
        Store::open(&db).await.unwrap(),
        Store::open(&db).await.unwrap(),
    );
    exercise(&a, &b).await;
}

async fn exercise_http(hub: &Hub) {
    let http = reqwest::Client::new();
    let post = |path: &str, key: Option<&str>, body: &str| {
        let mut r = http
            .post(format!("{}{path}", hub.url()))
            .bearer_auth(&hub.token)
            .body(body.to_owned());
        if let Some(k) = key {
            r = r.header("Idempotency-Key", k);
        }
        r.send()
    };
    let r = post("/v1/tickets", Some("a"), r#"{"counter":3}"#)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let t: serde_json::Value = r.json().await.unwrap();
    assert_eq!(t["counter"], 3);
    assert!(t["ticket"].as_str().unwrap().starts_with("3"), "{t}");
    let r = post("/v1/tickets", Some("a"), r#"{"counter":3}"#)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["ticket"],
        t["ticket"]
    );
    let r = post("/v1/tickets", Some("a"), r#"{"counter":4}"#)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(r.headers()["x-motcua-error"]
        .to_str()
        .unwrap()
        .starts_with("Idempotency-Key \"a\" was already used"));
    let r = post("/v1/tickets", None, r#"{"counter":3}"#).await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = post("/v1/tickets", Some("b"), r#"{"counter":0}"#)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.headers()["x-motcua-error"],
        "counter: 0 is out of range 1..=999"
    );
    let r = http
        .post(format!("{}/v1/tickets", hub.url()))
        .header("Idempotency-Key", "c")
        .body(r#"{"counter":3}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // A lease and its report over HTTP.
    let r = post(
        "/v1/tickets/leases",
        Some("l"),
        r#"{"counter":3,"count":3}"#,
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let lease: serde_json::Value = r.json().await.unwrap();
    let id = lease["lease"].as_u64().unwrap();
    let first = lease["first"].as_u64().unwrap();
    let body = format!(
        r#"{{"issued":[{{"number":{first},"issued_at":"2026-12-06T03:00:00Z"}}],"close":true}}"#
    );
    let r = post(&format!("/v1/tickets/leases/{id}/report"), None, &body)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let out: serde_json::Value = r.json().await.unwrap();
    assert_eq!(out["returned"].as_array().unwrap().len(), 2);
    let r = post("/v1/tickets/leases/999/report", None, r#"{"issued":[]}"#)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = post(
        &format!("/v1/tickets/leases/{id}/report"),
        None,
        r#"{"issued":[],"extra":1}"#,
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // The events reached the queue long-poll.
    let r = http
        .get(format!("{}/v1/queue/events?after=0&wait=0", hub.url()))
        .bearer_auth(&hub.token)
        .send()
        .await
        .unwrap();
    let q: serde_json::Value = r.json().await.unwrap();
    let kinds: Vec<&str> = q["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["issued", "issued"]);
}

#[tokio::test]
async fn ticket_api_on_sqlite() {
    exercise_http(&Hub::start(Backend::Sqlite).await).await;
}

#[tokio::test]
async fn ticket_api_on_postgres() {
    exercise_http(&Hub::start(Backend::Postgres(Postgres::start())).await).await;
}
