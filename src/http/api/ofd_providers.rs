//! `/api/ofd-providers`.

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
use crate::services::ofd_providers::{self, OfdProvider, OfdProviderInput};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(get_one, update, delete))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OfdProviderDto {
    pub id: i32,
    pub name: String,
    pub inn: Option<String>,
    pub website: Option<String>,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
}

impl From<OfdProvider> for OfdProviderDto {
    fn from(m: OfdProvider) -> Self {
        Self {
            id: m.id,
            name: m.name,
            inn: m.inn,
            website: m.website,
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
    /// `id`, `name`, `created_at`; `-` for descending (default `name`).
    pub sort: Option<String>,
    /// Search text.
    pub q: Option<String>,
    pub is_active: Option<bool>,
}

#[utoipa::path(get, path = "/ofd-providers", tag = "ofd-providers", params(ListQuery), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Page<OfdProviderDto>), (status = 401, body = super::openapi::ErrorBody, description = "Not signed in"),
        (status = 422, body = super::openapi::ErrorBody, description = "Invalid parameters")))]
async fn list(
    _user: CurrentUser,
    State(db): State<DatabaseConnection>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<ApiJson<Page<OfdProviderDto>>, ApiError> {
    let params = list_params(query.page, query.per_page, query.sort.clone(), query.q.clone())?;
    let listed = ofd_providers::list(&db, &params, query.is_active).await?;
    Ok(ApiJson(page(listed, &params, OfdProviderDto::from)))
}

#[utoipa::path(post, path = "/ofd-providers", tag = "ofd-providers", request_body = OfdProviderInput, security(("bearer" = []), ("cookie" = [])),
    responses((status = 201, body = OfdProviderDto), (status = 401, body = super::openapi::ErrorBody, description = "Not signed in"),
        (status = 409, body = super::openapi::ErrorBody, description = "An OFD provider with this name exists"), (status = 422, body = super::openapi::ErrorBody, description = "Invalid fields")))]
async fn create(
    _user: CurrentUser,
    State(db): State<DatabaseConnection>,
    ApiJson(input): ApiJson<OfdProviderInput>,
) -> Result<(StatusCode, ApiJson<OfdProviderDto>), ApiError> {
    Ok((StatusCode::CREATED, ApiJson(ofd_providers::create(&db, &input).await?.into())))
}

#[utoipa::path(get, path = "/ofd-providers/{id}", tag = "ofd-providers", params(("id" = i32, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = OfdProviderDto), (status = 401, body = super::openapi::ErrorBody, description = "Not signed in"),
        (status = 404, body = super::openapi::ErrorBody, description = "No such OFD provider")))]
async fn get_one(
    _user: CurrentUser,
    State(db): State<DatabaseConnection>,
    Path(id): Path<i32>,
) -> Result<ApiJson<OfdProviderDto>, ApiError> {
    Ok(ApiJson(ofd_providers::get(&db, id).await?.into()))
}

#[utoipa::path(put, path = "/ofd-providers/{id}", tag = "ofd-providers", params(("id" = i32, Path)), request_body = OfdProviderInput,
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = OfdProviderDto), (status = 401, body = super::openapi::ErrorBody, description = "Not signed in"),
        (status = 404, body = super::openapi::ErrorBody, description = "No such OFD provider"), (status = 409, body = super::openapi::ErrorBody, description = "An OFD provider with this name exists"),
        (status = 422, body = super::openapi::ErrorBody, description = "Invalid fields")))]
async fn update(
    _user: CurrentUser,
    State(db): State<DatabaseConnection>,
    Path(id): Path<i32>,
    ApiJson(input): ApiJson<OfdProviderInput>,
) -> Result<ApiJson<OfdProviderDto>, ApiError> {
    Ok(ApiJson(ofd_providers::update(&db, id, &input).await?.into()))
}

#[utoipa::path(delete, path = "/ofd-providers/{id}", tag = "ofd-providers", params(("id" = i32, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 204, description = "Deleted"), (status = 401, body = super::openapi::ErrorBody, description = "Not signed in"),
        (status = 404, body = super::openapi::ErrorBody, description = "No such OFD provider")))]
async fn delete(
    _user: CurrentUser,
    State(db): State<DatabaseConnection>,
    Path(id): Path<i32>,
) -> Result<StatusCode, ApiError> {
    ofd_providers::delete(&db, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
