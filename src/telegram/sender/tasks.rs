//! The delivery tasks in flight, and the slot each holds (a chat's FIFO head, or one answer).

use std::collections::HashMap;
use std::future::Future;

use tokio::task::JoinSet;

/// What a delivery task holds: a chat's FIFO head (claimed, so the chat's next message waits for
/// its outcome) or one answer to a callback query.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Slot {
    Chat,
    Answer,
}

/// The delivery tasks in flight.
#[derive(Default)]
pub(super) struct Tasks {
    pub set: JoinSet<()>,
    pub slots: HashMap<tokio::task::Id, Slot>,
    /// How many of the tasks deliver answers.
    pub answers: usize,
}

impl Tasks {
    pub fn start(&mut self, slot: Slot, task: impl Future<Output = ()> + Send + 'static) {
        let id = self.set.spawn(task).id();
        self.slots.insert(id, slot);
        if slot == Slot::Answer {
            self.answers += 1;
        }
    }

    /// Tasks delivering chat messages.
    pub fn messages(&self) -> usize {
        self.set.len() - self.answers
    }

    pub fn finished(&mut self, done: Result<(tokio::task::Id, ()), tokio::task::JoinError>) {
        let id = match done {
            Ok((id, ())) => id,
            Err(e) => {
                if e.is_panic() {
                    tracing::error!(error = %e, "an outbox delivery task panicked");
                }
                e.id()
            }
        };
        if self.slots.remove(&id) == Some(Slot::Answer) {
            self.answers -= 1;
        }
    }
}
