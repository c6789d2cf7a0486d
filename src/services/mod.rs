//! The domain: plain structs and functions over the database, used alike by the Telegram
//! handlers, the REST API, the CLI and the scheduler. Nothing here knows axum or teloxide.

pub mod administrators;
pub mod telegram_users;
pub mod users;

use sea_orm::{DbErr, SqlErr};

/// True when the database refused a row because of a unique constraint.
pub fn is_unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}
