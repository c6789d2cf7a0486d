//! The conversation: what the bot says and does for each message, command and button. The
//! handler tree ([`tree`], run by [`crate::inbound`]) routes an update to a handler of one
//! conversation, which parses, calls services and queues replies in the outbox, all in the
//! update's transaction:
//! - [`start`]: `/start` and linking a chat to its client (an invite, or an ИНН typed), `/help`,
//!   `/cancel`, `/lang`, and what the bot says to what it does not know;
//! - [`request`]: the request dialog (type → description → Submit) and withdrawing a request;
//! - [`decisions`]: administrators approving and rejecting (commands, buttons, replies);
//! - [`work`]: administrators working on a request after its approval (Take, Done, `/ask`,
//!   `/reopen`);
//! - [`thread`]: a request's thread (the client's comments, the staff's replies, `/note`)
//!   and `/mine`;
//! - [`lists`]: `/myrequests`, `/list`, `/today`, `/search`; [`export`]: `/export`;
//! - [`membership`]: a user blocking the bot or coming back.
//!
//! Around them: [`command`] and [`callback`] parse what the tree routes by, [`dialog`] holds the
//! dialog steps and [`dialog_store`] stores them, [`context`] is what a handler works with,
//! [`content`] what a message carries, [`keyboards`] and [`format`] build replies in the texts
//! of [`texts`]; [`menu`] sets the command menus; [`notifier`] writes the messages a request's
//! change and a reminder run cause (for the bot, the REST API and the scheduler alike).

pub mod callback;
pub mod command;
pub mod content;
pub mod context;
pub mod decisions;
pub mod dialog;
pub mod dialog_store;
pub mod export;
pub mod format;
pub mod keyboards;
pub mod lists;
pub mod membership;
pub mod menu;
pub mod notifier;
pub mod request;
pub mod start;
pub mod texts;
pub mod thread;
pub mod tree;
pub mod work;

use sea_orm::DbErr;

use self::dialog_store::DialogStoreError;
pub use self::tree::schema;

/// Why a handler failed. Database and dialog-store failures are transient: the update is not
/// acknowledged and Telegram delivers it again.
#[derive(Debug, thiserror::Error)]
pub enum BotError {
    #[error("database: {0}")]
    Database(#[from] DbErr),
    #[error(transparent)]
    Store(#[from] DialogStoreError),
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
            BotError::Store(DialogStoreError::Unavailable(_)) => true,
            BotError::Store(DialogStoreError::Encode(_)) | BotError::Domain(_) | BotError::ContextKept => false,
        }
    }
}

pub type HandlerResult = Result<(), BotError>;

/// The bot's @username, for commands addressed as `/cmd@bot`.
#[derive(Clone, Debug)]
pub struct BotUsername(pub String);
