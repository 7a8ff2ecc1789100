//! GPIO through the kernel's GPIO character device (`/dev/gpiochipN`, uAPI v2, `gpiocdev`):
//! the backend that works on every kernel, Debian's included (they have no `/dev/gpiomem`,
//! which rppal's GPIO needs). Finds the chip that carries the 40-pin header, requests one line
//! per pin, and turns the kernel's edge events into [`Edge`]s on a thread per input.
//!
//! Owns only the chip choice and the line requests; which backend runs where is decided by
//! [`super::gpio::open`].

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use gpiocdev::line::{Bias as CBias, EdgeDetection, EdgeKind, Value};
use gpiocdev::request::Request;

use super::gpio::{Bias, Edge, Gpio, GpioError, InputWatch, OutputLine};

/// Labels of the chips that carry the 40-pin header, BCM numbering = line offset:
/// Pi 4 (BCM2711) and older on mainline kernels, and the Pi 5's RP1.
pub const HEADER_CHIP_LABELS: &[&str] = &[
    "pinctrl-bcm2711",
    "pinctrl-bcm2835",
    "pinctrl-rp1",
    "rp1-gpio",
];

/// Environment variable naming the chip to use instead (a path such as `/dev/gpiochip4`, or a
/// chip label); for boards whose header chip has another label.
pub const CHIP_ENV: &str = "MOTCUA_GPIO_CHIP";

/// The consumer label motcua's line requests carry (shown by `gpioinfo`).
pub const CONSUMER: &str = "motcua";

/// The GPIO character device of the header chip.
pub struct CdevGpio {
    chip: PathBuf,
    label: String,
    lines: u32,
}

fn map_err(pin: Option<u8>) -> impl Fn(gpiocdev::Error) -> GpioError {
    move |e| {
        let text = e.to_string();
        if text.contains("ermission denied") || text.contains("EACCES") {
            return GpioError::Permission(text);
        }
        match pin {
            Some(pin) => GpioError::Pin { pin, detail: text },
            None => GpioError::Other(text),
        }
    }
}

impl CdevGpio {
    /// The header chip: the one named by `MOTCUA_GPIO_CHIP`, else the first chip whose label
    /// is in [`HEADER_CHIP_LABELS`].
    pub fn open() -> Result<CdevGpio, GpioError> {
        let wanted = std::env::var(CHIP_ENV).ok().filter(|v| !v.is_empty());
        CdevGpio::open_in(Path::new("/dev"), wanted.as_deref())
    }

    /// As [`CdevGpio::open`], looking for `gpiochip*` nodes under `dev`.
    pub fn open_in(dev: &Path, wanted: Option<&str>) -> Result<CdevGpio, GpioError> {
        let mut nodes: Vec<PathBuf> = std::fs::read_dir(dev)
            .map_err(|e| GpioError::Other(format!("cannot list {}: {e}", dev.display())))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("gpiochip"))
            })
            .collect();
        nodes.sort();
        if nodes.is_empty() {
            return Err(GpioError::NotAPi(format!(
                "no GPIO character device (no {}/gpiochip*)",
                dev.display()
            )));
        }
        let mut seen = Vec::new();
        let mut denied = None;
        for node in &nodes {
            let info = match gpiocdev::Chip::from_path(node).and_then(|c| c.info()) {
                Ok(i) => i,
                Err(e) => {
                    let m = map_err(None)(e);
                    if matches!(m, GpioError::Permission(_)) {
                        denied = Some(format!("{}: {m}", node.display()));
                    }
                    continue;
                }
            };
            let hit = match wanted {
                Some(w) => Path::new(w) == node.as_path() || w == info.label,
                None => HEADER_CHIP_LABELS.contains(&info.label.as_str()),
            };
            if hit {
                return Ok(CdevGpio {
                    chip: node.clone(),
                    label: info.label,
                    lines: info.num_lines,
                });
            }
            seen.push(format!("{} ({})", node.display(), info.label));
        }
        if let Some(d) = denied {
            return Err(GpioError::Permission(d));
        }
        Err(GpioError::NotAPi(match wanted {
            Some(w) => format!(
                "no GPIO chip `{w}` (set by {CHIP_ENV}); found: {}",
                seen.join(", ")
            ),
            None => format!(
                "no Raspberry Pi header GPIO chip (labels {}); found: {}",
                HEADER_CHIP_LABELS.join(", "),
                seen.join(", ")
            ),
        }))
    }

    /// The chip's device node and label, e.g. `/dev/gpiochip0 (pinctrl-bcm2711)`.
    pub fn describe(&self) -> String {
        format!("{} ({})", self.chip.display(), self.label)
    }

    /// Who holds `pin` now (the kernel's consumer label, e.g. `motcua` for the daemon), if
    /// anyone.
    pub fn holder(&self, pin: u8) -> Option<String> {
        let info = gpiocdev::Chip::from_path(&self.chip)
            .and_then(|c| c.line_info(u32::from(pin)))
            .ok()?;
        (info.used && !info.consumer.is_empty()).then_some(info.consumer)
    }

    fn check_pin(&self, pin: u8) -> Result<(), GpioError> {
        if u32::from(pin) >= self.lines {
            return Err(GpioError::Pin {
                pin,
                detail: format!("{} has only {} lines", self.describe(), self.lines),
            });
        }
        Ok(())
    }
}

struct CdevInput {
    req: Arc<Request>,
    pin: u8,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl InputWatch for CdevInput {
    fn is_high(&self) -> Result<bool, GpioError> {
        self.req
            .value(u32::from(self.pin))
            .map(|v| v == Value::Active)
            .map_err(map_err(Some(self.pin)))
    }
}

impl Drop for CdevInput {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct CdevOutput {
    req: Request,
    pin: u8,
}

impl OutputLine for CdevOutput {
    fn set(&mut self, high: bool) {
        let v = if high { Value::Active } else { Value::Inactive };
        if let Err(e) = self.req.set_value(u32::from(self.pin), v) {
            tracing::warn!("GPIO output BCM {} not set: {e}", self.pin);
        }
    }
}

impl Gpio for CdevGpio {
    fn watch(
        &self,
        pin: u8,
        bias: Bias,
        edges: Sender<Edge>,
    ) -> Result<Box<dyn InputWatch>, GpioError> {
        self.check_pin(pin)?;
        let bias = match bias {
            Bias::Off => CBias::Disabled,
            Bias::PullUp => CBias::PullUp,
            Bias::PullDown => CBias::PullDown,
        };
        let req = Request::builder()
            .on_chip(&self.chip)
            .with_consumer(CONSUMER)
            .with_line(u32::from(pin))
            .as_input()
            .with_bias(bias)
            .with_edge_detection(EdgeDetection::BothEdges)
            .request()
            .map_err(map_err(Some(pin)))?;
        let req = Arc::new(req);
        let stop = Arc::new(AtomicBool::new(false));
        let (r, s) = (Arc::clone(&req), Arc::clone(&stop));
        let thread = std::thread::Builder::new()
            .name(format!("gpio-{pin}"))
            .spawn(move || {
                while !s.load(Ordering::Relaxed) {
                    match r.wait_edge_event(Duration::from_millis(200)) {
                        Ok(false) => continue,
                        Ok(true) => match r.read_edge_event() {
                            Ok(ev) => {
                                let edge = Edge {
                                    pin,
                                    high: ev.kind == EdgeKind::Rising,
                                    at: Instant::now(),
                                };
                                if edges.send(edge).is_err() {
                                    return;
                                }
                            }
                            Err(e) => {
                                tracing::warn!("GPIO BCM {pin}: reading an edge failed: {e}");
                                return;
                            }
                        },
                        Err(e) => {
                            tracing::warn!("GPIO BCM {pin}: waiting for edges failed: {e}");
                            return;
                        }
                    }
                }
            })
            .map_err(|e| GpioError::Other(format!("cannot start the GPIO thread: {e}")))?;
        Ok(Box::new(CdevInput {
            req,
            pin,
            stop,
            thread: Some(thread),
        }))
    }

    fn output(&self, pin: u8) -> Result<Box<dyn OutputLine>, GpioError> {
        self.check_pin(pin)?;
        let req = Request::builder()
            .on_chip(&self.chip)
            .with_consumer(CONSUMER)
            .with_line(u32::from(pin))
            .as_output(Value::Inactive)
            .request()
            .map_err(map_err(Some(pin)))?;
        Ok(Box::new(CdevOutput { req, pin }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_chip_nodes_is_a_clear_error() {
        let d = tempfile::tempdir().unwrap();
        let e = CdevGpio::open_in(d.path(), None).err().unwrap();
        assert!(matches!(e, GpioError::NotAPi(_)), "{e}");
        assert!(e.to_string().contains("no GPIO character device"), "{e}");
    }

    #[test]
    fn a_node_that_is_not_a_chip_is_skipped_and_named() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("gpiochip0"), "").unwrap();
        let e = CdevGpio::open_in(d.path(), None).err().unwrap();
        assert!(matches!(e, GpioError::NotAPi(_)), "{e}");
        assert!(
            e.to_string().contains("no Raspberry Pi header GPIO chip"),
            "{e}"
        );
    }
}
