//! A 1-bit page for a thermal printer and what can be drawn on it: Vietnamese text shaped and
//! rasterised from the kiosk's embedded Noto Sans (swash, the shaper and rasteriser Slint's
//! software renderer uses), wrapped to a width, and a QR code.
//!
//! Why raster: most ESC/POS printers sold in Vietnam have no code page with Vietnamese letters
//! (ư, ơ, đ and the stacked tone marks), so text printed as characters comes out wrong. A
//! bitmap prints the same on every printer that understands `GS v 0`.

use swash::scale::{Render, ScaleContext, Source};
use swash::shape::ShapeContext;
use swash::zeno::{Format, Vector};
use swash::FontRef;

static REGULAR: &[u8] = include_bytes!("../../ui/fonts/NotoSans-Regular.ttf");
static BOLD: &[u8] = include_bytes!("../../ui/fonts/NotoSans-Bold.ttf");

/// Alpha at or above this prints as a black dot (thermal paper has no grey).
const INK_THRESHOLD: u8 = 110;

/// A page of dots, `true` = black. Rows grow as things are drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bitmap {
    pub width: usize,
    pub height: usize,
    /// Row-major, one `bool` per dot.
    pub dots: Vec<bool>,
}

impl Bitmap {
    pub fn new(width: usize, height: usize) -> Bitmap {
        Bitmap {
            width,
            height,
            dots: vec![false; width * height],
        }
    }

    pub fn get(&self, x: usize, y: usize) -> bool {
        x < self.width && y < self.height && self.dots[y * self.width + x]
    }

    pub fn set(&mut self, x: i64, y: i64) {
        if x >= 0 && y >= 0 && (x as usize) < self.width && (y as usize) < self.height {
            self.dots[y as usize * self.width + x as usize] = true;
        }
    }

    /// Add `rows` blank rows at the bottom.
    pub fn grow(&mut self, rows: usize) {
        self.height += rows;
        self.dots.resize(self.width * self.height, false);
    }

    pub fn fill_rect(&mut self, x: i64, y: i64, w: usize, h: usize) {
        for dy in 0..h as i64 {
            for dx in 0..w as i64 {
                self.set(x + dx, y + dy);
            }
        }
    }

    /// Grey PNG (black dots on white), for previews, tests and OCR.
    pub fn to_png(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut enc = png::Encoder::new(&mut out, self.width as u32, self.height.max(1) as u32);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut data: Vec<u8> = self.dots.iter().map(|&b| if b { 0 } else { 255 }).collect();
        if data.is_empty() {
            data = vec![255; self.width];
        }
        // Writing to a Vec cannot fail; the header was built from valid sizes.
        let mut w = enc
            .write_header()
            .expect("PNG header for an in-memory page");
        w.write_image_data(&data)
            .expect("PNG data for an in-memory page");
        drop(w);
        out
    }
}

/// Regular or bold Noto Sans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weight {
    Regular,
    Bold,
}

/// Horizontal placement of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Center,
}

/// One positioned glyph of a shaped run.
struct Placed {
    id: u16,
    x: f32,
    y: f32,
}

/// Shapes and draws text; keeps swash's caches between lines.
pub struct Typesetter {
    shape: ShapeContext,
    scale: ScaleContext,
}

impl Default for Typesetter {
    fn default() -> Self {
        Typesetter::new()
    }
}

impl Typesetter {
    pub fn new() -> Typesetter {
        Typesetter {
            shape: ShapeContext::new(),
            scale: ScaleContext::new(),
        }
    }

    fn font(weight: Weight) -> FontRef<'static> {
        let data = match weight {
            Weight::Regular => REGULAR,
            Weight::Bold => BOLD,
        };
        // The fonts are compiled in and known to parse (see the test below).
        FontRef::from_index(data, 0).expect("embedded Noto Sans parses")
    }

    /// Glyphs of `text` at `px`, and the run's advance width.
    fn shape(&mut self, text: &str, weight: Weight, px: f32) -> (Vec<Placed>, f32) {
        let font = Self::font(weight);
        let mut shaper = self.shape.builder(font).size(px).build();
        shaper.add_str(text);
        let mut glyphs = Vec::new();
        let mut pen = 0.0f32;
        shaper.shape_with(|cluster| {
            for g in cluster.glyphs {
                glyphs.push(Placed {
                    id: g.id,
                    x: pen + g.x,
                    y: g.y,
                });
                pen += g.advance;
            }
        });
        (glyphs, pen)
    }

    /// Advance width of `text` in dots.
    pub fn width(&mut self, text: &str, weight: Weight, px: f32) -> f32 {
        self.shape(text, weight, px).1
    }

    /// Break `text` into lines no wider than `max_width` dots, at spaces; a single word wider
    /// than the line is cut between characters.
    pub fn wrap(&mut self, text: &str, weight: Weight, px: f32, max_width: f32) -> Vec<String> {
        let mut lines = Vec::new();
        let mut line = String::new();
        for word in text.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_owned()
            } else {
                format!("{line} {word}")
            };
            if self.width(&candidate, weight, px) <= max_width {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            // The word alone: cut it if it still does not fit.
            let mut piece = String::new();
            for ch in word.chars() {
                piece.push(ch);
                if self.width(&piece, weight, px) > max_width && piece.chars().count() > 1 {
                    piece.pop();
                    lines.push(std::mem::take(&mut piece));
                    piece.push(ch);
                }
            }
            line = piece;
        }
        if !line.is_empty() {
            lines.push(line);
        }
        lines
    }

    /// Draw wrapped `text` at the bottom of `page` (growing it), `px` high, with `gap` dots of
    /// space above; returns the number of lines drawn.
    pub fn paragraph(
        &mut self,
        page: &mut Bitmap,
        text: &str,
        weight: Weight,
        px: f32,
        align: Align,
        gap: usize,
    ) -> usize {
        let margin = 8.0;
        let lines = self.wrap(text, weight, px, page.width as f32 - 2.0 * margin);
        let font = Self::font(weight);
        let m = font.metrics(&[]).scale(px);
        let line_height = (m.ascent + m.descent + m.leading).ceil().max(px) as usize;
        page.grow(gap);
        for line in &lines {
            let top = page.height;
            page.grow(line_height);
            let (glyphs, advance) = self.shape(line, weight, px);
            let left = match align {
                Align::Left => margin,
                Align::Center => ((page.width as f32 - advance) / 2.0).max(0.0),
            };
            let baseline = top as f32 + m.ascent;
            self.draw(page, &glyphs, weight, px, left, baseline);
        }
        lines.len()
    }

    fn draw(
        &mut self,
        page: &mut Bitmap,
        glyphs: &[Placed],
        weight: Weight,
        px: f32,
        left: f32,
        baseline: f32,
    ) {
        let font = Self::font(weight);
        let mut scaler = self.scale.builder(font).size(px).hint(true).build();
        for g in glyphs {
            let x = left + g.x;
            let y = baseline - g.y;
            let Some(img) = Render::new(&[Source::Outline])
                .format(Format::Alpha)
                .offset(Vector::new(x.fract(), 0.0))
                .render(&mut scaler, g.id)
            else {
                continue;
            };
            let p = img.placement;
            let ox = x.floor() as i64 + p.left as i64;
            let oy = y.round() as i64 - p.top as i64;
            for row in 0..p.height as usize {
                for col in 0..p.width as usize {
                    if img.data[row * p.width as usize + col] >= INK_THRESHOLD {
                        page.set(ox + col as i64, oy + row as i64);
                    }
                }
            }
        }
    }
}

/// Draw a QR code for `text`, `module` dots per module, centred, with a 4-module quiet zone.
pub fn qr(page: &mut Bitmap, text: &str, module: usize) -> Result<(), qrcode::types::QrError> {
    let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M)?;
    let n = code.width();
    let colors = code.to_colors();
    let size = (n + 8) * module;
    let top = page.height;
    page.grow(size);
    let left = (page.width.saturating_sub(size)) / 2 + 4 * module;
    for y in 0..n {
        for x in 0..n {
            if colors[y * n + x] == qrcode::Color::Dark {
                page.fill_rect(
                    (left + x * module) as i64,
                    (top + (4 + y) * module) as i64,
                    module,
                    module,
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vietnamese_text_inks_and_wraps_within_the_page() {
        let mut t = Typesetter::new();
        let mut page = Bitmap::new(384, 0);
        let text = "Đăng ký khai sinh cho trẻ em có yếu tố nước ngoài ở khu vực biên giới";
        let n = t.paragraph(&mut page, text, Weight::Regular, 28.0, Align::Left, 0);
        assert!(n >= 2, "{n} line(s)");
        assert!(page.dots.iter().any(|&d| d), "nothing inked");
        // Every line fits the printable width (margins of 8 dots).
        for line in t.wrap(text, Weight::Regular, 28.0, 368.0) {
            assert!(t.width(&line, Weight::Regular, 28.0) <= 368.0, "{line}");
        }
        // Stacked tone marks ink above the letter: "Ễ" reaches higher than "E".
        let mut top_row = |s: &str| {
            let mut p = Bitmap::new(200, 0);
            t.paragraph(&mut p, s, Weight::Bold, 40.0, Align::Left, 0);
            (0..p.height)
                .find(|&y| (0..p.width).any(|x| p.get(x, y)))
                .unwrap()
        };
        assert!(top_row("Ễ") < top_row("E"));
    }

    #[test]
    fn a_word_wider_than_the_line_is_cut() {
        let mut t = Typesetter::new();
        let lines = t.wrap(&"M".repeat(40), Weight::Bold, 40.0, 200.0);
        assert!(lines.len() > 1);
        assert_eq!(lines.concat(), "M".repeat(40));
    }

    #[test]
    fn qr_is_square_and_centred() {
        let mut page = Bitmap::new(384, 0);
        qr(&mut page, "https://hub.example.vn/t/abc", 4).unwrap();
        assert_eq!(page.height % 4, 0);
        let inked: Vec<usize> = (0..page.width)
            .filter(|&x| (0..page.height).any(|y| page.get(x, y)))
            .collect();
        let (l, r) = (inked[0], *inked.last().unwrap());
        assert!(
            (l as i64 - (page.width - 1 - r) as i64).abs() <= 4,
            "{l} {r}"
        );
    }
}
