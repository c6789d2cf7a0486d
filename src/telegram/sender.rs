//! The sender: delivers the outbox (`outgoing_messages`) to the Bot API under Telegram's limits
//! and records the outcome on each row.
//!
//! One loop ([`Sender::run`]) looks at the outbox, starts a task for every row that may go now
//! and sleeps until it is woken ([`SenderHandle::wake`]), a task ends, the earliest pending row
//! falls due, or [`IDLE_RECHECK`] passes. Rules:
//! - **Per chat FIFO**: only the oldest pending row of a chat may be sent, so an edit follows the
//!   message it edits; chats are served concurrently. Answers to callback queries are not ordered
//!   per chat and go first.
//! - **Limits** ([`super::limits`]): global, per private chat, per group; a 429 pauses all
//!   sending for `retry_after` and leaves the row pending, not counted as a failed attempt.
//! - **Retries**: 5xx, network errors and unreadable answers are retried with capped exponential
//!   backoff with jitter, up to `max_attempts`; then the row is `failed`.
//! - **403** fails the row and marks a private chat's user as having blocked the bot; other 4xx
//!   fail the row at once. "Message is not modified" counts as delivered.
//! - **At most once per attempt**: before it waits for the limits and makes its HTTP call, a task
//!   *claims* the row with a conditional UPDATE (`status = 'pending' AND attempts = <read> AND
//!   next_attempt_at <= now`) that counts the attempt and moves `next_attempt_at` a [`LEASE`]
//!   ahead; a racing loop's claim then matches no row and it does not send. The outcome is
//!   written with the same kind of conditional UPDATE (`attempts = <claimed>`), so a row is never
//!   marked twice. If the process dies between claim and outcome, the row is due again when its
//!   lease ends; at shutdown a claimed row not yet sent is released at once. The call leaves right
//!   when the limiter allows it, with no database round trip in between.
//! - No database transaction is open across an HTTP call.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryFilter, QuerySelect, Statement,
    TransactionTrait,
};
use serde_json::{Map, Value, json};
use teloxide::types::{InlineKeyboardMarkup, Message};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::Instrument;

use super::api::{ApiError, BotApi};
use super::limits::{Kind, Limits};
use super::outbox::{MessageRef, Outgoing};
use crate::config::SenderConfig;
use crate::db::WriteGate;
use crate::entities::outgoing_message::{Column, Entity, Model, Status};
use crate::services::telegram_users;

/// With nothing due, the outbox is looked at again after this long anyway (a row committed
/// without a wake, another instance's rows).
pub const IDLE_RECHECK: Duration = Duration::from_secs(30);
/// How far a claim moves `next_attempt_at` ahead: a wait for the limits plus the longest call,
/// with room to spare. A row claimed by a process that died is due again when it ends.
pub const LEASE: Duration = Duration::from_secs(90);
/// A claimed row that waited this long for the limits has its lease renewed before it is sent.
const RENEW_AFTER: Duration = Duration::from_secs(30);
/// How long nothing is sent after Telegram rejected the bot token.
const UNAUTHORIZED_PAUSE: Duration = Duration::from_secs(60);
/// How long an edit waits before looking again at a referenced row that is still pending.
const REFERENCE_RECHECK: Duration = Duration::from_secs(1);
/// After a failed outbox query, the next one comes this much later.
const SCAN_RETRY: Duration = Duration::from_secs(5);
/// Pending answers to callback queries due now, oldest first (`$1` now, `$2` how many), walking
/// the partial index made for them. `$hint` names that index on SQLite, whose planner, without
/// statistics, would otherwise read every due row through `(status, next_attempt_at)` and sort
/// them (10 ms a scan with 10,000 replies queued); PostgreSQL picks it by itself.
macro_rules! due_answers {
    ($hint:literal) => {
        concat!(
            "SELECT * FROM outgoing_messages ",
            $hint,
            " WHERE status = 'pending' AND method = 'answerCallbackQuery' AND next_attempt_at <= $1 \
             ORDER BY id LIMIT $2"
        )
    };
}
/// Chat messages due now that are their chat's FIFO head (no older message of the chat is
/// pending), oldest first (`$1` now, `$2` how many); `$hint` as in [`due_answers`].
macro_rules! due_chat_heads {
    ($hint:literal) => {
        concat!(
            "SELECT * FROM outgoing_messages ",
            $hint,
            " WHERE status = 'pending' AND method <> 'answerCallbackQuery' AND next_attempt_at <= $1 \
               AND NOT EXISTS (SELECT 1 FROM outgoing_messages earlier \
                 WHERE earlier.status = 'pending' AND earlier.method <> 'answerCallbackQuery' \
                   AND earlier.chat_id = outgoing_messages.chat_id AND earlier.id < outgoing_messages.id) \
             ORDER BY id LIMIT $2"
        )
    };
}
/// The two scan queries as each database is asked them: (answers, chat heads).
fn due_queries(backend: DbBackend) -> (&'static str, &'static str) {
    match backend {
        DbBackend::Sqlite => (
            due_answers!("INDEXED BY idx_outgoing_messages_pending_answers"),
            due_chat_heads!("INDEXED BY idx_outgoing_messages_pending_messages"),
        ),
        _ => (due_answers!(""), due_chat_heads!("")),
    }
}
/// Tries to write an outcome before giving up (the row is then retried after its lease).
const RECORD_TRIES: u32 = 6;
/// Longest `last_error` kept.
const MAX_ERROR_CHARS: usize = 1000;
/// Keyed limiters forget quiet chats this often.
const FORGET_CHATS_EVERY: Duration = Duration::from_secs(300);
/// The longest wait the sender accepts from Telegram (a `retry_after` beyond it is cut).
const MAX_WAIT: Duration = Duration::from_secs(24 * 3600);

const ANSWER_METHOD: &str = "answerCallbackQuery";

/// Retry delays after 5xx and network errors: `first · 2^(n−1)` after the n-th failed attempt,
/// capped, with jitter (a random point between half and all of it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub first: Duration,
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self { first: Duration::from_secs(1), cap: Duration::from_secs(300) }
    }
}

impl Backoff {
    /// The delay after `failed_attempts` (≥ 1) attempts.
    pub fn delay(&self, failed_attempts: u32) -> Duration {
        let doublings = failed_attempts.saturating_sub(1).min(31);
        let full = self.first.saturating_mul(1u32 << doublings).min(self.cap);
        let half = full / 2;
        half + (full - half).mul_f64(rand::random::<f64>())
    }
}

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
        let worker = Arc::new(Worker {
            db,
            writes,
            api,
            limits: Limits::new(&config),
            max_attempts: config.max_attempts,
            backoff,
            unclaimed: AtomicUsize::new(0),
        });
        let (stop, stopped) = watch::channel(false);
        let mut tasks = Tasks { set: JoinSet::new(), slots: HashMap::new(), busy: HashSet::new() };
        let mut chats_forgotten = Instant::now();
        tokio::pin!(shutdown);
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
}

impl Tasks {
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
        }
    }
}

/// A Bot API call ready to go.
#[derive(Debug)]
struct Call {
    method: &'static str,
    body: Body,
    kind: Kind,
    /// For edits: the message edited (recorded as the row's `telegram_message_id`).
    target: Option<i32>,
}

#[derive(Debug)]
enum Body {
    Json(Value),
    Document { chat_id: i64, file_name: String, content: Vec<u8>, caption: Option<String> },
}

impl Call {
    /// Makes the call; the Telegram message id it produced or changed, if any.
    async fn execute(self, api: &BotApi) -> Result<Option<i32>, ApiError> {
        match self.body {
            Body::Document { chat_id, file_name, content, caption } => {
                let message = api.send_document(chat_id, &file_name, content, caption.as_deref()).await?;
                Ok(Some(message.id.0))
            }
            Body::Json(params) if self.method == ANSWER_METHOD => {
                api.call::<bool>(self.method, &params).await.map(|_| None)
            }
            Body::Json(params) => Ok(Some(api.call::<Message>(self.method, &params).await?.id.0)),
        }
    }
}

/// What to do with a row before any call.
enum Prepared {
    Call(Call),
    /// An edit whose message is still pending in the outbox.
    Wait(i64),
    /// The row cannot be sent (unreadable payload, the edited message failed).
    Fail(String),
}

/// How a row ends up after an attempt.
#[derive(Debug)]
enum Outcome {
    Sent {
        message_id: Option<i64>,
        note: Option<String>,
    },
    /// Stays pending until `at`, with `attempts` recorded.
    Retry {
        at: DateTime<Utc>,
        attempts: i32,
        error: String,
    },
    Failed {
        error: String,
        block_user: bool,
    },
    /// Claimed but not sent (shutdown): due again now, the attempt not counted.
    Release {
        attempts: i32,
    },
}

/// What every delivery task shares.
struct Worker {
    db: DatabaseConnection,
    writes: WriteGate,
    api: BotApi,
    limits: Limits,
    max_attempts: u32,
    backoff: Backoff,
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
        let free = max_in_flight.saturating_sub(tasks.set.len());
        if free == 0 {
            // The next task to end starts another scan.
            return Ok(None);
        }
        let now = Utc::now();
        // Rows of tasks that have not claimed theirs yet are still due: fetch enough to skip them.
        let limit = (free + self.unclaimed.load(Ordering::Relaxed)) as u64;
        let backend = self.db.get_database_backend();
        let due = |sql: &str| {
            Entity::find().from_raw_sql(Statement::from_sql_and_values(backend, sql, [now.into(), limit.into()]))
        };
        let (due_answers, due_chat_heads) = due_queries(backend);
        let answers = due(due_answers).all(&self.db).await?;
        let heads = due(due_chat_heads).all(&self.db).await?;
        let next_due: Option<DateTime<Utc>> = Entity::find()
            .select_only()
            .column_as(Column::NextAttemptAt.min(), "next_due")
            .filter(Column::Status.eq(Status::Pending))
            .filter(Column::NextAttemptAt.gt(now))
            .into_tuple::<Option<DateTime<Utc>>>()
            .one(&self.db)
            .await?
            .flatten();

        let rows = answers.into_iter().map(|row| (Slot::Answer(row.id), row));
        let rows = rows.chain(heads.into_iter().map(|row| (Slot::Chat(row.chat_id), row)));
        for (slot, row) in rows {
            if tasks.busy.contains(&slot) {
                continue;
            }
            if tasks.set.len() >= max_in_flight {
                break;
            }
            let span = tracing::info_span!("outbox", id = row.id, chat_id = row.chat_id, method = %row.method);
            let task = Arc::clone(self).deliver(row, stopped.clone()).instrument(span);
            self.unclaimed.fetch_add(1, Ordering::Relaxed);
            let id = tasks.set.spawn(task).id();
            tasks.slots.insert(id, slot);
            tasks.busy.insert(slot);
        }
        Ok(next_due)
    }

    /// One attempt at one row.
    async fn deliver(self: Arc<Self>, row: Model, mut stopped: watch::Receiver<bool>) {
        let mut unclaimed = Unclaimed(Some(&self.unclaimed));
        let call = match self.prepare(&row).await {
            Ok(Prepared::Call(call)) => call,
            Ok(Prepared::Wait(reference)) => {
                let outcome = Outcome::Retry {
                    at: Utc::now() + delta(REFERENCE_RECHECK),
                    attempts: row.attempts,
                    error: format!("waiting for outbox row {reference}, the message to edit, to be sent"),
                };
                self.record(&row, row.attempts, outcome).await;
                return;
            }
            Ok(Prepared::Fail(error)) => {
                self.record(&row, row.attempts, Outcome::Failed { error, block_user: false }).await;
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot prepare an outbox row; it stays pending");
                return;
            }
        };
        if *stopped.borrow() {
            return;
        }
        // Claim first, then wait for the limits, then send at once: a database round trip
        // between the limiter and the call would let calls bunch up on the wire.
        let claimed = self.claim(&row).await;
        unclaimed.done();
        match claimed {
            Ok(true) => {}
            Ok(false) => {
                tracing::debug!("the row was taken or changed by another sender");
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot claim an outbox row; it stays pending");
                return;
            }
        }
        let attempt = row.attempts + 1;
        let mut leased_at = Instant::now();
        loop {
            let stop = tokio::select! {
                biased;
                () = stop_requested(&mut stopped) => true,
                () = self.limits.acquire(call.kind, row.chat_id) => false,
            };
            if stop {
                self.record(&row, attempt, Outcome::Release { attempts: row.attempts }).await;
                return;
            }
            if leased_at.elapsed() < RENEW_AFTER {
                break;
            }
            // A long wait (a 429 pause): renew the lease before sending, then queue again.
            match self.renew_lease(&row, attempt).await {
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
        let attempt = row.attempts + 1;
        let target = call.target;
        let outcome = match call.execute(&self.api).await {
            Ok(message_id) => Outcome::Sent { message_id: message_id.or(target).map(i64::from), note: None },
            Err(error) => self.outcome_of_error(&row, attempt, target, error),
        };
        self.record(&row, attempt, outcome).await;
    }

    /// Reads the payload into a call; resolves an edit's reference to an outbox row.
    async fn prepare(&self, row: &Model) -> Result<Prepared, DbErr> {
        let outgoing: Outgoing = match serde_json::from_value(row.payload.clone()) {
            Ok(outgoing) => outgoing,
            Err(e) => return Ok(Prepared::Fail(format!("unreadable outbox payload: {e}"))),
        };
        let method = outgoing.method();
        let (kind, target, body) = match outgoing {
            Outgoing::SendMessage { chat_id, text, reply_markup } => {
                let mut body = params(json!({ "chat_id": chat_id, "text": text }));
                add_markup(&mut body, reply_markup);
                (Kind::ChatMessage, None, Body::Json(Value::Object(body)))
            }
            Outgoing::SendPhoto { chat_id, photo, caption, reply_markup } => {
                let mut body = params(json!({ "chat_id": chat_id, "photo": photo }));
                if let Some(caption) = caption {
                    body.insert("caption".into(), Value::String(caption));
                }
                add_markup(&mut body, reply_markup);
                (Kind::ChatMessage, None, Body::Json(Value::Object(body)))
            }
            Outgoing::SendDocument { chat_id, file_name, content, caption } => {
                (Kind::ChatMessage, None, Body::Document { chat_id, file_name, content, caption })
            }
            Outgoing::EditMessageText { chat_id, message, text, reply_markup } => {
                let message_id = match self.resolve(&message).await? {
                    Ok(id) => id,
                    Err(not_ready) => return Ok(not_ready),
                };
                let mut body = params(json!({ "chat_id": chat_id, "message_id": message_id, "text": text }));
                add_markup(&mut body, reply_markup);
                (Kind::ChatMessage, Some(message_id), Body::Json(Value::Object(body)))
            }
            Outgoing::EditMessageReplyMarkup { chat_id, message, reply_markup } => {
                let message_id = match self.resolve(&message).await? {
                    Ok(id) => id,
                    Err(not_ready) => return Ok(not_ready),
                };
                let mut body = params(json!({ "chat_id": chat_id, "message_id": message_id }));
                add_markup(&mut body, reply_markup);
                (Kind::ChatMessage, Some(message_id), Body::Json(Value::Object(body)))
            }
            Outgoing::AnswerCallbackQuery { callback_query_id, text, show_alert, .. } => {
                let mut body = params(json!({ "callback_query_id": callback_query_id, "show_alert": show_alert }));
                if let Some(text) = text {
                    body.insert("text".into(), Value::String(text));
                }
                (Kind::Unlimited, None, Body::Json(Value::Object(body)))
            }
        };
        Ok(Prepared::Call(Call { method, body, kind, target }))
    }

    /// The Telegram id of the message an edit applies to, or why the edit cannot go now.
    async fn resolve(&self, message: &MessageRef) -> Result<Result<i32, Prepared>, DbErr> {
        let reference = match message {
            MessageRef::Telegram(id) => return Ok(Ok(*id)),
            MessageRef::Outbox(reference) => *reference,
        };
        let Some(referenced) = Entity::find_by_id(reference).one(&self.db).await? else {
            return Ok(Err(Prepared::Fail(format!("the message to edit (outbox row {reference}) does not exist"))));
        };
        Ok(match (referenced.status, referenced.telegram_message_id) {
            (Status::Pending, _) => Err(Prepared::Wait(reference)),
            (Status::Failed, _) => Err(Prepared::Fail(format!(
                "the message to edit (outbox row {reference}) was never delivered: {}",
                referenced.last_error.as_deref().unwrap_or("no error recorded")
            ))),
            (Status::Sent, Some(id)) => match i32::try_from(id) {
                Ok(id) => Ok(id),
                Err(_) => Err(Prepared::Fail(format!("outbox row {reference} has an invalid message id {id}"))),
            },
            (Status::Sent, None) => Err(Prepared::Fail(format!(
                "the message to edit (outbox row {reference}) was delivered without a Telegram message id"
            ))),
        })
    }

    /// Claims the row for one attempt: counts it and leases the row, only if it is still pending,
    /// due and unchanged since it was read. `false`: another sender has it.
    async fn claim(&self, row: &Model) -> Result<bool, DbErr> {
        let _turn = self.writes.turn().await;
        let now = Utc::now();
        let claimed = Entity::update_many()
            .col_expr(Column::Attempts, Expr::value(row.attempts + 1))
            .col_expr(Column::NextAttemptAt, Expr::value(now + delta(LEASE)))
            .filter(Column::Id.eq(row.id))
            .filter(Column::Status.eq(Status::Pending))
            .filter(Column::Attempts.eq(row.attempts))
            .filter(Column::NextAttemptAt.lte(now))
            .exec(&self.db)
            .await?;
        Ok(claimed.rows_affected == 1)
    }

    /// Moves a claimed row's lease ahead; `false` if the row is no longer this task's.
    async fn renew_lease(&self, row: &Model, attempts: i32) -> Result<bool, DbErr> {
        let _turn = self.writes.turn().await;
        let renewed = Entity::update_many()
            .col_expr(Column::NextAttemptAt, Expr::value(Utc::now() + delta(LEASE)))
            .filter(Column::Id.eq(row.id))
            .filter(Column::Status.eq(Status::Pending))
            .filter(Column::Attempts.eq(attempts))
            .exec(&self.db)
            .await?;
        Ok(renewed.rows_affected == 1)
    }

    fn outcome_of_error(&self, row: &Model, attempt: i32, target: Option<i32>, error: ApiError) -> Outcome {
        let text = error.to_string();
        match error {
            _ if error.is_not_modified() => Outcome::Sent { message_id: target.map(i64::from), note: None },
            ApiError::Decode { message_id, .. } => {
                tracing::warn!(error = %text, "delivered, but Telegram's answer could not be read");
                Outcome::Sent { message_id: message_id.or(target).map(i64::from), note: Some(text) }
            }
            ApiError::RetryAfter(secs) => {
                let wait = Duration::from_secs(secs).min(MAX_WAIT);
                tracing::warn!(retry_after = secs, "Telegram asked to slow down: all sending paused");
                self.limits.pause_for(wait);
                Outcome::Retry { at: Utc::now() + delta(wait), attempts: row.attempts, error: text }
            }
            ApiError::Unauthorized(_) => {
                tracing::error!(error = %text, "Telegram rejected the bot token: sending paused; check TELEGRAM_BOT_TOKEN");
                self.limits.pause_for(UNAUTHORIZED_PAUSE);
                Outcome::Retry { at: Utc::now() + delta(UNAUTHORIZED_PAUSE), attempts: row.attempts, error: text }
            }
            ApiError::Server { .. } | ApiError::Network(_) => {
                let failed = u32::try_from(attempt).unwrap_or(u32::MAX);
                let max_attempts = row.max_attempts.and_then(|n| u32::try_from(n).ok()).unwrap_or(self.max_attempts);
                if failed >= max_attempts {
                    tracing::warn!(error = %text, attempts = attempt, "giving up after the last attempt");
                    Outcome::Failed { error: text, block_user: false }
                } else {
                    let wait = match row.retry_delay_seconds.and_then(|s| u64::try_from(s).ok()) {
                        Some(secs) => Duration::from_secs(secs),
                        None => self.backoff.delay(failed),
                    };
                    tracing::info!(error = %text, attempts = attempt, retry_in = ?wait, "will retry");
                    Outcome::Retry { at: Utc::now() + delta(wait), attempts: attempt, error: text }
                }
            }
            ApiError::Blocked(_) => {
                tracing::info!(error = %text, "the chat blocked the bot or removed it");
                Outcome::Failed { error: text, block_user: row.chat_id > 0 }
            }
            ApiError::Client { .. } => {
                tracing::warn!(error = %text, "Telegram refused the call; not retried");
                Outcome::Failed { error: text, block_user: false }
            }
        }
    }

    /// Writes an outcome if the row is still pending with `attempts` as expected, retrying while
    /// the database is unavailable.
    async fn record(&self, row: &Model, attempts: i32, outcome: Outcome) {
        let mut delay = Duration::from_millis(200);
        for tries in 1..=RECORD_TRIES {
            match self.write(row, attempts, &outcome).await {
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

    async fn write(&self, row: &Model, attempts: i32, outcome: &Outcome) -> crate::error::Result<bool> {
        let update = Entity::update_many()
            .filter(Column::Id.eq(row.id))
            .filter(Column::Status.eq(Status::Pending))
            .filter(Column::Attempts.eq(attempts));
        let update = match outcome {
            Outcome::Sent { message_id, note } => update
                .col_expr(Column::Status, Expr::value(Status::Sent))
                .col_expr(Column::SentAt, Expr::value(Some(Utc::now())))
                .col_expr(Column::TelegramMessageId, Expr::value(*message_id))
                .col_expr(Column::LastError, Expr::value(note.as_deref().map(truncate))),
            Outcome::Retry { at, attempts, error } => update
                .col_expr(Column::Attempts, Expr::value(*attempts))
                .col_expr(Column::NextAttemptAt, Expr::value(*at))
                .col_expr(Column::LastError, Expr::value(Some(truncate(error)))),
            Outcome::Failed { error, .. } => update
                .col_expr(Column::Status, Expr::value(Status::Failed))
                .col_expr(Column::LastError, Expr::value(Some(truncate(error)))),
            Outcome::Release { attempts } => update
                .col_expr(Column::Attempts, Expr::value(*attempts))
                .col_expr(Column::NextAttemptAt, Expr::value(Utc::now())),
        };
        let _turn = self.writes.turn().await;
        let txn = self.db.begin().await?;
        let written = update.exec(&txn).await?.rows_affected == 1;
        if written {
            if let Outcome::Failed { block_user: true, .. } = outcome {
                telegram_users::set_blocked(&txn, row.chat_id, true).await?;
            }
            mirror_to_notification_log(&txn, row.id, attempts, outcome).await?;
        }
        txn.commit().await?;
        Ok(written)
    }
}

/// A reminder's log row follows its message: every attempt's status, count and error.
async fn mirror_to_notification_log(
    txn: &sea_orm::DatabaseTransaction,
    outbox_id: i64,
    attempts: i32,
    outcome: &Outcome,
) -> Result<(), DbErr> {
    use crate::entities::notification_log::{Column as Log, Entity as Logs};
    let update = Logs::update_many().filter(Log::OutgoingMessageId.eq(outbox_id));
    let update = match outcome {
        Outcome::Sent { .. } => update
            .col_expr(Log::Status, Expr::value("sent"))
            .col_expr(Log::Attempts, Expr::value(attempts))
            .col_expr(Log::SentAt, Expr::value(Some(Utc::now()))),
        Outcome::Retry { attempts, error, .. } => update
            .col_expr(Log::Status, Expr::value("retrying"))
            .col_expr(Log::Attempts, Expr::value(*attempts))
            .col_expr(Log::LastError, Expr::value(Some(truncate(error)))),
        Outcome::Failed { error, .. } => update
            .col_expr(Log::Status, Expr::value("failed"))
            .col_expr(Log::Attempts, Expr::value(attempts))
            .col_expr(Log::LastError, Expr::value(Some(truncate(error)))),
        Outcome::Release { .. } => return Ok(()),
    };
    let reminder = update.exec(txn).await?.rows_affected > 0;
    match outcome {
        Outcome::Sent { .. } if reminder => metrics::counter!("kktbot_reminders_sent_total").increment(1),
        Outcome::Failed { .. } if reminder => metrics::counter!("kktbot_reminders_failed_total").increment(1),
        _ => {}
    }
    Ok(())
}

/// Completes once the sender is stopping.
async fn stop_requested(stopped: &mut watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}

fn params(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn add_markup(body: &mut Map<String, Value>, markup: Option<InlineKeyboardMarkup>) {
    if let Some(markup) = markup
        && let Ok(markup) = serde_json::to_value(markup)
    {
        body.insert("reply_markup".into(), markup);
    }
}

fn truncate(text: &str) -> String {
    text.chars().take(MAX_ERROR_CHARS).collect()
}

/// `duration` as chrono's, at most [`MAX_WAIT`].
fn delta(duration: Duration) -> TimeDelta {
    TimeDelta::from_std(duration.min(MAX_WAIT)).unwrap_or(TimeDelta::zero())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::{ConnectionTrait, Database};

    /// On SQLite each scan walks its partial index in id order and stops at the limit: no full
    /// read of the due rows, no sort.
    #[tokio::test]
    async fn sqlite_scans_walk_the_pending_indexes_without_sorting() {
        let db = Database::connect("sqlite::memory:").await.unwrap();
        crate::db::migrate_up(&db).await.unwrap();
        let (answers, heads) = due_queries(DbBackend::Sqlite);
        for (sql, index) in
            [(answers, "idx_outgoing_messages_pending_answers"), (heads, "idx_outgoing_messages_pending_messages")]
        {
            let explain = Statement::from_sql_and_values(
                DbBackend::Sqlite,
                format!("EXPLAIN QUERY PLAN {sql}"),
                [Utc::now().into(), 10u64.into()],
            );
            let plan: Vec<String> = db
                .query_all_raw(explain)
                .await
                .unwrap()
                .iter()
                .map(|row| row.try_get::<String>("", "detail").unwrap())
                .collect();
            assert!(plan.iter().any(|step| step.contains(index)), "{plan:?}");
            assert!(!plan.iter().any(|step| step.contains("TEMP B-TREE")), "{plan:?}");
        }
    }

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap() {
        let backoff = Backoff::default();
        for _ in 0..100 {
            let first = backoff.delay(1);
            assert!(first >= Duration::from_millis(500) && first <= Duration::from_secs(1), "{first:?}");
            let third = backoff.delay(3);
            assert!(third >= Duration::from_secs(2) && third <= Duration::from_secs(4), "{third:?}");
            let late = backoff.delay(40);
            assert!(late >= Duration::from_secs(150) && late <= Duration::from_secs(300), "{late:?}");
        }
    }

    #[test]
    fn the_lease_outlasts_a_call() {
        use crate::telegram::api::REQUEST_TIMEOUT;
        assert!(LEASE > RENEW_AFTER + REQUEST_TIMEOUT + Duration::from_secs(10));
    }
}
