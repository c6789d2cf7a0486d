//! A conversation per request: its thread of messages, in order — the client's comments, the
//! staff's replies and questions to the client, and internal notes that never reach the client.
//! A photo or document is kept as its Telegram file id (the dashboard shows it through a proxy
//! that never exposes the bot token). The messages a message causes are written by
//! [`RequestEvents::thread_message`] in the same transaction, and each outbox row that carries
//! something of a request to someone is linked to it ([`record_delivery`]): a reply in Telegram
//! to that message belongs to the request, and the thread shows each message's delivery status.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, Set,
};

use super::requests::{Actor, Channel, RequestEvents, get};
use crate::entities::client_request::{self, Status};
use crate::entities::request_comment;
pub use crate::entities::request_comment::{AttachmentKind, Kind, Model as Message};
use crate::entities::request_delivery;
use crate::error::{Error, Result};
use crate::outbox;

/// Longest text of a thread message written by staff (a Telegram message holds 4096 characters,
/// the request's number and the author go before it).
pub const MAX_TEXT_CHARS: usize = 4000;
/// Longest file name or media type kept.
const MAX_NAME_CHARS: usize = 255;
const MAX_MIME_CHARS: usize = 128;

/// A photo or document, as Telegram keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    pub kind: AttachmentKind,
    pub file_id: String,
    pub name: Option<String>,
    pub mime: Option<String>,
}

/// A message for a request's thread.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewMessage {
    pub kind: Kind,
    pub text: Option<String>,
    pub attachment: Option<Attachment>,
}

/// What an outbox row carried of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// A message to the request's client.
    Client,
    /// A client's comment to staff.
    Comment,
    /// A notice to staff (the assignee, or the administrators again past the decision time).
    Notice,
    /// The forum topic of the request in the administrators' group.
    Topic,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Client => "client",
            Purpose::Comment => "comment",
            Purpose::Notice => "notice",
            Purpose::Topic => "topic",
        }
    }
}

fn cut(text: String, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => text[..at].to_string(),
        None => text,
    }
}

/// The text trimmed (none when empty), within [`MAX_TEXT_CHARS`] for staff; a message needs a
/// text or an attachment.
fn check(new: NewMessage, from_client: bool) -> Result<NewMessage> {
    let text = new.text.map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
    if let Some(t) = &text {
        let length = t.chars().count();
        if !from_client && length > MAX_TEXT_CHARS {
            return Err(Error::invalid("text", format!("has {length} characters; at most {MAX_TEXT_CHARS}")));
        }
    }
    if text.is_none() && new.attachment.is_none() {
        return Err(Error::invalid("text", "is empty"));
    }
    let attachment = new.attachment.map(|a| Attachment {
        name: a.name.map(|n| cut(n, MAX_NAME_CHARS)),
        mime: a.mime.map(|m| cut(m, MAX_MIME_CHARS)),
        ..a
    });
    if attachment.as_ref().is_some_and(|a| a.file_id.is_empty() || a.file_id.len() > 255) {
        return Err(Error::invalid("attachment", "the file id is empty or longer than 255 bytes"));
    }
    Ok(NewMessage { kind: new.kind, text, attachment })
}

pub(super) async fn insert(
    txn: &DatabaseTransaction,
    request_id: i32,
    actor: &Actor,
    channel: Channel,
    new: NewMessage,
) -> Result<request_comment::Model> {
    let attachment = new.attachment;
    Ok(request_comment::ActiveModel {
        request_id: Set(request_id),
        kind: Set(new.kind),
        channel: Set(channel.as_str().into()),
        author_kind: Set(actor.kind().into()),
        author_id: Set(Some(actor.id())),
        author_name: Set(Some(cut(actor.name().to_string(), MAX_NAME_CHARS))),
        body: Set(new.text),
        attachment_kind: Set(attachment.as_ref().map(|a| a.kind)),
        attachment_file_id: Set(attachment.as_ref().map(|a| a.file_id.clone())),
        attachment_name: Set(attachment.as_ref().and_then(|a| a.name.clone())),
        attachment_mime: Set(attachment.and_then(|a| a.mime)),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(txn)
    .await?)
}

/// Adds a message to a request's thread and sends what it causes: the client's comment (only the
/// requester comments on their request) to the assignee or the administrators, a staff reply to
/// the client, a note to nobody. A question goes through the lifecycle (`ask_client`), which
/// also makes the request wait for the answer.
pub async fn post(
    txn: &DatabaseTransaction,
    events: &dyn RequestEvents,
    request_id: i32,
    actor: &Actor,
    channel: Channel,
    new: NewMessage,
) -> Result<request_comment::Model> {
    let request = get(txn, request_id).await?.ok_or(Error::NotFound("request"))?;
    match (new.kind, actor) {
        (Kind::Comment, Actor::Client { telegram_id, .. }) if *telegram_id == request.requester_telegram_id => {}
        (Kind::Comment, Actor::Client { .. }) => return Err(Error::NotFound("request")),
        (Kind::Comment, _) => return Err(Error::invalid("kind", "a comment is the client's; staff reply or note")),
        (Kind::Reply | Kind::Note, Actor::Client { .. }) => {
            return Err(Error::invalid("kind", "a client comments on their request"));
        }
        (Kind::Question, _) => return Err(Error::invalid("kind", "a question is asked with the ask_client action")),
        (Kind::Reply | Kind::Note, _) => {}
    }
    let new = check(new, matches!(actor, Actor::Client { .. }))?;
    let message = insert(txn, request.id, actor, channel, new).await?;
    events.thread_message(txn, &request, &message).await?;
    Ok(message)
}

/// Links an outbox row to the request (and thread message) it carried.
pub async fn record_delivery(
    db: &impl ConnectionTrait,
    request_id: i32,
    message_id: Option<i32>,
    chat_id: i64,
    purpose: Purpose,
    outbox_id: i64,
) -> Result<()> {
    request_delivery::ActiveModel {
        request_id: Set(request_id),
        comment_id: Set(message_id),
        chat_id: Set(chat_id),
        purpose: Set(purpose.as_str().into()),
        outgoing_message_id: Set(Some(outbox_id)),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The outbox row of the request's forum topic in `chat_id`, if one was created.
pub async fn topic_of(db: &impl ConnectionTrait, request_id: i32, chat_id: i64) -> Result<Option<i64>> {
    Ok(request_delivery::Entity::find()
        .filter(request_delivery::Column::RequestId.eq(request_id))
        .filter(request_delivery::Column::ChatId.eq(chat_id))
        .filter(request_delivery::Column::Purpose.eq(Purpose::Topic.as_str()))
        .one(db)
        .await?
        .and_then(|d| d.outgoing_message_id))
}

/// The request a message delivered to `chat_id` as Telegram's `telegram_message_id` was about: an
/// administrator's copy, or anything linked by [`record_delivery`].
pub async fn request_of_message(
    db: &impl ConnectionTrait,
    chat_id: i64,
    telegram_message_id: i32,
) -> Result<Option<i32>> {
    let Some(outbox_id) = outbox::delivered_as(db, chat_id, telegram_message_id).await? else { return Ok(None) };
    if let Some(request_id) = super::copies::request_of(db, outbox_id).await? {
        return Ok(Some(request_id));
    }
    Ok(request_delivery::Entity::find()
        .filter(request_delivery::Column::OutgoingMessageId.eq(outbox_id))
        .filter(request_delivery::Column::Purpose.ne(Purpose::Topic.as_str()))
        .one(db)
        .await?
        .map(|d| d.request_id))
}

/// The client's request that waits for their answer, the newest if several do.
pub async fn waiting_for(db: &impl ConnectionTrait, telegram_id: i64) -> Result<Option<client_request::Model>> {
    Ok(client_request::Entity::find()
        .filter(client_request::Column::RequesterTelegramId.eq(telegram_id))
        .filter(client_request::Column::Status.eq(Status::WaitingForClient))
        .order_by_desc(client_request::Column::Id)
        .one(db)
        .await?)
}

/// Where one delivery of a thread message is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryStatus {
    Queued,
    Sent,
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Queued => "queued",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Failed => "failed",
        }
    }
}

/// One delivery of a thread message to a chat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub chat_id: i64,
    pub status: DeliveryStatus,
    /// When it was delivered (none while queued, or once pruned by the outbox retention).
    pub sent_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
}

/// A thread message with its deliveries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub message: request_comment::Model,
    pub deliveries: Vec<Delivery>,
}

impl Entry {
    /// The message's delivery as a whole: `none` (a note, or nothing was sent: the bot is off),
    /// else failed if any delivery failed, queued if any is still queued, sent otherwise.
    pub fn status(&self) -> &'static str {
        let statuses: Vec<DeliveryStatus> = self.deliveries.iter().map(|d| d.status).collect();
        if statuses.is_empty() {
            "none"
        } else if statuses.contains(&DeliveryStatus::Failed) {
            "failed"
        } else if statuses.contains(&DeliveryStatus::Queued) {
            "queued"
        } else {
            "sent"
        }
    }
}

/// A request's whole thread, oldest first, each message with its deliveries (three queries).
pub async fn thread(db: &impl ConnectionTrait, request_id: i32) -> Result<Vec<Entry>> {
    let messages = request_comment::Entity::find()
        .filter(request_comment::Column::RequestId.eq(request_id))
        .order_by_asc(request_comment::Column::Id)
        .all(db)
        .await?;
    let deliveries = request_delivery::Entity::find()
        .filter(request_delivery::Column::RequestId.eq(request_id))
        .filter(request_delivery::Column::CommentId.is_not_null())
        .order_by_asc(request_delivery::Column::Id)
        .all(db)
        .await?;
    let rows: Vec<i64> = deliveries.iter().filter_map(|d| d.outgoing_message_id).collect();
    let states = outbox::states(db, &rows).await?;
    let mut by_message: HashMap<i32, Vec<Delivery>> = HashMap::new();
    for d in deliveries {
        let state = d.outgoing_message_id.and_then(|id| states.get(&id));
        let delivery = match state {
            // Only delivered rows are pruned.
            None => Delivery { chat_id: d.chat_id, status: DeliveryStatus::Sent, sent_at: None, error: None },
            Some(state) => Delivery {
                chat_id: d.chat_id,
                status: match state.status {
                    outbox::RowStatus::Pending => DeliveryStatus::Queued,
                    outbox::RowStatus::Sent => DeliveryStatus::Sent,
                    outbox::RowStatus::Failed => DeliveryStatus::Failed,
                },
                sent_at: state.sent_at,
                error: state.last_error.clone(),
            },
        };
        by_message.entry(d.comment_id.unwrap_or_default()).or_default().push(delivery);
    }
    Ok(messages
        .into_iter()
        .map(|message| Entry { deliveries: by_message.remove(&message.id).unwrap_or_default(), message })
        .collect())
}

/// A thread message of this request that carries a file.
pub async fn with_attachment(
    db: &impl ConnectionTrait,
    request_id: i32,
    message_id: i32,
) -> Result<request_comment::Model> {
    request_comment::Entity::find_by_id(message_id)
        .one(db)
        .await?
        .filter(|m| m.request_id == request_id && m.attachment_file_id.is_some())
        .ok_or(Error::NotFound("attachment"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(kind: Kind, text: &str) -> NewMessage {
        NewMessage { kind, text: Some(text.into()), attachment: None }
    }

    #[test]
    fn a_message_needs_text_or_a_file_and_staff_text_is_bounded() {
        assert_eq!(
            check(text(Kind::Reply, "  Приедем завтра  "), false).unwrap().text.as_deref(),
            Some("Приедем завтра")
        );
        assert!(check(text(Kind::Note, "   "), false).is_err());
        assert!(check(text(Kind::Reply, &"я".repeat(MAX_TEXT_CHARS)), false).is_ok());
        assert!(check(text(Kind::Reply, &"я".repeat(MAX_TEXT_CHARS + 1)), false).is_err());
        // What a client sent in Telegram is kept whole.
        assert!(check(text(Kind::Comment, &"я".repeat(4096)), true).is_ok());
        let photo =
            Attachment { kind: AttachmentKind::Photo, file_id: "AgAC".into(), name: Some("x".repeat(300)), mime: None };
        let only_photo = NewMessage { kind: Kind::Comment, text: None, attachment: Some(photo) };
        let checked = check(only_photo, true).unwrap();
        assert_eq!(checked.attachment.unwrap().name.unwrap().len(), MAX_NAME_CHARS);
    }
}
