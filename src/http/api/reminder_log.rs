//! `/api/notifications`: the reminder log, and a reminder run on demand.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::audit::Origin;
use super::extract::{ApiJson, ApiQuery, Page};
use super::jwt::CurrentUser;
use super::params::{date_range, list_params, page, today};
use crate::config::Config;
use crate::core::Core;
use crate::http::{ApiError, AppState};
use crate::services::reminder_log::{self, ReminderFilter, ReminderView};
use crate::services::reminders;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(run))
}

/// One reminder to one contact.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationDto {
    pub id: i64,
    pub deadline_id: i32,
    /// The deadline's client (null if the deadline was deleted).
    pub client_id: Option<i32>,
    pub client_name: Option<String>,
    /// The deadline type's code and names (null if the deadline was deleted).
    pub deadline_type_code: Option<String>,
    pub deadline_type_name_ru: Option<String>,
    pub deadline_type_name_en: Option<String>,
    pub contact_id: i32,
    /// The contact's name, when one is stored.
    pub contact_name: Option<String>,
    /// The threshold (days before the date) this reminder was for.
    pub days_before: i32,
    pub expiration_date: NaiveDate,
    /// `pending`, `retrying`, `sent` or `failed`.
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl From<ReminderView> for NotificationDto {
    fn from(v: ReminderView) -> Self {
        let n = v.log;
        let (client_id, client_name) = v.client.unzip();
        Self {
            id: n.id,
            deadline_id: n.deadline_id,
            client_id,
            client_name,
            deadline_type_code: v.deadline_type.as_ref().map(|t| t.code.clone()),
            deadline_type_name_ru: v.deadline_type.as_ref().map(|t| t.name_ru.clone()),
            deadline_type_name_en: v.deadline_type.map(|t| t.name_en),
            contact_id: n.contact_id,
            contact_name: v.contact_name,
            days_before: n.days_before,
            expiration_date: n.expiration_date,
            status: n.status,
            attempts: n.attempts,
            last_error: n.last_error,
            created_at: n.created_at,
            sent_at: n.sent_at,
        }
    }
}

/// Reminder log parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NotificationListQuery {
    pub page: Option<u64>,
    pub per_page: Option<u64>,
    /// `id`, `created_at`, `sent_at`, `expiration_date`, `status`; `-` for descending (default `-id`).
    pub sort: Option<String>,
    /// `pending`, `retrying`, `sent` or `failed`.
    #[param(max_length = 16)]
    pub status: Option<String>,
    #[param(minimum = 1, maximum = 2147483647)]
    pub deadline_id: Option<i32>,
    #[param(minimum = 1, maximum = 2147483647)]
    pub contact_id: Option<i32>,
    /// Created on or after this day (`YYYY-MM-DD`, UTC).
    #[param(max_length = 12, pattern = r"^\s*(19|2[0-9])[0-9]{2}-[0-9]{2}-[0-9]{2}\s*$", format = Date)]
    pub from: Option<String>,
    /// Created on or before this day (`YYYY-MM-DD`, UTC).
    #[param(max_length = 12, pattern = r"^\s*(19|2[0-9])[0-9]{2}-[0-9]{2}-[0-9]{2}\s*$", format = Date)]
    pub to: Option<String>,
}

#[utoipa::path(get, path = "/notifications", tag = "notifications", params(NotificationListQuery),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Page<NotificationDto>), (status = 401, body = super::openapi::ErrorBody, description = "Not signed in"),
        (status = 422, body = super::openapi::ErrorBody, description = "Invalid parameters")))]
async fn list(
    _user: CurrentUser,
    State(db): State<DatabaseConnection>,
    ApiQuery(query): ApiQuery<NotificationListQuery>,
) -> Result<ApiJson<Page<NotificationDto>>, ApiError> {
    let params = list_params(query.page, query.per_page, query.sort, None)?;
    let (from, to) = date_range(query.from.as_deref(), query.to.as_deref())?;
    let filter =
        ReminderFilter { status: query.status, deadline_id: query.deadline_id, contact_id: query.contact_id, from, to };
    let listed = reminder_log::list(&db, &params, &filter).await?;
    Ok(ApiJson(page(listed, &params, NotificationDto::from)))
}

/// The figures of a reminder run.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunReportDto {
    /// The day the run was for (in NOTIFICATION_TIMEZONE).
    pub date: NaiveDate,
    /// Deadlines marked expired.
    pub expired: u64,
    /// Reminders queued.
    pub queued: u64,
    pub due_soon: usize,
    pub overdue: usize,
    /// Whether this run sent the administrators' daily summary. It goes once a day: false when
    /// every active administrator has had today's already (or there is none).
    pub summary_sent: bool,
    /// Administrators this run sent the summary to.
    pub summaries: u64,
}

#[utoipa::path(post, path = "/notifications/run", tag = "notifications", security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = RunReportDto), (status = 401, body = super::openapi::ErrorBody, description = "Not signed in"),
        (status = 409, body = super::openapi::ErrorBody, description = "The Telegram bot is not configured")))]
async fn run(
    user: CurrentUser,
    origin: Origin,
    State(core): State<Core>,
    State(config): State<Arc<Config>>,
) -> Result<ApiJson<RunReportDto>, ApiError> {
    if config.telegram.bot_token.is_none() {
        return Err(ApiError::new(StatusCode::CONFLICT, "conflict", "the Telegram bot is not configured"));
    }
    let write = core.begin().await?;
    let days = &config.notifications.days;
    let report = reminders::run(&write, core.notifier.as_ref(), days, today(&config), Some(&origin.of(&user))).await?;
    write.commit().await?;
    Ok(ApiJson(RunReportDto {
        date: report.date,
        expired: report.expired,
        queued: report.queued,
        due_soon: report.due_soon,
        overdue: report.overdue,
        summary_sent: report.summaries > 0,
        summaries: report.summaries,
    }))
}
