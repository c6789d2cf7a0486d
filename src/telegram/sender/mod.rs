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

mod handle;
mod tasks;
mod worker;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use chrono::Utc;
use sea_orm::DatabaseConnection;
use tokio::sync::watch;
use tokio::time::Instant;

pub use self::handle::SenderHandle;
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
        let worker = Arc::new(Worker {
            store,
            api,
            limits: Limits::new(&config),
            retry: RetryRules { max_attempts: config.max_attempts, backoff },
            unclaimed: AtomicUsize::new(0),
        });
        let (stop, stopped) = watch::channel(false);
        let mut tasks = Tasks::default();
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
                () = handle.woken() => {}
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
