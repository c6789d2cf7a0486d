//! From an outbox row to a Bot API call: the payload read into the request body, the limit it
//! counts against, and an edit's reference to another outbox row resolved to a Telegram id.

use serde_json::{Map, Value, json};
use teloxide::types::Message;

use super::api::{ApiError, BotApi};
use super::limits::Kind;
use crate::outbox::{Keyboard, MessageRef, Outgoing, OutgoingMessage, RowStatus, Store};

pub(super) const ANSWER_METHOD: &str = "answerCallbackQuery";
const CREATE_TOPIC_METHOD: &str = "createForumTopic";

/// A Bot API call ready to go.
#[derive(Debug)]
pub(super) struct Call {
    method: &'static str,
    body: Body,
    pub kind: Kind,
    /// For edits: the message edited (recorded as the row's `telegram_message_id`).
    pub target: Option<i32>,
}

#[derive(Debug)]
enum Body {
    Json(Value),
    Document { chat_id: i64, file_name: String, content: Vec<u8>, caption: Option<String> },
}

impl Call {
    /// Makes the call; the Telegram message id it produced or changed, if any.
    pub async fn execute(self, api: &BotApi) -> Result<Option<i32>, ApiError> {
        match self.body {
            Body::Document { chat_id, file_name, content, caption } => {
                let message = api.send_document(chat_id, &file_name, content, caption.as_deref()).await?;
                Ok(Some(message.id.0))
            }
            Body::Json(params) if self.method == ANSWER_METHOD => {
                api.call::<bool>(self.method, &params).await.map(|_| None)
            }
            // A topic's id is recorded as the row's message id: its messages refer to it.
            Body::Json(params) if self.method == CREATE_TOPIC_METHOD => {
                Ok(Some(api.call::<ForumTopic>(self.method, &params).await?.message_thread_id))
            }
            Body::Json(params) => Ok(Some(api.call::<Message>(self.method, &params).await?.id.0)),
        }
    }
}

/// Telegram's answer to createForumTopic (only the field kktbot uses).
#[derive(serde::Deserialize)]
struct ForumTopic {
    message_thread_id: i32,
}

/// What to do with a row before any call.
pub(super) enum Prepared {
    Call(Call),
    /// An edit whose message is still pending in the outbox.
    Wait(i64),
    /// The row cannot be sent (unreadable payload, the edited message failed).
    Fail(String),
}

/// Reads the payload into a call; resolves an edit's reference to an outbox row.
pub(super) async fn prepare(store: &Store, row: &OutgoingMessage) -> Result<Prepared, sea_orm::DbErr> {
    let outgoing: Outgoing = match serde_json::from_value(row.payload.clone()) {
        Ok(outgoing) => outgoing,
        Err(e) => return Ok(Prepared::Fail(format!("unreadable outbox payload: {e}"))),
    };
    let method = outgoing.method();
    let (kind, target, body) = match outgoing {
        Outgoing::SendMessage { chat_id, text, reply_markup, topic } => {
            let mut body = params(json!({ "chat_id": chat_id, "text": text }));
            add_markup(&mut body, reply_markup);
            if let Some(not_ready) = add_topic(store, &mut body, topic).await? {
                return Ok(not_ready);
            }
            (Kind::ChatMessage, None, Body::Json(Value::Object(body)))
        }
        Outgoing::SendPhoto { chat_id, photo, caption, reply_markup, topic } => {
            let mut body = params(json!({ "chat_id": chat_id, "photo": photo }));
            if let Some(caption) = caption {
                body.insert("caption".into(), Value::String(caption));
            }
            add_markup(&mut body, reply_markup);
            if let Some(not_ready) = add_topic(store, &mut body, topic).await? {
                return Ok(not_ready);
            }
            (Kind::ChatMessage, None, Body::Json(Value::Object(body)))
        }
        Outgoing::SendDocument { chat_id, file_name, content, caption } => {
            (Kind::ChatMessage, None, Body::Document { chat_id, file_name, content, caption })
        }
        Outgoing::SendDocumentById { chat_id, document, caption, topic } => {
            let mut body = params(json!({ "chat_id": chat_id, "document": document }));
            if let Some(caption) = caption {
                body.insert("caption".into(), Value::String(caption));
            }
            if let Some(not_ready) = add_topic(store, &mut body, topic).await? {
                return Ok(not_ready);
            }
            (Kind::ChatMessage, None, Body::Json(Value::Object(body)))
        }
        // Creating a topic posts a message in the group: it counts against the group's limit.
        Outgoing::CreateForumTopic { chat_id, name } => {
            (Kind::ChatMessage, None, Body::Json(json!({ "chat_id": chat_id, "name": name })))
        }
        Outgoing::EditMessageText { chat_id, message, text, reply_markup } => {
            let message_id = match resolve(store, &message).await? {
                Ok(id) => id,
                Err(not_ready) => return Ok(not_ready),
            };
            let mut body = params(json!({ "chat_id": chat_id, "message_id": message_id, "text": text }));
            add_markup(&mut body, reply_markup);
            (Kind::ChatMessage, Some(message_id), Body::Json(Value::Object(body)))
        }
        Outgoing::EditMessageReplyMarkup { chat_id, message, reply_markup } => {
            let message_id = match resolve(store, &message).await? {
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
async fn resolve(store: &Store, message: &MessageRef) -> Result<Result<i32, Prepared>, sea_orm::DbErr> {
    let reference = match message {
        MessageRef::Telegram(id) => return Ok(Ok(*id)),
        MessageRef::Outbox(reference) => *reference,
    };
    let Some(referenced) = store.find(reference).await? else {
        return Ok(Err(Prepared::Fail(format!("the message to edit (outbox row {reference}) does not exist"))));
    };
    Ok(match (referenced.status, referenced.telegram_message_id) {
        (RowStatus::Pending, _) => Err(Prepared::Wait(reference)),
        (RowStatus::Failed, _) => Err(Prepared::Fail(format!(
            "the message to edit (outbox row {reference}) was never delivered: {}",
            referenced.last_error.as_deref().unwrap_or("no error recorded")
        ))),
        (RowStatus::Sent, Some(id)) => match i32::try_from(id) {
            Ok(id) => Ok(id),
            Err(_) => Err(Prepared::Fail(format!("outbox row {reference} has an invalid message id {id}"))),
        },
        (RowStatus::Sent, None) => Err(Prepared::Fail(format!(
            "the message to edit (outbox row {reference}) was delivered without a Telegram message id"
        ))),
    })
}

/// Puts a message into its forum topic. The topic is created before its messages (the same
/// chat's rows go in order), so it is known by now; a topic that could not be created (the group
/// has no topics, the bot may not manage them) leaves the message in the group's general chat.
/// A topic still being created holds the message back (`Some(Wait)`).
async fn add_topic(
    store: &Store,
    body: &mut Map<String, Value>,
    topic: Option<MessageRef>,
) -> Result<Option<Prepared>, sea_orm::DbErr> {
    let thread = match topic {
        None => None,
        Some(MessageRef::Telegram(id)) => Some(id),
        Some(MessageRef::Outbox(reference)) => match resolve(store, &MessageRef::Outbox(reference)).await? {
            Ok(id) => Some(id),
            Err(wait @ Prepared::Wait(_)) => return Ok(Some(wait)),
            Err(_) => {
                tracing::warn!(
                    topic = reference,
                    "the forum topic was not created; the message goes to the general chat"
                );
                None
            }
        },
    };
    if let Some(thread) = thread {
        body.insert("message_thread_id".into(), Value::from(thread));
    }
    Ok(None)
}

fn params(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn add_markup(body: &mut Map<String, Value>, markup: Option<Keyboard>) {
    if let Some(markup) = markup
        && let Ok(markup) = serde_json::to_value(markup)
    {
        body.insert("reply_markup".into(), markup);
    }
}
