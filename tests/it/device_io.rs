//! The device service end to end on the fake GPIO: a bouncy button press at a counter becomes
//! one snapshot request linked to the record served there (read from a real catalog.db queue
//! board), a motion edge wakes a dimmed display (fake sysfs backlight), the LED shows health.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use motcua::config::{ButtonPin, DisplayConfig, GpioConfig};
use motcua::device::backlight::{create_fake, Backlight};
use motcua::device::button::{BoardRecords, RecordingTrigger, SnapshotRequest};
use motcua::device::clock::SystemClock;
use motcua::device::display::DisplayPower;
use motcua::device::gpio::FakeGpio;
use motcua::device::service::{DeviceParts, DeviceService};
use motcua::device::{DeviceEvent, EventBus, HealthLevel};
use motcua::queue::{QueueEvent, QueueEventKind};
use motcua::record::RecordId;
use motcua::store::{open_connection, queue_store, Access, CatalogStore};

const RECORD: &str = "000.00.14.H56-200203-0118";

fn board_with_record(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("catalog.db");
    drop(CatalogStore::open(&path).unwrap());
    let mut conn = open_connection(&path, Access::ReadWrite).unwrap();
    let ev = QueueEvent {
        seq: 1,
        counter: 2,
        kind: QueueEventKind::Started,
        ticket: Some("2001".into()),
        record_id: Some(RecordId::parse(RECORD).unwrap()),
        waiting: Some(3),
        at: "2026-11-23T08:00:00+07:00".into(),
    };
    queue_store::apply_events(&mut conn, &[ev]).unwrap();
    path
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn button_press_motion_and_led_through_the_service() {
    let dir = tempfile::tempdir().unwrap();
    let catalog_db = board_with_record(dir.path());
    let gpio = FakeGpio::new();
    let bus = EventBus::new();
    let events = bus.subscribe();
    let trigger = Arc::new(RecordingTrigger::default());
    let config = GpioConfig {
        pir_pin: Some(17),
        buttons: vec![
            ButtonPin { counter: 2, pin: 5 },
            ButtonPin { counter: 3, pin: 6 },
        ],
        status_led_pin: Some(22),
        ..GpioConfig::default()
    };
    // display: a fake backlight, dimmed, woken by motion
    let root = dir.path().join("root");
    let bl_dir = create_fake(&root, "bl", 100, 100).unwrap();
    let display_cfg = DisplayConfig {
        dim_after_secs: 1,
        dim_percent: 10,
        ..DisplayConfig::default()
    };
    let bl = Backlight::find(&root, None).unwrap().unwrap();
    let display = DisplayPower::new(display_cfg, Box::new(bl), Instant::now());
    let stop = Arc::new(AtomicBool::new(false));
    let (rx, s) = (bus.subscribe(), stop.clone());
    let display_thread = std::thread::spawn(move || {
        display.run(rx, Arc::new(SystemClock), s, Duration::from_millis(10))
    });

    let service = DeviceService::start(DeviceParts {
        config,
        gpio: Arc::new(gpio.clone()),
        bus: bus.clone(),
        trigger: trigger.clone(),
        records: Arc::new(BoardRecords { catalog_db }),
        clock: Arc::new(SystemClock),
    })
    .unwrap();

    // A bouncy press at counter 2 (active low): four edges within 3 ms.
    let t0 = Instant::now();
    for (i, high) in [false, true, false, true, false].into_iter().enumerate() {
        gpio.drive(5, high, t0 + Duration::from_millis(i as u64 * 3 / 4));
    }
    gpio.drive(5, true, t0 + Duration::from_millis(200));
    gpio.drive(6, false, t0 + Duration::from_millis(300));
    wait_for("two snapshot requests", || {
        trigger.0.lock().unwrap().len() == 2
    });
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(
        *trigger.0.lock().unwrap(),
        vec![
            SnapshotRequest {
                counter: 2,
                record_id: Some(RecordId::parse(RECORD).unwrap()),
                reason: "button"
            },
            SnapshotRequest {
                counter: 3,
                record_id: None,
                reason: "button"
            },
        ]
    );

    // Display dims after 1 s; a motion edge on the PIR (active high) wakes it.
    let brightness = || std::fs::read_to_string(bl_dir.join("brightness")).unwrap();
    wait_for("dimmed", || brightness() == "10\n");
    gpio.drive(17, true, Instant::now());
    wait_for("awake after motion", || brightness() == "100\n");
    let got: Vec<DeviceEvent> = events.try_iter().collect();
    assert_eq!(
        got,
        vec![
            DeviceEvent::Button { counter: 2 },
            DeviceEvent::Button { counter: 3 },
            DeviceEvent::Motion { quiet_before: None }
        ]
    );

    // LED: steady when ok, blinking when degraded.
    wait_for("LED lit", || gpio.output_level(22) == Some(true));
    service.set_health(HealthLevel::Degraded);
    wait_for("LED blinks off", || gpio.output_level(22) == Some(false));
    wait_for("LED blinks on", || gpio.output_level(22) == Some(true));
    service.stop();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    display_thread.join().unwrap();
}
