//! The inline keyboards the bot sends. Each button carries a [`Callback`], which the handler
//! tree routes by its kind (`src/bot/tree.rs`).

use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

use super::callback::Callback;
use super::context::Ctx;
use super::texts::{Lang, Texts};
use crate::outbox::{Button, ButtonStyle, Keyboard};
use crate::services::export::{Dataset, Export, Format};
use crate::services::lifecycle::{self, Action};
use crate::services::requests::{Request, RequestType};

fn button(text: String, callback: Callback) -> InlineKeyboardButton {
    InlineKeyboardButton::callback(text, callback.encode())
}

/// Cancel: leaves the request dialog.
pub fn cancel(ctx: &Ctx) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new([[button(ctx.t("button-cancel", &[]), Callback::CancelDialog)]])
}

/// /lang: the two languages.
pub fn languages() -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new([[
        button("Русский".into(), Callback::Lang("ru".into())),
        button("English".into(), Callback::Lang("en".into())),
    ]])
}

/// /request: one button per active request type, then Cancel.
pub fn request_types(ctx: &Ctx, types: Vec<RequestType>) -> InlineKeyboardMarkup {
    let mut rows: Vec<Vec<InlineKeyboardButton>> = types
        .into_iter()
        .map(|t| {
            let name = if ctx.lang() == Lang::En { t.name_en } else { t.name_ru };
            vec![button(name, Callback::RequestType(t.id))]
        })
        .collect();
    rows.push(vec![button(ctx.t("button-cancel", &[]), Callback::CancelDialog)]);
    InlineKeyboardMarkup::new(rows)
}

/// Under the request's summary: Submit (with the dialog's submit key) and Cancel.
pub fn submit(ctx: &Ctx, key: &str) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new([[
        button(ctx.t("button-submit", &[]), Callback::Submit(key.to_string())),
        button(ctx.t("button-cancel", &[]), Callback::CancelDialog),
    ]])
}

/// While the reason of a rejection is asked: reject without one.
pub fn skip_reason(ctx: &Ctx, request_id: i32) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new([[button(ctx.t("button-skip", &[]), Callback::SkipReason(request_id))]])
}

/// /myrequests: a Cancel button for each request its client may still withdraw; `None` when
/// there is none.
pub fn withdrawable(ctx: &Ctx, requests: &[Request]) -> Option<InlineKeyboardMarkup> {
    let rows: Vec<Vec<InlineKeyboardButton>> = requests
        .iter()
        .filter(|r| lifecycle::target(r.kind, r.status, Action::Cancel).is_some())
        .map(|r| {
            vec![button(ctx.t("button-cancel-request", &[("number", r.number.into())]), Callback::CancelRequest(r.id))]
        })
        .collect();
    (!rows.is_empty()).then(|| InlineKeyboardMarkup::new(rows))
}

/// /export: a row per dataset, a button per format.
pub fn exports(ctx: &Ctx) -> InlineKeyboardMarkup {
    let rows: Vec<Vec<InlineKeyboardButton>> = Dataset::ALL
        .into_iter()
        .map(|dataset| {
            let name = ctx.t(&format!("export-{}", dataset.as_str()), &[]);
            [Format::Csv, Format::Xlsx]
                .into_iter()
                .map(|format| {
                    let label = format!("{name} · {}", format.as_str().to_uppercase());
                    button(label, Callback::Export(Export { dataset, format }))
                })
                .collect()
        })
        .collect();
    InlineKeyboardMarkup::new(rows)
}

/// Approve (green) / Reject (red) under an administrator's copy of a pending request.
pub fn decision(texts: &Texts, lang: Lang, request_id: i32) -> Keyboard {
    Keyboard::new([[
        Button::styled(
            button(texts.get(lang, "button-approve", &[]), Callback::Approve(request_id)),
            ButtonStyle::Success,
        ),
        Button::styled(
            button(texts.get(lang, "button-reject", &[]), Callback::Reject(request_id)),
            ButtonStyle::Danger,
        ),
    ]])
}

/// The buttons of an administrator's copy: those of the actions that apply now (a question to
/// the client needs its text, so it is the `/ask` command, not a button). None when none apply.
pub fn copy(texts: &Texts, lang: Lang, request: &Request) -> Option<Keyboard> {
    let actions = lifecycle::staff_actions(request.kind, request.status);
    if actions.contains(&Action::Approve) {
        return Some(decision(texts, lang, request.id));
    }
    let buttons: Vec<InlineKeyboardButton> = actions
        .into_iter()
        .filter_map(|action| match action {
            Action::Start => Some(button(texts.get(lang, "button-start", &[]), Callback::Start(request.id))),
            Action::Done => Some(button(texts.get(lang, "button-done", &[]), Callback::Done(request.id))),
            _ => None,
        })
        .collect();
    (!buttons.is_empty()).then(|| InlineKeyboardMarkup::new([buttons]).into())
}
