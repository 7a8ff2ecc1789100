//! `motcua fee CODE [--channel] [--pages] [--copies] [--date]`.

use chrono::NaiveDate;
use clap::Args;

use super::{Context, LangArg};
use crate::catalog::fee::{format_vnd, quote, FeeRequest};
use crate::catalog::{Channel, Lang};
use crate::current::CurrentCatalog;

#[derive(Debug, Args)]
pub struct FeeArgs {
    /// Procedure code, e.g. 2.000815.
    pub code: String,
    /// Channel: direct, online or postal [default: the first one published].
    #[arg(long)]
    pub channel: Option<Channel>,
    /// Pages per copy (for per-page fees).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub pages: u32,
    /// Number of copies; for a fee charged per case, the number of cases.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub copies: u32,
    /// Compute the fees in force on this day (YYYY-MM-DD) [default: today].
    #[arg(long)]
    pub date: Option<NaiveDate>,
    #[arg(long, value_enum, default_value_t)]
    pub lang: LangArg,
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Context, args: FeeArgs) -> anyhow::Result<()> {
    let current = CurrentCatalog::load(&ctx.data_dir)?;
    let lang: Lang = args.lang.into();
    let Some(p) = current.bundle.procedure(&args.code) else {
        anyhow::bail!(
            "no procedure with code {:?}; try `motcua search {}`",
            args.code,
            args.code
        );
    };
    let exec = match args.channel {
        Some(ch) => p.channels.iter().find(|e| e.channel == ch).ok_or_else(|| {
            let offered: Vec<_> = p.channels.iter().map(|e| e.channel.as_str()).collect();
            anyhow::anyhow!(
                "procedure {} is not offered through channel {}; it is offered: {}",
                p.code,
                ch.as_str(),
                offered.join(", ")
            )
        })?,
        None => &p.channels[0],
    };
    let date = args
        .date
        .unwrap_or_else(|| chrono::Local::now().date_naive());
    let q = quote(
        &exec.fees,
        FeeRequest {
            pages: args.pages,
            copies: args.copies,
            date,
        },
        lang,
    );
    if args.json {
        let out = serde_json::json!({
            "code": p.code,
            "channel": exec.channel,
            "date": date.to_string(),
            "pages": args.pages,
            "copies": args.copies,
            "total": q.total,
            "lines": q.lines,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!(
        "{} — {} ({})",
        p.code,
        p.name.get(lang),
        exec.channel.label(lang)
    );
    if q.lines.is_empty() {
        println!(
            "{}",
            match lang {
                Lang::Vi => "Không có phí, lệ phí được công bố cho kênh này vào ngày đã chọn.",
                Lang::En => "No fee is published for this channel on that date.",
            }
        );
    }
    for line in q.lines.iter().filter(|l| l.counted) {
        println!("  {}: {}", line.item, line.working);
    }
    let extra: Vec<_> = q.lines.iter().filter(|l| !l.counted).collect();
    if !extra.is_empty() {
        println!(
            "{}",
            match lang {
                Lang::Vi => "Không tính vào tổng:",
                Lang::En => "Not in the total:",
            }
        );
        for line in extra {
            println!(
                "  {} ({}): {}",
                line.item,
                line.when.as_deref().unwrap_or(""),
                line.working
            );
        }
    }
    match (q.total, lang) {
        (Some(total), Lang::Vi) => println!("Tổng cộng: {}", format_vnd(total)),
        (Some(total), Lang::En) => println!("Total: {}", format_vnd(total)),
        (None, Lang::Vi) => println!(
            "Không tính được tổng: có khoản phí chỉ được công bố bằng văn bản; xem mức phí tại quầy."
        ),
        (None, Lang::En) => println!(
            "No total: a fee is published as text only; ask at the counter for the amount."
        ),
    }
    Ok(())
}
