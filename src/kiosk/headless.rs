//! Headless rendering: a Slint platform whose only window is a `MinimalSoftwareWindow`, so any
//! build (kms, desktop or neither) can draw a screen into pixels and a PNG without a display.
//!
//! Install it once per thread with [`HeadlessWindow::install`] before creating the component.

use std::path::Path;
use std::rc::Rc;

use slint::platform::software_renderer::{MinimalSoftwareWindow, RepaintBufferType};
use slint::platform::{Platform, WindowAdapter};
use slint::{PhysicalSize, PlatformError, Rgb8Pixel};

struct HeadlessPlatform {
    window: Rc<MinimalSoftwareWindow>,
}

impl Platform for HeadlessPlatform {
    fn create_window_adapter(&self) -> Result<Rc<dyn WindowAdapter>, PlatformError> {
        Ok(self.window.clone())
    }
}

/// The one window of the headless platform.
pub struct HeadlessWindow {
    window: Rc<MinimalSoftwareWindow>,
}

impl HeadlessWindow {
    /// Make the headless platform this thread's Slint platform.
    pub fn install() -> Result<HeadlessWindow, PlatformError> {
        let window = MinimalSoftwareWindow::new(RepaintBufferType::NewBuffer);
        slint::platform::set_platform(Box::new(HeadlessPlatform {
            window: window.clone(),
        }))
        .map_err(|e| PlatformError::Other(format!("cannot install the headless platform: {e}")))?;
        Ok(HeadlessWindow { window })
    }

    pub fn set_size(&self, width: u32, height: u32) {
        self.window.set_size(PhysicalSize::new(width, height));
    }

    /// Draw the current frame; returns RGB pixels, row by row.
    pub fn render(&self, width: u32, height: u32) -> Vec<Rgb8Pixel> {
        slint::platform::update_timers_and_animations();
        let mut buf = vec![Rgb8Pixel::default(); (width * height) as usize];
        self.window.request_redraw();
        self.window.draw_if_needed(|r| {
            r.render(&mut buf, width as usize);
        });
        buf
    }
}

/// Write RGB pixels as a PNG file.
pub fn save_png(path: &Path, width: u32, height: u32, pixels: &[Rgb8Pixel]) -> std::io::Result<()> {
    let file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut enc = png::Encoder::new(file, width, height);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut w = enc.write_header().map_err(std::io::Error::other)?;
    let bytes: Vec<u8> = pixels.iter().flat_map(|p| [p.r, p.g, p.b]).collect();
    w.write_image_data(&bytes).map_err(std::io::Error::other)?;
    w.finish().map_err(std::io::Error::other)?;
    Ok(())
}
