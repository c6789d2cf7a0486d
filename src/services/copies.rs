//! The administrators' copies of a request: the messages that show it in an administrator's chat
//! (or the administrators' group) with the buttons that apply, each remembered by its outbox row
//! so every copy is edited after each change and a reply to one is about its request.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::entities::request_message;
pub use crate::entities::request_message::Model as Copy;
use crate::error::Result;

/// Remembers that the outbox row `outbox_id` is a copy of the request in `chat_id`.
pub async fn record(db: &impl ConnectionTrait, request_id: i32, chat_id: i64, outbox_id: i64) -> Result<()> {
    request_message::ActiveModel {
        request_id: Set(request_id),
        chat_id: Set(chat_id),
        outgoing_message_id: Set(outbox_id),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Every copy of the request.
pub async fn of_request(db: &impl ConnectionTrait, request_id: i32) -> Result<Vec<Copy>> {
    Ok(request_message::Entity::find().filter(request_message::Column::RequestId.eq(request_id)).all(db).await?)
}

/// Whether `chat_id` has a copy of the request.
pub async fn exists_in(db: &impl ConnectionTrait, request_id: i32, chat_id: i64) -> Result<bool> {
    Ok(request_message::Entity::find()
        .filter(request_message::Column::RequestId.eq(request_id))
        .filter(request_message::Column::ChatId.eq(chat_id))
        .one(db)
        .await?
        .is_some())
}

/// The request whose copy the outbox row `outbox_id` is, if it is one.
pub async fn request_of(db: &impl ConnectionTrait, outbox_id: i64) -> Result<Option<i32>> {
    Ok(request_message::Entity::find()
        .filter(request_message::Column::OutgoingMessageId.eq(outbox_id))
        .one(db)
        .await?
        .map(|copy| copy.request_id))
}
