//! `/api/auth`: login (token + HttpOnly cookie), logout, the current user, password change.

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::api::extract::ApiJson;
use crate::http::api::jwt::{CurrentUser, JwtKeys, SESSION_COOKIE};
use crate::http::api::openapi::ErrorBody;
use crate::http::api::users::UserView;
use crate::http::security::{ClientInfo, LoginLimiter};
use crate::http::{ApiError, AppState};
use crate::services::users;

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// HS256 JWT for `Authorization: Bearer`; the same token is set in the session cookie.
    pub token: String,
    pub user: UserView,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    /// At least 10 characters.
    pub new_password: String,
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(change_password))
}

fn session_cookie(value: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let cookie = format!("{SESSION_COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&cookie).expect("a JWT is a valid header value")
}

fn client(info: Option<Extension<ClientInfo>>) -> ClientInfo {
    info.map_or(ClientInfo { ip: std::net::Ipv4Addr::UNSPECIFIED.into(), https: false }, |Extension(c)| c)
}

/// Signs in with email and password: the token, and the same token in an HttpOnly cookie.
/// An unknown email, a wrong password and a deactivated account get the same 401.
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, body = LoginResponse,
            headers(("Set-Cookie" = String, description = "kktbot_session=<jwt>; HttpOnly; SameSite=Strict; Path=/; Max-Age=…"))),
        (status = 401, description = "Wrong email or password", body = ErrorBody),
        (status = 422, body = ErrorBody),
        (status = 429, description = "Too many attempts (per IP and per account); see Retry-After", body = ErrorBody),
    ))]
async fn login(
    State(db): State<DatabaseConnection>,
    State(keys): State<Arc<JwtKeys>>,
    limiter: Option<Extension<Arc<LoginLimiter>>>,
    info: Option<Extension<ClientInfo>>,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Response, Response> {
    let info = client(info);
    if let Some(Extension(limiter)) = &limiter {
        limiter.check(info.ip, &body.email).map_err(IntoResponse::into_response)?;
    }
    let user = users::authenticate(&db, &body.email, &body.password)
        .await
        .map_err(|e| ApiError::from(e).into_response())?
        .ok_or_else(|| {
            ApiError::new(StatusCode::UNAUTHORIZED, "invalid_credentials", "wrong email or password").into_response()
        })?;
    let token = keys.issue(&user).map_err(IntoResponse::into_response)?;
    let cookie = session_cookie(&token, keys.lifetime.num_seconds(), info.https);
    let mut res = ApiJson(LoginResponse { token, user: user.into() }).into_response();
    res.headers_mut().insert(header::SET_COOKIE, cookie);
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// Signs out of the dashboard: clears the session cookie (a bearer token stays valid until it
/// expires; deactivate the user to stop it at once).
#[utoipa::path(post, path = "/auth/logout", tag = "auth", responses((status = 204, description = "The cookie is cleared")))]
async fn logout(info: Option<Extension<ClientInfo>>) -> Response {
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut().insert(header::SET_COOKIE, session_cookie("", 0, client(info).https));
    res
}

/// The signed-in user.
#[utoipa::path(get, path = "/auth/me", tag = "auth", security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = UserView), (status = 401, body = ErrorBody)))]
async fn me(user: CurrentUser, State(db): State<DatabaseConnection>) -> Result<ApiJson<UserView>, ApiError> {
    Ok(ApiJson(users::get(&db, user.id).await?.into()))
}

/// Changes the signed-in user's password.
#[utoipa::path(post, path = "/auth/password", tag = "auth", request_body = PasswordChange,
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 204, description = "Changed"),
        (status = 401, body = ErrorBody),
        (status = 422, description = "Wrong current password or too short a new one", body = ErrorBody),
        (status = 429, body = ErrorBody),
    ))]
async fn change_password(
    user: CurrentUser,
    State(db): State<DatabaseConnection>,
    limiter: Option<Extension<Arc<LoginLimiter>>>,
    info: Option<Extension<ClientInfo>>,
    ApiJson(body): ApiJson<PasswordChange>,
) -> Result<StatusCode, Response> {
    if let Some(Extension(limiter)) = &limiter {
        limiter.check(client(info).ip, &user.email).map_err(IntoResponse::into_response)?;
    }
    users::change_password(&db, user.id, &body.current_password, &body.new_password)
        .await
        .map_err(|e| ApiError::from(e).into_response())?;
    Ok(StatusCode::NO_CONTENT)
}
