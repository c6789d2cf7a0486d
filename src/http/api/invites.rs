//! `/api/clients/{id}/invites`: single-use `t.me/<bot>?start=<code>` links that make whoever
//! opens them a contact of the client.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{ApiJson, OptionalJson};
use super::jwt::CurrentUser;
use crate::core::Core;
use crate::http::{ApiError, AppState};
use crate::services::invites::{self, Invite};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create))
}

/// An invite and its deep link.
#[derive(Debug, Serialize, ToSchema)]
pub struct InviteDto {
    pub id: i32,
    pub client_id: i32,
    pub code: String,
    /// `https://t.me/<bot username>?start=<code>`; absent when the bot is not configured or
    /// Telegram could not be asked for its username at start.
    pub link: Option<String>,
    pub created_by_user_id: Option<i32>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub used_by_telegram_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

impl InviteDto {
    fn of(i: Invite, username: Option<&str>) -> Self {
        Self {
            link: username.map(|u| format!("https://t.me/{u}?start={}", i.code)),
            id: i.id,
            client_id: i.client_id,
            code: i.code,
            created_by_user_id: i.created_by_user_id,
            expires_at: i.expires_at,
            used_at: i.used_at,
            used_by_telegram_id: i.used_by_telegram_id,
            created_at: i.created_at,
        }
    }
}

/// How long a new invite is valid.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct InviteInput {
    /// Days, 1–90 (default 7).
    #[schema(minimum = 1, maximum = 90)]
    pub valid_days: Option<u32>,
}

#[utoipa::path(get, path = "/clients/{id}/invites", tag = "invites", params(("id" = i32, Path)),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Vec<InviteDto>), (status = 401, body = super::openapi::ErrorBody, description = "Not signed in"),
        (status = 404, body = super::openapi::ErrorBody, description = "No such client")))]
async fn list(
    _user: CurrentUser,
    State(core): State<Core>,
    Path(id): Path<i32>,
) -> Result<ApiJson<Vec<InviteDto>>, ApiError> {
    let rows = invites::of_client(&core.db, id).await?;
    let username = core.bot_username.as_deref();
    Ok(ApiJson(rows.into_iter().map(|i| InviteDto::of(i, username)).collect()))
}

#[utoipa::path(post, path = "/clients/{id}/invites", tag = "invites", params(("id" = i32, Path)),
    request_body(content = InviteInput, description = "Optional; the body may be empty"),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 201, body = InviteDto), (status = 401, body = super::openapi::ErrorBody, description = "Not signed in"),
        (status = 404, body = super::openapi::ErrorBody, description = "No such client"), (status = 409, body = super::openapi::ErrorBody, description = "The client is deactivated"),
        (status = 422, body = super::openapi::ErrorBody, description = "Invalid validity")))]
async fn create(
    user: CurrentUser,
    State(core): State<Core>,
    Path(id): Path<i32>,
    OptionalJson(input): OptionalJson<InviteInput>,
) -> Result<(StatusCode, ApiJson<InviteDto>), ApiError> {
    let valid_days = input.valid_days.unwrap_or(invites::DEFAULT_VALID_DAYS);
    let created = invites::create(&core.db, id, valid_days, Some(user.id)).await?;
    Ok((StatusCode::CREATED, ApiJson(InviteDto::of(created, core.bot_username.as_deref()))))
}
