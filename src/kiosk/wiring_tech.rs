//! Wiring of the technician side of the kiosk: the hidden gesture, the PIN pad, the technician
//! screen (filled from `tech_info`, gathered on a worker thread when the kiosk runs for real),
//! and opening it by itself when provisioning failed or was just applied.

use std::path::PathBuf;

use slint::{ComponentHandle, SharedString};

use super::navigation::Screen;
use super::state::{model, Shared, State};
use super::tech_info::{self, TechInfo};
use super::technician::{PinCheck, MAX_PIN};
use super::ui::*;
use super::wiring::go;
use crate::appliance::LinkState;
use crate::catalog::Lang;
use crate::device::HealthLevel;

fn t(lang: Lang, vi: &str, en: &str) -> SharedString {
    SharedString::from(if lang == Lang::Vi { vi } else { en })
}

pub(super) fn connect(w: &KioskWindow, state: &Shared) {
    let (wk, st) = (w.as_weak(), state.clone());
    w.global::<AppAdapter>().on_status_tapped(move || {
        let Some(w) = wk.upgrade() else { return };
        let open = {
            let mut s = st.borrow_mut();
            let now = s.clock.now();
            s.tech.gesture.tap(now)
        };
        if open {
            open_gate(&w, &st);
        }
    });
    let tech = w.global::<TechAdapter>();
    let (wk, st) = (w.as_weak(), state.clone());
    tech.on_digit(move |d| {
        if let Some(w) = wk.upgrade() {
            {
                let mut s = st.borrow_mut();
                if s.tech.pin.len() < MAX_PIN && d.len() == 1 && d.as_bytes()[0].is_ascii_digit() {
                    s.tech.pin.push_str(&d);
                }
            }
            push_pin(&w, &st.borrow());
        }
    });
    let (wk, st) = (w.as_weak(), state.clone());
    tech.on_erase(move || {
        if let Some(w) = wk.upgrade() {
            st.borrow_mut().tech.pin.pop();
            push_pin(&w, &st.borrow());
        }
    });
    let (wk, st) = (w.as_weak(), state.clone());
    tech.on_submit(move || {
        if let Some(w) = wk.upgrade() {
            submit_pin(&w, &st);
        }
    });
    let (wk, st) = (w.as_weak(), state.clone());
    tech.on_refresh(move || {
        if let Some(w) = wk.upgrade() {
            refresh(&w, &st);
        }
    });
    let (wk, st) = (w.as_weak(), state.clone());
    tech.on_close(move || {
        if let Some(w) = wk.upgrade() {
            go(&w, &st, Screen::Home);
        }
    });
    let (wk, st) = (w.as_weak(), state.clone());
    tech.on_info_ready(move || {
        let Some(w) = wk.upgrade() else { return };
        let info = st
            .borrow()
            .tech
            .slot
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(info) = info {
            st.borrow_mut().tech.info = Some(info);
            push_tech(&w, &st.borrow());
        }
    });
}

/// The gesture completed: the PIN pad, or the screen itself when no PIN is set.
fn open_gate(w: &KioskWindow, state: &Shared) {
    let open = state.borrow().tech.gate.is_open();
    if open {
        open_screen(w, state);
        return;
    }
    {
        let mut s = state.borrow_mut();
        let now = s.clock.now();
        s.tech.pin.clear();
        s.tech.message = s
            .tech
            .gate
            .locked_for(now)
            .map(|secs| (locked(s.lang, secs), true));
    }
    go(w, state, Screen::Pin);
    push_pin(w, &state.borrow());
}

fn locked(lang: Lang, secs: u64) -> String {
    match lang {
        Lang::Vi => format!("Nhập sai quá nhiều lần. Thử lại sau {secs} giây."),
        Lang::En => format!("Too many wrong PINs. Try again in {secs} s."),
    }
}

fn submit_pin(w: &KioskWindow, state: &Shared) {
    let result = {
        let mut s = state.borrow_mut();
        let now = s.clock.now();
        let pin = std::mem::take(&mut s.tech.pin);
        s.tech.gate.check(&pin, now)
    };
    let lang = state.borrow().lang;
    let message = match result {
        PinCheck::Open => {
            state.borrow_mut().nav.back();
            open_screen(w, state);
            return;
        }
        PinCheck::Wrong { left } => match lang {
            Lang::Vi => format!("Mã PIN không đúng. Còn {left} lần thử."),
            Lang::En => format!("Wrong PIN. {left} tries left."),
        },
        PinCheck::Locked { secs } => locked(lang, secs),
    };
    state.borrow_mut().tech.message = Some((message, true));
    push_pin(w, &state.borrow());
}

/// Open the technician screen (no PIN asked: callers checked) and gather what it shows.
pub(super) fn open_screen(w: &KioskWindow, state: &Shared) {
    go(w, state, Screen::Technician);
    refresh(w, state);
}

/// Gather the info: inline for tests and screenshots, on a worker thread for a real kiosk
/// (the daemon call may wait).
fn refresh(w: &KioskWindow, state: &Shared) {
    let (root, services, background, slot) = {
        let s = state.borrow();
        (
            s.tech.root.clone(),
            s.services.clone(),
            s.background,
            s.tech.slot.clone(),
        )
    };
    let root_or_none = root.unwrap_or_else(|| PathBuf::from("/nonexistent-motcua-root"));
    if background {
        let weak = w.as_weak();
        std::thread::spawn(move || {
            let info = tech_info::gather(&root_or_none, services.as_ref());
            *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(info);
            let _ = weak.upgrade_in_event_loop(|w| w.global::<TechAdapter>().invoke_info_ready());
        });
    } else {
        let info = tech_info::gather(&root_or_none, services.as_ref());
        state.borrow_mut().tech.info = Some(info);
    }
    push_tech(w, &state.borrow());
}

/// Called every few seconds and at start: a new provisioning error, or provisioning applied
/// during this boot, opens the technician screen without the PIN.
pub(super) fn check_auto_open(w: &KioskWindow, state: &Shared, at_start: bool) {
    let Some(root) = state.borrow().tech.root.clone() else {
        return;
    };
    let error = tech_info::read_provision_error(&root);
    let new_error = error.is_some() && error != state.borrow().tech.error_shown;
    let just_provisioned = at_start && tech_info::provisioned_this_boot(&root);
    // Forget a fixed error, so that it opens the screen again if it comes back.
    state.borrow_mut().tech.error_shown = error;
    if new_error || just_provisioned {
        let why = if new_error {
            "provisioning error"
        } else {
            "provisioned during this boot"
        };
        tracing::info!("technician screen: opened by itself ({why})");
        open_screen(w, state);
    }
}

pub(super) fn push_pin(w: &KioskWindow, st: &State) {
    let a = w.global::<TechAdapter>();
    let n = st.tech.pin.len();
    a.set_pin_length(n as i32);
    a.set_pin_dots(if n == 0 {
        "–".into()
    } else {
        vec!["●"; n].join(" ").into()
    });
    let (msg, err) = st.tech.message.clone().unwrap_or_else(|| {
        (
            t(st.lang, "Nhập mã PIN rồi bấm OK", "Enter the PIN, then OK").into(),
            false,
        )
    });
    a.set_pin_message(msg.into());
    a.set_pin_error(err);
}

fn line(label: SharedString, value: impl Into<SharedString>) -> TechLine {
    TechLine {
        label,
        value: value.into(),
    }
}

pub(super) fn push_tech(w: &KioskWindow, st: &State) {
    let a = w.global::<TechAdapter>();
    let lang = st.lang;
    let tr = |vi: &str, en: &str| t(lang, vi, en);
    let Some(info) = &st.tech.info else {
        a.set_lines(model(vec![line(tr("Đang tải", "Loading"), "…")]));
        a.set_health(model(Vec::new()));
        a.set_doctor(model(Vec::new()));
        a.set_doctor_services(model(Vec::new()));
        a.set_doctor_log(model(Vec::new()));
        return;
    };
    a.set_error_title(tr(
        "Cấu hình ban đầu bị lỗi — chưa áp dụng",
        "Provisioning failed — nothing was applied",
    ));
    a.set_error_text(info.provision_error.clone().unwrap_or_default().into());
    a.set_error_hint(tr(
        "Sửa tệp motcua.toml trên phân vùng khởi động của thẻ nhớ (cạnh cmdline.txt) rồi khởi động lại thiết bị.",
        "Fix motcua.toml on the SD card's boot partition (next to cmdline.txt), then restart the device.",
    ));
    let mut lines = Vec::new();
    let addrs = if info.addresses.is_empty() {
        tr("không có (chưa có mạng)", "none (no network)").to_string()
    } else {
        info.addresses
            .iter()
            .map(|(i, a)| format!("{a} ({i})"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    lines.push(line(tr("Địa chỉ IP", "IP address"), addrs));
    lines.push(line(tr("Tên máy", "Hostname"), info.hostname.as_str()));
    match &info.provisioned {
        Some(Ok(p)) => {
            lines.push(line(tr("Thiết bị", "Device"), p.device_name.as_str()));
            lines.push(line(
                tr("Mã trung tâm", "Center code"),
                p.center_code.as_str(),
            ));
            lines.push(line(
                tr("Mã thiết bị (khoá)", "Device ID (key)"),
                p.device_public_key.as_str(),
            ));
            lines.push(line(
                tr(
                    "Vân tay chứng chỉ (SHA-256)",
                    "Certificate fingerprint (SHA-256)",
                ),
                p.tls_fingerprint_sha256.as_str(),
            ));
            lines.push(line(
                tr("Cấu hình lúc", "Provisioned at"),
                p.applied_at.as_str(),
            ));
            for warning in &p.warnings {
                lines.push(line(tr("Cảnh báo", "Warning"), warning.as_str()));
            }
            if !p.pending_sections.is_empty() {
                lines.push(line(
                    tr("Chưa dùng", "Not used yet"),
                    p.pending_sections.join(", "),
                ));
            }
        }
        Some(Err(e)) => lines.push(line(tr("Cấu hình", "Provisioning"), e.as_str())),
        None => {
            lines.push(line(tr("Thiết bị", "Device"), st.device.as_str()));
            lines.push(line(
                tr("Cấu hình", "Provisioning"),
                tr(
                    "chưa cấu hình (không có provisioned.json)",
                    "not provisioned (no provisioned.json)",
                ),
            ));
        }
    }
    lines.push(line(
        tr("Danh mục", "Catalog"),
        format!("v{} ({})", st.bundle.version, st.bundle.issued_at),
    ));
    let link = match &st.link {
        LinkState::Online => tr("đã kết nối", "online").to_string(),
        LinkState::Offline { since: Some(t) } => {
            format!("{} {t}", tr("mất kết nối từ", "offline since"))
        }
        LinkState::Offline { since: None } => tr("mất kết nối", "offline").to_string(),
        LinkState::NotConfigured => tr("không dùng máy chủ", "no server configured").to_string(),
    };
    lines.push(line(tr("Máy chủ", "Server link"), link));
    lines.push(line(
        tr("Phiên bản", "Version"),
        format!("motcua {}", info.version),
    ));
    a.set_lines(model(lines));
    let (title, health) = match &info.health {
        Ok(r) => {
            let level = match r.level {
                HealthLevel::Ok => tr("tốt", "OK"),
                HealthLevel::Degraded => tr("giảm chất lượng", "degraded"),
                HealthLevel::Fault => tr("lỗi", "fault"),
            };
            let items = r
                .items
                .iter()
                .map(|i| HealthLine {
                    name: i.name.as_str().into(),
                    message: i.message.as_str().into(),
                    level: i.level as i32,
                })
                .collect();
            (format!("{}: {level}", tr("Tình trạng", "Health")), items)
        }
        Err(e) => (
            tr("Tình trạng: không rõ", "Health: unknown").to_string(),
            vec![HealthLine {
                name: "daemon".into(),
                message: e.as_str().into(),
                level: 2,
            }],
        ),
    };
    a.set_health_title(title.into());
    a.set_health(model(health));
    push_doctor(&a, info, &tr);
    a.set_note(if st.tech.gate.is_open() {
        tr(
            "Chưa đặt mã PIN kỹ thuật viên: thêm technician_pin vào tệp cấu hình ban đầu.",
            "No technician PIN is set: add technician_pin to the provisioning file.",
        )
    } else {
        SharedString::new()
    });
}

/// The doctor view: each check's level, summary and what to do next; the units' state and
/// the daemon's recent log lines (or why there are none).
fn push_doctor(a: &TechAdapter<'_>, info: &TechInfo, tr: &dyn Fn(&str, &str) -> SharedString) {
    use crate::doctor::CheckLevel;
    a.set_log_title(tr("Dịch vụ và nhật ký", "Services and log"));
    match &info.doctor {
        Ok(v) => {
            let worst = match v.worst {
                CheckLevel::Ok => tr("tất cả đạt", "all checks passed"),
                CheckLevel::Warn => tr("có mục cần xem", "some checks need attention"),
                CheckLevel::Fail => tr("có mục lỗi", "some checks failed"),
            };
            a.set_doctor_title(format!("{}: {worst}", tr("Kiểm tra (doctor)", "Doctor")).into());
            let lines = v
                .checks
                .iter()
                .map(|c| {
                    let mut m = c.summary.clone();
                    for d in &c.details {
                        m.push_str(&format!("\n{d}"));
                    }
                    if let Some(n) = &c.next {
                        m.push_str(&format!("\n→ {n}"));
                    }
                    HealthLine {
                        name: c.name.as_str().into(),
                        message: m.into(),
                        level: c.level as i32,
                    }
                })
                .collect();
            a.set_doctor(model(lines));
            let services: Vec<SharedString> =
                v.services.iter().map(|s| s.as_str().into()).collect();
            a.set_doctor_services(model(services));
            let log: Vec<SharedString> = if v.log.is_empty() {
                vec![tr(
                    "nhật ký: không có cảnh báo gần đây",
                    "log: no recent warnings",
                )]
            } else {
                v.log.iter().map(|l| l.as_str().into()).collect()
            };
            a.set_doctor_log(model(log));
        }
        Err(e) => {
            a.set_doctor_title(tr(
                "Kiểm tra (doctor): không chạy được",
                "Doctor: could not run",
            ));
            a.set_doctor(model(vec![HealthLine {
                name: "daemon".into(),
                message: e.as_str().into(),
                level: 2,
            }]));
            a.set_doctor_services(model(Vec::new()));
            a.set_doctor_log(model(Vec::new()));
        }
    }
}
