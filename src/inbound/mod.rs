//! Updates coming in: [`Inbound::receive`] reads one update as Telegram sent it, applies it
//! exactly once, logs and counts what became of it, and tells its transport what to do
//! ([`Disposition`]). The two transports are thin: [`webhook`] (Telegram posts to
//! `POST /webhook/telegram`) answers 200, 400 or 503 from it, and [`polling`]
//! (`kktbot serve --polling` long-polls `getUpdates`) moves on or tries again.
//!
//! An update is applied in one database transaction that first records its `update_id`
//! ([`crate::services::processed_updates::record`]), then runs the conversation's handler tree
//! ([`crate::bot::schema`]) with a [`Ctx`]; the dialog state is stored and the transaction
//! committed before the transport acknowledges the update.

pub mod parse;
pub mod polling;
pub mod webhook;

use std::ops::ControlFlow;
use std::sync::Arc;

use teloxide::dispatching::UpdateHandler;
use teloxide::types::{Update, UpdateKind};

use crate::bot::context::{self, Ctx};
use crate::bot::dialog::Dialog;
use crate::bot::dialog_store::{self, DialogStore, DialogStoreError};
use crate::bot::notifier::TelegramNotifier;
use crate::bot::texts::Lang;
use crate::bot::{BotError, BotUsername};
use crate::core::Core;
use crate::outbox::{self, Outgoing};
use crate::services::failed_updates;
use crate::services::processed_updates::{self, Arrival, Visitor};
use crate::services::telegram_users::{self, Profile};

/// What the transport does with an update the pipeline has received.
#[derive(Debug)]
pub enum Disposition {
    /// Acknowledge it: its effects are committed, or it was a duplicate, or it is kept as a dead
    /// letter, or there is nothing to do with it (JSON that is no update, an update of a kind
    /// kktbot does not handle, one whose dead letter could not even be stored).
    Acknowledge,
    /// The body is not JSON (the webhook answers 400; polling skips it).
    NotJson(serde_json::Error),
    /// Nothing was committed and trying again later can succeed (the database or the dialog
    /// store failed): Telegram redelivers it, polling retries it.
    RetryLater(BotError),
}

/// What became of an update that was applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Its effects are committed.
    Applied,
    /// This update_id was processed before: nothing was done again.
    Duplicate,
    /// It failed because of its own content: recorded as processed with its error (a dead
    /// letter, [`crate::services::failed_updates`]) and the user told, nothing else done.
    Failed,
}

impl Outcome {
    /// Its name in logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::Duplicate => "duplicate",
            Outcome::Failed => "failed",
        }
    }
}

/// The inbound pipeline: the core (database, writes), the bot's notifier and texts, the dialog
/// store and the handler tree.
pub struct Inbound {
    core: Core,
    shared: context::Shared,
    handler: UpdateHandler<BotError>,
}

/// The user an update is from, and the chat to answer in.
fn origin(update: &Update) -> Option<(Profile, i64)> {
    let user = update.from()?;
    let chat_id = update.chat().map_or(user.id.0 as i64, |c| c.id.0);
    let profile = Profile {
        telegram_id: user.id.0 as i64,
        first_name: Some(user.first_name.clone()).filter(|n| !n.is_empty()),
        last_name: user.last_name.clone(),
        username: user.username.clone(),
        language_code: user.language_code.clone(),
    }
    .storable();
    Some((profile, chat_id))
}

/// The forum topic an update's message (or the message of its button) is in, if any: the bot's
/// replies go there.
fn topic_of(update: &Update) -> Option<i32> {
    let message = match &update.kind {
        UpdateKind::Message(message) => Some(message),
        UpdateKind::CallbackQuery(query) => query.message.as_ref().and_then(|m| m.regular_message()),
        _ => None,
    }?;
    message.thread_id.filter(|_| message.is_topic_message).map(|thread| thread.0.0)
}

/// A short name of an update's kind, for logs and metrics.
pub fn kind_name(update: &Update) -> &'static str {
    match &update.kind {
        UpdateKind::Message(_) => "message",
        UpdateKind::EditedMessage(_) => "edited_message",
        UpdateKind::CallbackQuery(_) => "callback_query",
        UpdateKind::MyChatMember(_) => "my_chat_member",
        UpdateKind::Error(_) => "unknown",
        _ => "other",
    }
}

impl Inbound {
    /// The pipeline of a server whose bot is on.
    pub fn new(core: Core, store: Arc<dyn DialogStore>) -> Self {
        let notifier: Arc<TelegramNotifier> = core.notifier.clone();
        let shared = context::Shared { texts: notifier.texts().clone(), notifier, store, timezone: core.timezone };
        Self { core, shared, handler: crate::bot::schema() }
    }

    /// Reads one update from `body` (the bytes Telegram sent), applies it exactly once
    /// ([`Self::process`]), logs and counts what became of it (`kktbot_updates_total` by kind
    /// and outcome: applied, duplicate, failed, ignored, refused, retry) and says what the
    /// transport does next.
    pub async fn receive(&self, body: &[u8]) -> Disposition {
        // A syntax error means the body is not JSON; a data error means JSON that is not an
        // update, which is acknowledged (Telegram would otherwise send it forever).
        let (update, body) = match parse::update(body) {
            Ok(parsed) => parsed,
            Err(e) if e.is_data() => {
                tracing::warn!(error = %e, "not an update; acknowledged without effect");
                count("invalid", "ignored");
                return Disposition::Acknowledge;
            }
            Err(e) => return Disposition::NotJson(e),
        };
        if let UpdateKind::Error(_) = update.kind {
            tracing::info!(
                update_id = update.id.0,
                "update of a kind kktbot does not handle; acknowledged without effect"
            );
            count("unknown", "ignored");
            return Disposition::Acknowledge;
        }
        let kind = kind_name(&update);
        let update_id = update.id.0;
        match self.process(update, &body).await {
            Ok(outcome) => {
                let outcome = outcome.name();
                tracing::debug!(update_id, kind, outcome, "update processed");
                count(kind, outcome);
                Disposition::Acknowledge
            }
            Err(e) if e.is_transient() => {
                tracing::error!(update_id, kind, error = %e, "update not applied; it will be applied when it comes again");
                count(kind, "retry");
                Disposition::RetryLater(e)
            }
            Err(e) => {
                // Not even its dead letter could be stored: applying it again cannot help.
                tracing::error!(update_id, kind, error = %e, "update failed and not recorded; acknowledged without effect");
                count(kind, "refused");
                Disposition::Acknowledge
            }
        }
    }

    /// Applies one update exactly once: its update_id is recorded in the same transaction as
    /// its effects, and a redelivered update_id does nothing. Returns only after the commit.
    ///
    /// An error is returned only when trying again later can succeed ([`BotError::is_transient`]),
    /// or when not even the dead letter could be stored. An update that fails because of what it
    /// holds is recorded as processed with its error and `body` (the update as received) instead,
    /// and its sender told something went wrong.
    async fn process(&self, update: Update, body: &[u8]) -> Result<Outcome, BotError> {
        let kind = kind_name(&update);
        let update_id = i64::from(update.id.0);
        let origin = origin(&update);
        match self.apply(update, kind, origin.clone()).await {
            Err(e) if !e.is_transient() => self.dead_letter(update_id, kind, origin, &e, body).await,
            result => result,
        }
    }

    async fn apply(
        &self,
        update: Update,
        kind: &'static str,
        origin: Option<(Profile, i64)>,
    ) -> Result<Outcome, BotError> {
        let write = self.core.begin().await?;
        let profile = origin.as_ref().map(|(profile, _)| profile);
        let visitor = match processed_updates::record(&write, update.id.0 as i64, kind, profile).await? {
            Arrival::Duplicate => {
                write.rollback().await?;
                return Ok(Outcome::Duplicate);
            }
            Arrival::New(visitor) => visitor,
        };
        let (Some((profile, chat_id)), Some(Visitor { user, admin })) = (origin, visitor) else {
            write.commit().await?;
            return Ok(Outcome::Applied);
        };
        let lang = Lang::for_user(user.language.as_deref(), user.language_code.as_deref());
        let topic = topic_of(&update);
        let ctx = Arc::new(Ctx::new(write, &self.shared, profile, chat_id, lang, admin).with_topic(topic));
        let username = BotUsername(self.core.bot_username.clone().unwrap_or_default());
        let result = self.handler.dispatch(dptree::deps![update, ctx.clone(), username]).await;
        // An update no branch takes (an edited message, a channel post, …) comes back with the
        // dependencies it was given, the context among them: dropped here, before the context is
        // taken back.
        let handled = match result {
            ControlFlow::Break(handled) => handled,
            ControlFlow::Continue(deps) => {
                drop(deps);
                Ok(())
            }
        };
        handled?;
        let Some(ctx) = Arc::into_inner(ctx) else {
            return Err(BotError::ContextKept);
        };
        let change = ctx.dialog_change().await;
        let store = self.shared.store.as_ref();
        let key = ctx.dialog_key();
        if let Some(change) = &change {
            write_dialog(store, key, change.after.as_ref()).await?;
        }
        if let Err(e) = ctx.txn.commit().await {
            if let Some(change) = change {
                // Put the dialog back so the redelivered update finds it as it was.
                let _ = write_dialog(store, key, change.before.as_ref()).await;
            }
            return Err(e.into());
        }
        Ok(Outcome::Applied)
    }
}

impl Inbound {
    /// Records an update that failed because of its content, and queues the sender a message
    /// saying so, in one transaction.
    async fn dead_letter(
        &self,
        update_id: i64,
        kind: &'static str,
        origin: Option<(Profile, i64)>,
        error: &BotError,
        body: &[u8],
    ) -> Result<Outcome, BotError> {
        tracing::warn!(update_id, kind, error = %error, "update failed because of its content; kept as a dead letter");
        let write = self.core.begin().await?;
        let error = error.to_string();
        let failure = failed_updates::Failure {
            update_id,
            kind,
            telegram_id: origin.as_ref().map(|(profile, _)| profile.telegram_id),
            chat_id: origin.as_ref().map(|(_, chat_id)| *chat_id),
            error: &error,
            body,
        };
        if !failed_updates::record(&write, &failure).await? {
            write.rollback().await?;
            return Ok(Outcome::Duplicate);
        }
        if let Some((profile, chat_id)) = &origin {
            let chosen = telegram_users::find(&write, profile.telegram_id).await?.and_then(|u| u.language);
            let lang = Lang::for_user(chosen.as_deref(), profile.language_code.as_deref());
            let text = self.shared.texts.get(lang, "update-failed", &[]);
            outbox::enqueue(&write, Outgoing::text(*chat_id, text)).await?;
        }
        write.commit().await?;
        metrics::counter!("kktbot_failed_updates_total", "kind" => kind).increment(1);
        Ok(Outcome::Failed)
    }
}

/// Counts one update in `kktbot_updates_total`.
fn count(kind: &'static str, outcome: &'static str) {
    metrics::counter!("kktbot_updates_total", "kind" => kind, "outcome" => outcome).increment(1);
}

async fn write_dialog(store: &dyn DialogStore, key: i64, dialog: Option<&Dialog>) -> Result<(), DialogStoreError> {
    match dialog {
        Some(d) => dialog_store::save(store, key, d).await,
        None => store.remove(key).await,
    }
}
