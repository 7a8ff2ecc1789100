//! The demo's simulated ticket issuer (`motcua demo`, screenshots, `--demo-services`): numbers
//! per counter from 1 in memory, labelled like the hub's ("1001"), people ahead from the
//! simulated queue in the demo's `catalog.db` when there is one. There is no hub, so the
//! follow link points at `demo.invalid` (a name that never resolves): the QR code shows, and
//! says nothing real. The real issuer is the daemon's (`sync::tickets`).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use crate::appliance::IssuedTicket;
use crate::store::{open_connection, queue_store, Access, CATALOG_DB};

#[derive(Default)]
pub struct DemoIssuer {
    /// Next number per counter, and the ticket of each key already used.
    state: Mutex<(HashMap<u32, u64>, HashMap<String, IssuedTicket>)>,
}

impl DemoIssuer {
    pub fn take(
        &self,
        data_dir: &Path,
        counter: u32,
        key: &str,
        now: chrono::DateTime<chrono::FixedOffset>,
    ) -> Result<IssuedTicket, String> {
        if counter == 0 || counter > 999 {
            return Err(format!("counter {counter} is out of range 1..=999"));
        }
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = st.1.get(key) {
            return Ok(t.clone());
        }
        let next = st.0.entry(counter).or_insert(1);
        let n = *next;
        *next += 1;
        let ahead = waiting(&data_dir.join(CATALOG_DB), counter).unwrap_or(0) + (n as u32 - 1);
        let t = IssuedTicket {
            ticket: format!("{counter}{n:03}"),
            counter,
            ahead,
            follow_url: Some(format!("https://demo.invalid/t/demo-{counter}-{n}")),
            offline: false,
            issued_at: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        };
        st.1.insert(key.to_owned(), t.clone());
        Ok(t)
    }
}

/// Citizens waiting at `counter` on the simulated board.
fn waiting(db: &Path, counter: u32) -> Option<u32> {
    let conn = open_connection(db, Access::ReadOnly).ok()?;
    queue_store::board(&conn)
        .ok()?
        .into_iter()
        .find(|c| c.counter == counter)
        .map(|c| c.waiting)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_run_per_counter_and_a_key_is_one_ticket() {
        let issuer = DemoIssuer::default();
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-06T08:30:00+07:00").unwrap();
        let dir = Path::new("/nonexistent");
        let a = issuer.take(dir, 2, "a", now).unwrap();
        let b = issuer.take(dir, 2, "b", now).unwrap();
        let c = issuer.take(dir, 3, "c", now).unwrap();
        assert_eq!(
            (a.ticket.as_str(), b.ticket.as_str(), c.ticket.as_str()),
            ("2001", "2002", "3001")
        );
        assert_eq!(b.ahead, 1);
        assert_eq!(issuer.take(dir, 2, "a", now).unwrap(), a);
        assert!(issuer.take(dir, 0, "d", now).is_err());
    }
}
