//! The application core: what every adapter needs — the bot, the REST API, the scheduler and
//! the command line — built once at start (`src/app.rs`, `src/cli.rs`) and passed explicitly.
//!
//! Every write that may queue Telegram messages goes through one helper: [`Core::begin`] waits
//! its turn at the write gate (SQLite) and begins the transaction; [`Write::commit`] commits it,
//! then wakes the sender, so a message is looked at as soon as it is committed and never before.

use std::ops::Deref;
use std::sync::Arc;

use chrono_tz::Tz;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, ExecResult, QueryResult,
    SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};
use tokio::sync::OwnedMutexGuard;

use crate::bot::notifier::TelegramNotifier;
use crate::db::WriteGate;
use crate::telegram::sender::SenderHandle;

/// What the adapters share. Cheap to clone.
#[derive(Clone)]
pub struct Core {
    pub db: DatabaseConnection,
    writes: WriteGate,
    sender: SenderHandle,
    /// The company's time zone: "today" for lists, deadlines and reminders.
    pub timezone: Tz,
    /// The messages a request's change or a reminder run causes, written to the outbox in the
    /// change's transaction — with the bot off too: what is queued meanwhile goes out once a
    /// server with the bot runs on the database.
    pub notifier: Arc<TelegramNotifier>,
    /// The bot's @username (Telegram's getMe at start); `None` when the bot is off or getMe
    /// failed.
    pub bot_username: Option<String>,
}

impl Core {
    /// The core of a server whose sender `sender` wakes (a handle no sender runs on when the bot
    /// is off: waking it does nothing).
    pub fn new(db: DatabaseConnection, sender: SenderHandle, timezone: Tz, notifier: Arc<TelegramNotifier>) -> Self {
        let writes = WriteGate::for_database(&db);
        Self { db, writes, sender, timezone, notifier, bot_username: None }
    }

    /// With the bot on: its @username.
    pub fn with_bot_username(mut self, username: Option<String>) -> Self {
        self.bot_username = username.filter(|u| !u.is_empty());
        self
    }

    /// The queue of SQLite's writers, which the sender joins too.
    pub fn write_gate(&self) -> &WriteGate {
        &self.writes
    }

    /// Wakes the sender (after a commit that queued messages).
    pub fn sender(&self) -> &SenderHandle {
        &self.sender
    }

    /// Begins a write: waits for its turn at the write gate (SQLite), then begins the
    /// transaction — on SQLite taking the write lock at once (`BEGIN IMMEDIATE`), since every
    /// write reads first and a deferred transaction that another writer's commit has overtaken
    /// cannot become a writer. PostgreSQL and MySQL ignore the mode.
    pub async fn begin(&self) -> crate::error::Result<Write> {
        let turn = self.writes.turn().await;
        let options = TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        };
        let txn = self.db.begin_with_options(options).await?;
        Ok(Write { txn, sender: self.sender.clone(), _turn: turn })
    }
}

/// A write in progress: its transaction (use it as one: `&write` is a connection), its turn at
/// the write gate, and the sender to wake once it commits. Dropped without [`Write::commit`],
/// it rolls back.
pub struct Write {
    txn: DatabaseTransaction,
    sender: SenderHandle,
    _turn: Option<OwnedMutexGuard<()>>,
}

impl Write {
    /// Commits, then wakes the sender for whatever the write queued.
    pub async fn commit(self) -> crate::error::Result<()> {
        self.txn.commit().await?;
        self.sender.wake();
        Ok(())
    }

    /// Undoes the write.
    pub async fn rollback(self) -> crate::error::Result<()> {
        Ok(self.txn.rollback().await?)
    }
}

impl Deref for Write {
    type Target = DatabaseTransaction;

    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Write {
    fn get_database_backend(&self) -> DbBackend {
        self.txn.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.txn.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.txn.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.txn.query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.txn.query_all_raw(stmt).await
    }
}
