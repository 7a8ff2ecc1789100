//! The kiosk at real catalog size, drawn by the headless software renderer (the renderer the
//! device uses), 800×480, release build: `cargo bench --bench kiosk [-- REPS]`.
//!
//! For each catalog — the former 47-procedure demo (`tests/fixtures/demo-catalog-47.json`, the
//! peer), the embedded default (the 588 real commune-level procedures), synthetic catalogs of
//! 590 and 2,642 procedures shaped like the real one (`tests/it/kiosk_big_catalog.rs`), and
//! the bundle files listed in `$MOTCUA_BENCH_CATALOG` (separated by ':', e.g. the national list
//! converted with `motcua catalog convert --level all`) — it measures:
//! - **first frame**: build the kiosk (catalog, search index, every view model), show the home
//!   screen and draw it; a new kiosk each repetition;
//! - **field list open**: open the largest field's list (sort, index, rows) and draw it;
//! - **scroll frame**: the largest field's list scrolled by mouse-wheel steps of 24 px, one
//!   full frame drawn per step (a new buffer each frame), until its end (at most 400 steps).
//!
//! Prints a Markdown table of medians and 95th percentiles, and the ratio to the demo.

#[allow(dead_code)]
#[path = "../tests/it/kiosk_big_catalog.rs"]
mod big;

use std::sync::Arc;
use std::time::{Duration, Instant};

use motcua::catalog::{demo_bundle, parse_bundle, CatalogBundle, Lang};
use motcua::config::{DisplayConfig, KioskConfig};
use motcua::current::{CatalogOrigin, CurrentCatalog};
use motcua::kiosk::demo_services::DemoServices;
use motcua::kiosk::headless::HeadlessWindow;
use motcua::kiosk::idle::SystemClock;
use motcua::kiosk::ui::SearchAdapter;
use motcua::kiosk::{Kiosk, KioskDeps, ScreenTarget};
use slint::platform::WindowEvent;
use slint::{ComponentHandle, LogicalPosition, Model};

const W: u32 = 800;
const H: u32 = 480;

fn kiosk(bundle: CatalogBundle, dir: &std::path::Path) -> Kiosk {
    Kiosk::new(KioskDeps {
        catalog: CurrentCatalog {
            bundle,
            origin: CatalogOrigin::EmbeddedDemo,
        },
        services: Arc::new(DemoServices::new(dir)),
        kiosk: KioskConfig {
            language: Lang::Vi,
            idle_home_secs: 90,
            attract_after_secs: 300,
            technician_pin_hash: None,
        },
        device_name: "bench".into(),
        center_name: None,
        catalog_db: None,
        clock: Arc::new(SystemClock),
        background: false,
        now: None,
        display: DisplayConfig::default(),
        system_root: None,
        tickets: Default::default(),
    })
    .expect("the kiosk window")
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Median and 95th percentile, in ms.
fn stats(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.95))
}

struct Row {
    name: String,
    first: (f64, f64),
    open: (f64, f64),
    scroll: (f64, f64),
    frames: usize,
    field: String,
}

fn measure(name: &str, bundle: CatalogBundle, reps: usize, win: &HeadlessWindow) -> Row {
    let dir = tempfile::tempdir().expect("temp dir");
    // The largest field.
    let field = bundle
        .fields
        .iter()
        .max_by_key(|f| {
            bundle
                .procedures
                .iter()
                .filter(|p| p.field == f.code)
                .count()
        })
        .map(|f| f.code.clone())
        .expect("a field");
    let mut first = Vec::new();
    let mut open = Vec::new();
    let mut scroll = Vec::new();
    let mut rows = 0;
    for _ in 0..reps {
        let b = bundle.clone();
        let t = Instant::now();
        let k = kiosk(b, dir.path());
        win.set_size(W, H);
        k.window().show().expect("show");
        let px = win.render(W, H);
        first.push(ms(t.elapsed()));
        assert!(px.iter().any(|p| *p != px[0]), "the home screen was drawn");

        let t = Instant::now();
        k.open(&ScreenTarget::Field(field.clone())).expect("field");
        let px = win.render(W, H);
        open.push(ms(t.elapsed()));
        rows = k
            .window()
            .global::<SearchAdapter>()
            .get_results()
            .row_count();

        // Wheel down through the list, one frame per 24 px step, while it moves (rows are
        // 84 px, ~300 px in view), at most 400 frames.
        let at = LogicalPosition::new(W as f32 / 2.0, H as f32 / 2.0);
        let steps = ((rows * 84).saturating_sub(300) / 24).clamp(10, 400);
        let before = px;
        let mut last = Vec::new();
        for _ in 0..steps {
            let t = Instant::now();
            k.window()
                .window()
                .dispatch_event(WindowEvent::PointerScrolled {
                    position: at,
                    delta_x: 0.0,
                    delta_y: -24.0,
                });
            last = win.render(W, H);
            scroll.push(ms(t.elapsed()));
        }
        assert!(last != before, "the list scrolled");
        k.window().hide().ok();
    }
    Row {
        name: format!("{name} ({} procedures)", bundle.procedures.len()),
        first: stats(first),
        open: stats(open),
        frames: scroll.len(),
        scroll: stats(scroll),
        field: format!("{field}: {rows} rows"),
    }
}

fn main() {
    let reps: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(7);
    let win = HeadlessWindow::install().expect("headless platform");
    let demo47 = parse_bundle(
        include_bytes!("../tests/fixtures/demo-catalog-47.json"),
        64 << 20,
    )
    .expect("the 47-procedure demo catalog");
    let mut catalogs: Vec<(String, CatalogBundle)> = vec![
        ("demo-47".into(), demo47.clone()),
        ("default, real".into(), demo_bundle()),
        ("synthetic".into(), big::big_catalog(590)),
        ("synthetic".into(), big::big_catalog(2642)),
    ];
    let extra = std::env::var("MOTCUA_BENCH_CATALOG").unwrap_or_default();
    for path in extra.split(':').filter(|p| !p.is_empty()) {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
        let b = parse_bundle(&bytes, 64 << 20).unwrap_or_else(|e| panic!("{path}: {e}"));
        let stem = std::path::Path::new(path)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned());
        catalogs.push((stem.unwrap_or_default(), b));
    }
    // One warm-up (fonts, caches), not reported.
    measure("warm-up", demo47, 1, &win);
    let rows: Vec<Row> = catalogs
        .into_iter()
        .map(|(n, b)| measure(&n, b, reps, &win))
        .collect();
    println!(
        "800×480, software renderer, release; {reps} repetitions; medians (p95) in ms; × = ratio to the demo\n"
    );
    println!("| catalog | largest field | first frame | × | field list open | × | scroll frame | × | frames |");
    println!("|---|---|---|---|---|---|---|---|---|");
    let base = (rows[0].first.0, rows[0].open.0, rows[0].scroll.0);
    for r in &rows {
        println!(
            "| {} | {} | {:.1} ({:.1}) | {:.2} | {:.1} ({:.1}) | {:.2} | {:.2} ({:.2}) | {:.2} | {} |",
            r.name,
            r.field,
            r.first.0,
            r.first.1,
            r.first.0 / base.0,
            r.open.0,
            r.open.1,
            r.open.0 / base.1,
            r.scroll.0,
            r.scroll.1,
            r.scroll.0 / base.2,
            r.frames,
        );
    }
}
