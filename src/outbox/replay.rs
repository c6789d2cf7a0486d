//! Failed rows and sending them again. A row fails for good when Telegram refuses it (a 4xx
//! such as "chat not found" or a blocked bot) or its attempts run out; it then stays in the
//! outbox (retention never prunes it) for an administrator to look at and, once the cause is
//! gone, to send again.
//!
//! Sending again puts the row itself back in the queue — pending, due now, its attempts counted
//! from zero — rather than a copy at the end of it. Its chat's FIFO is by row id, so the row
//! goes out before any message queued for the chat after it, and a chat's failed rows replayed
//! together go in the order they were first queued: an edit of a failed message (which failed
//! with it) follows that message again, and still refers to it.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::entities::outgoing_message::{Column, Entity, Model, Status};
use crate::error::{Error, Result};
use crate::services::listing::{self, ListParams, Listed};

/// The one method never sent again: Telegram accepts an answer to a callback query only for a
/// short while after the tap.
const ANSWER: &str = "answerCallbackQuery";

/// Failed rows, newest failure first unless sorted otherwise; only `chat_id`'s when given; `q`
/// matches the error or the method.
pub async fn list_failed(
    db: &impl ConnectionTrait,
    chat_id: Option<i64>,
    params: &ListParams,
) -> Result<Listed<Model>> {
    let mut query = Entity::find().filter(Column::Status.eq(Status::Failed));
    if let Some(chat_id) = chat_id {
        query = query.filter(Column::ChatId.eq(chat_id));
    }
    if let Some(q) = params.search() {
        query = query.filter(
            Condition::any().add(listing::contains(Column::LastError, q)).add(listing::contains(Column::Method, q)),
        );
    }
    let allowed = [
        ("failed_at", Column::FailedAt),
        ("created_at", Column::CreatedAt),
        ("chat_id", Column::ChatId),
        ("id", Column::Id),
    ];
    let query = listing::sorted(query, params.sort.as_deref(), &allowed, "-failed_at", Column::Id)?;
    listing::fetch(db, query, params.page, params.per_page).await
}

/// Puts the failed row `id` back in the queue; returns it as it was (failed, with its error).
/// Not found: 404; not failed (pending, sent, or sent again by someone else meanwhile) or an
/// answer to a callback query: a conflict.
pub async fn replay(db: &impl ConnectionTrait, id: i64) -> Result<Model> {
    let row = Entity::find_by_id(id).one(db).await?.ok_or(Error::NotFound("outbox message"))?;
    if row.status != Status::Failed {
        return Err(Error::Conflict(format!("outbox message {id} has not failed")));
    }
    if row.method == ANSWER {
        return Err(Error::Conflict(
            "an answer to a callback query cannot be sent again: Telegram takes it only shortly after the tap".into(),
        ));
    }
    if requeue(db, Condition::all().add(Column::Id.eq(id))).await? == 0 {
        return Err(Error::Conflict(format!("outbox message {id} has not failed")));
    }
    Ok(row)
}

/// Puts every failed row of `chat_id` back in the queue (answers to callback queries aside);
/// returns them as they were, oldest first.
pub async fn replay_chat(db: &impl ConnectionTrait, chat_id: i64) -> Result<Vec<Model>> {
    let failed = || {
        Condition::all()
            .add(Column::ChatId.eq(chat_id))
            .add(Column::Status.eq(Status::Failed))
            .add(Column::Method.ne(ANSWER))
    };
    let rows = Entity::find().filter(failed()).order_by_asc(Column::Id).lock_exclusive().all(db).await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    if ids.is_empty() {
        return Ok(rows);
    }
    requeue(db, failed().add(Column::Id.is_in(ids))).await?;
    Ok(rows)
}

/// Makes the failed rows matching `which` pending and due now, with no attempt counted and no
/// claim; the last error stays until the next attempt writes its own. Returns how many.
async fn requeue(db: &impl ConnectionTrait, which: Condition) -> Result<u64> {
    let done = Entity::update_many()
        .col_expr(Column::Status, Expr::value(Status::Pending))
        .col_expr(Column::Attempts, Expr::value(0))
        .col_expr(Column::NextAttemptAt, Expr::value(Utc::now()))
        .col_expr(Column::ClaimedBy, Expr::value(Option::<i64>::None))
        .col_expr(Column::FailedAt, Expr::value(Option::<chrono::DateTime<Utc>>::None))
        .filter(which)
        .filter(Column::Status.eq(Status::Failed))
        .exec(db)
        .await?;
    Ok(done.rows_affected)
}
