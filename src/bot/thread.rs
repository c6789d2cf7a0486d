//! A request's thread in Telegram: the client's reply to any message about their request
//! (or any text, photo or document while a request of theirs waits for their answer) is a
//! comment, passed on to its assignee or to the administrators; an administrator's reply to a
//! message about a request (its copy, a comment passed on, a notice) goes to the client; `/note
//! N text` keeps an internal note; `/mine` shows an administrator the open requests assigned to
//! them. Each goes through [`thread::post`], the function the REST API uses.

use std::sync::Arc;

use teloxide::types::Message;

use super::content::Content;
use super::context::Ctx;
use super::{BotError, HandlerResult};
use crate::error::Error;
use crate::services::assignment::{self, Assignee};
use crate::services::requests::{self, Actor, Channel, Request};
use crate::services::thread::{self, Kind, NewMessage};

/// Open requests `/mine` shows.
const MINE_SHOWN: u64 = 20;

/// The request a message is about.
#[derive(Clone, Debug)]
pub struct AboutRequest(pub Request);

/// The request of the message this one replies to, when that message was about one.
pub async fn replying_to_request(ctx: Arc<Ctx>, msg: Message) -> Result<Option<AboutRequest>, BotError> {
    let Some(replied) = msg.reply_to_message() else { return Ok(None) };
    let Some(request_id) = thread::request_of_message(&ctx.txn, ctx.chat_id, replied.id.0).await? else {
        return Ok(None);
    };
    Ok(requests::get(&ctx.txn, request_id).await?.map(AboutRequest))
}

/// Whether the sender filed the request.
pub fn from_its_client(ctx: Arc<Ctx>, about: AboutRequest) -> bool {
    about.0.requester_telegram_id == ctx.profile.telegram_id
}

/// The sender's request that waits for their answer, for a text, photo or document outside any
/// dialog, in their private chat.
pub async fn waiting_for_sender(ctx: Arc<Ctx>, content: Content) -> Result<Option<AboutRequest>, BotError> {
    if content == Content::Other || !ctx.in_private_chat() {
        return Ok(None);
    }
    Ok(thread::waiting_for(&ctx.txn, ctx.profile.telegram_id).await?.map(AboutRequest))
}

/// The client's comment on their request.
pub async fn client_comment(ctx: Arc<Ctx>, about: AboutRequest, content: Content) -> HandlerResult {
    let Some(new) = content.into_thread_message(Kind::Comment) else {
        return ctx.reply(ctx.t("comment-wrong-kind", &[])).await.map(drop);
    };
    let client = Actor::Client { telegram_id: ctx.profile.telegram_id, name: ctx.profile.display_name() };
    match post(&ctx, &about.0, &client, new).await? {
        Ok(()) => ctx.reply(ctx.t("comment-sent", &[("number", about.0.number.into())])).await.map(drop),
        Err(_) => ctx.reply(ctx.t("comment-wrong-kind", &[])).await.map(drop),
    }
}

/// An administrator's reply to a message about a request: to the client.
pub async fn staff_reply(ctx: Arc<Ctx>, admin: Actor, about: AboutRequest, content: Content) -> HandlerResult {
    let Some(new) = content.into_thread_message(Kind::Reply) else {
        return ctx.reply(ctx.t("admin-reply-wrong-kind", &[])).await.map(drop);
    };
    match post(&ctx, &about.0, &admin, new).await? {
        Ok(()) => ctx.reply(ctx.t("admin-reply-sent", &[("number", about.0.number.into())])).await.map(drop),
        Err(TooLong) => {
            ctx.reply(ctx.t("admin-comment-too-long", &[("max", thread::MAX_TEXT_CHARS.into())])).await.map(drop)
        }
    }
}

/// `/note N text`: an internal note, never sent to the client.
pub async fn note_command(ctx: Arc<Ctx>, admin: Actor, args: String) -> HandlerResult {
    let usage = || ctx.t("admin-note-usage", &[]);
    let Some((number, text)) = args.split_once(char::is_whitespace) else { return ctx.reply(usage()).await.map(drop) };
    let Ok(number) = number.trim_start_matches(['#', '№']).parse::<i32>() else {
        return ctx.reply(usage()).await.map(drop);
    };
    let Some(request) = requests::find_by_number(&ctx.txn, number).await? else {
        return ctx.reply(ctx.t("admin-request-not-found", &[("number", number.into())])).await.map(drop);
    };
    let new = NewMessage { kind: Kind::Note, text: Some(text.to_string()), attachment: None };
    match post(&ctx, &request, &admin, new).await? {
        Ok(()) => ctx.reply(ctx.t("admin-note-saved", &[("number", number.into())])).await.map(drop),
        Err(TooLong) => {
            ctx.reply(ctx.t("admin-comment-too-long", &[("max", thread::MAX_TEXT_CHARS.into())])).await.map(drop)
        }
    }
}

/// `/mine`: a copy, with its buttons, of each open request assigned to the administrator.
pub async fn mine(ctx: Arc<Ctx>, admin: Actor) -> HandlerResult {
    let Some(me) = Assignee::of_actor(&admin) else { return Ok(()) };
    let list = assignment::open_of(&ctx.txn, me, MINE_SHOWN).await?;
    if list.is_empty() {
        return ctx.reply(ctx.t("mine-empty", &[])).await.map(drop);
    }
    ctx.reply(ctx.t("mine-header", &[("count", list.len().into())])).await?;
    for request in &list {
        ctx.notifier.send_admin_copy(&ctx.txn, ctx.chat_id, request).await?;
    }
    Ok(())
}

/// A message the thread refuses (a text too long).
struct TooLong;

async fn post(ctx: &Ctx, request: &Request, actor: &Actor, new: NewMessage) -> Result<Result<(), TooLong>, BotError> {
    match thread::post(&ctx.txn, ctx.notifier.as_ref(), request.id, actor, Channel::Telegram, new).await {
        Ok(_) => Ok(Ok(())),
        Err(Error::Validation(_)) => Ok(Err(TooLong)),
        Err(e) => Err(e.into()),
    }
}
