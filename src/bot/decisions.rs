//! Administrators' decisions on pending requests: `/pending` (a copy of each), `/approve N`,
//! `/reject N [reason]`, the Approve / Reject buttons of a copy (Reject asks for the reason,
//! which may be skipped), and "Approve" / "Reject <reason>" written as a reply to a copy. The
//! handler tree lets only administrators here; [`refuse_command`] and [`refuse_button`] answer
//! everyone else.

use std::sync::Arc;

use teloxide::types::{CallbackQuery, Message};

use super::callback::Callback;
use super::command::Command;
use super::content::Content;
use super::context::Ctx;
use super::dialog::Dialog;
use super::{BotError, HandlerResult, keyboards};
use crate::error::Error;
use crate::outbox;
use crate::services::copies;
use crate::services::requests::{self, Actor, Channel, Decided, Decision, Status};

/// Copies shown by `/pending`.
const PENDING_SHOWN: u64 = 20;

/// `/pending`: a copy, with its buttons, of each pending request.
pub async fn pending(ctx: Arc<Ctx>) -> HandlerResult {
    let list = requests::pending(&ctx.txn, PENDING_SHOWN).await?;
    if list.is_empty() {
        return ctx.reply(ctx.t("pending-empty", &[])).await.map(drop);
    }
    ctx.reply(ctx.t("pending-header", &[("count", list.len().into())])).await?;
    for request in &list {
        ctx.notifier.send_admin_copy(&ctx.txn, ctx.chat_id, request).await?;
    }
    Ok(())
}

/// `/approve N`.
pub async fn approve_command(ctx: Arc<Ctx>, admin: Actor, args: String) -> HandlerResult {
    decide_command(&ctx, &admin, &args, true).await
}

/// `/reject N [reason]`.
pub async fn reject_command(ctx: Arc<Ctx>, admin: Actor, args: String) -> HandlerResult {
    decide_command(&ctx, &admin, &args, false).await
}

async fn decide_command(ctx: &Ctx, admin: &Actor, args: &str, approve: bool) -> HandlerResult {
    let (number, reason) = match args.split_once(char::is_whitespace) {
        Some((n, reason)) => (n, Some(reason.trim().to_string())),
        None => (args, None),
    };
    let Ok(number) = number.trim_start_matches(['#', '№']).parse::<i32>() else {
        return ctx.reply(ctx.t("admin-command-usage", &[])).await.map(drop);
    };
    let Some(request) = requests::find_by_number(&ctx.txn, number).await? else {
        return ctx.reply(ctx.t("admin-request-not-found", &[("number", number.into())])).await.map(drop);
    };
    let decision = if approve { Decision::Approve } else { Decision::Reject { reason } };
    let text = decide(ctx, admin, request.id, decision).await?;
    ctx.reply(text).await.map(drop)
}

/// "Approve" / "Одобрить" or "Reject / Отклонить <reason>" written as a reply to a message.
#[derive(Clone, Debug)]
pub struct ReplyDecision {
    /// The message replied to, in this chat.
    replied_to: i32,
    decision: Decision,
}

/// The decision a message states, if it is a reply that starts with a decision's word.
pub fn reply_decision(msg: Message, content: Content) -> Option<ReplyDecision> {
    let (Some(replied), Content::Text(text)) = (msg.reply_to_message(), content) else { return None };
    let text = text.trim();
    let (word, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    let decision = match word.trim_end_matches(['.', '!', ',']).to_lowercase().as_str() {
        "approve" | "одобрить" => Decision::Approve,
        "reject" | "отклонить" => Decision::Reject { reason: Some(rest.trim().to_string()) },
        _ => return None,
    };
    Some(ReplyDecision { replied_to: replied.id.0, decision })
}

/// A decision on the request whose copy was replied to.
#[derive(Clone, Debug)]
pub struct CopyDecision {
    request_id: i32,
    decision: Decision,
}

/// The request of the copy a [`ReplyDecision`] replies to; `None` when the message replied to
/// is no request's copy (the message is then taken as any other).
pub async fn on_copy(ctx: Arc<Ctx>, reply: ReplyDecision) -> Result<Option<CopyDecision>, BotError> {
    let Some(outbox_id) = outbox::delivered_as(&ctx.txn, ctx.chat_id, reply.replied_to).await? else {
        return Ok(None);
    };
    let request_id = copies::request_of(&ctx.txn, outbox_id).await?;
    Ok(request_id.map(|request_id| CopyDecision { request_id, decision: reply.decision }))
}

/// A decision written as a reply to a copy.
pub async fn by_reply(ctx: Arc<Ctx>, admin: Actor, wanted: CopyDecision) -> HandlerResult {
    let text = decide(&ctx, &admin, wanted.request_id, wanted.decision).await?;
    ctx.reply(text).await.map(drop)
}

/// The reason of a rejection, asked after the Reject button; anything but text asks again.
pub async fn reject_reason(ctx: Arc<Ctx>, admin: Actor, request_id: i32, content: Content) -> HandlerResult {
    let Content::Text(reason) = content else {
        let number = requests::get(&ctx.txn, request_id).await?.map_or(request_id, |r| r.number);
        return ctx.reply(ctx.t("admin-reject-ask-reason", &[("number", number.into())])).await.map(drop);
    };
    ctx.set_dialog(None).await?;
    let text = decide(&ctx, &admin, request_id, Decision::Reject { reason: Some(reason) }).await?;
    ctx.reply(text).await.map(drop)
}

/// The Approve button of a copy.
pub async fn approve_button(ctx: Arc<Ctx>, query: CallbackQuery, admin: Actor, request_id: i32) -> HandlerResult {
    let notice = decide_button(&ctx, &admin, request_id, Decision::Approve).await?;
    ctx.answer(&query, notice).await
}

/// The Reject button of a copy: the reason is asked (with a button to skip it); a request
/// already decided answers with its outcome at once.
pub async fn reject_button(ctx: Arc<Ctx>, query: CallbackQuery, admin: Actor, request_id: i32) -> HandlerResult {
    let Some(request) = requests::get(&ctx.txn, request_id).await? else {
        return ctx.answer(&query, Some(ctx.t("callback-outdated", &[]))).await;
    };
    if request.status != Status::Pending {
        let notice = decide_button(&ctx, &admin, request_id, Decision::Reject { reason: None }).await?;
        return ctx.answer(&query, notice).await;
    }
    ctx.set_dialog(Some(Dialog::RejectReason { request_id })).await?;
    let text = ctx.t("admin-reject-ask-reason", &[("number", request.number.into())]);
    ctx.reply_with(text, keyboards::skip_reason(&ctx, request_id)).await?;
    ctx.answer(&query, None).await
}

/// Skip: the rejection without a reason.
pub async fn skip_reason_button(ctx: Arc<Ctx>, query: CallbackQuery, admin: Actor, request_id: i32) -> HandlerResult {
    ctx.set_dialog(None).await?;
    let notice = decide_button(&ctx, &admin, request_id, Decision::Reject { reason: None }).await?;
    ctx.answer(&query, notice).await
}

async fn decide_button(
    ctx: &Ctx,
    admin: &Actor,
    request_id: i32,
    decision: Decision,
) -> Result<Option<String>, BotError> {
    match decide(ctx, admin, request_id, decision).await {
        Ok(text) => Ok(Some(text)),
        Err(BotError::Domain(Error::NotFound(_))) => Ok(Some(ctx.t("callback-outdated", &[]))),
        Err(e) => Err(e),
    }
}

/// Takes a decision and returns what to tell the administrator.
async fn decide(ctx: &Ctx, admin: &Actor, request_id: i32, decision: Decision) -> Result<String, BotError> {
    let outcome =
        requests::decide(&ctx.txn, ctx.notifier.as_ref(), request_id, decision, admin, Channel::Telegram).await?;
    let status = |status| ctx.notifier.status_text(ctx.lang(), status);
    Ok(match outcome {
        Decided::Done(r) => ctx.t("admin-decided", &[("number", r.number.into()), ("status", status(r.status).into())]),
        Decided::AlreadyDecided(r) => ctx.t(
            "admin-already-decided",
            &[
                ("number", r.number.into()),
                ("status", status(r.status).into()),
                ("admin", r.decided_by.unwrap_or_else(|| r.requester_name.unwrap_or_default()).into()),
            ],
        ),
        Decided::LinkClientMissing(r) => {
            ctx.t("admin-link-client-missing", &[("inn", r.inn.unwrap_or_default().into())])
        }
    })
}

/// An administrators' command from someone else.
pub async fn refuse_command(ctx: Arc<Ctx>, command: Command) -> HandlerResult {
    let telegram_id = ctx.profile.telegram_id;
    match command {
        Command::Approve(_) | Command::Reject(_) => {
            tracing::warn!(telegram_id, "decision command from a non-administrator");
        }
        Command::Ask(_) | Command::Reopen(_) => tracing::warn!(telegram_id, "work command from a non-administrator"),
        _ => {}
    }
    ctx.reply(ctx.t("not-admin", &[])).await.map(drop)
}

/// An administrators' button (a copy's, or an export's) tapped by someone else.
pub async fn refuse_button(ctx: Arc<Ctx>, query: CallbackQuery, callback: Callback) -> HandlerResult {
    if let Callback::Approve(id)
    | Callback::Reject(id)
    | Callback::SkipReason(id)
    | Callback::Start(id)
    | Callback::Done(id) = callback
    {
        tracing::warn!(
            telegram_id = ctx.profile.telegram_id,
            request_id = id,
            "decision button from a non-administrator"
        );
    }
    ctx.answer(&query, Some(ctx.t("not-admin", &[]))).await
}
