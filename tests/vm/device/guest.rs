//! The device layer on both real GPIO backends, run inside the QEMU guest by
//! `tests/vm/device.sh`: first the GPIO character device (`device::gpio::open`, the backend the
//! appliance uses on Debian's kernels: no fakes, the gpio-sim chip is found by its label), then
//! rppal on a faked Raspberry Pi (bind-mounted /proc/cpuinfo, /dev/gpiomem as a plain file).
//! The gpio-sim chip is labelled `pinctrl-bcm2835`; its line pulls play the outside world.
//!
//! Checks, per backend: a button press on BCM 5 becomes a snapshot request for the record
//! served at counter 2 (from a real catalog.db queue board); a PIR edge on BCM 17 wakes a
//! dimmed display (the fake backlight's brightness file changes). Prints timings; exits
//! non-zero on failure.
//! Never meant to run on a workstation: it writes to configfs.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use motcua::config::{ButtonPin, DisplayConfig, GpioConfig};
use motcua::device::backlight::{create_fake, Backlight};
use motcua::device::button::{BoardRecords, RecordingTrigger, SnapshotRequest};
use motcua::device::clock::SystemClock;
use motcua::device::display::DisplayPower;
use motcua::device::gpio::{Backend, Gpio, RppalGpio};
use motcua::device::service::{DeviceParts, DeviceService};
use motcua::device::EventBus;
use motcua::doctor::{GpioProbe, RealGpioProbe};
use motcua::queue::{QueueEvent, QueueEventKind};
use motcua::record::RecordId;
use motcua::store::{open_connection, queue_store, Access, CatalogStore};

const RECORD: &str = "000.00.14.H56-200203-0118";
const BUTTON: u32 = 5;
const PIR: u32 = 17;

/// A gpio-sim chip made through configfs (Documentation/admin-guide/gpio/gpio-sim.rst).
struct SimChip {
    dev_name: String,
    chip_name: String,
}

impl SimChip {
    fn new(label: &str, lines: u32) -> std::io::Result<SimChip> {
        let cfg = Path::new("/sys/kernel/config/gpio-sim/fakepi");
        fs::create_dir_all(cfg.join("bank0"))?;
        fs::write(cfg.join("bank0/num_lines"), lines.to_string())?;
        fs::write(cfg.join("bank0/label"), label)?;
        fs::write(cfg.join("live"), "1")?;
        Ok(SimChip {
            dev_name: fs::read_to_string(cfg.join("dev_name"))?.trim().into(),
            chip_name: fs::read_to_string(cfg.join("bank0/chip_name"))?
                .trim()
                .into(),
        })
    }
    fn pull(&self, line: u32, pull: &str) {
        let p = PathBuf::from(format!(
            "/sys/devices/platform/{}/{}/sim_gpio{line}/pull",
            self.dev_name, self.chip_name
        ));
        fs::write(&p, pull).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    }
}

fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) -> Duration {
    let t = Instant::now();
    while !f() {
        if t.elapsed() > timeout {
            eprintln!("DEVICE_VM FAIL: timed out waiting for {what}");
            std::process::exit(1);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    t.elapsed()
}

fn main() {
    let t_start = Instant::now();
    let sim = SimChip::new("pinctrl-bcm2835", 54).expect("gpio-sim chip");
    let (gpio, backend) = motcua::device::gpio::open().expect("GPIO character device");
    if backend != Backend::Cdev {
        eprintln!("DEVICE_VM FAIL: device::gpio::open chose {backend:?}, want Cdev");
        std::process::exit(1);
    }
    let cdev = scenario("cdev", Arc::from(gpio), &sim, t_start);
    let t_rppal = Instant::now();
    let rppal = scenario(
        "rppal",
        Arc::new(RppalGpio::open().expect("rppal on the faked Pi")),
        &sim,
        t_rppal,
    );
    let report = format!("{{\"cdev\": {cdev}, \"rppal\": {rppal}, \"record\": \"{RECORD}\"}}\n");
    let _ = fs::write("/mnt/host/device-vm.json", &report);
    println!("DEVICE_VM ok {report}");
}

/// Button and PIR through one backend; the timings as a JSON object.
fn scenario(name: &str, gpio: Arc<dyn Gpio>, sim: &SimChip, t_start: Instant) -> String {
    sim.pull(BUTTON, "pull-up"); // button idle (active low)
    sim.pull(PIR, "pull-down"); // no motion

    let tmp = Path::new("/tmp/device-vm").join(name);
    fs::create_dir_all(&tmp).unwrap();
    let catalog_db = tmp.join("catalog.db");
    drop(CatalogStore::open(&catalog_db).unwrap());
    let mut conn = open_connection(&catalog_db, Access::ReadWrite).unwrap();
    let started = QueueEvent {
        seq: 1,
        counter: 2,
        kind: QueueEventKind::Started,
        ticket: Some("2001".into()),
        record_id: Some(RecordId::parse(RECORD).unwrap()),
        waiting: Some(3),
        at: "2026-11-23T08:00:00+07:00".into(),
    };
    queue_store::apply_events(&mut conn, &[started]).unwrap();

    let root = tmp.join("root");
    let bl_dir = create_fake(&root, "fake-panel", 255, 255).unwrap();
    let brightness = || fs::read_to_string(bl_dir.join("brightness")).unwrap();
    let bus = EventBus::new();
    let display_cfg = DisplayConfig {
        dim_after_secs: 1,
        dim_percent: 10,
        ..DisplayConfig::default()
    };
    let bl = Backlight::find(&root, None).unwrap().unwrap();
    let display = DisplayPower::new(display_cfg, Box::new(bl), Instant::now());
    let (rx, stop) = (bus.subscribe(), Arc::new(AtomicBool::new(false)));
    let s = stop.clone();
    std::thread::spawn(move || display.run(rx, Arc::new(SystemClock), s, Duration::from_millis(5)));

    let trigger = Arc::new(RecordingTrigger::default());
    let service = DeviceService::start(DeviceParts {
        config: GpioConfig {
            pir_pin: Some(PIR as u8),
            buttons: vec![ButtonPin {
                counter: 2,
                pin: BUTTON as u8,
            }],
            status_led_pin: Some(22),
            ..GpioConfig::default()
        },
        gpio,
        bus: bus.clone(),
        trigger: trigger.clone(),
        records: Arc::new(BoardRecords { catalog_db }),
        clock: Arc::new(SystemClock),
    })
    .unwrap_or_else(|e| panic!("device service on {name}: {e:#}"));
    let setup = t_start.elapsed();

    wait_for("display dimmed", Duration::from_secs(5), || {
        brightness() == "26\n"
    });

    if name == "cdev" {
        // The doctor while the service holds the pins: held by motcua, so usable, not failed.
        let cfg = GpioConfig {
            pir_pin: Some(PIR as u8),
            ..GpioConfig::default()
        };
        let (_, pins) = RealGpioProbe.probe(&cfg).expect("doctor's GPIO probe");
        if pins.len() != 1
            || pins[0].2.is_err()
            || !pins[0].1.contains("held by the running motcua daemon")
        {
            eprintln!("DEVICE_VM FAIL: doctor probe while held: {pins:?}");
            std::process::exit(1);
        }
    }

    sim.pull(BUTTON, "pull-down"); // press
    let press = wait_for("snapshot request", Duration::from_secs(5), || {
        !trigger.0.lock().unwrap().is_empty()
    });
    sim.pull(BUTTON, "pull-up"); // release
    std::thread::sleep(Duration::from_millis(200));
    let requests = trigger.0.lock().unwrap().clone();
    let want = vec![SnapshotRequest {
        counter: 2,
        record_id: Some(RecordId::parse(RECORD).unwrap()),
        reason: "button",
    }];
    if requests != want {
        eprintln!("DEVICE_VM FAIL ({name}): requests {requests:?}, want {want:?}");
        std::process::exit(1);
    }

    sim.pull(PIR, "pull-up"); // someone approaches
    let wake = wait_for("display awake", Duration::from_secs(5), || {
        brightness() == "255\n"
    });
    service.stop();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    println!("DEVICE_VM {name} ok");
    format!(
        "{{\"setup_ms\": {}, \"press_to_request_ms\": {:.1}, \"motion_to_backlight_ms\": {:.1}}}",
        setup.as_millis(),
        press.as_secs_f64() * 1000.0,
        wake.as_secs_f64() * 1000.0
    )
}
