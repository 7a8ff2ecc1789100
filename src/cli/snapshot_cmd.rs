//! `motcua snapshots …` (alias `snapshot`): capture, list, verify, export, check-export, and
//! the hidden `ingest-loop` used by the crash test.
//!
//! Argument parsing and printing only; everything else is `crate::recorder`. Record IDs are
//! validated by `RecordId::parse` before anything is opened. `capture` goes through the
//! daemon's local socket when a daemon answers there (it owns the cameras), else captures
//! directly.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context as _};
use clap::{Args, Subcommand};

use super::Context;
use crate::daemon::client::DaemonClient;
use crate::daemon::protocol::{Request, Response};
use crate::record::RecordId;
use crate::recorder::camera::synthetic::SyntheticCamera;
use crate::recorder::camera::PixelFormat;
use crate::recorder::clock::{parse_time, Clocks, RealClocks};
use crate::recorder::config::RecorderConfig;
use crate::recorder::export::{check_export, export_record, DeviceSigner, ExportOptions};
use crate::recorder::export_check::check_anchor_hub;
use crate::recorder::footage::{Filter, FootageStore, Problem};
use crate::recorder::{sources_from_config, Reason, Recorder};

#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Take a snapshot at a counter now, linked to a record.
    Capture(CaptureArgs),
    /// List stored snapshots, oldest first.
    List(ListArgs),
    /// Check every file and the hash chain; exits non-zero and names each problem.
    Verify(VerifyArgs),
    /// Export a record's snapshots as a zip with a manifest and chain proof (pins them).
    Export(ExportArgs),
    /// Check an exported case zip on its own (hashes and chain proof).
    CheckExport { file: PathBuf },
    /// Capture from a synthetic camera in a loop (crash tests).
    #[command(hide = true)]
    IngestLoop {
        #[arg(long, default_value_t = 1)]
        counter: u32,
        /// Capture this many (record IDs …-0000, …-0001, …), print `ok <id>` for each, then
        /// `done`, and wait to be killed (the WAL-loss test).
        #[arg(long)]
        count: Option<u32>,
    },
}

#[derive(Debug, Args)]
pub struct CaptureArgs {
    #[arg(long)]
    counter: u32,
    #[arg(long, value_name = "ID", value_parser = RecordId::parse)]
    record: RecordId,
    #[arg(long, default_value = "manual")]
    reason: String,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[arg(long, value_name = "ID", value_parser = RecordId::parse)]
    record: Option<RecordId>,
    #[arg(long)]
    counter: Option<u32>,
    /// From this time (2026-11-23 or RFC 3339), inclusive.
    #[arg(long, value_parser = parse_time)]
    since: Option<i64>,
    /// Until this time, exclusive.
    #[arg(long, value_parser = parse_time)]
    until: Option<i64>,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[arg(long)]
    json: bool,
    /// Also fetch this device's anchored heads from the hub (`GET /v1/anchors`, over the
    /// `[sync]` client: same server URL, token and TLS trust) and check the chain holds each;
    /// fails if the hub cannot be asked.
    #[arg(long)]
    against_hub: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[arg(long, value_name = "ID", value_parser = RecordId::parse)]
    record: RecordId,
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

pub fn run(ctx: &Context, cmd: SnapshotCommand) -> anyhow::Result<()> {
    let clocks = RealClocks;
    match cmd {
        SnapshotCommand::Capture(a) => {
            let reason = Reason::parse(&a.reason)?;
            // A running daemon holds the cameras and the footage store: ask it.
            let sock = crate::daemon::socket_path(&ctx.config, &ctx.data_dir);
            if let Some(daemon) = DaemonClient::if_running(&sock) {
                let req = Request::Capture {
                    counter: a.counter,
                    record_id: a.record.clone(),
                    reason: Some(reason.as_str().to_owned()),
                };
                return match daemon.call(&req) {
                    Ok(Response::Snapshot(s)) => {
                        println!("{}", serde_json::to_string(&s)?);
                        Ok(())
                    }
                    Ok(Response::Error(e)) | Err(e) => bail!("{}", e.message),
                    Ok(other) => bail!("the daemon answered {other:?}"),
                };
            }
            let mut cfg = ctx.config.recorder.clone();
            cfg.cameras.retain(|c| c.counter == a.counter);
            let sources = sources_from_config(&cfg).map_err(anyhow::Error::msg)?;
            let (rec, _) = Recorder::start(&ctx.data_dir, &cfg, sources, Arc::new(clocks), false)?;
            let s = rec.capture(a.counter, &a.record, &reason)?;
            println!("{}", serde_json::to_string(&s)?);
        }
        SnapshotCommand::List(a) => {
            let store = FootageStore::open_reader(&ctx.data_dir)?;
            let rows = store.list(&Filter {
                record_id: a.record.map(|r| r.to_string()),
                counter: a.counter,
                since_ms: a.since,
                until_ms: a.until,
            })?;
            if a.json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                for s in &rows {
                    println!(
                        "{:>6}  {}  counter {:<3} {:<26} {:<10} {:>8} B  {}  age {}{}{}{}",
                        s.id,
                        s.captured_at,
                        s.counter,
                        s.record_id.as_deref().unwrap_or("-"),
                        s.reason,
                        s.bytes,
                        &s.sha256[..16],
                        s.frame_age_ms.map_or("-".into(), |a| format!("{a} ms")),
                        if s.pinned { "  pinned" } else { "" },
                        if s.recovered_from_seq.is_some() {
                            "  recovered"
                        } else {
                            ""
                        },
                        s.camera_time_ms.map_or(String::new(), |c| format!(
                            "  camera clock {} ({:+.1} s)",
                            crate::recorder::clock::format_ms(c),
                            (c - s.captured_at_ms) as f64 / 1000.0
                        ))
                    );
                }
                eprintln!("{} snapshot(s)", rows.len());
            }
        }
        SnapshotCommand::Verify(a) => {
            let store = FootageStore::open_reader(&ctx.data_dir)?;
            let keys = hub_keys(ctx);
            let mut r = store.verify_trusting(true, Some(&keys))?;
            let hub_count = if a.against_hub {
                let receipts = fetch_anchors(ctx)?;
                store.verify_hub_anchors(&mut r, &receipts, &keys, &ctx.config.device.name)?;
                Some(receipts.len())
            } else {
                None
            };
            if a.json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                if r.recovered > 0 {
                    // first and on its own line: evidence that was nearly lost
                    println!("{}", crate::doctor::recovered_text(&r.recovered_snapshots));
                }
                for p in &r.problems {
                    println!("PROBLEM: {p}");
                }
                println!(
                    "{} chain entries, {} snapshots ({} recovered), {} files checked; head {} {}",
                    r.chain_entries,
                    r.snapshots,
                    r.recovered,
                    r.files_checked,
                    r.head_seq,
                    r.head_hash
                );
                match &r.anchored {
                    Some(a) => println!(
                        "anchored: the hub received head {} {} at {} (hub seq {}); the chain {} it",
                        a.seq,
                        a.hash,
                        a.received_at,
                        a.hub_seq,
                        if r.problems
                            .iter()
                            .any(|p| matches!(p, Problem::AnchorMismatch { .. }))
                        {
                            "does NOT extend"
                        } else {
                            "extends"
                        }
                    ),
                    None => println!("not anchored: no hub receipt is stored yet"),
                }
                if let Some(n) = hub_count {
                    match &r.hub_anchored {
                        Some(h) => println!(
                            "hub: {n} anchored head(s) for device {}, the last {} {} received at {} (hub seq {}); the chain {} them",
                            ctx.config.device.name,
                            h.seq,
                            h.hash,
                            h.received_at,
                            h.hub_seq,
                            if r.problems
                                .iter()
                                .any(|p| matches!(p, Problem::AnchorMismatch { .. }))
                            {
                                "does NOT hold"
                            } else {
                                "holds"
                            }
                        ),
                        None => println!(
                            "hub: no valid anchored head for device {} ({n} receipt(s) received)",
                            ctx.config.device.name
                        ),
                    }
                }
            }
            if !r.ok() {
                bail!("{} problem(s) found in the footage", r.problems.len());
            }
        }
        SnapshotCommand::Export(a) => {
            let signer =
                DeviceSigner::load(&ctx.config.recorder.device_key, &ctx.config.device.name)
                    .map_err(anyhow::Error::msg)?;
            let mut store = FootageStore::open_reader(&ctx.data_dir)?;
            let audit = serde_json::json!({
                "v": 1,
                "action": "export_case",
                "via": "cli",
                "user": std::env::var("SUDO_USER").or_else(|_| std::env::var("USER")).unwrap_or_default(),
                "file": a.out.file_name().map(|n| n.to_string_lossy().into_owned()),
            })
            .to_string();
            let opts = ExportOptions {
                signer: signer.as_ref(),
                audit: &audit,
            };
            let m = export_record(&mut store, &a.record, &a.out, clocks.now_ms(), &opts)?;
            println!(
                "exported {} snapshot(s) of {} to {} (chain head {} {}, {}); they are now pinned",
                m.snapshots.len(),
                m.record_id,
                a.out.display(),
                m.chain.head_seq,
                m.chain.head_hash,
                match &m.device {
                    Some(d) => format!("signed by device {} key {}", d.name, d.key),
                    None => format!(
                        "UNSIGNED: no device key at {}",
                        ctx.config.recorder.device_key.display()
                    ),
                }
            );
        }
        SnapshotCommand::CheckExport { file } => {
            let m = check_export(&file)?;
            let hub_keys = hub_keys(ctx);
            let anchor = match check_anchor_hub(&m, &hub_keys) {
                Ok(Some(seq)) => format!("anchored at entry {seq} (hub receipt verified)"),
                Ok(None) => "no anchored head".into(),
                Err(e) if hub_keys.is_empty() => format!("anchor receipt not checked ({e})"),
                Err(e) => bail!("{}: {e}", file.display()),
            };
            println!(
                "{}: {} snapshot(s) of {} match their hashes and chain proof (head {} {}); {}; {}",
                file.display(),
                m.snapshots.len(),
                m.record_id,
                m.chain.head_seq,
                m.chain.head_hash,
                match &m.device {
                    Some(d) => format!("signed by device {} key {}", d.name, d.key),
                    None => "UNSIGNED (no device signature)".into(),
                },
                anchor
            );
        }
        SnapshotCommand::IngestLoop { counter, count } => ingest_loop(ctx, counter, count)?,
    }
    Ok(())
}

/// The hub keys this device pins (`[sync] public_keys`; checked when the config was read).
/// This device's anchored heads from the hub, through the sync client as configured.
fn fetch_anchors(ctx: &Context) -> anyhow::Result<Vec<crate::recorder::anchor::Receipt>> {
    let s = &ctx.config.sync;
    let url = s
        .server_url
        .as_deref()
        .ok_or_else(|| anyhow::anyhow!("--against-hub: no [sync] server_url is configured"))?;
    let token = s
        .load_token()
        .map_err(anyhow::Error::msg)?
        .ok_or_else(|| anyhow::anyhow!("--against-hub: no [sync] token_file is configured"))?;
    let settings = crate::sync::SyncSettings::client_settings(&ctx.config);
    let client = crate::sync::HubClient::new(url, &token, settings)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(client.anchors()).map_err(|e| {
        anyhow::anyhow!("--against-hub: cannot fetch the anchored heads from {url}: {e}")
    })
}

fn hub_keys(ctx: &Context) -> Vec<ed25519_dalek::VerifyingKey> {
    ctx.config
        .sync
        .public_keys
        .iter()
        .filter_map(|k| crate::recorder::anchor::parse_public_key(k).ok())
        .collect()
}

/// Capture as fast as possible from a small synthetic camera until killed (or `count`
/// captures, each acknowledged on stdout, then wait to be killed).
fn ingest_loop(ctx: &Context, counter: u32, count: Option<u32>) -> anyhow::Result<()> {
    let cam = SyntheticCamera::new("crash-test", 320, 240, 500, PixelFormat::Mjpeg);
    let cfg = RecorderConfig::default();
    let (rec, _) = Recorder::start(
        &ctx.data_dir,
        &cfg,
        vec![(counter, Box::new(cam))],
        Arc::new(RealClocks),
        false,
    )
    .context("open footage for the ingest loop")?;
    let record = RecordId::parse("000.00.14.H56-251119-0042")?;
    let reason = Reason::parse("crash-test")?;
    {
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        writeln!(out, "ready")?;
        out.flush()?;
    }
    if let Some(n) = count {
        use std::io::Write as _;
        for i in 0..n {
            let r = RecordId::parse(&format!("000.00.14.H56-251119-{i:04}"))?;
            let s = rec.capture(counter, &r, &reason)?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "ok {} {}", s.id, r)?;
            out.flush()?;
        }
        println!("done");
        std::io::stdout().flush()?;
        loop {
            std::thread::sleep(std::time::Duration::from_secs(60));
        }
    }
    for i in 0u64.. {
        let s = if i % 3 == 0 {
            rec.capture_for(counter, None, &reason)?
        } else {
            rec.capture(counter, &record, &reason)?
        };
        if i % 5 == 4 {
            // retention deletions are part of what may be interrupted
            let mut st = rec.store().lock().unwrap_or_else(|p| p.into_inner());
            st.delete_by_policy(&[s.id - 2], "retention:crash-test", RealClocks.now_ms())?;
        }
    }
    Ok(())
}
