//! The `[gpio]` and `[display]` sections of `motcua.toml` (re-exported by `crate::config`).
//!
//! Owns the field list, defaults and the checks that run when the file is loaded: pin numbers in
//! range, no pin used twice, counters unique, timings sane. Documented in `docs/config.md`.
//! Never touches hardware: whether a pin is actually usable is `motcua doctor`'s question.

use serde::Deserialize;

/// Highest BCM GPIO number on the 40-pin header of a Raspberry Pi.
pub const MAX_HEADER_PIN: u8 = 27;

/// Pins of the PIR sensor, the counters' capture buttons and the status LED (BCM numbers).
/// Every pin is optional: a unit without a sensor simply has no `pir_pin`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GpioConfig {
    /// BCM number of the PIR motion sensor's output; none = no sensor.
    #[serde(default)]
    pub pir_pin: Option<u8>,
    /// The PIR output is high while it sees motion (true for HC-SR501 and most modules).
    #[serde(default = "yes")]
    pub pir_active_high: bool,
    /// One capture button per counter: `{ counter = 1, pin = 5 }`.
    #[serde(default)]
    pub buttons: Vec<ButtonPin>,
    /// Buttons connect the pin to ground (internal pull-up, pressed = low).
    #[serde(default = "yes")]
    pub buttons_active_low: bool,
    /// Quiet time in milliseconds a button line needs before a press counts (contact bounce).
    #[serde(default = "default_debounce_ms")]
    pub debounce_ms: u32,
    /// BCM number of the status LED; none = no LED.
    #[serde(default)]
    pub status_led_pin: Option<u8>,
    /// The LED lights when its pin is high.
    #[serde(default = "yes")]
    pub status_led_active_high: bool,
}

/// A counter's capture button.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ButtonPin {
    /// Counter number as the queue system numbers it (1–99).
    pub counter: u32,
    /// BCM number of the button's pin.
    pub pin: u8,
}

impl Default for GpioConfig {
    fn default() -> Self {
        GpioConfig {
            pir_pin: None,
            pir_active_high: true,
            buttons: Vec::new(),
            buttons_active_low: true,
            debounce_ms: default_debounce_ms(),
            status_led_pin: None,
            status_led_active_high: true,
        }
    }
}

fn yes() -> bool {
    true
}
fn default_debounce_ms() -> u32 {
    30
}

impl GpioConfig {
    /// True when no pin is configured at all (GPIO is then not opened).
    pub fn is_empty(&self) -> bool {
        self.pir_pin.is_none() && self.buttons.is_empty() && self.status_led_pin.is_none()
    }

    /// Every configured pin with its role, e.g. `(5, "gpio.buttons[counter 1]")`.
    pub fn pins(&self) -> Vec<(u8, String)> {
        let mut pins = Vec::new();
        if let Some(p) = self.pir_pin {
            pins.push((p, "gpio.pir_pin".to_owned()));
        }
        for b in &self.buttons {
            pins.push((b.pin, format!("gpio.buttons[counter {}]", b.counter)));
        }
        if let Some(p) = self.status_led_pin {
            pins.push((p, "gpio.status_led_pin".to_owned()));
        }
        pins
    }

    pub(crate) fn check(&self) -> Result<(), String> {
        let pins = self.pins();
        for (i, (pin, role)) in pins.iter().enumerate() {
            if *pin > MAX_HEADER_PIN {
                return Err(format!(
                    "{role} = {pin} is not a header GPIO; use a BCM number from 0 to {MAX_HEADER_PIN}"
                ));
            }
            if let Some((_, other)) = pins[..i].iter().find(|(p, _)| p == pin) {
                return Err(format!("{role} and {other} both use pin {pin}"));
            }
        }
        for (i, b) in self.buttons.iter().enumerate() {
            if !(1..=99).contains(&b.counter) {
                return Err(format!(
                    "gpio.buttons: counter {} must be between 1 and 99",
                    b.counter
                ));
            }
            if self.buttons[..i].iter().any(|o| o.counter == b.counter) {
                return Err(format!(
                    "gpio.buttons: counter {} has more than one button",
                    b.counter
                ));
            }
        }
        if !(5..=500).contains(&self.debounce_ms) {
            return Err("gpio.debounce_ms must be between 5 and 500".into());
        }
        Ok(())
    }
}

/// Screen power: which backlight, how bright, when to dim and when to switch off.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisplayConfig {
    /// Name of the device under `/sys/class/backlight/`; none = the first one found.
    #[serde(default)]
    pub backlight: Option<String>,
    /// Brightness while someone uses the kiosk, percent of the maximum (1–100).
    #[serde(default = "default_awake_pct")]
    pub awake_percent: u8,
    /// Brightness after `dim_after_secs` without touch or motion, percent (0–100).
    #[serde(default = "default_dim_pct")]
    pub dim_percent: u8,
    /// Seconds without touch or motion before dimming; 0 = never dim.
    #[serde(default = "default_dim_after")]
    pub dim_after_secs: u32,
    /// Seconds without touch or motion before the backlight is switched off; 0 = never.
    #[serde(default)]
    pub off_after_secs: u32,
    /// A PIR motion edge wakes the screen (and sends the kiosk home).
    #[serde(default = "yes")]
    pub motion_wakes: bool,
}

impl Default for DisplayConfig {
    fn default() -> Self {
        DisplayConfig {
            backlight: None,
            awake_percent: default_awake_pct(),
            dim_percent: default_dim_pct(),
            dim_after_secs: default_dim_after(),
            off_after_secs: 0,
            motion_wakes: true,
        }
    }
}

fn default_awake_pct() -> u8 {
    100
}
fn default_dim_pct() -> u8 {
    20
}
fn default_dim_after() -> u32 {
    300
}

impl DisplayConfig {
    pub(crate) fn check(&self) -> Result<(), String> {
        if let Some(name) = &self.backlight {
            let ok = !name.is_empty()
                && name.len() <= 64
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
                && name != "."
                && name != "..";
            if !ok {
                return Err(format!(
                    "display.backlight `{name}` is not a device name under /sys/class/backlight"
                ));
            }
        }
        if !(1..=100).contains(&self.awake_percent) {
            return Err("display.awake_percent must be between 1 and 100".into());
        }
        if self.dim_percent > self.awake_percent {
            return Err("display.dim_percent must not be above display.awake_percent".into());
        }
        if self.off_after_secs != 0
            && self.dim_after_secs != 0
            && self.off_after_secs < self.dim_after_secs
        {
            return Err(
                "display.off_after_secs must not be shorter than display.dim_after_secs".into(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, ConfigError};
    use std::path::Path;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(Path::new("m.toml"), text.as_bytes())
    }

    #[test]
    fn full_sections_parse() {
        let c = parse(
            "[gpio]\npir_pin = 17\npir_active_high = false\nbuttons = [{ counter = 1, pin = 5 }, { counter = 2, pin = 6 }]\nbuttons_active_low = false\ndebounce_ms = 40\nstatus_led_pin = 22\nstatus_led_active_high = false\n\
             [display]\nbacklight = \"10-0045\"\nawake_percent = 90\ndim_percent = 10\ndim_after_secs = 60\noff_after_secs = 600\nmotion_wakes = false\n",
        )
        .unwrap();
        assert_eq!(c.gpio.pir_pin, Some(17));
        assert!(!c.gpio.pir_active_high);
        assert_eq!(c.gpio.buttons[1], super::ButtonPin { counter: 2, pin: 6 });
        assert_eq!(c.gpio.debounce_ms, 40);
        assert_eq!(c.gpio.status_led_pin, Some(22));
        assert_eq!(c.display.backlight.as_deref(), Some("10-0045"));
        assert_eq!(c.display.awake_percent, 90);
        assert_eq!(c.display.off_after_secs, 600);
        assert!(!c.display.motion_wakes);
    }

    #[test]
    fn defaults_have_no_pins() {
        let c = parse("").unwrap();
        assert!(c.gpio.is_empty());
        assert_eq!(c.gpio.debounce_ms, 30);
        assert_eq!(c.display.dim_after_secs, 300);
        assert_eq!(c.display.off_after_secs, 0);
    }

    #[test]
    fn bad_values_are_refused_with_exact_messages() {
        let cases = [
            ("[gpio]\npir_pin = 28\n", "m.toml: gpio.pir_pin = 28 is not a header GPIO; use a BCM number from 0 to 27"),
            ("[gpio]\npir_pin = 5\nbuttons = [{ counter = 1, pin = 5 }]\n", "m.toml: gpio.buttons[counter 1] and gpio.pir_pin both use pin 5"),
            ("[gpio]\nbuttons = [{ counter = 0, pin = 5 }]\n", "m.toml: gpio.buttons: counter 0 must be between 1 and 99"),
            ("[gpio]\nbuttons = [{ counter = 3, pin = 5 }, { counter = 3, pin = 6 }]\n", "m.toml: gpio.buttons: counter 3 has more than one button"),
            ("[gpio]\ndebounce_ms = 1\n", "m.toml: gpio.debounce_ms must be between 5 and 500"),
            ("[display]\nbacklight = \"../../etc\"\n", "m.toml: display.backlight `../../etc` is not a device name under /sys/class/backlight"),
            ("[display]\nawake_percent = 0\n", "m.toml: display.awake_percent must be between 1 and 100"),
            ("[display]\ndim_percent = 100\nawake_percent = 50\n", "m.toml: display.dim_percent must not be above display.awake_percent"),
            ("[display]\ndim_after_secs = 100\noff_after_secs = 50\n", "m.toml: display.off_after_secs must not be shorter than display.dim_after_secs"),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text).unwrap_err().to_string(), want, "{text}");
        }
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = parse("[gpio]\npir = 4\n").unwrap_err().to_string();
        assert!(
            err.starts_with("m.toml:2: key `gpio.pir`: unknown field `pir`"),
            "{err}"
        );
        let err = parse("[gpio]\nbuttons = [{ counter = 1, pin = 5, led = 3 }]\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `led`"), "{err}");
        let err = parse("[display]\npin = -1\n").unwrap_err().to_string();
        assert!(err.starts_with("m.toml:2: key `display.pin`"), "{err}");
        let err = parse("[gpio]\npir_pin = -1\n").unwrap_err().to_string();
        assert!(err.starts_with("m.toml:2: key `gpio.pir_pin`"), "{err}");
    }
}
