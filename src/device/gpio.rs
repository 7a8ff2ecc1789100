//! GPIO behind a small trait, with the real backends (the kernel's GPIO character device in
//! `gpio_cdev`, and rppal) and a fake side by side; [`open`] picks the real one per kernel. Inputs deliver every edge, timestamped, into an `mpsc` channel; outputs are set high or
//! low. Debouncing, motion logic and LED patterns live elsewhere and only see this trait.
//!
//! Never decides anything from a level itself, and never opens GPIO unless asked (a unit with
//! no pins configured never touches /dev/gpiomem).

use std::collections::HashMap;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Internal resistor of an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bias {
    Off,
    PullUp,
    PullDown,
}

/// A level change seen on an input pin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    /// BCM pin number.
    pub pin: u8,
    /// The level after the change: true = high.
    pub high: bool,
    /// When it happened (monotonic).
    pub at: Instant,
}

/// Why a pin could not be used. The message says what to do next.
#[derive(Debug, thiserror::Error)]
pub enum GpioError {
    #[error("this is not a Raspberry Pi (or its model is unknown to rppal): {0}; remove the [gpio] pins from the config on other machines")]
    NotAPi(String),
    #[error("no permission for GPIO ({0}); run as a member of the `gpio` group")]
    Permission(String),
    #[error("GPIO pin {pin} is busy or unavailable ({detail}); check that no other program or device-tree overlay uses it")]
    Pin { pin: u8, detail: String },
    #[error("GPIO error: {0}")]
    Other(String),
}

/// Keeps an input configured and its edges flowing; dropping it stops them.
pub trait InputWatch: Send {
    /// The current level (true = high).
    fn is_high(&self) -> Result<bool, GpioError>;
}

/// An output line.
pub trait OutputLine: Send {
    fn set(&mut self, high: bool);
}

/// A GPIO controller.
pub trait Gpio: Send + Sync {
    /// Configure `pin` as an input and send every edge (both directions) to `edges`.
    fn watch(
        &self,
        pin: u8,
        bias: Bias,
        edges: Sender<Edge>,
    ) -> Result<Box<dyn InputWatch>, GpioError>;
    /// Configure `pin` as an output, initially low.
    fn output(&self, pin: u8) -> Result<Box<dyn OutputLine>, GpioError>;
}

// ------------------------------------------------------------------ choice per kernel

/// Which real backend [`open`] chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `/dev/gpiochipN` (uAPI v2): every kernel, Debian's included. The default.
    Cdev,
    /// rppal (`/dev/gpiomem`, Raspberry Pi OS kernels only): used only when no header chip is
    /// found on the character device but `/dev/gpiomem` exists.
    Rppal,
}

/// The real GPIO of this machine: the character device's header chip (see
/// `gpio_cdev::HEADER_CHIP_LABELS`), else rppal when the kernel offers `/dev/gpiomem` or
/// `/dev/gpiomem0` (a Raspberry Pi OS kernel with an unexpected chip label). Debian's kernels
/// have no gpiomem, so there it is always the character device.
pub fn open() -> Result<(Box<dyn Gpio>, Backend), GpioError> {
    match super::gpio_cdev::CdevGpio::open() {
        Ok(g) => {
            tracing::info!("GPIO: character device {}", g.describe());
            Ok((Box::new(g), Backend::Cdev))
        }
        Err(cdev) => {
            let gpiomem = ["/dev/gpiomem", "/dev/gpiomem0"]
                .iter()
                .any(|p| std::path::Path::new(p).exists());
            if !gpiomem {
                return Err(cdev);
            }
            match RppalGpio::open() {
                Ok(g) => Ok((Box::new(g), Backend::Rppal)),
                Err(e) => Err(GpioError::Other(format!(
                    "character device: {cdev}; rppal: {e}"
                ))),
            }
        }
    }
}

// ------------------------------------------------------------------ rppal (real)

/// The Raspberry Pi's GPIO through rppal (`/dev/gpiomem` + the GPIO character device for
/// interrupts).
pub struct RppalGpio {
    gpio: rppal::gpio::Gpio,
}

impl RppalGpio {
    pub fn open() -> Result<RppalGpio, GpioError> {
        rppal::gpio::Gpio::new()
            .map(|gpio| RppalGpio { gpio })
            .map_err(map_rppal(None))
    }
}

fn map_rppal(pin: Option<u8>) -> impl Fn(rppal::gpio::Error) -> GpioError {
    move |e| {
        use rppal::gpio::Error as E;
        match (&e, pin) {
            (E::UnknownModel, _) => GpioError::NotAPi(e.to_string()),
            (E::PermissionDenied(_), _) => GpioError::Permission(e.to_string()),
            (E::Io(io), _) if io.kind() == std::io::ErrorKind::PermissionDenied => {
                GpioError::Permission(e.to_string())
            }
            (_, Some(pin)) => GpioError::Pin {
                pin,
                detail: e.to_string(),
            },
            _ => GpioError::Other(e.to_string()),
        }
    }
}

struct RppalInput(rppal::gpio::InputPin);

impl InputWatch for RppalInput {
    fn is_high(&self) -> Result<bool, GpioError> {
        Ok(self.0.is_high())
    }
}

struct RppalOutput(rppal::gpio::OutputPin);

impl OutputLine for RppalOutput {
    fn set(&mut self, high: bool) {
        if high {
            self.0.set_high()
        } else {
            self.0.set_low()
        }
    }
}

impl Gpio for RppalGpio {
    fn watch(
        &self,
        pin: u8,
        bias: Bias,
        edges: Sender<Edge>,
    ) -> Result<Box<dyn InputWatch>, GpioError> {
        use rppal::gpio::Trigger;
        let p = self.gpio.get(pin).map_err(map_rppal(Some(pin)))?;
        let mut input = match bias {
            Bias::Off => p.into_input(),
            Bias::PullUp => p.into_input_pullup(),
            Bias::PullDown => p.into_input_pulldown(),
        };
        // rppal's own debounce is not used: `button::Debouncer` does it, tested with a mock clock.
        input
            .set_async_interrupt(Trigger::Both, None, move |ev| {
                let _ = edges.send(Edge {
                    pin,
                    high: ev.trigger == Trigger::RisingEdge,
                    at: Instant::now(),
                });
            })
            .map_err(map_rppal(Some(pin)))?;
        Ok(Box::new(RppalInput(input)))
    }

    fn output(&self, pin: u8) -> Result<Box<dyn OutputLine>, GpioError> {
        let p = self.gpio.get(pin).map_err(map_rppal(Some(pin)))?;
        Ok(Box::new(RppalOutput(p.into_output_low())))
    }
}

// ------------------------------------------------------------------ fake

#[derive(Default)]
struct FakeState {
    inputs: HashMap<u8, (bool, Option<Sender<Edge>>)>,
    outputs: HashMap<u8, Vec<bool>>,
    busy: Vec<u8>,
}

/// GPIO in memory: tests (and the demo) drive input levels and read what outputs were set to.
/// Clones share the same pins.
#[derive(Clone, Default)]
pub struct FakeGpio {
    state: Arc<Mutex<FakeState>>,
}

impl FakeGpio {
    pub fn new() -> FakeGpio {
        FakeGpio::default()
    }

    /// Make `pin` refuse to be configured (as a pin held by another program would).
    pub fn set_busy(&self, pin: u8) {
        self.lock().busy.push(pin);
    }

    /// Drive an input to a level at `at`; a change is delivered as an edge.
    pub fn drive(&self, pin: u8, high: bool, at: Instant) {
        let mut s = self.lock();
        let entry = s.inputs.entry(pin).or_insert((!high, None));
        if entry.0 != high {
            entry.0 = high;
            if let Some(tx) = &entry.1 {
                let _ = tx.send(Edge { pin, high, at });
            }
        }
    }

    /// The last level an output was set to, if it is an output.
    pub fn output_level(&self, pin: u8) -> Option<bool> {
        self.lock()
            .outputs
            .get(&pin)
            .and_then(|v| v.last().copied())
    }

    /// Every level an output was set to, in order.
    pub fn output_history(&self, pin: u8) -> Vec<bool> {
        self.lock().outputs.get(&pin).cloned().unwrap_or_default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

struct FakeInput {
    pin: u8,
    gpio: FakeGpio,
}

impl InputWatch for FakeInput {
    fn is_high(&self) -> Result<bool, GpioError> {
        Ok(self.gpio.lock().inputs.get(&self.pin).is_some_and(|i| i.0))
    }
}

impl Drop for FakeInput {
    fn drop(&mut self) {
        if let Some(i) = self.gpio.lock().inputs.get_mut(&self.pin) {
            i.1 = None;
        }
    }
}

struct FakeOutput {
    pin: u8,
    gpio: FakeGpio,
}

impl OutputLine for FakeOutput {
    fn set(&mut self, high: bool) {
        self.gpio
            .lock()
            .outputs
            .entry(self.pin)
            .or_default()
            .push(high);
    }
}

impl Gpio for FakeGpio {
    fn watch(
        &self,
        pin: u8,
        bias: Bias,
        edges: Sender<Edge>,
    ) -> Result<Box<dyn InputWatch>, GpioError> {
        let mut s = self.lock();
        if s.busy.contains(&pin) {
            return Err(GpioError::Pin {
                pin,
                detail: "busy (fake)".into(),
            });
        }
        let idle = bias == Bias::PullUp;
        let entry = s.inputs.entry(pin).or_insert((idle, None));
        entry.1 = Some(edges);
        drop(s);
        Ok(Box::new(FakeInput {
            pin,
            gpio: self.clone(),
        }))
    }

    fn output(&self, pin: u8) -> Result<Box<dyn OutputLine>, GpioError> {
        let mut s = self.lock();
        if s.busy.contains(&pin) {
            return Err(GpioError::Pin {
                pin,
                detail: "busy (fake)".into(),
            });
        }
        s.outputs.entry(pin).or_default().push(false);
        drop(s);
        Ok(Box::new(FakeOutput {
            pin,
            gpio: self.clone(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fake_inputs_deliver_changes_only_and_outputs_record_levels() {
        let gpio = FakeGpio::new();
        let (tx, rx) = std::sync::mpsc::channel();
        let w = gpio.watch(5, Bias::PullUp, tx).unwrap();
        assert!(w.is_high().unwrap());
        let t = Instant::now();
        gpio.drive(5, true, t); // no change
        gpio.drive(5, false, t);
        assert_eq!(
            rx.try_iter().collect::<Vec<_>>(),
            vec![Edge {
                pin: 5,
                high: false,
                at: t
            }]
        );
        let mut led = gpio.output(22).unwrap();
        led.set(true);
        assert_eq!(gpio.output_history(22), vec![false, true]);
        gpio.set_busy(6);
        assert_eq!(
            gpio.output(6).err().unwrap().to_string(),
            "GPIO pin 6 is busy or unavailable (busy (fake)); check that no other program or device-tree overlay uses it"
        );
    }

    #[test]
    fn rppal_off_a_pi_says_not_a_pi() {
        // On the build host (no Raspberry Pi) rppal answers UnknownModel.
        if std::fs::read_to_string("/proc/cpuinfo").is_ok_and(|c| c.contains("Raspberry Pi")) {
            return;
        }
        assert!(matches!(RppalGpio::open(), Err(GpioError::NotAPi(_))));
    }
}
