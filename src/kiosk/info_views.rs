//! The officials list and the center statistics, as display rows.

use crate::catalog::{CatalogBundle, Lang};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficialLine {
    pub name: String,
    pub title: String,
    pub counter: String,
    pub fields: String,
}

pub fn officials(bundle: &CatalogBundle, lang: Lang) -> Vec<OfficialLine> {
    let mut list: Vec<_> = bundle.officials.iter().collect();
    list.sort_by_key(|o| o.counter.unwrap_or(u32::MAX));
    list.into_iter()
        .map(|o| OfficialLine {
            name: o.name.clone(),
            title: o.title.get(lang).to_owned(),
            counter: match (o.counter, lang) {
                (Some(n), Lang::Vi) => format!("Quầy {n}"),
                (Some(n), Lang::En) => format!("Desk {n}"),
                (None, _) => "—".into(),
            },
            fields: o
                .fields
                .iter()
                .map(|f| bundle.field(f).map(|x| x.name.get(lang)).unwrap_or(f))
                .collect::<Vec<_>>()
                .join(", "),
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq)]
pub struct StatLine {
    pub label: String,
    pub value: String,
    /// Share of resolved records, or negative for none.
    pub share: f32,
    /// 0 neutral, 1 good, 2 bad.
    pub kind: i32,
}

/// Period text and the figures; None when the catalog publishes no statistics.
pub fn statistics(bundle: &CatalogBundle, lang: Lang) -> Option<(String, Vec<StatLine>)> {
    let s = bundle.statistics.as_ref()?;
    let day = |d: &str| {
        chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map(|d| d.format("%d/%m/%Y").to_string())
            .unwrap_or_else(|_| d.to_owned())
    };
    let vi = lang == Lang::Vi;
    let period = format!(
        "{} {} – {}",
        if vi { "Kỳ báo cáo:" } else { "Period:" },
        day(&s.period_from),
        day(&s.period_to)
    );
    let resolved = (s.resolved_ahead + s.resolved_on_time + s.resolved_overdue).max(1) as f32;
    let share = |n: u64| n as f32 / resolved;
    let pct = |n: u64| format!("{n} ({:.0}%)", 100.0 * share(n));
    let line = |vi_l: &str, en_l: &str, value: String, share: f32, kind| StatLine {
        label: if vi { vi_l } else { en_l }.to_owned(),
        value,
        share,
        kind,
    };
    Some((
        period,
        vec![
            line("Tiếp nhận", "Received", s.received.to_string(), -1.0, 0),
            line(
                "Trước hạn",
                "Ahead of schedule",
                pct(s.resolved_ahead),
                share(s.resolved_ahead),
                1,
            ),
            line(
                "Đúng hạn",
                "On time",
                pct(s.resolved_on_time),
                share(s.resolved_on_time),
                1,
            ),
            line(
                "Quá hạn",
                "Overdue",
                pct(s.resolved_overdue),
                share(s.resolved_overdue),
                2,
            ),
            line(
                "Đang giải quyết",
                "In progress",
                s.in_progress.to_string(),
                -1.0,
                0,
            ),
        ],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{parse_bundle, DEFAULT_MAX_BUNDLE_BYTES};

    #[test]
    fn statistics_show_shares_of_resolved_records() {
        let json = include_str!("../../tests/fixtures/small-catalog.json");
        let b = parse_bundle(json.as_bytes(), DEFAULT_MAX_BUNDLE_BYTES).unwrap();
        let (period, lines) = statistics(&b, Lang::Vi).unwrap();
        assert_eq!(period, "Kỳ báo cáo: 01/10/2026 – 31/10/2026");
        assert_eq!(lines[0].value, "412");
        // 120 of 393 resolved.
        assert_eq!(lines[1].value, "120 (31%)");
        assert_eq!(lines[3].kind, 2);
        let o = officials(&b, Lang::En);
        assert_eq!(
            (o[0].counter.as_str(), o[0].fields.as_str()),
            ("Desk 1", "Civil status")
        );
    }
}
