//! One delivery task's work: which rows go now ([`Worker::dispatch`]), and one attempt at one
//! row ([`Worker::deliver`]): claim, prepare, wait for the limits, call, record the outcome.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::DbErr;
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::Instrument;

use super::LEASE;
use super::tasks::{Slot, Tasks};
use crate::outbox::{Outcome, OutgoingMessage as Model, Store};
use crate::telegram::api::BotApi;
use crate::telegram::call::{Prepared, prepare};
use crate::telegram::limits::Limits;
use crate::telegram::retry::{RetryRules, delta};

/// A claimed row that waited this long for the limits has its lease renewed before it is sent.
const RENEW_AFTER: Duration = Duration::from_secs(30);
/// How long an edit waits before looking again at a referenced row that is still pending.
const REFERENCE_RECHECK: Duration = Duration::from_secs(1);
/// Tries to write an outcome before giving up (the row is then retried after its lease).
const RECORD_TRIES: u32 = 6;
/// Answers to callback queries in flight at most (apart from the chat messages' slots).
const MAX_ANSWERS_IN_FLIGHT: usize = 64;

/// What every delivery task shares.
pub(super) struct Worker {
    pub store: Store,
    pub api: BotApi,
    pub limits: Limits,
    pub retry: RetryRules,
    /// Delivery tasks started that have not tried to claim their row yet.
    pub unclaimed: AtomicUsize,
}

/// Counts a delivery task as unclaimed until it has tried to claim its row (or given up).
struct Unclaimed<'a>(Option<&'a AtomicUsize>);

impl Unclaimed<'_> {
    fn done(&mut self) {
        if let Some(count) = self.0.take() {
            count.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl Drop for Unclaimed<'_> {
    fn drop(&mut self) {
        self.done();
    }
}

impl Worker {
    /// Starts a task for each row that may go now, as many as there are free slots, oldest
    /// first; returns when the earliest pending row not yet due falls due. Every query is bounded
    /// by the free slots (or reads one index entry), so a scan costs the same with ten rows
    /// pending or a hundred thousand.
    pub async fn dispatch(
        self: &Arc<Self>,
        tasks: &mut Tasks,
        max_in_flight: usize,
        stopped: &watch::Receiver<bool>,
    ) -> Result<Option<DateTime<Utc>>, DbErr> {
        // Answers have slots of their own: a backlog of messages never holds them up.
        let free_answers = MAX_ANSWERS_IN_FLIGHT.saturating_sub(tasks.answers);
        let free_messages = max_in_flight.saturating_sub(tasks.messages());
        if free_answers == 0 && free_messages == 0 {
            // The next task to end starts another scan.
            return Ok(None);
        }
        let now = Utc::now();
        // Rows of tasks that have not claimed theirs yet are still due: fetch enough to skip them.
        let unclaimed = self.unclaimed.load(Ordering::Relaxed);
        let limit = |free: usize| if free == 0 { 0 } else { (free + unclaimed) as u64 };
        let due = self.store.due(now, limit(free_answers), limit(free_messages)).await?;
        let answers = due.answers.into_iter().map(|row| (Slot::Answer(row.id), row));
        let rows = answers.chain(due.chat_heads.into_iter().map(|row| (Slot::Chat(row.chat_id), row)));
        for (slot, row) in rows {
            let full = match slot {
                Slot::Answer(_) => tasks.answers >= MAX_ANSWERS_IN_FLIGHT,
                Slot::Chat(_) => tasks.messages() >= max_in_flight,
            };
            if full || tasks.busy.contains(&slot) {
                continue;
            }
            let span = tracing::info_span!("outbox", id = row.id, chat_id = row.chat_id, method = %row.method);
            let task = Arc::clone(self).deliver(row, stopped.clone()).instrument(span);
            self.unclaimed.fetch_add(1, Ordering::Relaxed);
            tasks.start(slot, task);
        }
        Ok(due.next_due)
    }

    /// One attempt at one row.
    async fn deliver(self: Arc<Self>, row: Model, mut stopped: watch::Receiver<bool>) {
        let mut unclaimed = Unclaimed(Some(&self.unclaimed));
        if *stopped.borrow() {
            return;
        }
        // Claim first, then prepare and wait for the limits, then send at once: a database round
        // trip between the limiter and the call would let calls bunch up on the wire.
        let claimed = self.store.claim(&row, LEASE).await;
        unclaimed.done();
        let row = match claimed {
            Ok(Some(row)) => row,
            Ok(None) => {
                tracing::debug!("the row was taken or changed by another sender");
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot claim an outbox row; it stays pending");
                return;
            }
        };
        // The row as claimed: its attempts count this one; `before`, without it.
        let attempt = row.attempts;
        let before = attempt - 1;
        let call = match prepare(&self.store, &row).await {
            Ok(Prepared::Call(call)) => call,
            Ok(Prepared::Wait(reference)) => {
                let outcome = Outcome::Retry {
                    at: Utc::now() + delta(REFERENCE_RECHECK),
                    attempts: before,
                    error: format!("waiting for outbox row {reference}, the message to edit, to be sent"),
                };
                self.record(&row, attempt, outcome).await;
                return;
            }
            Ok(Prepared::Fail(error)) => {
                self.record(&row, attempt, Outcome::Failed { error, block_user: false }).await;
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot prepare an outbox row; it stays pending");
                self.record(&row, attempt, Outcome::Release { attempts: before }).await;
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
                self.record(&row, attempt, Outcome::Release { attempts: before }).await;
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
        self.record(&row, attempt, outcome).await;
    }

    /// Writes an outcome if the row is still pending with `attempts` as expected, retrying while
    /// the database is unavailable.
    async fn record(&self, row: &Model, attempts: i32, outcome: Outcome) {
        let mut delay = Duration::from_millis(200);
        for tries in 1..=RECORD_TRIES {
            match self.store.record(row, attempts, &outcome).await {
                Ok(true) => {
                    tracing::debug!(?outcome, "outcome recorded");
                    match outcome {
                        Outcome::Sent { .. } => metrics::counter!("kktbot_outbox_sent_total").increment(1),
                        Outcome::Retry { .. } => metrics::counter!("kktbot_outbox_retried_total").increment(1),
                        Outcome::Failed { .. } => metrics::counter!("kktbot_outbox_failed_total").increment(1),
                        Outcome::Release { .. } => {}
                    }
                    return;
                }
                Ok(false) => {
                    tracing::warn!(?outcome, "the row changed under the sender; outcome not recorded");
                    return;
                }
                Err(e) if tries < RECORD_TRIES => {
                    tracing::warn!(error = %e, "cannot record an outcome; trying again");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
                Err(e) => {
                    tracing::error!(error = %e, ?outcome, "cannot record an outcome; the row is retried after its lease")
                }
            }
        }
    }
}

/// Completes once the sender is stopping.
async fn stop_requested(stopped: &mut watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
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
