//! The Telegram side of a request's work after filing: its assignee told, its thread passed on
//! (a client's comment to staff, a staff reply to the client), and its service levels (announced
//! again past the decision time, flagged past the done time). Every message that carries
//! something of a request is linked to it ([`thread::record_delivery`]), so a reply to it in
//! Telegram belongs to the request.

use sea_orm::{ConnectionTrait, DatabaseTransaction};

use super::{TelegramNotifier, lang_of};
use crate::bot::context::{MAX_MESSAGE_CHARS, split_message};
use crate::bot::keyboards;
use crate::bot::texts::{Arg, Lang};
use crate::error::Result;
use crate::outbox::{self, Keyboard, Outgoing};
use crate::services::requests::Request;
use crate::services::thread::{self, AttachmentKind, Kind, Purpose};
use crate::services::{administrators, assignment, copies, lifecycle};

/// Telegram's limit on a caption.
const MAX_CAPTION_CHARS: usize = 1024;

impl TelegramNotifier {
    /// The lines a copy shows about the work: who it is assigned to, a missed done time.
    pub(super) async fn work_lines(
        &self,
        db: &impl ConnectionTrait,
        lang: Lang,
        request: &Request,
    ) -> Result<Vec<String>> {
        let mut lines = Vec::new();
        if let Some(assignee) = assignment::of(request)
            && let Some(view) = assignment::describe(db, assignee).await?
        {
            lines.push(self.texts.get(lang, "admin-assignee", &[("name", view.name.into())]));
        }
        if request.done_sla_flagged_at.is_some() && !lifecycle::is_closed(request.status) {
            lines.push(self.texts.get(lang, "admin-done-overdue", &[]));
        }
        Ok(lines)
    }

    /// The buttons of a copy in `chat_id`: those that apply now, in an administrator's chat or the
    /// administrators' group only (a dashboard user who gets the request in Telegram acts on the
    /// dashboard).
    pub(super) async fn keyboard_in(
        &self,
        db: &impl ConnectionTrait,
        chat_id: i64,
        lang: Lang,
        request: &Request,
    ) -> Result<Option<Keyboard>> {
        if self.group_chat() != Some(chat_id) && !administrators::is_active(db, chat_id).await? {
            return Ok(None);
        }
        Ok(keyboards::copy(&self.texts, lang, request))
    }

    /// Queues a message to the request's client, linked to the request (and to the thread message
    /// it carries, if any).
    pub(super) async fn tell_client(
        &self,
        txn: &DatabaseTransaction,
        request: &Request,
        message_id: Option<i32>,
        outgoing: Outgoing,
    ) -> Result<i64> {
        let chat_id = outgoing.chat_id();
        let id = outbox::enqueue(txn, outgoing).await?;
        thread::record_delivery(txn, request.id, message_id, chat_id, Purpose::Client, id).await?;
        Ok(id)
    }

    /// The Telegram chat of the request's assignee, if they are active and have one.
    async fn assignee_chat(&self, db: &impl ConnectionTrait, request: &Request) -> Result<Option<i64>> {
        let Some(assignee) = assignment::of(request) else { return Ok(None) };
        Ok(assignment::describe(db, assignee).await?.filter(|v| v.is_active).and_then(|v| v.telegram_id))
    }

    /// Where staff read about a request: its assignee's chat, else the administrators' group, else
    /// every active administrator's.
    async fn staff_chats(&self, db: &impl ConnectionTrait, request: &Request) -> Result<Vec<i64>> {
        if let Some(chat) = self.assignee_chat(db, request).await? {
            return Ok(vec![chat]);
        }
        self.administrators_chats(db).await
    }

    /// The administrators' group, or every active administrator's chat without one.
    async fn administrators_chats(&self, db: &impl ConnectionTrait) -> Result<Vec<i64>> {
        if let Some(group) = self.group_chat() {
            return Ok(vec![group]);
        }
        Ok(administrators::active(db).await?.into_iter().map(|a| a.telegram_id).collect())
    }

    /// Tells the request's new assignee in Telegram (when they have a Telegram id), with a copy of
    /// the request unless they have one already.
    pub(super) async fn tell_assignee(&self, txn: &DatabaseTransaction, request: &Request) -> Result<()> {
        let Some(chat) = self.assignee_chat(txn, request).await? else { return Ok(()) };
        let lang = lang_of(txn, chat).await?;
        let text = self.texts.get(lang, "assigned-to-you", &[("number", request.number.into())]);
        let id = outbox::enqueue(txn, Outgoing::text(chat, text)).await?;
        thread::record_delivery(txn, request.id, None, chat, Purpose::Notice, id).await?;
        if !copies::exists_in(txn, request.id, chat).await? {
            self.send_admin_copy(txn, chat, request).await?;
        }
        Ok(())
    }

    /// Passes a thread message on: a client's comment to staff, a reply to the client.
    pub(super) async fn pass_on(
        &self,
        txn: &DatabaseTransaction,
        request: &Request,
        message: &thread::Message,
    ) -> Result<()> {
        let number = ("number", Arg::from(request.number));
        match message.kind {
            Kind::Comment => {
                let author = message.author_name.clone().unwrap_or_default();
                for chat in self.staff_chats(txn, request).await? {
                    let lang = lang_of(txn, chat).await?;
                    let header = self.texts.get(
                        lang,
                        "thread-comment-header",
                        &[number.clone(), ("author", author.clone().into())],
                    );
                    self.send_thread_message(txn, request, message, chat, &header, Purpose::Comment).await?;
                }
            }
            Kind::Reply => {
                let chat = request.requester_telegram_id;
                let lang = lang_of(txn, chat).await?;
                let header = self.texts.get(lang, "thread-reply-header", &[number]);
                self.send_thread_message(txn, request, message, chat, &header, Purpose::Client).await?;
            }
            // A question reaches the client with its transition; a note reaches nobody.
            Kind::Question | Kind::Note => {}
        }
        Ok(())
    }

    /// One thread message to one chat: its file (by its Telegram id) with the text as caption
    /// when it fits, and the text in messages of Telegram's size; each linked to the message.
    async fn send_thread_message(
        &self,
        txn: &DatabaseTransaction,
        request: &Request,
        message: &thread::Message,
        chat_id: i64,
        header: &str,
        purpose: Purpose,
    ) -> Result<()> {
        let text = match &message.body {
            Some(body) => format!("{header}\n{body}"),
            None => header.to_string(),
        };
        let topic = self.topic_in(txn, chat_id, request).await?;
        let mut outgoing = Vec::new();
        let mut rest = Some(text);
        if let (Some(kind), Some(file_id)) = (message.attachment_kind, &message.attachment_file_id) {
            let fits = rest.as_ref().is_some_and(|t| t.chars().count() <= MAX_CAPTION_CHARS);
            let caption = if fits { rest.take() } else { Some(header.to_string()) };
            outgoing.push(match kind {
                AttachmentKind::Photo => Outgoing::photo(chat_id, file_id.clone(), caption),
                AttachmentKind::Document => {
                    Outgoing::SendDocumentById { chat_id, document: file_id.clone(), caption, topic: None }
                }
            });
        }
        for part in rest.map(|t| split_message(&t, MAX_MESSAGE_CHARS)).unwrap_or_default() {
            outgoing.push(Outgoing::text(chat_id, part));
        }
        for message_out in outgoing {
            let id = outbox::enqueue(txn, message_out.in_topic(topic.clone())).await?;
            thread::record_delivery(txn, request.id, Some(message.id), chat_id, purpose, id).await?;
        }
        Ok(())
    }

    /// A request still waiting for its decision past its time: every administrator (or the
    /// administrators' group, in the request's topic) gets a notice and the request again, with
    /// its buttons.
    pub(super) async fn announce_again(&self, txn: &DatabaseTransaction, request: &Request, hours: u32) -> Result<()> {
        for chat in self.administrators_chats(txn).await? {
            let lang = lang_of(txn, chat).await?;
            let args = [("number", Arg::from(request.number)), ("hours", Arg::from(i64::from(hours)))];
            let notice = Outgoing::text(chat, self.texts.get(lang, "decision-overdue", &args));
            let id = outbox::enqueue(txn, notice.in_topic(self.topic_in(txn, chat, request).await?)).await?;
            thread::record_delivery(txn, request.id, None, chat, Purpose::Notice, id).await?;
            self.send_admin_copy(txn, chat, request).await?;
        }
        Ok(())
    }

    /// A request not done within its time: its copies show it, and its assignee is told.
    pub(super) async fn flag_overdue(&self, txn: &DatabaseTransaction, request: &Request, hours: u32) -> Result<()> {
        if let Some(chat) = self.assignee_chat(txn, request).await? {
            let lang = lang_of(txn, chat).await?;
            let args = [("number", Arg::from(request.number)), ("hours", Arg::from(i64::from(hours)))];
            let id = outbox::enqueue(txn, Outgoing::text(chat, self.texts.get(lang, "done-overdue", &args))).await?;
            thread::record_delivery(txn, request.id, None, chat, Purpose::Notice, id).await?;
        }
        self.edit_copies(txn, request).await
    }
}
