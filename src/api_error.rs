//! The one JSON error shape of every HTTP error answer — the REST API's, the webhook's, unknown
//! paths': `{"error": {"code", "message", "details"}}`. It lives outside [`crate::http`] because
//! the webhook ([`crate::inbound::webhook`]) answers in it too.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::Error;

/// An HTTP error answer.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: serde_json::Value,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), details: serde_json::Value::Null }
    }
}

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        match &err {
            Error::Database(db) => {
                tracing::error!(error = %db, "database error");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    err.code(),
                    "the database is unavailable, try again later",
                )
            }
            Error::NotFound(_) => ApiError::new(StatusCode::NOT_FOUND, err.code(), err.to_string()),
            Error::Conflict(msg) => ApiError::new(StatusCode::CONFLICT, err.code(), msg.clone()),
            Error::Validation(fields) => ApiError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code: err.code(),
                message: "some fields are invalid".into(),
                details: json!({ "fields": fields }),
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "code": self.code, "message": self.message, "details": self.details } });
        (self.status, Json(body)).into_response()
    }
}

pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
}
