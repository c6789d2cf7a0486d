//! `/export` for administrators: a keyboard of datasets × formats, and the file, sent through
//! the outbox as a document, when a button is tapped. Each export is audited in the update's
//! transaction. The handler tree lets only administrators here.

use std::sync::Arc;

use teloxide::types::CallbackQuery;

use super::context::Ctx;
use super::{HandlerResult, format, keyboards};
use crate::outbox::Outgoing;
use crate::services::audit;
use crate::services::export::{self, Export};
use crate::services::requests::Actor;

/// `/export`: which dataset, in which format.
pub async fn offer(ctx: Arc<Ctx>) -> HandlerResult {
    ctx.reply_with(ctx.t("export-choose", &[]), keyboards::exports(&ctx)).await.map(drop)
}

/// A button of [`offer`]: the file.
pub async fn send(ctx: Arc<Ctx>, query: CallbackQuery, admin: Actor, wanted: Export) -> HandlerResult {
    let Actor::Administrator { id, name, .. } = &admin else {
        return ctx.answer(&query, Some(ctx.t("not-admin", &[]))).await;
    };
    let today = format::today(&ctx);
    let table = export::table(&ctx.txn, wanted.dataset, today).await?;
    let content = export::render(&table, wanted.format)?;
    let details = serde_json::json!({
        "dataset": wanted.dataset.as_str(), "format": wanted.format.as_str(), "rows": table.rows.len(),
    });
    let entry = audit::Entry::general("export", "export").with_details(details);
    audit::record(&ctx.txn, &audit::Actor::administrator(*id, name.clone()), entry).await?;
    ctx.send(Outgoing::SendDocument {
        chat_id: ctx.chat_id,
        file_name: wanted.file_name(today),
        content,
        caption: Some(ctx.t("export-caption", &[("count", table.rows.len().into())])),
    })
    .await?;
    ctx.answer(&query, None).await
}
