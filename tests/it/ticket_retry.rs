//! Tickets when the hub's answer is lost (review of issue 20), against the real hub on
//! loopback behind a front that forwards a request and throws the hub's answer away: the
//! retry of a ticket request with the same key gets the same ticket; a ticket issued from the
//! lease after two lost answers voids the hub's ghost on reconcile (or claims the key when
//! there is no ghost); a lease request whose answer was lost is sent again with the same key
//! after a restart (one block, not two); and the catalog's counters hold leases after a
//! restart during a cut. Also: the QR's follow link uses `[tickets] public_url`.

use std::sync::Arc;
use std::time::Duration;

use motcua::hub::tickets::TicketRules;
use motcua::sync::clock::Clock;
use motcua::sync::tickets::{TicketDesk, TicketsConfig};
use motcua::sync::{HubClient, SyncContext};

use super::sync_support::*;

fn desk(ctx: &Arc<SyncContext>) -> Arc<TicketDesk> {
    TicketDesk::new(
        Arc::clone(ctx),
        TicketsConfig {
            lease_size: 3,
            hub_timeout_ms: 1000,
            ..TicketsConfig::default()
        },
    )
}

/// The daemon restarted: a new context on the same catalog.db, pointed at `url`.
fn reopen(app: &Appliance, hub: &TestHub, url: &str) -> Arc<SyncContext> {
    let client = HubClient::new(url, &hub.token, test_client_settings()).unwrap();
    SyncContext::open(
        &app.dir.path().join("catalog.db"),
        client,
        vec![hub.pinned()],
        Arc::clone(&app.clock) as Arc<dyn Clock>,
        test_settings(),
    )
    .unwrap()
}

/// The hub's numbers of `counter` today.
async fn numbers(hub: &TestHub, counter: u32) -> Vec<u64> {
    let day = TicketRules::default().day(chrono::Utc::now()).0;
    hub.state
        .store()
        .tickets_of_day(&day)
        .await
        .unwrap()
        .iter()
        .filter(|t| t.0 == counter)
        .map(|t| t.1)
        .collect()
}

/// `POST /v1/tickets` straight to the hub with `key` (a late copy of a lost request).
async fn post_again(app: &Appliance, key: &str) -> serde_json::Value {
    let client = app.ctx.client().unwrap();
    let bytes = client
        .post_json(
            "/v1/tickets",
            Some(key),
            r#"{"counter":1}"#,
            Duration::from_secs(2),
        )
        .await
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn a_lost_answer_is_resolved_by_the_retry_with_the_same_key() {
    let hub = TestHub::start().await;
    let front = FaultFront::start(hub.addr).await;
    let app = Appliance::new(&front.url(), &hub.token, vec![hub.pinned()]);
    let d = desk(&app.ctx);
    assert_eq!(d.take(1, None, "tap-1").await.unwrap().ticket, "1001");
    // The hub issues 1002 but its answer is lost; the retry with the same key gets 1002.
    front.set(Fault::LoseAnswerOnce);
    let t = d.take(1, None, "tap-2").await.unwrap();
    assert_eq!((t.ticket.as_str(), t.offline), ("1002", false));
    assert_eq!(numbers(&hub, 1).await, [1, 2], "no second number");
}

#[tokio::test]
async fn a_number_from_the_lease_voids_the_ghost_of_the_unanswered_request() {
    let hub = TestHub::start().await;
    let front = FaultFront::start(hub.addr).await;
    let app = Appliance::new(&front.url(), &hub.token, vec![hub.pinned()]);
    let d = desk(&app.ctx);
    assert_eq!(d.take(1, None, "tap-1").await.unwrap().ticket, "1001");
    assert_eq!(d.reconcile().await.unwrap(), 0); // lease 1002..1004
                                                 // Every answer is lost: the hub issues 1005 (the ghost), the retry gets no answer
                                                 // either, and the citizen gets 1002 from the lease.
    front.set(Fault::LoseAnswer);
    let t = d.take(1, None, "tap-2").await.unwrap();
    assert_eq!((t.ticket.as_str(), t.offline), ("1002", true));
    assert_eq!(numbers(&hub, 1).await, [1, 5]);
    // The link is back: 1002 is entered and the ghost voided.
    front.set(Fault::Proxy);
    assert_eq!(d.reconcile().await.unwrap(), 1);
    assert_eq!(numbers(&hub, 1).await, [1, 2, 5]);
    // A late copy of the lost request answers the ghost (called: out of the line) and
    // issues nothing.
    let late = post_again(&app, "tap-2").await;
    assert_eq!(late["ticket"], "1005");
    let ghost = hub
        .state
        .store()
        .follow(late["follow"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(ghost.called, "the ghost still waits in the line");
    assert_eq!(numbers(&hub, 1).await, [1, 2, 5]);
    // The next citizen has 1001 and 1002 ahead, not the ghost.
    let next = d.take(1, None, "tap-3").await.unwrap();
    assert_eq!((next.ticket.as_str(), next.ahead), ("1009", 2));
}

#[tokio::test]
async fn without_a_ghost_the_reported_number_claims_the_key() {
    let mut hub = TestHub::start().await;
    let app = Appliance::new(&hub.url(), &hub.token, vec![hub.pinned()]);
    let d = desk(&app.ctx);
    assert_eq!(d.take(1, None, "tap-1").await.unwrap().ticket, "1001");
    assert_eq!(d.reconcile().await.unwrap(), 0); // lease 1002..1004
    hub.kill();
    let t = d.take(1, None, "tap-2").await.unwrap();
    assert_eq!((t.ticket.as_str(), t.offline), ("1002", true));
    hub.restart().await;
    assert_eq!(d.reconcile().await.unwrap(), 1);
    // A copy of the request that never arrived answers 1002 and issues nothing.
    let late = post_again(&app, "tap-2").await;
    assert_eq!(late["ticket"], "1002");
    assert_eq!(numbers(&hub, 1).await, [1, 2]);
}

#[tokio::test]
async fn a_lease_request_with_a_lost_answer_gets_the_same_lease_after_a_restart() {
    let hub = TestHub::start().await;
    let front = FaultFront::start(hub.addr).await;
    let app = Appliance::new(&front.url(), &hub.token, vec![hub.pinned()]);
    // The catalog (counters 1, 2, 3) is installed: the desk holds leases for them.
    motcua::sync::catalog_sync::poll_catalog(&app.ctx)
        .await
        .unwrap();
    let d = desk(&app.ctx);
    // The hub grants counter 1's lease (1001..1003), the answer is lost.
    front.set(Fault::LoseAnswerOnce);
    assert!(d.reconcile().await.is_err());
    assert_eq!(numbers(&hub, 1).await, Vec::<u64>::new());
    // The daemon restarts and asks again with the key kept in catalog.db: the same lease.
    drop(d);
    let ctx = reopen(&app, &hub, &front.url());
    let d = desk(&ctx);
    assert_eq!(d.reconcile().await.unwrap(), 0);
    let now = chrono::Utc::now();
    let today = TicketRules::default().today(now);
    let held = motcua::sync::ticket_store::held(&ctx.db(), 1, &today, now).unwrap();
    assert_eq!(held, 3);
    // One block was leased for today, not two: the next online number is 1004.
    assert_eq!(d.take(1, None, "tap-1").await.unwrap().ticket, "1004");
}

#[tokio::test]
async fn after_a_restart_during_a_cut_every_catalog_counter_has_numbers() {
    let mut hub = TestHub::start().await;
    let app = Appliance::new(&hub.url(), &hub.token, vec![hub.pinned()]);
    motcua::sync::catalog_sync::poll_catalog(&app.ctx)
        .await
        .unwrap();
    let d = desk(&app.ctx);
    assert_eq!(d.take(1, None, "tap-1").await.unwrap().ticket, "1001");
    assert_eq!(d.reconcile().await.unwrap(), 0);
    // The link is cut and the daemon restarts; counter 2 was never issued for.
    hub.kill();
    drop(d);
    let ctx = reopen(&app, &hub, &hub.url());
    let d = desk(&ctx);
    let t = d.take(2, None, "off-1").await.unwrap();
    assert_eq!((t.ticket.as_str(), t.offline), ("2001", true));
    let t = d.take(3, None, "off-2").await.unwrap();
    assert_eq!((t.ticket.as_str(), t.offline), ("3001", true));
}

#[tokio::test]
async fn the_follow_link_uses_the_public_url() {
    let hub = TestHub::start().await;
    let app = Appliance::new(&hub.url(), &hub.token, vec![hub.pinned()]);
    let d = TicketDesk::new(
        Arc::clone(&app.ctx),
        TicketsConfig {
            public_url: Some("https://hub.example.vn/motcua/".into()),
            ..TicketsConfig::default()
        },
    );
    let t = d.take(1, None, "tap-1").await.unwrap();
    let url = t.follow_url.unwrap();
    let token = url
        .strip_prefix("https://hub.example.vn/motcua/t/")
        .unwrap_or_else(|| panic!("{url}"));
    // The token is the hub's: its follow page knows it.
    let f = hub.state.store().follow(token).await.unwrap().unwrap();
    assert_eq!(f.ticket, "1001");
}
