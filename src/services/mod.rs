//! The domain: plain structs and functions over the database, used alike by the Telegram
//! handlers, the REST API, the CLI and the scheduler. Nothing here knows axum or teloxide.

pub mod administrators;
pub mod cash_registers;
pub mod clients;
pub mod contacts;
pub mod deadline_types;
pub mod deadlines;
pub mod export;
pub mod inn;
pub mod invites;
pub mod listing;
pub mod ofd_providers;
pub mod passwords;
pub mod processed_updates;
pub mod reminder_log;
pub mod reminders;
pub mod request_queries;
pub mod requests;
pub mod stats;
pub mod telegram_users;
pub mod users;

use sea_orm::{DbErr, SqlErr};

/// True when the database refused a row because of a unique constraint.
pub fn is_unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}
