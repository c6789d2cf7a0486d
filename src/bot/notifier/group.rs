//! The administrators' group (`ADMIN_GROUP_CHAT_ID`): each new request goes there once instead of
//! to every administrator privately, in a forum topic of its own when the group has topics. The
//! topic is created through the outbox in the filing's transaction ([`Outgoing::CreateForumTopic`])
//! and kept with the request ([`topics`]); every later message about the request in the group (its
//! copies, the client's comments, the announcement past its decision time) goes to that topic, and
//! edits of the group's copy follow the private copies' ([`TelegramNotifier::edit_copies`]). Only
//! active administrators may act on the group copy's buttons: the handler tree refuses everyone
//! else.

use sea_orm::DatabaseTransaction;

use super::{TelegramNotifier, lang_of};
use crate::bot::texts::Arg;
use crate::error::Result;
use crate::outbox::{self, MessageRef, Outgoing};
use crate::services::requests::Request;
use crate::services::topics;

/// Telegram's limit on a topic's name.
const MAX_TOPIC_NAME_CHARS: usize = 128;

/// The administrators' group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdminGroup {
    pub chat_id: i64,
    /// The group has topics (a forum): each request gets one.
    pub forum: bool,
}

impl TelegramNotifier {
    /// The administrators' group's chat, when requests go there.
    pub(super) fn group_chat(&self) -> Option<i64> {
        self.group.map(|g| g.chat_id)
    }

    /// A new request in the group: its topic first (in a forum), then its copy there.
    pub(super) async fn file_in_group(
        &self,
        txn: &DatabaseTransaction,
        group: AdminGroup,
        request: &Request,
    ) -> Result<()> {
        if group.forum {
            self.open_topic(txn, group.chat_id, request).await?;
        }
        self.send_admin_copy(txn, group.chat_id, request).await
    }

    /// Queues the request's topic in the group, named after it («№N · type», or the ИНН of a
    /// link request), and remembers it.
    async fn open_topic(&self, txn: &DatabaseTransaction, chat_id: i64, request: &Request) -> Result<()> {
        let lang = lang_of(txn, chat_id).await?;
        let mut title = self.type_name(txn, lang, request).await?;
        if title.is_empty() {
            title = format!("ИНН {}", request.inn.clone().unwrap_or_default());
        }
        let name =
            self.texts.get(lang, "group-topic", &[("number", Arg::from(request.number)), ("title", title.into())]);
        let name: String = name.chars().take(MAX_TOPIC_NAME_CHARS).collect();
        let outbox_id = outbox::enqueue(txn, Outgoing::CreateForumTopic { chat_id, name }).await?;
        topics::open(txn, request.id, chat_id, outbox_id).await
    }

    /// The topic messages about `request` go to in `chat_id`: its topic in the administrators'
    /// group, if it has one.
    pub(super) async fn topic_in(
        &self,
        txn: &DatabaseTransaction,
        chat_id: i64,
        request: &Request,
    ) -> Result<Option<MessageRef>> {
        if self.group_chat() != Some(chat_id) {
            return Ok(None);
        }
        topics::of_request(txn, request.id, chat_id).await
    }
}
