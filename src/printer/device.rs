//! A USB printer's character device (`/dev/usb/lp0`, the kernel's `usblp` driver): ask its
//! status, send a ticket, each bounded in time so a wedged printer never blocks the caller
//! for long.
//!
//! `usblp` passes bytes both ways for bidirectional printers, so the `DLE EOT` answers are
//! read back from the same file. The device is opened per job (a printer unplugged and
//! plugged back gets a new node; nothing stale is held).

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::status::{self, PrinterState};

/// How long the printer may take to answer a status request.
pub const STATUS_TIMEOUT: Duration = Duration::from_millis(500);
/// How long one write may block (a printer out of paper stops taking data).
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Printing that did not happen, or did not finish.
#[derive(Debug, thiserror::Error)]
pub enum PrintError {
    #[error("the ticket was not printed: the printer is {}", .0.describe())]
    NotReady(PrinterState),
    #[error("the printer {path} stopped taking data after {sent} of {total} bytes ({why})")]
    Stalled {
        path: PathBuf,
        sent: usize,
        total: usize,
        why: String,
    },
    #[error("printer {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A printer at a device path.
#[derive(Debug, Clone)]
pub struct UsbPrinter {
    pub path: PathBuf,
}

impl UsbPrinter {
    pub fn new(path: impl Into<PathBuf>) -> UsbPrinter {
        UsbPrinter { path: path.into() }
    }

    /// Open the device, holding an exclusive advisory lock (`flock`) until the file is
    /// dropped: the daemon's health check and the kiosk's printing never interleave their
    /// bytes (a status request inside a raster band would be printed as dots).
    fn open(&self) -> Result<File, PrintError> {
        let io = |source| PrintError::Io {
            path: self.path.clone(),
            source,
        };
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(&self.path)
            .map_err(io)?;
        f.lock().map_err(io)?;
        Ok(f)
    }

    /// The printer's state now. A missing device is `Absent`, one this process may not open
    /// `NoPermission`; silence is `NoStatus`.
    pub fn status(&self) -> PrinterState {
        let mut f = match self.open() {
            Ok(f) => f,
            Err(PrintError::Io { source, .. }) => {
                let state = state_of_open_error(&source);
                if source.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!("printer {}: {source}", self.path.display());
                }
                return state;
            }
            Err(e) => {
                tracing::warn!("{e}");
                return PrinterState::Absent;
            }
        };
        status_of(&mut f, &self.path)
    }

    /// Check the printer, send `job`, check again. `Ok` carries the state after printing
    /// (e.g. `PaperLow`, or `PaperOut` when the roll ran out on this ticket).
    pub fn print(&self, job: &[u8]) -> Result<PrinterState, PrintError> {
        let mut f = match self.open() {
            Ok(f) => f,
            Err(PrintError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                return Err(PrintError::NotReady(PrinterState::Absent))
            }
            Err(PrintError::Io { source, path })
                if state_of_open_error(&source) == PrinterState::NoPermission =>
            {
                tracing::warn!("printer {}: {source}", path.display());
                return Err(PrintError::NotReady(PrinterState::NoPermission));
            }
            Err(e) => return Err(e),
        };
        let before = status_of(&mut f, &self.path);
        if !before.can_print() {
            return Err(PrintError::NotReady(before));
        }
        write_all_within(&mut f, job, WRITE_TIMEOUT).map_err(|(sent, why)| {
            PrintError::Stalled {
                path: self.path.clone(),
                sent,
                total: job.len(),
                why,
            }
        })?;
        Ok(match before {
            PrinterState::NoStatus => PrinterState::NoStatus,
            _ => status_of(&mut f, &self.path),
        })
    }
}

/// What a failed open of the device says about the printer: gone (ENOENT, ENODEV, ENXIO: the
/// node is missing or its printer unplugged) is `Absent`; EACCES/EPERM is `NoPermission` (the
/// node exists, this user may not open it); anything else `Absent`, logged by the caller.
pub fn state_of_open_error(e: &std::io::Error) -> PrinterState {
    match e.raw_os_error() {
        Some(libc::EACCES | libc::EPERM) => PrinterState::NoPermission,
        _ => PrinterState::Absent,
    }
}

fn status_of(f: &mut File, path: &Path) -> PrinterState {
    // Drop whatever an earlier job left unread, so answers line up with this request.
    let mut junk = [0u8; 64];
    while matches!(f.read(&mut junk), Ok(n) if n > 0) {}
    if write_all_within(f, &status::REQUEST, STATUS_TIMEOUT).is_err() {
        return PrinterState::NoStatus;
    }
    let mut answer = [0u8; 3];
    let mut got = 0;
    let deadline = Instant::now() + STATUS_TIMEOUT;
    while got < 3 {
        if !wait(f, libc::POLLIN, deadline) {
            break;
        }
        match f.read(&mut answer[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => break,
        }
    }
    if got < 3 {
        return PrinterState::NoStatus;
    }
    match status::parse(answer) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!("printer {}: {e}", path.display());
            PrinterState::NoStatus
        }
    }
}

/// Write everything before `timeout`; on failure, how much went and why.
fn write_all_within(
    f: &mut File,
    mut data: &[u8],
    timeout: Duration,
) -> Result<(), (usize, String)> {
    let total = data.len();
    let deadline = Instant::now() + timeout;
    while !data.is_empty() {
        match f.write(data) {
            Ok(0) => return Err((total - data.len(), "the device took no data".into())),
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if !wait(f, libc::POLLOUT, deadline) {
                    return Err((
                        total - data.len(),
                        format!("no progress for {} s", timeout.as_secs_f32()),
                    ));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err((total - data.len(), e.to_string())),
        }
    }
    Ok(())
}

/// Wait for `events` on `f` until `deadline`; false on timeout or error.
fn wait(f: &File, events: libc::c_short, deadline: Instant) -> bool {
    let left = deadline.saturating_duration_since(Instant::now());
    let mut pfd = libc::pollfd {
        fd: f.as_raw_fd(),
        events,
        revents: 0,
    };
    // SAFETY: one valid pollfd for the duration of the call.
    let n = unsafe { libc::poll(&mut pfd, 1, left.as_millis().min(i32::MAX as u128) as i32) };
    n == 1 && pfd.revents & events != 0
}
