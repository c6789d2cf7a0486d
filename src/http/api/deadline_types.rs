//! `/api/deadline-types`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{ApiJson, ApiQuery, Page};
use super::jwt::CurrentUser;
use super::params::{list_params, page};
use crate::http::{ApiError, AppState};
use crate::services::deadline_types::{self, DeadlineType, DeadlineTypeInput};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(get_one, update, delete))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeadlineTypeDto {
    pub id: i32,
    pub code: String,
    pub name_ru: String,
    pub name_en: String,
    pub description: Option<String>,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
}

impl From<DeadlineType> for DeadlineTypeDto {
    fn from(m: DeadlineType) -> Self {
        Self {
            id: m.id,
            code: m.code,
            name_ru: m.name_ru,
            name_en: m.name_en,
            description: m.description,
            is_active: m.is_active,
            created_at: m.created_at,
        }
    }
}

/// List parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Page number, from 1.
    pub page: Option<u64>,
    /// Items per page, 1–100 (default 20).
    pub per_page: Option<u64>,
    /// `id`, `code`, `name_ru`, `name_en`; `-` for descending (default `id`).
    pub sort: Option<String>,
    /// Search text.
    pub q: Option<String>,
    pub is_active: Option<bool>,
}

#[utoipa::path(get, path = "/deadline-types", tag = "deadline-types", params(ListQuery), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Page<DeadlineTypeDto>), (status = 401, body = super::openapi::ErrorBody, description = "Not signed in"),
        (status = 422, body = super::openapi::ErrorBody, description = "Invalid parameters")))]
async fn list(
    _user: CurrentUser,
    State(db): State<DatabaseConnection>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<ApiJson<Page<DeadlineTypeDto>>, ApiError> {
    let params = list_params(query.page, query.per_page, query.sort.clone(), query.q.clone())?;
    let listed = deadline_types::list(&db, &params, query.is_active).await?;
    Ok(ApiJson(page(listed, &params, DeadlineTypeDto::from)))
}

#[utoipa::path(post, path = "/deadline-types", tag = "deadline-types", request_body = DeadlineTypeInput, security(("bearer" = []), ("cookie" = [])),
    responses((status = 201, body = DeadlineTypeDto), (status = 401, body = super::openapi::ErrorBody, description = "Not signed in"),
        (status = 409, body = super::openapi::ErrorBody, description = "A deadline type with this code exists"), (status = 422, body = super::openapi::ErrorBody, description = "Invalid fields")))]
async fn create(
    _user: CurrentUser,
    State(db): State<DatabaseConnection>,
    ApiJson(input): ApiJson<DeadlineTypeInput>,
) -> Result<(StatusCode, ApiJson<DeadlineTypeDto>), ApiError> {
    Ok((StatusCode::CREATED, ApiJson(deadline_types::create(&db, &input).await?.into())))
}

#[utoipa::path(get, path = "/deadline-types/{id}", tag = "deadline-types", params(("id" = i32, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = DeadlineTypeDto), (status = 401, body = super::openapi::ErrorBody, description = "Not signed in"),
        (status = 404, body = super::openapi::ErrorBody, description = "No such deadline type")))]
async fn get_one(
    _user: CurrentUser,
    State(db): State<DatabaseConnection>,
    Path(id): Path<i32>,
) -> Result<ApiJson<DeadlineTypeDto>, ApiError> {
    Ok(ApiJson(deadline_types::get(&db, id).await?.into()))
}

#[utoipa::path(put, path = "/deadline-types/{id}", tag = "deadline-types", params(("id" = i32, Path)), request_body = DeadlineTypeInput,
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = DeadlineTypeDto), (status = 401, body = super::openapi::ErrorBody, description = "Not signed in"),
        (status = 404, body = super::openapi::ErrorBody, description = "No such deadline type"), (status = 409, body = super::openapi::ErrorBody, description = "A deadline type with this code exists"),
        (status = 422, body = super::openapi::ErrorBody, description = "Invalid fields")))]
async fn update(
    _user: CurrentUser,
    State(db): State<DatabaseConnection>,
    Path(id): Path<i32>,
    ApiJson(input): ApiJson<DeadlineTypeInput>,
) -> Result<ApiJson<DeadlineTypeDto>, ApiError> {
    Ok(ApiJson(deadline_types::update(&db, id, &input).await?.into()))
}

#[utoipa::path(delete, path = "/deadline-types/{id}", tag = "deadline-types", params(("id" = i32, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 204, description = "Deleted"), (status = 401, body = super::openapi::ErrorBody, description = "Not signed in"),
        (status = 404, body = super::openapi::ErrorBody, description = "No such deadline type"),
        (status = 409, body = super::openapi::ErrorBody, description = "Deadlines still have this type; deactivate it instead")))]
async fn delete(
    _user: CurrentUser,
    State(db): State<DatabaseConnection>,
    Path(id): Path<i32>,
) -> Result<StatusCode, ApiError> {
    deadline_types::delete(&db, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
