//! `/api/administrators`: the Telegram users who receive and decide requests (admin role only).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::api::audit::{Origin, begin};
use crate::http::api::extract::{ApiJson, ApiQuery, Page, double_option};
use crate::http::api::jwt::RequireAdmin;
use crate::http::api::openapi::ErrorBody;
use crate::http::api::params::{list_params, page};
use crate::http::{ApiError, AppState};
use crate::services::administrators::{self as service, Administrator, AdministratorChanges};
use crate::services::audit::{self, Entry};

#[derive(Debug, Serialize, ToSchema)]
pub struct AdministratorView {
    pub id: i32,
    pub telegram_id: i64,
    pub name: Option<String>,
    /// Telegram @username, as last seen.
    pub username: Option<String>,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Administrator> for AdministratorView {
    fn from(a: Administrator) -> Self {
        Self {
            id: a.id,
            telegram_id: a.telegram_id,
            name: a.name,
            username: a.username,
            is_active: a.is_active,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AdministratorListParams {
    /// Page number, from 1.
    pub page: Option<u64>,
    /// Items per page, 1–100 (default 20).
    pub per_page: Option<u64>,
    /// Search in name and username, or an exact Telegram id.
    pub q: Option<String>,
    pub is_active: Option<bool>,
    /// `id`, `telegram_id`, `name` or `created_at`; prefix `-` for descending.
    pub sort: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAdministrator {
    /// The Telegram user id.
    #[schema(minimum = 1, maximum = 4503599627370495_i64)]
    pub telegram_id: i64,
    #[schema(max_length = 200)]
    pub name: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAdministrator {
    /// `null` clears the name.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 200)]
    pub name: Option<Option<String>>,
    pub is_active: Option<bool>,
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_administrators, create_administrator)).routes(routes!(
        get_administrator,
        update_administrator,
        delete_administrator
    ))
}

/// Lists administrators.
#[utoipa::path(get, path = "/administrators", tag = "administrators", params(AdministratorListParams),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, body = Page<AdministratorView>),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody),
    ))]
async fn list_administrators(
    _admin: RequireAdmin,
    State(db): State<DatabaseConnection>,
    ApiQuery(params): ApiQuery<AdministratorListParams>,
) -> Result<ApiJson<Page<AdministratorView>>, ApiError> {
    let list = list_params(params.page, params.per_page, params.sort, params.q)?;
    let listed = service::list(&db, &list, params.is_active).await?;
    Ok(ApiJson(page(listed, &list, AdministratorView::from)))
}

/// Adds an administrator by Telegram id.
#[utoipa::path(post, path = "/administrators", tag = "administrators", request_body = CreateAdministrator,
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 201, body = AdministratorView),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, description = "Already an administrator", body = ErrorBody), (status = 422, body = ErrorBody),
    ))]
async fn create_administrator(
    RequireAdmin(admin): RequireAdmin,
    origin: Origin,
    State(db): State<DatabaseConnection>,
    ApiJson(body): ApiJson<CreateAdministrator>,
) -> Result<(StatusCode, ApiJson<AdministratorView>), ApiError> {
    let txn = begin(&db).await?;
    let created = service::create(&txn, body.telegram_id, body.name).await?;
    audit::commit(txn, &origin.of(&admin), Entry::creation(&created)).await?;
    Ok((StatusCode::CREATED, ApiJson(created.into())))
}

/// One administrator.
#[utoipa::path(get, path = "/administrators/{id}", tag = "administrators",
    params(("id" = i32, Path, description = "Administrator id")), security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, body = AdministratorView),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    ))]
async fn get_administrator(
    _admin: RequireAdmin,
    State(db): State<DatabaseConnection>,
    Path(id): Path<i32>,
) -> Result<ApiJson<AdministratorView>, ApiError> {
    Ok(ApiJson(service::get(&db, id).await?.into()))
}

/// Changes an administrator's name or activity.
#[utoipa::path(patch, path = "/administrators/{id}", tag = "administrators",
    params(("id" = i32, Path, description = "Administrator id")), request_body = UpdateAdministrator,
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, body = AdministratorView),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
async fn update_administrator(
    RequireAdmin(admin): RequireAdmin,
    origin: Origin,
    State(db): State<DatabaseConnection>,
    Path(id): Path<i32>,
    ApiJson(body): ApiJson<UpdateAdministrator>,
) -> Result<ApiJson<AdministratorView>, ApiError> {
    let changes = AdministratorChanges { name: body.name, is_active: body.is_active };
    let txn = begin(&db).await?;
    let before = service::get(&txn, id).await?;
    let after = service::update(&txn, id, changes).await?;
    audit::commit(txn, &origin.of(&admin), Entry::change(&before, &after)).await?;
    Ok(ApiJson(after.into()))
}

/// Deactivates an administrator: they stop receiving requests.
#[utoipa::path(delete, path = "/administrators/{id}", tag = "administrators",
    params(("id" = i32, Path, description = "Administrator id")), security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 204, description = "Deactivated"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    ))]
async fn delete_administrator(
    RequireAdmin(admin): RequireAdmin,
    origin: Origin,
    State(db): State<DatabaseConnection>,
    Path(id): Path<i32>,
) -> Result<StatusCode, ApiError> {
    let txn = begin(&db).await?;
    let before = service::get(&txn, id).await?;
    let after = service::deactivate(&txn, id).await?;
    let entry = Entry::changed("administrator.deactivated", "administrator", id, &before, &after);
    audit::commit(txn, &origin.of(&admin), entry).await?;
    Ok(StatusCode::NO_CONTENT)
}
