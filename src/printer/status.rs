//! The printer's real-time status (`DLE EOT n`, Epson ESC/POS) in plain words.
//!
//! Three requests go out together — printer (n=1), offline cause (n=2), roll paper sensor
//! (n=4) — and each answers one byte whose bits 1 and 4 are set and bits 0 and 7 clear (that
//! fixed pattern is how a real answer is told from noise). A printer that answers nothing is
//! not assumed broken: many cheap USB printers are write-only, so the ticket is printed blind.

use serde::Serialize;

/// The three requests, in the order their answers come back.
pub const REQUEST: [u8; 9] = [0x10, 0x04, 1, 0x10, 0x04, 2, 0x10, 0x04, 4];

/// Where the printer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PrinterState {
    /// Online with paper.
    Ready,
    /// Online, the roll is nearly used up: prints, but someone should change it.
    PaperLow,
    PaperOut,
    CoverOpen,
    /// Offline for another reason (an error the printer reports, the feed button held).
    Offline,
    /// No printer at the configured device.
    Absent,
    /// The device exists but this process may not open it (EACCES/EPERM): its user is not in
    /// the device's group (`lp` for `/dev/usb/lp*`).
    NoPermission,
    /// The device takes data but does not answer status requests.
    NoStatus,
}

impl PrinterState {
    /// True when a ticket sent now would come out.
    pub fn can_print(self) -> bool {
        matches!(
            self,
            PrinterState::Ready | PrinterState::PaperLow | PrinterState::NoStatus
        )
    }

    /// For logs, `doctor` and the technician screen.
    pub fn describe(self) -> &'static str {
        match self {
            PrinterState::Ready => "ready",
            PrinterState::PaperLow => "paper nearly out: change the roll soon",
            PrinterState::PaperOut => "out of paper: load a new roll",
            PrinterState::CoverOpen => "cover open: close it",
            PrinterState::Offline => "offline (printer error): check the printer",
            PrinterState::Absent => "not connected: check the USB cable and power",
            PrinterState::NoPermission => {
                "permission denied: the service's user may not open the device; it needs group lp"
            }
            PrinterState::NoStatus => "connected; it does not report paper or cover state",
        }
    }
}

/// A status byte that does not have the fixed bits of an answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("printer status answer {index} is 0x{byte:02x}, not a DLE EOT status byte")]
pub struct BadStatus {
    pub index: usize,
    pub byte: u8,
}

fn valid(b: u8) -> bool {
    b & 0x93 == 0x12
}

/// Read the answers to [`REQUEST`] (all three bytes).
pub fn parse(answer: [u8; 3]) -> Result<PrinterState, BadStatus> {
    for (index, &byte) in answer.iter().enumerate() {
        if !valid(byte) {
            return Err(BadStatus { index, byte });
        }
    }
    let [printer, cause, paper] = answer;
    let offline = printer & 0x08 != 0;
    let paper_end = paper & 0x60 == 0x60 || cause & 0x20 != 0;
    Ok(if cause & 0x04 != 0 {
        PrinterState::CoverOpen
    } else if paper_end {
        PrinterState::PaperOut
    } else if offline {
        PrinterState::Offline
    } else if paper & 0x0c == 0x0c {
        PrinterState::PaperLow
    } else {
        PrinterState::Ready
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_condition_is_read_from_its_bits() {
        let ok = 0x12;
        assert_eq!(parse([ok, ok, ok]), Ok(PrinterState::Ready));
        assert_eq!(parse([ok, ok, ok | 0x0c]), Ok(PrinterState::PaperLow));
        assert_eq!(
            parse([ok | 0x08, ok | 0x20, ok | 0x6c]),
            Ok(PrinterState::PaperOut)
        );
        assert_eq!(
            parse([ok | 0x08, ok | 0x04, ok]),
            Ok(PrinterState::CoverOpen)
        );
        assert_eq!(parse([ok | 0x08, ok | 0x40, ok]), Ok(PrinterState::Offline));
    }

    #[test]
    fn noise_is_not_a_status() {
        assert_eq!(
            parse([0x12, 0xff, 0x12]),
            Err(BadStatus {
                index: 1,
                byte: 0xff
            })
        );
        assert_eq!(
            parse([0x00, 0x12, 0x12]).unwrap_err().to_string(),
            "printer status answer 0 is 0x00, not a DLE EOT status byte"
        );
    }
}
