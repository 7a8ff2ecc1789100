//! `motcua printer status|test|decode`: a technician's check of the ticket printer — its state
//! in plain words, a sample ticket printed or rendered to a PNG without a printer, and a
//! captured ESC/POS byte stream turned back into the page it prints.
//! Argument parsing and printing only; the work is in `crate::printer`.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Subcommand;

use crate::printer::{self, device::UsbPrinter};

/// Where a USB printer appears (the kernel's usblp driver).
pub const DEFAULT_DEVICE: &str = "/dev/usb/lp0";

#[derive(Debug, Subcommand)]
pub enum PrinterCommand {
    /// Ask the printer for its state (paper, cover, online); exit 1 unless it can print.
    Status {
        #[arg(long, default_value = DEFAULT_DEVICE)]
        device: PathBuf,
    },
    /// Print a sample ticket, or with --png write the page it would print (no printer needed).
    Test {
        #[arg(long, default_value = DEFAULT_DEVICE)]
        device: PathBuf,
        /// Write the page to this PNG instead of printing.
        #[arg(long)]
        png: Option<PathBuf>,
        /// Dots across the roll: 576 (80 mm) or 384 (58 mm).
        #[arg(long, default_value_t = printer::WIDTH_80MM, value_parser = roll_width)]
        width: usize,
    },
    /// Turn an ESC/POS byte stream (what a printer received, e.g. captured on a test rig)
    /// into the page it prints, as a PNG; say what the stream did.
    Decode {
        /// The byte stream.
        stream: PathBuf,
        /// Write the page here.
        #[arg(long)]
        png: PathBuf,
    },
}

fn roll_width(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(w @ (printer::WIDTH_58MM | printer::WIDTH_80MM)) => Ok(w),
        _ => Err(format!(
            "{s:?}: give {} (80 mm roll) or {} (58 mm roll)",
            printer::WIDTH_80MM,
            printer::WIDTH_58MM
        )),
    }
}

pub fn run(cmd: PrinterCommand) -> anyhow::Result<()> {
    match cmd {
        PrinterCommand::Status { device } => {
            let state = UsbPrinter::new(&device).status();
            println!("{}: {}", device.display(), state.describe());
            if !state.can_print() {
                std::process::exit(1);
            }
            Ok(())
        }
        PrinterCommand::Test { device, png, width } => {
            let ticket = printer::sample_ticket();
            let job = printer::ticket_job(&ticket, width);
            if let Some(png) = png {
                // The page decoded back from the bytes a printer would receive.
                let page = printer::escpos::decode(&job)?.page;
                std::fs::write(&png, page.to_png())
                    .with_context(|| format!("writing {}", png.display()))?;
                println!(
                    "wrote {} ({}×{} dots)",
                    png.display(),
                    page.width,
                    page.height
                );
                return Ok(());
            }
            let after = UsbPrinter::new(&device).print(&job)?;
            println!(
                "printed a sample ticket ({} bytes); the printer is now {}",
                job.len(),
                after.describe()
            );
            Ok(())
        }
        PrinterCommand::Decode { stream, png } => {
            let bytes =
                std::fs::read(&stream).with_context(|| format!("reading {}", stream.display()))?;
            let d = printer::escpos::decode(&bytes)
                .with_context(|| format!("decoding {}", stream.display()))?;
            std::fs::write(&png, d.page.to_png())
                .with_context(|| format!("writing {}", png.display()))?;
            println!(
                "{}: {} bytes, {}initialised, {} status request(s), {} cut(s); wrote {} ({}×{} dots)",
                stream.display(),
                bytes.len(),
                if d.initialised { "" } else { "not " },
                d.status_requests.len(),
                d.cuts,
                png.display(),
                d.page.width,
                d.page.height
            );
            Ok(())
        }
    }
}
