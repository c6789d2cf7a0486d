//! `POST /webhook/telegram`: the secret header is checked (constant time) before the body is
//! read; the update is applied by [`Inbound::process`] and answered 200 only after its effects are
//! committed. A failure that Telegram should retry (database or dialog store unreachable) answers
//! 503 with `Retry-After`; an update that fails because of its content is kept as a dead letter
//! and answered 200, so Telegram does not send it forever.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;
use teloxide::types::UpdateKind;

use super::{Inbound, kind_name};
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
    // Parsed straight from the bytes: teloxide's Update does not deserialize from a
    // serde_json::Value. A syntax error means the body is not JSON; a data error means JSON
    // that is not an update.
    let (update, body) = match super::parse::update(&body) {
        Ok(parsed) => parsed,
        Err(e) if e.is_data() => {
            tracing::warn!(error = %e, "webhook body is not an update; acknowledged without effect");
            metrics::counter!("kktbot_updates_total", "kind" => "invalid", "outcome" => "ignored").increment(1);
            return StatusCode::OK.into_response();
        }
        Err(e) => {
            return ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", format!("the body is not JSON: {e}"))
                .into_response();
        }
    };
    if let UpdateKind::Error(_) = update.kind {
        tracing::info!(update_id = update.id.0, "update of a kind kktbot does not handle; acknowledged without effect");
        metrics::counter!("kktbot_updates_total", "kind" => "unknown", "outcome" => "ignored").increment(1);
        return StatusCode::OK.into_response();
    }
    let kind = kind_name(&update);
    let update_id = update.id.0;
    match inbound.process(update, &body).await {
        Ok(outcome) => {
            let outcome = outcome.name();
            tracing::debug!(update_id, kind, outcome, "update processed");
            metrics::counter!("kktbot_updates_total", "kind" => kind, "outcome" => outcome).increment(1);
            StatusCode::OK.into_response()
        }
        Err(e) if e.is_transient() => retry_later(update_id, kind, &e.to_string()),
        Err(e) => {
            // Not even its dead letter could be stored: delivering it again cannot help.
            tracing::error!(update_id, kind, error = %e, "update failed and not recorded; acknowledged without effect");
            metrics::counter!("kktbot_updates_total", "kind" => kind, "outcome" => "refused").increment(1);
            StatusCode::OK.into_response()
        }
    }
}

fn retry_later(update_id: u32, kind: &'static str, error: &str) -> Response {
    tracing::error!(update_id, kind, error, "update not applied; Telegram will deliver it again");
    metrics::counter!("kktbot_updates_total", "kind" => kind, "outcome" => "retry").increment(1);
    let mut response =
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "temporarily unavailable, retry later")
            .into_response();
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECS));
    response
}
