//! Every screen at 800×480, 1280×800 and 720×1280 must render something (not blank) and keep
//! its fixed text inside the window (nothing pushed off by an overflowing layout). A window
//! far too small proves the check fails when a layout does overflow.

use i_slint_backend_testing::ElementHandle;
use motcua::kiosk::ScreenTarget;
use slint::ComponentHandle;

use super::kiosk_ui::{fixture, Fixture};

const SIZES: [(u32, u32); 3] = [(800, 480), (1280, 800), (720, 1280)];

fn screens() -> Vec<ScreenTarget> {
    use ScreenTarget::*;
    vec![
        Home,
        Search("chung thuc".into()),
        Procedure("2.000815".into()),
        Procedure("1.001193".into()),
        Queue,
        Record("000.00.14.H56-260105-0003".into()),
        Officials,
        Stats,
        Rating,
    ]
}

type Rect = (f32, f32, f32, f32);

fn rect(e: &ElementHandle) -> Rect {
    let p = e.absolute_position();
    let s = e.size();
    (p.x, p.y, s.width, s.height)
}

/// Problems with the current screen: blank rendering, or text outside the window. Text
/// inside a scroll area may continue below the window, never beside it.
fn layout_problems(f: &Fixture, width: u32, height: u32) -> Vec<String> {
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
    // Text inside a scroll area (a Flickable) may continue below the window.
    let scrolled: Vec<Rect> = ElementHandle::find_by_element_type_name(root, "Flickable")
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
        if x < -0.5 || x + tw > w {
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
    problems
}

#[test]
fn every_screen_fits_at_every_size() {
    let mut all = Vec::new();
    for (width, height) in SIZES {
        for target in screens() {
            let f = fixture(width, height);
            f.kiosk.open(&target).unwrap();
            for p in layout_problems(&f, width, height) {
                all.push(format!("{target:?} at {width}x{height}: {p}"));
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
