//! `/api/contacts`: the Telegram users who get a client's reminders.

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
use crate::services::contacts::{self, Contact, ContactFilter, ContactInput};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(get_one, update, delete))
}

/// A client's contact.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactDto {
    pub id: i32,
    pub client_id: i32,
    pub telegram_id: i64,
    pub name: Option<String>,
    pub notify: bool,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Contact> for ContactDto {
    fn from(c: Contact) -> Self {
        Self {
            id: c.id,
            client_id: c.client_id,
            telegram_id: c.telegram_id,
            name: c.name,
            notify: c.notify,
            is_active: c.is_active,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// Contact list parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContactListQuery {
    pub page: Option<u64>,
    pub per_page: Option<u64>,
    /// `id`, `name`, `client_id`, `telegram_id`, `created_at`; `-` for descending (default `id`).
    pub sort: Option<String>,
    /// Part of the name.
    pub q: Option<String>,
    #[param(minimum = 1, maximum = 2147483647)]
    pub client_id: Option<i32>,
    #[param(minimum = 1, maximum = 4503599627370495_i64)]
    pub telegram_id: Option<i64>,
    pub is_active: Option<bool>,
}

#[utoipa::path(get, path = "/contacts", tag = "contacts", params(ContactListQuery),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Page<ContactDto>), (status = 401, body = super::openapi::ErrorBody, description = "Not signed in"),
        (status = 422, body = super::openapi::ErrorBody, description = "Invalid parameters")))]
async fn list(
    _user: CurrentUser,
    State(db): State<DatabaseConnection>,
    ApiQuery(query): ApiQuery<ContactListQuery>,
) -> Result<ApiJson<Page<ContactDto>>, ApiError> {
    let params = list_params(query.page, query.per_page, query.sort, query.q)?;
    let filter =
        ContactFilter { client_id: query.client_id, telegram_id: query.telegram_id, is_active: query.is_active };
    let listed = contacts::list(&db, &params, &filter).await?;
    Ok(ApiJson(page(listed, &params, ContactDto::from)))
}

#[utoipa::path(post, path = "/contacts", tag = "contacts", request_body = ContactInput,
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 201, body = ContactDto), (status = 401, body = super::openapi::ErrorBody, description = "Not signed in"),
        (status = 409, body = super::openapi::ErrorBody, description = "Already a contact of this client"), (status = 422, body = super::openapi::ErrorBody, description = "Invalid fields")))]
async fn create(
    user: CurrentUser,
    origin: Origin,
    State(db): State<DatabaseConnection>,
    ApiJson(input): ApiJson<ContactInput>,
) -> Result<(StatusCode, ApiJson<ContactDto>), ApiError> {
    let txn = begin(&db).await?;
    let created = contacts::create(&txn, &input).await?;
    audit::commit(txn, &origin.of(&user), Entry::creation(&created)).await?;
    Ok((StatusCode::CREATED, ApiJson(created.into())))
}

#[utoipa::path(get, path = "/contacts/{id}", tag = "contacts", params(("id" = i32, Path)),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = ContactDto), (status = 401, body = super::openapi::ErrorBody, description = "Not signed in"),
        (status = 404, body = super::openapi::ErrorBody, description = "No such contact")))]
async fn get_one(
    _user: CurrentUser,
    State(db): State<DatabaseConnection>,
    Path(id): Path<i32>,
) -> Result<ApiJson<ContactDto>, ApiError> {
    Ok(ApiJson(contacts::get(&db, id).await?.into()))
}

#[utoipa::path(put, path = "/contacts/{id}", tag = "contacts", params(("id" = i32, Path)),
    request_body = ContactInput, security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = ContactDto), (status = 401, body = super::openapi::ErrorBody, description = "Not signed in"),
        (status = 404, body = super::openapi::ErrorBody, description = "No such contact"), (status = 409, body = super::openapi::ErrorBody, description = "Already a contact of this client"),
        (status = 422, body = super::openapi::ErrorBody, description = "Invalid fields")))]
async fn update(
    user: CurrentUser,
    origin: Origin,
    State(db): State<DatabaseConnection>,
    Path(id): Path<i32>,
    ApiJson(input): ApiJson<ContactInput>,
) -> Result<ApiJson<ContactDto>, ApiError> {
    let txn = begin(&db).await?;
    let before = contacts::get(&txn, id).await?;
    let after = contacts::update(&txn, id, &input).await?;
    audit::commit(txn, &origin.of(&user), Entry::change(&before, &after)).await?;
    Ok(ApiJson(after.into()))
}

#[utoipa::path(delete, path = "/contacts/{id}", tag = "contacts", params(("id" = i32, Path)),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 204, description = "Deleted"), (status = 401, body = super::openapi::ErrorBody, description = "Not signed in"),
        (status = 404, body = super::openapi::ErrorBody, description = "No such contact")))]
async fn delete(
    user: CurrentUser,
    origin: Origin,
    State(db): State<DatabaseConnection>,
    Path(id): Path<i32>,
) -> Result<StatusCode, ApiError> {
    let txn = begin(&db).await?;
    let before = contacts::get(&txn, id).await?;
    contacts::delete(&txn, id).await?;
    audit::commit(txn, &origin.of(&user), Entry::deletion(&before)).await?;
    Ok(StatusCode::NO_CONTENT)
}
