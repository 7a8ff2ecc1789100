//! The kiosk through Slint's testing backend: navigation, the on-screen keyboard, record
//! lookup, rating, idle with a mock clock, and a layout check of every screen at three sizes.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate};
use i_slint_backend_testing::{ElementHandle, TestingBackend, TestingBackendOptions};
use motcua::catalog::{parse_bundle, Lang, DEFAULT_MAX_BUNDLE_BYTES};
use motcua::config::{DisplayConfig, KioskConfig};
use motcua::current::{CatalogOrigin, CurrentCatalog};
use motcua::kiosk::demo_services::{DemoServices, RATINGS_FILE};
use motcua::kiosk::idle::MockClock;
use motcua::kiosk::ui::*;
use motcua::kiosk::{Kiosk, KioskDeps, ScreenTarget};
use slint::{ComponentHandle, Model};

use super::support::SMALL_CATALOG;

pub struct Fixture {
    pub kiosk: Kiosk,
    pub clock: MockClock,
    pub dir: tempfile::TempDir,
}

/// A kiosk on the small catalog under the testing backend (software renderer) of this thread.
pub fn fixture(width: u32, height: u32) -> Fixture {
    let bundle = parse_bundle(
        &std::fs::read(SMALL_CATALOG).unwrap(),
        DEFAULT_MAX_BUNDLE_BYTES,
    )
    .unwrap();
    fixture_with(width, height, bundle)
}

/// The same on any catalog (the layout test uses the full demo catalog).
pub fn fixture_with(width: u32, height: u32, bundle: motcua::catalog::CatalogBundle) -> Fixture {
    fixture_custom(width, height, bundle, |_| {})
}

/// The same, with the kiosk's dependencies adjusted by `adjust` before it starts.
pub fn fixture_custom(
    width: u32,
    height: u32,
    bundle: motcua::catalog::CatalogBundle,
    adjust: impl FnOnce(&mut KioskDeps),
) -> Fixture {
    let _ = slint::platform::set_platform(Box::new(TestingBackend::new(TestingBackendOptions {
        mock_time: true,
        threading: false,
        renderer_name: Some("software".into()),
    })));
    let dir = tempfile::tempdir().unwrap();
    let clock = MockClock::default();
    let now = DateTime::parse_from_rfc3339("2026-11-20T09:00:00+07:00").unwrap();
    let services =
        DemoServices::new(dir.path()).with_today(NaiveDate::from_ymd_opt(2026, 11, 20).unwrap());
    let mut deps = KioskDeps {
        catalog: CurrentCatalog {
            bundle,
            origin: CatalogOrigin::EmbeddedDemo,
        },
        services: Arc::new(services),
        kiosk: KioskConfig {
            language: Lang::Vi,
            idle_home_secs: 90,
            attract_after_secs: 300,
            technician_pin_hash: None,
        },
        device_name: "test-kiosk".into(),
        center_name: None,
        catalog_db: None,
        clock: Arc::new(clock.clone()),
        background: false,
        now: Some(now),
        display: DisplayConfig::default(),
        system_root: None,
        tickets: Default::default(),
    };
    adjust(&mut deps);
    let kiosk = Kiosk::new(deps).unwrap();
    kiosk
        .window()
        .window()
        .set_size(slint::PhysicalSize::new(width, height));
    kiosk.window().show().unwrap();
    Fixture { kiosk, clock, dir }
}

pub fn click(f: &Fixture, label: &str) {
    let el = ElementHandle::find_by_accessible_label(f.kiosk.window(), label)
        .next()
        .unwrap_or_else(|| panic!("no element labelled {label:?} on {}", screen(f)));
    el.invoke_accessible_default_action();
}

pub fn screen(f: &Fixture) -> String {
    f.kiosk
        .window()
        .global::<AppAdapter>()
        .get_screen()
        .to_string()
}

pub fn type_keys(f: &Fixture, keys: &str) {
    for c in keys.chars() {
        let label = if c == ' ' {
            "Dấu cách".to_string()
        } else {
            c.to_string()
        };
        click(f, &label);
    }
}

#[test]
fn search_by_keyboard_open_a_result_and_go_back() {
    let f = fixture(800, 480);
    assert_eq!(screen(&f), "home");
    click(&f, "Tìm thủ tục: gõ tên hoặc mã…");
    assert_eq!(screen(&f), "search");
    type_keys(&f, "KHAI S");
    let search = f.kiosk.window().global::<SearchAdapter>();
    assert_eq!(search.get_query(), "KHAI S");
    let first = search.get_results().row_data(0).expect("a result");
    assert_eq!(first.code, "1.001193");
    click(&f, "Đăng ký khai sinh");
    assert_eq!(screen(&f), "procedure");
    let p = f.kiosk.window().global::<ProcedureAdapter>();
    assert_eq!(p.get_name(), "Đăng ký khai sinh");
    assert!(p.get_has_qr(), "the online URL becomes a QR code");
    click(&f, "‹ Quay lại");
    assert_eq!(screen(&f), "search");
    assert_eq!(
        search.get_query(),
        "KHAI S",
        "the query is kept when coming back"
    );
    click(&f, "‹ Quay lại");
    assert_eq!(screen(&f), "home");
}

#[test]
fn fee_calculator_steppers_change_the_total() {
    // The calculator ends the page; a tall window shows it without scrolling (the testing
    // backend only finds what is in view).
    let f = fixture(800, 1600);
    f.kiosk
        .open(&ScreenTarget::Procedure("2.000815".into()))
        .unwrap();
    let p = f.kiosk.window().global::<ProcedureAdapter>();
    assert_eq!(p.get_calc_total(), "Tổng: 2.000 đ");
    click(&f, "+"); // pages: the first stepper
    click(&f, "+");
    // 3 pages: 2 × 2.000 + 1 × 1.000.
    assert_eq!(p.get_calc_total(), "Tổng: 5.000 đ");
    click(&f, "English");
    assert_eq!(p.get_calc_total(), "Total: 5.000 đ");
}

#[test]
fn record_lookup_validates_then_shows_the_status() {
    let f = fixture(800, 480);
    click(&f, "Tra cứu hồ sơ");
    assert_eq!(screen(&f), "record");
    let r = f.kiosk.window().global::<RecordAdapter>();
    type_keys(&f, "123");
    click(&f, "Tra cứu");
    assert_eq!(r.get_message_kind(), 1);
    assert!(
        r.get_message().starts_with("Mã hồ sơ có dạng"),
        "{}",
        r.get_message()
    );
    click(&f, "Xoá hết");
    type_keys(&f, "000.00.14.H56-260105-0002");
    click(&f, "Tra cứu");
    assert!(r.get_has_result());
    assert_eq!(r.get_result().stage, "Đã có kết quả, mời đến nhận");
    assert_eq!(r.get_result().timeliness, "Giải quyết trước hạn");
    f.kiosk
        .open(&ScreenTarget::Record("000.00.14.H56-260105-0099".into()))
        .unwrap();
    assert!(
        r.get_message().contains("cần kết nối"),
        "{}",
        r.get_message()
    );
}

#[test]
fn a_rating_is_kept_and_thanked() {
    let f = fixture(800, 480);
    click(&f, "Đánh giá");
    click(&f, "Quầy 1 — Tư pháp, hộ tịch · Nguyễn Thị Thử");
    click(&f, "Rất hài lòng");
    let a = f.kiosk.window().global::<RatingAdapter>();
    assert_eq!(a.get_step(), 3);
    let saved = std::fs::read_to_string(f.dir.path().join(RATINGS_FILE)).unwrap();
    assert!(
        saved.contains("\"very_satisfied\"") && saved.contains("\"cc-01\""),
        "{saved}"
    );
    f.clock.advance(Duration::from_secs(7));
    f.kiosk.tick();
    assert_eq!(screen(&f), "home", "the thank-you screen returns home");
}

#[test]
fn idle_goes_home_then_attracts_and_a_touch_wakes() {
    let f = fixture(800, 480);
    click(&f, "English");
    click(&f, "Officials");
    assert_eq!(screen(&f), "officials");
    f.clock.advance(Duration::from_secs(89));
    f.kiosk.tick();
    assert_eq!(screen(&f), "officials");
    f.clock.advance(Duration::from_secs(1));
    f.kiosk.tick();
    assert_eq!(screen(&f), "home");
    assert!(
        !f.kiosk.window().global::<I18n>().get_english(),
        "language reset to the default"
    );
    let app = f.kiosk.window().global::<AppAdapter>();
    assert!(!app.get_attract());
    f.clock.advance(Duration::from_secs(210));
    f.kiosk.tick();
    assert!(app.get_attract());
    click(&f, "attract");
    assert!(!app.get_attract());
}

#[test]
fn a_newly_applied_catalog_replaces_the_one_on_screen() {
    let f = fixture(800, 480);
    f.kiosk
        .open(&ScreenTarget::Procedure("1.001193".into()))
        .unwrap();
    let mut bundle = parse_bundle(
        &std::fs::read(SMALL_CATALOG).unwrap(),
        DEFAULT_MAX_BUNDLE_BYTES,
    )
    .unwrap();
    bundle.version += 1;
    let renamed = bundle
        .procedures
        .iter_mut()
        .find(|p| p.code == "1.001193")
        .unwrap();
    renamed.name.vi = "Đăng ký khai sinh (mẫu mới)".into();
    let current = |b: &motcua::catalog::CatalogBundle| CurrentCatalog {
        bundle: b.clone(),
        origin: CatalogOrigin::EmbeddedDemo,
    };
    f.kiosk.set_catalog(current(&bundle));
    let app = f.kiosk.window().global::<AppAdapter>();
    assert_eq!(screen(&f), "procedure", "the procedure still exists: stay");
    assert_eq!(
        f.kiosk.window().global::<ProcedureAdapter>().get_name(),
        "Đăng ký khai sinh (mẫu mới)"
    );
    assert!(
        app.get_status_text()
            .contains(&format!("v{}", bundle.version)),
        "{}",
        app.get_status_text()
    );
    bundle.procedures.retain(|p| p.code != "1.001193");
    f.kiosk.set_catalog(current(&bundle));
    assert_eq!(screen(&f), "home", "the procedure is gone: home");
}

#[test]
fn the_home_screen_names_the_provisioned_center() {
    // The field report: provisioning wrote [center] but the home screen showed the catalog's
    // center name ("Chưa dùng: center").
    let bundle = parse_bundle(
        &std::fs::read(SMALL_CATALOG).unwrap(),
        DEFAULT_MAX_BUNDLE_BYTES,
    )
    .unwrap();
    let catalog_name = bundle.center.name.get(Lang::Vi).to_string();
    let f = fixture_custom(1280, 800, bundle.clone(), |_| {});
    let app = f.kiosk.window().global::<AppAdapter>();
    assert_eq!(app.get_center_name().as_str(), catalog_name);
    drop(f);
    let f = fixture_custom(1280, 800, bundle, |d| {
        d.center_name = Some("Trung tâm Phục vụ hành chính công xã Mẫu".into())
    });
    let app = f.kiosk.window().global::<AppAdapter>();
    assert_eq!(
        app.get_center_name().as_str(),
        "Trung tâm Phục vụ hành chính công xã Mẫu"
    );
    assert_ne!(catalog_name, "Trung tâm Phục vụ hành chính công xã Mẫu");
}

/// Where `image/boot-test.sh` taps (QMP input-send-event on a virtio tablet) at the guest's
/// 1280x800: the centre of each element it uses, from the kiosk itself on the test catalog.
/// The file is checked in; this test fails when the layout moves, with the new text to put
/// there, so the boot test never taps a stale spot.
#[test]
fn boot_test_touch_points_match_the_layout() {
    let f = fixture(1280, 800);
    let centre = |label: &str| {
        let el = ElementHandle::find_by_accessible_label(f.kiosk.window(), label)
            .next()
            .unwrap_or_else(|| panic!("no element labelled {label:?} on {}", screen(&f)));
        let (p, s) = (el.absolute_position(), el.size());
        (
            (p.x + s.width / 2.0).round() as i32,
            (p.y + s.height / 2.0).round() as i32,
        )
    };
    let mut text = String::from(
        "# Generated by tests/it/kiosk_ui.rs boot_test_touch_points_match_the_layout: name x y at 1280x800.\n",
    );
    let (x, y) = centre("Tìm thủ tục: gõ tên hoặc mã…");
    text.push_str(&format!("search-box {x} {y}\n"));
    click(&f, "Tìm thủ tục: gõ tên hoặc mã…");
    assert_eq!(screen(&f), "search");
    for k in ["K", "H", "A", "I"] {
        let (x, y) = centre(k);
        text.push_str(&format!("key-{k} {x} {y}\n"));
    }
    type_keys(&f, "KHAI");
    let (x, y) = centre("Đăng ký khai sinh");
    text.push_str(&format!("result-khai-sinh {x} {y}\n"));
    click(&f, "Đăng ký khai sinh");
    assert_eq!(screen(&f), "procedure");
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/image/touch-points.txt");
    let on_disk = std::fs::read_to_string(path).unwrap_or_default();
    assert_eq!(
        on_disk, text,
        "image/touch-points.txt is stale; write this text there:\n{text}"
    );
}
