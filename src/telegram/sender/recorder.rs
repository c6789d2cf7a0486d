//! Writes the delivery tasks' outcomes in batches: one task takes every outcome that is ready
//! and writes them in one transaction ([`Store::record`]). Nothing waits to fill a batch: an
//! outcome is written at once, or, while a write is under way, with the next one — the window
//! between a message sent and its record (a crash in it sends the message again) stays one or
//! two transactions long, and under load the outcomes of many calls share a commit.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::outbox::{Outcome, Record, Store};

/// Tries to write a batch of outcomes before giving up (its rows are then taken over at the
/// sender's next term, or retried after their lease).
const RECORD_TRIES: u32 = 6;
/// Outcomes written in one transaction at most.
const MAX_BATCH: usize = 256;

type Pending = (Record, oneshot::Sender<()>);

/// The delivery tasks' way to the recorder. Cheap to clone.
#[derive(Clone)]
pub(super) struct Recorder {
    queue: mpsc::UnboundedSender<Pending>,
}

impl Recorder {
    /// Starts the recorder's task on `store`; it ends once every `Recorder` is dropped and the
    /// outcomes queued are written.
    pub fn start(store: Store) -> (Self, JoinHandle<()>) {
        let (queue, outcomes) = mpsc::unbounded_channel();
        (Self { queue }, tokio::spawn(write_batches(store, outcomes)))
    }

    /// Writes the outcome of a claim; returns once it is written or given up.
    pub async fn record(&self, record: Record) {
        let (done, written) = oneshot::channel();
        if self.queue.send((record, done)).is_ok() {
            let _ = written.await;
        }
    }
}

async fn write_batches(store: Store, mut outcomes: mpsc::UnboundedReceiver<Pending>) {
    let mut batch = Vec::new();
    while outcomes.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (records, done): (Vec<Record>, Vec<oneshot::Sender<()>>) = batch.drain(..).unzip();
        write(&store, &records).await;
        for done in done {
            let _ = done.send(());
        }
    }
}

/// Writes one batch, retrying while the database is unavailable.
async fn write(store: &Store, records: &[Record]) {
    let mut delay = Duration::from_millis(200);
    for tries in 1..=RECORD_TRIES {
        match store.record(records).await {
            Ok(written) => {
                for (record, written) in records.iter().zip(written) {
                    let outcome = &record.outcome;
                    if !written {
                        tracing::warn!(
                            id = record.id,
                            ?outcome,
                            "the row changed under the sender; outcome not recorded"
                        );
                        continue;
                    }
                    tracing::debug!(id = record.id, ?outcome, "outcome recorded");
                    match outcome {
                        Outcome::Sent { .. } => metrics::counter!("kktbot_outbox_sent_total").increment(1),
                        Outcome::Retry { .. } => metrics::counter!("kktbot_outbox_retried_total").increment(1),
                        Outcome::Failed { .. } => metrics::counter!("kktbot_outbox_failed_total").increment(1),
                        Outcome::Release { .. } => {}
                    }
                }
                return;
            }
            Err(e) if tries < RECORD_TRIES => {
                tracing::warn!(error = %e, outcomes = records.len(), "cannot record outcomes; trying again");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(e) => tracing::error!(
                error = %e,
                outcomes = records.len(),
                "cannot record outcomes; their rows are retried after their lease"
            ),
        }
    }
}
