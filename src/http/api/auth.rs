//! `/api/auth`: login (token + HttpOnly cookie), logout, the current user, password change.

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::Error;
use crate::http::api::audit::Origin;
use crate::http::api::extract::ApiJson;
use crate::http::api::jwt::{self, DEVICE_COOKIE, DEVICE_LIFETIME, JwtKeys, SESSION_COOKIE, Session};
use crate::http::api::openapi::ErrorBody;
use crate::http::api::users::UserView;
use crate::http::login_guard::{LoginGuard, normalise};
use crate::http::security::ClientInfo;
use crate::http::{ApiError, AppState};
use crate::services::audit::{self, Actor, Entry, Who};
use crate::services::passwords::{self, Login};
use crate::services::users::{self, User};

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    #[schema(max_length = 255)]
    pub email: String,
    #[schema(max_length = 256)]
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
    #[schema(max_length = 256)]
    pub current_password: String,
    /// At least 10 characters, different from the current password.
    #[schema(max_length = 256)]
    pub new_password: String,
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(change_password))
}

fn cookie(name: &str, value: &str, path: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let cookie = format!("{name}={value}; HttpOnly; SameSite=Strict; Path={path}; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn client(info: Option<Extension<ClientInfo>>) -> ClientInfo {
    info.map_or(ClientInfo { ip: std::net::Ipv4Addr::UNSPECIFIED.into(), https: false }, |Extension(c)| c)
}

/// The answer of a sign-in or a password change: a fresh token, in the body and the cookie.
fn signed_in(keys: &JwtKeys, user: User, https: bool) -> Result<Response, ApiError> {
    let token = keys.issue(&user)?;
    let session = cookie(SESSION_COOKIE, &token, "/", keys.lifetime.num_seconds(), https);
    let mut res = ApiJson(LoginResponse { token, user: user.into() }).into_response();
    res.headers_mut().append(header::SET_COOKIE, session);
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// Signs in with email and password: the token, and the same token in an HttpOnly cookie.
/// An unknown email, a wrong password and a deactivated account get the same 401. A user whose
/// password was reset signs in with the one-time password and must change it first
/// (`user.must_change_password`).
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, body = LoginResponse,
            headers(("Set-Cookie" = String, description = "kktbot_session=<jwt>; HttpOnly; SameSite=Strict; Path=/; Max-Age=…, \
                and kktbot_device (Path=/api/auth), which tells later sign-ins from this browser apart from strangers'"))),
        (status = 401, description = "Wrong email or password", body = ErrorBody),
        (status = 422, body = ErrorBody),
        (status = 429, description = "Too many attempts from this IP, or too many failures for this account from \
            browsers that never signed in to it; see Retry-After", body = ErrorBody),
    ))]
async fn login(
    State(db): State<DatabaseConnection>,
    State(keys): State<Arc<JwtKeys>>,
    guard: Option<Extension<Arc<LoginGuard>>>,
    info: Option<Extension<ClientInfo>>,
    Origin(origin): Origin,
    headers: HeaderMap,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Response, Response> {
    let info = client(info);
    let failed = |e: Error| ApiError::from(e).into_response();
    let account = normalise(&body.email);
    let device = jwt::cookie(&headers, DEVICE_COOKIE).and_then(|t| keys.device_of(t, &account));
    if let Some(Extension(guard)) = &guard
        && let Err(refused) = guard.admit(info.ip, &account, device.as_deref())
    {
        tracing::info!(ip = %info.ip, limit = refused.as_str(), "login refused: too many attempts");
        metrics::counter!("kktbot_logins_total", "outcome" => "throttled").increment(1);
        return Err(refused.into_response());
    }
    // The password is checked first; then the sign-in and its audit record are one transaction.
    let outcome = passwords::authenticate(&db, &body.email, &body.password).await.map_err(failed)?;
    let txn = audit::begin(&db).await.map_err(failed)?;
    match outcome {
        Login::Success(user) => {
            let user = passwords::signed_in(&txn, user).await.map_err(failed)?;
            let actor = Actor::user(user.id, user.name.clone().unwrap_or_else(|| user.email.clone()), origin);
            audit::commit(txn, &actor, Entry::new("login.succeeded", "user", user.id)).await.map_err(failed)?;
            if let Some(Extension(guard)) = &guard {
                guard.succeeded(device.as_deref());
            }
            metrics::counter!("kktbot_logins_total", "outcome" => "success").increment(1);
            let browser = device.unwrap_or_else(passwords::generate_password);
            let device_token = keys.issue_device(&account, &browser).map_err(IntoResponse::into_response)?;
            let mut res = signed_in(&keys, user, info.https).map_err(IntoResponse::into_response)?;
            let device_cookie =
                cookie(DEVICE_COOKIE, &device_token, "/api/auth", DEVICE_LIFETIME.num_seconds(), info.https);
            res.headers_mut().append(header::SET_COOKIE, device_cookie);
            Ok(res)
        }
        Login::Failed { reason, user } => {
            if let Some(Extension(guard)) = &guard {
                guard.failed(&account, device.as_deref());
            }
            let email: String = account.chars().take(254).collect();
            let (who, entry) = match &user {
                Some(u) => (
                    Who::User { id: u.id, name: u.name.clone().unwrap_or_else(|| u.email.clone()) },
                    Entry::new("login.failed", "user", u.id),
                ),
                None => (Who::Anonymous { account: email.clone() }, Entry::general("login.failed", "user")),
            };
            let entry = entry.with_details(serde_json::json!({"email": email, "reason": reason.as_str()}));
            audit::commit(txn, &Actor { who, origin }, entry).await.map_err(failed)?;
            tracing::info!(%email, ip = %info.ip, reason = reason.as_str(), "login failed");
            metrics::counter!("kktbot_logins_total", "outcome" => reason.as_str()).increment(1);
            Err(ApiError::new(StatusCode::UNAUTHORIZED, "invalid_credentials", "wrong email or password")
                .into_response())
        }
    }
}

/// Signs out of the dashboard: clears the session cookie (a bearer token stays valid until it
/// expires; a password change or a deactivation ends it at once).
#[utoipa::path(post, path = "/auth/logout", tag = "auth", responses((status = 204, description = "The cookie is cleared"),
    (status = 503, body = ErrorBody, description = "The database is unavailable")))]
async fn logout(
    session: Result<Session, ApiError>,
    State(db): State<DatabaseConnection>,
    Origin(origin): Origin,
    info: Option<Extension<ClientInfo>>,
) -> Result<Response, ApiError> {
    // A signed-in user's sign-out is recorded; clearing a stale cookie is not an action.
    if let Ok(Session(user)) = &session {
        audit::record_alone(&db, &Actor::user(user.id, user.label(), origin), Entry::new("logout", "user", user.id))
            .await?;
    }
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut().insert(header::SET_COOKIE, cookie(SESSION_COOKIE, "", "/", 0, client(info).https));
    Ok(res)
}

/// The signed-in user (also while a password change is pending).
#[utoipa::path(get, path = "/auth/me", tag = "auth", security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = UserView), (status = 401, body = ErrorBody)))]
async fn me(Session(user): Session, State(db): State<DatabaseConnection>) -> Result<ApiJson<UserView>, ApiError> {
    Ok(ApiJson(users::get(&db, user.id).await?.into()))
}

/// Changes the signed-in user's password (the current one is required). Every session of the
/// user ends, this one included: the answer carries a fresh token (and cookie) for this one.
#[utoipa::path(post, path = "/auth/password", tag = "auth", request_body = PasswordChange,
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "Changed; a new token for this session", body = LoginResponse),
        (status = 401, body = ErrorBody),
        (status = 422, description = "Wrong current password, or a new one too short or the same", body = ErrorBody),
        (status = 429, body = ErrorBody),
    ))]
async fn change_password(
    Session(user): Session,
    State(db): State<DatabaseConnection>,
    State(keys): State<Arc<JwtKeys>>,
    guard: Option<Extension<Arc<LoginGuard>>>,
    info: Option<Extension<ClientInfo>>,
    origin: Origin,
    ApiJson(body): ApiJson<PasswordChange>,
) -> Result<Response, Response> {
    let info = client(info);
    if let Some(Extension(guard)) = &guard {
        guard.admit_change(info.ip, user.id).map_err(IntoResponse::into_response)?;
    }
    let actor = origin.of(&user);
    let changed = async {
        let txn = audit::begin(&db).await?;
        let changed = passwords::change_password(&txn, user.id, &body.current_password, &body.new_password).await?;
        audit::commit(txn, &actor, Entry::new("password.changed", "user", user.id)).await?;
        Ok::<_, Error>(changed)
    }
    .await;
    let changed = match changed {
        Ok(changed) => changed,
        Err(e) => {
            let wrong_current = matches!(&e, Error::Validation(f) if f.iter().any(|f| f.field == "current_password"));
            if wrong_current && let Some(Extension(guard)) = &guard {
                guard.change_failed(user.id);
            }
            return Err(ApiError::from(e).into_response());
        }
    };
    signed_in(&keys, changed, info.https).map_err(IntoResponse::into_response)
}
