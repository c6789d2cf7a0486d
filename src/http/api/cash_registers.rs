//! `/api/cash-registers`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::audit::{Origin, begin};
use super::extract::{ApiJson, ApiQuery, Page};
use super::jwt::CurrentUser;
use super::params::{list_params, page};
use crate::http::{ApiError, AppState};
use crate::services::audit::{self, Entry};
use crate::services::cash_registers::{self, CashRegister, CashRegisterFilter, CashRegisterInput};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(get_one, update, delete))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CashRegisterDto {
    pub id: i32,
    pub client_id: i32,
    pub model: String,
    pub serial_number: String,
    pub registration_number: Option<String>,
    pub fiscal_drive_number: Option<String>,
    pub ofd_provider_id: Option<i32>,
    pub address: Option<String>,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<CashRegister> for CashRegisterDto {
    fn from(m: CashRegister) -> Self {
        Self {
            id: m.id,
            client_id: m.client_id,
            model: m.model,
            serial_number: m.serial_number,
            registration_number: m.registration_number,
            fiscal_drive_number: m.fiscal_drive_number,
            ofd_provider_id: m.ofd_provider_id,
            address: m.address,
            is_active: m.is_active,
            created_at: m.created_at,
            updated_at: m.updated_at,
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
    /// `id`, `model`, `serial_number`, `client_id`, `created_at`; `-` for descending (default `id`).
    pub sort: Option<String>,
    /// Search text.
    pub q: Option<String>,
    #[param(minimum = 1, maximum = 2147483647)]
    pub client_id: Option<i32>,
    #[param(minimum = 1, maximum = 2147483647)]
    pub ofd_provider_id: Option<i32>,
    pub is_active: Option<bool>,
}

#[utoipa::path(get, path = "/cash-registers", tag = "cash-registers", params(ListQuery), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Page<CashRegisterDto>), (status = 401, body = super::openapi::ErrorBody, description = "Not signed in"),
        (status = 422, body = super::openapi::ErrorBody, description = "Invalid parameters")))]
async fn list(
    _user: CurrentUser,
    State(db): State<DatabaseConnection>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<ApiJson<Page<CashRegisterDto>>, ApiError> {
    let params = list_params(query.page, query.per_page, query.sort.clone(), query.q.clone())?;
    let listed = cash_registers::list(
        &db,
        &params,
        &CashRegisterFilter {
            client_id: query.client_id,
            ofd_provider_id: query.ofd_provider_id,
            is_active: query.is_active,
        },
    )
    .await?;
    Ok(ApiJson(page(listed, &params, CashRegisterDto::from)))
}

#[utoipa::path(post, path = "/cash-registers", tag = "cash-registers", request_body = CashRegisterInput, security(("bearer" = []), ("cookie" = [])),
    responses((status = 201, body = CashRegisterDto), (status = 401, body = super::openapi::ErrorBody, description = "Not signed in"),
        (status = 409, body = super::openapi::ErrorBody, description = "A cash register with this serial number exists"), (status = 422, body = super::openapi::ErrorBody, description = "Invalid fields")))]
async fn create(
    user: CurrentUser,
    origin: Origin,
    State(db): State<DatabaseConnection>,
    ApiJson(input): ApiJson<CashRegisterInput>,
) -> Result<(StatusCode, ApiJson<CashRegisterDto>), ApiError> {
    let txn = begin(&db).await?;
    let created = cash_registers::create(&txn, &input).await?;
    audit::commit(txn, &origin.of(&user), Entry::creation(&created)).await?;
    Ok((StatusCode::CREATED, ApiJson(created.into())))
}

#[utoipa::path(get, path = "/cash-registers/{id}", tag = "cash-registers", params(("id" = i32, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = CashRegisterDto), (status = 401, body = super::openapi::ErrorBody, description = "Not signed in"),
        (status = 404, body = super::openapi::ErrorBody, description = "No such cash register")))]
async fn get_one(
    _user: CurrentUser,
    State(db): State<DatabaseConnection>,
    Path(id): Path<i32>,
) -> Result<ApiJson<CashRegisterDto>, ApiError> {
    Ok(ApiJson(cash_registers::get(&db, id).await?.into()))
}

#[utoipa::path(put, path = "/cash-registers/{id}", tag = "cash-registers", params(("id" = i32, Path)), request_body = CashRegisterInput,
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = CashRegisterDto), (status = 401, body = super::openapi::ErrorBody, description = "Not signed in"),
        (status = 404, body = super::openapi::ErrorBody, description = "No such cash register"), (status = 409, body = super::openapi::ErrorBody, description = "A cash register with this serial number exists"),
        (status = 422, body = super::openapi::ErrorBody, description = "Invalid fields")))]
async fn update(
    user: CurrentUser,
    origin: Origin,
    State(db): State<DatabaseConnection>,
    Path(id): Path<i32>,
    ApiJson(input): ApiJson<CashRegisterInput>,
) -> Result<ApiJson<CashRegisterDto>, ApiError> {
    let txn = begin(&db).await?;
    let before = cash_registers::get(&txn, id).await?;
    let after = cash_registers::update(&txn, id, &input).await?;
    audit::commit(txn, &origin.of(&user), Entry::change(&before, &after)).await?;
    Ok(ApiJson(after.into()))
}

#[utoipa::path(delete, path = "/cash-registers/{id}", tag = "cash-registers", params(("id" = i32, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 204, description = "Deleted"), (status = 401, body = super::openapi::ErrorBody, description = "Not signed in"),
        (status = 404, body = super::openapi::ErrorBody, description = "No such cash register")))]
async fn delete(
    user: CurrentUser,
    origin: Origin,
    State(db): State<DatabaseConnection>,
    Path(id): Path<i32>,
) -> Result<StatusCode, ApiError> {
    let txn = begin(&db).await?;
    let before = cash_registers::get(&txn, id).await?;
    cash_registers::delete(&txn, id).await?;
    audit::commit(txn, &origin.of(&user), Entry::deletion(&before)).await?;
    Ok(StatusCode::NO_CONTENT)
}
