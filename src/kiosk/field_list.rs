//! Making a large catalog scannable: the home screen's fields grouped under the counter that
//! serves them, and a field's procedures in name order with a letter index.
//!
//! Plain Rust on [`FieldItem`]s and [`ResultItem`]s from the search controller; no Slint types.

use crate::catalog::{CatalogBundle, Lang};
use crate::search::fold;

use super::queue_board::counter_display_name;
use super::search_controller::{FieldItem, ResultItem};

/// With more fields than this, the home screen groups them under their counters; fewer fit
/// on one screen as a plain grid, where headings would only take room.
pub const GROUP_ABOVE: usize = 12;

/// A field list gets a letter index from this many procedures on.
pub const INDEX_FROM: usize = 15;

/// Fields under one heading on the home screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldGroup {
    /// "Quầy 1 · Tư pháp – hộ tịch"; empty for the single group of a small catalog.
    pub title: String,
    pub fields: Vec<FieldItem>,
}

/// Group `fields` (in catalog order) under the first counter serving each, in counter order,
/// with the fields a counter does not serve last under "other fields". Within a group the
/// field with the most procedures comes first (ties keep catalog order). A catalog with at
/// most [`GROUP_ABOVE`] fields, or without counters, gives one untitled group in catalog order.
pub fn group_fields(bundle: &CatalogBundle, fields: Vec<FieldItem>, lang: Lang) -> Vec<FieldGroup> {
    if fields.len() <= GROUP_ABOVE || bundle.counters.is_empty() {
        return vec![FieldGroup {
            title: String::new(),
            fields,
        }];
    }
    let mut counters: Vec<_> = bundle.counters.iter().collect();
    counters.sort_by_key(|c| c.number);
    let mut groups: Vec<FieldGroup> = Vec::new();
    let mut rest = fields;
    for c in counters {
        let (mine, others): (Vec<FieldItem>, Vec<FieldItem>) =
            rest.into_iter().partition(|f| c.fields.contains(&f.code));
        rest = others;
        if mine.is_empty() {
            continue;
        }
        let word = match lang {
            Lang::Vi => "Quầy",
            Lang::En => "Counter",
        };
        let name = counter_display_name(c.name.get(lang), c.number);
        groups.push(FieldGroup {
            title: if name.is_empty() {
                format!("{word} {}", c.number)
            } else {
                format!("{word} {} · {name}", c.number)
            },
            fields: mine,
        });
    }
    if !rest.is_empty() {
        groups.push(FieldGroup {
            title: match lang {
                Lang::Vi => "Lĩnh vực khác (hỏi quầy hướng dẫn)".into(),
                Lang::En => "Other fields (ask at the guidance desk)".into(),
            },
            fields: rest,
        });
    }
    for g in &mut groups {
        // Stable: equal counts keep catalog order.
        g.fields.sort_by_key(|f| std::cmp::Reverse(f.count));
    }
    groups
}

/// Leading words that nearly every name in some fields starts with; sorting and indexing skip
/// them so that "Thủ tục đăng ký khai sinh" files under Đ, next to "Đăng ký kết hôn".
const NOISE_PREFIXES: [&str; 2] = ["thu tuc ", "procedure for "];

/// What a name sorts by: folded (no diacritics, lowercase), without a leading "Thủ tục".
fn sort_key(name: &str) -> String {
    let folded = fold(name.trim());
    NOISE_PREFIXES
        .iter()
        .find_map(|p| folded.strip_prefix(p))
        .map(str::to_owned)
        .unwrap_or(folded)
}

/// The index letter of a name: its first letter after the noise prefix, without diacritics,
/// except that Đ stays Đ (a letter of its own for Vietnamese readers); digits and signs go
/// under "#".
fn initial(name: &str) -> String {
    let key = sort_key(name);
    // fold keeps the words, so the first word of the key is word `skipped` of the name.
    let skipped = fold(name.trim()).split_whitespace().count() - key.split_whitespace().count();
    let first_word = name.split_whitespace().nth(skipped).unwrap_or("");
    match first_word.chars().next() {
        Some('đ' | 'Đ') => "Đ".into(),
        Some(_) => match key.chars().next() {
            Some(c) if c.is_alphabetic() => c.to_uppercase().collect(),
            _ => "#".into(),
        },
        None => "#".into(),
    }
}

/// Vietnamese alphabet order of index letters: D before Đ, then the rest as folded letters.
fn letter_rank(letter: &str) -> (u32, String) {
    match letter {
        "#" => (0, String::new()),
        "Đ" => (1, "d~".into()),
        l => (1, l.to_lowercase()),
    }
}

/// A field's procedures in name order, and the index: each letter with the row of its first
/// procedure (no index below [`INDEX_FROM`] procedures).
pub fn sort_with_index(items: Vec<ResultItem>) -> (Vec<ResultItem>, Vec<(String, usize)>) {
    let mut keyed: Vec<((u32, String), String, ResultItem)> = items
        .into_iter()
        .map(|r| {
            let letter = initial(&r.name);
            (letter_rank(&letter), sort_key(&r.name), r)
        })
        .collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    let indexed = keyed.len() >= INDEX_FROM;
    let mut index: Vec<(String, usize)> = Vec::new();
    let mut rows = Vec::with_capacity(keyed.len());
    for (i, (_, _, r)) in keyed.into_iter().enumerate() {
        if indexed {
            let letter = initial(&r.name);
            if index.last().is_none_or(|(l, _)| *l != letter) {
                index.push((letter, i));
            }
        }
        rows.push(r);
    }
    (rows, index)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Counter, Localized};

    fn item(name: &str) -> ResultItem {
        ResultItem {
            code: name.into(),
            name: name.into(),
            detail: String::new(),
        }
    }

    fn field(code: &str, count: usize) -> FieldItem {
        FieldItem {
            code: code.into(),
            name: code.into(),
            count,
        }
    }

    #[test]
    fn names_sort_past_thu_tuc_and_index_keeps_d_and_dd_apart() {
        let mut items: Vec<ResultItem> = [
            "Thủ tục đăng ký khai sinh",
            "Đăng ký kết hôn",
            "Cấp bản sao trích lục",
            "Thủ tục hải quan đối với hàng hóa",
            "Dừng hoạt động",
            "Ân hạn nợ",
            "3 bước",
        ]
        .into_iter()
        .map(item)
        .collect();
        // Padding to reach the index threshold, all under "X".
        for i in 0..10 {
            items.push(item(&format!("Xác nhận {i}")));
        }
        let (rows, index) = sort_with_index(items);
        let names: Vec<&str> = rows.iter().take(7).map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "3 bước",
                "Ân hạn nợ",
                "Cấp bản sao trích lục",
                "Dừng hoạt động",
                "Đăng ký kết hôn",
                "Thủ tục đăng ký khai sinh",
                "Thủ tục hải quan đối với hàng hóa",
            ]
        );
        let letters: Vec<(&str, usize)> = index.iter().map(|(l, i)| (l.as_str(), *i)).collect();
        assert_eq!(
            letters,
            [
                ("#", 0),
                ("A", 1),
                ("C", 2),
                ("D", 3),
                ("Đ", 4),
                ("H", 6),
                ("X", 7)
            ]
        );
    }

    #[test]
    fn short_lists_get_no_index() {
        let (rows, index) = sort_with_index(vec![item("B"), item("A")]);
        assert_eq!(rows[0].name, "A");
        assert!(index.is_empty());
    }

    #[test]
    fn many_fields_group_under_counters_biggest_first_and_the_rest_last() {
        let mut b = crate::catalog::demo_bundle();
        b.counters = vec![
            Counter {
                number: 2,
                name: Localized::vi("Kinh tế"),
                fields: vec!["f3".into(), "f4".into()],
            },
            Counter {
                number: 1,
                name: Localized::vi("Quầy 1 — Tư pháp"),
                fields: vec!["f1".into(), "f2".into(), "f3".into()],
            },
        ];
        let mut fields: Vec<FieldItem> = (1..=GROUP_ABOVE + 1)
            .map(|i| field(&format!("f{i}"), i))
            .collect();
        let groups = group_fields(&b, fields.clone(), Lang::Vi);
        let titles: Vec<&str> = groups.iter().map(|g| g.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "Quầy 1 · Tư pháp",
                "Quầy 2 · Kinh tế",
                "Lĩnh vực khác (hỏi quầy hướng dẫn)"
            ]
        );
        let codes = |g: &FieldGroup| g.fields.iter().map(|f| f.code.clone()).collect::<Vec<_>>();
        // f3 is served by both: it goes to the first counter by number; biggest first.
        assert_eq!(codes(&groups[0]), ["f3", "f2", "f1"]);
        assert_eq!(codes(&groups[1]), ["f4"]);
        assert_eq!(groups[2].fields.len(), GROUP_ABOVE + 1 - 4);
        let total: usize = groups.iter().map(|g| g.fields.len()).sum();
        assert_eq!(total, GROUP_ABOVE + 1, "every field is on the home screen");
        fields.truncate(GROUP_ABOVE);
        let one = group_fields(&b, fields.clone(), Lang::Vi);
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].title, "");
        assert_eq!(one[0].fields, fields, "a small catalog keeps catalog order");
    }
}
