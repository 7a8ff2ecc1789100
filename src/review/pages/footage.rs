//! Footage pages: the search form and results, a record's case (snapshots in time order with
//! integrity marks and the export button), one snapshot with its full image, a counter's day.
//!
//! Markup only, from data the handlers pass; every value is escaped by `maud`.

use chrono::NaiveDate;
use maud::{html, Markup};

use super::{clock_ict, layout, time_ict, Lang};
use crate::record::RecordId;
use crate::recorder::footage::Snapshot;
use crate::review::query::CaseSummary;
use crate::review::routes_footage::Integrity;
use crate::review::session::Session;

/// What the search form shows back.
#[derive(Debug, Clone, Default)]
pub struct SearchForm {
    pub record: String,
    pub counter: String,
    pub from: String,
    pub to: String,
}

pub fn search(
    lang: Lang,
    s: &Session,
    f: &SearchForm,
    error: Option<&str>,
    results: Option<&[CaseSummary]>,
) -> Markup {
    let body = html! {
        form.searchform method="get" action="/search" {
            div {
                label for="record" { (lang.t("Mã hồ sơ (đủ hoặc phần đầu)", "Record ID (whole or start)")) }
                input #record name="record" value=(f.record) size="30"
                    placeholder="000.00.14.H56-251119-0042" autofocus;
            }
            div {
                label for="counter" { (lang.t("Quầy", "Counter")) }
                input #counter name="counter" value=(f.counter) size="4" inputmode="numeric";
            }
            div {
                label for="from" { (lang.t("Từ ngày", "From")) }
                input #from type="date" name="from" value=(f.from);
            }
            div {
                label for="to" { (lang.t("Đến ngày", "To")) }
                input #to type="date" name="to" value=(f.to);
            }
            div { button #search-button type="submit" { (lang.t("Tìm", "Search")) } }
        }
        @if let Some(e) = error { p.err { (e) } }
        @if let (Some(n), true) = (f.counter.trim().parse::<u32>().ok(), !f.from.trim().is_empty()) {
            p { a href={ "/counter/" (n) "/day/" (f.from.trim()) } {
                (lang.t("Xem dòng thời gian của quầy trong ngày", "See the counter's day as a timeline"))
            } }
        }
        @if let Some(rs) = results {
            h2 { (lang.t("Kết quả", "Results")) " (" (rs.len()) ")" }
            @if rs.is_empty() {
                p.msg { (lang.t("Không có ảnh nào khớp.", "No snapshots match.")) }
            } @else {
                table #results {
                    thead { tr {
                        th { (lang.t("Mã hồ sơ", "Record ID")) }
                        th { (lang.t("Số ảnh", "Snapshots")) }
                        th { (lang.t("Quầy", "Counter")) }
                        th { (lang.t("Đầu tiên", "First")) }
                        th { (lang.t("Cuối cùng", "Last")) }
                    } }
                    tbody { @for r in rs { tr {
                        td.mono { a.case-link href={ "/case/" (r.record_id) } { (r.record_id) } }
                        td { (r.snapshots) }
                        td { (r.counters) }
                        td { (time_ict(r.first_ms)) }
                        td { (time_ict(r.last_ms)) }
                    } } }
                }
            }
        }
    };
    layout(
        lang,
        lang.t("Tra cứu ảnh theo hồ sơ", "Find snapshots by record"),
        s,
        "/search",
        body,
    )
}

fn mark(lang: Lang, i: Integrity) -> Markup {
    html! {
        @if i.file_ok && i.chain_ok {
            span.ok.integrity title=(lang.t("Tệp khớp SHA-256 và mắt xích chuỗi băm hợp lệ", "File matches its SHA-256 and its hash-chain link is valid")) {
                "✔ " (lang.t("toàn vẹn", "intact"))
            }
        } @else {
            span.bad.integrity {
                "✘ "
                @if !i.file_ok { (lang.t("tệp bị thiếu hoặc bị sửa", "file missing or altered")) " " }
                @if !i.chain_ok { (lang.t("chuỗi băm không khớp", "hash chain mismatch")) }
            }
        }
    }
}

/// How long before the trigger the frame was taken (negative: after it).
fn frame_age(lang: Lang, ms: i64) -> String {
    if ms >= 0 {
        format!(
            "{ms} ms {}",
            lang.t("trước lệnh chụp", "before the trigger")
        )
    } else {
        format!(
            "{} ms {}",
            -ms,
            lang.t("sau lệnh chụp", "after the trigger")
        )
    }
}

/// The camera's clock against the device's: ahead, behind, or in step (within a second, the
/// resolution of an HTTP `Date`).
fn camera_skew(lang: Lang, camera_ms: i64, device_ms: i64) -> String {
    let skew = camera_ms - device_ms;
    let secs = format!("{:.1}", skew.unsigned_abs() as f64 / 1000.0);
    if skew.abs() < 1000 {
        lang.t(
            "khớp với thiết bị (lệch dưới 1 giây)",
            "in step with the device (within 1 s)",
        )
        .to_owned()
    } else if skew > 0 {
        format!(
            "{} {} {}",
            lang.t("nhanh hơn thiết bị", "ahead of the device by"),
            secs.replace('.', lang.t(",", ".")),
            lang.t("giây", "s")
        )
    } else {
        format!(
            "{} {} {}",
            lang.t("chậm hơn thiết bị", "behind the device by"),
            secs.replace('.', lang.t(",", ".")),
            lang.t("giây", "s")
        )
    }
}

fn facts(lang: Lang, s: &Snapshot) -> Markup {
    html! {
        dl {
            dt { (lang.t("Thời điểm", "Time")) } dd { (time_ict(s.captured_at_ms)) }
            dt { (lang.t("Quầy", "Counter")) } dd { (s.counter) }
            dt { (lang.t("Số vé", "Ticket")) } dd.na { (lang.t("chưa ghi nhận", "not recorded")) }
            dt { (lang.t("Lý do", "Reason")) } dd.reason { (s.reason) }
            @if let Some(age) = s.frame_age_ms {
                dt { (lang.t("Tuổi khung hình", "Frame age")) }
                dd { (frame_age(lang, age)) }
            }
            @if let Some(cam) = s.camera_time_ms {
                dt { (lang.t("Đồng hồ camera", "Camera clock")) }
                dd.camera-clock {
                    (time_ict(cam)) " · " (camera_skew(lang, cam, s.captured_at_ms))
                    " · " (lang.t("chỉ để tham khảo; thời điểm là của thiết bị",
                        "for reference only; the time above is the device's"))
                }
            }
            @if let Some(seq) = s.recovered_from_seq {
                dt { (lang.t("Khôi phục", "Recovered")) }
                dd { (lang.t("từ tệp, số thứ tự gốc ", "from its file, first stored as seq ")) (seq) }
            }
            dt { "SHA-256" } dd.mono { (s.sha256) }
            @if s.pinned { dt { (lang.t("Đã xuất", "Exported")) } dd { (lang.t("có (giữ lại)", "yes (kept)")) } }
        }
    }
}

pub fn case(lang: Lang, s: &Session, id: &RecordId, rows: &[(Snapshot, Integrity)]) -> Markup {
    let all_ok = rows.iter().all(|(_, i)| i.file_ok && i.chain_ok);
    let body = html! {
        p {
            (lang.t("Hồ sơ", "Record")) " " strong.mono #record-id { (id.as_str()) } " · "
            (rows.len()) " " (lang.t("ảnh, theo thứ tự thời gian (giờ Việt Nam)", "snapshots, in time order (Vietnam time)"))
        }
        @if rows.is_empty() {
            p.msg { (lang.t("Không có ảnh nào của hồ sơ này.", "No snapshots of this record.")) }
        } @else {
            div.actions {
                form method="post" action={ "/case/" (id.as_str()) "/export" } {
                    input type="hidden" name="csrf" value=(s.csrf);
                    button #export-button type="submit" { (lang.t("Xuất bằng chứng (.zip)", "Export evidence (.zip)")) }
                }
                @if all_ok { span.ok { (lang.t("Tất cả ảnh toàn vẹn", "All snapshots intact")) } }
                @else { span.bad { (lang.t("Có ảnh không toàn vẹn — chạy `motcua snapshots verify`", "Some snapshots failed the check — run `motcua snapshots verify`")) } }
            }
            div.cards { @for (snap, i) in rows {
                div.card {
                    a.snapshot-link href={ "/snapshot/" (snap.id) } {
                        img src={ "/snapshot/" (snap.id) "/thumb" } alt={ (lang.t("Ảnh quầy ", "Counter ")) (snap.counter) " " (clock_ict(snap.captured_at_ms)) };
                    }
                    (mark(lang, *i))
                    (facts(lang, snap))
                }
            } }
        }
    };
    layout(
        lang,
        lang.t("Hồ sơ", "Case"),
        s,
        &format!("/case/{}", id.as_str()),
        body,
    )
}

pub fn snapshot(lang: Lang, s: &Session, snap: &Snapshot, i: Integrity) -> Markup {
    let body = html! {
        p {
            @if let Some(r) = &snap.record_id {
                (lang.t("Hồ sơ", "Record")) " " a.mono href={ "/case/" (r) } { (r) } " · "
            }
            a href={ "/counter/" (snap.counter) "/day/" (day_of(snap.captured_at_ms)) } {
                (lang.t("Cả ngày của quầy", "The counter's day"))
            }
        }
        (mark(lang, i))
        div.full { img #full-image src={ "/snapshot/" (snap.id) "/image" } alt=(snap.reason) width=(snap.width) height=(snap.height); }
        div.card { (facts(lang, snap)) }
    };
    layout(
        lang,
        &format!("{} #{}", lang.t("Ảnh", "Snapshot"), snap.id),
        s,
        &format!("/snapshot/{}", snap.id),
        body,
    )
}

/// The ICT calendar day of a time, `YYYY-MM-DD`.
pub fn day_of(ms: i64) -> String {
    let t = time_ict(ms);
    // "HH:MM:SS DD/MM/YYYY"
    let d = t.get(9..).unwrap_or("");
    let p: Vec<&str> = d.split('/').collect();
    if p.len() == 3 {
        format!("{}-{}-{}", p[2], p[1], p[0])
    } else {
        String::new()
    }
}

pub fn timeline(
    lang: Lang,
    s: &Session,
    counter: u32,
    day: NaiveDate,
    rows: &[Snapshot],
) -> Markup {
    let mut last_hour = String::new();
    let items: Vec<(Option<String>, &Snapshot)> = rows
        .iter()
        .map(|snap| {
            let hour = clock_ict(snap.captured_at_ms)
                .get(..2)
                .unwrap_or("")
                .to_owned();
            let new = (hour != last_hour).then(|| hour.clone());
            last_hour = hour;
            (new, snap)
        })
        .collect();
    let prev = day.pred_opt().map(|d| d.to_string()).unwrap_or_default();
    let next = day.succ_opt().map(|d| d.to_string()).unwrap_or_default();
    let body = html! {
        p.actions {
            a href={ "/counter/" (counter) "/day/" (prev) } { "← " (prev) }
            strong { (lang.t("Quầy", "Counter")) " " (counter) " · " (day.to_string()) }
            a href={ "/counter/" (counter) "/day/" (next) } { (next) " →" }
        }
        @if rows.is_empty() {
            p.msg { (lang.t("Không có ảnh nào trong ngày này.", "No snapshots on this day.")) }
        } @else {
            ul.timeline { @for (hour, snap) in &items {
                @if let Some(h) = hour { li.hour { (h) ":00" } }
                li {
                    a href={ "/snapshot/" (snap.id) } {
                        img src={ "/snapshot/" (snap.id) "/thumb" } alt="";
                    }
                    strong { (clock_ict(snap.captured_at_ms)) } " · " (snap.reason) " · "
                    @if let Some(r) = &snap.record_id { a.mono href={ "/case/" (r) } { (r) } }
                    @else { span.na { (lang.t("không gắn hồ sơ", "no record")) } }
                }
            } }
        }
    };
    layout(
        lang,
        lang.t("Dòng thời gian của quầy", "Counter timeline"),
        s,
        &format!("/counter/{counter}/day/{day}"),
        body,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::review::accounts::Role;

    fn session() -> Session {
        Session {
            user: "lan".into(),
            role: Role::Supervisor,
            csrf: "tok".into(),
            expires_ms: 0,
        }
    }

    fn snap(reason: &str, record: Option<&str>) -> Snapshot {
        Snapshot {
            id: 7,
            sha256: "ab".repeat(32),
            bytes: 1,
            width: 640,
            height: 480,
            counter: 2,
            record_id: record.map(str::to_owned),
            captured_at_ms: 0,
            captured_at: String::new(),
            reason: reason.into(),
            pinned: false,
            missing: false,
            frame_age_ms: Some(40),
            camera_time_ms: None,
            recovered_from_seq: None,
        }
    }

    #[test]
    fn script_in_reason_record_or_search_is_escaped() {
        let evil = "<script>alert('x')</script>";
        let ok = Integrity {
            file_ok: true,
            chain_ok: true,
        };
        let pages = [
            snapshot(Lang::Vi, &session(), &snap(evil, Some(evil)), ok).into_string(),
            timeline(
                Lang::En,
                &session(),
                2,
                NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(),
                &[snap(evil, Some(evil))],
            )
            .into_string(),
            search(
                Lang::Vi,
                &session(),
                &SearchForm {
                    record: evil.into(),
                    ..Default::default()
                },
                Some(evil),
                Some(&[CaseSummary {
                    record_id: evil.into(),
                    snapshots: 1,
                    counters: "1".into(),
                    first_ms: 0,
                    last_ms: 0,
                }]),
            )
            .into_string(),
        ];
        for p in pages {
            assert!(!p.contains("<script>"), "{p}");
            assert!(p.contains("&lt;script&gt;"), "{p}");
        }
    }

    #[test]
    fn the_camera_clock_is_shown_beside_with_its_skew() {
        let mut s = snap("started", None);
        s.captured_at_ms = 1_796_526_000_000;
        let plain = facts(Lang::En, &s).into_string();
        assert!(!plain.contains("Camera clock"));
        s.camera_time_ms = Some(s.captured_at_ms - 93_400);
        let html = facts(Lang::En, &s).into_string();
        assert!(
            html.contains(
                "<dt>Camera clock</dt><dd class=\"camera-clock\">09:58:26 06/12/2026 · behind \
                 the device by 93.4 s · for reference only; the time above is the device's</dd>"
            ),
            "{html}"
        );
        assert_eq!(
            camera_skew(Lang::Vi, 2_500, 0),
            "nhanh hơn thiết bị 2,5 giây"
        );
        assert_eq!(
            camera_skew(Lang::En, 400, 0),
            "in step with the device (within 1 s)"
        );
    }

    #[test]
    fn day_of_is_ict() {
        assert_eq!(day_of(17 * 3_600_000), "1970-01-02");
        assert_eq!(day_of(0), "1970-01-01");
    }
}
