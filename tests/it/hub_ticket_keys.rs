//! Review of issue 20 on both hub stores (SQLite and a real PostgreSQL): concurrent requests
//! with one idempotency key (one ticket, the others its repeat or a 409 conflict — never a
//! store error, which the API answers 500), the `replaces` key of a reported offline number
//! (the ghost voided, or the key claimed), and the day a call is judged on (today by the
//! center's clock, not the latest day in the table).

use std::sync::Arc;

use chrono::{DateTime, TimeZone as _, Utc};
use motcua::hub::tickets::{IssueOutcome, IssueRequest, LeaseRequest, Reported, TicketRules};
use motcua::hub::{Database, Store};

use super::hub_support::Postgres;

fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 6, h, m, 0).unwrap()
}

fn req(counter: u32) -> IssueRequest {
    IssueRequest {
        counter,
        procedure: None,
    }
}

/// 16 requests at once with the key "same", from two stores (two hub processes): those of
/// the first store for counter 1, those of the second for counter 2 (another body, so they
/// take another counter's lock).
async fn same_key_at_once(a: &Arc<Store>, b: &Arc<Store>) {
    let rules = Arc::new(TicketRules::default());
    let mut tasks = Vec::new();
    for i in 0..16u32 {
        let store = Arc::clone(if i % 2 == 0 { a } else { b });
        let rules = Arc::clone(&rules);
        tasks.push(tokio::spawn(async move {
            store
                .issue_ticket("kiosk-1", "same", &req(1 + i % 2), &rules, at(2, 0))
                .await
        }));
    }
    let mut new = Vec::new();
    let (mut repeats, mut conflicts) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(IssueOutcome::New(t)) => new.push(t),
            Ok(IssueOutcome::Repeat(_)) => repeats += 1,
            Ok(IssueOutcome::Conflict(why)) => {
                assert!(
                    why.starts_with("Idempotency-Key \"same\" was already used"),
                    "{why}"
                );
                conflicts += 1
            }
            Err(e) => panic!("a store error (HTTP 500) for a repeated key: {e}"),
        }
    }
    assert_eq!(new.len(), 1, "{new:?}");
    // The requests with the first one's body repeat it; the others conflict with it.
    assert_eq!((repeats, conflicts), (7, 8));
    let repeated = a
        .issue_ticket("kiosk-1", "same", &req(new[0].counter), &rules, at(2, 1))
        .await
        .unwrap();
    assert_eq!(repeated, IssueOutcome::Repeat(new[0].clone()));
    // The same for leases.
    let mut tasks = Vec::new();
    for i in 0..16u32 {
        let store = Arc::clone(if i % 2 == 0 { a } else { b });
        let rules = Arc::clone(&rules);
        tasks.push(tokio::spawn(async move {
            let r = LeaseRequest {
                counter: 1 + i % 2,
                count: 3,
                day: None,
            };
            store
                .lease_tickets("kiosk-1", "lease-same", &r, &rules, at(2, 0))
                .await
        }));
    }
    let mut leases = std::collections::BTreeSet::new();
    let mut refused = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(Ok(l)) => {
                leases.insert(l.lease);
            }
            Ok(Err(_)) => refused += 1,
            Err(e) => panic!("a store error (HTTP 500) for a repeated lease key: {e}"),
        }
    }
    assert_eq!((leases.len(), refused), (1, 8));
}

/// A reported number replacing an unanswered request: with a ghost, the ghost is voided;
/// without one, the reported ticket takes the key.
async fn replaces(store: &Store) {
    let rules = TicketRules::default();
    let ghost = match store
        .issue_ticket("kiosk-1", "lost", &req(3), &rules, at(3, 0))
        .await
        .unwrap()
    {
        IssueOutcome::New(t) => t,
        other => panic!("{other:?}"),
    };
    let lease = store
        .lease_tickets(
            "kiosk-1",
            "L",
            &LeaseRequest {
                counter: 3,
                count: 2,
                day: None,
            },
            &rules,
            at(3, 0),
        )
        .await
        .unwrap()
        .unwrap();
    let rep = |n: u64, key: &str| Reported {
        number: n,
        issued_at: "2026-12-06T03:05:00Z".into(),
        replaces: Some(key.into()),
    };
    let out = store
        .report_lease(
            "kiosk-1",
            lease.lease,
            &[rep(2, "lost"), rep(3, "never-arrived")],
            true,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out.accepted.len(), 2);
    let g = store.follow(&ghost.follow).await.unwrap().unwrap();
    assert!(g.called, "the ghost still waits in the line");
    // 3002 has nothing ahead: the ghost 3001 is out of the line.
    let f = store
        .follow(&out.accepted[0].follow)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((f.ticket.as_str(), f.ahead), ("3002", 0));
    // The late copies: the ghost again, and 3003 for the claimed key; no new number.
    let late = store
        .issue_ticket("kiosk-1", "lost", &req(3), &rules, at(3, 10))
        .await
        .unwrap();
    assert!(
        matches!(late, IssueOutcome::Repeat(ref t) if t.ticket == "3001"),
        "{late:?}"
    );
    let late = store
        .issue_ticket("kiosk-1", "never-arrived", &req(3), &rules, at(3, 10))
        .await
        .unwrap();
    assert!(
        matches!(late, IssueOutcome::Repeat(ref t) if t.ticket == "3003"),
        "{late:?}"
    );
    let numbers: Vec<u64> = store
        .tickets_of_day("2026-12-06")
        .await
        .unwrap()
        .iter()
        .filter(|t| t.0 == 3)
        .map(|t| t.1)
        .collect();
    assert_eq!(numbers, [1, 2, 3]);
}

#[tokio::test]
async fn repeated_keys_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::Sqlite(dir.path().to_owned());
    let a = Arc::new(Store::open(&db).await.unwrap());
    let b = Arc::new(Store::open(&db).await.unwrap());
    same_key_at_once(&a, &b).await;
    replaces(&a).await;
}

#[tokio::test]
async fn repeated_keys_on_postgres() {
    let pg = Postgres::start();
    let db = Database::Postgres(pg.create_db("hub").await);
    let a = Arc::new(Store::open(&db).await.unwrap());
    let b = Arc::new(Store::open(&db).await.unwrap());
    same_key_at_once(&a, &b).await;
    replaces(&a).await;
}

/// A call is judged on today's tickets: a row dated later (a leftover, or a hub clock that
/// was once wrong) hides neither today's first waiting ticket nor today's call.
async fn call_on_today(store: &Store) {
    let rules = TicketRules::default();
    let issue = |key: &'static str, now: DateTime<Utc>| {
        let rules = rules.clone();
        async move {
            match store
                .issue_ticket("kiosk-1", key, &req(5), &rules, now)
                .await
                .unwrap()
            {
                IssueOutcome::New(t) => t,
                other => panic!("{other:?}"),
            }
        }
    };
    // 5001 dated 2026-12-09, then today's (2026-12-06) 5001 and 5002.
    let later = issue("later", Utc.with_ymd_and_hms(2026, 12, 9, 2, 0, 0).unwrap()).await;
    let first = issue("first", at(2, 0)).await;
    let second = issue("second", at(2, 1)).await;
    assert_eq!(later.day, "2026-12-09");
    let today = rules.today(at(2, 30));
    assert_eq!(today, "2026-12-06");
    assert_eq!(store.next_ticket(5, &today).await.unwrap(), "5001");
    let call = motcua::queue::QueueEvent {
        seq: 0,
        counter: 5,
        kind: motcua::queue::QueueEventKind::Called,
        ticket: Some("5001".into()),
        record_id: None,
        waiting: None,
        at: "2026-12-06T02:30:00Z".into(),
    };
    store.push_event(&call, &today).await.unwrap();
    assert!(store.follow(&first.follow).await.unwrap().unwrap().called);
    assert!(!store.follow(&later.follow).await.unwrap().unwrap().called);
    let f = store.follow(&second.follow).await.unwrap().unwrap();
    assert_eq!((f.ahead, f.called), (0, false));
    assert_eq!(store.next_ticket(5, &today).await.unwrap(), "5002");
}

#[tokio::test]
async fn calls_are_judged_on_today_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&Database::Sqlite(dir.path().to_owned()))
        .await
        .unwrap();
    call_on_today(&store).await;
}

#[tokio::test]
async fn calls_are_judged_on_today_on_postgres() {
    let pg = Postgres::start();
    let store = Store::open(&Database::Postgres(pg.create_db("hub").await))
        .await
        .unwrap();
    call_on_today(&store).await;
}

/// A lease for the next local day (review item 4), on both stores: its numbers start that
/// day's sequence and expire at the midnight after it; a day further on is refused.
async fn next_day_lease(store: &Store) {
    let rules = TicketRules::default();
    let ask = |day: &str| LeaseRequest {
        counter: 6,
        count: 2,
        day: Some(day.parse().unwrap()),
    };
    // 23:30 on the 6th in Hanoi: the next day is the 7th.
    let now = Utc.with_ymd_and_hms(2026, 12, 6, 16, 30, 0).unwrap();
    let next = store
        .lease_tickets("kiosk-1", "next", &ask("2026-12-07"), &rules, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (next.day.as_str(), next.first, next.expires_at.as_str()),
        ("2026-12-07", 1, "2026-12-07T17:00:00Z")
    );
    let err = store
        .lease_tickets("kiosk-1", "later", &ask("2026-12-08"), &rules, now)
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(
        err,
        "day 2026-12-08: a lease is for today (2026-12-06) or the next day (2026-12-07) of the center"
    );
}

#[tokio::test]
async fn next_day_leases_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&Database::Sqlite(dir.path().to_owned()))
        .await
        .unwrap();
    next_day_lease(&store).await;
}

#[tokio::test]
async fn next_day_leases_on_postgres() {
    let pg = Postgres::start();
    let store = Store::open(&Database::Postgres(pg.create_db("hub").await))
        .await
        .unwrap();
    next_day_lease(&store).await;
}
