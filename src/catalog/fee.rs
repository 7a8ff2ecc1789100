//! The fee calculator: from a channel's published fee items to a total and the working that
//! reached it.
//!
//! It computes only from structured formulas. Where a fee that is always charged on the date
//! is published as text alone, the quote says so and carries no total — it never guesses.
//! Items charged only on request or in a stated case are listed beside the total, not in it.

use chrono::NaiveDate;
use serde::Serialize;

use super::model::{Fee, FeeApplies, FeeFormula, Lang};

/// What the citizen wants done: pages per copy and number of copies; for a per-case fee,
/// `copies` is the number of cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeeRequest {
    pub pages: u32,
    pub copies: u32,
    pub date: NaiveDate,
}

/// One fee item's contribution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeeLine {
    /// Label or published text of the item.
    pub item: String,
    /// Amount in VND, or None when the item has no formula.
    pub amount: Option<u64>,
    /// How it was reached, e.g. "2 trang × 2.000 đ + 3 trang × 1.000 đ = 7.000 đ/bản × 2 bản".
    pub working: String,
    /// Whether it is part of `total` (only items charged always are).
    pub counted: bool,
    /// For items not counted: when they are charged ("if requested", or the condition).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeeQuote {
    /// Sum of the counted lines; None when any counted item is text-only.
    pub total: Option<u64>,
    pub lines: Vec<FeeLine>,
}

/// Is a fee in force on `date` (inclusive validity dates)?
pub fn in_force(fee: &Fee, date: NaiveDate) -> bool {
    let parse = |s: &Option<String>| {
        s.as_deref()
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
    };
    parse(&fee.valid_from).is_none_or(|from| date >= from)
        && parse(&fee.valid_until).is_none_or(|until| date <= until)
}

/// Compute the quote for the fee items in force on `req.date`.
pub fn quote(fees: &[Fee], req: FeeRequest, lang: Lang) -> FeeQuote {
    let copies = req.copies.max(1) as u64;
    let pages = req.pages.max(1);
    let mut lines = Vec::new();
    for fee in fees.iter().filter(|f| in_force(f, req.date)) {
        let item = fee.label.as_ref().unwrap_or(&fee.text).get(lang).to_owned();
        let (amount, working) = match &fee.formula {
            None => (
                None,
                match lang {
                    Lang::Vi => format!("Chỉ có văn bản công bố: \"{}\"", fee.text.get(lang)),
                    Lang::En => format!("Published as text only: \"{}\"", fee.text.get(lang)),
                },
            ),
            Some(FeeFormula::Free) => (Some(0), words(lang, "Miễn phí", "Free of charge").into()),
            // `copies` counts cases for a per-case fee ("3 chữ ký" = 3 cases).
            Some(FeeFormula::PerCase { amount }) if copies > 1 => {
                let total = amount.saturating_mul(copies);
                (
                    Some(total),
                    format!(
                        "{} {} × {copies} {} = {}",
                        format_vnd(*amount),
                        words(lang, "/ trường hợp", "per case"),
                        words(lang, "trường hợp", "cases"),
                        format_vnd(total)
                    ),
                )
            }
            Some(FeeFormula::PerCase { amount }) => (
                Some(*amount),
                format!(
                    "{} {}",
                    format_vnd(*amount),
                    words(lang, "/ trường hợp", "per case")
                ),
            ),
            Some(FeeFormula::PerCopy { amount }) => {
                let total = amount.saturating_mul(copies);
                (
                    Some(total),
                    format!(
                        "{} × {copies} {} = {}",
                        format_vnd(*amount),
                        words(lang, "bản", "copies"),
                        format_vnd(total)
                    ),
                )
            }
            Some(FeeFormula::PerPage {
                tiers,
                max_per_copy,
            }) => {
                let (per_copy, mut working) = per_page(tiers, *max_per_copy, pages, lang);
                let total = per_copy.saturating_mul(copies);
                working.push_str(&format!(
                    " {} × {copies} {} = {}",
                    words(lang, "/ bản", "per copy"),
                    words(lang, "bản", "copies"),
                    format_vnd(total)
                ));
                (Some(total), working)
            }
        };
        let when = match fee.applies {
            FeeApplies::Always => None,
            FeeApplies::OnRequest => Some(words(lang, "nếu có yêu cầu", "if requested").to_owned()),
            FeeApplies::Conditional => Some(
                fee.condition
                    .as_ref()
                    .map(|c| c.get(lang).to_owned())
                    .unwrap_or_default(),
            ),
        };
        lines.push(FeeLine {
            item,
            amount,
            working,
            counted: when.is_none(),
            when,
        });
    }
    let total = lines
        .iter()
        .filter(|l| l.counted)
        .try_fold(0u64, |acc, l| l.amount.map(|a| acc.saturating_add(a)));
    FeeQuote { total, lines }
}

fn per_page(
    tiers: &[crate::catalog::PageTier],
    cap: Option<u64>,
    pages: u32,
    lang: Lang,
) -> (u64, String) {
    let mut parts = Vec::new();
    let mut sum = 0u64;
    for (i, tier) in tiers.iter().enumerate() {
        if tier.from_page > pages {
            break;
        }
        let last = tiers
            .get(i + 1)
            .map(|next| next.from_page - 1)
            .unwrap_or(u32::MAX)
            .min(pages);
        let count = (last - tier.from_page + 1) as u64;
        sum = sum.saturating_add(count.saturating_mul(tier.amount));
        parts.push(format!(
            "{count} {} × {}",
            words(lang, "trang", "pages"),
            format_vnd(tier.amount)
        ));
    }
    let mut working = format!("{} = {}", parts.join(" + "), format_vnd(sum));
    let per_copy = match cap {
        Some(cap) if sum > cap => {
            working.push_str(&format!(
                ", {} {}",
                words(lang, "tối đa", "capped at"),
                format_vnd(cap)
            ));
            cap
        }
        _ => sum,
    };
    (per_copy, working)
}

fn words(lang: Lang, vi: &'static str, en: &'static str) -> &'static str {
    match lang {
        Lang::Vi => vi,
        Lang::En => en,
    }
}

/// VND as published: dots between thousands, then " đ" — `2000` → `2.000 đ`.
pub fn format_vnd(amount: u64) -> String {
    let mut out = format_thousands(amount);
    out.push_str(" đ");
    out
}

/// `1234567` → `1.234.567`, the Vietnamese grouping.
pub fn format_thousands(amount: u64) -> String {
    let digits = amount.to_string();
    let mut out = String::with_capacity(digits.len() + 6);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Localized, PageTier};

    fn copy_fee() -> Fee {
        Fee {
            label: None,
            text: Localized::vi("2.000 đ/trang; từ trang 3: 1.000 đ/trang; tối đa 200.000 đ/bản"),
            applies: FeeApplies::Always,
            condition: None,
            formula: Some(FeeFormula::PerPage {
                tiers: vec![
                    PageTier {
                        from_page: 1,
                        amount: 2000,
                    },
                    PageTier {
                        from_page: 3,
                        amount: 1000,
                    },
                ],
                max_per_copy: Some(200_000),
            }),
            valid_from: None,
            valid_until: None,
        }
    }

    fn req(pages: u32, copies: u32) -> FeeRequest {
        FeeRequest {
            pages,
            copies,
            date: NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
        }
    }

    #[test]
    fn formats_money_like_the_published_tables() {
        assert_eq!(format_vnd(0), "0 đ");
        assert_eq!(format_vnd(2000), "2.000 đ");
        assert_eq!(format_vnd(200_000), "200.000 đ");
        assert_eq!(format_vnd(1_234_567), "1.234.567 đ");
    }

    #[test]
    fn copy_authentication_tiers_and_cap() {
        let fees = [copy_fee()];
        assert_eq!(quote(&fees, req(1, 1), Lang::Vi).total, Some(2000));
        assert_eq!(quote(&fees, req(2, 1), Lang::Vi).total, Some(4000));
        // 2 × 2.000 + 3 × 1.000 = 7.000 per copy, two copies.
        let q = quote(&fees, req(5, 2), Lang::Vi);
        assert_eq!(q.total, Some(14_000));
        assert_eq!(
            q.lines[0].working,
            "2 trang × 2.000 đ + 3 trang × 1.000 đ = 7.000 đ / bản × 2 bản = 14.000 đ"
        );
        // 2 × 2.000 + 998 × 1.000 = 1.002.000, capped at 200.000 per copy.
        assert_eq!(quote(&fees, req(1000, 3), Lang::Vi).total, Some(600_000));
    }

    #[test]
    fn text_only_fee_has_no_total() {
        let mut fee = copy_fee();
        fee.formula = None;
        fee.text = Localized::vi("Theo Nghị quyết của HĐND tỉnh");
        let q = quote(&[fee], req(1, 1), Lang::En);
        assert_eq!(q.total, None);
        assert_eq!(
            q.lines[0].working,
            "Published as text only: \"Theo Nghị quyết của HĐND tỉnh\""
        );
    }

    #[test]
    fn validity_dates_select_the_fee_in_force() {
        let mut old = copy_fee();
        old.formula = Some(FeeFormula::PerCase { amount: 5000 });
        old.valid_until = Some("2025-12-31".into());
        let mut new = copy_fee();
        new.formula = Some(FeeFormula::PerCase { amount: 10_000 });
        new.valid_from = Some("2026-01-01".into());
        let fees = [old, new];
        assert_eq!(quote(&fees, req(1, 1), Lang::Vi).total, Some(10_000));
        let mut r = req(1, 1);
        r.date = NaiveDate::from_ymd_opt(2025, 6, 1).unwrap();
        assert_eq!(quote(&fees, r, Lang::Vi).total, Some(5000));
    }

    #[test]
    fn optional_and_conditional_items_are_listed_not_summed() {
        let mut free = copy_fee();
        free.formula = Some(FeeFormula::Free);
        let mut extract = copy_fee();
        extract.formula = Some(FeeFormula::PerCopy { amount: 8000 });
        extract.applies = FeeApplies::OnRequest;
        let mut late = copy_fee();
        late.formula = None;
        late.text = Localized::vi("Theo Nghị quyết của HĐND tỉnh");
        late.applies = FeeApplies::Conditional;
        late.condition = Some(Localized::vi("Đăng ký quá hạn"));
        let q = quote(&[free, extract, late], req(1, 2), Lang::Vi);
        assert_eq!(q.total, Some(0));
        assert_eq!(q.lines.len(), 3);
        assert_eq!(
            (q.lines[1].amount, q.lines[1].counted),
            (Some(16_000), false)
        );
        assert_eq!(q.lines[1].when.as_deref(), Some("nếu có yêu cầu"));
        assert_eq!((q.lines[2].amount, q.lines[2].counted), (None, false));
        assert_eq!(q.lines[2].when.as_deref(), Some("Đăng ký quá hạn"));
    }

    #[test]
    fn free_and_per_copy() {
        let mut free = copy_fee();
        free.formula = Some(FeeFormula::Free);
        let mut per_copy = copy_fee();
        per_copy.formula = Some(FeeFormula::PerCopy { amount: 8000 });
        let q = quote(&[free, per_copy], req(1, 3), Lang::Vi);
        assert_eq!(q.total, Some(24_000));
        assert_eq!(q.lines[0].amount, Some(0));
    }

    /// Regression: `motcua fee 2.000884 --copies 3` ignored `--copies` for a per-case fee.
    #[test]
    fn per_case_fees_count_cases() {
        let mut fee = copy_fee();
        fee.formula = Some(FeeFormula::PerCase { amount: 10_000 });
        let one = quote(std::slice::from_ref(&fee), req(1, 1), Lang::Vi);
        assert_eq!(one.total, Some(10_000));
        assert_eq!(one.lines[0].working, "10.000 đ / trường hợp");
        let three = quote(&[fee], req(1, 3), Lang::Vi);
        assert_eq!(three.total, Some(30_000));
        assert_eq!(
            three.lines[0].working,
            "10.000 đ / trường hợp × 3 trường hợp = 30.000 đ"
        );
    }
}
