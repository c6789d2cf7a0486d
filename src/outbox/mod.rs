//! The outbox: every Bot API call a state change causes is a row of `outgoing_messages`,
//! written in the same transaction as the change and delivered later by the sender
//! (`telegram::sender`).
//!
//! This module holds all of the outbox's SQL: what a row says ([`Outgoing`]) and how it is
//! queued ([`enqueue`]) here; the sender's claims in [`store`], its outcomes in `outcome`;
//! pruning in [`retention`]; failed rows and sending them again in [`replay`]. The sender
//! decides *when* and *how* a row is sent (limits, calls, retry policy); this module decides
//! what the rows say about it.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect, Set};
use serde::{Deserialize, Serialize};

use crate::entities::outgoing_message;
pub use crate::entities::outgoing_message::Model as OutgoingMessage;

mod fold;
pub mod keyboard;
mod outcome;
pub mod replay;
pub mod retention;
pub mod store;

pub use keyboard::{Button, ButtonStyle, Keyboard};
pub use outcome::{Outcome, Record};
pub use store::{Store, pending_count};

/// Which message an edit or delete applies to: one whose Telegram id is known, or one sent
/// through the outbox (its id is filled in once the sender has delivered it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageRef {
    Telegram(i32),
    Outbox(i64),
}

/// One Bot API call, as stored in `outgoing_messages.payload`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method")]
pub enum Outgoing {
    #[serde(rename = "sendMessage")]
    SendMessage {
        chat_id: i64,
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_markup: Option<Keyboard>,
        /// The forum topic it goes to (its `message_thread_id`), in a group with topics.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        topic: Option<MessageRef>,
    },
    #[serde(rename = "sendPhoto")]
    SendPhoto {
        chat_id: i64,
        /// A Telegram file_id.
        photo: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        caption: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_markup: Option<Keyboard>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        topic: Option<MessageRef>,
    },
    #[serde(rename = "sendDocument")]
    SendDocument {
        chat_id: i64,
        file_name: String,
        /// The file's bytes.
        content: Vec<u8>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        caption: Option<String>,
    },
    /// A document Telegram already has (a client's file passed on), by its file id.
    #[serde(rename = "sendDocumentById")]
    SendDocumentById {
        chat_id: i64,
        /// A Telegram file_id.
        document: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        caption: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        topic: Option<MessageRef>,
    },
    /// A forum topic in a group with topics; Telegram answers its `message_thread_id`, kept as
    /// the row's `telegram_message_id`, which the topic's messages refer to
    /// ([`MessageRef::Outbox`] in their `topic`).
    #[serde(rename = "createForumTopic")]
    CreateForumTopic { chat_id: i64, name: String },
    #[serde(rename = "editMessageText")]
    EditMessageText {
        chat_id: i64,
        message: MessageRef,
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_markup: Option<Keyboard>,
    },
    #[serde(rename = "editMessageReplyMarkup")]
    EditMessageReplyMarkup {
        chat_id: i64,
        message: MessageRef,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_markup: Option<Keyboard>,
    },
    #[serde(rename = "answerCallbackQuery")]
    AnswerCallbackQuery {
        /// The user who pressed the button (kept for logs; answers are not ordered per chat).
        chat_id: i64,
        callback_query_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
        #[serde(default)]
        show_alert: bool,
    },
}

impl Outgoing {
    /// The Bot API method name.
    pub fn method(&self) -> &'static str {
        match self {
            Outgoing::SendMessage { .. } => "sendMessage",
            Outgoing::SendPhoto { .. } => "sendPhoto",
            Outgoing::SendDocument { .. } | Outgoing::SendDocumentById { .. } => "sendDocument",
            Outgoing::EditMessageText { .. } => "editMessageText",
            Outgoing::EditMessageReplyMarkup { .. } => "editMessageReplyMarkup",
            Outgoing::AnswerCallbackQuery { .. } => "answerCallbackQuery",
            Outgoing::CreateForumTopic { .. } => "createForumTopic",
        }
    }

    pub fn chat_id(&self) -> i64 {
        match self {
            Outgoing::SendMessage { chat_id, .. }
            | Outgoing::SendPhoto { chat_id, .. }
            | Outgoing::SendDocument { chat_id, .. }
            | Outgoing::SendDocumentById { chat_id, .. }
            | Outgoing::EditMessageText { chat_id, .. }
            | Outgoing::EditMessageReplyMarkup { chat_id, .. }
            | Outgoing::AnswerCallbackQuery { chat_id, .. }
            | Outgoing::CreateForumTopic { chat_id, .. } => *chat_id,
        }
    }

    /// A plain text message.
    pub fn text(chat_id: i64, text: impl Into<String>) -> Self {
        Outgoing::SendMessage { chat_id, text: text.into(), reply_markup: None, topic: None }
    }

    /// A text message with an inline keyboard.
    pub fn with_keyboard(chat_id: i64, text: impl Into<String>, keyboard: impl Into<Keyboard>) -> Self {
        Outgoing::SendMessage { chat_id, text: text.into(), reply_markup: Some(keyboard.into()), topic: None }
    }

    /// A photo Telegram already has (by its file id), with an optional caption.
    pub fn photo(chat_id: i64, photo: impl Into<String>, caption: Option<String>) -> Self {
        Outgoing::SendPhoto { chat_id, photo: photo.into(), caption, reply_markup: None, topic: None }
    }

    /// The same message in a forum topic (a message, a photo or a document; other calls are left
    /// as they are).
    pub fn in_topic(mut self, to: Option<MessageRef>) -> Self {
        if let Outgoing::SendMessage { topic, .. }
        | Outgoing::SendPhoto { topic, .. }
        | Outgoing::SendDocumentById { topic, .. } = &mut self
        {
            *topic = to;
        }
        self
    }
}

/// How often and how far apart a message is tried when Telegram fails (5xx, network).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub delay: std::time::Duration,
}

/// Stores one outgoing call, due now; returns its outbox id. Call it with the transaction of
/// the state change that causes the message. An edit of a message still queued (and not yet
/// claimed by the sender) is folded into it instead ([`fold`]): the id is then that row's.
pub async fn enqueue(db: &impl ConnectionTrait, message: Outgoing) -> Result<i64, DbErr> {
    enqueue_with(db, message, None).await
}

/// [`enqueue`] with the message's own retry policy instead of the sender's default.
pub async fn enqueue_with(
    db: &impl ConnectionTrait,
    message: Outgoing,
    retry: Option<RetryPolicy>,
) -> Result<i64, DbErr> {
    let edit_of = fold::edited_row(&message);
    if let Some(target) = edit_of
        && let Some(folded_into) = fold::fold(db, target, &message).await?
    {
        return Ok(folded_into);
    }
    let now = Utc::now();
    let row = outgoing_message::ActiveModel {
        chat_id: Set(message.chat_id()),
        method: Set(message.method().to_string()),
        payload: Set(serde_json::to_value(&message).map_err(|e| DbErr::Custom(format!("outbox payload: {e}")))?),
        status: Set(outgoing_message::Status::Pending),
        attempts: Set(0),
        next_attempt_at: Set(now),
        last_error: Set(None),
        telegram_message_id: Set(None),
        created_at: Set(now),
        sent_at: Set(None),
        max_attempts: Set(retry.map(|r| r.max_attempts.min(i32::MAX as u32) as i32)),
        retry_delay_seconds: Set(retry.map(|r| r.delay.as_secs().min(i32::MAX as u64) as i32)),
        claimed_by: Set(None),
        edit_of: Set(edit_of),
        ..Default::default()
    };
    // Only the id comes back: the row is not read back (its payload is large).
    Ok(outgoing_message::Entity::insert(row).exec(db).await?.last_insert_id)
}

/// The outbox row that was delivered to `chat_id` as Telegram's message `telegram_message_id`
/// (what a reply in that chat replies to).
pub async fn delivered_as(
    db: &impl ConnectionTrait,
    chat_id: i64,
    telegram_message_id: i32,
) -> Result<Option<i64>, DbErr> {
    use outgoing_message::Column;
    outgoing_message::Entity::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::ChatId.eq(chat_id))
        .filter(Column::TelegramMessageId.eq(i64::from(telegram_message_id)))
        .into_tuple::<i64>()
        .one(db)
        .await
}

pub use crate::entities::outgoing_message::Status as RowStatus;

/// Where an outbox row is: queued, sent (when) or failed (why).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowState {
    pub status: RowStatus,
    pub sent_at: Option<chrono::DateTime<Utc>>,
    pub last_error: Option<String>,
}

/// The state of each of these rows that still exists (delivered rows are pruned in time).
pub async fn states(db: &impl ConnectionTrait, ids: &[i64]) -> Result<HashMap<i64, RowState>, DbErr> {
    use outgoing_message::Column;
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    type Row = (i64, RowStatus, Option<chrono::DateTime<Utc>>, Option<String>);
    let rows: Vec<Row> = outgoing_message::Entity::find()
        .select_only()
        .columns([Column::Id, Column::Status, Column::SentAt, Column::LastError])
        .filter(Column::Id.is_in(ids.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, status, sent_at, last_error)| (id, RowState { status, sent_at, last_error }))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

    #[test]
    fn payload_round_trips_with_its_method_name() {
        let kb = InlineKeyboardMarkup::new([[InlineKeyboardButton::callback("Одобрить", "v1:ap:1")]]);
        let msg = Outgoing::EditMessageText {
            chat_id: 42,
            message: MessageRef::Outbox(7),
            text: "Заявка №1 одобрена".into(),
            reply_markup: Some(kb.into()),
        };
        let json = serde_json::to_value(&msg).unwrap();
        assert_eq!(json["method"], "editMessageText");
        assert_eq!(json["message"], serde_json::json!({"outbox": 7}));
        assert_eq!(serde_json::from_value::<Outgoing>(json).unwrap(), msg);
    }
}
