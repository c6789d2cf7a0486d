//! The forum topic of each request in the administrators' group (`request_topics`): the outbox
//! row that creates it, and the `message_thread_id` Telegram gave it, stored with the request
//! once known so the topic outlives that row.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::entities::{outgoing_message, request_topic};
use crate::error::Result;
use crate::outbox::MessageRef;

/// Remembers the topic of `request_id` in `chat_id`, created by the outbox row `outbox_id`.
pub async fn open(db: &impl ConnectionTrait, request_id: i32, chat_id: i64, outbox_id: i64) -> Result<()> {
    request_topic::ActiveModel {
        request_id: Set(request_id),
        chat_id: Set(chat_id),
        outgoing_message_id: Set(Some(outbox_id)),
        message_thread_id: Set(None),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The topic of `request_id` in `chat_id`, if it has one: its `message_thread_id` once Telegram
/// gave it (stored then), else the outbox row creating it, which the sender resolves.
pub async fn of_request(db: &impl ConnectionTrait, request_id: i32, chat_id: i64) -> Result<Option<MessageRef>> {
    let Some(topic) = request_topic::Entity::find()
        .filter(request_topic::Column::RequestId.eq(request_id))
        .filter(request_topic::Column::ChatId.eq(chat_id))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if let Some(thread) = topic.message_thread_id {
        return Ok(Some(MessageRef::Telegram(thread)));
    }
    let Some(outbox_id) = topic.outgoing_message_id else { return Ok(None) };
    Ok(Some(match created_thread(db, outbox_id).await? {
        Some(thread) => {
            let mut stored: request_topic::ActiveModel = topic.into();
            stored.message_thread_id = Set(Some(thread));
            stored.update(db).await?;
            MessageRef::Telegram(thread)
        }
        None => MessageRef::Outbox(outbox_id),
    }))
}

/// The `message_thread_id` Telegram gave the topic its outbox row created, once sent.
async fn created_thread(db: &impl ConnectionTrait, outbox_id: i64) -> Result<Option<i32>> {
    let row = outgoing_message::Entity::find_by_id(outbox_id).one(db).await?;
    Ok(row
        .filter(|row| row.status == outgoing_message::Status::Sent)
        .and_then(|row| row.telegram_message_id)
        .and_then(|id| i32::try_from(id).ok()))
}
