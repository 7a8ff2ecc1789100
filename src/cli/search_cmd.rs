//! `motcua search QUERY [--json] [--limit N]`.

use clap::Args;
use serde::Serialize;

use super::{Context, LangArg};
use crate::catalog::Lang;
use crate::current::CurrentCatalog;
use crate::search::SearchIndex;

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// What a citizen would type: words with or without accents, a code, English words.
    #[arg(required = true, num_args = 1..)]
    pub query: Vec<String>,
    /// Print a JSON array of {code, name, field, score}, best first.
    #[arg(long)]
    pub json: bool,
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub limit: u32,
    #[arg(long, value_enum, default_value_t)]
    pub lang: LangArg,
}

#[derive(Serialize)]
struct JsonHit<'a> {
    code: &'a str,
    name: &'a str,
    field: &'a str,
    /// Ranking score × 1000, clamped at 0 (only the order means something).
    score: u32,
}

pub fn run(ctx: &Context, args: SearchArgs) -> anyhow::Result<()> {
    let current = CurrentCatalog::load(&ctx.data_dir)?;
    let lang: Lang = args.lang.into();
    let index = SearchIndex::for_bundle(&current.bundle);
    let query = args.query.join(" ");
    let outcome = index.answer(&query, args.limit as usize);
    let hits = &outcome.hits;
    let procs = &current.bundle.procedures;
    if args.json {
        let out: Vec<_> = hits
            .iter()
            .map(|h| {
                let p = &procs[h.doc];
                JsonHit {
                    code: &p.code,
                    name: p.name.get(lang),
                    field: &p.field,
                    score: (h.score.max(0.0) * 1000.0).round() as u32,
                }
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    if let crate::search::Verdict::NotHere { referral } = outcome.verdict {
        let place = referral.and_then(|r| index.referral(r));
        match (lang, place) {
            (Lang::Vi, Some(r)) => println!(
                "Trung tâm không giải quyết việc này. Nơi giải quyết: {}.",
                r.place.vi
            ),
            (Lang::En, Some(r)) => println!(
                "This center does not handle this. Go to: {}.",
                r.place.get(lang)
            ),
            (Lang::Vi, None) if !hits.is_empty() => println!(
                "Không chắc trung tâm giải quyết việc này; hỏi tại quầy hướng dẫn. Gần nhất:"
            ),
            (Lang::En, None) if !hits.is_empty() => {
                println!("Not sure this center handles this; ask at the guidance counter. Closest:")
            }
            _ => {}
        }
    }
    if hits.is_empty() {
        println!(
            "{}",
            match lang {
                Lang::Vi => format!("Không tìm thấy thủ tục nào cho \"{query}\"."),
                Lang::En => format!("No procedure found for \"{query}\"."),
            }
        );
    }
    for h in hits {
        let p = &procs[h.doc];
        let field = current
            .bundle
            .field(&p.field)
            .map(|f| f.name.get(lang))
            .unwrap_or("");
        println!("{:<10} {}  [{}]", p.code, p.name.get(lang), field);
    }
    Ok(())
}
