//! `/api/clients`: companies, with their cash registers, deadlines and contacts.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::audit::{Origin, begin};
use super::cash_registers::CashRegisterDto;
use super::contacts::ContactDto;
use super::deadlines::DeadlineDto;
use super::extract::{ApiJson, ApiQuery, Page};
use super::jwt::CurrentUser;
use super::params::{list_params, page, today};
use crate::config::Config;
use crate::http::{ApiError, AppState};
use crate::services::audit::{self, Entry};
use crate::services::clients::{self, Client, ClientFilter, ClientInput};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(get_one, update, delete))
}

/// A client.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientDto {
    pub id: i32,
    pub name: String,
    pub inn: String,
    pub contact_person: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
    pub notes: Option<String>,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Client> for ClientDto {
    fn from(c: Client) -> Self {
        Self {
            id: c.id,
            name: c.name,
            inn: c.inn,
            contact_person: c.contact_person,
            phone: c.phone,
            email: c.email,
            address: c.address,
            notes: c.notes,
            is_active: c.is_active,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// A client with its cash registers, deadlines (with days left) and contacts.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientDetailDto {
    #[serde(flatten)]
    pub client: ClientDto,
    pub cash_registers: Vec<CashRegisterDto>,
    pub deadlines: Vec<DeadlineDto>,
    pub contacts: Vec<ContactDto>,
}

/// Client list parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ClientListQuery {
    /// Page number, from 1.
    pub page: Option<u64>,
    /// Items per page, 1–100 (default 20).
    pub per_page: Option<u64>,
    /// `name`, `inn`, `id`, `created_at`, `updated_at`; `-` for descending (default `name`).
    pub sort: Option<String>,
    /// Part of the name, ИНН or contact person.
    pub q: Option<String>,
    pub is_active: Option<bool>,
}

#[utoipa::path(get, path = "/clients", tag = "clients", params(ClientListQuery),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Page<ClientDto>), (status = 401, body = super::openapi::ErrorBody, description = "Not signed in"),
        (status = 422, body = super::openapi::ErrorBody, description = "Invalid parameters")))]
async fn list(
    _user: CurrentUser,
    State(db): State<DatabaseConnection>,
    ApiQuery(query): ApiQuery<ClientListQuery>,
) -> Result<ApiJson<Page<ClientDto>>, ApiError> {
    let params = list_params(query.page, query.per_page, query.sort, query.q)?;
    let listed = clients::list(&db, &params, &ClientFilter { is_active: query.is_active }).await?;
    Ok(ApiJson(page(listed, &params, ClientDto::from)))
}

#[utoipa::path(post, path = "/clients", tag = "clients", request_body = ClientInput,
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 201, body = ClientDto), (status = 401, body = super::openapi::ErrorBody, description = "Not signed in"),
        (status = 409, body = super::openapi::ErrorBody, description = "A client with this ИНН exists"), (status = 422, body = super::openapi::ErrorBody, description = "Invalid fields")))]
async fn create(
    user: CurrentUser,
    origin: Origin,
    State(db): State<DatabaseConnection>,
    ApiJson(input): ApiJson<ClientInput>,
) -> Result<(StatusCode, ApiJson<ClientDto>), ApiError> {
    let txn = begin(&db).await?;
    let created = clients::create(&txn, &input).await?;
    audit::commit(txn, &origin.of(&user), Entry::creation(&created)).await?;
    Ok((StatusCode::CREATED, ApiJson(created.into())))
}

#[utoipa::path(get, path = "/clients/{id}", tag = "clients", params(("id" = i32, Path)),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = ClientDetailDto), (status = 401, body = super::openapi::ErrorBody, description = "Not signed in"),
        (status = 404, body = super::openapi::ErrorBody, description = "No such client")))]
async fn get_one(
    _user: CurrentUser,
    State(db): State<DatabaseConnection>,
    State(config): State<Arc<Config>>,
    Path(id): Path<i32>,
) -> Result<ApiJson<ClientDetailDto>, ApiError> {
    let detail = clients::detail(&db, id).await?;
    let today = today(&config);
    Ok(ApiJson(ClientDetailDto {
        client: detail.client.into(),
        cash_registers: detail.cash_registers.into_iter().map(Into::into).collect(),
        deadlines: detail.deadlines.into_iter().map(|v| DeadlineDto::of(v, today)).collect(),
        contacts: detail.contacts.into_iter().map(Into::into).collect(),
    }))
}

#[utoipa::path(put, path = "/clients/{id}", tag = "clients", params(("id" = i32, Path)),
    request_body = ClientInput, security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = ClientDto), (status = 401, body = super::openapi::ErrorBody, description = "Not signed in"),
        (status = 404, body = super::openapi::ErrorBody, description = "No such client"), (status = 409, body = super::openapi::ErrorBody, description = "A client with this ИНН exists"),
        (status = 422, body = super::openapi::ErrorBody, description = "Invalid fields")))]
async fn update(
    user: CurrentUser,
    origin: Origin,
    State(db): State<DatabaseConnection>,
    Path(id): Path<i32>,
    ApiJson(input): ApiJson<ClientInput>,
) -> Result<ApiJson<ClientDto>, ApiError> {
    let txn = begin(&db).await?;
    let before = clients::get(&txn, id).await?;
    let after = clients::update(&txn, id, &input).await?;
    audit::commit(txn, &origin.of(&user), Entry::change(&before, &after)).await?;
    Ok(ApiJson(after.into()))
}

#[utoipa::path(delete, path = "/clients/{id}", tag = "clients", params(("id" = i32, Path)),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 204, description = "Deleted"), (status = 401, body = super::openapi::ErrorBody, description = "Not signed in"),
        (status = 404, body = super::openapi::ErrorBody, description = "No such client"),
        (status = 409, body = super::openapi::ErrorBody, description = "The client still has cash registers or deadlines; deactivate it instead")))]
async fn delete(
    user: CurrentUser,
    origin: Origin,
    State(db): State<DatabaseConnection>,
    Path(id): Path<i32>,
) -> Result<StatusCode, ApiError> {
    let txn = begin(&db).await?;
    let before = clients::get(&txn, id).await?;
    clients::delete(&txn, id).await?;
    audit::commit(txn, &origin.of(&user), Entry::deletion(&before)).await?;
    Ok(StatusCode::NO_CONTENT)
}
