//! `motcua sync status [--json]`: what the daemon last achieved and why it failed, read from
//! `catalog.db` by a separate process (read-only; it never contacts the server), and whether
//! a server is configured at all (from the same config file the daemon reads).

use clap::Subcommand;

use super::Context;
use crate::store::{open_connection, Access, CATALOG_DB};
use crate::sync::state::{read_status, SyncStatus};

#[derive(Debug, Subcommand)]
pub enum SyncCommand {
    /// Last success, last error in plain words, catalog version, queue sequence, outbox depth.
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
    let conn = open_connection(&path, Access::ReadOnly)?;
    let status = read_status(&conn, chrono::Utc::now())?;
    if json {
        let mut v = serde_json::to_value(&status)?;
        v["server"] = serde_json::Value::from(if configured {
            "configured"
        } else {
            "not_configured"
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        if !configured {
            println!("{NOT_CONFIGURED}");
        }
        print!("{}", render(&status));
    }
    Ok(())
}

/// What `sync status` says when the config names no server (the daemon runs offline-only).
pub const NOT_CONFIGURED: &str = "server:       not configured (no [sync] server_url): running \
                                  offline-only; ratings wait in the outbox";

/// The human-readable report.
pub fn render(s: &SyncStatus) -> String {
    let mut out = String::new();
    let or_never = |v: &Option<String>| v.clone().unwrap_or_else(|| "never".into());
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
    out.push_str(&format!("last success: {}\n", or_never(&s.last_success_at)));
    out.push_str(&format!(
        "last error:   {}\n",
        s.last_error.as_deref().unwrap_or("none")
    ));
    for c in &s.channels {
        out.push_str(&format!(
            "  {:<8} ok {}  failures {}{}\n",
            c.channel,
            or_never(&c.last_success_at),
            c.failures,
            c.last_error
                .as_ref()
                .map(|e| format!("  ({e})"))
                .unwrap_or_default()
        ));
    }
    out
}
