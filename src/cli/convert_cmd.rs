//! `motcua catalog convert`: the national portal's procedure records → a catalog bundle.
//!
//! Reads the records, converts them (`catalog::portal`), then checks the result through the
//! same `parse_bundle` every import uses, so what it writes is known to import. Prints the
//! summary an operator needs: how many procedures, and per channel how many got a
//! structured time and fee.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{bail, Context as _};
use clap::Args;

use crate::catalog::parse_bundle;
use crate::catalog::portal::{
    convert, read_records, CenterProfile, ConvertOptions, ConvertReport, Level, Overrides,
};

#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// Portal record files (`<code>.json`) or folders of them (searched recursively).
    #[arg(required = true)]
    pub sources: Vec<PathBuf>,
    /// Keep only procedures of this level (by `cap_thuc_hien`).
    #[arg(long, value_enum, default_value = "commune")]
    pub level: Level,
    /// The center's counters, officials and statistics (see docs/catalog-format.md).
    #[arg(long, value_name = "FILE")]
    pub center: Option<PathBuf>,
    /// Hand-checked facts by procedure code: English names, structured fees and times.
    #[arg(long, value_name = "FILE")]
    pub overrides: Option<PathBuf>,
    /// The bundle's version (must increase with every publication).
    #[arg(long, default_value_t = 1)]
    pub version: u64,
    /// When the bundle is issued, RFC 3339 [default: now].
    #[arg(long)]
    pub issued_at: Option<String>,
    /// Where to write the bundle (JSON).
    #[arg(long, short, value_name = "FILE")]
    pub out: PathBuf,
    /// The summary as JSON on standard output.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: ConvertArgs) -> anyhow::Result<()> {
    let (records, mut unreadable) =
        read_records(&args.sources).context("cannot read the portal records")?;
    let profile = match &args.center {
        Some(f) => Some(
            CenterProfile::parse(&read(f)?)
                .map_err(|e| anyhow::anyhow!("{}: not a center profile {e}", f.display()))?,
        ),
        None => None,
    };
    let overrides = match &args.overrides {
        Some(f) => Some(
            Overrides::parse(&read(f)?)
                .map_err(|e| anyhow::anyhow!("{}: not an overrides file {e}", f.display()))?,
        ),
        None => None,
    };
    let issued_at = args
        .issued_at
        .unwrap_or_else(|| chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    let (bundle, mut report) = convert(
        &records,
        &ConvertOptions {
            level: args.level,
            version: args.version,
            issued_at,
            profile: profile.as_ref(),
            overrides: overrides.as_ref(),
        },
    );
    report.skipped.append(&mut unreadable);
    if bundle.procedures.is_empty() {
        bail!(
            "no procedure to write: {} record(s) read, {} of another level, {} skipped{}",
            report.records_read,
            report.filtered_out,
            report.skipped.len(),
            first_skip(&report)
        );
    }
    let json = serde_json::to_vec_pretty(&bundle)?;
    // The same gate as every import: what is written is known to import.
    parse_bundle(&json, usize::MAX)
        .context("the converted bundle does not validate (a converter defect)")?;
    let tmp = args.out.with_extension("json.part");
    std::fs::write(&tmp, &json).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, &args.out)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary_json(&report))?);
    } else {
        print!("{}", summary_text(&report, &args.out, json.len()));
    }
    Ok(())
}

fn read(f: &PathBuf) -> anyhow::Result<Vec<u8>> {
    std::fs::read(f).with_context(|| format!("cannot read {}", f.display()))
}

fn first_skip(r: &ConvertReport) -> String {
    r.skipped
        .first()
        .map(|s| format!(" (first: {}: {})", s.source, s.reason))
        .unwrap_or_default()
}

fn summary_json(r: &ConvertReport) -> serde_json::Value {
    serde_json::json!({
        "records_read": r.records_read,
        "other_level": r.filtered_out,
        "converted": r.converted,
        "skipped": r.skipped.iter().map(|s| serde_json::json!({"source": s.source, "reason": s.reason})).collect::<Vec<_>>(),
        "duplicates": r.duplicates,
        "channels": r.channels,
        "unknown_keys": r.unknown_keys,
        "overridden": r.overridden,
        "override_notes": r.override_notes,
    })
}

/// The operator's summary.
pub fn summary_text(r: &ConvertReport, out: &std::path::Path, bytes: usize) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "converted {} procedure(s) into {} ({} KiB); {} record(s) read, {} of another level",
        r.converted,
        out.display(),
        bytes / 1024,
        r.records_read,
        r.filtered_out
    );
    let _ = writeln!(
        s,
        "{:<10} {:>10} {:>16} {:>16} {:>12} {:>10} {:>9}",
        "channel",
        "procedures",
        "structured time",
        "structured fees",
        "no fee given",
        "time no unit",
        "ambiguous"
    );
    for (ch, c) in &r.channels {
        let pct = |n: usize| {
            if c.procedures == 0 {
                0.0
            } else {
                100.0 * n as f64 / c.procedures as f64
            }
        };
        let _ = writeln!(
            s,
            "{:<10} {:>10} {:>9} ({:>3.0}%) {:>9} ({:>3.0}%) {:>12} {:>12} {:>9}",
            ch,
            c.procedures,
            c.structured_time,
            pct(c.structured_time),
            c.structured_fees,
            pct(c.structured_fees),
            c.no_fee_published,
            c.time_without_unit,
            c.ambiguous_rows
        );
    }
    if r.overridden > 0 {
        let _ = writeln!(
            s,
            "hand-checked overrides applied to {} procedure(s)",
            r.overridden
        );
    }
    for n in &r.override_notes {
        let _ = writeln!(s, "  check: {n}");
    }
    if !r.duplicates.is_empty() {
        let _ = writeln!(
            s,
            "{} duplicate code(s) kept once: {}",
            r.duplicates.len(),
            r.duplicates.join(", ")
        );
    }
    for k in &r.skipped {
        let _ = writeln!(s, "skipped {}: {}", k.source, k.reason);
    }
    for (k, n) in &r.unknown_keys {
        let _ = writeln!(s, "ignored unknown key {k:?} in {n} record(s)");
    }
    s
}
