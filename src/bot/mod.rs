//! The Telegram adapter: an update goes through a dptree handler tree inside one database
//! transaction that also records its `update_id`; the handlers parse, call services and queue
//! replies in the outbox. Used by the webhook endpoint and by polling mode alike.

pub mod callback;
pub mod command;
pub mod context;
pub mod dialog;
pub mod handlers;
pub mod notify;
pub mod storage;
pub mod texts;

use std::ops::ControlFlow;
use std::sync::Arc;

use sea_orm::{DatabaseConnection, DbErr, TransactionTrait};
use teloxide::dispatching::{UpdateFilterExt, UpdateHandler};
use teloxide::types::{Message, Update, UpdateKind};

use self::command::Command;
use self::context::Ctx;
use self::storage::{DialogStore, StoreError};
use self::texts::{Lang, Texts};
use crate::db::WriteGate;
use crate::services::processed_updates::{self, Arrival, Visitor};
use crate::services::telegram_users::Profile;

/// Why a handler failed. Database and dialog-store failures are transient: the update is not
/// acknowledged and Telegram delivers it again.
#[derive(Debug, thiserror::Error)]
pub enum BotError {
    #[error("database: {0}")]
    Database(#[from] DbErr),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Domain(#[from] crate::error::Error),
}

pub type HandlerResult = Result<(), BotError>;

/// What became of an update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Its effects are committed.
    Applied,
    /// This update_id was processed before: nothing was done again.
    Duplicate,
}

/// The bot: handler tree, texts, dialog store and database.
pub struct Bot {
    db: DatabaseConnection,
    writes: WriteGate,
    store: Arc<dyn DialogStore>,
    texts: Arc<Texts>,
    notifier: Arc<notify::BotNotifier>,
    username: String,
    on_commit: Arc<dyn Fn() + Send + Sync>,
    handler: UpdateHandler<BotError>,
}

fn schema() -> UpdateHandler<BotError> {
    let command = dptree::filter_map(|msg: Message, username: BotUsername| {
        msg.text().and_then(|t| Command::parse(t, &username.0))
    });
    dptree::entry()
        .branch(Update::filter_my_chat_member().endpoint(handlers::my_chat_member))
        .branch(Update::filter_callback_query().endpoint(handlers::callback_query))
        .branch(
            Update::filter_message()
                .branch(command.endpoint(handlers::command))
                .branch(dptree::endpoint(handlers::message)),
        )
}

/// The bot's @username, for commands addressed as `/cmd@bot`.
#[derive(Clone, Debug)]
pub struct BotUsername(pub String);

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
    };
    Some((profile, chat_id))
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

impl Bot {
    pub fn new(
        db: DatabaseConnection,
        writes: WriteGate,
        store: Arc<dyn DialogStore>,
        texts: Arc<Texts>,
        notifier: Arc<notify::BotNotifier>,
        username: String,
        on_commit: Arc<dyn Fn() + Send + Sync>,
    ) -> Self {
        Self { db, writes, store, texts, notifier, username, on_commit, handler: schema() }
    }

    pub fn notifier(&self) -> Arc<notify::BotNotifier> {
        self.notifier.clone()
    }

    /// Applies one update exactly once: its update_id is recorded in the same transaction as
    /// its effects, and a redelivered update_id does nothing. Returns only after the commit.
    pub async fn process(&self, update: Update) -> Result<Outcome, BotError> {
        let kind = kind_name(&update);
        let _turn = self.writes.turn().await;
        let txn = self.db.begin().await?;
        let origin = origin(&update);
        let profile = origin.as_ref().map(|(profile, _)| profile);
        let visitor = match processed_updates::record(&txn, update.id.0 as i64, kind, profile).await? {
            Arrival::Duplicate => {
                txn.rollback().await?;
                return Ok(Outcome::Duplicate);
            }
            Arrival::New(visitor) => visitor,
        };
        let (Some((profile, chat_id)), Some(Visitor { user, admin })) = (origin, visitor) else {
            txn.commit().await?;
            return Ok(Outcome::Applied);
        };
        let lang = Lang::for_user(user.language.as_deref(), user.language_code.as_deref());
        let shared =
            context::Shared { texts: self.texts.clone(), notifier: self.notifier.clone(), store: self.store.clone() };
        let ctx = Arc::new(Ctx::new(txn, &shared, profile, chat_id, lang, admin));
        let result =
            self.handler.dispatch(dptree::deps![update, ctx.clone(), BotUsername(self.username.clone())]).await;
        match result {
            ControlFlow::Break(Err(e)) => {
                drop(Arc::into_inner(ctx));
                return Err(e);
            }
            ControlFlow::Break(Ok(())) | ControlFlow::Continue(_) => {}
        }
        let ctx = Arc::into_inner(ctx).expect("handlers keep no reference to the context");
        let change = ctx.dialog_change().await;
        if let Some(change) = &change {
            write_dialog(self.store.as_ref(), ctx.chat_id, change.after.as_ref()).await?;
        }
        if let Err(e) = ctx.txn.commit().await {
            if let Some(change) = change {
                // Put the dialog back so the redelivered update finds it as it was.
                let _ = write_dialog(self.store.as_ref(), chat_id, change.before.as_ref()).await;
            }
            return Err(e.into());
        }
        (self.on_commit)();
        Ok(Outcome::Applied)
    }
}

async fn write_dialog(
    store: &dyn DialogStore,
    chat_id: i64,
    dialog: Option<&dialog::Dialog>,
) -> Result<(), StoreError> {
    match dialog {
        Some(d) => storage::save(store, chat_id, d).await,
        None => store.remove(chat_id).await,
    }
}
