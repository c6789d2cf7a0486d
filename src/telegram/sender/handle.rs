//! The sender's handle: wakes it after rows were committed, and tells when it has settled.

use std::sync::Arc;

use tokio::sync::{Notify, watch};

/// What the loop publishes about itself, for [`SenderHandle::settled`].
#[derive(Clone, Copy, Debug, Default)]
struct Progress {
    /// Outbox scans started so far.
    scans: u64,
    /// The last scan left nothing in flight and the loop is waiting.
    idle: bool,
}

#[derive(Debug)]
struct HandleInner {
    wake: Notify,
    progress: watch::Sender<Progress>,
}

/// Wakes the sender after rows were committed to the outbox. Cheap to clone; waking a sender
/// that is not running (no bot token) does nothing.
#[derive(Clone, Debug)]
pub struct SenderHandle {
    inner: Arc<HandleInner>,
}

impl Default for SenderHandle {
    fn default() -> Self {
        Self::new()
    }
}

impl SenderHandle {
    /// A handle not yet tied to a sender; give it to one with [`Sender::with_handle`].
    pub fn new() -> Self {
        Self { inner: Arc::new(HandleInner { wake: Notify::new(), progress: watch::Sender::new(Progress::default()) }) }
    }

    /// Tells the sender to look at the outbox now. Call it after the transaction that enqueued
    /// messages has committed. A wake while the sender is busy is kept, never lost.
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// Wakes the sender and waits until it has looked at the outbox again and has nothing in
    /// flight: every row that was due when this was called has then had its attempt (rows waiting
    /// for a retry may still be pending). Never completes if no sender runs; for tests and checks.
    pub async fn settled(&self) {
        let mut progress = self.inner.progress.subscribe();
        let before = progress.borrow().scans;
        self.wake();
        let _ = progress.wait_for(|p| p.scans > before && p.idle).await;
    }

    /// Completes at the next wake (one given while nobody waited is kept).
    pub(super) fn woken(&self) -> tokio::sync::futures::Notified<'_> {
        self.inner.wake.notified()
    }

    pub(super) fn scan_started(&self) {
        self.inner.progress.send_modify(|p| {
            p.scans += 1;
            p.idle = false;
        });
    }

    pub(super) fn set_idle(&self) {
        self.inner.progress.send_modify(|p| p.idle = true);
    }
}
