//! `/api/failed-updates`: Telegram updates that failed because of their own content and were
//! kept as dead letters (admin role only).

use axum::extract::State;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{ApiJson, ApiQuery, Page};
use super::jwt::RequireAdmin;
use super::openapi::ErrorBody;
use super::params::{list_params, page};
use crate::http::{ApiError, AppState};
use crate::services::failed_updates::{self, FailedUpdate};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

/// An update kept as a dead letter.
#[derive(Debug, Serialize, ToSchema)]
pub struct FailedUpdateDto {
    pub update_id: i64,
    /// `message`, `callback_query`, `my_chat_member`, …
    pub kind: String,
    /// The Telegram user it came from, when it says.
    pub telegram_id: Option<i64>,
    pub chat_id: Option<i64>,
    /// Why it failed.
    pub error: String,
    /// The update as received (JSON text, cut at 64 KiB).
    pub body: String,
    pub failed_at: DateTime<Utc>,
}

impl From<FailedUpdate> for FailedUpdateDto {
    fn from(f: FailedUpdate) -> Self {
        Self {
            update_id: f.update_id,
            kind: f.kind,
            telegram_id: f.telegram_id,
            chat_id: f.chat_id,
            error: f.error,
            body: f.body,
            failed_at: f.failed_at,
        }
    }
}

/// Dead-letter list parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FailedUpdateListQuery {
    /// Page number, from 1.
    pub page: Option<u64>,
    /// Items per page, 1–100 (default 20).
    pub per_page: Option<u64>,
    /// `failed_at`, `update_id`, `kind`; `-` for descending (default `-failed_at`).
    pub sort: Option<String>,
    /// Part of the error or the kind.
    pub q: Option<String>,
}

/// Lists the updates kept as dead letters, newest first.
#[utoipa::path(get, path = "/failed-updates", tag = "administrators", params(FailedUpdateListQuery),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Page<FailedUpdateDto>),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 403, body = ErrorBody, description = "Not an administrator"),
        (status = 422, body = ErrorBody, description = "Invalid parameters")))]
async fn list(
    _admin: RequireAdmin,
    State(db): State<DatabaseConnection>,
    ApiQuery(query): ApiQuery<FailedUpdateListQuery>,
) -> Result<ApiJson<Page<FailedUpdateDto>>, ApiError> {
    let params = list_params(query.page, query.per_page, query.sort, query.q)?;
    let listed = failed_updates::list(&db, &params).await?;
    Ok(ApiJson(page(listed, &params, FailedUpdateDto::from)))
}
