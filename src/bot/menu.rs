//! The command menus Telegram shows (`setMyCommands`): Russian by default, English for English
//! clients, and one per active administrator's chat with the administrators' commands.

use sea_orm::DatabaseConnection;
use serde::Serialize;
use teloxide::types::{BotCommand, BotCommandScope, ChatId, Recipient};

use super::texts::{Lang, Texts};
use crate::error::Result;
use crate::services::administrators;
use crate::telegram::api::BotApi;
use crate::telegram::setup::call_with_retries;

/// A command in the menu and the Fluent id of its description.
const EVERYONE_COMMANDS: &[(&str, &str)] = &[
    ("start", "menu-start"),
    ("request", "menu-request"),
    ("myrequests", "menu-myrequests"),
    ("lang", "menu-lang"),
    ("cancel", "menu-cancel"),
    ("help", "menu-help"),
];
/// What administrators have in addition.
const ADMIN_COMMANDS: &[(&str, &str)] = &[
    ("pending", "menu-pending"),
    ("approve", "menu-approve"),
    ("reject", "menu-reject"),
    ("ask", "menu-ask"),
    ("reopen", "menu-reopen"),
    ("mine", "menu-mine"),
    ("note", "menu-note"),
];

/// The command menu in `lang`, with the administrators' commands when `admin`.
pub fn menu(texts: &Texts, lang: Lang, admin: bool) -> Vec<BotCommand> {
    let extra = if admin { ADMIN_COMMANDS } else { &[] };
    EVERYONE_COMMANDS
        .iter()
        .chain(extra)
        .map(|(command, id)| BotCommand::new(*command, texts.get(lang, id, &[])))
        .collect()
}

/// `setMyCommands`' (and `deleteMyCommands`') parameters as sent.
#[derive(Serialize)]
struct SetMyCommandsParams<'a> {
    /// `None` for `deleteMyCommands`.
    #[serde(skip_serializing_if = "Option::is_none")]
    commands: Option<&'a [BotCommand]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'a BotCommandScope>,
    #[serde(skip_serializing_if = "Option::is_none")]
    language_code: Option<&'static str>,
}

/// What [`set_command_menus`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MenusSet {
    /// Administrators whose chats got the administrators' menu.
    pub administrators: usize,
    /// Calls that failed (each is logged).
    pub failed: usize,
}

/// Sets the command menus: Russian by default, English for English clients, and for each
/// active administrator a menu scoped to their chat that adds /pending, /approve, /reject, /ask,
/// /reopen, /mine and /note (in both languages). Deactivated administrators' chat menus are deleted, so they
/// fall back to the common one. A failing call is logged and the others still go out.
pub async fn set_command_menus(api: &BotApi, db: &DatabaseConnection, texts: &Texts) -> Result<MenusSet> {
    let mut result = MenusSet::default();
    let set = async |scope: Option<&BotCommandScope>, admin: bool| {
        for (lang, language_code) in [(Lang::Ru, None), (Lang::En, Some("en"))] {
            let commands = menu(texts, lang, admin);
            let params = SetMyCommandsParams { commands: Some(&commands), scope, language_code };
            if let Err(e) = call_with_retries(api, "setMyCommands", &params).await {
                tracing::warn!(error = %e, ?scope, language = lang.code(), "setMyCommands failed");
                return false;
            }
        }
        true
    };
    if !set(None, false).await {
        result.failed += 1;
    }
    let administrators = administrators::all(db).await?;
    for admin in &administrators {
        let scope = BotCommandScope::Chat { chat_id: Recipient::Id(ChatId(admin.telegram_id)) };
        if admin.is_active {
            if set(Some(&scope), true).await {
                result.administrators += 1;
            } else {
                result.failed += 1;
            }
        } else {
            for language_code in [None, Some("en")] {
                let params = SetMyCommandsParams { commands: None, scope: Some(&scope), language_code };
                let deleted = call_with_retries(api, "deleteMyCommands", &params).await;
                if let Err(e) = deleted {
                    tracing::warn!(error = %e, telegram_id = admin.telegram_id, "deleteMyCommands failed");
                    result.failed += 1;
                }
            }
        }
    }
    Ok(result)
}

/// Sets the menus at start; failures are logged, none stops the server.
pub async fn set_at_start(api: &BotApi, db: &DatabaseConnection, texts: &Texts) {
    match set_command_menus(api, db, texts).await {
        Ok(MenusSet { administrators, failed: 0 }) => tracing::info!(administrators, "command menus set"),
        Ok(MenusSet { administrators, failed }) => {
            tracing::warn!(administrators, failed, "some command menus could not be set");
        }
        Err(e) => tracing::warn!(error = %e, "administrators' command menus not set: reading administrators failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bot::command;

    #[test]
    fn menus_name_real_commands_with_texts_in_both_languages() {
        let texts = Texts::new();
        for lang in [Lang::Ru, Lang::En] {
            let everyone = menu(&texts, lang, false);
            let admin = menu(&texts, lang, true);
            assert_eq!(everyone.len(), 6);
            assert_eq!(&admin[..6], &everyone[..], "the administrators' menu extends the common one");
            let names: Vec<&str> = admin.iter().map(|c| c.command.as_str()).collect();
            assert_eq!(
                names,
                [
                    "start",
                    "request",
                    "myrequests",
                    "lang",
                    "cancel",
                    "help",
                    "pending",
                    "approve",
                    "reject",
                    "ask",
                    "reopen",
                    "mine",
                    "note"
                ]
            );
            for command in &admin {
                assert!(!command.description.starts_with("menu-"), "{lang:?}: no text for /{}", command.command);
                assert!((1..=256).contains(&command.description.chars().count()));
                let parsed = command::of_text(&format!("/{}", command.command), "kkt_bot");
                assert!(matches!(parsed, Some(Ok(_))), "/{} is not a command the bot handles", command.command);
            }
        }
        assert_ne!(menu(&texts, Lang::Ru, false)[1].description, menu(&texts, Lang::En, false)[1].description);
    }
}
