//! The domain error: what services report to their adapters (HTTP, Telegram, CLI). It knows
//! nothing of axum or teloxide; each adapter maps it to its own answer.

use sea_orm::DbErr;

/// A problem with one input field.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database failed or could not be reached; the caller may retry later.
    #[error("database unavailable: {0}")]
    Database(#[from] DbErr),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("invalid input")]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    Conflict(String),
    /// The actor may not do this (a reopen by someone who is not an administrator).
    #[error("{0}")]
    Forbidden(String),
}

impl Error {
    /// A stable, machine-readable code for this kind of error.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Database(_) => "unavailable",
            Error::NotFound(_) => "not_found",
            Error::Validation(_) => "validation_failed",
            Error::Conflict(_) => "conflict",
            Error::Forbidden(_) => "forbidden",
        }
    }

    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Error::Validation(vec![FieldError::new(field, message)])
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
