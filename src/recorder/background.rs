//! A background pass on its own thread: run once at start, then whenever poked or every
//! `interval`, until dropped (dropping waits for the pass under way). Retention and the
//! footage checkpoints are both this shape.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

pub struct Background {
    poke: Option<mpsc::SyncSender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Background {
    /// Start the thread `name`, running `pass` as described above.
    pub fn spawn(
        name: &str,
        interval: Duration,
        mut pass: impl FnMut() + Send + 'static,
    ) -> std::io::Result<Background> {
        let (poke, rx) = mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || loop {
                pass();
                match rx.recv_timeout(interval) {
                    Ok(()) | Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            })?;
        Ok(Background {
            poke: Some(poke),
            thread: Some(thread),
        })
    }

    /// Ask for a pass soon (never blocks; a pending request is enough).
    pub fn poke(&self) {
        if let Some(p) = &self.poke {
            let _ = p.try_send(());
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.poke = None; // disconnects the channel: the thread ends after its pass
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
