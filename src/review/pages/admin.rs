//! Health, configuration and audit-log pages. Markup only; every value escaped by `maud`.
//! Pieces whose provider is not wired yet say "not available yet" rather than guessing.

use maud::{html, Markup};

use super::{layout, time_ict, Lang};
use crate::review::audit::AuditLine;
use crate::review::routes_admin::FootageHealth;
use crate::review::session::Session;
use crate::review::CameraHealth;

fn not_yet(lang: Lang) -> Markup {
    html! { p.na { (lang.t("Chưa có (thành phần này chưa được tích hợp vào bản này).", "Not available yet (this part is not integrated in this build).")) } }
}

fn mib(b: i64) -> String {
    format!("{:.1} MiB", b as f64 / 1_048_576.0)
}

pub fn health(
    lang: Lang,
    s: &Session,
    f: &FootageHealth,
    cameras: Option<Vec<CameraHealth>>,
    sync: Option<Vec<(String, String)>>,
    device: Option<Vec<(String, String)>>,
) -> Markup {
    let body = html! {
        h2 { (lang.t("Camera", "Cameras")) }
        @match &cameras {
            None => p.na { (lang.t("Không có thông tin camera: máy chủ xem lại đang chạy riêng, không trong dịch vụ motcua.", "No camera information: the review server runs on its own, not inside the motcua daemon.")) },
            Some(c) if c.is_empty() => p { (lang.t("Chưa cấu hình camera nào.", "No cameras are configured.")) },
            Some(c) => table { thead { tr {
                    th { (lang.t("Quầy", "Counter")) } th { (lang.t("Camera", "Camera")) }
                    th { (lang.t("Trạng thái", "State")) } th { (lang.t("Khung hình", "Frames")) }
                } }
                tbody { @for cam in c { tr {
                    td { (cam.counter) } td.mono { (cam.name) }
                    td { span class=(if cam.ok { "ok" } else { "bad" }) { (cam.state) } }
                    td { (cam.frames) }
                } } }
            },
        }
        h2 { (lang.t("Lưu trữ ảnh", "Footage storage")) }
        table { tbody {
            tr { th { (lang.t("Số ảnh", "Snapshots")) } td { (f.snapshots) } }
            tr { th { (lang.t("Dung lượng", "Size")) } td { (mib(f.bytes)) } }
            tr { th { (lang.t("Còn trống trên đĩa", "Free disk space")) } td {
                @match f.free_bytes { Some(b) => (mib(b as i64)), None => span.na { "?" } }
            } }
            tr { th { (lang.t("Chuỗi băm", "Hash chain")) } td {
                (f.chain_entries) " " (lang.t("mục, đầu chuỗi", "entries, head")) " #" (f.head_seq) " · "
                @if f.chain_problems.is_empty() { span.ok #chain-ok { (lang.t("hợp lệ", "valid")) } }
                @else { span.bad { (f.chain_problems.len()) " " (lang.t("vấn đề", "problems")) } }
            } }
        } }
        @if !f.chain_problems.is_empty() { ul.err { @for p in &f.chain_problems { li { (p) } } } }
        h2 { (lang.t("Đồng bộ", "Sync")) }
        @match &sync { None => (not_yet(lang)), Some(lines) => (kv(lines)) }
        h2 { (lang.t("Thiết bị", "Device")) }
        @match &device { None => (not_yet(lang)), Some(lines) => (kv(lines)) }
    };
    layout(
        lang,
        lang.t("Tình trạng thiết bị", "Device health"),
        s,
        "/health",
        body,
    )
}

fn kv(lines: &[(String, String)]) -> Markup {
    html! { table { tbody { @for (k, v) in lines { tr { th { (k) } td { (v) } } } } } }
}

pub fn config(lang: Lang, s: &Session, lines: &[(String, String)]) -> Markup {
    let body = html! {
        p { (lang.t("Cấu hình đang dùng (không có bí mật). Sửa /etc/motcua/motcua.toml rồi khởi động lại dịch vụ.", "The configuration in use (no secrets). Edit /etc/motcua/motcua.toml and restart the service.")) }
        table { tbody { @for (k, v) in lines { tr { th.mono { (k) } td.mono { (v) } } } } }
    };
    layout(
        lang,
        lang.t("Cấu hình", "Configuration"),
        s,
        "/config",
        body,
    )
}

pub fn audit(lang: Lang, s: &Session, lines: &[AuditLine], more: Option<i64>) -> Markup {
    let body = html! {
        p { (lang.t("Mọi lần xem và xuất ảnh, ghi nối tiếp vào chuỗi băm của kho ảnh (không sửa, không xóa được).", "Every view and export, appended to the footage hash chain (cannot be edited or deleted unnoticed).")) }
        table #audit { thead { tr {
            th { "#" } th { (lang.t("Thời điểm", "When")) } th { (lang.t("Người", "Who")) }
            th { (lang.t("Việc", "What")) } th { (lang.t("Đối tượng", "Target")) } th { (lang.t("Từ địa chỉ", "From")) }
        } }
        tbody { @for l in lines { tr.audit-line {
            td { (l.seq) }
            td { (time_ict(l.at_ms)) }
            @match &l.detail {
                Some(d) => {
                    td { (d.user) @if let Some(r) = &d.role { " (" (r) ")" } }
                    td.action { (d.action.as_str()) @if !d.detail.is_empty() { br; small { (d.detail) } } }
                }
                None => { td { "?" } td.mono { (l.raw) } }
            }
            td {
                @if let Some(r) = &l.record_id { a.mono href={ "/case/" (r) } { (r) } " " }
                @if let Some(id) = l.snapshot_id { a href={ "/snapshot/" (id) } { "#" (id) } " " }
                @if let Some(c) = l.counter { (lang.t("quầy", "counter")) " " (c) }
            }
            td.mono { @if let Some(d) = &l.detail { (d.from) } }
        } } } }
        @if let Some(b) = more { p.pager { a href={ "/audit?before=" (b) } { (lang.t("Cũ hơn →", "Older →")) } } }
    };
    layout(
        lang,
        lang.t("Nhật ký truy cập", "Audit log"),
        s,
        "/audit",
        body,
    )
}
