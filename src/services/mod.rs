//! The domain: plain structs and functions over the database, used alike by the Telegram
//! handlers, the REST API, the CLI and the scheduler. Nothing here knows axum or teloxide.

pub mod administrators;
pub mod assignment;
pub mod audit;
pub mod cash_registers;
pub mod clients;
pub mod contacts;
pub mod copies;
pub mod deadline_types;
pub mod deadlines;
pub mod export;
pub mod failed_updates;
pub mod import;
#[doc(hidden)]
pub mod indexed;
pub mod inn;
pub mod invites;
pub mod lifecycle;
pub mod listing;
pub mod ofd_providers;
pub mod passwords;
#[cfg(test)]
mod plans;
pub mod processed_updates;
pub mod reminder_log;
pub mod reminders;
pub mod request_queries;
pub mod requests;
pub mod rows;
pub mod sla;
pub mod stats;
pub mod telegram_users;
pub mod thread;
pub mod topics;
pub mod users;

use sea_orm::{DbErr, SqlErr};

/// True when the database refused a row because of a unique constraint.
pub fn is_unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// Whether a failed database call may succeed when tried again later: the database could not be
/// reached, the pool timed out, the transaction lost a serialisation race or a lock, the server
/// is shutting down, a table is missing. An error about the data itself (a value the column or
/// encoding refuses, a constraint) is not: trying again gives the same answer.
/// An error of no known kind counts as transient, so nothing is given up on by mistake.
pub fn is_transient(err: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => sqlx_is_transient(e),
        DbErr::Exec(RuntimeErr::Internal(_)) | DbErr::Query(RuntimeErr::Internal(_)) => true,
        _ => false,
    }
}

fn sqlx_is_transient(err: &sea_orm::sqlx::Error) -> bool {
    use sea_orm::sqlx::Error as E;
    match err {
        E::Database(db) => {
            let code = db.code().unwrap_or_default();
            if db.try_downcast_ref::<sea_orm::sqlx::sqlite::SqliteError>().is_some() {
                // SQLite's primary result code is the low byte of the extended one: 18 too big,
                // 19 constraint, 20 datatype mismatch, 25 bind out of range.
                let primary = code.parse::<i32>().map_or(0, |c| c & 0xff);
                !matches!(primary, 18 | 19 | 20 | 25)
            } else if let Some(mysql) = db.try_downcast_ref::<sea_orm::sqlx::mysql::MySqlDatabaseError>()
                && matches!(mysql.number(), 1300 | 1366 | 3140)
            {
                // MySQL's SQLSTATE of an invalid character or JSON text is the general HY000.
                false
            } else {
                // SQLSTATE classes about the data: 21 cardinality, 22 data exception (invalid
                // byte sequence, value too long, out of range), 23 integrity constraint, 44 check
                // option, 54 program limit (a row too large to index). A missing table or column
                // (class 42) is the server's state, not the update's: it may be put right.
                !matches!(code.get(..2), Some("21" | "22" | "23" | "44" | "54"))
            }
        }
        E::Encode(_)
        | E::Decode(_)
        | E::ColumnDecode { .. }
        | E::ColumnNotFound(_)
        | E::ColumnIndexOutOfBounds { .. }
        | E::TypeNotFound { .. }
        | E::RowNotFound
        | E::InvalidArgument(_) => false,
        _ => true,
    }
}
