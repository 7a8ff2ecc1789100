//! `motcua catalog import|show|stats` (and `convert`, in `convert_cmd.rs`).

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Subcommand;

use super::{Context, LangArg};
use crate::catalog::{parse_bundle, CatalogBundle, Lang, Procedure};
use crate::current::{CatalogOrigin, CurrentCatalog};
use crate::store::{catalog_path, CatalogStore};

#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// Validate a catalog bundle (JSON) and install it; on any error nothing changes.
    Import {
        /// The bundle file.
        file: PathBuf,
        /// Accept a bundle whose version is lower than the installed one.
        #[arg(long)]
        allow_older: bool,
        /// Only validate; do not install.
        #[arg(long)]
        check: bool,
    },
    /// Show one procedure.
    Show {
        /// Procedure code, e.g. 1.001193.
        code: String,
        #[arg(long)]
        json: bool,
        #[arg(long, value_enum, default_value_t)]
        lang: LangArg,
    },
    /// Summarise the catalog being served.
    Stats {
        #[arg(long)]
        json: bool,
    },
    /// Convert the national portal's procedure records into a catalog bundle.
    Convert(super::convert_cmd::ConvertArgs),
}

pub fn run(ctx: &Context, cmd: CatalogCommand) -> anyhow::Result<()> {
    match cmd {
        CatalogCommand::Convert(args) => super::convert_cmd::run(args),
        CatalogCommand::Import {
            file,
            allow_older,
            check,
        } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let bundle =
                parse_bundle(&bytes, ctx.config.catalog.max_bundle_bytes).with_context(|| {
                    format!(
                        "{} was not imported; the installed catalog is unchanged",
                        file.display()
                    )
                })?;
            if check {
                println!(
                    "{}: valid catalog version {} with {} procedures in {} fields",
                    file.display(),
                    bundle.version,
                    bundle.procedures.len(),
                    bundle.fields.len()
                );
                return Ok(());
            }
            let source = std::fs::canonicalize(&file).unwrap_or(file.clone());
            let mut store = CatalogStore::open(&catalog_path(&ctx.data_dir)?)?;
            let info = store
                .apply(&bundle, &format!("file:{}", source.display()), allow_older)
                .with_context(|| {
                    format!(
                        "{} was not imported; the installed catalog is unchanged",
                        file.display()
                    )
                })?;
            println!(
                "imported catalog version {} ({} procedures, {} fields, {} counters, {} officials) into {}",
                info.version,
                info.procedures,
                info.fields,
                info.counters,
                info.officials,
                store.path().display()
            );
            Ok(())
        }
        CatalogCommand::Show { code, json, lang } => {
            let current = CurrentCatalog::load(&ctx.data_dir)?;
            let Some(p) = current.bundle.procedure(&code) else {
                anyhow::bail!(
                    "no procedure with code {:?} in the catalog; try `motcua search {}`",
                    code,
                    code
                );
            };
            if json {
                println!("{}", serde_json::to_string_pretty(p)?);
            } else {
                print!("{}", describe(&current.bundle, p, lang.into()));
            }
            Ok(())
        }
        CatalogCommand::Stats { json } => {
            let current = CurrentCatalog::load(&ctx.data_dir)?;
            if json {
                let per_field: Vec<_> = current
                    .bundle
                    .fields
                    .iter()
                    .map(|f| {
                        serde_json::json!({
                            "code": f.code,
                            "name": f.name.vi,
                            "procedures": current.bundle.procedures.iter().filter(|p| p.field == f.code).count(),
                        })
                    })
                    .collect();
                let out = serde_json::json!({
                    "origin": current.origin,
                    "version": current.bundle.version,
                    "procedures": current.bundle.procedures.len(),
                    "fields": per_field,
                    "counters": current.bundle.counters.len(),
                    "officials": current.bundle.officials.len(),
                    "statistics": current.bundle.statistics,
                });
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                print!("{}", stats_text(&current));
            }
            Ok(())
        }
    }
}

fn stats_text(current: &CurrentCatalog) -> String {
    let b = &current.bundle;
    let mut s = String::new();
    let _ = writeln!(s, "{}", b.center.name.vi);
    match &current.origin {
        CatalogOrigin::EmbeddedDemo => {
            let _ = writeln!(
                s,
                "catalog: embedded demo, version {} (nothing imported yet)",
                b.version
            );
        }
        CatalogOrigin::Installed(info) => {
            let _ = writeln!(
                s,
                "catalog: version {} issued {}, applied {} from {}",
                info.version, info.issued_at, info.applied_at, info.source
            );
        }
    }
    let _ = writeln!(
        s,
        "{} procedures, {} fields, {} counters, {} officials",
        b.procedures.len(),
        b.fields.len(),
        b.counters.len(),
        b.officials.len()
    );
    for f in &b.fields {
        let n = b.procedures.iter().filter(|p| p.field == f.code).count();
        let _ = writeln!(s, "  {:>5}  {} ({})", n, f.name.vi, f.code);
    }
    if let Some(st) = &b.statistics {
        let _ = writeln!(
            s,
            "statistics {}..{}: received {}, ahead of schedule {}, on time {}, overdue {}, in progress {}",
            st.period_from,
            st.period_to,
            st.received,
            st.resolved_ahead,
            st.resolved_on_time,
            st.resolved_overdue,
            st.in_progress
        );
    }
    s
}

/// A procedure as readable text, in `lang`.
pub fn describe(bundle: &CatalogBundle, p: &Procedure, lang: Lang) -> String {
    let vi = lang == Lang::Vi;
    let t = |vi_text: &'static str, en_text: &'static str| if vi { vi_text } else { en_text };
    let mut s = String::new();
    let _ = writeln!(s, "{}  {}", p.code, p.name.get(lang));
    if let Some(f) = bundle.field(&p.field) {
        let _ = writeln!(s, "{}: {}", t("Lĩnh vực", "Field"), f.name.get(lang));
    }
    if let Some(level) = &p.level {
        let _ = writeln!(s, "{}: {}", t("Cấp thực hiện", "Level"), level.get(lang));
    }
    for ch in &p.channels {
        let _ = writeln!(
            s,
            "\n[{}] {}: {}",
            ch.channel.label(lang),
            t("Thời hạn giải quyết", "Processing time"),
            ch.processing_time.text.get(lang)
        );
        if ch.fees.is_empty() {
            let _ = writeln!(s, "  {}", t("Phí, lệ phí: không", "Fees: none"));
        }
        for fee in &ch.fees {
            let label = fee
                .label
                .as_ref()
                .map(|l| format!("{}: ", l.get(lang)))
                .unwrap_or_default();
            let _ = writeln!(s, "  {label}{}", fee.text.get(lang));
        }
    }
    if !p.documents.is_empty() {
        let _ = writeln!(s, "\n{}:", t("Thành phần hồ sơ", "Required documents"));
        let mut group = None;
        for d in &p.documents {
            let g = d.group.as_ref().map(|g| g.get(lang));
            if g.is_some() && g != group {
                let _ = writeln!(s, "  {}:", g.unwrap_or_default());
            }
            group = g;
            let counts = if d.originals + d.copies == 0 {
                String::new()
            } else {
                format!(
                    " ({} {}, {} {})",
                    d.originals,
                    t("bản chính", "original(s)"),
                    d.copies,
                    t("bản sao", "copy/copies")
                )
            };
            let _ = writeln!(s, "  - {}{counts}", d.name.get(lang));
        }
    }
    if !p.steps.is_empty() {
        let _ = writeln!(s, "\n{}:", t("Trình tự thực hiện", "Steps"));
        for (i, step) in p.steps.iter().enumerate() {
            let _ = writeln!(s, "  {}. {}", i + 1, step.get(lang));
        }
    }
    if let Some(r) = &p.result {
        let _ = writeln!(s, "\n{}: {}", t("Kết quả", "Result"), r.get(lang));
    }
    if let Some(c) = &p.conditions {
        let _ = writeln!(s, "{}: {}", t("Điều kiện", "Conditions"), c.get(lang));
    }
    if !p.legal_basis.is_empty() {
        let _ = writeln!(
            s,
            "{}: {}",
            t("Căn cứ pháp lý", "Legal basis"),
            p.legal_basis.join("; ")
        );
    }
    let counters: Vec<_> = bundle
        .counters_for_field(&p.field)
        .map(|c| c.name.get(lang).to_owned())
        .collect();
    if !counters.is_empty() {
        let _ = writeln!(s, "{}: {}", t("Nộp tại", "File at"), counters.join(", "));
    }
    if let Some(url) = &p.online_url {
        let _ = writeln!(s, "{}: {url}", t("Nộp trực tuyến", "Online"));
    }
    s
}
