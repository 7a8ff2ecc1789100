//! Conversion of the national portal's procedure records into a catalog bundle.
//!
//! The input is the portal's record format (one JSON object per procedure, as the national
//! procedure database publishes it: `ma_thu_tuc`, `ten_thu_tuc`, `linh_vuc`, `cap_thuc_hien`,
//! `cach_thuc_thuc_hien`, `thanh_phan_ho_so`, …). Every field of the record is mapped into the
//! bundle (see `docs/catalog-format.md`, "From the national portal"); `raw_text`, the page's
//! whole text run together, repeats the other fields and is not carried. The tables arrive as
//! concatenated cells and are split again by `cells.rs`; times and fees get structure only
//! where `amounts.rs` finds one reading. A center's own setup (counters, officials) and
//! hand-checked facts come from `layer.rs`. This module never touches storage.

mod amounts;
mod cells;
mod layer;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use layer::{CenterProfile, Overrides};

use super::model::*;
use super::text::clean;
use super::validate::{is_procedure_code, MAX_LIST_ITEMS};
use amounts::{read_fee, read_time, TimeReading};
use cells::text_or_none;

/// One procedure as the national portal publishes it. Unknown keys are tolerated (the portal
/// adds some from time to time) and counted in the report.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PortalRecord {
    pub ma_thu_tuc: String,
    pub ten_thu_tuc: String,
    pub detail_url: String,
    pub formality_id: String,
    pub so_quyet_dinh: String,
    pub cap_thuc_hien: String,
    pub loai_thu_tuc: String,
    pub linh_vuc: String,
    pub doi_tuong_thuc_hien: String,
    pub co_quan_co_tham_quyen: String,
    pub dia_chi_tiep_nhan: String,
    pub co_quan_duoc_uy_quyen: String,
    pub co_quan_phoi_hop: String,
    pub co_quan_thuc_hien: String,
    pub thu_tuc_lien_quan: String,
    pub trinh_tu_thuc_hien: String,
    pub cach_thuc_thuc_hien: String,
    pub thanh_phan_ho_so: String,
    pub can_cu_phap_ly: String,
    pub yeu_cau_dieu_kien: String,
    pub ket_qua_xu_ly: String,
    /// The whole page as text: a repeat of the fields above, not carried into the bundle.
    pub raw_text: String,
    #[serde(flatten)]
    pub unknown: BTreeMap<String, serde_json::Value>,
}

/// Which administrative level to keep, by the record's `cap_thuc_hien`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Level {
    /// Cấp xã: what a commune or ward center handles.
    Commune,
    /// Cấp tỉnh.
    Province,
    /// Cấp bộ.
    Ministry,
    /// Every record.
    All,
}

impl Level {
    fn admits(self, cap: &str) -> bool {
        match self {
            Level::Commune => cap.contains("Cấp xã"),
            Level::Province => cap.contains("Cấp tỉnh"),
            Level::Ministry => cap.contains("Cấp bộ"),
            Level::All => true,
        }
    }
}

/// A record that could not be read or converted, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub source: String,
    pub reason: String,
}

/// Counts per channel: how many procedures have one, and how many got structure.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ChannelCounts {
    pub procedures: usize,
    pub structured_time: usize,
    /// Every fee item charged always has a formula, so the kiosk can compute a total.
    pub structured_fees: usize,
    /// The portal published no fee at all for the channel.
    pub no_fee_published: usize,
    pub ambiguous_rows: usize,
    /// Rows whose time is a bare number with no unit ("1"), kept as text.
    pub time_without_unit: usize,
}

/// What a conversion did, for the summary printed to the operator.
#[derive(Debug, Clone, Default)]
pub struct ConvertReport {
    pub records_read: usize,
    pub filtered_out: usize,
    pub converted: usize,
    pub skipped: Vec<Skipped>,
    pub duplicates: Vec<String>,
    pub channels: BTreeMap<&'static str, ChannelCounts>,
    pub unknown_keys: BTreeMap<String, usize>,
    /// Overrides applied, and where a hand-checked value differs from a structured portal one.
    pub overridden: usize,
    pub override_notes: Vec<String>,
}

/// A record and the file it came from.
pub type SourcedRecord = (String, PortalRecord);

/// Read every `*.json` under `sources` (files, or folders searched recursively), sorted by
/// path so that a conversion is reproducible.
pub fn read_records(
    sources: &[PathBuf],
) -> Result<(Vec<SourcedRecord>, Vec<Skipped>), std::io::Error> {
    let mut files = Vec::new();
    for s in sources {
        collect_json(s, &mut files)?;
    }
    files.sort();
    let mut records = Vec::new();
    let mut skipped = Vec::new();
    for f in files {
        let name = f.display().to_string();
        let bytes = std::fs::read(&f)?;
        match serde_json::from_slice::<PortalRecord>(&bytes) {
            Ok(r) => records.push((name, r)),
            Err(e) => skipped.push(Skipped {
                source: name,
                reason: format!("not a portal record: {e}"),
            }),
        }
    }
    Ok((records, skipped))
}

fn collect_json(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if path.is_dir() {
        for entry in std::fs::read_dir(path)? {
            collect_json(&entry?.path(), out)?;
        }
    } else if path.is_file() || !path.exists() {
        // A missing path is reported by the read that follows.
        if path.extension().is_some_and(|e| e == "json") || !path.exists() {
            out.push(path.to_owned());
        }
    }
    Ok(())
}

/// Everything a conversion needs besides the records.
pub struct ConvertOptions<'a> {
    pub level: Level,
    pub version: u64,
    pub issued_at: String,
    pub profile: Option<&'a CenterProfile>,
    pub overrides: Option<&'a Overrides>,
}

/// Convert records into a bundle. The bundle still goes through `parse_bundle` (validation
/// and cleaning) before anyone stores it.
pub fn convert(
    records: &[SourcedRecord],
    opts: &ConvertOptions<'_>,
) -> (CatalogBundle, ConvertReport) {
    let mut report = ConvertReport::default();
    let mut fields: Vec<Field> = Vec::new();
    let mut field_by_name: HashMap<String, String> = HashMap::new();
    let mut seen = HashMap::new();
    let mut procedures = Vec::new();
    for (source, r) in records {
        report.records_read += 1;
        for k in r.unknown.keys() {
            *report.unknown_keys.entry(k.clone()).or_default() += 1;
        }
        if !opts.level.admits(&r.cap_thuc_hien) {
            report.filtered_out += 1;
            continue;
        }
        let code = r.ma_thu_tuc.trim().to_owned();
        if !is_procedure_code(&code) {
            report.skipped.push(Skipped {
                source: source.clone(),
                reason: format!(
                    "ma_thu_tuc {} is not a procedure code",
                    super::validate::quote_code(&code)
                ),
            });
            continue;
        }
        if seen.insert(code.clone(), source.clone()).is_some() {
            report.duplicates.push(code);
            continue;
        }
        let field_name = text_or_none(&r.linh_vuc).unwrap_or_else(|| "Khác".to_owned());
        let field = match field_by_name.get(&field_name) {
            Some(c) => c.clone(),
            None => {
                let c = unique_slug(&field_name, &fields);
                field_by_name.insert(field_name.clone(), c.clone());
                fields.push(Field {
                    code: c.clone(),
                    name: Localized::vi(field_name),
                });
                c
            }
        };
        match procedure(r, code, field, &mut report) {
            Ok(p) => procedures.push(p),
            Err(reason) => report.skipped.push(Skipped {
                source: source.clone(),
                reason,
            }),
        }
    }
    report.converted = procedures.len();
    let mut bundle = CatalogBundle {
        schema: SCHEMA_VERSION,
        version: opts.version,
        issued_at: opts.issued_at.clone(),
        expires_at: None,
        center: Center {
            code: "portal".into(),
            name: Localized {
                vi: "Danh mục thủ tục hành chính (Cổng Dịch vụ công quốc gia)".into(),
                en: Some("Administrative procedures (National Public Service Portal)".into()),
            },
            address: None,
            hotline: None,
        },
        fields,
        procedures,
        counters: Vec::new(),
        officials: Vec::new(),
        statistics: None,
        lexicon: None,
        referrals: Vec::new(),
    };
    if let Some(o) = opts.overrides {
        o.apply(&mut bundle, &mut report);
    }
    if let Some(p) = opts.profile {
        p.apply(&mut bundle);
    }
    order(&mut bundle);
    (bundle, report)
}

/// Fields in counter order (then by size), procedures by field then code.
fn order(b: &mut CatalogBundle) {
    let mut size: HashMap<&str, usize> = HashMap::new();
    for p in &b.procedures {
        *size.entry(p.field.as_str()).or_default() += 1;
    }
    let counter_of = |f: &str| {
        b.counters
            .iter()
            .position(|c| c.fields.iter().any(|x| x == f))
            .unwrap_or(usize::MAX)
    };
    let mut keyed: Vec<(usize, std::cmp::Reverse<usize>, Field)> = b
        .fields
        .drain(..)
        .map(|f| {
            (
                counter_of(&f.code),
                std::cmp::Reverse(size.get(f.code.as_str()).copied().unwrap_or(0)),
                f,
            )
        })
        .collect();
    keyed.sort_by(|a, b| (a.0, a.1, &a.2.code).cmp(&(b.0, b.1, &b.2.code)));
    b.fields = keyed.into_iter().map(|k| k.2).collect();
    let rank: HashMap<String, usize> = b
        .fields
        .iter()
        .enumerate()
        .map(|(i, f)| (f.code.clone(), i))
        .collect();
    b.procedures
        .sort_by(|x, y| (rank.get(&x.field), &x.code).cmp(&(rank.get(&y.field), &y.code)));
}

fn procedure(
    r: &PortalRecord,
    code: String,
    field: String,
    report: &mut ConvertReport,
) -> Result<Procedure, String> {
    let name = clean(&r.ten_thu_tuc);
    if name.is_empty() {
        return Err("ten_thu_tuc (the name) is empty".into());
    }
    let loc = |s: &str| text_or_none(s).map(Localized::vi);
    let conditions = text_or_none(&r.yeu_cau_dieu_kien).filter(|t| {
        !matches!(
            t.trim_end_matches('.').to_lowercase().as_str(),
            "không" | "không có" | "không quy định"
        )
    });
    let related = text_or_none(r.thu_tuc_lien_quan.trim_start_matches("#Tên thủ tục"));
    let channels = channels(&r.cach_thuc_thuc_hien, report);
    let source_url = Some(r.detail_url.trim().to_owned()).filter(|u| u.starts_with("https://"));
    let online_url = channels
        .iter()
        .any(|c| c.channel == Channel::Online)
        .then(|| source_url.clone())
        .flatten();
    let mut documents: Vec<RequiredDocument> = cells::document_rows(&r.thanh_phan_ho_so)
        .into_iter()
        .map(|d| RequiredDocument {
            name: Localized::vi(d.name),
            originals: d.originals.min(100),
            copies: d.copies.min(100),
            template: d.template,
            group: d.group.map(Localized::vi),
        })
        .collect();
    if documents.len() > MAX_LIST_ITEMS {
        let rest: Vec<String> = documents
            .split_off(MAX_LIST_ITEMS - 1)
            .into_iter()
            .map(|d| d.name.vi)
            .collect();
        documents.push(RequiredDocument {
            name: Localized::vi(rest.join("\n")),
            originals: 0,
            copies: 0,
            template: None,
            group: None,
        });
    }
    let mut legal_basis = cells::legal_basis(&r.can_cu_phap_ly);
    if legal_basis.len() > MAX_LIST_ITEMS {
        let rest = legal_basis.split_off(MAX_LIST_ITEMS - 1).join("; ");
        legal_basis.push(rest);
    }
    let mut subjects: Vec<Localized> = cells::subjects(&r.doi_tuong_thuc_hien)
        .into_iter()
        .map(Localized::vi)
        .collect();
    subjects.truncate(MAX_LIST_ITEMS);
    Ok(Procedure {
        code,
        name: Localized::vi(name),
        field,
        level: loc(&r.cap_thuc_hien),
        agency: loc(&r.co_quan_thuc_hien),
        subjects,
        channels,
        documents,
        steps: cells::steps(&r.trinh_tu_thuc_hien, MAX_LIST_ITEMS)
            .into_iter()
            .map(Localized::vi)
            .collect(),
        result: cells::result(&r.ket_qua_xu_ly).map(Localized::vi),
        legal_basis,
        conditions: conditions.map(Localized::vi),
        keywords: Vec::new(),
        online_url,
        source_url,
        source_id: text_or_none(&r.formality_id),
        decision: text_or_none(&r.so_quyet_dinh),
        procedure_type: loc(&r.loai_thu_tuc),
        competent_authority: loc(&r.co_quan_co_tham_quyen),
        authorized_agency: loc(&r.co_quan_duoc_uy_quyen),
        coordinating_agency: loc(&r.co_quan_phoi_hop),
        receiving_address: loc(&r.dia_chi_tiep_nhan),
        related: related.map(Localized::vi),
    })
}

/// The channel table: one execution per channel, in the order the portal lists them.
fn channels(text: &str, report: &mut ConvertReport) -> Vec<ChannelExecution> {
    let rows = cells::channel_rows(text);
    let mut order: Vec<Channel> = Vec::new();
    for r in &rows {
        if !order.contains(&r.channel) {
            order.push(r.channel);
        }
    }
    let mut out = Vec::new();
    for ch in order {
        let mine: Vec<&cells::ChannelRow> = rows.iter().filter(|r| r.channel == ch).collect();
        let counts = report.channels.entry(ch.as_str()).or_default();
        counts.procedures += 1;
        counts.ambiguous_rows += mine.iter().filter(|r| r.ambiguous).count();
        counts.time_without_unit += mine
            .iter()
            .filter(|r| !r.ambiguous && r.time.chars().all(|c| c.is_ascii_digit()))
            .count();
        let exec = channel(&mine);
        if exec.processing_time.working_days.is_some()
            || exec.processing_time.calendar_days.is_some()
        {
            counts.structured_time += 1;
        }
        if exec.fees.is_empty() {
            counts.no_fee_published += 1;
        } else if exec
            .fees
            .iter()
            .filter(|f| f.applies.is_always())
            .all(|f| f.formula.is_some())
        {
            counts.structured_fees += 1;
        }
        out.push(exec);
    }
    if out.is_empty() {
        // No table the converter recognises: keep the text as the note of an in-person row.
        out.push(ChannelExecution {
            channel: Channel::Direct,
            processing_time: ProcessingTime {
                text: Localized::vi("Không có thông tin"),
                working_days: None,
                calendar_days: None,
            },
            fees: Vec::new(),
            note: text_or_none(text.trim_start_matches("Hình thức nộpThời gianPhí, lệ phíMô tả"))
                .map(Localized::vi),
        });
    }
    out
}

fn channel(rows: &[&cells::ChannelRow]) -> ChannelExecution {
    let readings: Vec<TimeReading> = rows
        .iter()
        .map(|r| {
            if r.ambiguous {
                TimeReading::Text
            } else {
                read_time(&r.time, &r.description)
            }
        })
        .collect();
    let mut texts: Vec<String> = Vec::new();
    for r in rows {
        let t = if cells::is_placeholder(&r.time) {
            "Không có thông tin".to_owned()
        } else {
            r.time.clone()
        };
        if !texts.contains(&t) {
            texts.push(t);
        }
    }
    // Several rows for one channel are cases: structure only if they all agree.
    let (working_days, calendar_days) = match readings.first() {
        Some(first) if readings.iter().all(|x| x == first) => match first {
            TimeReading::WorkingDays(n) => (Some(*n), None),
            TimeReading::CalendarDays(n) => (None, Some(*n)),
            TimeReading::Text => (None, None),
        },
        _ => (None, None),
    };
    // Several rows for one channel are cases. When their fees differ, no single total is
    // right: each case's fee is kept as text under its own label, with no formula.
    let same_fees = rows.iter().all(|r| r.fees == rows[0].fees);
    let mut fees: Vec<Fee> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        if !r.description.is_empty() && !notes.contains(&r.description) {
            notes.push(r.description.clone());
        }
        if same_fees && i > 0 {
            continue;
        }
        for (amount, note) in &r.fees {
            let Some(reading) = read_fee(amount, note, &r.description) else {
                continue;
            };
            let (label, formula) = if same_fees {
                (None, reading.formula)
            } else {
                (Some(Localized::vi(format!("Trường hợp {}", i + 1))), None)
            };
            push_fee(&mut fees, label, reading.text, formula, FeeApplies::Always);
            for s in reading.on_request {
                push_fee(&mut fees, None, s, None, FeeApplies::OnRequest);
            }
        }
    }
    ChannelExecution {
        channel: rows[0].channel,
        processing_time: ProcessingTime {
            text: Localized::vi(texts.join("; ")),
            working_days,
            calendar_days,
        },
        fees,
        note: (!notes.is_empty()).then(|| Localized::vi(notes.join("\n"))),
    }
}

fn push_fee(
    fees: &mut Vec<Fee>,
    label: Option<Localized>,
    text: String,
    formula: Option<FeeFormula>,
    applies: FeeApplies,
) {
    let fee = Fee {
        label,
        text: Localized::vi(text),
        formula,
        applies,
        condition: None,
        valid_from: None,
        valid_until: None,
    };
    if !fees.contains(&fee) {
        fees.push(fee);
    }
}

/// A field code from its name: "Đăng ký, quản lý cư trú" → `dang-ky-quan-ly-cu-tru`, at most
/// 40 characters, cut at a word, made unique with a number.
fn unique_slug(name: &str, taken: &[Field]) -> String {
    let base = super::text::slug(name, 40);
    let base = if base.is_empty() {
        "linh-vuc".into()
    } else {
        base
    };
    let mut code = base.clone();
    let mut n = 2;
    while taken.iter().any(|f| f.code == code) {
        let suffix = format!("-{n}");
        let mut b = base.clone();
        b.truncate(40 - suffix.len());
        code = format!("{}{suffix}", b.trim_end_matches('-'));
        n += 1;
    }
    code
}

#[cfg(test)]
mod tests;
