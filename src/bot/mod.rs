//! The conversation: what the bot says and does for each message, command and button. The
//! dptree handler tree ([`schema`]) routes an update to the handlers of [`handlers`], which parse,
//! call services and queue replies in the outbox, all in the update's transaction (see
//! [`crate::inbound`], which runs the tree).

pub mod callback;
pub mod command;
pub mod context;
pub mod dialog;
pub mod export;
pub mod handlers;
pub mod menu;
pub mod notifier;
pub mod storage;
pub mod texts;
pub mod work;

use sea_orm::DbErr;
use teloxide::dispatching::{UpdateFilterExt, UpdateHandler};
use teloxide::types::{Message, Update};

use self::command::Command;
use self::storage::StoreError;

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
    /// A handler still holds the update's context after the handler tree is done, so its
    /// transaction cannot be committed (a bug of the handler, not of the update).
    #[error("a handler kept a reference to the update's context")]
    ContextKept,
}

impl BotError {
    /// Whether applying the update again later can succeed: the database or the dialog store
    /// could not be reached or lost a race. Anything else is about the update itself, and would
    /// fail the same way every time it is delivered.
    pub fn is_transient(&self) -> bool {
        match self {
            BotError::Database(e) | BotError::Domain(crate::error::Error::Database(e)) => {
                crate::services::is_transient(e)
            }
            BotError::Store(StoreError::Unavailable(_)) => true,
            BotError::Store(StoreError::Encode(_)) | BotError::Domain(_) | BotError::ContextKept => false,
        }
    }
}

pub type HandlerResult = Result<(), BotError>;

/// The handler tree: which handler an update goes to.
pub fn schema() -> UpdateHandler<BotError> {
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
