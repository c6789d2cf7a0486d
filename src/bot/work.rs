//! Working on a request after its decision, from Telegram: the Take and Done buttons of an
//! administrator's copy, `/ask N question` and `/reopen N [comment]`. Each goes through
//! [`lifecycle::transition`], the function the REST API uses.

use super::context::Ctx;
use super::{BotError, HandlerResult};
use crate::error::Error;
use crate::services::lifecycle::{self, Action, Transitioned};
use crate::services::requests::{self, Channel};

/// A Take or Done button; returns the notice for the callback answer.
pub async fn button(ctx: &Ctx, request_id: i32, action: Action) -> Result<Option<String>, BotError> {
    match act(ctx, request_id, action, None).await {
        Ok(text) => Ok(Some(text)),
        Err(BotError::Domain(Error::NotFound(_))) => Ok(Some(ctx.t("callback-outdated", &[]))),
        Err(e) => Err(e),
    }
}

/// `/ask N question` and `/reopen N [comment]`.
pub async fn command(ctx: &Ctx, args: &str, action: Action) -> HandlerResult {
    if ctx.admin.is_none() {
        tracing::warn!(telegram_id = ctx.profile.telegram_id, "work command from a non-administrator");
        return ctx.reply(ctx.t("not-admin", &[])).await.map(drop);
    }
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
    let text = act(ctx, request.id, action, comment).await?;
    ctx.reply(text).await.map(drop)
}

/// Applies the action for the administrator of `ctx`; returns what to tell them.
async fn act(ctx: &Ctx, request_id: i32, action: Action, comment: Option<String>) -> Result<String, BotError> {
    let actor = ctx.admin.as_ref().expect("callers check the administrator");
    let outcome =
        lifecycle::transition(&ctx.txn, ctx.notifier.as_ref(), request_id, action, actor, Channel::Telegram, comment)
            .await;
    let status = |r: &crate::entities::client_request::Model| ctx.notifier.status_text(ctx.lang(), r.status);
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
