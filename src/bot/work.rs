//! Working on a request after its decision, from Telegram: the Take and Done buttons of an
//! administrator's copy, `/ask N question` and `/reopen N [comment]`. Each goes through
//! [`lifecycle::transition`], the function the REST API uses. The handler tree lets only
//! administrators here.

use std::sync::Arc;

use teloxide::types::CallbackQuery;

use super::context::Ctx;
use super::{BotError, HandlerResult};
use crate::error::Error;
use crate::services::lifecycle::{self, Action, Transitioned};
use crate::services::requests::{self, Actor, Channel, Request};

/// The Take button (the work starts, or resumes after the client answered).
pub async fn take_button(ctx: Arc<Ctx>, query: CallbackQuery, admin: Actor, request_id: i32) -> HandlerResult {
    button(&ctx, &query, &admin, request_id, Action::Start).await
}

/// The Done button.
pub async fn done_button(ctx: Arc<Ctx>, query: CallbackQuery, admin: Actor, request_id: i32) -> HandlerResult {
    button(&ctx, &query, &admin, request_id, Action::Done).await
}

async fn button(ctx: &Ctx, query: &CallbackQuery, admin: &Actor, request_id: i32, action: Action) -> HandlerResult {
    let notice = match act(ctx, admin, request_id, action, None).await {
        Ok(text) => text,
        Err(BotError::Domain(Error::NotFound(_))) => ctx.t("callback-outdated", &[]),
        Err(e) => return Err(e),
    };
    ctx.answer(query, Some(notice)).await
}

/// `/ask N question`.
pub async fn ask_command(ctx: Arc<Ctx>, admin: Actor, args: String) -> HandlerResult {
    command(&ctx, &admin, &args, Action::AskClient).await
}

/// `/reopen N [comment]`.
pub async fn reopen_command(ctx: Arc<Ctx>, admin: Actor, args: String) -> HandlerResult {
    command(&ctx, &admin, &args, Action::Reopen).await
}

async fn command(ctx: &Ctx, admin: &Actor, args: &str, action: Action) -> HandlerResult {
    let usage = if action == Action::AskClient { "admin-ask-usage" } else { "admin-reopen-usage" };
    let (number, comment) = match args.split_once(char::is_whitespace) {
        Some((n, comment)) => (n, Some(comment.trim().to_string()).filter(|c| !c.is_empty())),
        None => (args, None),
    };
    let Ok(number) = number.trim_start_matches(['#', '№']).parse::<i32>() else {
        return ctx.reply(ctx.t(usage, &[])).await.map(drop);
    };
    if action == Action::AskClient && comment.is_none() {
        return ctx.reply(ctx.t(usage, &[])).await.map(drop);
    }
    let Some(request) = requests::find_by_number(&ctx.txn, number).await? else {
        return ctx.reply(ctx.t("admin-request-not-found", &[("number", number.into())])).await.map(drop);
    };
    let text = act(ctx, admin, request.id, action, comment).await?;
    ctx.reply(text).await.map(drop)
}

/// Applies the action; returns what to tell the administrator.
async fn act(
    ctx: &Ctx,
    admin: &Actor,
    request_id: i32,
    action: Action,
    comment: Option<String>,
) -> Result<String, BotError> {
    let outcome =
        lifecycle::transition(&ctx.txn, ctx.notifier.as_ref(), request_id, action, admin, Channel::Telegram, comment)
            .await;
    let status = |r: &Request| ctx.notifier.status_text(ctx.lang(), r.status);
    Ok(match outcome {
        Ok(Transitioned::Done(r)) => {
            ctx.t("admin-decided", &[("number", r.number.into()), ("status", status(&r).into())])
        }
        Ok(Transitioned::Refused(r)) => {
            ctx.t("admin-action-refused", &[("number", r.number.into()), ("status", status(&r).into())])
        }
        Err(Error::Validation(fields)) if fields.iter().any(|f| f.field == "comment") => {
            ctx.t("admin-comment-too-long", &[("max", lifecycle::MAX_COMMENT_CHARS.into())])
        }
        Err(Error::Validation(_)) => ctx.t("admin-link-no-work", &[]),
        Err(e) => return Err(e.into()),
    })
}
