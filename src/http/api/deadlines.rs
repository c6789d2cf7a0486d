//! `/api/deadlines`: service deadlines, with days left, filters and renewal.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::audit::{Origin, begin};
use super::extract::{ApiJson, ApiQuery, Page};
use super::jwt::CurrentUser;
use super::params::{list_params, page, parse_date, today};
use crate::config::Config;
use crate::error::Error;
use crate::http::{ApiError, AppState};
use crate::services::audit::{self, Entry};
use crate::services::deadlines::{self, DeadlineFilter, DeadlineView, NewDeadline, Status};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(get_one, update, delete)).routes(routes!(renew))
}

/// A deadline with its client, type and cash register, and the days left until it.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeadlineDto {
    pub id: i32,
    pub client_id: i32,
    pub client_name: String,
    pub client_inn: String,
    pub cash_register_id: Option<i32>,
    pub cash_register_model: Option<String>,
    pub cash_register_serial_number: Option<String>,
    pub deadline_type_id: i32,
    pub deadline_type_code: String,
    pub deadline_type_name_ru: String,
    pub deadline_type_name_en: String,
    pub expiration_date: NaiveDate,
    /// `active`, `expired` or `closed`.
    pub status: String,
    /// Days from today (in the reminder time zone) to the expiration date; negative when past.
    pub days_left: i64,
    pub notes: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub(crate) fn status_name(status: Status) -> &'static str {
    match status {
        Status::Active => "active",
        Status::Expired => "expired",
        Status::Closed => "closed",
    }
}

fn parse_status(field: &'static str, value: &str) -> Result<Status, Error> {
    match value {
        "active" => Ok(Status::Active),
        "expired" => Ok(Status::Expired),
        "closed" => Ok(Status::Closed),
        _ => Err(Error::invalid(field, "must be one of active, expired, closed")),
    }
}

impl DeadlineDto {
    pub fn of(v: DeadlineView, today: NaiveDate) -> Self {
        let days_left = v.days_left(today);
        let d = v.deadline;
        Self {
            id: d.id,
            client_id: d.client_id,
            client_name: v.client.name,
            client_inn: v.client.inn,
            cash_register_id: d.cash_register_id,
            cash_register_model: v.register.as_ref().map(|r| r.model.clone()),
            cash_register_serial_number: v.register.map(|r| r.serial_number),
            deadline_type_id: d.deadline_type_id,
            deadline_type_code: v.kind.code,
            deadline_type_name_ru: v.kind.name_ru,
            deadline_type_name_en: v.kind.name_en,
            expiration_date: d.expiration_date,
            status: status_name(d.status).to_string(),
            days_left,
            notes: d.notes,
            created_at: d.created_at,
            updated_at: d.updated_at,
        }
    }
}

/// A deadline as staff enter it.
#[derive(Debug, Deserialize, ToSchema)]
pub struct DeadlineInput {
    #[schema(minimum = 1, maximum = 2147483647)]
    pub client_id: i32,
    #[schema(minimum = 1, maximum = 2147483647)]
    pub cash_register_id: Option<i32>,
    #[schema(minimum = 1, maximum = 2147483647)]
    pub deadline_type_id: i32,
    /// `YYYY-MM-DD`.
    #[schema(max_length = 12, pattern = r"^\s*(19|2[0-9])[0-9]{2}-[0-9]{2}-[0-9]{2}\s*$", format = Date)]
    pub expiration_date: String,
    #[schema(max_length = 5000)]
    pub notes: Option<String>,
    /// `active`, `expired` or `closed` (on update; a new deadline is active).
    #[schema(max_length = 16)]
    pub status: Option<String>,
}

impl DeadlineInput {
    fn parse(&self) -> Result<(NewDeadline, Option<Status>), Error> {
        let mut errors = Vec::new();
        let date = parse_date(&mut errors, "expiration_date", &self.expiration_date);
        let notes = crate::services::listing::optional(&mut errors, "notes", self.notes.as_deref(), 5000);
        let status = match self.status.as_deref() {
            None => None,
            Some(s) => match parse_status("status", s) {
                Ok(s) => Some(s),
                Err(Error::Validation(mut e)) => {
                    errors.append(&mut e);
                    None
                }
                Err(e) => return Err(e),
            },
        };
        crate::services::listing::check(errors)?;
        let new = NewDeadline {
            client_id: self.client_id,
            cash_register_id: self.cash_register_id,
            deadline_type_id: self.deadline_type_id,
            expiration_date: date.unwrap_or_default(),
            notes,
        };
        Ok((new, status))
    }
}

/// The new date of a renewed deadline.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RenewInput {
    /// `YYYY-MM-DD`, later than the current expiration date.
    #[schema(max_length = 12, pattern = r"^\s*(19|2[0-9])[0-9]{2}-[0-9]{2}-[0-9]{2}\s*$", format = Date)]
    pub expiration_date: String,
}

/// Deadline list parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeadlineListQuery {
    pub page: Option<u64>,
    pub per_page: Option<u64>,
    /// `expiration_date`, `id`, `client_id`, `status`, `created_at`; `-` for descending (default
    /// `expiration_date`).
    pub sort: Option<String>,
    /// Part of the notes.
    pub q: Option<String>,
    #[param(minimum = 1, maximum = 2147483647)]
    pub client_id: Option<i32>,
    #[param(minimum = 1, maximum = 2147483647)]
    pub cash_register_id: Option<i32>,
    /// `active`, `expired` or `closed`.
    #[param(max_length = 16)]
    pub status: Option<String>,
    /// Deadline type id.
    #[param(minimum = 1, maximum = 2147483647)]
    pub type_id: Option<i32>,
    /// Open deadlines expiring from today to today + N days (at most 3660).
    #[param(maximum = 3660)]
    pub expiring_within: Option<u32>,
    /// `true`: open deadlines already past.
    pub overdue: Option<bool>,
}

#[utoipa::path(get, path = "/deadlines", tag = "deadlines", params(DeadlineListQuery),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Page<DeadlineDto>), (status = 401, body = super::openapi::ErrorBody, description = "Not signed in"),
        (status = 422, body = super::openapi::ErrorBody, description = "Invalid parameters")))]
async fn list(
    _user: CurrentUser,
    State(db): State<DatabaseConnection>,
    State(config): State<Arc<Config>>,
    ApiQuery(query): ApiQuery<DeadlineListQuery>,
) -> Result<ApiJson<Page<DeadlineDto>>, ApiError> {
    let params = list_params(query.page, query.per_page, query.sort, query.q)?;
    let status = query.status.as_deref().map(|s| parse_status("status", s)).transpose()?;
    let filter = DeadlineFilter {
        client_id: query.client_id,
        cash_register_id: query.cash_register_id,
        status,
        deadline_type_id: query.type_id,
        expiring_within: query.expiring_within,
        overdue: query.overdue,
    };
    let today = today(&config);
    let listed = deadlines::list(&db, &params, &filter, today).await?;
    Ok(ApiJson(page(listed, &params, |v| DeadlineDto::of(v, today))))
}

#[utoipa::path(post, path = "/deadlines", tag = "deadlines", request_body = DeadlineInput,
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 201, body = DeadlineDto), (status = 401, body = super::openapi::ErrorBody, description = "Not signed in"),
        (status = 422, body = super::openapi::ErrorBody, description = "Invalid fields")))]
async fn create(
    user: CurrentUser,
    origin: Origin,
    State(db): State<DatabaseConnection>,
    State(config): State<Arc<Config>>,
    ApiJson(input): ApiJson<DeadlineInput>,
) -> Result<(StatusCode, ApiJson<DeadlineDto>), ApiError> {
    let (new, _) = input.parse()?;
    let txn = begin(&db).await?;
    let created = deadlines::create(&txn, new).await?;
    let view = deadlines::get_view(&txn, created.id).await?;
    let entry = Entry::created("deadline.created", "deadline", created.id, &created);
    audit::commit(txn, &origin.of(&user), entry).await?;
    Ok((StatusCode::CREATED, ApiJson(DeadlineDto::of(view, today(&config)))))
}

#[utoipa::path(get, path = "/deadlines/{id}", tag = "deadlines", params(("id" = i32, Path)),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = DeadlineDto), (status = 401, body = super::openapi::ErrorBody, description = "Not signed in"),
        (status = 404, body = super::openapi::ErrorBody, description = "No such deadline")))]
async fn get_one(
    _user: CurrentUser,
    State(db): State<DatabaseConnection>,
    State(config): State<Arc<Config>>,
    Path(id): Path<i32>,
) -> Result<ApiJson<DeadlineDto>, ApiError> {
    Ok(ApiJson(DeadlineDto::of(deadlines::get_view(&db, id).await?, today(&config))))
}

#[utoipa::path(put, path = "/deadlines/{id}", tag = "deadlines", params(("id" = i32, Path)),
    request_body = DeadlineInput, security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = DeadlineDto), (status = 401, body = super::openapi::ErrorBody, description = "Not signed in"),
        (status = 404, body = super::openapi::ErrorBody, description = "No such deadline"), (status = 422, body = super::openapi::ErrorBody, description = "Invalid fields")))]
async fn update(
    user: CurrentUser,
    origin: Origin,
    State(db): State<DatabaseConnection>,
    State(config): State<Arc<Config>>,
    Path(id): Path<i32>,
    ApiJson(input): ApiJson<DeadlineInput>,
) -> Result<ApiJson<DeadlineDto>, ApiError> {
    let (new, status) = input.parse()?;
    let txn = begin(&db).await?;
    let before = deadlines::get_view(&txn, id).await?.deadline;
    let after = deadlines::update(&txn, id, new, status).await?;
    let view = deadlines::get_view(&txn, id).await?;
    audit::commit(txn, &origin.of(&user), Entry::changed("deadline.updated", "deadline", id, &before, &after)).await?;
    Ok(ApiJson(DeadlineDto::of(view, today(&config))))
}

#[utoipa::path(delete, path = "/deadlines/{id}", tag = "deadlines", params(("id" = i32, Path)),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 204, description = "Deleted"), (status = 401, body = super::openapi::ErrorBody, description = "Not signed in"),
        (status = 404, body = super::openapi::ErrorBody, description = "No such deadline")))]
async fn delete(
    user: CurrentUser,
    origin: Origin,
    State(db): State<DatabaseConnection>,
    Path(id): Path<i32>,
) -> Result<StatusCode, ApiError> {
    let txn = begin(&db).await?;
    let before = deadlines::get_view(&txn, id).await?.deadline;
    deadlines::delete(&txn, id).await?;
    audit::commit(txn, &origin.of(&user), Entry::deleted("deadline.deleted", "deadline", id, &before)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/deadlines/{id}/renew", tag = "deadlines", params(("id" = i32, Path)),
    request_body = RenewInput, security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = DeadlineDto), (status = 401, body = super::openapi::ErrorBody, description = "Not signed in"),
        (status = 404, body = super::openapi::ErrorBody, description = "No such deadline"),
        (status = 422, body = super::openapi::ErrorBody, description = "Not a date, or not later than the current one")))]
async fn renew(
    user: CurrentUser,
    origin: Origin,
    State(db): State<DatabaseConnection>,
    State(config): State<Arc<Config>>,
    Path(id): Path<i32>,
    ApiJson(input): ApiJson<RenewInput>,
) -> Result<ApiJson<DeadlineDto>, ApiError> {
    let mut errors = Vec::new();
    let date = parse_date(&mut errors, "expiration_date", &input.expiration_date);
    crate::services::listing::check(errors)?;
    let txn = begin(&db).await?;
    let before = deadlines::get_view(&txn, id).await?.deadline;
    let after = deadlines::renew(&txn, id, date.unwrap_or_default()).await?;
    let view = deadlines::get_view(&txn, id).await?;
    audit::commit(txn, &origin.of(&user), Entry::changed("deadline.renewed", "deadline", id, &before, &after)).await?;
    Ok(ApiJson(DeadlineDto::of(view, today(&config))))
}
