//! The sender: delivers the outbox (`outgoing_messages`) to the Bot API under Telegram's limits
//! and records the outcome on each row.
//!
//! One loop ([`Sender::run`]) claims what may go now in one statement, starts a task for each row
//! claimed and sleeps until it is woken ([`SenderHandle::wake`]), tasks end, the earliest pending
//! row falls due, or [`IDLE_RECHECK`] passes. Rules:
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
//! - **At most once per attempt**: the loop *claims* the rows it starts tasks for with one
//!   conditional UPDATE (`status = 'pending' AND next_attempt_at <= now`, the row a chat's FIFO
//!   head or an answer, and the sender's term still current) that counts each row's attempt,
//!   records the term as its owner and moves `next_attempt_at` a [`LEASE`] ahead; a racing claim
//!   then matches no row. The outcome is written with a conditional UPDATE too (`attempts =
//!   <claimed> AND claimed_by = <term>`), so a row is never marked twice; the outcomes ready
//!   together share one transaction (`recorder`), and nothing waits to fill a batch, so the
//!   window between a message sent and its record stays short. The call leaves right when the
//!   limiter allows it, with no database round trip in between.
//! - **Takeover**: each run of the sender is a new term (`outbox::store`); it starts by taking
//!   over the rows claimed in earlier terms (a process killed between claim and outcome, or an
//!   instance that lost the leadership), which are then due at once. The lease only matters for
//!   a row whose outcome this term could not write. At shutdown a claimed row not yet sent is
//!   released at once.
//! - No database transaction is open across an HTTP call.

mod handle;
mod recorder;
mod tasks;
mod worker;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use sea_orm::DatabaseConnection;
use tokio::sync::watch;
use tokio::time::Instant;

pub use self::handle::SenderHandle;
use self::recorder::Recorder;
use self::tasks::Tasks;
use self::worker::Worker;
use super::api::BotApi;
use super::limits::Limits;
pub use super::retry::Backoff;
use super::retry::RetryRules;
use crate::config::SenderConfig;
use crate::db::WriteGate;
use crate::outbox::Store;

/// With nothing due, the outbox is looked at again after this long anyway (a row committed
/// without a wake, another instance's rows).
pub const IDLE_RECHECK: Duration = Duration::from_secs(30);
/// How far a claim moves `next_attempt_at` ahead: a wait for the limits plus the longest call,
/// with room to spare. A row claimed by a process that died is due again when it ends.
pub const LEASE: Duration = Duration::from_secs(90);
/// While deliveries are in flight, the outbox is looked at again at least this often (each one
/// ending also looks): a row falling due meanwhile waits no longer.
const BUSY_RECHECK: Duration = Duration::from_secs(1);
/// After a failed outbox query, the next one comes this much later.
const SCAN_RETRY: Duration = Duration::from_secs(5);
/// The limits forget quiet chats this often.
const FORGET_CHATS_EVERY: Duration = Duration::from_secs(300);

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
        let (recorder, recording) = Recorder::start(store.clone());
        let worker = Arc::new(Worker {
            store,
            api,
            limits: Limits::new(&config),
            retry: RetryRules { max_attempts: config.max_attempts, backoff },
            recorder,
        });
        let (stop, stopped) = watch::channel(false);
        let mut tasks = Tasks::default();
        let mut chats_forgotten = Instant::now();
        tracing::info!(?config, "outgoing-message sender started");
        loop {
            handle.scan_started();
            let scanned = match worker.dispatch(&mut tasks, max_in_flight, &stopped).await {
                // Busy: the tasks' ends wake the loop; idle: it sleeps until the next row is due.
                Ok(()) if !tasks.set.is_empty() => Ok(Some(BUSY_RECHECK.min(idle_recheck))),
                Ok(()) => worker.store.next_due().await.map(|next_due| {
                    next_due.map(|at| (at - Utc::now()).to_std().unwrap_or_default().min(idle_recheck))
                }),
                Err(e) => Err(e),
            };
            let wake_at = match scanned {
                Ok(after) => Instant::now() + after.unwrap_or(idle_recheck),
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
                () = handle.woken() => {}
                () = tokio::time::sleep_until(wake_at) => {}
            }
        }
        let _ = stop.send(true);
        while let Some(done) = tasks.set.join_next_with_id().await {
            tasks.finished(done);
        }
        // The last recorder goes with the worker: the recorder writes what is queued and ends.
        drop(worker);
        let _ = recording.await;
        tracing::info!("outgoing-message sender stopped");
    }
}
