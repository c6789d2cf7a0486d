//! `GET /api/stats`: the dashboard's figures.

use std::sync::Arc;

use axum::extract::State;
use chrono::NaiveDate;
use sea_orm::DatabaseConnection;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::ApiJson;
use super::jwt::CurrentUser;
use super::params::today;
use crate::config::Config;
use crate::http::{ApiError, AppState};
use crate::services::stats;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_stats))
}

/// Open deadlines of active clients due soon.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeadlineCounts {
    pub due_7_days: u64,
    pub due_14_days: u64,
    pub due_30_days: u64,
    pub overdue: u64,
}

/// Requests filed over the last 30 days, by status.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestCounts {
    pub pending: u64,
    pub approved: u64,
    pub rejected: u64,
    pub cancelled: u64,
}

/// Reminders over the last 7 days.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationCounts {
    pub sent: u64,
    pub failed: u64,
}

/// Open deadlines in one week of the chart.
#[derive(Debug, Serialize, ToSchema)]
pub struct WeekCount {
    /// The first day of the week (weeks start today).
    pub week_start: NaiveDate,
    pub deadlines: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatsDto {
    /// Today in NOTIFICATION_TIMEZONE.
    pub today: NaiveDate,
    pub clients: u64,
    pub active_clients: u64,
    /// Active cash registers of active clients.
    pub active_cash_registers: u64,
    pub deadlines: DeadlineCounts,
    pub requests_30_days: RequestCounts,
    pub notifications_7_days: NotificationCounts,
    /// Open deadlines per week for the next 12 weeks.
    pub deadlines_by_week: Vec<WeekCount>,
}

/// The dashboard's figures. Those who ask while the figures are being computed share the next
/// computation, so an answer is never older than its request.
#[utoipa::path(get, path = "/stats", tag = "stats", security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = StatsDto), (status = 401, body = super::openapi::ErrorBody, description = "Not signed in")))]
async fn get_stats(
    _user: CurrentUser,
    State(db): State<DatabaseConnection>,
    State(config): State<Arc<Config>>,
    State(shared): State<stats::SharedStats>,
) -> Result<ApiJson<StatsDto>, ApiError> {
    use crate::services::requests::Status;
    let s = shared.collect(&db, today(&config)).await?;
    let count = |status: Status| s.requests_30d.iter().find(|(st, _)| *st == status).map_or(0, |(_, n)| *n);
    Ok(ApiJson(StatsDto {
        today: s.today,
        clients: s.clients,
        active_clients: s.active_clients,
        active_cash_registers: s.active_cash_registers,
        deadlines: DeadlineCounts {
            due_7_days: s.due_7,
            due_14_days: s.due_14,
            due_30_days: s.due_30,
            overdue: s.overdue,
        },
        requests_30_days: RequestCounts {
            pending: count(Status::Pending),
            approved: count(Status::Approved),
            rejected: count(Status::Rejected),
            cancelled: count(Status::Cancelled),
        },
        notifications_7_days: NotificationCounts { sent: s.notifications_sent_7d, failed: s.notifications_failed_7d },
        deadlines_by_week: s
            .weeks
            .into_iter()
            .map(|(week_start, deadlines)| WeekCount { week_start, deadlines })
            .collect(),
    }))
}
