//! Service levels in the API: the request types with their hours to a decision and to done
//! (`GET /request-types`; an admin sets them with `PATCH /request-types/{id}`, null for the
//! configured defaults), and the figures per week with the requests over their time now
//! (`GET /stats/sla`).

use std::sync::Arc;

use axum::extract::{Path, State};
use chrono::NaiveDate;
use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::audit::{Origin, begin};
use super::extract::{ApiJson, ApiQuery, double_option};
use super::jwt::{CurrentUser, RequireAdmin};
use super::openapi::ErrorBody;
use super::requests::{RequestDto, SlaNow};
use crate::config::Config;
use crate::http::{ApiError, AppState};
use crate::services::audit::{self, Entry};
use crate::services::requests::{self, RequestType};
use crate::services::{request_queries, sla};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_types)).routes(routes!(update_type)).routes(routes!(figures))
}

/// A kind of service request, with its service levels.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestTypeDto {
    pub id: i32,
    pub code: String,
    pub name_ru: String,
    pub name_en: String,
    pub sort_order: i32,
    pub is_active: bool,
    /// Its own hours from filing to a decision; null: the default.
    pub decision_sla_hours: Option<i32>,
    /// Its own hours from filing to done; null: the default.
    pub done_sla_hours: Option<i32>,
    /// The hours to a decision that apply (its own, else SLA_DECISION_HOURS).
    pub decision_hours: u32,
    /// The hours to done that apply (its own, else SLA_DONE_HOURS).
    pub done_hours: u32,
}

fn type_dto(t: RequestType, defaults: sla::Defaults) -> RequestTypeDto {
    let limits = sla::limits(defaults, Some(&t));
    RequestTypeDto {
        id: t.id,
        code: t.code,
        name_ru: t.name_ru,
        name_en: t.name_en,
        sort_order: t.sort_order,
        is_active: t.is_active,
        decision_sla_hours: t.decision_sla_hours,
        done_sla_hours: t.done_sla_hours,
        decision_hours: limits.decision_hours,
        done_hours: limits.done_hours,
    }
}

/// The request types, in the order clients see them.
#[utoipa::path(get, path = "/request-types", tag = "requests", security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Vec<RequestTypeDto>), (status = 401, body = ErrorBody, description = "Not signed in")))]
async fn list_types(
    _user: CurrentUser,
    State(db): State<DatabaseConnection>,
    State(config): State<Arc<Config>>,
) -> Result<ApiJson<Vec<RequestTypeDto>>, ApiError> {
    let types = sla::request_types(&db).await?;
    Ok(ApiJson(types.into_iter().map(|t| type_dto(t, config.sla)).collect()))
}

/// A request type's own service levels; an absent field is left as it is, null returns it to
/// the default.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestTypeSlaInput {
    /// Hours from filing to a decision, 1–8760; null for SLA_DECISION_HOURS.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i32>, minimum = 1, maximum = 8760)]
    pub decision_sla_hours: Option<Option<i64>>,
    /// Hours from filing to done, 1–8760; null for SLA_DONE_HOURS.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i32>, minimum = 1, maximum = 8760)]
    pub done_sla_hours: Option<Option<i64>>,
}

/// Sets a request type's hours to a decision and to done (admin role). Audited as
/// `request_type.updated`.
#[utoipa::path(patch, path = "/request-types/{id}", tag = "requests", params(("id" = i32, Path)),
    request_body = RequestTypeSlaInput, security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = RequestTypeDto), (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 403, body = ErrorBody, description = "Not an admin"),
        (status = 404, body = ErrorBody, description = "No such request type"),
        (status = 422, body = ErrorBody, description = "Hours out of 1–8760")))]
async fn update_type(
    RequireAdmin(admin): RequireAdmin,
    origin: Origin,
    State(db): State<DatabaseConnection>,
    State(config): State<Arc<Config>>,
    Path(id): Path<i32>,
    ApiJson(input): ApiJson<RequestTypeSlaInput>,
) -> Result<ApiJson<RequestTypeDto>, ApiError> {
    // Out of range (a negative or a huge number too) is the service's 422.
    let hours = |v: Option<Option<i64>>| v.map(|h| h.map(|h| u32::try_from(h).unwrap_or(0)));
    let txn = begin(&db).await?;
    let before = requests::get_type(&txn, id).await?;
    let after = sla::set_type_hours(&txn, id, hours(input.decision_sla_hours), hours(input.done_sla_hours)).await?;
    let entry = Entry::new("request_type.updated", "request_type", id).with_details(serde_json::json!({
        "decision_sla_hours": [before.as_ref().and_then(|b| b.decision_sla_hours), after.decision_sla_hours],
        "done_sla_hours": [before.and_then(|b| b.done_sla_hours), after.done_sla_hours],
    }));
    audit::commit(txn, &origin.of(&admin), entry).await?;
    Ok(ApiJson(type_dto(after, config.sla)))
}

/// One week's service-level figures.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlaWeekDto {
    /// Its Monday (weeks run Monday to Sunday in NOTIFICATION_TIMEZONE).
    pub week_start: NaiveDate,
    /// Requests decided in the week.
    pub decided: usize,
    /// Median hours from filing to the decision; null without decisions.
    pub decision_median_hours: Option<f64>,
    /// 90th percentile of the hours from filing to the decision.
    pub decision_p90_hours: Option<f64>,
    /// Requests done in the week.
    pub done: usize,
    /// Median hours from filing to done; null without requests done.
    pub done_median_hours: Option<f64>,
    /// 90th percentile of the hours from filing to done.
    pub done_p90_hours: Option<f64>,
}

/// The service-level figures.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlaStatsDto {
    /// SLA_DECISION_HOURS: hours to a decision of a type that sets none.
    pub default_decision_hours: u32,
    /// SLA_DONE_HOURS: hours to done of a type that sets none.
    pub default_done_hours: u32,
    /// The weeks asked for, oldest first, the current one last.
    pub weeks: Vec<SlaWeekDto>,
    /// The open requests past their decision or done time now, oldest first.
    pub over: Vec<RequestDto>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FiguresQuery {
    /// How many weeks, 1–104 (default 8).
    #[param(minimum = 1, maximum = 104)]
    pub weeks: Option<u32>,
}

/// Time to a decision and to done per week (median, 90th percentile), and the requests over
/// their time now.
#[utoipa::path(get, path = "/stats/sla", tag = "stats", params(FiguresQuery), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = SlaStatsDto), (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 422, body = ErrorBody, description = "weeks out of 1–104")))]
async fn figures(
    _user: CurrentUser,
    State(db): State<DatabaseConnection>,
    State(config): State<Arc<Config>>,
    at: SlaNow,
    ApiQuery(query): ApiQuery<FiguresQuery>,
) -> Result<ApiJson<SlaStatsDto>, ApiError> {
    let weeks = sla::weekly(&db, query.weeks.unwrap_or(8), at.now, config.notifications.timezone).await?;
    let over = sla::over(&db, at.defaults, at.now).await?;
    let views = request_queries::views(&db, over.into_iter().map(|(r, _)| r).collect()).await?;
    Ok(ApiJson(SlaStatsDto {
        default_decision_hours: at.defaults.decision_hours,
        default_done_hours: at.defaults.done_hours,
        weeks: weeks
            .into_iter()
            .map(|w| SlaWeekDto {
                week_start: w.start,
                decided: w.decided,
                decision_median_hours: w.decision_median_hours,
                decision_p90_hours: w.decision_p90_hours,
                done: w.done,
                done_median_hours: w.done_median_hours,
                done_p90_hours: w.done_p90_hours,
            })
            .collect(),
        over: views.into_iter().map(|v| RequestDto::new(v, at)).collect(),
    }))
}
