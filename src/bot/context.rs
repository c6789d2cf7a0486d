//! What a handler works with while one update is applied: the update's database transaction,
//! the user, their language and dialog state, and the outbox.

use std::sync::Arc;

use chrono_tz::Tz;
use teloxide::types::CallbackQuery;
use tokio::sync::Mutex;

use super::dialog::Dialog;
use super::dialog_store::{self, DialogStore, DialogStoreError};
use super::texts::{Arg, Lang, Texts};
use super::{BotError, notifier::TelegramNotifier};
use crate::core::Write;
use crate::outbox::{self, Keyboard, MessageRef, Outgoing};
use crate::services::requests::Actor;
use crate::services::telegram_users::Profile;

/// The dialog state of the chat: loaded on first use only, so updates that need none keep
/// working while the store is down.
enum Slot {
    Unloaded,
    Loaded { original: Option<Dialog>, current: Option<Dialog> },
}

pub struct Ctx {
    /// The update's transaction (a [`Write`]: committing it wakes the sender).
    pub txn: Write,
    pub texts: Arc<Texts>,
    pub notifier: Arc<TelegramNotifier>,
    /// The company's time zone ("today").
    pub timezone: Tz,
    pub profile: Profile,
    /// The chat the update came from (the user's id in private chats).
    pub chat_id: i64,
    /// Set when the user is an active administrator.
    pub admin: Option<Actor>,
    /// The forum topic the update came from (a group with topics): replies go there.
    topic: Option<i32>,
    lang: std::sync::Mutex<Lang>,
    store: Arc<dyn DialogStore>,
    slot: Mutex<Slot>,
}

/// What every update's context shares: texts, notifications, the dialog store and the time
/// zone.
#[derive(Clone)]
pub struct Shared {
    pub texts: Arc<Texts>,
    pub notifier: Arc<TelegramNotifier>,
    pub store: Arc<dyn DialogStore>,
    pub timezone: Tz,
}

/// The dialog change an update made, applied after its handlers ran.
pub struct DialogChange {
    pub before: Option<Dialog>,
    pub after: Option<Dialog>,
}

impl Ctx {
    pub fn new(txn: Write, shared: &Shared, profile: Profile, chat_id: i64, lang: Lang, admin: Option<Actor>) -> Self {
        Self {
            txn,
            texts: shared.texts.clone(),
            notifier: shared.notifier.clone(),
            timezone: shared.timezone,
            profile,
            chat_id,
            admin,
            topic: None,
            lang: std::sync::Mutex::new(lang),
            store: shared.store.clone(),
            slot: Mutex::new(Slot::Unloaded),
        }
    }

    /// Replies go to this forum topic of the chat.
    pub fn with_topic(mut self, topic: Option<i32>) -> Self {
        self.topic = topic;
        self
    }

    /// Whether the update came from a private chat (not a group).
    pub fn in_private_chat(&self) -> bool {
        self.chat_id > 0
    }

    pub fn lang(&self) -> Lang {
        *self.lang.lock().expect("lang lock")
    }

    pub fn set_lang(&self, lang: Lang) {
        *self.lang.lock().expect("lang lock") = lang;
    }

    /// A text in the user's language.
    pub fn t(&self, id: &str, args: &[(&str, Arg)]) -> String {
        self.texts.get(self.lang(), id, args)
    }

    /// Where this update's dialog state is kept: the chat, in a private chat; the user, in a
    /// group, so that one administrator's step (a reject's reason) is not taken by another's
    /// message in the same group. (An administrator's dialog in a group thus shares the slot of
    /// their private chat with the bot.)
    pub fn dialog_key(&self) -> i64 {
        if self.in_private_chat() { self.chat_id } else { self.profile.telegram_id }
    }

    /// The dialog state of this update's user in this chat (loaded from the store on first use).
    pub async fn dialog(&self) -> Result<Option<Dialog>, DialogStoreError> {
        let mut slot = self.slot.lock().await;
        if let Slot::Unloaded = *slot {
            let loaded: Option<Dialog> = dialog_store::load(self.store.as_ref(), self.dialog_key()).await?;
            *slot = Slot::Loaded { original: loaded.clone(), current: loaded };
        }
        match &*slot {
            Slot::Loaded { current, .. } => Ok(current.clone()),
            Slot::Unloaded => unreachable!("loaded above"),
        }
    }

    /// Sets (or clears) the chat's dialog state; stored once the handlers are done.
    pub async fn set_dialog(&self, dialog: Option<Dialog>) -> Result<(), DialogStoreError> {
        self.dialog().await?;
        if let Slot::Loaded { current, .. } = &mut *self.slot.lock().await {
            *current = dialog;
        }
        Ok(())
    }

    /// The change to store, if the handlers changed the state.
    pub async fn dialog_change(&self) -> Option<DialogChange> {
        match &*self.slot.lock().await {
            Slot::Loaded { original, current } if original != current => {
                Some(DialogChange { before: original.clone(), after: current.clone() })
            }
            _ => None,
        }
    }

    /// Queues a message in the update's transaction.
    pub async fn send(&self, message: Outgoing) -> Result<i64, BotError> {
        Ok(outbox::enqueue(&self.txn, message).await?)
    }

    /// Queues a text reply of any length: split at line ends into messages within Telegram's
    /// 4096 characters, never cut off.
    pub async fn reply_long(&self, text: String) -> Result<(), BotError> {
        for part in split_message(&text, MAX_MESSAGE_CHARS) {
            self.reply(part).await?;
        }
        Ok(())
    }

    /// Queues a plain text reply to this chat (in its topic, if the update came from one).
    pub async fn reply(&self, text: String) -> Result<i64, BotError> {
        self.send(Outgoing::text(self.chat_id, text).in_topic(self.topic.map(MessageRef::Telegram))).await
    }

    /// Queues a reply with a keyboard.
    pub async fn reply_with(&self, text: String, keyboard: impl Into<Keyboard>) -> Result<i64, BotError> {
        let reply = Outgoing::with_keyboard(self.chat_id, text, keyboard);
        self.send(reply.in_topic(self.topic.map(MessageRef::Telegram))).await
    }

    /// Queues the answer to a button's callback query, with a short notice if there is one.
    /// Every button handler ends with it, after the button's effects.
    pub async fn answer(&self, query: &CallbackQuery, notice: Option<String>) -> Result<(), BotError> {
        let answer = Outgoing::AnswerCallbackQuery {
            chat_id: self.chat_id,
            callback_query_id: query.id.to_string(),
            text: notice,
            show_alert: false,
        };
        self.send(answer).await.map(drop)
    }
}

/// Telegram's limit on a message's text.
pub const MAX_MESSAGE_CHARS: usize = 4096;

/// Splits a text into parts of at most `max` characters, at line ends where possible.
pub fn split_message(text: &str, max: usize) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut current_len = 0;
    for line in text.split_inclusive('\n') {
        let mut line = line;
        loop {
            let len = line.chars().count();
            if current_len + len <= max {
                current.push_str(line);
                current_len += len;
                break;
            }
            if current_len > 0 {
                parts.push(std::mem::take(&mut current).trim_end().to_string());
                current_len = 0;
                continue;
            }
            // A single line longer than a message: cut it at a character boundary.
            let cut = line.char_indices().nth(max).map_or(line.len(), |(i, _)| i);
            parts.push(line[..cut].to_string());
            line = &line[cut..];
        }
    }
    if !current.trim().is_empty() {
        parts.push(current.trim_end().to_string());
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::split_message;

    #[test]
    fn long_texts_are_split_at_line_ends_and_nothing_is_lost() {
        let lines: Vec<String> = (0..500).map(|i| format!("строка номер {i} · ООО «Ромашка»")).collect();
        let text = lines.join("\n");
        let parts = split_message(&text, 4096);
        assert!(parts.len() > 1);
        assert!(parts.iter().all(|p| p.chars().count() <= 4096));
        assert_eq!(parts.join("\n"), text);
        let long_line = "я".repeat(9000);
        let parts = split_message(&long_line, 4096);
        assert_eq!(parts.iter().map(|p| p.chars().count()).collect::<Vec<_>>(), [4096, 4096, 808]);
        assert_eq!(split_message("short", 4096), ["short"]);
    }
}
