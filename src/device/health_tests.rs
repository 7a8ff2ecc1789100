//! Tests of `health.rs` on fake sysfs trees: exact parsing, refusals and judgement.

use super::*;
use std::path::Path;

fn put(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn now() -> DateTime<Utc> {
    "2026-11-23T08:00:00Z".parse().unwrap()
}

#[test]
fn throttled_bits_decode_and_bad_contents_are_named() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    assert_eq!(pi_power(r).unwrap(), None);
    put(r, GET_THROTTLED, "50005\n");
    let p = pi_power(r).unwrap().unwrap();
    assert!(p.under_voltage_now && p.throttled_now && p.under_voltage_since_boot);
    assert!(!p.freq_capped_now && !p.soft_temp_limit_now && p.throttled_since_boot);
    assert_eq!(p.raw, Some(0x50005));
    assert_eq!(judge_power(&p).level, HealthLevel::Fault);
    put(r, GET_THROTTLED, "0x50000\n");
    let p = pi_power(r).unwrap().unwrap();
    assert_eq!(judge_power(&p).level, HealthLevel::Degraded);
    put(r, GET_THROTTLED, "0\n");
    assert_eq!(
        judge_power(&pi_power(r).unwrap().unwrap()).level,
        HealthLevel::Ok
    );
    for badv in ["", "zz", "123456789", "-1"] {
        put(r, GET_THROTTLED, &format!("{badv}\n"));
        assert_eq!(
            pi_power(r).unwrap_err(),
            format!(
                "{} holds {badv:?}, expected hexadecimal flags like 50005",
                r.join(GET_THROTTLED).display()
            )
        );
    }
}

#[test]
fn hwmon_under_voltage_alarm_is_used_without_get_throttled() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    put(r, "sys/class/hwmon/hwmon0/name", "cpu_thermal\n");
    put(r, "sys/class/hwmon/hwmon1/name", "rpi_volt\n");
    put(r, "sys/class/hwmon/hwmon1/in0_lcrit_alarm", "1\n");
    let p = pi_power(r).unwrap().unwrap();
    assert!(p.under_voltage_now);
    assert_eq!(p.raw, None);
    put(r, "sys/class/hwmon/hwmon1/in0_lcrit_alarm", "yes\n");
    assert!(pi_power(r)
        .unwrap_err()
        .ends_with("in0_lcrit_alarm holds \"yes\", expected 0 or 1"));
}

#[test]
fn cpu_temperature_prefers_cpu_thermal_and_validates() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    assert_eq!(cpu_temp(r).unwrap(), None);
    put(r, "sys/class/thermal/thermal_zone0/type", "gpu-thermal\n");
    put(r, "sys/class/thermal/thermal_zone0/temp", "40000\n");
    assert_eq!(cpu_temp(r).unwrap(), Some(40.0));
    put(r, "sys/class/thermal/thermal_zone1/type", "cpu-thermal\n");
    put(r, "sys/class/thermal/thermal_zone1/temp", "81234\n");
    assert_eq!(cpu_temp(r).unwrap(), Some(81.234));
    assert_eq!(
        judge_temp(81.234).message,
        "CPU 81.2 °C; give the case air, or add a heatsink or fan"
    );
    assert_eq!(judge_temp(81.234).level, HealthLevel::Degraded);
    assert_eq!(judge_temp(85.0).level, HealthLevel::Fault);
    assert_eq!(judge_temp(50.0).message, "CPU 50.0 °C");
    put(r, "sys/class/thermal/thermal_zone1/temp", "999999\n");
    assert!(cpu_temp(r).unwrap_err().ends_with(
        "temp holds \"999999\", expected millidegrees Celsius between -40000 and 150000"
    ));
}

#[test]
fn ext4_counters_and_disk_thresholds() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    put(r, "sys/fs/ext4/mmcblk0p3/errors_count", "2\n");
    put(r, "sys/fs/ext4/mmcblk0p2/errors_count", "0\n");
    put(r, "sys/fs/ext4/features/lazy_itable_init", "supported\n");
    let e = ext4_errors(r).unwrap();
    assert_eq!(
        e,
        vec![
            Ext4Errors {
                device: "mmcblk0p2".into(),
                errors_count: 0
            },
            Ext4Errors {
                device: "mmcblk0p3".into(),
                errors_count: 2
            }
        ]
    );
    put(r, "sys/fs/ext4/mmcblk0p3/errors_count", "two\n");
    assert!(ext4_errors(r)
        .unwrap_err()
        .ends_with("errors_count holds \"two\", expected an unsigned decimal integer"));
    let d = |free: u64, total: u64| {
        judge_disk(&DiskSpace {
            free_bytes: free,
            total_bytes: total,
        })
        .level
    };
    assert_eq!(d(20 * GIB, 30 * GIB), HealthLevel::Ok);
    assert_eq!(d(2 * GIB, 30 * GIB), HealthLevel::Degraded);
    assert_eq!(d(512 * MIB, 2 * GIB), HealthLevel::Degraded);
    assert_eq!(d(200 * MIB, 2 * GIB), HealthLevel::Fault);
    assert_eq!(d(0, 0), HealthLevel::Fault);
    // A small, nearly empty partition (the field report: "580 MiB free (97.7 %)") is fine.
    assert_eq!(d(580 * MIB, 594 * MIB), HealthLevel::Ok);
    assert_eq!(d(200 * MIB, 300 * MIB), HealthLevel::Ok);
    assert!(disk_space(r).unwrap().total_bytes > 0);
}

#[test]
fn report_takes_the_worst_and_round_trips_through_json() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    put(r, GET_THROTTLED, "0\n");
    put(r, "sys/class/thermal/thermal_zone0/temp", "45000\n");
    put(r, "sys/fs/ext4/sda1/errors_count", "0\n");
    let cams = vec![CameraHealth {
        counter: Some(2),
        name: "usb-cam".into(),
        ok: false,
        detail: "no frames for 30 s".into(),
    }];
    let rep = collect(HealthInputs {
        root: r,
        data_dir: r,
        cameras: cams,
        sync: SyncHealth::LastSuccess {
            at: now() - chrono::Duration::minutes(5),
        },
        now: now(),
    });
    // The disk item reads the real filesystem under the temp dir, so a nearly full build
    // machine may make it worse than the camera: the report is the worst of both.
    let disk = rep.items.iter().find(|i| i.name == "disk").unwrap().level;
    assert_eq!(rep.level, disk.max(HealthLevel::Degraded));
    let cam = rep.items.iter().find(|i| i.name == "camera").unwrap();
    assert_eq!(cam.message, "camera usb-cam (counter 2): no frames for 30 s; check its USB cable, or unplug and plug it back");
    let sync = rep.items.iter().find(|i| i.name == "sync").unwrap();
    assert_eq!(
        (sync.level, sync.message.as_str()),
        (HealthLevel::Ok, "last successful sync 5 min ago")
    );
    let json = serde_json::to_value(&rep).unwrap();
    assert_eq!(json["level"], serde_json::to_value(rep.level).unwrap());
    assert_eq!(json["sync"]["state"], "last_success");
    let back: HealthReport = serde_json::from_value(json).unwrap();
    assert_eq!(back, rep);
    let stale = judge_sync(
        SyncHealth::LastSuccess {
            at: now() - chrono::Duration::minutes(125),
        },
        now(),
    )
    .unwrap();
    assert_eq!(
        stale.message,
        "last successful sync 2 h 5 min ago; check the network link"
    );
    assert_eq!(judge_sync(SyncHealth::NotConfigured, now()), None);
}
