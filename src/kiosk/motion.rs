//! Motion from the daemon: a thread keeps a `{"op":"subscribe"}` connection to the daemon's
//! socket open (reconnecting with backoff when the daemon restarts; events while disconnected
//! are not replayed) and turns each `{"event":{"kind":"motion",…}}` line into a
//! [`MotionAction`] for the UI thread: wake the screen, and go home only for a new visitor
//! (`device::motion::is_new_visitor`), so a citizen standing at the kiosk is not reset.

use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::daemon::protocol::{Notice, Response, MAX_LINE};
use crate::device::motion::is_new_visitor;

/// What the UI thread does for one motion event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MotionAction {
    /// Reset the idle timer and leave the attract screen; stay where the citizen is.
    Wake,
    /// Wake and go home (default language): someone new approached.
    WakeAndGoHome,
}

/// One line from a subscribe connection → what to do (None: not a motion event).
pub fn handle_line(line: &str, idle_home: Duration) -> Option<MotionAction> {
    match serde_json::from_str::<Response>(line.trim()) {
        Ok(Response::Event(Notice::Motion { quiet_before_ms })) => {
            let quiet = quiet_before_ms.map(Duration::from_millis);
            Some(if is_new_visitor(quiet, idle_home) {
                MotionAction::WakeAndGoHome
            } else {
                MotionAction::Wake
            })
        }
        _ => None,
    }
}

/// Reconnect delays: 0.5 s doubling to 30 s, back to 0.5 s after a successful subscribe.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
}

const BACKOFF_MIN: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

impl Default for Backoff {
    fn default() -> Self {
        Backoff { next: BACKOFF_MIN }
    }
}

impl Backoff {
    pub fn next_delay(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(BACKOFF_MAX);
        d
    }
    pub fn reset(&mut self) {
        self.next = BACKOFF_MIN;
    }
}

/// The subscriber thread; it ends when `stop` is set (checked at least every second).
pub fn spawn_subscriber(
    socket: PathBuf,
    idle_home: Duration,
    stop: Arc<AtomicBool>,
    on_action: impl Fn(MotionAction) + Send + 'static,
) {
    let spawned = std::thread::Builder::new()
        .name("kiosk-motion".into())
        .spawn(move || {
            let mut backoff = Backoff::default();
            while !stop.load(Ordering::Relaxed) {
                match subscribe(&socket) {
                    Ok(reader) => {
                        backoff.reset();
                        read_events(reader, idle_home, &stop, &on_action);
                    }
                    Err(e) => tracing::debug!("motion subscription to {socket:?}: {e}"),
                }
                let delay = backoff.next_delay();
                let mut slept = Duration::ZERO;
                while slept < delay && !stop.load(Ordering::Relaxed) {
                    let step = (delay - slept).min(Duration::from_millis(100));
                    std::thread::sleep(step);
                    slept += step;
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!("cannot start the motion subscriber: {e}");
    }
}

fn subscribe(socket: &PathBuf) -> std::io::Result<BufReader<UnixStream>> {
    let mut stream = UnixStream::connect(socket)?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(b"{\"op\":\"subscribe\"}\n")?;
    let mut reader = BufReader::new(stream);
    let mut first = String::new();
    reader.read_line(&mut first)?;
    match serde_json::from_str::<Response>(first.trim()) {
        Ok(Response::Subscribed) => {}
        _ => {
            return Err(std::io::Error::other(format!(
                "unexpected answer to subscribe: {first:?}"
            )))
        }
    }
    // From now on wait for events, waking every second to look at the stop flag.
    reader
        .get_ref()
        .set_read_timeout(Some(Duration::from_secs(1)))?;
    Ok(reader)
}

fn read_events(
    mut reader: BufReader<UnixStream>,
    idle_home: Duration,
    stop: &AtomicBool,
    on_action: &impl Fn(MotionAction),
) {
    let mut line = String::new();
    while !stop.load(Ordering::Relaxed) {
        match reader.read_line(&mut line) {
            Ok(0) => return, // the daemon closed (restart): reconnect
            Ok(_) => {
                if let Some(a) = handle_line(&line, idle_home) {
                    on_action(a);
                }
                line.clear();
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if line.len() > MAX_LINE {
                    return;
                }
            }
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDLE: Duration = Duration::from_secs(90);

    #[test]
    fn motion_lines_become_actions() {
        assert_eq!(
            handle_line(
                r#"{"event":{"kind":"motion","quiet_before_ms":null}}"#,
                IDLE
            ),
            Some(MotionAction::WakeAndGoHome),
            "first edge since the daemon started"
        );
        assert_eq!(
            handle_line(
                r#"{"event":{"kind":"motion","quiet_before_ms":120000}}"#,
                IDLE
            ),
            Some(MotionAction::WakeAndGoHome)
        );
        assert_eq!(
            handle_line(
                r#"{"event":{"kind":"motion","quiet_before_ms":1500}}"#,
                IDLE
            ),
            Some(MotionAction::Wake),
            "the same citizen moving: do not reset the screen"
        );
        assert_eq!(
            handle_line(r#"{"event":{"kind":"button","counter":3}}"#, IDLE),
            None
        );
        assert_eq!(handle_line(r#""subscribed""#, IDLE), None);
        assert_eq!(handle_line("garbage", IDLE), None);
    }

    #[test]
    fn backoff_doubles_caps_and_resets() {
        let mut b = Backoff::default();
        assert_eq!(b.next_delay(), Duration::from_millis(500));
        assert_eq!(b.next_delay(), Duration::from_secs(1));
        for _ in 0..10 {
            b.next_delay();
        }
        assert_eq!(b.next_delay(), Duration::from_secs(30));
        b.reset();
        assert_eq!(b.next_delay(), Duration::from_millis(500));
    }
}
