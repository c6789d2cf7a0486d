//! The sender's side of the outbox: which rows are due (scans), taking a row for an attempt
//! (claims and leases), and what became of it (outcomes), plus the backlog count.
//!
//! A claim belongs to its owner, the sender's *term*: a sender starting ([`Store::begin_term`])
//! raises the term in `outbox_sender` and, in the same transaction, takes over every row claimed
//! in an earlier term — its owner is gone (killed, or no longer the leader) — so those rows are
//! due again at once instead of when their lease runs out. Claims are fenced by the term: a
//! claim made for a term that is no longer the current one matches no row (on PostgreSQL and
//! MySQL it reads the term row with a shared lock, so a claim racing a new term either commits before the new
//! term takes over, and is taken over, or sees the new term and fails). Only one sender runs at
//! a time (the leader, `ops::leader`), so a new term means the old owner has stopped or is
//! stopping; a call it had already made may be sent once more by the new term.
//!
//! Every write is a conditional UPDATE on the state the caller read (`status = 'pending' AND
//! attempts = <read>`, and for outcomes `claimed_by = <term>`), so two senders racing for a row
//! never both succeed, and a row is never marked twice. On SQLite the writes take their turn in
//! the process's [`WriteGate`].

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect, Statement, TransactionTrait,
};

use crate::db::WriteGate;
use crate::entities::outgoing_message::{Column, Entity, Model, Status};
use crate::services::telegram_users;
use crate::sql;

/// Longest `last_error` kept.
const MAX_ERROR_CHARS: usize = 1000;

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

/// How a row ends up after an attempt.
#[derive(Debug)]
pub enum Outcome {
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
        /// The chat is a private one whose user blocked the bot: mark them.
        block_user: bool,
    },
    /// Claimed but not sent (shutdown): due again now, the attempt not counted.
    Release {
        attempts: i32,
    },
}

/// Rows due now, from [`Store::due`].
#[derive(Debug, Default)]
pub struct Due {
    /// Answers to callback queries, oldest first.
    pub answers: Vec<Model>,
    /// Each chat's oldest pending message, if it is due, oldest first.
    pub chat_heads: Vec<Model>,
    /// When the earliest pending row not yet due falls due.
    pub next_due: Option<DateTime<Utc>>,
}

/// The outbox as one sender's term reads and writes it. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    db: DatabaseConnection,
    writes: WriteGate,
    term: i64,
}

impl Store {
    /// Begins a new sender term on the outbox of `db` (on SQLite its writes queue in `writes`)
    /// and takes over the rows claimed in earlier terms: they are released, due now, with the
    /// attempt they were claimed for still counted. Returns the term's store and how many rows
    /// it took over.
    pub async fn begin_term(db: DatabaseConnection, writes: WriteGate) -> Result<(Self, u64), DbErr> {
        let backend = db.get_database_backend();
        let now = Utc::now();
        let _turn = writes.turn().await;
        let txn = db.begin().await?;
        let raise = "UPDATE outbox_sender SET term = term + 1, term_started_at = $1 WHERE id = 1";
        let raised = if backend == DbBackend::MySql {
            // No UPDATE … RETURNING on MySQL: the row stays locked by this transaction, read it.
            txn.execute_raw(sql::statement(backend, raise, [now.into()])).await?;
            let read = "SELECT term FROM outbox_sender WHERE id = 1";
            txn.query_one_raw(Statement::from_string(backend, read)).await?
        } else {
            let raise = format!("{raise} RETURNING term");
            txn.query_one_raw(Statement::from_sql_and_values(backend, raise, [now.into()])).await?
        };
        let raised = raised.ok_or_else(|| DbErr::RecordNotFound("the outbox_sender row".into()))?;
        let term: i64 = raised.try_get("", "term")?;
        let taken = Entity::update_many()
            .col_expr(Column::ClaimedBy, Expr::value(Option::<i64>::None))
            .col_expr(Column::NextAttemptAt, Expr::value(now))
            .filter(Column::Status.eq(Status::Pending))
            .filter(Column::ClaimedBy.is_not_null())
            .filter(Column::ClaimedBy.ne(term))
            .exec(&txn)
            .await?
            .rows_affected;
        txn.commit().await?;
        drop(_turn);
        Ok((Self { db, writes, term }, taken))
    }

    /// This store's term.
    pub fn term(&self) -> i64 {
        self.term
    }

    /// What may go now: at most `answers` answers and `heads` chat heads, oldest first (a
    /// query whose limit is 0 is not made). Every query is bounded by its limit (or reads one
    /// index entry), so a scan costs the same with ten rows pending or a hundred thousand.
    pub async fn due(&self, now: DateTime<Utc>, answers: u64, heads: u64) -> Result<Due, DbErr> {
        let backend = self.db.get_database_backend();
        let due = async |sql: &str, limit: u64| {
            if limit == 0 {
                return Ok(Vec::new());
            }
            Entity::find().from_raw_sql(sql::statement(backend, sql, [now.into(), limit.into()])).all(&self.db).await
        };
        let (due_answers, due_chat_heads) = due_queries(backend);
        let answers = due(due_answers, answers).await?;
        let chat_heads = due(due_chat_heads, heads).await?;
        let next_due: Option<DateTime<Utc>> = Entity::find()
            .select_only()
            .column_as(Column::NextAttemptAt.min(), "next_due")
            .filter(Column::Status.eq(Status::Pending))
            .filter(Column::NextAttemptAt.gt(now))
            .into_tuple::<Option<DateTime<Utc>>>()
            .one(&self.db)
            .await?
            .flatten();
        Ok(Due { answers, chat_heads, next_due })
    }

    /// One row by its id (the message an edit refers to).
    pub async fn find(&self, id: i64) -> Result<Option<Model>, DbErr> {
        Entity::find_by_id(id).one(&self.db).await
    }

    /// Claims the row for one attempt by this term: counts it and leases the row for `lease`,
    /// only if it is still pending, due and unchanged since it was read, and this term is still
    /// the current one. Returns the row as claimed (an edit may have been folded into its
    /// payload since it was read); `None`: another sender has it, or a newer term began.
    pub async fn claim(&self, row: &Model, lease: Duration) -> Result<Option<Model>, DbErr> {
        let _turn = self.writes.turn().await;
        let now = Utc::now();
        let claim = Entity::update_many()
            .col_expr(Column::Attempts, Expr::value(row.attempts + 1))
            .col_expr(Column::NextAttemptAt, Expr::value(now + delta(lease)))
            .col_expr(Column::ClaimedBy, Expr::value(Some(self.term)))
            .filter(Column::Id.eq(row.id))
            .filter(Column::Status.eq(Status::Pending))
            .filter(Column::Attempts.eq(row.attempts))
            .filter(Column::NextAttemptAt.lte(now))
            .filter(self.current_term());
        if self.db.support_returning() {
            return Ok(claim.exec_with_returning(&self.db).await?.pop());
        }
        if claim.exec(&self.db).await?.rows_affected == 0 {
            return Ok(None);
        }
        Entity::find_by_id(row.id).one(&self.db).await
    }

    /// The condition that this store's term is the current one (see the module documentation).
    fn current_term(&self) -> sea_orm::sea_query::SimpleExpr {
        let lock = sql::lock_shared(self.db.get_database_backend());
        Expr::cust(format!("(SELECT term FROM outbox_sender WHERE id = 1{lock}) = {}", self.term))
    }

    /// Moves a claimed row's lease `lease` ahead; `false` if the row is no longer the claimer's.
    pub async fn renew(&self, row: &Model, attempts: i32, lease: Duration) -> Result<bool, DbErr> {
        let _turn = self.writes.turn().await;
        let renewed = Entity::update_many()
            .col_expr(Column::NextAttemptAt, Expr::value(Utc::now() + delta(lease)))
            .filter(Column::Id.eq(row.id))
            .filter(Column::Status.eq(Status::Pending))
            .filter(Column::Attempts.eq(attempts))
            .filter(Column::ClaimedBy.eq(self.term))
            .exec(&self.db)
            .await?;
        Ok(renewed.rows_affected == 1)
    }

    /// Writes the outcome of this term's claim if the row is still pending, claimed by this term
    /// with `attempts` as expected; `false` if it changed meanwhile (taken over by a newer term).
    /// A failure because the user blocked the bot marks them; a reminder's log row follows its
    /// message.
    pub async fn record(&self, row: &Model, attempts: i32, outcome: &Outcome) -> crate::error::Result<bool> {
        let update = Entity::update_many()
            .filter(Column::Id.eq(row.id))
            .filter(Column::Status.eq(Status::Pending))
            .filter(Column::Attempts.eq(attempts))
            .filter(Column::ClaimedBy.eq(self.term));
        let update = match outcome {
            Outcome::Sent { message_id, note } => update
                .col_expr(Column::Status, Expr::value(Status::Sent))
                .col_expr(Column::SentAt, Expr::value(Some(Utc::now())))
                .col_expr(Column::TelegramMessageId, Expr::value(*message_id))
                .col_expr(Column::LastError, Expr::value(note.as_deref().map(truncate))),
            Outcome::Retry { at, attempts, error } => update
                .col_expr(Column::Attempts, Expr::value(*attempts))
                .col_expr(Column::NextAttemptAt, Expr::value(*at))
                .col_expr(Column::ClaimedBy, Expr::value(Option::<i64>::None))
                .col_expr(Column::LastError, Expr::value(Some(truncate(error)))),
            Outcome::Failed { error, .. } => update
                .col_expr(Column::Status, Expr::value(Status::Failed))
                .col_expr(Column::FailedAt, Expr::value(Some(Utc::now())))
                .col_expr(Column::LastError, Expr::value(Some(truncate(error)))),
            Outcome::Release { attempts } => update
                .col_expr(Column::Attempts, Expr::value(*attempts))
                .col_expr(Column::NextAttemptAt, Expr::value(Utc::now()))
                .col_expr(Column::ClaimedBy, Expr::value(Option::<i64>::None)),
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

/// Messages in the outbox not yet delivered.
pub async fn pending_count(db: &DatabaseConnection) -> Result<u64, DbErr> {
    Entity::find().filter(Column::Status.eq(Status::Pending)).count(db).await
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

fn truncate(text: &str) -> String {
    text.chars().take(MAX_ERROR_CHARS).collect()
}

/// `duration` as chrono's (zero if it does not fit).
fn delta(duration: Duration) -> TimeDelta {
    TimeDelta::from_std(duration).unwrap_or(TimeDelta::zero())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::Database;

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
}
