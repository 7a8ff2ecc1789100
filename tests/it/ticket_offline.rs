//! Offline ticket issuing against a real hub on loopback: tickets online, a lease, the hub
//! killed, tickets from the lease (committed to catalog.db before they are returned, so a
//! restarted daemon does not hand them out again), the hub back, reconciliation — and the
//! day's numbers are unique, and every one is in the hub's queue; the next day's block is
//! issued from on the next day (the device's clock moved on, the hub down).

use std::collections::BTreeSet;
use std::sync::Arc;

use motcua::hub::tickets::TicketRules;
use motcua::queue::QueueEventKind;
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

#[tokio::test]
async fn offline_numbers_are_reconciled_and_never_issued_twice() {
    let mut hub = TestHub::start().await;
    let app = Appliance::new(&hub.url(), &hub.token, vec![hub.pinned()]);
    let d = desk(&app.ctx);
    // Online: 1001, 1002, with a follow page on the hub.
    let a = d.take(1, Some("1.001"), "tap-1").await.unwrap();
    let b = d.take(1, None, "tap-2").await.unwrap();
    assert_eq!((a.ticket.as_str(), a.offline), ("1001", false));
    assert_eq!((b.ticket.as_str(), b.ahead), ("1002", 1));
    assert!(a
        .follow_url
        .as_deref()
        .unwrap()
        .starts_with(&format!("{}/t/", hub.url())));
    // The same tap again is the same ticket.
    assert_eq!(
        d.take(1, Some("1.001"), "tap-1").await.unwrap().ticket,
        "1001"
    );
    // A lease of 3 numbers (1003..1005); the hub goes on after it.
    assert_eq!(d.reconcile().await.unwrap(), 0);
    let c = d.take(1, None, "tap-3").await.unwrap();
    assert_eq!(c.ticket, "1006");

    // The link is cut: numbers come from the lease, then run out.
    hub.kill();
    let mut offline = Vec::new();
    for i in 0..2 {
        let t = d.take(1, None, &format!("off-{i}")).await.unwrap();
        assert!(t.offline && t.follow_url.is_none(), "{t:?}");
        offline.push(t.ticket);
    }
    // The daemon restarts (a new context on the same catalog.db): what was issued is kept.
    drop(d);
    let client = HubClient::new(&hub.url(), &hub.token, test_client_settings()).unwrap();
    let ctx = SyncContext::open(
        &app.dir.path().join("catalog.db"),
        client,
        vec![hub.pinned()],
        Arc::clone(&app.clock) as Arc<dyn motcua::sync::clock::Clock>,
        test_settings(),
    )
    .unwrap();
    let d = desk(&ctx);
    offline.push(d.take(1, None, "off-2").await.unwrap().ticket);
    assert_eq!(offline, ["1003", "1004", "1005"]);
    let err = d.take(1, None, "off-3").await.unwrap_err();
    assert_eq!(
        err,
        "no connection to the central server and no numbers held for counter 1"
    );
    // Counter 2 never had a lease: nothing to issue offline.
    assert!(d.take(2, None, "off-4").await.is_err());

    // The link is back: the offline numbers are reported, a new lease taken (1007..1009).
    hub.restart().await;
    assert_eq!(d.reconcile().await.unwrap(), 3);
    assert_eq!(d.reconcile().await.unwrap(), 0, "reported once");
    let e = d.take(1, None, "tap-4").await.unwrap();
    assert_eq!(e.ticket, "1010");

    // The day: every number once, and the hub's queue has every ticket issued.
    let day = TicketRules::default().day(chrono::Utc::now()).0;
    let numbers: Vec<u64> = hub
        .state
        .store()
        .tickets_of_day(&day)
        .await
        .unwrap()
        .iter()
        .filter(|t| t.0 == 1)
        .map(|t| t.1)
        .collect();
    assert_eq!(numbers, [1, 2, 3, 4, 5, 6, 10]);
    let issued: Vec<String> = hub
        .state
        .store()
        .events_after(0, 500)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == QueueEventKind::Issued)
        .map(|e| e.ticket.unwrap())
        .collect();
    let unique: BTreeSet<&String> = issued.iter().collect();
    assert_eq!(unique.len(), issued.len(), "{issued:?}");
    assert_eq!(
        unique.into_iter().cloned().collect::<Vec<_>>(),
        ["1001", "1002", "1003", "1004", "1005", "1006", "1010"]
    );

    // The desk also holds the next day's block (review item 4): a unit that starts the next
    // morning offline issues that day's first numbers. A lease expires at the center's
    // midnight: two days later nothing is left.
    hub.kill();
    app.clock.set(chrono::Duration::days(1));
    let t = d.take(1, None, "tomorrow").await.unwrap();
    assert_eq!((t.ticket.as_str(), t.offline), ("1001", true));
    app.clock.set(chrono::Duration::days(2));
    let err = d.take(1, None, "after").await.unwrap_err();
    assert!(
        err.starts_with("no connection to the central server"),
        "{err}"
    );
}
