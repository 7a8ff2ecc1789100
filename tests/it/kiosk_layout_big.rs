//! The kiosk on a catalog at real size (`kiosk_big_catalog`: 590 procedures in 61 fields, a
//! field of 130, a 1,094-character name, long field names, five counters) at 800×480,
//! 1280×800 and 720×1280: every screen passes the layout checks of `kiosk_layout`, every
//! field is on the home screen in a tile that holds its name, a field of 130 is a virtual
//! list with a letter index, the procedure page shows the counter, fee and time on its first
//! screen, and at least three results show above the on-screen keyboard.

use i_slint_backend_testing::{AccessibleRole, ElementHandle};
use motcua::kiosk::ui::*;
use motcua::kiosk::ScreenTarget;
use slint::platform::WindowEvent;
use slint::{ComponentHandle, LogicalPosition, Model};

use super::kiosk_big_catalog::{
    big_catalog, BIG_FIELD, LONGEST_CODE, LONGEST_NAME, LONG_FIELD_NAME,
};
use super::kiosk_layout::{contains, layout_problems, overflow_problems, rect, Rect, SIZES};
use super::kiosk_ui::{click, fixture_with, type_keys, Fixture};

fn big(width: u32, height: u32) -> Fixture {
    fixture_with(width, height, big_catalog(590))
}

fn by_id(f: &Fixture, id: &str) -> ElementHandle {
    ElementHandle::find_by_element_id(f.kiosk.window(), id)
        .next()
        .unwrap_or_else(|| panic!("no element {id}"))
}

/// Touch targets inside `parent`, with their labels.
fn buttons_in(parent: &ElementHandle) -> Vec<(String, Rect, ElementHandle)> {
    parent
        .query_descendants()
        .match_accessible_role(AccessibleRole::Button)
        .find_all()
        .into_iter()
        .map(|b| {
            (
                b.accessible_label().unwrap_or_default().to_string(),
                rect(&b),
                b,
            )
        })
        .collect()
}

/// Turn the mouse wheel over `at` (negative `dy`: further down) and let the scroll finish.
fn wheel(f: &Fixture, at: Rect, dy: f32) {
    let position = LogicalPosition::new(at.0 + at.2 / 2.0, at.1 + at.3 / 2.0);
    f.kiosk
        .window()
        .window()
        .dispatch_event(WindowEvent::PointerScrolled {
            position,
            delta_x: 0.0,
            delta_y: dy,
        });
    i_slint_backend_testing::mock_elapsed_time(std::time::Duration::from_millis(500));
}

/// Labels of the elements `pick` finds, in the order they come into view while the scroll
/// area with id `id` is wheeled from its top to its end (the testing backend only sees what
/// is in view). Stops when a step brings nothing new twice.
fn labels_while_scrolling(
    f: &Fixture,
    id: &str,
    pick: impl Fn(&ElementHandle) -> Vec<(String, Rect)>,
) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    let mut idle = 0;
    for _ in 0..200 {
        let area = rect(&by_id(f, id));
        let mut now = pick(&by_id(f, id));
        now.retain(|(_, r)| r.1 + r.3 > area.1 && r.1 < area.1 + area.3);
        now.sort_by(|a, b| a.1 .1.total_cmp(&b.1 .1).then(a.1 .0.total_cmp(&b.1 .0)));
        let before = seen.len();
        for (l, _) in now {
            if !seen.contains(&l) {
                seen.push(l);
            }
        }
        idle = if seen.len() == before { idle + 1 } else { 0 };
        if idle == 3 {
            break;
        }
        wheel(f, area, -(area.3 / 2.0).max(60.0));
    }
    seen
}

/// [`layout_problems`] at every wheel step from the top to the end of the scroll area `id`.
fn problems_while_scrolling(f: &Fixture, id: &str, width: u32, height: u32) -> Vec<String> {
    let mut all = Vec::new();
    let mut last = None;
    for step in 0..200 {
        for p in layout_problems(f, width, height) {
            if !all.iter().any(|(_, q)| *q == p) {
                all.push((step, p));
            }
        }
        let area = rect(&by_id(f, id));
        // The end: the texts in view no longer change.
        let now: Vec<Rect> = ElementHandle::find_by_element_type_name(f.kiosk.window(), "Text")
            .map(|t| rect(&t))
            .collect();
        if last.as_ref() == Some(&now) {
            break;
        }
        last = Some(now);
        wheel(f, area, -(area.3 / 2.0).max(60.0));
    }
    all.into_iter()
        .map(|(step, p)| format!("after {step} wheel steps: {p}"))
        .collect()
}

/// The first text on screen whose label is `text`.
fn text_rect(f: &Fixture, text: &str) -> Rect {
    let t = ElementHandle::find_by_element_type_name(f.kiosk.window(), "Text")
        .find(|t| t.accessible_label().is_some_and(|l| l == text))
        .unwrap_or_else(|| {
            let short: String = text.chars().take(60).collect();
            panic!("no text {short:?}")
        });
    rect(&t)
}

#[test]
fn every_screen_fits_with_a_catalog_at_real_size() {
    let mut all = Vec::new();
    for (width, height) in SIZES {
        for target in [
            ScreenTarget::Home,
            ScreenTarget::Field(BIG_FIELD.into()),
            ScreenTarget::Field("hop-tac-xa".into()),
            ScreenTarget::Search("dang ky".into()),
            ScreenTarget::Procedure(LONGEST_CODE.into()),
            ScreenTarget::Queue,
            ScreenTarget::Officials,
            ScreenTarget::Rating,
        ] {
            let f = big(width, height);
            f.kiosk.open(&target).unwrap();
            // Long pages and lists are checked all the way down.
            let scrolled = match target {
                ScreenTarget::Home => Some("HomeScreen::fields-list"),
                ScreenTarget::Field(_) => Some("SearchScreen::results-list"),
                ScreenTarget::Procedure(_) => Some("ProcedureScreen::body-page"),
                _ => None,
            };
            let problems = match scrolled {
                Some(id) => problems_while_scrolling(&f, id, width, height),
                None => layout_problems(&f, width, height),
            };
            for p in problems {
                all.push(format!("{target:?} at {width}x{height}: {p}"));
            }
        }
    }
    assert!(all.is_empty(), "{}", all.join("\n"));
}

#[test]
fn home_reaches_every_field_in_a_tile_that_holds_its_name() {
    let bundle = big_catalog(590);
    for (width, height) in SIZES {
        let f = big(width, height);
        f.kiosk.open(&ScreenTarget::Home).unwrap();
        let id = "HomeScreen::fields-list";
        let area = rect(&by_id(&f, id));
        let reached = labels_while_scrolling(&f, id, |list| {
            let mut out = Vec::new();
            for (name, r, tile) in buttons_in(list) {
                // A tile's "Lấy số" chip is checked with its tile (its third text).
                if name.starts_with("take-number ") {
                    continue;
                }
                // Whole tiles: a touch target, inside the list, name and count inside it.
                if r.1 < area.1 || r.1 + r.3 > area.1 + area.3 {
                    continue;
                }
                assert!(
                    r.3 >= 48.0,
                    "{width}x{height}: {name:?} tile only {}px high",
                    r.3
                );
                assert!(
                    contains(area, r),
                    "{width}x{height}: {name:?} {r:?} not in {area:?}"
                );
                // The name, the count, and "Lấy số" on tiles whose field a counter serves.
                let texts = tile.query_descendants().match_type_name("Text").find_all();
                assert!(
                    matches!(texts.len(), 2 | 3),
                    "{name:?}: {} texts",
                    texts.len()
                );
                for t in &texts {
                    assert!(contains(r, rect(t)), "{width}x{height}: {name:?}");
                }
                if name == LONG_FIELD_NAME {
                    assert!(
                        rect(&texts[0]).3 < 60.0,
                        "a long field name keeps to two lines"
                    );
                }
                out.push((name, r));
            }
            out
        });
        let checked = bundle
            .fields
            .iter()
            .filter(|x| reached.contains(&x.name.vi))
            .count();
        assert_eq!(
            checked,
            bundle.fields.len(),
            "{width}x{height}: scrolling reaches {checked} of {} fields whole",
            bundle.fields.len()
        );
        // Grouped under the five counters, in counter order.
        let f = big(width, height);
        f.kiosk.open(&ScreenTarget::Home).unwrap();
        let headings = labels_while_scrolling(&f, id, |list| {
            list.query_descendants()
                .match_type_name("Text")
                .find_all()
                .iter()
                .filter_map(|t| {
                    let l = t.accessible_label()?.to_string();
                    l.starts_with("Quầy ").then(|| (l, rect(t)))
                })
                .collect()
        });
        let expected: Vec<String> = bundle
            .counters
            .iter()
            .map(|c| format!("Quầy {} · {}", c.number, c.name.vi))
            .collect();
        assert_eq!(headings, expected, "{width}x{height}");
    }
}

#[test]
fn a_field_of_130_is_a_virtual_list_with_a_letter_index() {
    for (width, height) in SIZES {
        let f = big(width, height);
        f.kiosk
            .open(&ScreenTarget::Field(BIG_FIELD.into()))
            .unwrap();
        let a = f.kiosk.window().global::<SearchAdapter>();
        assert_eq!(a.get_results().row_count(), 130);
        assert!(
            a.get_heading().ends_with("130 thủ tục"),
            "{}",
            a.get_heading()
        );
        f.kiosk.window().window().take_snapshot().unwrap();
        let list = by_id(&f, "SearchScreen::results-list");
        let area = rect(&list);
        let rows = buttons_in(&list);
        // Only the rows in view exist (ListView), however long the field.
        assert!(
            (3..=20).contains(&rows.len()),
            "{width}x{height}: {} rows instantiated",
            rows.len()
        );
        // The 1,094-character name is the first row (A… "Giao đất" sorts under G, so find it).
        let index = a.get_index();
        let letters: Vec<String> = index.iter().map(|e| e.label.to_string()).collect();
        assert!(letters.len() >= 5, "{letters:?}");
        // Jump to each of three letters: its first procedure is then the top row.
        for e in [
            index.row_data(1).unwrap(),
            index.row_data(letters.len() / 2).unwrap(),
            index.row_data(letters.len() - 1).unwrap(),
        ] {
            click(&f, &format!("Chữ cái {}", e.label));
            f.kiosk.window().window().take_snapshot().unwrap();
            let expected = a.get_results().row_data(e.row as usize).unwrap().name;
            let rows = buttons_in(&by_id(&f, "SearchScreen::results-list"));
            let top = rows
                .iter()
                .filter(|(_, r, _)| r.1 >= area.1 - 0.5 && r.1 < area.1 + area.3)
                .min_by(|x, y| x.1 .1.total_cmp(&y.1 .1))
                .unwrap();
            let last_rows = 130 - e.row as usize;
            if last_rows * 60 > area.3 as usize {
                assert_eq!(
                    top.0,
                    expected.as_str(),
                    "{width}x{height}: letter {}",
                    e.label
                );
                assert!(
                    (top.1 .1 - area.1).abs() < 1.0,
                    "{width}x{height}: row at {:?}",
                    top.1
                );
            } else {
                // The list ends: the letter's first row is in view, not necessarily on top.
                assert!(rows
                    .iter()
                    .any(|(l, r, _)| l == expected.as_str() && contains(area, *r)));
            }
        }
        // Every row's name and detail stay inside the row.
        for (label, r, row) in buttons_in(&by_id(&f, "SearchScreen::results-list")) {
            for t in row.query_descendants().match_type_name("Text").find_all() {
                assert!(contains(r, rect(&t)), "{width}x{height}: {label:?}");
            }
        }
    }
}

#[test]
fn the_longest_name_is_bounded_and_counter_fee_and_time_lead_the_page() {
    for (width, height) in SIZES {
        let f = big(width, height);
        f.kiosk
            .open(&ScreenTarget::Procedure(LONGEST_CODE.into()))
            .unwrap();
        let p = f.kiosk.window().global::<ProcedureAdapter>();
        assert_eq!(p.get_name().chars().count(), LONGEST_NAME);
        assert_eq!(
            p.get_full_name(),
            p.get_name(),
            "the page repeats it in full"
        );
        let first_screen: Rect = (0.0, 60.0, width as f32, height as f32 - 60.0 - 30.0);
        let headline = text_rect(&f, &p.get_name());
        assert!(
            headline.3 <= 4.0 * 32.0,
            "{width}x{height}: headline {headline:?}"
        );
        let counter = text_rect(&f, &p.get_counters());
        let fee = text_rect(&f, &p.get_fee_summary());
        let time = text_rect(&f, &p.get_time_summary());
        for (what, r) in [
            ("headline", headline),
            ("counter", counter),
            ("fee", fee),
            ("time", time),
        ] {
            assert!(
                contains(first_screen, r),
                "{width}x{height}: {what} at {r:?} is not on the first screen"
            );
        }
        assert!(
            p.get_counters().starts_with("Quầy "),
            "{}",
            p.get_counters()
        );
        let docs = text_rect(&f, "Giấy tờ cần mang");
        assert!(
            docs.1 < first_screen.1 + first_screen.3,
            "{width}x{height}: documents start at {docs:?}"
        );
        // Then the rest, in this order, the calculator last.
        let order = labels_while_scrolling(&f, "ProcedureScreen::body-page", |page| {
            page.query_descendants()
                .match_type_name("Text")
                .find_all()
                .iter()
                .map(|t| {
                    (
                        t.accessible_label().unwrap_or_default().to_string(),
                        rect(t),
                    )
                })
                .collect()
        });
        let at = |what: &str| {
            order
                .iter()
                .position(|l| l.starts_with(what))
                .unwrap_or_else(|| panic!("{width}x{height}: {what:?} never came into view"))
        };
        let sequence = [
            at(&p.get_name()),
            at(&p.get_counters()),
            at(&p.get_fee_summary()),
            at(&p.get_time_summary()),
            at("Giấy tờ cần mang"),
            at("Thời hạn và phí theo cách nộp"),
            at("Tên đầy đủ của thủ tục: "),
            at("Căn cứ pháp lý"),
            at("Tính phí, lệ phí"),
        ];
        assert!(
            sequence.windows(2).all(|w| w[0] < w[1]),
            "{width}x{height}: order {sequence:?} of {order:?}"
        );
    }
}

#[test]
fn three_results_show_above_the_keyboard() {
    for (width, height) in SIZES {
        let f = big(width, height);
        click(&f, "Tìm thủ tục: gõ tên hoặc mã…");
        type_keys(&f, "DANG KY");
        let a = f.kiosk.window().global::<SearchAdapter>();
        assert!(a.get_keyboard_visible());
        assert!(
            a.get_results().row_count() >= 10,
            "{}",
            a.get_results().row_count()
        );
        f.kiosk.window().window().take_snapshot().unwrap();
        let list = by_id(&f, "SearchScreen::results-list");
        let area = rect(&list);
        let keys_top = ElementHandle::find_by_accessible_label(f.kiosk.window(), "Q")
            .map(|k| rect(&k).1)
            .next()
            .expect("the Q key");
        assert!(area.1 + area.3 <= keys_top, "the list ends above the keys");
        let whole = buttons_in(&list)
            .into_iter()
            .filter(|(_, r, _)| contains(area, *r))
            .count();
        assert!(
            whole >= 3,
            "{width}x{height}: {whole} whole result rows above the keyboard"
        );
    }
}

#[test]
fn the_check_catches_a_text_sticking_out_of_its_button() {
    // At 300 px the four service buttons are ~60 px wide: "Thống kê" cannot wrap inside.
    let f = big(300, 480);
    f.kiosk.open(&ScreenTarget::Home).unwrap();
    let problems = overflow_problems(f.kiosk.window());
    assert!(
        problems
            .iter()
            .any(|p| p.contains("\"Thống kê\"") && p.contains("sticks out")),
        "{problems:?}"
    );
}

#[test]
fn typing_in_a_field_list_filters_within_the_field() {
    let f = big(800, 480);
    f.kiosk.open(&ScreenTarget::Field("thue".into())).unwrap();
    let a = f.kiosk.window().global::<SearchAdapter>();
    assert!(
        !a.get_keyboard_visible(),
        "a field opens with the keys hidden"
    );
    assert!(
        a.get_index().row_count() > 0,
        "111 procedures get a letter index"
    );
    click(&f, "Ô tìm kiếm");
    assert!(a.get_keyboard_visible());
    type_keys(&f, "DANG KY");
    let codes: Vec<String> = a.get_results().iter().map(|r| r.code.to_string()).collect();
    assert!(!codes.is_empty());
    let bundle = big_catalog(590);
    let field_of = |c: &str| bundle.procedure(c).unwrap().field.clone();
    assert!(codes.iter().all(|c| field_of(c) == "thue"), "{codes:?}");
    let everywhere = bundle
        .procedures
        .iter()
        .filter(|p| motcua::search::fold(&p.name.vi).contains("dang ky"))
        .count();
    assert!(codes.len() < everywhere, "{} of {everywhere}", codes.len());
    assert!(
        a.get_heading().contains("trong Thuế"),
        "{}",
        a.get_heading()
    );
    assert_eq!(a.get_index().row_count(), 0, "no index while filtering");
}

#[test]
fn the_real_default_catalog_fits_all_the_way_down() {
    // The 588 real procedures: their longest name (919 characters), real document lists and
    // steps, checked at every wheel step.
    let bundle = motcua::catalog::demo_bundle();
    let longest = bundle
        .procedures
        .iter()
        .max_by_key(|p| p.name.vi.chars().count())
        .unwrap()
        .code
        .clone();
    let biggest = bundle
        .fields
        .iter()
        .max_by_key(|f| {
            bundle
                .procedures
                .iter()
                .filter(|p| p.field == f.code)
                .count()
        })
        .unwrap()
        .code
        .clone();
    let mut all = Vec::new();
    for (width, height) in SIZES {
        for (target, id) in [
            (ScreenTarget::Home, "HomeScreen::fields-list"),
            (
                ScreenTarget::Field(biggest.clone()),
                "SearchScreen::results-list",
            ),
            (
                ScreenTarget::Procedure(longest.clone()),
                "ProcedureScreen::body-page",
            ),
        ] {
            let f = fixture_with(width, height, bundle.clone());
            f.kiosk.open(&target).unwrap();
            for p in problems_while_scrolling(&f, id, width, height) {
                all.push(format!("{target:?} at {width}x{height}: {p}"));
            }
        }
    }
    assert!(all.is_empty(), "{}", all.join("\n"));
}
