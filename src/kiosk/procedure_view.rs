//! The procedure detail screen's content and its fee calculator, as plain strings.
//!
//! Built from one [`Procedure`] of the catalog in one language; the calculator state (channel,
//! pages, copies) lives in [`FeeCalculator`]. Totals come only from `catalog::fee::quote`:
//! where a fee is published as text only, the view says the total cannot be computed.

use chrono::NaiveDate;

use super::queue_board::counter_display_name;
use crate::catalog::fee::{format_vnd, quote, FeeRequest};
use crate::catalog::{CatalogBundle, FeeFormula, Lang, Procedure};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelLine {
    pub label: String,
    pub time: String,
    pub fees: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentLine {
    pub name: String,
    pub counts: String,
}

/// Everything the detail screen shows except the calculator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcedureView {
    pub code: String,
    pub name: String,
    pub subtitle: String,
    pub channels: Vec<ChannelLine>,
    pub documents: Vec<DocumentLine>,
    pub steps: Vec<String>,
    pub result: String,
    pub legal_basis: Vec<String>,
    pub counters: String,
    /// The key facts' time: the first channel's processing time (named when channels differ).
    pub time_summary: String,
    /// The name again, in full, when the four-line headline may have elided it.
    pub full_name: Option<String>,
    pub online_url: Option<String>,
}

/// Names longer than this may not fit the headline's four lines on a 7" screen; the page
/// repeats them in full further down.
pub const FULL_NAME_FROM: usize = 160;

fn t(lang: Lang, vi: &str, en: &str) -> String {
    match lang {
        Lang::Vi => vi.to_owned(),
        Lang::En => en.to_owned(),
    }
}

impl ProcedureView {
    pub fn build(bundle: &CatalogBundle, p: &Procedure, lang: Lang) -> ProcedureView {
        let field = bundle
            .field(&p.field)
            .map(|f| f.name.get(lang).to_owned())
            .unwrap_or_else(|| p.field.clone());
        let mut subtitle = vec![field];
        subtitle.extend(p.level.as_ref().map(|l| l.get(lang).to_owned()));
        subtitle.extend(p.agency.as_ref().map(|a| a.get(lang).to_owned()));
        let channels = p
            .channels
            .iter()
            .map(|c| ChannelLine {
                label: c.channel.label(lang).to_owned(),
                time: c.processing_time.text.get(lang).to_owned(),
                fees: if c.fees.is_empty() {
                    t(lang, "Không thu", "None")
                } else {
                    c.fees
                        .iter()
                        .map(|f| f.text.get(lang))
                        .collect::<Vec<_>>()
                        .join("; ")
                },
            })
            .collect();
        let documents = p
            .documents
            .iter()
            .map(|d| {
                let mut counts = Vec::new();
                if d.originals > 0 {
                    counts.push(format!(
                        "{}: {}",
                        t(lang, "Bản chính", "Originals"),
                        d.originals
                    ));
                }
                if d.copies > 0 {
                    counts.push(format!("{}: {}", t(lang, "Bản sao", "Copies"), d.copies));
                }
                if let Some(tpl) = &d.template {
                    counts.push(format!("{}: {tpl}", t(lang, "Mẫu", "Form")));
                }
                DocumentLine {
                    name: d.name.get(lang).to_owned(),
                    counts: counts.join(" · "),
                }
            })
            .collect();
        let counters: Vec<String> = bundle
            .counters_for_field(&p.field)
            .map(|c| {
                let name = counter_display_name(c.name.get(lang), c.number);
                let word = t(lang, "Quầy", "Counter");
                if name.is_empty() {
                    format!("{word} {}", c.number)
                } else {
                    format!("{word} {}: {name}", c.number)
                }
            })
            .collect();
        let time_summary = match p.channels.as_slice() {
            [] => t(lang, "(chưa công bố)", "(not published)"),
            [first, rest @ ..] => {
                let time = first.processing_time.text.get(lang);
                if rest
                    .iter()
                    .all(|c| c.processing_time.text.get(lang) == time)
                {
                    time.to_owned()
                } else {
                    format!("{}: {time}", first.channel.label(lang))
                }
            }
        };
        let name = p.name.get(lang);
        ProcedureView {
            code: p.code.clone(),
            name: name.to_owned(),
            subtitle: subtitle.join(" · "),
            channels,
            documents,
            steps: p.steps.iter().map(|s| s.get(lang).to_owned()).collect(),
            result: p
                .result
                .as_ref()
                .map(|r| r.get(lang).to_owned())
                .unwrap_or_else(|| t(lang, "(chưa công bố)", "(not published)")),
            legal_basis: p.legal_basis.clone(),
            counters: if counters.is_empty() {
                t(lang, "Bộ phận Một cửa", "The one-stop desk")
            } else {
                counters.join("; ")
            },
            time_summary,
            full_name: (name.chars().count() > FULL_NAME_FROM).then(|| name.to_owned()),
            online_url: p.online_url.clone(),
        }
    }
}

/// What the calculator shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalcView {
    pub channels: Vec<String>,
    pub channel: usize,
    pub pages_used: bool,
    pub copies_used: bool,
    pub pages: u32,
    pub copies: u32,
    pub total: String,
    /// `total` is an amount (or "no fee"), not the "can't be computed" note.
    pub total_known: bool,
    pub working: String,
}

/// The fee line of the key facts: the calculator's total for the chosen channel when there
/// is one, else the fees as published (text only).
pub fn key_fee(p: &Procedure, calc: &CalcView, lang: Lang) -> String {
    if calc.total_known {
        return calc.total.clone();
    }
    p.channels
        .get(calc.channel)
        .map(|c| {
            c.fees
                .iter()
                .map(|f| f.text.get(lang))
                .collect::<Vec<_>>()
                .join("; ")
        })
        .filter(|text| !text.is_empty())
        .unwrap_or_else(|| calc.total.clone())
}

/// Calculator state for the open procedure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeCalculator {
    pub channel: usize,
    pub pages: u32,
    pub copies: u32,
}

/// Largest pages or copies the steppers reach.
pub const MAX_STEP: u32 = 999;

impl Default for FeeCalculator {
    fn default() -> Self {
        FeeCalculator {
            channel: 0,
            pages: 1,
            copies: 1,
        }
    }
}

impl FeeCalculator {
    pub fn pages_delta(&mut self, d: i32) {
        self.pages = (self.pages as i64 + d as i64).clamp(1, MAX_STEP as i64) as u32;
    }

    pub fn copies_delta(&mut self, d: i32) {
        self.copies = (self.copies as i64 + d as i64).clamp(1, MAX_STEP as i64) as u32;
    }

    pub fn view(&self, p: &Procedure, lang: Lang, today: NaiveDate) -> CalcView {
        let channel = self.channel.min(p.channels.len().saturating_sub(1));
        let mut v = CalcView {
            channels: p
                .channels
                .iter()
                .map(|c| c.channel.label(lang).to_owned())
                .collect(),
            channel,
            pages_used: false,
            copies_used: false,
            pages: self.pages,
            copies: self.copies,
            total: String::new(),
            total_known: false,
            working: String::new(),
        };
        let Some(exec) = p.channels.get(channel) else {
            return v;
        };
        for f in &exec.fees {
            match f.formula {
                Some(FeeFormula::PerPage { .. }) => {
                    v.pages_used = true;
                    v.copies_used = true;
                }
                Some(FeeFormula::PerCopy { .. }) => v.copies_used = true,
                _ => {}
            }
        }
        if exec.fees.is_empty() {
            v.total_known = true;
            v.total = t(lang, "Không thu phí, lệ phí", "No fee");
            return v;
        }
        let q = quote(
            &exec.fees,
            FeeRequest {
                pages: self.pages,
                copies: self.copies,
                date: today,
            },
            lang,
        );
        v.total_known = q.total.is_some();
        match q.total {
            Some(0) => v.total = t(lang, "Miễn phí", "Free of charge"),
            Some(total) => v.total = format!("{}: {}", t(lang, "Tổng", "Total"), format_vnd(total)),
            None => {
                v.total = t(
                    lang,
                    "Không tính được tổng: phí chỉ được công bố bằng lời",
                    "The total can't be computed: the fee is published as text only",
                )
            }
        }
        // Items charged only on request or in a stated case are shown, marked, outside the total.
        v.working = q
            .lines
            .iter()
            .map(|l| match &l.when {
                None => format!("{}: {}", l.item, l.working),
                Some(when) => format!(
                    "{} {} ({}): {}",
                    t(lang, "Không tính vào tổng —", "Not in the total —"),
                    l.item,
                    when,
                    l.working
                ),
            })
            .collect::<Vec<_>>()
            .join("\n");
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{parse_bundle, DEFAULT_MAX_BUNDLE_BYTES};

    fn small() -> CatalogBundle {
        let json = include_str!("../../tests/fixtures/small-catalog.json");
        parse_bundle(json.as_bytes(), DEFAULT_MAX_BUNDLE_BYTES).unwrap()
    }

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()
    }

    #[test]
    fn birth_registration_shows_documents_counters_and_url() {
        let b = small();
        let v = ProcedureView::build(&b, b.procedure("1.001193").unwrap(), Lang::Vi);
        assert_eq!(v.name, "Đăng ký khai sinh");
        assert_eq!(v.subtitle, "Hộ tịch · Cấp xã · Ủy ban nhân dân cấp xã");
        assert_eq!(v.channels[0].label, "Trực tiếp");
        assert_eq!(v.channels[0].time, "Ngay trong ngày làm việc");
        assert_eq!(
            v.documents[0].counts,
            "Bản chính: 1 · Mẫu: Mẫu TT 04/2024/TT-BTP"
        );
        assert_eq!(v.counters, "Quầy 1: Tư pháp, hộ tịch");
        assert_eq!(v.time_summary, "Ngay trong ngày làm việc");
        assert_eq!(v.full_name, None);
        assert!(v.online_url.unwrap().starts_with("https://"));
        let en = ProcedureView::build(&b, b.procedure("1.001193").unwrap(), Lang::En);
        assert_eq!(
            en.documents[0].counts,
            "Originals: 1 · Form: Mẫu TT 04/2024/TT-BTP"
        );
    }

    #[test]
    fn copy_authentication_fee_follows_pages_and_copies() {
        let b = small();
        let p = b.procedure("2.000815").unwrap();
        let mut calc = FeeCalculator::default();
        calc.pages_delta(4);
        calc.copies_delta(1);
        let v = calc.view(p, Lang::Vi, day());
        assert!(v.pages_used && v.copies_used);
        // 5 pages: 2 × 2.000 + 3 × 1.000 = 7.000 đ per copy, 2 copies.
        assert_eq!(v.total, "Tổng: 14.000 đ");
        calc.pages_delta(-100);
        assert_eq!(calc.pages, 1, "never below one page");
    }

    #[test]
    fn text_only_fee_says_the_total_cannot_be_computed() {
        let b = small();
        let v = FeeCalculator::default().view(b.procedure("1.003554").unwrap(), Lang::En, day());
        assert!(
            v.total.starts_with("The total can't be computed"),
            "{}",
            v.total
        );
        assert!(!v.pages_used);
        let p = b.procedure("1.003554").unwrap();
        assert!(!v.total_known);
        assert_eq!(
            key_fee(p, &v, Lang::En),
            p.channels[0].fees[0].text.get(Lang::En),
            "the key facts show the published text instead"
        );
        let free = FeeCalculator::default().view(b.procedure("1.001193").unwrap(), Lang::Vi, day());
        assert_eq!(free.total, "Miễn phí");
        assert_eq!(
            key_fee(b.procedure("1.001193").unwrap(), &free, Lang::Vi),
            "Miễn phí"
        );
        assert_eq!(free.channels, vec!["Trực tiếp", "Trực tuyến"]);
    }

    #[test]
    fn optional_fees_are_marked_outside_the_total() {
        let b = crate::catalog::demo_bundle();
        let p = b.procedure("1.001193").unwrap();
        let mut calc = FeeCalculator::default();
        let v = calc.view(p, Lang::Vi, day());
        assert_eq!(v.total, "Miễn phí");
        let lines: Vec<_> = v.working.lines().collect();
        assert!(
            lines[0].starts_with("Lệ phí đăng ký khai sinh đúng hạn: "),
            "{lines:?}"
        );
        assert_eq!(
            lines[1],
            "Không tính vào tổng — Phí cấp bản sao Trích lục (nếu có yêu cầu): 8.000 đ × 1 bản = 8.000 đ"
        );
        calc.copies = 2;
        assert!(calc.view(p, Lang::En, day()).working.contains(
            "Not in the total — Extra certified extract copies (if requested): 8.000 đ × 2 copies = 16.000 đ"
        ));
    }
}
