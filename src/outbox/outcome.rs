//! What became of the sender's attempts: outcomes written in batches, one transaction for all
//! the outcomes that are ready together.
//!
//! Every write is conditional on the claim (`status = 'pending'`, `claimed_by = <term>` and
//! `attempts = <claimed>`), so an outcome of a claim taken over by a newer term is not written,
//! and a row is never marked twice. The messages sent, the most of every batch, are written by
//! one statement on PostgreSQL and SQLite; the rest, and every outcome on MySQL (no `UPDATE …
//! RETURNING` to tell which rows were written), row by row in the same transaction.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{BinOper, Expr, ExprTrait, SimpleExpr};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, EntityTrait, QueryFilter, QueryTrait,
    TransactionTrait,
};

use super::Store;
use crate::entities::notification_log::{Column as Log, Entity as Logs};
use crate::entities::outgoing_message::{Column, Entity, Model, Status};
use crate::services::telegram_users;

/// Longest `last_error` kept.
const MAX_ERROR_CHARS: usize = 1000;

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

/// The outcome of one claim: the row (its id and chat), the attempts it was claimed with (this
/// one counted), and what became of it.
#[derive(Debug)]
pub struct Record {
    pub id: i64,
    pub chat_id: i64,
    pub attempts: i32,
    pub outcome: Outcome,
}

impl Record {
    /// The outcome of the claim of `row` with `attempts` (this one counted).
    pub fn of(row: &Model, attempts: i32, outcome: Outcome) -> Self {
        Self { id: row.id, chat_id: row.chat_id, attempts, outcome }
    }
}

impl Store {
    /// Writes these outcomes of this term's claims in one transaction, each only if its row is
    /// still pending, claimed by this term with the attempts expected; for each, whether it was
    /// written (`false`: taken over by a newer term meanwhile). A failure because the user
    /// blocked the bot marks them; a reminder's log row follows its message.
    pub async fn record(&self, batch: &[Record]) -> crate::error::Result<Vec<bool>> {
        let backend = self.db.get_database_backend();
        let now = Utc::now();
        let is_sent = |r: &Record| matches!(r.outcome, Outcome::Sent { .. });
        let _turn = self.writes.turn().await;
        let txn = self.db.begin().await?;
        let mut written = vec![false; batch.len()];
        let batched = backend != DbBackend::MySql && batch.iter().filter(|r| is_sent(r)).count() > 1;
        if batched {
            let ids = self.record_sent(&txn, batch.iter().filter(|r| is_sent(r)), now).await?;
            for (done, record) in written.iter_mut().zip(batch) {
                *done = is_sent(record) && ids.contains(&record.id);
            }
        }
        for (done, record) in written.iter_mut().zip(batch) {
            if batched && is_sent(record) {
                continue;
            }
            *done = self.record_one(&txn, record, now).await?;
            if *done && let Outcome::Failed { block_user: true, .. } = record.outcome {
                telegram_users::set_blocked(&txn, record.chat_id, true).await?;
            }
        }
        mirror_sent(&txn, batch.iter().zip(&written).filter(|(r, done)| **done && is_sent(r)).map(|(r, _)| r), now)
            .await?;
        for record in batch.iter().zip(&written).filter(|(r, done)| **done && !is_sent(r)).map(|(r, _)| r) {
            mirror_other(&txn, record).await?;
        }
        txn.commit().await?;
        Ok(written)
    }

    /// The conditional update of one row's outcome; whether it was written.
    async fn record_one(&self, txn: &DatabaseTransaction, record: &Record, now: DateTime<Utc>) -> Result<bool, DbErr> {
        let update = Entity::update_many()
            .filter(Column::Id.eq(record.id))
            .filter(Column::Status.eq(Status::Pending))
            .filter(Column::Attempts.eq(record.attempts))
            .filter(Column::ClaimedBy.eq(self.term));
        let update = match &record.outcome {
            Outcome::Sent { message_id, note } => update
                .col_expr(Column::Status, Expr::value(Status::Sent))
                .col_expr(Column::SentAt, Expr::value(Some(now)))
                .col_expr(Column::TelegramMessageId, Expr::value(*message_id))
                .col_expr(Column::LastError, Expr::value(note.as_deref().map(truncate))),
            Outcome::Retry { at, attempts, error } => update
                .col_expr(Column::Attempts, Expr::value(*attempts))
                .col_expr(Column::NextAttemptAt, Expr::value(*at))
                .col_expr(Column::ClaimedBy, Expr::value(Option::<i64>::None))
                .col_expr(Column::LastError, Expr::value(Some(truncate(error)))),
            Outcome::Failed { error, .. } => update
                .col_expr(Column::Status, Expr::value(Status::Failed))
                .col_expr(Column::FailedAt, Expr::value(Some(now)))
                .col_expr(Column::LastError, Expr::value(Some(truncate(error)))),
            Outcome::Release { attempts } => update
                .col_expr(Column::Attempts, Expr::value(*attempts))
                .col_expr(Column::NextAttemptAt, Expr::value(now))
                .col_expr(Column::ClaimedBy, Expr::value(Option::<i64>::None)),
        };
        Ok(update.exec(txn).await?.rows_affected == 1)
    }

    /// Messages sent, in one conditional update (PostgreSQL and SQLite): each row gets its own
    /// Telegram id and note. Returns the ids of the rows written.
    async fn record_sent<'a>(
        &self,
        txn: &DatabaseTransaction,
        sent: impl Iterator<Item = &'a Record> + Clone,
        now: DateTime<Utc>,
    ) -> Result<HashSet<i64>, DbErr> {
        let by_id = |value: &dyn Fn(&Record) -> SimpleExpr, otherwise: SimpleExpr| -> SimpleExpr {
            let mut cases = sent.clone();
            let first = cases.next().expect("at least one row sent");
            let mut case = Expr::case(Column::Id.eq(first.id), value(first));
            for record in cases {
                case = case.case(Column::Id.eq(record.id), value(record));
            }
            case.finally(otherwise).into()
        };
        let message_id = |r: &Record| match &r.outcome {
            Outcome::Sent { message_id, .. } => Expr::value(*message_id),
            _ => unreachable!("only messages sent"),
        };
        let note = |r: &Record| match &r.outcome {
            Outcome::Sent { note, .. } => Expr::value(note.as_deref().map(truncate)),
            _ => unreachable!("only messages sent"),
        };
        let mut update = Entity::update_many()
            .col_expr(Column::Status, Expr::value(Status::Sent))
            .col_expr(Column::SentAt, Expr::value(Some(now)))
            .col_expr(Column::TelegramMessageId, by_id(&message_id, Expr::col(Column::TelegramMessageId)))
            .col_expr(Column::LastError, by_id(&note, Expr::col(Column::LastError)))
            .filter(Column::Id.is_in(sent.clone().map(|r| r.id)))
            .filter(Column::Status.eq(Status::Pending))
            .filter(Column::ClaimedBy.eq(self.term))
            .filter(
                Expr::col(Column::Attempts)
                    .binary(BinOper::Equal, by_id(&|r| Expr::value(r.attempts), Expr::value(-1))),
            )
            .into_query();
        update.returning_col(Column::Id);
        let backend = txn.get_database_backend();
        let rows = txn.query_all_raw(backend.build(&update)).await?;
        rows.iter().map(|row| row.try_get::<i64>("", "id")).collect()
    }
}

/// The reminders' log rows of the messages sent follow them: sent, with the attempts made.
async fn mirror_sent<'a>(
    txn: &DatabaseTransaction,
    sent: impl Iterator<Item = &'a Record>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let sent: Vec<&Record> = sent.collect();
    let Some((first, rest)) = sent.split_first() else { return Ok(()) };
    let mut attempts = Expr::case(Log::OutgoingMessageId.eq(first.id), Expr::value(first.attempts));
    for record in rest {
        attempts = attempts.case(Log::OutgoingMessageId.eq(record.id), Expr::value(record.attempts));
    }
    let reminders = Logs::update_many()
        .col_expr(Log::Status, Expr::value("sent"))
        .col_expr(Log::Attempts, attempts.finally(Expr::col(Log::Attempts)).into())
        .col_expr(Log::SentAt, Expr::value(Some(now)))
        .filter(Log::OutgoingMessageId.is_in(sent.iter().map(|r| r.id)))
        .exec(txn)
        .await?
        .rows_affected;
    metrics::counter!("kktbot_reminders_sent_total").increment(reminders);
    Ok(())
}

/// A reminder's log row follows its message's other outcomes: retrying or failed.
async fn mirror_other(txn: &DatabaseTransaction, record: &Record) -> Result<(), DbErr> {
    let update = Logs::update_many().filter(Log::OutgoingMessageId.eq(record.id));
    let update = match &record.outcome {
        Outcome::Retry { attempts, error, .. } => update
            .col_expr(Log::Status, Expr::value("retrying"))
            .col_expr(Log::Attempts, Expr::value(*attempts))
            .col_expr(Log::LastError, Expr::value(Some(truncate(error)))),
        Outcome::Failed { error, .. } => update
            .col_expr(Log::Status, Expr::value("failed"))
            .col_expr(Log::Attempts, Expr::value(record.attempts))
            .col_expr(Log::LastError, Expr::value(Some(truncate(error)))),
        Outcome::Sent { .. } | Outcome::Release { .. } => return Ok(()),
    };
    if update.exec(txn).await?.rows_affected > 0 && matches!(record.outcome, Outcome::Failed { .. }) {
        metrics::counter!("kktbot_reminders_failed_total").increment(1);
    }
    Ok(())
}

fn truncate(text: &str) -> String {
    text.chars().take(MAX_ERROR_CHARS).collect()
}
