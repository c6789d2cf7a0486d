//! `POST /webhook/telegram`: the secret header is checked (constant time) before the body is
//! read; the update is applied by [`Inbound::receive`] and answered 200 only after its effects are
//! committed. A failure that Telegram should retry (database or dialog store unreachable) answers
//! 503 with `Retry-After`; an update that fails because of its content is kept as a dead letter
//! and answered 200, so Telegram does not send it forever.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::{Disposition, Inbound};
use crate::api_error::ApiError;
use crate::config::Config;

/// Largest update body accepted.
pub const MAX_BODY: usize = 1024 * 1024;
const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";
/// Seconds Telegram is asked to wait before redelivering after a transient failure.
const RETRY_AFTER_SECS: &str = "5";

pub async fn webhook(
    State(inbound): State<Option<Arc<Inbound>>>,
    State(config): State<Arc<Config>>,
    request: Request,
) -> Response {
    let (Some(inbound), Some(secret)) = (&inbound, &config.telegram.webhook_secret) else {
        return ApiError::new(StatusCode::NOT_FOUND, "bot_disabled", "the Telegram bot is not configured")
            .into_response();
    };
    let given = request.headers().get(SECRET_HEADER).map(HeaderValue::as_bytes).unwrap_or_default();
    if !bool::from(given.ct_eq(secret.expose().as_bytes())) {
        tracing::warn!("webhook call with a missing or wrong secret token");
        return ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "missing or wrong secret token")
            .into_response();
    }
    let body = match Bytes::from_request(request, &()).await {
        Ok(body) => body,
        Err(rejection) => {
            let status = rejection.status();
            let code = if status == StatusCode::PAYLOAD_TOO_LARGE { "payload_too_large" } else { "bad_request" };
            return ApiError::new(status, code, rejection.body_text()).into_response();
        }
    };
    match inbound.receive(&body).await {
        Disposition::Acknowledge => StatusCode::OK.into_response(),
        Disposition::NotJson(e) => {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", format!("the body is not JSON: {e}")).into_response()
        }
        Disposition::RetryLater(_) => retry_later(),
    }
}

/// 503 with `Retry-After`: Telegram delivers the update again.
fn retry_later() -> Response {
    let mut response =
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "temporarily unavailable, retry later")
            .into_response();
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECS));
    response
}
