//! The sender: delivers the outbox (`outgoing_messages`) to the Bot API under Telegram's limits
//! and records the outcome on each row.
//!
//! One loop ([`Sender::run`]) looks at the outbox, starts a task for every row that may go now
//! and sleeps until it is woken ([`SenderHandle::wake`]), a task ends, the earliest pending row
//! falls due, or [`IDLE_RECHECK`] passes. Rules:
//! - **Per chat FIFO**: only the oldest pending row of a chat may be sent, so an edit follows the
//!   message it edits; chats are served concurrently. Answers to callback queries are not ordered
//!   per chat, go first and have delivery slots of their own, so they never wait behind sends.
//! - **Limits** ([`super::limits`]): global, per private chat, per group; a 429 pauses the
//!   calls of its kind (messages, or answers) for `retry_after` and leaves the row pending, not
//!   counted as a failed attempt.
//! - **Retries**: 5xx, network errors and unreadable answers are retried with capped exponential
//!   backoff with jitter, up to `max_attempts`; then the row is `failed`.
//! - **403** fails the row and marks a private chat's user as having blocked the bot; other 4xx
//!   fail the row at once. "Message is not modified" counts as delivered.
//! - **At most once per attempt**: before it prepares the call, waits for the limits and makes
//!   its HTTP call, a task *claims* the row with a conditional UPDATE (`status = 'pending' AND
//!   attempts = <read> AND next_attempt_at <= now`, and the sender's term still current) that
//!   counts the attempt, records the term as the row's owner and moves `next_attempt_at` a
//!   [`LEASE`] ahead; a racing claim then matches no row and it does not send. The outcome is
//!   written with the same kind of conditional UPDATE (`attempts = <claimed> AND claimed_by =
//!   <term>`), so a row is never marked twice. The call leaves right when the limiter allows it,
//!   with no database round trip in between.
//! - **Takeover**: each run of the sender is a new term (`outbox::store`); it starts by taking
//!   over the rows claimed in earlier terms (a process killed between claim and outcome, or an
//!   instance that lost the leadership), which are then due at once. The lease only matters for
//!   a row whose outcome this term could not write. At shutdown a claimed row not yet sent is
//!   released at once.
//! - No database transaction is open across an HTTP call.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, DbErr};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::Instrument;

use super::api::BotApi;
use super::call::{Prepared, prepare};
use super::limits::Limits;
pub use super::retry::Backoff;
use super::retry::{RetryRules, delta};
use crate::config::SenderConfig;
use crate::db::WriteGate;
use crate::entities::outgoing_message::Model;
use crate::outbox::{Outcome, Store};

/// With nothing due, the outbox is looked at again after this long anyway (a row committed
/// without a wake, another instance's rows).
pub const IDLE_RECHECK: Duration = Duration::from_secs(30);
/// How far a claim moves `next_attempt_at` ahead: a wait for the limits plus the longest call,
/// with room to spare. A row claimed by a process that died is due again when it ends.
pub const LEASE: Duration = Duration::from_secs(90);
/// A claimed row that waited this long for the limits has its lease renewed before it is sent.
const RENEW_AFTER: Duration = Duration::from_secs(30);
/// How long an edit waits before looking again at a referenced row that is still pending.
const REFERENCE_RECHECK: Duration = Duration::from_secs(1);
/// After a failed outbox query, the next one comes this much later.
const SCAN_RETRY: Duration = Duration::from_secs(5);
/// Tries to write an outcome before giving up (the row is then retried after its lease).
const RECORD_TRIES: u32 = 6;
/// Answers to callback queries in flight at most (apart from the chat messages' slots).
const MAX_ANSWERS_IN_FLIGHT: usize = 64;
/// The limits forget quiet chats this often.
const FORGET_CHATS_EVERY: Duration = Duration::from_secs(300);

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

    fn scan_started(&self) {
        self.inner.progress.send_modify(|p| {
            p.scans += 1;
            p.idle = false;
        });
    }

    fn set_idle(&self) {
        self.inner.progress.send_modify(|p| p.idle = true);
    }
}

/// Delivers the outbox; see the module documentation.
pub struct Sender {
    db: DatabaseConnection,
    writes: WriteGate,
    api: BotApi,
    config: SenderConfig,
    handle: SenderHandle,
    backoff: Backoff,
    idle_recheck: Duration,
    max_in_flight: usize,
}

impl Sender {
    pub fn new(db: DatabaseConnection, api: BotApi, config: SenderConfig) -> Self {
        let max_in_flight = usize::try_from(config.global_per_second.saturating_mul(2)).unwrap_or(256).clamp(16, 256);
        Self {
            writes: WriteGate::for_database(&db),
            db,
            api,
            config,
            handle: SenderHandle::new(),
            backoff: Backoff::default(),
            idle_recheck: IDLE_RECHECK,
            max_in_flight,
        }
    }

    /// Queues its writes with the webhook's (SQLite; see [`WriteGate`]) instead of on its own.
    pub fn with_write_gate(mut self, writes: WriteGate) -> Self {
        self.writes = writes;
        self
    }

    /// Listens to `handle` (made before the sender, e.g. for the application state) instead of
    /// its own.
    pub fn with_handle(mut self, handle: SenderHandle) -> Self {
        self.handle = handle;
        self
    }

    /// Other retry delays (default: 1 s doubling to at most 5 min).
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Another safety re-check interval when idle (default [`IDLE_RECHECK`]).
    pub fn with_idle_recheck(mut self, every: Duration) -> Self {
        self.idle_recheck = every;
        self
    }

    /// The handle that wakes this sender.
    pub fn handle(&self) -> SenderHandle {
        self.handle.clone()
    }

    /// Delivers until `shutdown` completes; then stops starting calls, lets calls already made
    /// finish and record their outcome (at most [`super::api::REQUEST_TIMEOUT`]), and returns. Rows
    /// committed earlier (before a restart) are picked up at once.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let Sender { db, writes, api, config, handle, backoff, idle_recheck, max_in_flight } = self;
        tokio::pin!(shutdown);
        let store = loop {
            match Store::begin_term(db.clone(), writes.clone()).await {
                Ok((store, taken)) => {
                    tracing::info!(term = store.term(), taken_over = taken, "outbox sender term begun");
                    break store;
                }
                Err(e) => tracing::warn!(error = %e, "cannot begin a sender term; trying again shortly"),
            }
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(SCAN_RETRY) => {}
            }
        };
        let worker = Arc::new(Worker {
            store,
            api,
            limits: Limits::new(&config),
            retry: RetryRules { max_attempts: config.max_attempts, backoff },
            unclaimed: AtomicUsize::new(0),
        });
        let (stop, stopped) = watch::channel(false);
        let mut tasks = Tasks { set: JoinSet::new(), slots: HashMap::new(), busy: HashSet::new(), answers: 0 };
        let mut chats_forgotten = Instant::now();
        tracing::info!(?config, "outgoing-message sender started");
        loop {
            handle.scan_started();
            let wake_at = match worker.dispatch(&mut tasks, max_in_flight, &stopped).await {
                Ok(next_due) => {
                    let until_due = next_due.map_or(idle_recheck, |at| (at - Utc::now()).to_std().unwrap_or_default());
                    Instant::now() + until_due.min(idle_recheck)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the outbox; trying again shortly");
                    Instant::now() + SCAN_RETRY
                }
            };
            if tasks.set.is_empty() {
                handle.set_idle();
            }
            if chats_forgotten.elapsed() >= FORGET_CHATS_EVERY {
                worker.limits.forget_idle_chats();
                chats_forgotten = Instant::now();
            }
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                Some(done) = tasks.set.join_next_with_id() => {
                    tasks.finished(done);
                    while let Some(done) = tasks.set.try_join_next_with_id() {
                        tasks.finished(done);
                    }
                }
                () = handle.inner.wake.notified() => {}
                () = tokio::time::sleep_until(wake_at) => {}
            }
        }
        let _ = stop.send(true);
        while let Some(done) = tasks.set.join_next_with_id().await {
            tasks.finished(done);
        }
        tracing::info!("outgoing-message sender stopped");
    }
}

/// What a delivery task holds: a chat (its FIFO head) or one answer to a callback query.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Slot {
    Chat(i64),
    Answer(i64),
}

/// The delivery tasks in flight.
struct Tasks {
    set: JoinSet<()>,
    slots: HashMap<tokio::task::Id, Slot>,
    busy: HashSet<Slot>,
    /// How many of the tasks deliver answers.
    answers: usize,
}

impl Tasks {
    fn start(&mut self, slot: Slot, task: impl Future<Output = ()> + Send + 'static) {
        let id = self.set.spawn(task).id();
        self.slots.insert(id, slot);
        self.busy.insert(slot);
        if let Slot::Answer(_) = slot {
            self.answers += 1;
        }
    }

    /// Tasks delivering chat messages.
    fn messages(&self) -> usize {
        self.set.len() - self.answers
    }

    fn finished(&mut self, done: Result<(tokio::task::Id, ()), tokio::task::JoinError>) {
        let id = match done {
            Ok((id, ())) => id,
            Err(e) => {
                if e.is_panic() {
                    tracing::error!(error = %e, "an outbox delivery task panicked");
                }
                e.id()
            }
        };
        if let Some(slot) = self.slots.remove(&id) {
            self.busy.remove(&slot);
            if let Slot::Answer(_) = slot {
                self.answers -= 1;
            }
        }
    }
}

/// What every delivery task shares.
struct Worker {
    store: Store,
    api: BotApi,
    limits: Limits,
    retry: RetryRules,
    /// Delivery tasks started that have not tried to claim their row yet.
    unclaimed: AtomicUsize,
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
    async fn dispatch(
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
        loop {
            let stop = tokio::select! {
                biased;
                () = stop_requested(&mut stopped) => true,
                () = self.limits.acquire(call.kind, row.chat_id) => false,
            };
            if stop {
                self.record(&row, attempt, Outcome::Release { attempts: before }).await;
                return;
            }
            if leased_at.elapsed() < RENEW_AFTER {
                break;
            }
            // A long wait (a 429 pause): renew the lease before sending, then queue again.
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
        }
        let (target, kind) = (call.target, call.kind);
        let outcome = match call.execute(&self.api).await {
            Ok(message_id) => Outcome::Sent { message_id: message_id.or(target).map(i64::from), note: None },
            Err(error) => self.retry.outcome_of_error(&self.limits, kind, &row, attempt, target, error),
        };
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
