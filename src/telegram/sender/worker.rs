//! One delivery task's work: which rows go now ([`Worker::dispatch`]), and one attempt at one
//! row ([`Worker::deliver`]): prepare, wait for the limits, call, record the outcome.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use sea_orm::DbErr;
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::Instrument;

use super::LEASE;
use super::recorder::Recorder;
use super::tasks::{Slot, Tasks};
use crate::outbox::{Outcome, OutgoingMessage as Model, Record, Store};
use crate::telegram::api::BotApi;
use crate::telegram::call::{Prepared, prepare};
use crate::telegram::limits::Limits;
use crate::telegram::retry::{RetryRules, delta};

/// A claimed row that waited this long for the limits has its lease renewed before it is sent.
const RENEW_AFTER: Duration = Duration::from_secs(30);
/// How long an edit waits before looking again at a referenced row that is still pending.
const REFERENCE_RECHECK: Duration = Duration::from_secs(1);
/// Answers to callback queries in flight at most (apart from the chat messages' slots).
const MAX_ANSWERS_IN_FLIGHT: usize = 64;

/// What every delivery task shares.
pub(super) struct Worker {
    pub store: Store,
    pub api: BotApi,
    pub limits: Limits,
    pub retry: RetryRules,
    pub recorder: Recorder,
}

impl Worker {
    /// Claims the rows that may go now, as many as there are free slots, oldest first, and
    /// starts a task for each. The claim is one statement bounded by the free slots, so it
    /// costs the same with ten rows pending or a hundred thousand.
    pub async fn dispatch(
        self: &Arc<Self>,
        tasks: &mut Tasks,
        max_in_flight: usize,
        stopped: &watch::Receiver<bool>,
    ) -> Result<(), DbErr> {
        // Answers have slots of their own: a backlog of messages never holds them up.
        let free_answers = MAX_ANSWERS_IN_FLIGHT.saturating_sub(tasks.answers);
        let free_messages = max_in_flight.saturating_sub(tasks.messages());
        let due = self.store.claim_due(free_answers as u64, free_messages as u64, LEASE).await?;
        let answers = due.answers.into_iter().map(|row| (Slot::Answer, row));
        for (slot, row) in answers.chain(due.chat_heads.into_iter().map(|row| (Slot::Chat, row))) {
            let span = tracing::info_span!("outbox", id = row.id, chat_id = row.chat_id, method = %row.method);
            tasks.start(slot, Arc::clone(self).deliver(row, stopped.clone()).instrument(span));
        }
        Ok(())
    }

    /// One attempt at one row, claimed for it.
    async fn deliver(self: Arc<Self>, row: Model, mut stopped: watch::Receiver<bool>) {
        // The row as claimed: its attempts count this one; `before`, without it.
        let attempt = row.attempts;
        let before = attempt - 1;
        if *stopped.borrow() {
            self.recorder.record(Record::of(&row, attempt, Outcome::Release { attempts: before })).await;
            return;
        }
        // Prepare and wait for the limits, then send at once: a database round trip between the
        // limiter and the call would let calls bunch up on the wire.
        let call = match prepare(&self.store, &row).await {
            Ok(Prepared::Call(call)) => call,
            Ok(Prepared::Wait(reference)) => {
                let outcome = Outcome::Retry {
                    at: Utc::now() + delta(REFERENCE_RECHECK),
                    attempts: before,
                    error: format!("waiting for outbox row {reference}, the message to edit, to be sent"),
                };
                self.recorder.record(Record::of(&row, attempt, outcome)).await;
                return;
            }
            Ok(Prepared::Fail(error)) => {
                self.recorder.record(Record::of(&row, attempt, Outcome::Failed { error, block_user: false })).await;
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot prepare an outbox row; it stays pending");
                self.recorder.record(Record::of(&row, attempt, Outcome::Release { attempts: before })).await;
                return;
            }
        };
        let mut leased_at = Instant::now();
        let permit = loop {
            let permit = tokio::select! {
                biased;
                () = stop_requested(&mut stopped) => None,
                permit = self.limits.acquire(call.kind, row.chat_id) => Some(permit),
            };
            let Some(permit) = permit else {
                self.recorder.record(Record::of(&row, attempt, Outcome::Release { attempts: before })).await;
                return;
            };
            if leased_at.elapsed() < RENEW_AFTER {
                break permit;
            }
            // A long wait (a 429 pause): renew the lease before sending, then queue again.
            permit.unused();
            match self.store.renew(&row, attempt, LEASE).await {
                Ok(true) => leased_at = Instant::now(),
                Ok(false) => {
                    tracing::warn!("the row changed while waiting to be sent; not sent");
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot renew the lease of an outbox row; not sent now");
                    return;
                }
            }
        };
        let (target, kind) = (call.target, call.kind);
        let outcome = match call.execute(&self.api).await {
            Ok(message_id) => Outcome::Sent { message_id: message_id.or(target).map(i64::from), note: None },
            Err(error) => self.retry.outcome_of_error(&self.limits, kind, &row, attempt, target, error),
        };
        // The limits count from the answer's time.
        drop(permit);
        self.recorder.record(Record::of(&row, attempt, outcome)).await;
    }
}

/// Completes once the sender is stopping; never if its loop is gone without stopping (the task
/// aborted, as at a kill): nothing is then released that a newer term should take over.
async fn stop_requested(stopped: &mut watch::Receiver<bool>) {
    if stopped.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lease_outlasts_a_call() {
        use crate::telegram::api::REQUEST_TIMEOUT;
        assert!(LEASE > RENEW_AFTER + REQUEST_TIMEOUT + Duration::from_secs(10));
    }
}
