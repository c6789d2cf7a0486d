//! Dashboard authentication: HS256 JWTs (sub, role, iat, exp) sent as `Authorization: Bearer`
//! by scripts or in the HttpOnly `kktbot_session` cookie by the dashboard. A request
//! authenticated by the cookie that changes something must carry `X-Requested-With: kktbot`
//! (a page on another site cannot add that header). Every request re-reads the user, so a
//! deactivated user's tokens stop working at once.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use sea_orm::{DatabaseConnection, EntityTrait};
use serde::{Deserialize, Serialize};

use crate::entities::user::{self, Role};
use crate::http::ApiError;

/// The dashboard's session cookie.
pub const SESSION_COOKIE: &str = "kktbot_session";
/// The header a cookie-authenticated change must carry, and its value.
pub const CSRF_HEADER: &str = "x-requested-with";
pub const CSRF_VALUE: &str = "kktbot";

/// The signing key and token lifetime.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
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
    pub iat: i64,
    pub exp: i64,
}

impl JwtKeys {
    pub fn new(secret: &[u8], lifetime_hours: u32) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            lifetime: chrono::Duration::hours(i64::from(lifetime_hours)),
        }
    }

    /// A token for a user, valid for the configured lifetime.
    pub fn issue(&self, user: &user::Model) -> Result<String, ApiError> {
        let now = Utc::now();
        let claims = Claims {
            sub: user.id.to_string(),
            role: user.role,
            iat: now.timestamp(),
            exp: (now + self.lifetime).timestamp(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "cannot issue a token"))
    }

    /// The claims of a valid token: HS256 only (`alg: none` and other algorithms are refused),
    /// signed with this key, not expired.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub", "iat"]);
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation).ok().map(|data| data.claims)
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

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
}

/// Where the token came from: a cookie-borne token needs the CSRF header on changes.
fn token_of(parts: &Parts) -> Option<(String, bool)> {
    if let Some(value) = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        return value.strip_prefix("Bearer ").map(|t| (t.trim().to_string(), false));
    }
    let cookies = parts.headers.get_all(header::COOKIE);
    for value in cookies.iter().filter_map(|v| v.to_str().ok()) {
        for pair in value.split(';') {
            if let Some((name, token)) = pair.trim().split_once('=')
                && name == SESSION_COOKIE
                && !token.is_empty()
            {
                return Some((token.to_string(), true));
            }
        }
    }
    None
}

impl<S> FromRequestParts<S> for CurrentUser
where
    S: Send + Sync,
    Arc<JwtKeys>: FromRef<S>,
    DatabaseConnection: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let (token, from_cookie) = token_of(parts).ok_or_else(|| unauthorized("sign in first"))?;
        let keys = Arc::<JwtKeys>::from_ref(state);
        let claims = keys.verify(&token).ok_or_else(|| unauthorized("the token is invalid or expired"))?;
        let changes = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if from_cookie && changes && parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()) != Some(CSRF_VALUE) {
            return Err(ApiError::new(StatusCode::FORBIDDEN, "csrf", "X-Requested-With: kktbot is required"));
        }
        let id: i32 = claims.sub.parse().map_err(|_| unauthorized("the token is invalid or expired"))?;
        let db = DatabaseConnection::from_ref(state);
        let user = user::Entity::find_by_id(id)
            .one(&db)
            .await
            .map_err(crate::error::Error::from)?
            .filter(|u| u.is_active)
            .ok_or_else(|| unauthorized("the account is not active"))?;
        Ok(CurrentUser { id: user.id, email: user.email, name: user.name, role: user.role })
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

    fn user() -> user::Model {
        user::Model {
            id: 7,
            email: "a@example.com".into(),
            password_hash: String::new(),
            name: None,
            role: Role::Operator,
            is_active: true,
            last_login_at: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn tokens_verify_only_with_the_same_key_and_algorithm() {
        let keys = JwtKeys::new(b"0123456789abcdef0123456789abcdef", 24);
        let token = keys.issue(&user()).unwrap();
        let claims = keys.verify(&token).unwrap();
        assert_eq!((claims.sub.as_str(), claims.role), ("7", Role::Operator));
        assert!(claims.exp - claims.iat == 24 * 3600);

        let other = JwtKeys::new(b"another-key-another-key-another-key", 24);
        assert!(other.verify(&token).is_none(), "another key");

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

        let expired = JwtKeys::new(b"0123456789abcdef0123456789abcdef", 24);
        let old = Claims { sub: "7".into(), role: Role::Operator, iat: 1, exp: 2 };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &old, &expired.encoding).unwrap();
        assert!(expired.verify(&token).is_none(), "expired");
    }
}
