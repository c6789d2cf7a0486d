//! The request dialog: `/request` → a type (button) → a description (text, or a photo with a
//! caption) → the summary → Submit. The dialog's steps are [`Dialog`]s, stored per chat; the
//! handler tree routes a message by the step the chat is at. Also the client's withdrawal of
//! a request (the Cancel buttons of `/myrequests`).

use std::sync::Arc;

use rand::distr::{Alphanumeric, SampleString};
use teloxide::types::CallbackQuery;

use super::content::Content;
use super::context::Ctx;
use super::dialog::Dialog;
use super::texts::{Arg, Lang};
use super::{HandlerResult, keyboards};
use crate::error::Error;
use crate::services::lifecycle::{self, Transitioned};
use crate::services::requests::{self, Filed, NewServiceRequest};
use crate::services::thread::{self, Purpose};

/// `/request` (and any message while the type keyboard is shown): the request types.
pub async fn choose_type(ctx: Arc<Ctx>) -> HandlerResult {
    let types = requests::active_types(&ctx.txn).await?;
    if types.is_empty() {
        ctx.set_dialog(None).await?;
        return ctx.reply(ctx.t("request-no-types", &[])).await.map(drop);
    }
    ctx.set_dialog(Some(Dialog::ChoosingType)).await?;
    ctx.reply_with(ctx.t("request-choose-type", &[]), keyboards::request_types(&ctx, types)).await.map(drop)
}

/// A type button: the description is asked. A type keyboard shown earlier in the dialog works
/// too (the client changes their mind about the type).
pub async fn type_chosen(ctx: Arc<Ctx>, query: CallbackQuery, type_id: i32) -> HandlerResult {
    let in_dialog = matches!(
        ctx.dialog().await?,
        Some(Dialog::ChoosingType | Dialog::Describing { .. } | Dialog::Confirming { .. })
    );
    if !in_dialog {
        ctx.reply(ctx.t("dialog-expired", &[])).await?;
        return ctx.answer(&query, None).await;
    }
    let Some(request_type) = requests::get_type(&ctx.txn, type_id).await?.filter(|t| t.is_active) else {
        return ctx.answer(&query, Some(ctx.t("callback-outdated", &[]))).await;
    };
    let name = if ctx.lang() == Lang::En { request_type.name_en } else { request_type.name_ru };
    ctx.set_dialog(Some(Dialog::Describing { type_id })).await?;
    ctx.reply_with(ctx.t("request-ask-description", &[("type", name.into())]), keyboards::cancel(&ctx)).await?;
    ctx.answer(&query, None).await
}

/// A message at the description step: the summary with Submit, or why the message cannot be
/// the description.
pub async fn describe(ctx: Arc<Ctx>, type_id: i32, content: Content) -> HandlerResult {
    let (description, photo) = match content {
        Content::Text(text) => (text, None),
        Content::Photo { file_id, caption: Some(caption) } => (caption, Some(file_id)),
        Content::Photo { caption: None, .. } => {
            let hint = ctx.t("request-photo-needs-caption", &[]);
            return ctx.reply_with(hint, keyboards::cancel(&ctx)).await.map(drop);
        }
        Content::Document { .. } | Content::Other => {
            let hint = ctx.t("request-description-wrong-kind", &[]);
            return ctx.reply_with(hint, keyboards::cancel(&ctx)).await.map(drop);
        }
    };
    let description = match requests::validate_description(&description) {
        Ok(d) => d,
        Err(_) => {
            let length = description.trim().chars().count();
            let hint = if length == 0 {
                ctx.t("request-description-empty", &[])
            } else {
                ctx.t("request-description-too-long", &[("length", length.into())])
            };
            return ctx.reply_with(hint, keyboards::cancel(&ctx)).await.map(drop);
        }
    };
    let Some(request_type) = requests::get_type(&ctx.txn, type_id).await? else {
        ctx.set_dialog(None).await?;
        return ctx.reply(ctx.t("dialog-expired", &[])).await.map(drop);
    };
    let type_name = if ctx.lang() == Lang::En { request_type.name_en } else { request_type.name_ru };
    let key = Alphanumeric.sample_string(&mut rand::rng(), 16);
    let mut summary =
        ctx.t("request-summary", &[("type", type_name.into()), ("description", description.clone().into())]);
    if photo.is_some() {
        summary = format!("{summary}\n{}", ctx.t("request-summary-photo", &[]));
    }
    let keyboard = keyboards::submit(&ctx, &key);
    ctx.set_dialog(Some(Dialog::Confirming { type_id, description, photo, key })).await?;
    ctx.reply_with(summary, keyboard).await.map(drop)
}

/// A message while the summary is shown: Submit or Cancel first.
pub async fn confirm_first(ctx: Arc<Ctx>) -> HandlerResult {
    ctx.reply(ctx.t("request-confirm-first", &[])).await.map(drop)
}

/// Submit: the request is filed and the administrators get their copies (through the
/// notifier). A second tap, or Telegram delivering the tap again, files nothing and tells the
/// number.
pub async fn submit(ctx: Arc<Ctx>, query: CallbackQuery, key: String) -> HandlerResult {
    let dialog = ctx.dialog().await?;
    let Some(Dialog::Confirming { type_id, description, photo, key: expected }) =
        dialog.filter(|d| matches!(d, Dialog::Confirming { key: k, .. } if *k == key))
    else {
        let existing = requests::by_submit_key(&ctx.txn, ctx.profile.telegram_id, &key).await?;
        let notice = match existing {
            Some(r) => ctx.t("request-submitted", &[("number", r.number.into())]),
            None => ctx.t("dialog-expired", &[]),
        };
        return ctx.answer(&query, Some(notice)).await;
    };
    let new = NewServiceRequest {
        request_type_id: type_id,
        description,
        photo_file_id: photo,
        requester: ctx.profile.clone(),
        submit_key: expected,
    };
    let filed = requests::file_service_request(&ctx.txn, ctx.notifier.as_ref(), new).await?;
    ctx.set_dialog(None).await?;
    match filed {
        Filed::New(r) => {
            let told = ctx.reply(ctx.t("request-submitted", &[("number", Arg::from(r.number))])).await?;
            // A reply to it is a comment on the request.
            thread::record_delivery(&ctx.txn, r.id, None, ctx.chat_id, Purpose::Client, told).await?;
            ctx.answer(&query, None).await
        }
        // Another tap of the same Submit got there first: a notice, no second message.
        Filed::Existing(r) => {
            ctx.answer(&query, Some(ctx.t("request-submitted", &[("number", Arg::from(r.number))]))).await
        }
    }
}

/// The Cancel button of the dialog (and of the reason of a rejection).
pub async fn cancel_dialog(ctx: Arc<Ctx>, query: CallbackQuery) -> HandlerResult {
    match ctx.dialog().await? {
        None => return ctx.answer(&query, Some(ctx.t("cancel-nothing", &[]))).await,
        Some(Dialog::Confirming { .. } | Dialog::Describing { .. } | Dialog::ChoosingType) => {
            ctx.reply(ctx.t("request-cancelled", &[])).await?;
        }
        Some(Dialog::RejectReason { .. }) => {
            ctx.reply(ctx.t("cancel-done", &[])).await?;
        }
    }
    ctx.set_dialog(None).await?;
    ctx.answer(&query, None).await
}

/// A Cancel button of `/myrequests`: the client withdraws a request still pending.
pub async fn withdraw(ctx: Arc<Ctx>, query: CallbackQuery, request_id: i32) -> HandlerResult {
    let outcome = lifecycle::cancel_by_requester(&ctx.txn, ctx.notifier.as_ref(), request_id, &ctx.profile).await;
    let text = match outcome {
        Ok(Transitioned::Done(r)) => ctx.t("request-cancelled-by-client", &[("number", r.number.into())]),
        Ok(Transitioned::Refused(r)) => ctx.t(
            "request-cannot-cancel",
            &[("number", r.number.into()), ("status", ctx.notifier.status_text(ctx.lang(), r.status).into())],
        ),
        Err(Error::NotFound(_)) => return ctx.answer(&query, Some(ctx.t("callback-outdated", &[]))).await,
        Err(e) => return Err(e.into()),
    };
    ctx.reply(text).await?;
    ctx.answer(&query, None).await
}
