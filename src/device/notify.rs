//! sd_notify, written directly over the `NOTIFY_SOCKET` datagram socket: READY, WATCHDOG,
//! STOPPING and STATUS for `Type=notify` units, plus the watchdog period systemd asks for.
//!
//! Not under systemd (no `NOTIFY_SOCKET`) every call is a no-op, so the same code runs in a
//! terminal and in tests. Never blocks and never fails the caller: a lost notification is
//! logged, because systemd itself decides what a missing one means.

use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

/// Where notifications go.
#[derive(Debug)]
pub struct SdNotify {
    target: Option<(UnixDatagram, SocketAddr)>,
}

impl SdNotify {
    /// From `$NOTIFY_SOCKET` (a path, or `@name` for the abstract namespace).
    pub fn from_env() -> SdNotify {
        match std::env::var("NOTIFY_SOCKET") {
            Ok(s) if !s.is_empty() => SdNotify::to_socket(&s).unwrap_or_else(|e| {
                tracing::warn!("NOTIFY_SOCKET={s} unusable: {e}");
                SdNotify::disabled()
            }),
            _ => SdNotify::disabled(),
        }
    }

    /// Notifications to the socket named like `NOTIFY_SOCKET` would name it.
    pub fn to_socket(name: &str) -> std::io::Result<SdNotify> {
        let addr = if let Some(abs) = name.strip_prefix('@') {
            use std::os::linux::net::SocketAddrExt;
            SocketAddr::from_abstract_name(abs.as_bytes())?
        } else {
            SocketAddr::from_pathname(name)?
        };
        let sock = UnixDatagram::unbound()?;
        sock.set_nonblocking(true)?;
        Ok(SdNotify {
            target: Some((sock, addr)),
        })
    }

    /// Nothing is sent.
    pub fn disabled() -> SdNotify {
        SdNotify { target: None }
    }

    pub fn is_enabled(&self) -> bool {
        self.target.is_some()
    }

    /// Send raw `KEY=value` lines; false when not sent.
    pub fn send(&self, state: &str) -> bool {
        let Some((sock, addr)) = &self.target else {
            return false;
        };
        match sock.send_to_addr(state.as_bytes(), addr) {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!("sd_notify {state:?}: {e}");
                false
            }
        }
    }

    /// Start-up finished: systemd considers the unit started.
    pub fn ready(&self, status: &str) -> bool {
        self.send(&format!("READY=1\nSTATUS={}", one_line(status)))
    }

    /// Still alive (only send this when the main loop really is).
    pub fn watchdog(&self) -> bool {
        self.send("WATCHDOG=1")
    }

    /// Shutting down.
    pub fn stopping(&self, status: &str) -> bool {
        self.send(&format!("STOPPING=1\nSTATUS={}", one_line(status)))
    }

    /// Free-form status shown by `systemctl status`.
    pub fn status(&self, status: &str) -> bool {
        self.send(&format!("STATUS={}", one_line(status)))
    }
}

fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect()
}

/// The watchdog period systemd set for this process (`WATCHDOG_USEC`, and `WATCHDOG_PID` if
/// set must be ours); `None` when the unit has no `WatchdogSec=`.
pub fn watchdog_period() -> Option<Duration> {
    parse_watchdog(
        std::env::var("WATCHDOG_USEC").ok().as_deref(),
        std::env::var("WATCHDOG_PID").ok().as_deref(),
        std::process::id(),
    )
}

fn parse_watchdog(usec: Option<&str>, pid: Option<&str>, me: u32) -> Option<Duration> {
    if let Some(pid) = pid {
        if pid.parse::<u32>().ok() != Some(me) {
            return None;
        }
    }
    let usec: u64 = usec?.parse().ok().filter(|u| *u > 0)?;
    Some(Duration::from_micros(usec))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_reach_a_path_socket_and_status_is_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let rx = UnixDatagram::bind(&path).unwrap();
        let n = SdNotify::to_socket(path.to_str().unwrap()).unwrap();
        assert!(n.ready("serving\n6 counters"));
        assert!(n.stopping("bye"));
        let mut buf = [0u8; 256];
        let k = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..k], b"READY=1\nSTATUS=serving 6 counters");
        let k = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..k], b"STOPPING=1\nSTATUS=bye");
    }

    #[test]
    fn abstract_socket_and_disabled() {
        let name = format!("motcua-test-{}", std::process::id());
        use std::os::linux::net::SocketAddrExt;
        let rx = UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(name.as_bytes()).unwrap())
            .unwrap();
        assert!(SdNotify::to_socket(&format!("@{name}")).unwrap().watchdog());
        let mut buf = [0u8; 64];
        let k = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..k], b"WATCHDOG=1");
        assert!(!SdNotify::disabled().ready("x"));
    }

    #[test]
    fn watchdog_env_rules() {
        assert_eq!(
            parse_watchdog(Some("30000000"), None, 7),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_watchdog(Some("30000000"), Some("7"), 7),
            Some(Duration::from_secs(30))
        );
        assert_eq!(parse_watchdog(Some("30000000"), Some("8"), 7), None);
        assert_eq!(parse_watchdog(Some("0"), None, 7), None);
        assert_eq!(parse_watchdog(Some("soon"), None, 7), None);
        assert_eq!(parse_watchdog(None, None, 7), None);
    }
}
