//! QR codes of online-submission URLs, as pixel buffers the views can show.

use qrcode::{Color, QrCode};
use slint::{Rgb8Pixel, SharedPixelBuffer};

/// Pixels per module and quiet-zone modules around the code.
const SCALE: usize = 4;
const QUIET: usize = 4;

/// A black-on-white QR code of `text`; None if it is too long to encode.
pub fn qr_pixels(text: &str) -> Option<SharedPixelBuffer<Rgb8Pixel>> {
    let code = QrCode::new(text.as_bytes()).ok()?;
    let modules = code.width();
    let colors = code.to_colors();
    let side = (modules + 2 * QUIET) * SCALE;
    let mut buf = SharedPixelBuffer::<Rgb8Pixel>::new(side as u32, side as u32);
    let px = buf.make_mut_slice();
    for (i, p) in px.iter_mut().enumerate() {
        let (x, y) = ((i % side) / SCALE, (i / side) / SCALE);
        let dark = x >= QUIET
            && y >= QUIET
            && x - QUIET < modules
            && y - QUIET < modules
            && colors[(y - QUIET) * modules + (x - QUIET)] == Color::Dark;
        let v = if dark { 0 } else { 255 };
        *p = Rgb8Pixel { r: v, g: v, b: v };
    }
    Some(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_becomes_a_square_code_with_dark_and_light_modules() {
        let buf = qr_pixels("https://dichvucong.gov.vn/p/home/dvc-tthc-thu-tuc-hanh-chinh-chi-tiet.html?ma_thu_tuc=1.001193").unwrap();
        assert_eq!(buf.width(), buf.height());
        let dark = buf.as_slice().iter().filter(|p| p.r == 0).count();
        let total = buf.as_slice().len();
        assert!(
            dark > total / 5 && dark < total * 3 / 4,
            "{dark} of {total}"
        );
        // The quiet zone is white.
        assert_eq!(buf.as_slice()[0].r, 255);
    }
}
