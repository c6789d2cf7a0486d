//! `/export` for administrators: a keyboard of datasets × formats, and the file, sent through
//! the outbox as a document, when a button is tapped. Each export is audited in the update's
//! transaction.

use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

use super::BotError;
use super::callback::Callback;
use super::context::Ctx;
use crate::outbox::Outgoing;
use crate::services::audit;
use crate::services::export::{self, Dataset, Export, Format};
use crate::services::requests::Actor;

/// `/export`: which dataset, in which format.
pub async fn offer(ctx: &Ctx) -> Result<(), BotError> {
    if ctx.admin.is_none() {
        return ctx.reply(ctx.t("not-admin", &[])).await.map(drop);
    }
    let rows: Vec<Vec<InlineKeyboardButton>> = Dataset::ALL
        .into_iter()
        .map(|dataset| {
            let name = ctx.t(&format!("export-{}", dataset.as_str()), &[]);
            [Format::Csv, Format::Xlsx]
                .into_iter()
                .map(|format| {
                    let label = format!("{name} · {}", format.as_str().to_uppercase());
                    InlineKeyboardButton::callback(label, Callback::Export(Export { dataset, format }).encode())
                })
                .collect()
        })
        .collect();
    ctx.send(Outgoing::with_keyboard(ctx.chat_id, ctx.t("export-choose", &[]), InlineKeyboardMarkup::new(rows)))
        .await
        .map(drop)
}

/// A button of [`offer`]: the file, to administrators only.
pub async fn send(ctx: &Ctx, wanted: Export) -> Result<Option<String>, BotError> {
    let Some(Actor::Administrator { id, name, .. }) = &ctx.admin else {
        return Ok(Some(ctx.t("not-admin", &[])));
    };
    let today = crate::services::reminders::local_date(chrono::Utc::now(), ctx.notifier.timezone());
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
    Ok(None)
}
