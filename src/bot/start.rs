//! Starting and linking: `/start` (with an invite code: the chat is linked to its client),
//! an ИНН typed outside any dialog (a request to be linked), `/help`, `/cancel`, `/lang` and
//! what the bot says to commands, input and buttons it does not know.

use std::sync::Arc;

use teloxide::types::CallbackQuery;

use super::HandlerResult;
use super::content::Content;
use super::context::Ctx;
use super::keyboards;
use super::texts::Lang;
use crate::services::requests::{self, Filed};
use crate::services::{contacts, inn, invites, telegram_users};

/// `/start`: a greeting, or with an invite code the chat linked to the invite's client. Leaves
/// any dialog.
pub async fn start(ctx: Arc<Ctx>, payload: Option<String>) -> HandlerResult {
    ctx.set_dialog(None).await?;
    let Some(code) = payload else {
        let name = ctx.profile.first_name.clone().unwrap_or_else(|| ctx.profile.display_name());
        return ctx.reply(ctx.t("start-greeting", &[("name", name.into())])).await.map(drop);
    };
    let text = match invites::redeem(&ctx.txn, &code, ctx.profile.telegram_id, Some(ctx.profile.display_name())).await?
    {
        invites::Redeemed::Linked(client) => {
            ctx.t("start-linked", &[("client", client.name.into()), ("inn", client.inn.into())])
        }
        invites::Redeemed::Invalid => ctx.t("start-invite-invalid", &[]),
    };
    ctx.reply(text).await.map(drop)
}

/// `/help`: the commands, and the administrators' ones to administrators.
pub async fn help(ctx: Arc<Ctx>) -> HandlerResult {
    let mut text = ctx.t("help", &[]);
    if ctx.admin.is_some() {
        text = format!("{text}\n\n{}", ctx.t("help-admin", &[]));
    }
    ctx.reply(text).await.map(drop)
}

/// `/cancel`: leaves whatever dialog the chat is in.
pub async fn cancel(ctx: Arc<Ctx>) -> HandlerResult {
    let had = ctx.dialog().await?.is_some();
    ctx.set_dialog(None).await?;
    ctx.reply(ctx.t(if had { "cancel-done" } else { "cancel-nothing" }, &[])).await.map(drop)
}

/// `/lang`: the languages to choose from.
pub async fn lang(ctx: Arc<Ctx>) -> HandlerResult {
    ctx.reply_with(ctx.t("lang-choose", &[]), keyboards::languages()).await.map(drop)
}

/// A language button: the choice is stored and used from this reply on.
pub async fn lang_chosen(ctx: Arc<Ctx>, query: CallbackQuery, code: String) -> HandlerResult {
    let lang = if code == "en" { Lang::En } else { Lang::Ru };
    telegram_users::set_language(&ctx.txn, ctx.profile.telegram_id, lang.code()).await?;
    ctx.set_lang(lang);
    ctx.reply(ctx.t("lang-set", &[])).await?;
    ctx.answer(&query, None).await
}

/// A command this bot does not have.
pub async fn unknown_command(ctx: Arc<Ctx>) -> HandlerResult {
    ctx.reply(ctx.t("unknown-command", &[])).await.map(drop)
}

/// Text outside any dialog: an ИНН to be linked to (a link request for the administrators), or
/// a hint. In a group (the administrators' group) people talk among themselves: the bot stays
/// silent.
pub async fn free_text(ctx: Arc<Ctx>, content: Content) -> HandlerResult {
    if !ctx.in_private_chat() {
        return Ok(());
    }
    let Content::Text(text) = content else { return ctx.reply(ctx.t("unknown-input", &[])).await.map(drop) };
    let Some(digits) = inn::looks_like(&text) else { return ctx.reply(ctx.t("unknown-input", &[])).await.map(drop) };
    if !inn::is_valid(&digits) {
        return ctx.reply(ctx.t("inn-invalid", &[("inn", digits.into())])).await.map(drop);
    }
    if let Some(client) = contacts::linked_client(&ctx.txn, ctx.profile.telegram_id).await?.filter(|c| c.inn == digits)
    {
        return ctx
            .reply(ctx.t("start-already-linked", &[("client", client.name.into()), ("inn", client.inn.into())]))
            .await
            .map(drop);
    }
    let filed = requests::file_link_request(&ctx.txn, ctx.notifier.as_ref(), &ctx.profile, &digits).await?;
    let text = match filed {
        Filed::New(r) => ctx.t("inn-link-requested", &[("inn", digits.into()), ("number", r.number.into())]),
        Filed::Existing(r) => ctx.t("inn-link-pending", &[("inn", digits.into()), ("number", r.number.into())]),
    };
    ctx.reply(text).await.map(drop)
}

/// A button whose data this bot does not understand (from an older version, or forged).
pub async fn outdated_button(ctx: Arc<Ctx>, query: CallbackQuery) -> HandlerResult {
    ctx.answer(&query, Some(ctx.t("callback-outdated", &[]))).await
}
