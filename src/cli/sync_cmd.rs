//! `motcua sync status [--json]`: what the daemon last achieved and why it failed, read from
//! `catalog.db` by a separate process (read-only; it never contacts the server), whether a
//! server is configured at all (from the same config file the daemon reads), whether the
//! daemon is running now (its socket answers), how old the report is, and the queue per
//! counter as the device last heard it.
//!
//! When the daemon is not running, nothing here is current: the report says so first, with
//! the time of the daemon's last attempt, instead of showing old successes as the present.

use chrono::{DateTime, Utc};
use clap::Subcommand;

use super::Context;
use crate::daemon::client::DaemonClient;
use crate::queue::{CounterState, CounterStatus};
use crate::store::{open_connection, Access, CATALOG_DB};
use crate::sync::state::{read_status, ChannelState, SyncStatus};

#[derive(Debug, Subcommand)]
pub enum SyncCommand {
    /// Daemon running or not, each channel's state, last error in plain words, catalog
    /// version, outbox depth and the queue per counter.
    Status {
        #[arg(long)]
        json: bool,
    },
}

pub fn run(ctx: &Context, cmd: SyncCommand) -> anyhow::Result<()> {
    let SyncCommand::Status { json } = cmd;
    let configured = ctx.config.sync.server_url.is_some();
    let path = ctx.data_dir.join(CATALOG_DB);
    if !path.exists() && !configured {
        println!("{NOT_CONFIGURED}");
        return Ok(());
    }
    if !path.exists() {
        anyhow::bail!(
            "no {} yet: the daemon has never run with this data directory",
            path.display()
        );
    }
    let socket = crate::daemon::socket_path(&ctx.config, &ctx.data_dir);
    let daemon = Daemon {
        running: DaemonClient::if_running(&socket).is_some(),
        socket: socket.display().to_string(),
    };
    let conn = open_connection(&path, Access::ReadOnly)?;
    let now = Utc::now();
    let status = read_status(&conn, now)?;
    if json {
        let mut v = serde_json::to_value(&status)?;
        v["server"] = serde_json::Value::from(if configured {
            "configured"
        } else {
            "not_configured"
        });
        v["daemon_running"] = daemon.running.into();
        v["state_age_secs"] = status
            .last_activity_at
            .as_deref()
            .and_then(|t| seconds_since(t, now))
            .into();
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        if !configured {
            println!("{NOT_CONFIGURED}");
        }
        print!("{}", render(&status, &daemon, now));
    }
    Ok(())
}

/// What `sync status` says when the config names no server (the daemon runs offline-only).
pub const NOT_CONFIGURED: &str = "server:       not configured (no [sync] server_url): running \
                                  offline-only; ratings wait in the outbox";

/// Whether the daemon answered on its socket when the report was made.
pub struct Daemon {
    pub running: bool,
    pub socket: String,
}

/// The human-readable report.
pub fn render(s: &SyncStatus, daemon: &Daemon, now: DateTime<Utc>) -> String {
    let mut out = String::new();
    let when = |t: &Option<String>| match t {
        Some(t) => format!("{t} ({})", ago(t, now)),
        None => "never".into(),
    };
    let last = match &s.last_activity_at {
        Some(t) => format!("its last attempt was {}", ago(t, now)),
        None => "it has not attempted anything yet".into(),
    };
    if daemon.running {
        out.push_str(&format!("daemon:       running; {last}\n"));
    } else {
        out.push_str(&format!(
            "daemon:       NOT RUNNING (nothing answers at {}): this is what it recorded \
             before it stopped; {last}. Start it: systemctl start motcua-daemon\n",
            daemon.socket
        ));
    }
    match s.catalog_version {
        Some(v) => out.push_str(&format!(
            "catalog:      version {v} from {}\n",
            s.catalog_source.as_deref().unwrap_or("?")
        )),
        None => out.push_str("catalog:      none installed (the kiosk shows the demo catalog)\n"),
    }
    if let Some(w) = &s.catalog_warning {
        out.push_str(&format!("              {w}\n"));
    }
    out.push_str(&format!("queue seq:    {}\n", s.queue_seq));
    out.push_str(&format!("outbox:       {} waiting\n", s.outbox_depth));
    out.push_str(&format!("last success: {}\n", when(&s.last_success_at)));
    out.push_str(&format!(
        "last error:   {}\n",
        s.last_error.as_deref().unwrap_or("none")
    ));
    for c in &s.channels {
        let detail = match c.state {
            ChannelState::Ok => format!("last success {}", when(&c.last_success_at)),
            ChannelState::Failing => format!(
                "{} failure(s), last {}{}",
                c.failures,
                when(&c.last_error_at),
                c.last_error
                    .as_ref()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            ),
            ChannelState::NotTried => String::new(),
        };
        out.push_str(&format!(
            "  {:<8} {:<9} {detail}\n",
            c.channel,
            c.state.as_str()
        ));
    }
    if s.queue.is_empty() {
        out.push_str("queue:        no counter heard from the server yet\n");
    } else {
        out.push_str("queue:\n");
        for c in &s.queue {
            out.push_str(&format!("  {}\n", counter_line(c, now)));
        }
    }
    out
}

fn counter_line(c: &CounterState, now: DateTime<Utc>) -> String {
    let mut line = format!("counter {:<3} {:<8}", c.counter, c.status.as_str());
    if matches!(c.status, CounterStatus::Called | CounterStatus::Serving) {
        if let Some(t) = &c.ticket {
            line.push_str(&format!(" ticket {t}"));
        }
        if let Some(r) = &c.record_id {
            line.push_str(&format!(" record {}", r.as_str()));
        }
    }
    line.push_str(&format!(
        " · {} waiting · updated {}",
        c.waiting,
        ago(&c.updated_at, now)
    ));
    line
}

fn seconds_since(t: &str, now: DateTime<Utc>) -> Option<i64> {
    DateTime::parse_from_rfc3339(t)
        .ok()
        .map(|t| (now - t.with_timezone(&Utc)).num_seconds())
}

/// "45 s ago", "12 min ago", "3 h 5 min ago", "2 days ago" (or "at an unreadable time").
fn ago(t: &str, now: DateTime<Utc>) -> String {
    let Some(s) = seconds_since(t, now) else {
        return "at an unreadable time".into();
    };
    match s {
        s if s < 0 => "in the future (check the clock)".into(),
        0..60 => format!("{s} s ago"),
        60..3600 => format!("{} min ago", s / 60),
        3600..86_400 => format!("{} h {} min ago", s / 3600, s % 3600 / 60),
        _ => format!("{} days ago", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_naturally() {
        let now = DateTime::parse_from_rfc3339("2026-12-05T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(ago("2026-12-05T09:59:15Z", now), "45 s ago");
        assert_eq!(ago("2026-12-05T09:48:00+00:00", now), "12 min ago");
        assert_eq!(ago("2026-12-05T06:55:00Z", now), "3 h 5 min ago");
        assert_eq!(ago("2026-12-03T09:00:00Z", now), "2 days ago");
        assert_eq!(
            ago("2026-12-05T10:05:00Z", now),
            "in the future (check the clock)"
        );
        assert_eq!(ago("yesterday", now), "at an unreadable time");
    }
}
