//! One shutdown signal that every daemon task holds (as in mini-redis): a `watch` channel
//! flipped once by SIGTERM/SIGINT or by a test. Tasks `select!` on [`Shutdown::recv`] at every
//! wait, finish the step they are in (a transaction is never cut), and return.

use tokio::sync::watch;

/// The sending side: dropping it or calling [`ShutdownTrigger::fire`] stops every task.
#[derive(Debug)]
pub struct ShutdownTrigger(watch::Sender<bool>);

/// A task's handle on the shutdown signal. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Shutdown(watch::Receiver<bool>);

pub fn channel() -> (ShutdownTrigger, Shutdown) {
    let (tx, rx) = watch::channel(false);
    (ShutdownTrigger(tx), Shutdown(rx))
}

impl ShutdownTrigger {
    pub fn fire(&self) {
        let _ = self.0.send(true);
    }

    pub fn subscribe(&self) -> Shutdown {
        Shutdown(self.0.subscribe())
    }
}

impl Shutdown {
    pub fn is_shutdown(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once shutdown was asked for (at once if it already was).
    pub async fn recv(&mut self) {
        let _ = self.0.wait_for(|s| *s).await;
    }
}

/// Resolves on SIGTERM or SIGINT.
pub async fn os_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_holder_sees_the_signal() {
        let (trigger, mut a) = channel();
        let mut b = a.clone();
        assert!(!a.is_shutdown());
        trigger.fire();
        a.recv().await;
        b.recv().await;
        assert!(b.is_shutdown());
    }
}
