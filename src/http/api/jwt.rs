//! Dashboard authentication: HS256 JWTs (sub, role, ver, iat, exp) sent as `Authorization: Bearer`
//! by scripts or in the HttpOnly `kktbot_session` cookie by the dashboard. A request
//! authenticated by the cookie that changes something must carry `X-Requested-With: kktbot`
//! (a page on another site cannot add that header). Every request re-reads the user: a token
//! works only while the account is active and its `ver` is the user's `token_version`, so a
//! password reset, a password change or a deactivation ends every session at once.
//!
//! Tokens are signed with `JWT_SECRET_KEY`; one signed with `JWT_SECRET_KEY_PREVIOUS` is still
//! accepted until it expires, so the key can be rotated without signing everyone out.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};

use crate::http::ApiError;
use crate::services::users::{self, Role, User};

/// The dashboard's session cookie.
pub const SESSION_COOKIE: &str = "kktbot_session";
/// The header a cookie-authenticated change must carry, and its value.
pub const CSRF_HEADER: &str = "x-requested-with";
pub const CSRF_VALUE: &str = "kktbot";

/// The cookie a browser gets at each successful sign-in, telling the login guard
/// ([`crate::http::login_guard`]) that it has signed in to that account before.
pub const DEVICE_COOKIE: &str = "kktbot_device";
/// How long a device cookie lasts.
pub const DEVICE_LIFETIME: chrono::Duration = chrono::Duration::days(365);
const DEVICE_AUDIENCE: &str = "kktbot-device";

/// A device token: the account (lower-cased email) and a random id of the browser.
#[derive(Debug, Serialize, Deserialize)]
struct DeviceClaims {
    aud: String,
    sub: String,
    jti: String,
    iat: i64,
    exp: i64,
}

/// The signing key, the keys accepted for verification (the current one first) and the token
/// lifetime.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: Vec<DecodingKey>,
    pub lifetime: chrono::Duration,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKeys").field("lifetime", &self.lifetime).finish_non_exhaustive()
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The user's id.
    pub sub: String,
    pub role: Role,
    /// The user's `token_version` when the token was issued (0 in tokens from before versions).
    #[serde(default)]
    pub ver: i32,
    pub iat: i64,
    pub exp: i64,
}

impl JwtKeys {
    /// Keys signing with `secret` and verifying with it and `previous`.
    pub fn new(secret: &[u8], previous: Option<&[u8]>, lifetime_hours: u32) -> Self {
        let decoding = std::iter::once(secret).chain(previous).map(DecodingKey::from_secret).collect();
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding,
            lifetime: chrono::Duration::hours(i64::from(lifetime_hours)),
        }
    }

    /// Signs any claims with the current key.
    pub fn sign(&self, claims: &impl Serialize) -> Result<String, ApiError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "cannot issue a token"))
    }

    /// The claims of a token signed with one of the keys, checked by `validation`.
    pub fn decode<C: serde::de::DeserializeOwned>(&self, token: &str, validation: &Validation) -> Option<C> {
        self.decoding.iter().find_map(|key| jsonwebtoken::decode::<C>(token, key, validation).ok()).map(|d| d.claims)
    }

    /// A token for a user, valid for the configured lifetime.
    pub fn issue(&self, user: &User) -> Result<String, ApiError> {
        let now = Utc::now();
        let claims = Claims {
            sub: user.id.to_string(),
            role: user.role,
            ver: user.token_version,
            iat: now.timestamp(),
            exp: (now + self.lifetime).timestamp(),
        };
        self.sign(&claims)
    }

    /// A device token for `account` (a lower-cased email) with the browser's id.
    pub fn issue_device(&self, account: &str, id: &str) -> Result<String, ApiError> {
        let now = Utc::now();
        let claims = DeviceClaims {
            aud: DEVICE_AUDIENCE.into(),
            sub: account.to_string(),
            jti: id.to_string(),
            iat: now.timestamp(),
            exp: (now + DEVICE_LIFETIME).timestamp(),
        };
        self.sign(&claims)
    }

    /// The browser id of a valid device token of `account`.
    pub fn device_of(&self, token: &str, account: &str) -> Option<String> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[DEVICE_AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "sub", "aud"]);
        let claims: DeviceClaims = self.decode(token, &validation)?;
        (claims.sub == account).then_some(claims.jti)
    }

    /// The claims of a valid session token: HS256 only (`alg: none` and other algorithms are
    /// refused), signed with the current or the previous key, not expired, and no audience (a
    /// device token is not a session).
    pub fn verify(&self, token: &str) -> Option<Claims> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub", "iat"]);
        let claims: serde_json::Value = self.decode(token, &validation)?;
        if claims.get("aud").is_some() {
            return None;
        }
        serde_json::from_value(claims).ok()
    }
}

/// The signed-in dashboard user.
#[derive(Clone, Debug)]
pub struct CurrentUser {
    pub id: i32,
    pub email: String,
    pub name: Option<String>,
    pub role: Role,
}

impl CurrentUser {
    /// How the audit log names this user.
    pub fn label(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.email.clone())
    }
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
}

/// A cookie's value from the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|pair| {
        match pair.trim().split_once('=') {
            Some((n, value)) if n == name && !value.is_empty() => Some(value),
            _ => None,
        }
    })
}

/// Where the token came from: a cookie-borne token needs the CSRF header on changes.
fn token_of(parts: &Parts) -> Option<(String, bool)> {
    if let Some(value) = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        return value.strip_prefix("Bearer ").map(|t| (t.trim().to_string(), false));
    }
    cookie(&parts.headers, SESSION_COOKIE).map(|token| (token.to_string(), true))
}

/// The user a request's token speaks for, and whether they must change their password first.
async fn signed_in<S>(parts: &Parts, state: &S) -> Result<(CurrentUser, bool), ApiError>
where
    S: Send + Sync,
    Arc<JwtKeys>: FromRef<S>,
    DatabaseConnection: FromRef<S>,
{
    let (token, from_cookie) = token_of(parts).ok_or_else(|| unauthorized("sign in first"))?;
    let keys = Arc::<JwtKeys>::from_ref(state);
    let claims = keys.verify(&token).ok_or_else(|| unauthorized("the token is invalid or expired"))?;
    let changes = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
    if from_cookie && changes && parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()) != Some(CSRF_VALUE) {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "csrf", "X-Requested-With: kktbot is required"));
    }
    let id: i32 = claims.sub.parse().map_err(|_| unauthorized("the token is invalid or expired"))?;
    let db = DatabaseConnection::from_ref(state);
    let user = users::session(&db, id, claims.ver)
        .await?
        .ok_or_else(|| unauthorized("the session has ended; sign in again"))?;
    let must_change = user.must_change_password;
    Ok((CurrentUser { id: user.id, email: user.email, name: user.name, role: user.role }, must_change))
}

impl<S> FromRequestParts<S> for CurrentUser
where
    S: Send + Sync,
    Arc<JwtKeys>: FromRef<S>,
    DatabaseConnection: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let (user, must_change) = signed_in(parts, state).await?;
        if must_change {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "password_change_required",
                "your password was reset: choose a new one first (POST /api/auth/password)",
            ));
        }
        Ok(user)
    }
}

/// A signed-in user, also one whose password was reset and who has not chosen a new one yet:
/// for the routes such a user may use (who am I, change my password).
#[derive(Clone, Debug)]
pub struct Session(pub CurrentUser);

impl<S> FromRequestParts<S> for Session
where
    S: Send + Sync,
    Arc<JwtKeys>: FromRef<S>,
    DatabaseConnection: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Ok(Session(signed_in(parts, state).await?.0))
    }
}

/// A signed-in user with the admin role (403 otherwise).
#[derive(Clone, Debug)]
pub struct RequireAdmin(pub CurrentUser);

impl<S> FromRequestParts<S> for RequireAdmin
where
    S: Send + Sync,
    Arc<JwtKeys>: FromRef<S>,
    DatabaseConnection: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let user = CurrentUser::from_request_parts(parts, state).await?;
        if user.role != Role::Admin {
            return Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", "this needs the admin role"));
        }
        Ok(RequireAdmin(user))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> User {
        User {
            id: 7,
            email: "a@example.com".into(),
            password_hash: String::new(),
            name: None,
            role: Role::Operator,
            is_active: true,
            token_version: 3,
            must_change_password: false,
            last_login_at: None,
            telegram_id: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            search: String::new(),
        }
    }

    #[test]
    fn tokens_verify_only_with_the_same_key_and_algorithm() {
        let keys = JwtKeys::new(b"0123456789abcdef0123456789abcdef", None, 24);
        let token = keys.issue(&user()).unwrap();
        let claims = keys.verify(&token).unwrap();
        assert_eq!((claims.sub.as_str(), claims.role, claims.ver), ("7", Role::Operator, 3));
        assert!(claims.exp - claims.iat == 24 * 3600);

        let other = JwtKeys::new(b"another-key-another-key-another-key", None, 24);
        assert!(other.verify(&token).is_none(), "another key");
        let rotated =
            JwtKeys::new(b"another-key-another-key-another-key", Some(b"0123456789abcdef0123456789abcdef"), 24);
        assert!(rotated.verify(&token).is_some(), "the previous key still verifies");
        assert!(keys.verify(&rotated.issue(&user()).unwrap()).is_none(), "new tokens are signed with the new key");

        // A device token is no session, and speaks for its account only.
        let device = keys.issue_device("a@example.com", "browser-1").unwrap();
        assert!(keys.verify(&device).is_none(), "a device token is not a session");
        assert_eq!(keys.device_of(&device, "a@example.com").as_deref(), Some("browser-1"));
        assert_eq!(keys.device_of(&device, "b@example.com"), None);
        assert_eq!(keys.device_of(&token, "a@example.com"), None, "a session token is not a device token");
        assert_eq!(other.device_of(&device, "a@example.com"), None);

        // alg: none with the same payload.
        let payload = token.split('.').nth(1).unwrap();
        let none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
        assert!(keys.verify(&none).is_none(), "alg none");

        // A changed payload (role admin) with the original signature.
        use base64::Engine;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut body: serde_json::Value = serde_json::from_slice(&engine.decode(payload).unwrap()).unwrap();
        body["role"] = "admin".into();
        let forged_payload = engine.encode(serde_json::to_vec(&body).unwrap());
        let parts: Vec<&str> = token.split('.').collect();
        assert!(keys.verify(&format!("{}.{forged_payload}.{}", parts[0], parts[2])).is_none(), "changed payload");

        let expired = JwtKeys::new(b"0123456789abcdef0123456789abcdef", None, 24);
        let old = Claims { sub: "7".into(), role: Role::Operator, ver: 0, iat: 1, exp: 2 };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &old, &expired.encoding).unwrap();
        assert!(expired.verify(&token).is_none(), "expired");
    }
}
