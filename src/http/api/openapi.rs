//! The OpenAPI 3.1 document, generated from the routes themselves (`utoipa_axum::routes!`), and
//! `GET /api/openapi.json` that serves it.

use std::sync::Arc;

use axum::Extension;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::openapi::OpenApi as Document;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::AppState;
use crate::http::api::jwt::SESSION_COOKIE;

/// Every error answer: `{"error": {"code", "message", "details"}}`.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorObject,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorObject {
    /// Stable machine-readable code: `unauthorized`, `forbidden`, `not_found`, `validation_failed`,
    /// `conflict`, `rate_limited`, `payload_too_large`, …
    pub code: String,
    /// A human-readable explanation.
    pub message: String,
    /// For `validation_failed`: `{"fields": [{"field", "message"}]}`; otherwise usually null.
    #[schema(value_type = Option<Object>)]
    pub details: serde_json::Value,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "kktbot API", description = "REST API of kktbot: the dashboard's back end and the staff's scripting interface."),
    modifiers(&SecuritySchemes),
    components(schemas(ErrorBody, ErrorObject, crate::error::FieldError)),
    tags(
        (name = "meta", description = "The API itself"),
        (name = "auth", description = "Sign in and out, the current user, password change"),
        (name = "users", description = "Dashboard accounts (admin role)"),
        (name = "administrators", description = "Telegram administrators who decide requests (admin role)"),
    )
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("The token from POST /api/auth/login"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                SESSION_COOKIE,
                "The HttpOnly session cookie set by POST /api/auth/login; changes also need the header \
                 X-Requested-With: kktbot",
            ))),
        );
    }
}

/// The whole API mounted at `/api`, split into the axum router (which also serves the document)
/// and the document.
pub fn split() -> (axum::Router<AppState>, Document) {
    let (router, mut doc) =
        OpenApiRouter::with_openapi(ApiDoc::openapi()).nest("/api", super::router()).split_for_parts();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    (router.layer(Extension(Arc::new(doc.clone()))), doc)
}

/// The document, as `GET /api/openapi.json` serves it.
pub fn document() -> Document {
    split().1
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(openapi_json))
}

/// The OpenAPI 3.1 document of this API.
#[utoipa::path(get, path = "/openapi.json", tag = "meta",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json")))]
async fn openapi_json(Extension(doc): Extension<Arc<Document>>) -> impl IntoResponse {
    axum::Json(doc.as_ref().clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_openapi_3_1_with_security_and_errors() {
        let doc = document();
        let json = serde_json::to_value(&doc).unwrap();
        assert_eq!(json["openapi"], "3.1.0");
        let parsed: Document = serde_json::from_value(json).unwrap();
        let components = parsed.components.unwrap();
        assert!(components.security_schemes.contains_key("bearer"));
        assert!(components.security_schemes.contains_key("cookie"));
        assert!(components.schemas.contains_key("ErrorBody"));
        assert!(parsed.paths.paths.contains_key("/api/openapi.json"));
    }
}
