//! Queue tickets on an ESC/POS thermal printer (issue 20, part 3: printing).
//!
//! - [`raster`]: a 1-bit page; Vietnamese text from the embedded Noto Sans; QR codes.
//! - [`escpos`]: the page as `GS v 0` raster bands, feed and cut; a decoder for the same.
//! - [`status`]: `DLE EOT` status bytes in plain words (paper out, cover open, …).
//! - [`device`]: a USB printer's `/dev/usb/lp*` node, with timeouts.
//!
//! [`render_ticket`] lays a [`TicketPrint`] out for a 58 mm (384 dots) or 80 mm (576 dots)
//! roll. What is not here yet: issuing the number (the hub's tickets), the kiosk's "Lấy số"
//! screens, and printer health in `doctor`; `motcua printer` drives this module by hand.

pub mod device;
pub mod escpos;
pub mod raster;
pub mod status;

use raster::{Align, Bitmap, Typesetter, Weight};
use std::path::PathBuf;

use serde::Deserialize;

/// Dots across an 80 mm roll at 203 dpi (72 mm printable).
pub const WIDTH_80MM: usize = 576;
/// Dots across a 58 mm roll at 203 dpi (48 mm printable).
pub const WIDTH_58MM: usize = 384;

/// `[printer]` in the device's config: the ticket printer, when there is one.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrinterConfig {
    /// The USB printer's device node, e.g. `/dev/usb/lp0`.
    pub device: PathBuf,
    /// Dots across: 576 (80 mm roll) or 384 (58 mm).
    #[serde(default = "default_width")]
    pub width: usize,
}

fn default_width() -> usize {
    WIDTH_80MM
}

impl PrinterConfig {
    pub fn check(&self) -> Result<(), String> {
        if self.width != WIDTH_80MM && self.width != WIDTH_58MM {
            return Err(format!(
                "[printer] width = {}: must be 576 (80 mm) or 384 (58 mm)",
                self.width
            ));
        }
        Ok(())
    }
}

/// What a ticket says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketPrint {
    pub center: String,
    /// As the counter's board shows it, e.g. "2007".
    pub number: String,
    pub counter: u32,
    /// The counter's fields, e.g. "Tư pháp – Hộ tịch".
    pub counter_name: String,
    pub procedure: Option<String>,
    /// People ahead when the number was issued.
    pub ahead: Option<u32>,
    /// Estimated wait in minutes.
    pub wait_minutes: Option<u32>,
    /// Local time of issue, as printed ("08:32 05/12/2026").
    pub issued_at: String,
    /// The public page that follows this number (QR).
    pub follow_url: Option<String>,
}

/// The ticket as a page `width` dots wide.
pub fn render_ticket(t: &TicketPrint, width: usize) -> Bitmap {
    let scale = width as f32 / WIDTH_80MM as f32;
    let px = |p: f32| (p * scale).round();
    let mut ts = Typesetter::new();
    let mut page = Bitmap::new(width, 0);
    ts.paragraph(
        &mut page,
        &t.center,
        Weight::Bold,
        px(28.0),
        Align::Center,
        8,
    );
    ts.paragraph(
        &mut page,
        "SỐ THỨ TỰ CỦA BẠN",
        Weight::Regular,
        px(26.0),
        Align::Center,
        12,
    );
    ts.paragraph(
        &mut page,
        &t.number,
        Weight::Bold,
        px(150.0),
        Align::Center,
        0,
    );
    ts.paragraph(
        &mut page,
        &format!("Quầy {} · {}", t.counter, t.counter_name),
        Weight::Bold,
        px(32.0),
        Align::Center,
        4,
    );
    if let Some(p) = &t.procedure {
        ts.paragraph(&mut page, p, Weight::Regular, px(26.0), Align::Center, 10);
    }
    let mut waiting = Vec::new();
    if let Some(n) = t.ahead {
        waiting.push(format!("Trước bạn: {n} người"));
    }
    if let Some(m) = t.wait_minutes {
        waiting.push(format!("chờ khoảng {m} phút"));
    }
    if !waiting.is_empty() {
        ts.paragraph(
            &mut page,
            &waiting.join(", "),
            Weight::Regular,
            px(26.0),
            Align::Center,
            10,
        );
    }
    ts.paragraph(
        &mut page,
        &t.issued_at,
        Weight::Regular,
        px(24.0),
        Align::Center,
        6,
    );
    if let Some(url) = &t.follow_url {
        // A URL too long for a QR code is left off rather than failing the ticket.
        if raster::qr(&mut page, url, (6.0 * scale).round().max(3.0) as usize).is_ok() {
            ts.paragraph(
                &mut page,
                "Quét mã để theo dõi lượt của bạn",
                Weight::Regular,
                px(22.0),
                Align::Center,
                0,
            );
        }
    }
    page.grow(8);
    page
}

/// The whole print job for a ticket: the page, a feed past the cutter, the cut.
pub fn ticket_job(t: &TicketPrint, width: usize) -> Vec<u8> {
    escpos::encode(&render_ticket(t, width), 4)
}

/// A sample ticket (for `motcua printer test` and the docs' picture).
pub fn sample_ticket() -> TicketPrint {
    TicketPrint {
        center: "Trung tâm Phục vụ hành chính công phường Hạc Thành".into(),
        number: "2007".into(),
        counter: 2,
        counter_name: "Tư pháp – Hộ tịch".into(),
        procedure: Some("Đăng ký khai sinh".into()),
        ahead: Some(4),
        wait_minutes: Some(25),
        issued_at: "08:32 · 05/12/2026".into(),
        follow_url: Some("https://hub.example.vn/t/HT-2-2007".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_fits_both_roll_widths_and_decodes_back() {
        for width in [WIDTH_58MM, WIDTH_80MM] {
            let page = render_ticket(&sample_ticket(), width);
            assert_eq!(page.width, width);
            assert!(page.height > 400, "{width}: {} rows", page.height);
            let d = escpos::decode(&ticket_job(&sample_ticket(), width)).unwrap();
            assert_eq!(d.cuts, 1);
            for y in 0..page.height {
                for x in 0..width {
                    assert_eq!(d.page.get(x, y), page.get(x, y));
                }
            }
        }
    }
}
