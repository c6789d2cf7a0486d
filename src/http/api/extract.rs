//! Request extractors that answer in the one JSON error shape: a body or query that does not
//! parse is 400 (or 415/413), one that parses but is invalid is 422 with per-field details, and
//! so is text holding U+0000, which no database stores, and a value out of the bounds the
//! OpenAPI document states for it ([`super::bounds`]).

use axum::extract::rejection::{JsonRejection, QueryRejection};
use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, MatchedPath, Request};
use axum::http::request::Parts;
use axum::http::{Extensions, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::bounds::Bounds;
use crate::error::{Error, FieldError};
use crate::http::ApiError;

/// A JSON body (request) or answer (response).
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let route = Route::of(req.extensions(), req.method());
        let value = match axum::Json::<serde_json::Value>::from_request(req, state).await {
            Ok(axum::Json(value)) => value,
            Err(rejection) => return Err(json_rejection(rejection)),
        };
        checked(route, value).map(ApiJson)
    }
}

/// An optional JSON body: an empty one (or only whitespace) is `T::default()`; otherwise it is
/// checked as [`ApiJson`] checks its body (the content type aside).
pub struct OptionalJson<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let route = Route::of(req.extensions(), req.method());
        let body = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|rejection| ApiError::new(rejection.status(), "bad_request", rejection.body_text()))?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default()));
        }
        let value: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", e.to_string()))?;
        checked(route, value).map(OptionalJson)
    }
}

/// A parsed JSON body checked for U+0000 and for the bounds of its operation, then read as `T`.
fn checked<T: DeserializeOwned>(route: Option<Route>, value: serde_json::Value) -> Result<T, ApiError> {
    refuse_nul(&value)?;
    if let Some(route) = route {
        refuse(route.bounds.check_body(&route.path, &route.method, &value))?;
    }
    serde_json::from_value(value).map_err(|e| {
        // serde names the field in its message ("missing field `email`", "unknown field `x`").
        let message = e.to_string();
        let field = message.split('`').nth(1).unwrap_or("body").to_string();
        ApiError::from(Error::Validation(vec![FieldError::new(field, message)]))
    })
}

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// The operation a request was routed to, and the bounds of the served document.
struct Route {
    bounds: Arc<Bounds>,
    path: String,
    method: Method,
}

impl Route {
    fn of(extensions: &Extensions, method: &Method) -> Option<Self> {
        let bounds = extensions.get::<Arc<Bounds>>()?.clone();
        let path = extensions.get::<MatchedPath>()?.as_str().to_string();
        Some(Self { bounds, path, method: method.clone() })
    }
}

/// 422 naming the fields, when there are any.
fn refuse(errors: Vec<FieldError>) -> Result<(), ApiError> {
    if errors.is_empty() { Ok(()) } else { Err(Error::Validation(errors).into()) }
}

/// No database stores U+0000 in text (PostgreSQL refuses it): 422 naming each field that holds it.
pub fn refuse_nul(value: &serde_json::Value) -> Result<(), ApiError> {
    let mut fields = Vec::new();
    nul_fields(value, "", &mut fields);
    if fields.is_empty() {
        return Ok(());
    }
    Err(Error::Validation(fields.into_iter().map(|f| FieldError::new(f, "must not contain U+0000")).collect()).into())
}

/// The paths (`name`, `items.0.text`) of the strings in `value` that hold U+0000, keys included.
fn nul_fields(value: &serde_json::Value, path: &str, out: &mut Vec<String>) {
    let join = |key: &str| if path.is_empty() { key.to_string() } else { format!("{path}.{key}") };
    match value {
        serde_json::Value::String(s) if s.contains('\0') => {
            out.push(if path.is_empty() { "body".into() } else { path.into() })
        }
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                nul_fields(item, &join(&i.to_string()), out);
            }
        }
        serde_json::Value::Object(map) => {
            for (key, item) in map {
                if key.contains('\0') {
                    out.push(join(&key.replace('\0', "\u{FFFD}")));
                }
                nul_fields(item, &join(key), out);
            }
        }
        _ => {}
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send JSON with Content-Type: application/json",
        ),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "the body is too large")
        }
        other => ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", other.body_text()),
    }
}

/// Query parameters.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default().as_bytes();
        let errors: Vec<FieldError> = url::form_urlencoded::parse(query)
            .filter(|(key, value)| key.contains('\0') || value.contains('\0'))
            .map(|(key, _)| FieldError::new(key.replace('\0', "\u{FFFD}"), "must not contain U+0000"))
            .collect();
        refuse(errors)?;
        if let Some(route) = Route::of(&parts.extensions, &parts.method) {
            let pairs: Vec<(String, String)> =
                url::form_urlencoded::parse(query).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
            refuse(route.bounds.check_query(&route.path, &route.method, &pairs))?;
        }
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(ApiQuery(value)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => {
                Err(ApiError::from(Error::Validation(vec![FieldError::new("query", e.body_text())])))
            }
            Err(other) => Err(ApiError::new(StatusCode::BAD_REQUEST, "bad_request", other.body_text())),
        }
    }
}

/// `page` (from 1) and `per_page` (1–100, default 20) of a list.
#[derive(Clone, Copy, Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page number, from 1 to 1,000,000.
    pub page: Option<u64>,
    /// Items per page, 1–100 (default 20).
    pub per_page: Option<u64>,
}

impl PageParams {
    /// The page and page size, or 422 naming the parameter out of bounds.
    pub fn validate(&self) -> Result<(u64, u64), ApiError> {
        let (page, per_page) = (self.page.unwrap_or(1), self.per_page.unwrap_or(20));
        crate::services::listing::page_index(page, per_page)?;
        Ok((page, per_page))
    }
}

/// One page of a list, with the total count.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
}

/// For a nullable field of a change: absent → `None` (leave as is), `null` → `Some(None)`
/// (clear), a value → `Some(Some(v))`. Use with `#[serde(default, deserialize_with = …)]`.
pub fn double_option<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}
