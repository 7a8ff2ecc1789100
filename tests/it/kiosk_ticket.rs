//! "Lấy số" through Slint's testing backend, with the demo's simulated issuer: from a
//! procedure's page and from a field's tile to the ticket screen (number, counter, people
//! ahead, wait, QR, documents), the confirmation before a second ticket, the rate limit, and
//! a configured printer that is absent (the screen asks for a photo).

use i_slint_backend_testing::ElementHandle;
use motcua::catalog::{parse_bundle, DEFAULT_MAX_BUNDLE_BYTES};
use motcua::kiosk::ui::*;
use slint::{ComponentHandle, Model};

use super::kiosk_ui::{click, fixture_custom, screen, Fixture};
use super::support::SMALL_CATALOG;

fn kiosk(adjust: impl FnOnce(&mut motcua::kiosk::KioskDeps)) -> Fixture {
    let bundle = parse_bundle(
        &std::fs::read(SMALL_CATALOG).unwrap(),
        DEFAULT_MAX_BUNDLE_BYTES,
    )
    .unwrap();
    fixture_custom(800, 480, bundle, adjust)
}

fn ticket(f: &Fixture) -> TicketAdapter<'_> {
    f.kiosk.window().global::<TicketAdapter>()
}

#[test]
fn take_a_number_from_a_procedure_and_from_a_field_tile() {
    let f = kiosk(|_| {});
    f.kiosk
        .open(&motcua::kiosk::ScreenTarget::Procedure("1.001193".into()))
        .unwrap();
    assert!(f
        .kiosk
        .window()
        .global::<ProcedureAdapter>()
        .get_can_take_number());
    click(&f, "take-number");
    assert_eq!(screen(&f), "ticket");
    let t = ticket(&f);
    assert_eq!(t.get_step(), 1);
    assert_eq!(t.get_number(), "1001");
    assert!(
        t.get_counter().starts_with("Quầy 1 · "),
        "{}",
        t.get_counter()
    );
    assert_eq!(t.get_procedure(), "Đăng ký khai sinh");
    assert_eq!(t.get_ahead(), "0 người");
    assert_eq!(
        t.get_wait(),
        "chưa đủ dữ liệu",
        "no services today in this kiosk's store"
    );
    assert!(t.get_has_qr(), "the follow link is a QR code");
    assert!(t.get_documents().row_count() > 0);
    assert!(
        t.get_documents().row_data(0).unwrap().contains("Tờ khai"),
        "{:?}",
        t.get_documents().row_data(0)
    );
    assert!(!t.get_printed_ok());
    assert_eq!(
        t.get_printed(),
        "Máy này không có máy in. Vui lòng chụp ảnh màn hình này để giữ số."
    );
    // The number and counter are on screen for a photograph.
    for label in ["ticket-number", "ticket-counter"] {
        assert_eq!(
            ElementHandle::find_by_accessible_label(f.kiosk.window(), label).count(),
            1,
            "{label} is on screen"
        );
    }
    click(&f, "Xong");
    assert_eq!(screen(&f), "home");

    // A field's tile, within two minutes: asked first; yes gives the next number.
    let field = f
        .kiosk
        .window()
        .global::<HomeAdapter>()
        .get_groups()
        .row_data(0)
        .unwrap()
        .fields
        .row_data(0)
        .unwrap();
    assert!(field.counter > 0);
    click(&f, &format!("take-number {}", field.code));
    assert_eq!(screen(&f), "ticket");
    assert_eq!(ticket(&f).get_step(), 2);
    assert!(
        ticket(&f).get_message().contains("cần thêm một số"),
        "{}",
        ticket(&f).get_message()
    );
    click(&f, "Lấy thêm một số");
    assert_eq!(ticket(&f).get_step(), 1);
    assert_eq!(ticket(&f).get_number(), format!("{}002", field.counter));
}

#[test]
fn the_rate_limit_stops_a_kiosk_from_emptying_the_day() {
    let f = kiosk(|d| {
        d.tickets.limits.per_minute = 2;
        d.tickets.limits.confirm_within_secs = 0;
    });
    for n in 1..=2 {
        f.kiosk
            .open(&motcua::kiosk::ScreenTarget::Ticket("1.001193".into()))
            .unwrap();
        assert_eq!(ticket(&f).get_number(), format!("100{n}"));
    }
    f.kiosk
        .open(&motcua::kiosk::ScreenTarget::Ticket("1.001193".into()))
        .unwrap();
    let t = ticket(&f);
    assert_eq!(t.get_step(), 3);
    assert_eq!(
        t.get_message(),
        "Máy đã cấp nhiều số trong một phút. Vui lòng thử lại sau 60 giây, hoặc hỏi cán bộ hướng dẫn."
    );
    // A minute later it issues again.
    f.clock.advance(std::time::Duration::from_secs(61));
    f.kiosk
        .open(&motcua::kiosk::ScreenTarget::Ticket("1.001193".into()))
        .unwrap();
    assert_eq!(ticket(&f).get_number(), "1003");
}

#[test]
fn an_absent_printer_asks_for_a_photo() {
    let f = kiosk(|d| {
        d.tickets.printer = Some(motcua::printer::PrinterConfig {
            device: "/nonexistent/usb/lp0".into(),
            width: 576,
        });
    });
    f.kiosk
        .open(&motcua::kiosk::ScreenTarget::Ticket("1.001193".into()))
        .unwrap();
    let t = ticket(&f);
    assert_eq!(t.get_number(), "1001");
    assert_eq!(
        t.get_printed(),
        "Không in được phiếu (máy in chưa được kết nối). Vui lòng chụp ảnh màn hình này để giữ số."
    );
}
