//! SIGTERM/SIGINT handling for the long-running services: the first signal asks for a graceful
//! shutdown (loops finish their step, STOPPING=1 is sent), a second one ends the process at
//! once, killed by that signal (what systemd expects after `TimeoutStopSec` anyway).
//!
//! The handler only does async-signal-safe work (an atomic counter, a `write` to a self-pipe,
//! `signal` + `raise`); everything else happens on a normal thread. Installed at most once per
//! process. Never exits the process on the first signal.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::Duration;

static SIGNALS: AtomicUsize = AtomicUsize::new(0);
static PIPE_WRITE: AtomicI32 = AtomicI32::new(-1);
static INSTALLED: OnceLock<ShutdownSignal> = OnceLock::new();

type Callback = Box<dyn Fn() + Send + Sync>;

/// The graceful-shutdown request, shared by everyone who must stop.
#[derive(Clone)]
pub struct ShutdownSignal {
    inner: Arc<Inner>,
}

struct Inner {
    requested: AtomicBool,
    lock: Mutex<Vec<Callback>>,
    cond: Condvar,
}

extern "C" fn on_signal(sig: libc::c_int) {
    let before = SIGNALS.fetch_add(1, Ordering::SeqCst);
    // SAFETY: only async-signal-safe calls (signal, raise, write) on plain integers.
    unsafe {
        if before >= 1 {
            // Second signal: restore the default action; the re-raised signal is delivered as
            // soon as this handler returns and ends the process.
            libc::signal(sig, libc::SIG_DFL);
            libc::raise(sig);
            return;
        }
        let fd = PIPE_WRITE.load(Ordering::SeqCst);
        if fd >= 0 {
            let b = [1u8];
            libc::write(fd, b.as_ptr().cast(), 1);
        }
    }
}

impl ShutdownSignal {
    /// A signal not tied to OS signals (tests, the demo): fire it with [`request`].
    ///
    /// [`request`]: ShutdownSignal::request
    pub fn new() -> ShutdownSignal {
        ShutdownSignal {
            inner: Arc::new(Inner {
                requested: AtomicBool::new(false),
                lock: Mutex::new(Vec::new()),
                cond: Condvar::new(),
            }),
        }
    }

    /// Install the SIGTERM/SIGINT handlers (once per process; later calls return the same).
    pub fn install() -> std::io::Result<ShutdownSignal> {
        if let Some(s) = INSTALLED.get() {
            return Ok(s.clone());
        }
        let mut fds = [0; 2];
        // SAFETY: `fds` is a valid two-element array.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        PIPE_WRITE.store(fds[1], Ordering::SeqCst);
        let signal = ShutdownSignal::new();
        let s = signal.clone();
        let read_fd = fds[0];
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                let mut b = [0u8; 1];
                // SAFETY: reading one byte from our own pipe into a valid buffer.
                while unsafe { libc::read(read_fd, b.as_mut_ptr().cast(), 1) } != 1 {}
                tracing::info!(
                    "termination signal: shutting down gracefully (send it again to stop at once)"
                );
                s.request();
            })?;
        for sig in [libc::SIGTERM, libc::SIGINT] {
            // SAFETY: installing a handler that only performs async-signal-safe operations.
            let mut sa: libc::sigaction = unsafe { std::mem::zeroed() };
            sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
            sa.sa_flags = libc::SA_RESTART;
            if unsafe { libc::sigaction(sig, &sa, std::ptr::null_mut()) } != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok(INSTALLED.get_or_init(|| signal).clone())
    }

    /// Ask for a graceful shutdown: wakes every waiter and runs the callbacks once.
    pub fn request(&self) {
        if self.inner.requested.swap(true, Ordering::SeqCst) {
            return;
        }
        let callbacks = self.inner.lock.lock().unwrap_or_else(|e| e.into_inner());
        for cb in callbacks.iter() {
            cb();
        }
        self.inner.cond.notify_all();
    }

    pub fn is_requested(&self) -> bool {
        self.inner.requested.load(Ordering::SeqCst)
    }

    /// Run `cb` when shutdown is requested (at once if it already was). Use it to bridge into
    /// the daemon's tokio shutdown (`trigger.fire()`) or the kiosk's event loop (`quit`).
    pub fn on_request(&self, cb: impl Fn() + Send + Sync + 'static) {
        let mut callbacks = self.inner.lock.lock().unwrap_or_else(|e| e.into_inner());
        if self.is_requested() {
            drop(callbacks);
            cb();
            return;
        }
        callbacks.push(Box::new(cb));
    }

    /// Block until shutdown is requested.
    pub fn wait(&self) {
        while !self.wait_timeout(Duration::from_secs(3600)) {}
    }

    /// Block up to `d`; true if shutdown was requested.
    pub fn wait_timeout(&self, d: Duration) -> bool {
        let guard = self.inner.lock.lock().unwrap_or_else(|e| e.into_inner());
        let _ = self
            .inner
            .cond
            .wait_timeout_while(guard, d, |_| !self.is_requested());
        self.is_requested()
    }
}

impl Default for ShutdownSignal {
    fn default() -> Self {
        ShutdownSignal::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_wakes_waiters_and_runs_callbacks_once() {
        let s = ShutdownSignal::new();
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        s.on_request(move || {
            h.fetch_add(1, Ordering::SeqCst);
        });
        assert!(!s.wait_timeout(Duration::from_millis(10)));
        let s2 = s.clone();
        let t = std::thread::spawn(move || s2.wait());
        s.request();
        s.request();
        t.join().unwrap();
        assert_eq!(hits.load(Ordering::SeqCst), 1);
        let h = hits.clone();
        s.on_request(move || {
            h.fetch_add(10, Ordering::SeqCst);
        });
        assert_eq!(
            hits.load(Ordering::SeqCst),
            11,
            "late subscriber runs at once"
        );
    }
}
