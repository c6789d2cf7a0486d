//! `/api/outbox`: outgoing messages that failed for good, and sending them again (admin role
//! only). Sending again puts the row back in its chat's queue (see [`outbox::replay`]) and is
//! recorded in the audit log.

use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::audit::Origin;
use super::extract::{ApiJson, ApiQuery, Page};
use super::jwt::RequireAdmin;
use super::openapi::ErrorBody;
use super::params::{list_params, page};
use crate::core::Core;
use crate::http::{ApiError, AppState};
use crate::outbox::{self, Outgoing, OutgoingMessage};
use crate::services::audit::{self, Entry};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(replay_one)).routes(routes!(replay_chat))
}

/// An outgoing message that failed for good.
#[derive(Debug, Serialize, ToSchema)]
pub struct FailedMessageDto {
    pub id: i64,
    /// The Telegram chat it is for.
    pub chat_id: i64,
    /// The Bot API method: `sendMessage`, `sendPhoto`, `sendDocument`, `editMessageText`,
    /// `editMessageReplyMarkup` or `answerCallbackQuery`.
    pub kind: String,
    /// Its text, caption or file name, when it has one.
    pub text: Option<String>,
    /// Why it failed (Telegram's answer, or the last error when its attempts ran out).
    pub error: Option<String>,
    pub attempts: i32,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// When it failed (absent for rows that failed before this was recorded).
    pub failed_at: Option<DateTime<Utc>>,
    /// Whether it can be sent again (an answer to a callback query cannot).
    pub can_replay: bool,
}

impl From<OutgoingMessage> for FailedMessageDto {
    fn from(row: OutgoingMessage) -> Self {
        let text = match serde_json::from_value::<Outgoing>(row.payload) {
            Ok(Outgoing::SendMessage { text, .. } | Outgoing::EditMessageText { text, .. }) => Some(text),
            Ok(Outgoing::SendPhoto { caption, .. }) => caption,
            Ok(Outgoing::SendDocument { file_name, .. }) => Some(file_name),
            Ok(Outgoing::SendDocumentById { caption, .. }) => caption,
            Ok(Outgoing::AnswerCallbackQuery { text, .. }) => text,
            Ok(Outgoing::CreateForumTopic { name, .. }) => Some(name),
            Ok(Outgoing::EditMessageReplyMarkup { .. }) | Err(_) => None,
        };
        Self {
            id: row.id,
            chat_id: row.chat_id,
            can_replay: row.method != "answerCallbackQuery",
            kind: row.method,
            text,
            error: row.last_error,
            attempts: row.attempts,
            created_at: row.created_at,
            failed_at: row.failed_at,
        }
    }
}

/// Failed-message list parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FailedMessageListQuery {
    /// Page number, from 1.
    pub page: Option<u64>,
    /// Items per page, 1–100 (default 20).
    pub per_page: Option<u64>,
    /// `failed_at`, `created_at`, `chat_id`, `id`; `-` for descending (default `-failed_at`).
    pub sort: Option<String>,
    /// Part of the error or the method.
    pub q: Option<String>,
    /// Only this chat's messages.
    #[param(minimum = -4503599627370495_i64, maximum = 4503599627370495_i64)]
    pub chat_id: Option<i64>,
}

/// What was put back in the queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReplayedDto {
    /// How many messages.
    pub replayed: usize,
    /// Their ids, oldest first.
    pub ids: Vec<i64>,
}

/// Lists the outgoing messages that failed for good, newest failure first.
#[utoipa::path(get, path = "/outbox/failed", tag = "outbox", params(FailedMessageListQuery),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Page<FailedMessageDto>),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 403, body = ErrorBody, description = "Not an administrator"),
        (status = 422, body = ErrorBody, description = "Invalid parameters")))]
async fn list(
    _admin: RequireAdmin,
    State(db): State<DatabaseConnection>,
    ApiQuery(query): ApiQuery<FailedMessageListQuery>,
) -> Result<ApiJson<Page<FailedMessageDto>>, ApiError> {
    let params = list_params(query.page, query.per_page, query.sort, query.q)?;
    let listed = outbox::replay::list_failed(&db, query.chat_id, &params).await?;
    Ok(ApiJson(page(listed, &params, FailedMessageDto::from)))
}

/// Sends a failed message again: it goes back in its chat's queue, before anything queued for
/// the chat after it.
#[utoipa::path(post, path = "/outbox/failed/{id}/replay", tag = "outbox",
    params(("id" = i64, Path, description = "Outgoing message id")),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = ReplayedDto),
        (status = 403, body = ErrorBody, description = "Not an administrator"),
        (status = 404, body = ErrorBody, description = "No such message"),
        (status = 409, body = ErrorBody, description = "It has not failed, or is an answer to a callback query")))]
async fn replay_one(
    RequireAdmin(admin): RequireAdmin,
    origin: Origin,
    State(core): State<Core>,
    Path(id): Path<i64>,
) -> Result<ApiJson<ReplayedDto>, ApiError> {
    let write = core.begin().await?;
    let row = outbox::replay::replay(&write, id).await?;
    let entry = Entry::new("outbox.replayed", "outgoing_message", id).with_details(json!({
        "chat_id": row.chat_id, "method": row.method, "error": row.last_error,
    }));
    audit::record(&write, &origin.of(&admin), entry).await?;
    write.commit().await?;
    Ok(ApiJson(ReplayedDto { replayed: 1, ids: vec![id] }))
}

/// Sends every failed message of a chat again (answers to callback queries aside), in the order
/// they were first queued.
#[utoipa::path(post, path = "/outbox/chats/{chat_id}/replay", tag = "outbox",
    params(("chat_id" = i64, Path, description = "Telegram chat id")),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = ReplayedDto),
        (status = 403, body = ErrorBody, description = "Not an administrator")))]
async fn replay_chat(
    RequireAdmin(admin): RequireAdmin,
    origin: Origin,
    State(core): State<Core>,
    Path(chat_id): Path<i64>,
) -> Result<ApiJson<ReplayedDto>, ApiError> {
    let write = core.begin().await?;
    let rows = outbox::replay::replay_chat(&write, chat_id).await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let entry =
        Entry::new("outbox.chat_replayed", "chat", chat_id).with_details(json!({ "replayed": ids.len(), "ids": ids }));
    audit::record(&write, &origin.of(&admin), entry).await?;
    write.commit().await?;
    Ok(ApiJson(ReplayedDto { replayed: ids.len(), ids }))
}
