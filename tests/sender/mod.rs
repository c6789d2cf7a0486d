//! The outgoing-message sender against the fake Bot API, on SQLite and PostgreSQL: delivery and
//! message ids, FIFO per chat with edits of outbox rows, 429 / 5xx / 403 / 400 handling, flood
//! limits over many chats, rows left from before a restart, claims owned by the sender's term
//! (fenced, and taken over at once after a crash) and the wake path.
//!
//! Each test builds a `Sender` over a fresh migrated database and runs it in a task; it waits on
//! the fake's `wait_for` and on `SenderHandle::settled` (and polls a row only for a state neither
//! shows), never on a fixed sleep.

use std::time::Duration;

use kktbot::config::{Secret, SenderConfig};
use kktbot::db::WriteGate;
use kktbot::entities::outgoing_message::{self, Status};
use kktbot::outbox::{self, MessageRef, Outcome, Outgoing, Record, Store};
use kktbot::services::telegram_users;
use kktbot::telegram::api::BotApi;
use kktbot::telegram::sender::{Backoff, LEASE, Sender, SenderHandle};
use sea_orm::{DatabaseConnection, EntityTrait, TransactionTrait};
use serde_json::json;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::support::telegram::{Call, FakeTelegram, Fault};
use crate::support::{Backend, TestDatabase, backend_test};

mod claims;
mod delivery;
mod errors;
mod pace;
mod retention;

const USER: i64 = 5_100_000_001;
const OTHER_USER: i64 = 5_100_000_002;
const SUPERGROUP: i64 = -1_001_500_000_000;

const SETTLE_TIMEOUT: Duration = Duration::from_secs(15);

fn config() -> SenderConfig {
    SenderConfig { global_per_second: 30, per_chat_per_second: 1, per_group_per_minute: 20, max_attempts: 3 }
}

fn api_for(tg: &FakeTelegram) -> BotApi {
    BotApi::new(&tg.api_url().parse().expect("the fake's URL"), &Secret::new(tg.token()))
}

fn sender(db: &DatabaseConnection, tg: &FakeTelegram, config: SenderConfig) -> Sender {
    Sender::new(db.clone(), api_for(tg), config)
}

/// A sender running in a task until stopped.
struct Running {
    handle: SenderHandle,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Running {
    fn start(sender: Sender) -> Self {
        let handle = sender.handle();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(sender.run(async {
            let _ = stopped.await;
        }));
        Self { handle, stop: Some(stop), task: Some(task) }
    }

    /// Waits until the sender has looked at the outbox and has nothing in flight.
    async fn settled(&self) {
        tokio::time::timeout(SETTLE_TIMEOUT, self.handle.settled()).await.expect("the sender settles");
    }

    /// Ends the sender the way a killed process ends: at once, nothing released or recorded.
    async fn kill(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    /// Stops the sender gracefully (calls in flight finish and are recorded).
    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(SETTLE_TIMEOUT, task).await.expect("the sender stops").expect("the sender task");
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

async fn enqueue(db: &DatabaseConnection, message: Outgoing) -> i64 {
    outbox::enqueue(db, message).await.expect("enqueue")
}

async fn row(db: &DatabaseConnection, id: i64) -> outgoing_message::Model {
    outgoing_message::Entity::find_by_id(id).one(db).await.expect("query").expect("the row exists")
}

/// Polls the row until `done` holds (for states no fake call or settling marks).
async fn row_when(
    db: &DatabaseConnection,
    id: i64,
    done: impl Fn(&outgoing_message::Model) -> bool,
) -> outgoing_message::Model {
    let deadline = tokio::time::Instant::now() + SETTLE_TIMEOUT;
    loop {
        let row = row(db, id).await;
        if done(&row) {
            return row;
        }
        assert!(tokio::time::Instant::now() < deadline, "the row did not reach the expected state: {row:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn message_id(call: &Call) -> i64 {
    call.response["result"]["message_id"].as_i64().expect("a message in the answer")
}

fn keyboard(data: &str) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new([[InlineKeyboardButton::callback("Принять", data)]])
}
