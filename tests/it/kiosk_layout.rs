//! Every screen at 800×480, 1280×800 and 720×1280, on the small test catalog and on the full
//! demo catalog with a simulated queue, must render something (not blank), keep its fixed text
//! inside the window (nothing pushed off by an overflowing layout), and draw nothing over
//! anything else: no text or touch target overlapping another one it is not part of (a tile
//! half-hidden under the bottom buttons, text spilling out of its card), and no text sticking
//! out of its button. A window far too small and the home screen as it was before the 9-field
//! fix prove the checks fail. The same checks at real size: `kiosk_layout_big`.

use i_slint_backend_testing::{AccessibleRole, ElementHandle, ElementQuery};
use motcua::catalog::demo_bundle;
use motcua::kiosk::ScreenTarget;
use motcua::queue::CounterState;
use motcua::queue_sim::QueueSimulator;
use slint::ComponentHandle;

use super::kiosk_ui::{fixture, fixture_with, Fixture};

pub(super) const SIZES: [(u32, u32); 3] = [(800, 480), (1280, 800), (720, 1280)];

fn screens() -> Vec<ScreenTarget> {
    use ScreenTarget::*;
    vec![
        Home,
        Search("chung thuc".into()),
        // Not handled by the center (the "not here" panel, on the real catalog).
        Search("ho chieu".into()),
        Procedure("2.000815".into()),
        Procedure("1.001193".into()),
        Queue,
        Record("000.00.14.H56-260105-0003".into()),
        Officials,
        Stats,
        Rating,
        Pin,
        Technician,
    ]
}

pub(super) type Rect = (f32, f32, f32, f32);

pub(super) fn rect(e: &ElementHandle) -> Rect {
    let p = e.absolute_position();
    let s = e.size();
    (p.x, p.y, s.width, s.height)
}

/// The demo catalog (47 procedures, 9 fields, 6 counters) with the screenshot's simulated
/// morning on the queue board.
fn demo_fixture(width: u32, height: u32) -> Fixture {
    let bundle = demo_bundle();
    let counters: Vec<u32> = bundle.counters.iter().map(|c| c.number).collect();
    let f = fixture_with(width, height, bundle);
    let start = chrono::DateTime::parse_from_rfc3339("2026-11-20T08:00:00+07:00").unwrap();
    let mut sim = QueueSimulator::new(1, &counters, 1, start);
    let mut states: Vec<CounterState> = Vec::new();
    for e in sim.advance_to(start + chrono::Duration::minutes(47)) {
        let i = states.iter().position(|s| s.counter == e.counter);
        let next = e.apply_to(i.map(|i| &states[i]));
        match i {
            Some(i) => states[i] = next,
            None => states.push(next),
        }
    }
    states.sort_by_key(|s| s.counter);
    f.kiosk.set_board(states);
    f
}

pub(super) fn contains(outer: Rect, inner: Rect) -> bool {
    let e = 0.5;
    inner.0 >= outer.0 - e
        && inner.1 >= outer.1 - e
        && inner.0 + inner.2 <= outer.0 + outer.2 + e
        && inner.1 + inner.3 <= outer.1 + outer.3 + e
}

/// Width and height of the intersection (0 when apart).
fn overlap(a: Rect, b: Rect) -> (f32, f32) {
    let w = (a.0 + a.2).min(b.0 + b.2) - a.0.max(b.0);
    let h = (a.1 + a.3).min(b.1 + b.3) - a.1.max(b.1);
    (w.max(0.0), h.max(0.0))
}

/// A text or touch target as drawn: its bounds and the scroll area (viewport) it is in.
struct Piece {
    what: String,
    rect: Rect,
    viewport: Option<Rect>,
    /// The scroll area is a list or long page (its id ends in "-list" or "-page"): a row cut by
    /// its edge is how it shows there is more.
    in_list: bool,
}

/// Whether an element id names a list or a long page: "-list", "-hlist" (scrolls sideways) or
/// "-page".
fn is_list_id(id: &str) -> bool {
    let id = id.replace('_', "-");
    id.ends_with("-list") || id.ends_with("-hlist") || id.ends_with("-page")
}

/// The viewports of lists and long pages: Flickables with such an id, and the Flickable inside
/// a ListView with one.
fn list_viewports(root: &motcua::kiosk::ui::KioskWindow) -> Vec<Rect> {
    let mut out = Vec::new();
    for e in ElementQuery::from_root(root)
        .match_descendants()
        .match_predicate(|e| e.id().is_some_and(|id| is_list_id(&id)))
        .find_all()
    {
        if e.type_name().is_some_and(|t| t == "Flickable") {
            out.push(rect(&e));
        }
        out.extend(
            e.query_descendants()
                .match_inherits("Flickable")
                .find_all()
                .iter()
                .map(rect),
        );
    }
    out
}

/// Texts sticking out of the touch target they belong to (a name too long for its tile or row
/// that was neither wrapped nor elided); parts scrolled out of view are not drawn and not
/// counted.
pub(super) fn overflow_problems(root: &motcua::kiosk::ui::KioskWindow) -> Vec<String> {
    let mut problems = Vec::new();
    for b in ElementQuery::from_root(root)
        .match_descendants()
        .match_accessible_role(AccessibleRole::Button)
        .find_all()
    {
        let outer = rect(&b);
        if outer.2 <= 0.5 || outer.3 <= 0.5 {
            continue;
        }
        for t in b.query_descendants().match_type_name("Text").find_all() {
            let inner = rect(&t);
            if inner.2 > 0.5 && inner.3 > 0.5 && !contains(outer, inner) {
                let label = b.accessible_label().unwrap_or_default();
                let short: String = label.chars().take(60).collect();
                problems.push(format!(
                    "text of button {short:?} at {inner:?} sticks out of the button at {outer:?}"
                ));
            }
        }
    }
    problems
}

/// Texts and touch targets that overlap one they are not part of. Inside a scroll area, only
/// pieces at least partly in view count; such a piece overlapping something outside its scroll
/// area is half-hidden behind it (clipped by the viewport while a sibling covers the rest),
/// and a text crossing the edge of a button or another text is clipped or drawn over.
fn overlap_problems(root: &motcua::kiosk::ui::KioskWindow) -> Vec<String> {
    let lists = list_viewports(root);
    let flicks: Vec<(Rect, Vec<Rect>, bool)> =
        ElementHandle::find_by_element_type_name(root, "Flickable")
            .map(|fl| {
                let inside = fl.query_descendants().find_all().iter().map(rect).collect();
                let list = lists.contains(&rect(&fl));
                (rect(&fl), inside, list)
            })
            .collect();
    let viewport_of = |r: Rect| {
        flicks
            .iter()
            .filter(|(_, inside, _)| inside.contains(&r))
            // The innermost scroll area: the smallest one.
            .min_by(|a, b| (a.0 .2 * a.0 .3).total_cmp(&(b.0 .2 * b.0 .3)))
            .map(|(v, _, list)| (*v, *list))
    };
    let mut pieces = Vec::new();
    for t in ElementHandle::find_by_element_type_name(root, "Text") {
        let label = t.accessible_label().unwrap_or_default();
        pieces.push((format!("text {label:?}"), rect(&t)));
    }
    for b in ElementQuery::from_root(root)
        .match_descendants()
        .match_accessible_role(AccessibleRole::Button)
        .find_all()
    {
        let label = b.accessible_label().unwrap_or_default();
        pieces.push((format!("button {label:?}"), rect(&b)));
    }
    let pieces: Vec<Piece> = pieces
        .into_iter()
        .filter(|(_, r)| r.2 > 0.5 && r.3 > 0.5)
        .map(|(what, rect)| {
            let vp = viewport_of(rect);
            Piece {
                what,
                rect,
                viewport: vp.map(|v| v.0),
                in_list: vp.is_some_and(|v| v.1),
            }
        })
        // Scrolled entirely out of view: not drawn.
        .filter(|p| {
            p.viewport.is_none_or(|v| {
                let (w, h) = overlap(p.rect, v);
                w > 0.5 && h > 0.5
            })
        })
        .collect();
    let mut seen = Vec::new();
    let pieces: Vec<Piece> = pieces
        .into_iter()
        .filter(|p| {
            let key = (p.what.clone(), p.rect);
            let new = !seen.contains(&key);
            seen.push(key);
            new
        })
        .collect();
    let mut problems = Vec::new();
    for (i, a) in pieces.iter().enumerate() {
        for b in &pieces[i + 1..] {
            if contains(a.rect, b.rect) || contains(b.rect, a.rect) {
                continue;
            }
            // A text line cut by the edge of a scrolling pane is how a long page reads, and so
            // is the last row of a list; a touch target half under a fixed one (a home tile
            // under the bottom buttons) is not.
            let crossing = |p: &Piece, q: &Piece| {
                (p.what.starts_with("text") || p.in_list)
                    && p.viewport.is_some()
                    && q.viewport != p.viewport
            };
            if crossing(a, b) || crossing(b, a) {
                continue;
            }
            let (w, h) = overlap(a.rect, b.rect);
            if w > 1.0 && h > 1.0 {
                let fmt = |p: &Piece| {
                    let (x, y, w, h) = p.rect;
                    let scrolled = if p.viewport.is_some() {
                        " (scrolled)"
                    } else {
                        ""
                    };
                    format!("{}{scrolled} at {x},{y} {w}x{h}", p.what)
                };
                problems.push(format!("{} overlaps {}", fmt(a), fmt(b)));
            }
        }
    }
    problems
}

/// Problems with the current screen: blank rendering, text outside the window, or pieces
/// drawn over each other. Text inside a scroll area may continue below the window, never
/// beside it.
pub(super) fn layout_problems(f: &Fixture, width: u32, height: u32) -> Vec<String> {
    let mut problems = Vec::new();
    // A layout whose minimum exceeds the window makes the window grow; on the kiosk's fixed
    // screen that would be cut off.
    let actual = f.kiosk.window().window().size();
    if (actual.width, actual.height) != (width, height) {
        problems.push(format!(
            "layout needs {}x{}, more than the window {width}x{height}",
            actual.width, actual.height
        ));
    }
    let shot = f.kiosk.window().window().take_snapshot().expect("snapshot");
    let px = shot.as_slice();
    let lum: Vec<f64> = px
        .iter()
        .map(|p| 0.3 * p.r as f64 + 0.59 * p.g as f64 + 0.11 * p.b as f64)
        .collect();
    let mean = lum.iter().sum::<f64>() / lum.len() as f64;
    let var = lum.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / lum.len() as f64;
    if var < 100.0 {
        problems.push(format!(
            "blank-looking screen (luminance variance {var:.0})"
        ));
    }
    let root = f.kiosk.window();
    // Text inside a scroll area (a Flickable) may continue below the window, and inside a
    // list that scrolls sideways ("-hlist"), right of it.
    let scrolled: Vec<Rect> = ElementHandle::find_by_element_type_name(root, "Flickable")
        .flat_map(|fl| fl.query_descendants().match_type_name("Text").find_all())
        .map(|e| rect(&e))
        .collect();
    let sideways: Vec<Rect> = ElementQuery::from_root(root)
        .match_descendants()
        .match_predicate(|e| {
            e.id()
                .is_some_and(|id| id.replace('_', "-").ends_with("-hlist"))
        })
        .find_all()
        .iter()
        .flat_map(|fl| fl.query_descendants().match_type_name("Text").find_all())
        .map(|e| rect(&e))
        .collect();
    let (w, h) = (width as f32 + 0.5, height as f32 + 0.5);
    for t in ElementHandle::find_by_element_type_name(root, "Text") {
        let label = t.accessible_label().unwrap_or_default();
        let (x, y, tw, th) = rect(&t);
        if tw <= 0.0 || th <= 0.0 {
            continue;
        }
        if (x < -0.5 || x + tw > w) && !sideways.contains(&(x, y, tw, th)) {
            problems.push(format!(
                "text {label:?} outside the window horizontally at x={x} w={tw}"
            ));
        }
        if !scrolled.contains(&(x, y, tw, th)) && (y < -0.5 || y + th > h) {
            problems.push(format!(
                "text {label:?} outside the window vertically at y={y} h={th}"
            ));
        }
    }
    problems.extend(overlap_problems(root));
    problems.extend(overflow_problems(root));
    problems
}

#[test]
fn every_screen_fits_at_every_size() {
    let mut all = Vec::new();
    for (catalog, make) in [
        ("small", fixture as fn(u32, u32) -> Fixture),
        ("demo", demo_fixture),
    ] {
        for (width, height) in SIZES {
            for target in screens() {
                let f = make(width, height);
                f.kiosk.open(&target).unwrap();
                for p in layout_problems(&f, width, height) {
                    all.push(format!("{catalog}: {target:?} at {width}x{height}: {p}"));
                }
            }
        }
    }
    assert!(all.is_empty(), "{}", all.join("\n"));
}

#[test]
fn the_check_catches_an_overflowing_layout() {
    // The home screen needs ~400 px of height; squeezed to 260 its bottom rows fall off.
    let f = fixture(480, 260);
    f.kiosk.open(&ScreenTarget::Home).unwrap();
    let problems = layout_problems(&f, 480, 260);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("vertically") || p.contains("more than the window")),
        "{problems:?}"
    );
}

#[test]
fn many_fields_scroll_with_a_hint() {
    // 20 fields at 800x480 cannot fit: they group under their counters, the rest scrolls (a
    // tile cut at the list's edge), and a hint says so; no tile is drawn over the buttons.
    let mut bundle = demo_bundle();
    for i in 0..11 {
        let code = format!("extra-{i}");
        bundle.fields.push(motcua::catalog::Field {
            code: code.clone(),
            name: bundle.fields[i % 9].name.clone(),
        });
        bundle.procedures[i * 4].field = code;
    }
    let f = fixture_with(800, 480, bundle);
    f.kiosk.open(&ScreenTarget::Home).unwrap();
    let problems = layout_problems(&f, 800, 480);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let hint = ElementHandle::find_by_element_type_name(f.kiosk.window(), "Text")
        .filter_map(|t| t.accessible_label())
        .any(|l| l.contains("xem thêm lĩnh vực"));
    assert!(hint, "no scroll hint");
}
