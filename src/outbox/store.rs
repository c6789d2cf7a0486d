//! The sender's side of the outbox: taking the rows due for an attempt (claims and leases; their
//! outcomes are in `outcome`), plus the backlog count.
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
//! A scan is a claim: one conditional UPDATE takes the rows due (`status = 'pending' AND
//! next_attempt_at <= now`, the term current) and moves their `next_attempt_at` a lease ahead, so
//! two senders racing for a row never both get it; outcomes are conditional on the claim
//! (`claimed_by = <term> AND attempts = <claimed>`), so a row is never marked twice. On SQLite
//! the writes take their turn in the process's [`WriteGate`].

use std::time::Duration;

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect, Statement, TransactionTrait,
};

use crate::db::WriteGate;
use crate::entities::outgoing_message::{Column, Entity, Model, Status};
use crate::sql;

/// The ids of pending answers to callback queries due now, oldest first (`$1` now, `$lim` how
/// many), walking the partial index made for them. `$hint` names that index on SQLite, whose
/// planner, without statistics, would otherwise read every due row through `(status,
/// next_attempt_at)` and sort them (10 ms a scan with 10,000 replies queued); PostgreSQL picks it
/// by itself.
macro_rules! due_answers {
    ($hint:literal, $lim:literal) => {
        concat!(
            "SELECT id FROM outgoing_messages ",
            $hint,
            " WHERE status = 'pending' AND method = 'answerCallbackQuery' AND next_attempt_at <= $1 \
             ORDER BY id LIMIT ",
            $lim
        )
    };
}
/// The ids of chat messages due now that are their chat's FIFO head (no older message of the
/// chat is pending), oldest first (`$1` now, `$lim` how many); `$hint` as in [`due_answers`].
macro_rules! due_chat_heads {
    ($hint:literal, $lim:literal) => {
        concat!(
            "SELECT id FROM outgoing_messages ",
            $hint,
            " WHERE status = 'pending' AND method <> 'answerCallbackQuery' AND next_attempt_at <= $1 \
               AND NOT EXISTS (SELECT 1 FROM outgoing_messages earlier \
                 WHERE earlier.status = 'pending' AND earlier.method <> 'answerCallbackQuery' \
                   AND earlier.chat_id = outgoing_messages.chat_id AND earlier.id < outgoing_messages.id) \
             ORDER BY id LIMIT ",
            $lim
        )
    };
}
/// Both scans in one: the ids of the answers (at most `$2`) and the chat heads (at most `$3`)
/// due at `$1`. Each is wrapped in a derived table, where its ORDER BY and LIMIT are allowed.
macro_rules! due_ids {
    ($answers:literal, $heads:literal) => {
        concat!(
            "SELECT id FROM (",
            due_answers!($answers, "$2"),
            ") due_answers UNION ALL SELECT id FROM (",
            due_chat_heads!($heads, "$3"),
            ") due_heads"
        )
    };
}
/// The scan as each database is asked it.
fn due_query(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Sqlite => {
            due_ids!(
                "INDEXED BY idx_outgoing_messages_pending_answers",
                "INDEXED BY idx_outgoing_messages_pending_messages"
            )
        }
        _ => due_ids!("", ""),
    }
}
/// Rows claimed for an attempt, from [`Store::claim_due`].
#[derive(Debug, Default)]
pub struct Due {
    /// Answers to callback queries, oldest first.
    pub answers: Vec<Model>,
    /// Chats' oldest pending messages, oldest first.
    pub chat_heads: Vec<Model>,
}

/// The outbox as one sender's term reads and writes it. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pub(super) db: DatabaseConnection,
    pub(super) writes: WriteGate,
    pub(super) term: i64,
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

    /// Claims what may go now for one attempt each by this term, in one statement (three on
    /// MySQL): at most `answers` answers to callback queries and `heads` chat heads (each chat's
    /// oldest pending message), oldest first, that are due. Each claimed row has its attempt
    /// counted, this term as its owner and its lease running for `lease`; it comes back as
    /// claimed (with any edit folded into it). Nothing is claimed once a newer term has begun.
    /// The scan is bounded by its limits (or reads one index entry), so it costs the same with
    /// ten rows pending or a hundred thousand.
    pub async fn claim_due(&self, answers: u64, heads: u64, lease: Duration) -> Result<Due, DbErr> {
        if answers == 0 && heads == 0 {
            return Ok(Due::default());
        }
        let backend = self.db.get_database_backend();
        let now = Utc::now();
        // Microseconds, as every database keeps it (MySQL finds its claims by it).
        let until = (now + delta(lease)).trunc_subsecs(6);
        let lock = sql::lock_shared(backend);
        let set = format!(
            "UPDATE outgoing_messages SET attempts = attempts + 1, next_attempt_at = $4, claimed_by = $5 \
             WHERE status = 'pending' AND next_attempt_at <= $1 \
               AND (SELECT term FROM outbox_sender WHERE id = 1{lock}) = $5 AND id IN"
        );
        let values = || [now.into(), answers.into(), heads.into(), until.into(), self.term.into()];
        let _turn = self.writes.turn().await;
        let mut rows = if backend == DbBackend::MySql {
            // MySQL updates no table that its own subquery reads: the ids first, then the claim,
            // then the rows it claimed (this term's, leased until this claim's end).
            let scan = sql::statement(backend, due_query(backend), values());
            let ids = self.db.query_all_raw(scan).await?;
            let ids = ids.iter().map(|row| row.try_get::<i64>("", "id")).collect::<Result<Vec<_>, _>>()?;
            if ids.is_empty() {
                return Ok(Due::default());
            }
            let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
            self.db.execute_raw(sql::statement(backend, &format!("{set} ({list})"), values())).await?;
            Entity::find()
                .filter(Column::Id.is_in(ids))
                .filter(Column::ClaimedBy.eq(self.term))
                .filter(Column::NextAttemptAt.eq(until))
                .all(&self.db)
                .await?
        } else {
            let claim = format!("{set} ({}) RETURNING *", due_query(backend));
            Entity::find().from_raw_sql(sql::statement(backend, &claim, values())).all(&self.db).await?
        };
        rows.sort_by_key(|row| row.id);
        let (answers, chat_heads) = rows.into_iter().partition(|row| row.method == "answerCallbackQuery");
        Ok(Due { answers, chat_heads })
    }

    /// When the earliest pending row not yet due falls due.
    pub async fn next_due(&self) -> Result<Option<DateTime<Utc>>, DbErr> {
        Ok(Entity::find()
            .select_only()
            .column_as(Column::NextAttemptAt.min(), "next_due")
            .filter(Column::Status.eq(Status::Pending))
            .filter(Column::NextAttemptAt.gt(Utc::now()))
            .into_tuple::<Option<DateTime<Utc>>>()
            .one(&self.db)
            .await?
            .flatten())
    }

    /// One row by its id (the message an edit refers to).
    pub async fn find(&self, id: i64) -> Result<Option<Model>, DbErr> {
        Entity::find_by_id(id).one(&self.db).await
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
}

/// Messages in the outbox not yet delivered.
pub async fn pending_count(db: &DatabaseConnection) -> Result<u64, DbErr> {
    Entity::find().filter(Column::Status.eq(Status::Pending)).count(db).await
}

/// `duration` as chrono's (zero if it does not fit).
pub(super) fn delta(duration: Duration) -> TimeDelta {
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
        let explain = Statement::from_sql_and_values(
            DbBackend::Sqlite,
            format!("EXPLAIN QUERY PLAN {}", due_query(DbBackend::Sqlite)),
            [Utc::now().into(), 10u64.into(), 10u64.into()],
        );
        let plan: Vec<String> = db
            .query_all_raw(explain)
            .await
            .unwrap()
            .iter()
            .map(|row| row.try_get::<String>("", "detail").unwrap())
            .collect();
        for index in ["idx_outgoing_messages_pending_answers", "idx_outgoing_messages_pending_messages"] {
            assert!(plan.iter().any(|step| step.contains(index)), "{plan:?}");
        }
        assert!(!plan.iter().any(|step| step.contains("TEMP B-TREE")), "{plan:?}");
    }
}
