//! The OpenAPI 3.1 document, generated from the routes themselves (`utoipa_axum::routes!`), and
//! `GET /api/openapi.json` that serves it.

use std::sync::Arc;

use axum::Extension;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::openapi::OpenApi as Document;
use utoipa::openapi::path::ParameterIn;
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
        (name = "audit", description = "The audit log of staff actions (admin role)"),
        (name = "outbox", description = "Outgoing messages that failed, and sending them again (admin role)"),
        (name = "import", description = "Clients, contacts, cash registers and deadlines from XLSX or CSV (admin role)"),
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
    complete(&mut doc);
    let bounds = Arc::new(super::bounds::Bounds::new(&doc));
    (router.layer(Extension(Arc::new(doc.clone()))).layer(Extension(bounds)), doc)
}

/// Adds to every operation the answers any route may give besides its own — 400 for a path,
/// query or body that does not parse, 401 without a session, 404 for an id that is not there,
/// 413/415 for a body too large or not JSON, 422 for invalid parameters, 429 past the rate
/// limit, 500 for a bug, 503 while the database is unreachable, all in the error shape — and
/// the bounds of the paging parameters every list shares.
fn complete(doc: &mut Document) {
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
    let error = |description: &str| -> RefOr<utoipa::openapi::Response> {
        let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
        ResponseBuilder::new().description(description).content("application/json", content).build().into()
    };
    for (path, item) in doc.paths.paths.iter_mut() {
        let operations =
            [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten();
        for op in operations {
            let mut add = |status: &str, description: &str| {
                op.responses.responses.entry(status.to_string()).or_insert_with(|| error(description));
            };
            let has_body = op.request_body.is_some();
            let json_body = op.request_body.as_ref().is_some_and(|b| b.content.contains_key("application/json"));
            let has_query = op.parameters.iter().flatten().any(|p| p.parameter_in == ParameterIn::Query);
            let signed_in = op.security.as_ref().is_some_and(|s| !s.is_empty());
            add("400", "The path, query or body does not parse");
            add("429", "Too many requests; retry after the Retry-After header's seconds");
            add("500", "Internal error");
            add("503", "The database is unavailable; retry later");
            if signed_in {
                add("401", "Not signed in");
            }
            if path.contains('{') {
                add("404", "Not found");
            }
            if has_body {
                add("413", "The body is too large");
            }
            if json_body {
                add("415", "The body is not JSON (Content-Type: application/json)");
            }
            if has_body || has_query {
                add("422", "Invalid fields or parameters");
            }
            for param in op.parameters.iter_mut().flatten() {
                bound_paging(param);
            }
        }
    }
}

/// The parameters every list shares: `page` and `per_page` take what
/// [`crate::services::listing::page_index`] accepts, `q` and `sort` are of bounded length.
fn bound_paging(param: &mut utoipa::openapi::path::Parameter) {
    use crate::services::listing::{MAX_PAGE, MAX_PER_PAGE, MAX_QUERY_CHARS, MAX_SORT_CHARS};
    use utoipa::openapi::{RefOr, Schema, schema::SchemaType};
    let Some(RefOr::T(Schema::Object(object))) = &mut param.schema else { return };
    if !matches!(object.schema_type, SchemaType::Type(_) | SchemaType::Array(_)) {
        return;
    }
    match param.name.as_str() {
        "page" | "per_page" => {
            let max = if param.name == "page" { MAX_PAGE } else { MAX_PER_PAGE };
            object.minimum = Some(utoipa::Number::UInt(1));
            object.maximum = Some(utoipa::Number::UInt(max as usize));
        }
        "q" => object.max_length = Some(MAX_QUERY_CHARS),
        "sort" => object.max_length = Some(MAX_SORT_CHARS),
        _ => {}
    }
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

    #[test]
    fn every_operation_lists_the_shared_answers_and_lists_their_bounds() {
        let json = serde_json::to_value(document()).unwrap();
        let mut lists = 0;
        for (path, item) in json["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let responses = op["responses"].as_object().unwrap();
                for status in ["400", "429", "500", "503"] {
                    assert!(responses.contains_key(status), "{method} {path} lacks {status}");
                }
                if path.contains('{') {
                    assert!(responses.contains_key("404"), "{method} {path} lacks 404");
                }
                if let Some(body) = op.get("requestBody") {
                    for status in ["413", "422"] {
                        assert!(responses.contains_key(status), "{method} {path} lacks {status}");
                    }
                    // Only a JSON body is refused for its content type (an import takes any file).
                    let json_body = body["content"].get("application/json").is_some();
                    assert_eq!(responses.contains_key("415"), json_body, "{method} {path}: 415");
                }
                for param in op["parameters"].as_array().into_iter().flatten() {
                    let max = match param["name"].as_str() {
                        Some("page") => 1_000_000,
                        Some("per_page") => 100,
                        _ => continue,
                    };
                    lists += 1;
                    assert_eq!(param["schema"]["minimum"], 1, "{path} {param}");
                    assert_eq!(param["schema"]["maximum"], max, "{path} {param}");
                }
            }
        }
        assert!(lists >= 16, "page and per_page of every list: {lists}");
    }
}
