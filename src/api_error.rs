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
            // Only a failure that may pass is "unavailable"; the database refusing a value is a
            // bound the edge missed — a bug of kktbot, not an outage.
            Error::Database(db) if !crate::services::is_transient(db) => {
                tracing::error!(error = %db, "the database refused a value");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error")
            }
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
            Error::Forbidden(msg) => ApiError::new(StatusCode::FORBIDDEN, err.code(), msg.clone()),
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

/// The largest error body [`json_shape`] reads to put it in the JSON shape.
const MAX_PLAIN_ERROR: usize = 16 * 1024;

/// Puts an error answer that is not JSON — axum's rejections of a path, query or body ("Cannot
/// parse `abc` to a `i32`"), a wrong method, a timeout — in the JSON error shape, with its text as
/// the message. JSON answers, successes and compressed bodies pass as they are.
pub async fn json_shape(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let encoded = response.headers().contains_key(axum::http::header::CONTENT_ENCODING);
    if !(status.is_client_error() || status.is_server_error()) || is_json || encoded {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = match axum::body::to_bytes(body, MAX_PLAIN_ERROR).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_string(),
        Err(_) => String::new(),
    };
    let message = if text.is_empty() { status.canonical_reason().unwrap_or("error").to_string() } else { text };
    let mut shaped = ApiError::new(status, code_of(status), message).into_response();
    for (name, value) in &parts.headers {
        if name != axum::http::header::CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
            shaped.headers_mut().insert(name.clone(), value.clone());
        }
    }
    shaped
}

/// The error code of an answer that came without one.
fn code_of(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::REQUEST_TIMEOUT => "timeout",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "validation_failed",
        StatusCode::TOO_MANY_REQUESTS => "rate_limited",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    }
}

/// The answer to a request whose handler panicked (see `CatchPanicLayer` in [`crate::http`]).
pub fn panicked(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned());
    tracing::error!(panic = %message, "request handler panicked");
    metrics::counter!("kktbot_http_panics_total").increment(1);
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error").into_response()
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use tower::ServiceExt;
    use tower_http::catch_panic::CatchPanicLayer;

    async fn boom() -> &'static str {
        let items: Vec<&'static str> = Vec::new();
        items[usize::from(items.is_empty())]
    }

    #[tokio::test]
    async fn a_panic_is_answered_500_in_the_error_shape() {
        let app: Router = Router::new().route("/boom", get(boom)).layer(CatchPanicLayer::custom(super::panicked));
        let res = app.oneshot(Request::get("/boom").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(res.into_body(), 1 << 16).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error"]["code"], "internal");
        assert_eq!(body["error"]["message"], "internal error");
    }

    #[test]
    fn only_a_failure_that_may_pass_is_unavailable() {
        use sea_orm::{ConnAcquireErr, DbErr};
        let timeout =
            super::ApiError::from(crate::error::Error::Database(DbErr::ConnectionAcquire(ConnAcquireErr::Timeout)));
        assert_eq!((timeout.status, timeout.code), (StatusCode::SERVICE_UNAVAILABLE, "unavailable"));
        let refused = super::ApiError::from(crate::error::Error::Database(DbErr::RecordNotUpdated));
        assert_eq!((refused.status, refused.code), (StatusCode::INTERNAL_SERVER_ERROR, "internal"));
    }
}
