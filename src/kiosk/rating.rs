//! The satisfaction rating flow: which counters can be rated, and the [`Rating`] a choice
//! makes (with its idempotency key), ready for `ApplianceServices::submit_rating`.
//!
//! Pure; the wiring submits on a worker thread.

use chrono::{DateTime, FixedOffset, SecondsFormat};

use crate::appliance::{Rating, RatingLevel};
use crate::catalog::{CatalogBundle, Lang};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterOption {
    pub number: u32,
    pub label: String,
}

/// Counters with the official serving there, e.g. "Quầy 1 — Hộ tịch · Nguyễn Thị Thử".
pub fn counter_options(bundle: &CatalogBundle, lang: Lang) -> Vec<CounterOption> {
    bundle
        .counters
        .iter()
        .map(|c| {
            let officials: Vec<&str> = bundle
                .officials
                .iter()
                .filter(|o| o.counter == Some(c.number))
                .map(|o| o.name.as_str())
                .collect();
            let mut label = c.name.get(lang).to_owned();
            if !officials.is_empty() {
                label.push_str(" · ");
                label.push_str(&officials.join(", "));
            }
            CounterOption {
                number: c.number,
                label,
            }
        })
        .collect()
}

/// The level for the view's button index (0 best … 2 worst).
pub fn level_from_index(i: i32) -> Option<RatingLevel> {
    match i {
        0 => Some(RatingLevel::VerySatisfied),
        1 => Some(RatingLevel::Satisfied),
        2 => Some(RatingLevel::Unsatisfied),
        _ => None,
    }
}

/// Build the rating. The key is unique per device, counter and instant, so a retry of the
/// same submission is recognised upstream.
pub fn make_rating(
    bundle: &CatalogBundle,
    device: &str,
    counter: u32,
    level: RatingLevel,
    at: DateTime<FixedOffset>,
) -> Rating {
    let official_id = bundle
        .officials
        .iter()
        .find(|o| o.counter == Some(counter))
        .map(|o| o.id.clone());
    Rating {
        key: format!(
            "{device}-{counter}-{}",
            at.timestamp_nanos_opt().unwrap_or_default()
        ),
        counter,
        official_id,
        level,
        at: at.to_rfc3339_opts(SecondsFormat::Secs, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{parse_bundle, DEFAULT_MAX_BUNDLE_BYTES};

    #[test]
    fn options_name_the_official_and_ratings_carry_a_key() {
        let json = include_str!("../../tests/fixtures/small-catalog.json");
        let b = parse_bundle(json.as_bytes(), DEFAULT_MAX_BUNDLE_BYTES).unwrap();
        let opts = counter_options(&b, Lang::Vi);
        assert_eq!(opts[0].label, "Quầy 1 — Tư pháp, hộ tịch · Nguyễn Thị Thử");
        assert_eq!(opts[1].label, "Quầy 2 — Chứng thực");
        let at = DateTime::parse_from_rfc3339("2026-11-20T09:30:00+07:00").unwrap();
        let r = make_rating(&b, "kiosk-1", 1, level_from_index(0).unwrap(), at);
        assert_eq!(r.official_id.as_deref(), Some("cc-01"));
        assert_eq!(r.at, "2026-11-20T09:30:00+07:00");
        assert!(r.key.starts_with("kiosk-1-1-"));
        assert_eq!(level_from_index(3), None);
    }
}
