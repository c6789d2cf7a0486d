//! Lists and search: `/myrequests` (a client's requests with their status and assignee, with
//! Cancel buttons for those they may still withdraw), `/list` (their client's deadlines), `/today` (deadlines due today: the
//! client's, or everyone's for administrators) and `/search` (administrators: clients by name
//! or ИНН with their registers and next deadlines).

use std::sync::Arc;

use super::context::Ctx;
use super::format::{self, deadline_line};
use super::{HandlerResult, keyboards};
use crate::outbox::Outgoing;
use crate::services::requests::Kind;
use crate::services::{assignment, cash_registers, clients, contacts, deadlines, requests};

/// Requests shown by `/myrequests`.
const MY_REQUESTS_SHOWN: u64 = 10;
/// Clients shown by one `/search`.
const SEARCH_LIMIT: usize = 20;

/// `/myrequests`: the client's latest requests with their status.
pub async fn my_requests(ctx: Arc<Ctx>) -> HandlerResult {
    let list = requests::of_requester(&ctx.txn, ctx.profile.telegram_id, MY_REQUESTS_SHOWN).await?;
    if list.is_empty() {
        return ctx.reply(ctx.t("myrequests-empty", &[])).await.map(drop);
    }
    let mut lines = vec![ctx.t("myrequests-header", &[])];
    let assignees = assignment::describe_all(&ctx.txn, list.iter().filter_map(assignment::of)).await?;
    for request in &list {
        let kind = match request.kind {
            Kind::Service => ctx.notifier.type_name(&ctx.txn, ctx.lang(), request).await?,
            Kind::Link => format!("ИНН {}", request.inn.clone().unwrap_or_default()),
        };
        let date = request.created_at.with_timezone(&ctx.timezone).format("%d.%m.%Y").to_string();
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
        if let Some(assignee) = assignment::of(request).and_then(|a| assignees.get(&a)) {
            lines.push(format!("  {}", ctx.t("myrequests-assignee", &[("name", assignee.name.clone().into())])));
        }
    }
    let text = lines.join("\n");
    let message = match keyboards::withdrawable(&ctx, &list) {
        Some(keyboard) => Outgoing::with_keyboard(ctx.chat_id, text, keyboard),
        None => Outgoing::text(ctx.chat_id, text),
    };
    ctx.send(message).await.map(drop)
}

/// `/list`: the deadlines of the client the chat is linked to.
pub async fn list(ctx: Arc<Ctx>) -> HandlerResult {
    let Some(client) = contacts::linked_client(&ctx.txn, ctx.profile.telegram_id).await? else {
        return ctx.reply(ctx.t("not-linked", &[])).await.map(drop);
    };
    let views = deadlines::of_client(&ctx.txn, client.id).await?;
    if views.is_empty() {
        return ctx.reply(ctx.t("list-empty", &[("client", client.name.into())])).await.map(drop);
    }
    let today = format::today(&ctx);
    let mut lines =
        vec![ctx.t("list-header", &[("client", client.name.clone().into()), ("inn", client.inn.clone().into())])];
    lines.extend(views.iter().map(|v| deadline_line(&ctx, v, today, false)));
    ctx.reply_long(lines.join("\n")).await
}

/// `/today`: deadlines due today, the linked client's or, for administrators, everyone's.
pub async fn today(ctx: Arc<Ctx>) -> HandlerResult {
    let today = format::today(&ctx);
    let client_id = if ctx.admin.is_some() {
        None
    } else {
        match contacts::linked_client(&ctx.txn, ctx.profile.telegram_id).await? {
            Some(c) => Some(c.id),
            None => return ctx.reply(ctx.t("not-linked", &[])).await.map(drop),
        }
    };
    let views = deadlines::due_on(&ctx.txn, today, client_id).await?;
    let date = format::date(today);
    if views.is_empty() {
        return ctx.reply(ctx.t("today-empty", &[("date", date.into())])).await.map(drop);
    }
    let mut lines = vec![ctx.t("today-header", &[("date", date.into()), ("count", views.len().into())])];
    lines.extend(views.iter().map(|v| deadline_line(&ctx, v, today, client_id.is_none())));
    ctx.reply_long(lines.join("\n")).await
}

/// `/search text` (administrators): clients by name or ИНН, each with its active registers and
/// next three deadlines.
pub async fn search(ctx: Arc<Ctx>, query: String) -> HandlerResult {
    if query.trim().is_empty() {
        return ctx.reply(ctx.t("search-usage", &[])).await.map(drop);
    }
    let found = clients::search(&ctx.txn, &query, SEARCH_LIMIT).await?;
    if found.is_empty() {
        return ctx.reply(ctx.t("search-empty", &[("query", query.trim().to_string().into())])).await.map(drop);
    }
    let today = format::today(&ctx);
    let mut blocks = Vec::new();
    for client in found {
        let mut block = vec![format!("{} (ИНН {})", client.name, client.inn)];
        for register in cash_registers::active_of_client(&ctx.txn, client.id).await? {
            block.push(format!("  {} № {}", register.model, register.serial_number));
        }
        let upcoming = deadlines::of_client(&ctx.txn, client.id).await?;
        for view in upcoming.iter().take(3) {
            block.push(format!("  {}", deadline_line(&ctx, view, today, false)));
        }
        if upcoming.is_empty() {
            block.push(format!("  {}", ctx.t("list-empty", &[("client", client.name.clone().into())])));
        }
        blocks.push(block.join("\n"));
    }
    ctx.reply_long(blocks.join("\n\n")).await
}
