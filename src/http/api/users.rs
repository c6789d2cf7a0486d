//! `/api/users`: dashboard accounts, for the admin role only.

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
use crate::services::audit::{self, Entry};
use crate::services::users::{self as service, NewUser, Role, User, UserChanges, UserFilter};

/// A dashboard role: `admin` (everything) or `operator` (everything but users and administrators).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ApiRole {
    Admin,
    Operator,
}

impl From<Role> for ApiRole {
    fn from(role: Role) -> Self {
        match role {
            Role::Admin => ApiRole::Admin,
            Role::Operator => ApiRole::Operator,
        }
    }
}

impl From<ApiRole> for Role {
    fn from(role: ApiRole) -> Self {
        match role {
            ApiRole::Admin => Role::Admin,
            ApiRole::Operator => Role::Operator,
        }
    }
}

/// A dashboard account (never its password hash).
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: i32,
    pub email: String,
    pub name: Option<String>,
    pub role: ApiRole,
    pub is_active: bool,
    /// The password was reset: the user must choose a new one before anything else.
    pub must_change_password: bool,
    /// Their own Telegram id: requests assigned to them reach them there too.
    pub telegram_id: Option<i64>,
    pub last_login_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        Self {
            id: u.id,
            email: u.email,
            name: u.name,
            role: u.role.into(),
            is_active: u.is_active,
            must_change_password: u.must_change_password,
            telegram_id: u.telegram_id,
            last_login_at: u.last_login_at,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserListParams {
    /// Page number, from 1.
    pub page: Option<u64>,
    /// Items per page, 1–100 (default 20).
    pub per_page: Option<u64>,
    /// Search in email and name (case-insensitive substring).
    pub q: Option<String>,
    #[param(value_type = Option<ApiRole>)]
    pub role: Option<ApiRole>,
    pub is_active: Option<bool>,
    /// `id`, `email`, `name`, `role`, `created_at` or `last_login_at`; prefix `-` for descending.
    pub sort: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    #[schema(max_length = 255)]
    pub email: String,
    /// At least 10 characters.
    #[schema(max_length = 256)]
    pub password: String,
    #[schema(max_length = 200)]
    pub name: Option<String>,
    pub role: ApiRole,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    /// `null` clears the name.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 200)]
    pub name: Option<Option<String>>,
    pub role: Option<ApiRole>,
    pub is_active: Option<bool>,
    /// Their own Telegram id (requests assigned to them reach them there); `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 4503599627370495_i64)]
    pub telegram_id: Option<Option<i64>>,
}

/// A reset password: shown once, never stored in the clear.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasswordReset {
    pub user: UserView,
    /// The one-time password to hand to the user; they must change it at their next sign-in.
    pub password: String,
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user, delete_user))
        .routes(routes!(reset_password))
}

/// Lists dashboard accounts.
#[utoipa::path(get, path = "/users", tag = "users", params(UserListParams),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, body = Page<UserView>),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody),
    ))]
async fn list_users(
    _admin: RequireAdmin,
    State(db): State<DatabaseConnection>,
    ApiQuery(params): ApiQuery<UserListParams>,
) -> Result<ApiJson<Page<UserView>>, ApiError> {
    let list = list_params(params.page, params.per_page, params.sort, params.q)?;
    let filter = UserFilter { role: params.role.map(Into::into), is_active: params.is_active };
    let listed = service::list(&db, &list, &filter).await?;
    Ok(ApiJson(page(listed, &list, UserView::from)))
}

/// Creates a dashboard account.
#[utoipa::path(post, path = "/users", tag = "users", request_body = CreateUser,
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 201, body = UserView),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, description = "The email is taken", body = ErrorBody), (status = 422, body = ErrorBody),
    ))]
async fn create_user(
    RequireAdmin(admin): RequireAdmin,
    origin: Origin,
    State(db): State<DatabaseConnection>,
    ApiJson(body): ApiJson<CreateUser>,
) -> Result<(StatusCode, ApiJson<UserView>), ApiError> {
    let new = NewUser { email: body.email, password: body.password, name: body.name, role: body.role.into() };
    let txn = begin(&db).await?;
    let created = service::create(&txn, new).await?;
    audit::commit(txn, &origin.of(&admin), Entry::creation(&created)).await?;
    Ok((StatusCode::CREATED, ApiJson(created.into())))
}

/// One dashboard account.
#[utoipa::path(get, path = "/users/{id}", tag = "users", params(("id" = i32, Path, description = "User id")),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, body = UserView),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    ))]
async fn get_user(
    _admin: RequireAdmin,
    State(db): State<DatabaseConnection>,
    Path(id): Path<i32>,
) -> Result<ApiJson<UserView>, ApiError> {
    Ok(ApiJson(service::get(&db, id).await?.into()))
}

/// Changes a user's name, role, activity or Telegram id; an admin cannot demote or deactivate
/// themselves.
#[utoipa::path(patch, path = "/users/{id}", tag = "users", params(("id" = i32, Path, description = "User id")),
    request_body = UpdateUser, security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, body = UserView),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "Another user has this Telegram id", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
async fn update_user(
    RequireAdmin(admin): RequireAdmin,
    origin: Origin,
    State(db): State<DatabaseConnection>,
    Path(id): Path<i32>,
    ApiJson(body): ApiJson<UpdateUser>,
) -> Result<ApiJson<UserView>, ApiError> {
    let changes = UserChanges {
        name: body.name,
        role: body.role.map(Into::into),
        is_active: body.is_active,
        telegram_id: body.telegram_id,
    };
    let txn = begin(&db).await?;
    let before = service::get(&txn, id).await?;
    let after = service::update(&txn, admin.id, id, changes).await?;
    audit::commit(txn, &origin.of(&admin), Entry::change(&before, &after)).await?;
    Ok(ApiJson(after.into()))
}

/// Deactivates a user: their tokens stop working at once.
#[utoipa::path(delete, path = "/users/{id}", tag = "users", params(("id" = i32, Path, description = "User id")),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 204, description = "Deactivated"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, description = "Yourself", body = ErrorBody),
    ))]
async fn delete_user(
    RequireAdmin(admin): RequireAdmin,
    origin: Origin,
    State(db): State<DatabaseConnection>,
    Path(id): Path<i32>,
) -> Result<StatusCode, ApiError> {
    let txn = begin(&db).await?;
    let before = service::get(&txn, id).await?;
    let after = service::deactivate(&txn, admin.id, id).await?;
    audit::commit(txn, &origin.of(&admin), Entry::changed("user.deactivated", "user", id, &before, &after)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Resets another user's password to a one-time password, shown in this answer only. The user
/// must choose a new password at their next sign-in; every session of theirs ends now.
#[utoipa::path(post, path = "/users/{id}/reset-password", tag = "users",
    params(("id" = i32, Path, description = "User id")), security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, body = PasswordReset, headers(("Cache-Control" = String, description = "no-store"))),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, description = "Your own password (change it instead)", body = ErrorBody),
    ))]
async fn reset_password(
    RequireAdmin(admin): RequireAdmin,
    origin: Origin,
    State(db): State<DatabaseConnection>,
    Path(id): Path<i32>,
) -> Result<impl axum::response::IntoResponse, ApiError> {
    let txn = begin(&db).await?;
    let (user, password) = crate::services::passwords::reset_password(&txn, Some(admin.id), id).await?;
    audit::commit(txn, &origin.of(&admin), Entry::new("password.reset", "user", id)).await?;
    Ok(([(axum::http::header::CACHE_CONTROL, "no-store")], ApiJson(PasswordReset { user: user.into(), password })))
}
