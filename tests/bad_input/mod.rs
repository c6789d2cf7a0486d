//! Bad input never looks like an outage: input that used to panic (updates no handler takes, huge
//! page numbers and day counts), and what the server answers instead.

mod bounds;
mod documented;
mod fuzz;
mod panics;
mod poison;

use serde_json::Value;

use crate::support::{Backend, TestApp};

/// A server with the bot on (Redis beside PostgreSQL), a known JWT key and limits that do not get
/// in the way.
pub async fn app(backend: Backend) -> TestApp {
    let builder = crate::staff::builder(backend).telegram();
    let builder = if backend.uses_redis() { builder.redis() } else { builder };
    builder.spawn().await
}

/// The `GET` paths of the OpenAPI document that take a `page` parameter: every list.
pub fn lists() -> Vec<String> {
    let doc = serde_json::to_value(kktbot::http::api::openapi::document()).expect("the document is JSON");
    let paths = doc["paths"].as_object().expect("the document has paths");
    let lists: Vec<String> = paths
        .iter()
        .filter(|(path, item)| {
            !path.contains('{')
                && item["get"]["parameters"]
                    .as_array()
                    .is_some_and(|params| params.iter().any(|p| p["name"] == "page" && p["in"] == "query"))
        })
        .map(|(path, _)| path.clone())
        .collect();
    assert!(lists.len() >= 8, "the lists of the API: {lists:?}");
    lists
}

/// The field names of a 422 answer.
pub fn invalid_fields(body: &Value) -> Vec<String> {
    assert_eq!(body["error"]["code"], "validation_failed", "{body}");
    body["error"]["details"]["fields"]
        .as_array()
        .unwrap_or_else(|| panic!("field details: {body}"))
        .iter()
        .map(|f| f["field"].as_str().unwrap_or_default().to_string())
        .collect()
}
