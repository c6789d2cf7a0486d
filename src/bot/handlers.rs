//! The bot's handlers: parse what the user sent → call a service → queue the reply. Every
//! reply goes to the outbox in the update's transaction.

use std::sync::Arc;

use rand::distr::{Alphanumeric, SampleString};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use teloxide::types::{
    CallbackQuery, ChatMemberKind, ChatMemberUpdated, InlineKeyboardButton, InlineKeyboardMarkup, MediaKind, Message,
    MessageKind,
};

use super::callback::Callback;
use super::command::Command;
use super::context::Ctx;
use super::dialog::Dialog;
use super::texts::{Arg, Lang};
use super::{BotError, HandlerResult};
use crate::entities::cash_register;
use crate::entities::client_request::{self, Status};
use crate::entities::request_message;
use crate::error::Error;
use crate::outbox::{self, Outgoing};
use crate::services::deadlines::{self, DeadlineView};
use crate::services::lifecycle::{self, Action, Transitioned};
use crate::services::requests::{self, Channel, Decided, Decision, Filed, NewServiceRequest};
use crate::services::{clients, contacts, inn, invites, telegram_users};

const MY_REQUESTS_SHOWN: u64 = 10;
const PENDING_SHOWN: u64 = 20;

fn cancel_keyboard(ctx: &Ctx) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new([[InlineKeyboardButton::callback(
        ctx.t("button-cancel", &[]),
        Callback::CancelDialog.encode(),
    )]])
}

// ---------------------------------------------------------------- commands

pub async fn command(ctx: Arc<Ctx>, cmd: Command) -> HandlerResult {
    match cmd {
        Command::Start(payload) => start(&ctx, payload).await,
        Command::Help => {
            let mut text = ctx.t("help", &[]);
            if ctx.admin.is_some() {
                text = format!("{text}\n\n{}", ctx.t("help-admin", &[]));
            }
            ctx.reply(text).await.map(drop)
        }
        Command::Cancel => {
            let had = ctx.dialog().await?.is_some();
            ctx.set_dialog(None).await?;
            ctx.reply(ctx.t(if had { "cancel-done" } else { "cancel-nothing" }, &[])).await.map(drop)
        }
        Command::Lang => {
            let keyboard = InlineKeyboardMarkup::new([[
                InlineKeyboardButton::callback("Русский", Callback::Lang("ru".into()).encode()),
                InlineKeyboardButton::callback("English", Callback::Lang("en".into()).encode()),
            ]]);
            ctx.send(Outgoing::with_keyboard(ctx.chat_id, ctx.t("lang-choose", &[]), keyboard)).await.map(drop)
        }
        Command::Request => start_request(&ctx).await,
        Command::MyRequests => my_requests(&ctx).await,
        Command::Pending => pending(&ctx).await,
        Command::Approve(args) => decide_command(&ctx, &args, true).await,
        Command::Reject(args) => decide_command(&ctx, &args, false).await,
        Command::Ask(args) => super::work::command(&ctx, &args, Action::AskClient).await,
        Command::Reopen(args) => super::work::command(&ctx, &args, Action::Reopen).await,
        Command::List => list(&ctx).await,
        Command::Today => today(&ctx).await,
        Command::Search(query) => search(&ctx, &query).await,
        Command::Export => super::export::offer(&ctx).await,
        Command::Unknown(_) => ctx.reply(ctx.t("unknown-command", &[])).await.map(drop),
    }
}

/// Days before a deadline from which it is marked urgent in lists.
const URGENT_DAYS: i64 = 7;

fn today_local(ctx: &Ctx) -> chrono::NaiveDate {
    crate::services::reminders::local_date(chrono::Utc::now(), ctx.notifier.timezone())
}

/// One deadline as a line of a list: urgency mark, date, type, register, days left.
fn deadline_line(ctx: &Ctx, view: &DeadlineView, today: chrono::NaiveDate, with_client: bool) -> String {
    let days = view.days_left(today);
    let mark = if days < 0 {
        "🔴 "
    } else if days <= URGENT_DAYS {
        "⚠️ "
    } else {
        ""
    };
    let left = if days < 0 {
        ctx.t("deadline-overdue", &[("days", (-days).into())])
    } else {
        ctx.t("deadline-left", &[("days", days.into())])
    };
    let kind = if ctx.lang() == Lang::En { view.kind.name_en.clone() } else { view.kind.name_ru.clone() };
    let register = view.register.as_ref().map_or(String::new(), |r| format!(" · {} № {}", r.model, r.serial_number));
    let client = if with_client { format!("{} · ", view.client.name) } else { String::new() };
    format!("{mark}{} · {client}{kind}{register} · {left}", view.deadline.expiration_date.format("%d.%m.%Y"))
}

async fn list(ctx: &Ctx) -> HandlerResult {
    let Some(client) = contacts::linked_client(&ctx.txn, ctx.profile.telegram_id).await? else {
        return ctx.reply(ctx.t("not-linked", &[])).await.map(drop);
    };
    let views = deadlines::of_client(&ctx.txn, client.id).await?;
    if views.is_empty() {
        return ctx.reply(ctx.t("list-empty", &[("client", client.name.into())])).await.map(drop);
    }
    let today = today_local(ctx);
    let mut lines =
        vec![ctx.t("list-header", &[("client", client.name.clone().into()), ("inn", client.inn.clone().into())])];
    lines.extend(views.iter().map(|v| deadline_line(ctx, v, today, false)));
    ctx.reply_long(lines.join("\n")).await
}

async fn today(ctx: &Ctx) -> HandlerResult {
    let today = today_local(ctx);
    let client_id = if ctx.admin.is_some() {
        None
    } else {
        match contacts::linked_client(&ctx.txn, ctx.profile.telegram_id).await? {
            Some(c) => Some(c.id),
            None => return ctx.reply(ctx.t("not-linked", &[])).await.map(drop),
        }
    };
    let views = deadlines::due_on(&ctx.txn, today, client_id).await?;
    let date = today.format("%d.%m.%Y").to_string();
    if views.is_empty() {
        return ctx.reply(ctx.t("today-empty", &[("date", date.into())])).await.map(drop);
    }
    let mut lines = vec![ctx.t("today-header", &[("date", date.into()), ("count", views.len().into())])];
    lines.extend(views.iter().map(|v| deadline_line(ctx, v, today, client_id.is_none())));
    ctx.reply_long(lines.join("\n")).await
}

/// Clients shown by one /search.
const SEARCH_LIMIT: usize = 20;

async fn search(ctx: &Ctx, query: &str) -> HandlerResult {
    if ctx.admin.is_none() {
        return ctx.reply(ctx.t("not-admin", &[])).await.map(drop);
    }
    if query.trim().is_empty() {
        return ctx.reply(ctx.t("search-usage", &[])).await.map(drop);
    }
    let found = clients::search(&ctx.txn, query, SEARCH_LIMIT).await?;
    if found.is_empty() {
        return ctx.reply(ctx.t("search-empty", &[("query", query.trim().to_string().into())])).await.map(drop);
    }
    let today = today_local(ctx);
    let mut blocks = Vec::new();
    for client in found {
        let mut block = vec![format!("{} (ИНН {})", client.name, client.inn)];
        for register in cash_register::Entity::find()
            .filter(cash_register::Column::ClientId.eq(client.id))
            .filter(cash_register::Column::IsActive.eq(true))
            .all(&ctx.txn)
            .await?
        {
            block.push(format!("  {} № {}", register.model, register.serial_number));
        }
        let upcoming = deadlines::of_client(&ctx.txn, client.id).await?;
        for view in upcoming.iter().take(3) {
            block.push(format!("  {}", deadline_line(ctx, view, today, false)));
        }
        if upcoming.is_empty() {
            block.push(format!("  {}", ctx.t("list-empty", &[("client", client.name.clone().into())])));
        }
        blocks.push(block.join("\n"));
    }
    ctx.reply_long(blocks.join("\n\n")).await
}

async fn start(ctx: &Ctx, payload: Option<String>) -> HandlerResult {
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

async fn start_request(ctx: &Ctx) -> HandlerResult {
    let types = requests::active_types(&ctx.txn).await?;
    if types.is_empty() {
        ctx.set_dialog(None).await?;
        return ctx.reply(ctx.t("request-no-types", &[])).await.map(drop);
    }
    let mut rows: Vec<Vec<InlineKeyboardButton>> = types
        .into_iter()
        .map(|t| {
            let name = if ctx.lang() == Lang::En { t.name_en } else { t.name_ru };
            vec![InlineKeyboardButton::callback(name, Callback::RequestType(t.id).encode())]
        })
        .collect();
    rows.push(vec![InlineKeyboardButton::callback(ctx.t("button-cancel", &[]), Callback::CancelDialog.encode())]);
    ctx.set_dialog(Some(Dialog::ChoosingType)).await?;
    ctx.send(Outgoing::with_keyboard(ctx.chat_id, ctx.t("request-choose-type", &[]), InlineKeyboardMarkup::new(rows)))
        .await
        .map(drop)
}

async fn my_requests(ctx: &Ctx) -> HandlerResult {
    let list = requests::of_requester(&ctx.txn, ctx.profile.telegram_id, MY_REQUESTS_SHOWN).await?;
    if list.is_empty() {
        return ctx.reply(ctx.t("myrequests-empty", &[])).await.map(drop);
    }
    let mut lines = vec![ctx.t("myrequests-header", &[])];
    let mut buttons = Vec::new();
    for request in &list {
        let kind = match request.kind {
            client_request::Kind::Service => ctx.notifier.type_name(&ctx.txn, ctx.lang(), request).await?,
            client_request::Kind::Link => format!("ИНН {}", request.inn.clone().unwrap_or_default()),
        };
        let date = request.created_at.with_timezone(&ctx.notifier.timezone()).format("%d.%m.%Y").to_string();
        let status = ctx.notifier.status_text(ctx.lang(), request.status);
        lines.push(ctx.t(
            "myrequests-line",
            &[
                ("number", request.number.into()),
                ("type", kind.into()),
                ("status", status.into()),
                ("date", date.into()),
            ],
        ));
        if let Some(reason) = &request.reason {
            lines.push(format!("  {}", ctx.t("myrequests-reason", &[("reason", reason.clone().into())])));
        }
        if lifecycle::target(request.kind, request.status, Action::Cancel).is_some() {
            buttons.push(vec![InlineKeyboardButton::callback(
                ctx.t("button-cancel-request", &[("number", request.number.into())]),
                Callback::CancelRequest(request.id).encode(),
            )]);
        }
    }
    let text = lines.join("\n");
    let message = if buttons.is_empty() {
        Outgoing::text(ctx.chat_id, text)
    } else {
        Outgoing::with_keyboard(ctx.chat_id, text, InlineKeyboardMarkup::new(buttons))
    };
    ctx.send(message).await.map(drop)
}

async fn pending(ctx: &Ctx) -> HandlerResult {
    if ctx.admin.is_none() {
        return ctx.reply(ctx.t("not-admin", &[])).await.map(drop);
    }
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

/// `/approve N` and `/reject N reason`.
async fn decide_command(ctx: &Ctx, args: &str, approve: bool) -> HandlerResult {
    if ctx.admin.is_none() {
        tracing::warn!(telegram_id = ctx.profile.telegram_id, "decision command from a non-administrator");
        return ctx.reply(ctx.t("not-admin", &[])).await.map(drop);
    }
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
    let text = decide(ctx, request.id, decision).await?;
    ctx.reply(text).await.map(drop)
}

/// Takes a decision for the administrator of `ctx` and returns what to tell them.
async fn decide(ctx: &Ctx, request_id: i32, decision: Decision) -> Result<String, BotError> {
    let actor = ctx.admin.as_ref().expect("callers check the administrator");
    let outcome =
        requests::decide(&ctx.txn, ctx.notifier.as_ref(), request_id, decision, actor, Channel::Telegram).await?;
    Ok(match outcome {
        Decided::Done(r) => ctx.t(
            "admin-decided",
            &[("number", r.number.into()), ("status", ctx.notifier.status_text(ctx.lang(), r.status).into())],
        ),
        Decided::AlreadyDecided(r) => ctx.t(
            "admin-already-decided",
            &[
                ("number", r.number.into()),
                ("status", ctx.notifier.status_text(ctx.lang(), r.status).into()),
                ("admin", r.decided_by.unwrap_or_else(|| r.requester_name.unwrap_or_default()).into()),
            ],
        ),
        Decided::LinkClientMissing(r) => {
            ctx.t("admin-link-client-missing", &[("inn", r.inn.unwrap_or_default().into())])
        }
    })
}

// ---------------------------------------------------------------- messages

/// What a message carries at the description step.
enum Content {
    Text(String),
    Photo { file_id: String, caption: Option<String> },
    Other,
}

fn content(msg: &Message) -> Content {
    let MessageKind::Common(common) = &msg.kind else { return Content::Other };
    match &common.media_kind {
        MediaKind::Text(t) => Content::Text(t.text.clone()),
        MediaKind::Photo(p) => Content::Photo {
            file_id: p
                .photo
                .iter()
                .max_by_key(|s| s.width * s.height)
                .map(|s| s.file.id.to_string())
                .unwrap_or_default(),
            caption: p.caption.clone(),
        },
        _ => Content::Other,
    }
}

pub async fn message(ctx: Arc<Ctx>, msg: Message) -> HandlerResult {
    if ctx.admin.is_some() && reply_decision(&ctx, &msg).await? {
        return Ok(());
    }
    match ctx.dialog().await? {
        Some(Dialog::Describing { type_id }) => describe(&ctx, type_id, content(&msg)).await,
        Some(Dialog::RejectReason { request_id }) if ctx.admin.is_some() => {
            let Content::Text(reason) = content(&msg) else {
                let number = requests::get(&ctx.txn, request_id).await?.map_or(request_id, |r| r.number);
                return ctx.reply(ctx.t("admin-reject-ask-reason", &[("number", number.into())])).await.map(drop);
            };
            ctx.set_dialog(None).await?;
            let text = decide(&ctx, request_id, Decision::Reject { reason: Some(reason) }).await?;
            ctx.reply(text).await.map(drop)
        }
        Some(Dialog::ChoosingType) => start_request(&ctx).await,
        Some(Dialog::Confirming { .. }) => ctx.reply(ctx.t("request-confirm-first", &[])).await.map(drop),
        _ => free_text(&ctx, content(&msg)).await,
    }
}

/// An administrator's reply to a request copy: "Approve"/"Одобрить" or "Reject/Отклонить <reason>".
async fn reply_decision(ctx: &Ctx, msg: &Message) -> Result<bool, BotError> {
    let (Some(replied), Content::Text(text)) = (msg.reply_to_message(), content(msg)) else { return Ok(false) };
    let text = text.trim();
    let (word, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    let decision = match word.trim_end_matches(['.', '!', ',']).to_lowercase().as_str() {
        "approve" | "одобрить" => Decision::Approve,
        "reject" | "отклонить" => Decision::Reject { reason: Some(rest.trim().to_string()) },
        _ => return Ok(false),
    };
    let Some(outbox_id) = outbox::delivered_as(&ctx.txn, ctx.chat_id, replied.id.0).await? else {
        return Ok(false);
    };
    let Some(copy) = request_message::Entity::find()
        .filter(request_message::Column::OutgoingMessageId.eq(outbox_id))
        .one(&ctx.txn)
        .await?
    else {
        return Ok(false);
    };
    let text = decide(ctx, copy.request_id, decision).await?;
    ctx.reply(text).await?;
    Ok(true)
}

async fn describe(ctx: &Ctx, type_id: i32, content: Content) -> HandlerResult {
    let (description, photo) = match content {
        Content::Text(text) => (text, None),
        Content::Photo { file_id, caption: Some(caption) } => (caption, Some(file_id)),
        Content::Photo { caption: None, .. } => {
            return ctx
                .send(Outgoing::with_keyboard(
                    ctx.chat_id,
                    ctx.t("request-photo-needs-caption", &[]),
                    cancel_keyboard(ctx),
                ))
                .await
                .map(drop);
        }
        Content::Other => {
            return ctx
                .send(Outgoing::with_keyboard(
                    ctx.chat_id,
                    ctx.t("request-description-wrong-kind", &[]),
                    cancel_keyboard(ctx),
                ))
                .await
                .map(drop);
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
            return ctx.send(Outgoing::with_keyboard(ctx.chat_id, hint, cancel_keyboard(ctx))).await.map(drop);
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
    let keyboard = InlineKeyboardMarkup::new([[
        InlineKeyboardButton::callback(ctx.t("button-submit", &[]), Callback::Submit(key.clone()).encode()),
        InlineKeyboardButton::callback(ctx.t("button-cancel", &[]), Callback::CancelDialog.encode()),
    ]]);
    ctx.set_dialog(Some(Dialog::Confirming { type_id, description, photo, key })).await?;
    ctx.send(Outgoing::with_keyboard(ctx.chat_id, summary, keyboard)).await.map(drop)
}

/// Text outside any dialog: an ИНН to link to, or a hint.
async fn free_text(ctx: &Ctx, content: Content) -> HandlerResult {
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

// ---------------------------------------------------------------- buttons

pub async fn callback_query(ctx: Arc<Ctx>, query: CallbackQuery) -> HandlerResult {
    let notice = match query.data.as_deref().and_then(Callback::parse) {
        None => Some(ctx.t("callback-outdated", &[])),
        Some(cb) => on_callback(&ctx, cb).await?,
    };
    ctx.send(Outgoing::AnswerCallbackQuery {
        chat_id: ctx.chat_id,
        callback_query_id: query.id.to_string(),
        text: notice,
        show_alert: false,
    })
    .await
    .map(drop)
}

/// Handles a button; returns the short notice for the callback answer, if any.
async fn on_callback(ctx: &Ctx, cb: Callback) -> Result<Option<String>, BotError> {
    match cb {
        Callback::RequestType(type_id) => {
            // The type keyboard, or an earlier one while describing or confirming (the client
            // changes their mind about the type).
            let choosing = matches!(
                ctx.dialog().await?,
                Some(Dialog::ChoosingType | Dialog::Describing { .. } | Dialog::Confirming { .. })
            );
            if !choosing {
                ctx.reply(ctx.t("dialog-expired", &[])).await?;
                return Ok(None);
            }
            let Some(request_type) = requests::get_type(&ctx.txn, type_id).await?.filter(|t| t.is_active) else {
                return Ok(Some(ctx.t("callback-outdated", &[])));
            };
            let name = if ctx.lang() == Lang::En { request_type.name_en } else { request_type.name_ru };
            ctx.set_dialog(Some(Dialog::Describing { type_id })).await?;
            ctx.send(Outgoing::with_keyboard(
                ctx.chat_id,
                ctx.t("request-ask-description", &[("type", name.into())]),
                cancel_keyboard(ctx),
            ))
            .await?;
            Ok(None)
        }
        Callback::Submit(key) => submit(ctx, key).await,
        Callback::CancelDialog => {
            match ctx.dialog().await? {
                None => return Ok(Some(ctx.t("cancel-nothing", &[]))),
                Some(Dialog::Confirming { .. } | Dialog::Describing { .. } | Dialog::ChoosingType) => {
                    ctx.reply(ctx.t("request-cancelled", &[])).await?;
                }
                Some(Dialog::RejectReason { .. }) => {
                    ctx.reply(ctx.t("cancel-done", &[])).await?;
                }
            }
            ctx.set_dialog(None).await?;
            Ok(None)
        }
        Callback::CancelRequest(request_id) => {
            let outcome =
                lifecycle::cancel_by_requester(&ctx.txn, ctx.notifier.as_ref(), request_id, &ctx.profile).await;
            let text = match outcome {
                Ok(Transitioned::Done(r)) => ctx.t("request-cancelled-by-client", &[("number", r.number.into())]),
                Ok(Transitioned::Refused(r)) => ctx.t(
                    "request-cannot-cancel",
                    &[("number", r.number.into()), ("status", ctx.notifier.status_text(ctx.lang(), r.status).into())],
                ),
                Err(Error::NotFound(_)) => return Ok(Some(ctx.t("callback-outdated", &[]))),
                Err(e) => return Err(e.into()),
            };
            ctx.reply(text).await?;
            Ok(None)
        }
        Callback::Approve(id)
        | Callback::Reject(id)
        | Callback::SkipReason(id)
        | Callback::Start(id)
        | Callback::Done(id)
            if ctx.admin.is_none() =>
        {
            tracing::warn!(
                telegram_id = ctx.profile.telegram_id,
                request_id = id,
                "decision button from a non-administrator"
            );
            Ok(Some(ctx.t("not-admin", &[])))
        }
        Callback::Export(wanted) => super::export::send(ctx, wanted).await,
        Callback::Approve(request_id) => decide_button(ctx, request_id, Decision::Approve).await,
        Callback::Start(request_id) => super::work::button(ctx, request_id, Action::Start).await,
        Callback::Done(request_id) => super::work::button(ctx, request_id, Action::Done).await,
        Callback::SkipReason(request_id) => {
            ctx.set_dialog(None).await?;
            decide_button(ctx, request_id, Decision::Reject { reason: None }).await
        }
        Callback::Reject(request_id) => {
            let Some(request) = requests::get(&ctx.txn, request_id).await? else {
                return Ok(Some(ctx.t("callback-outdated", &[])));
            };
            if request.status != Status::Pending {
                return decide_button(ctx, request_id, Decision::Reject { reason: None }).await;
            }
            ctx.set_dialog(Some(Dialog::RejectReason { request_id })).await?;
            let keyboard = InlineKeyboardMarkup::new([[InlineKeyboardButton::callback(
                ctx.t("button-skip", &[]),
                Callback::SkipReason(request_id).encode(),
            )]]);
            ctx.send(Outgoing::with_keyboard(
                ctx.chat_id,
                ctx.t("admin-reject-ask-reason", &[("number", request.number.into())]),
                keyboard,
            ))
            .await?;
            Ok(None)
        }
        Callback::Lang(code) => {
            let lang = if code == "en" { Lang::En } else { Lang::Ru };
            telegram_users::set_language(&ctx.txn, ctx.profile.telegram_id, lang.code()).await?;
            ctx.set_lang(lang);
            ctx.reply(ctx.t("lang-set", &[])).await?;
            Ok(None)
        }
    }
}

async fn decide_button(ctx: &Ctx, request_id: i32, decision: Decision) -> Result<Option<String>, BotError> {
    match decide(ctx, request_id, decision).await {
        Ok(text) => Ok(Some(text)),
        Err(BotError::Domain(Error::NotFound(_))) => Ok(Some(ctx.t("callback-outdated", &[]))),
        Err(e) => Err(e),
    }
}

async fn submit(ctx: &Ctx, key: String) -> Result<Option<String>, BotError> {
    let dialog = ctx.dialog().await?;
    let Some(Dialog::Confirming { type_id, description, photo, key: expected }) =
        dialog.filter(|d| matches!(d, Dialog::Confirming { key: k, .. } if *k == key))
    else {
        // A second tap, or Telegram delivering the tap again: tell the number, file nothing.
        let existing = client_request::Entity::find()
            .filter(client_request::Column::SubmitKey.eq(key.as_str()))
            .filter(client_request::Column::RequesterTelegramId.eq(ctx.profile.telegram_id))
            .one(&ctx.txn)
            .await?;
        return Ok(Some(match existing {
            Some(r) => ctx.t("request-submitted", &[("number", r.number.into())]),
            None => ctx.t("dialog-expired", &[]),
        }));
    };
    let new = NewServiceRequest {
        request_type_id: type_id,
        description,
        photo_file_id: photo,
        requester: ctx.profile.clone(),
        submit_key: expected,
    };
    let request = match requests::file_service_request(&ctx.txn, ctx.notifier.as_ref(), new).await? {
        Filed::New(r) => r,
        // Another tap of the same Submit got there first: a notice, no second message.
        Filed::Existing(r) => {
            ctx.set_dialog(None).await?;
            return Ok(Some(ctx.t("request-submitted", &[("number", Arg::from(r.number))])));
        }
    };
    ctx.set_dialog(None).await?;
    ctx.reply(ctx.t("request-submitted", &[("number", Arg::from(request.number))])).await?;
    Ok(None)
}

// ---------------------------------------------------------------- membership

/// A user blocking the bot (`kicked`) or coming back (`member`) in a private chat.
pub async fn my_chat_member(ctx: Arc<Ctx>, update: ChatMemberUpdated) -> HandlerResult {
    if !update.chat.is_private() {
        return Ok(());
    }
    let blocked = match update.new_chat_member.kind {
        ChatMemberKind::Banned(_) => true,
        ChatMemberKind::Member { .. } => false,
        _ => return Ok(()),
    };
    telegram_users::set_blocked(&ctx.txn, update.from.id.0 as i64, blocked).await?;
    Ok(())
}
