//! Every bound stated in the OpenAPI document, and held by the server. The test walks the
//! document the running server serves: every query parameter and every property of a JSON body
//! must state its bounds (a text its `maxLength` or its values, a number its `minimum` and
//! `maximum`, a list its `maxItems`), so a new field without them fails here. Then the server must
//! refuse, with 422 naming the field, a value just past each bound of every query parameter and
//! every body property, and accept values at the bounds (a sample of each kind).

use reqwest::{Method, StatusCode};
use serde_json::{Map, Value, json};

use super::{app, invalid_fields, lists};
use crate::staff::{admin_token, call};
use crate::support::{Backend, TestApp, backend_test, count_rows};

/// The served document.
async fn served(app: &TestApp) -> Value {
    let res = app.http.get(app.url("/api/openapi.json")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// `schema` with its `$ref`s followed and, of a nullable `oneOf`, the branch that is not null.
fn resolve<'a>(doc: &'a Value, mut schema: &'a Value) -> &'a Value {
    loop {
        if let Some(name) = schema["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/")) {
            schema = &doc["components"]["schemas"][name];
        } else if let Some(branches) = schema["oneOf"].as_array().or(schema["anyOf"].as_array()) {
            let not_null: Vec<&Value> = branches.iter().filter(|b| b["type"] != "null").collect();
            assert_eq!(not_null.len(), 1, "one branch besides null: {schema}");
            schema = not_null[0];
        } else {
            return schema;
        }
    }
}

fn is(schema: &Value, kind: &str) -> bool {
    match &schema["type"] {
        Value::String(t) => t == kind,
        Value::Array(types) => types.iter().any(|t| t == kind),
        _ => false,
    }
}

/// The fields of `schema` (a parameter's or a body's) whose bounds are missing, by name.
fn unbounded(doc: &Value, schema: &Value, field: &str, out: &mut Vec<String>) {
    let schema = resolve(doc, schema);
    if schema.get("enum").is_some() || schema.get("const").is_some() {
        return;
    }
    if is(schema, "string") && schema.get("maxLength").is_none() {
        out.push(format!("{field}: a text without maxLength"));
    }
    if (is(schema, "integer") || is(schema, "number"))
        && (schema.get("minimum").is_none() || schema.get("maximum").is_none())
    {
        out.push(format!("{field}: a number without minimum and maximum"));
    }
    if is(schema, "array") {
        if schema.get("maxItems").is_none() {
            out.push(format!("{field}: a list without maxItems"));
        }
        unbounded(doc, &schema["items"], &format!("{field}[]"), out);
    }
    if is(schema, "object") {
        let properties = schema["properties"].as_object().filter(|p| !p.is_empty());
        match properties {
            None => out.push(format!("{field}: an object of any properties")),
            Some(properties) => {
                for (name, property) in properties {
                    unbounded(doc, property, &format!("{field}.{name}"), out);
                }
            }
        }
    }
}

/// Each operation: its method, path and the operation object.
fn operations(doc: &Value) -> Vec<(Method, String, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            out.push((method.to_uppercase().parse().unwrap(), path.clone(), op));
        }
    }
    out
}

/// `path` with an existing-looking value for each path parameter.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|part| match part {
            "{file}" => "clients.csv",
            p if p.starts_with('{') => "1",
            p => p,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// A value just past one of the bounds of `schema`, with which bound it passes.
fn past_bound(schema: &Value) -> Option<(Value, String)> {
    if let Some(max) = schema["maxLength"].as_u64() {
        return Some((Value::String("я".repeat(max as usize + 1)), format!("maxLength {max}")));
    }
    if let Some(max) = schema["maximum"].as_i64() {
        return Some((json!(max + 1), format!("maximum {max}")));
    }
    if let Some(min) = schema["minimum"].as_i64() {
        return Some((json!(min - 1), format!("minimum {min}")));
    }
    None
}

backend_test!(every_parameter_and_body_field_states_its_bounds_and_the_server_holds_them);
async fn every_parameter_and_body_field_states_its_bounds_and_the_server_holds_them(backend: Backend) {
    let app = app(backend).await;
    let token = admin_token(&app).await;
    let doc = served(&app).await;

    let mut missing = Vec::new();
    let mut checked = 0;
    for (method, path, op) in operations(&doc) {
        let url = concrete(&path);
        for param in op["parameters"].as_array().into_iter().flatten().filter(|p| p["in"] == "query") {
            let name = param["name"].as_str().unwrap();
            let schema = resolve(&doc, &param["schema"]);
            unbounded(&doc, schema, &format!("{method} {path} ?{name}"), &mut missing);
            let Some((value, bound)) = past_bound(schema) else { continue };
            let value = value.as_str().map_or_else(|| value.to_string(), str::to_string);
            let query = url::form_urlencoded::Serializer::new(String::new()).append_pair(name, &value).finish();
            let (status, body) = call(&app, &token, method.clone(), &format!("{url}?{query}"), None).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{method} {path} ?{name} past its {bound}: {body}");
            assert_eq!(invalid_fields(&body), [name], "{method} {path} ?{name} past its {bound}");
            checked += 1;
        }
        let Some(content) = op["requestBody"]["content"].as_object() else { continue };
        // A file (an import) is bounded by the body limit (413), not by fields.
        let Some(body_schema) = content.get("application/json").map(|c| resolve(&doc, &c["schema"])) else { continue };
        unbounded(&doc, body_schema, &format!("{method} {path} body"), &mut missing);
        for (name, property) in body_schema["properties"].as_object().into_iter().flatten() {
            let Some((value, bound)) = past_bound(resolve(&doc, property)) else { continue };
            let sent = Value::Object(Map::from_iter([(name.clone(), value)]));
            let (status, body) = call(&app, &token, method.clone(), &url, Some(sent)).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{method} {path} .{name} past its {bound}: {body}");
            assert_eq!(invalid_fields(&body), [name.as_str()], "{method} {path} .{name} past its {bound}");
            checked += 1;
        }
    }
    assert!(missing.is_empty(), "fields without bounds in the document:\n{}", missing.join("\n"));
    assert!(checked >= 100, "values past a bound refused: {checked}");
    assert_eq!(count_rows(app.db(), "clients").await, 0, "nothing refused was written");
    app.shutdown().await;
}

backend_test!(values_at_the_bounds_are_accepted);
async fn values_at_the_bounds_are_accepted(backend: Backend) {
    let app = app(backend).await;
    let token = admin_token(&app).await;
    let doc = served(&app).await;
    let bound = |schema: &str, field: &str, key: &str| {
        let schema = resolve(&doc, &doc["components"]["schemas"][schema]["properties"][field]);
        schema[key].as_u64().unwrap_or_else(|| panic!("{schema} {field} {key}")) as usize
    };

    // Texts at their longest, in Cyrillic (characters, not bytes), and the patterns' kinds.
    let client = json!({
        "name": "Я".repeat(bound("ClientInput", "name", "maxLength")),
        "inn": " 7707083893 ",
        "contact_person": "Ж".repeat(bound("ClientInput", "contact_person", "maxLength")),
        "phone": "+7 (495) 123-45-67, доб. 12",
        "email": "Бухгалтерия <buh@example.ru>",
        "address": "д".repeat(bound("ClientInput", "address", "maxLength")),
        "notes": "н".repeat(bound("ClientInput", "notes", "maxLength")),
    });
    let (status, created) = call(&app, &token, Method::POST, "/api/clients", Some(client.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    for field in ["name", "contact_person", "address", "notes", "phone"] {
        assert_eq!(created[field], client[field], "{field} stored whole");
    }
    let id = created["id"].as_i64().unwrap();
    for (field, value) in [("inn", "770708389"), ("phone", "<script>"), ("email", "no address")] {
        let mut wrong = client.clone();
        wrong[field] = json!(value);
        let (status, body) = call(&app, &token, Method::PUT, &format!("/api/clients/{id}"), Some(wrong)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field} {value}: {body}");
        assert_eq!(invalid_fields(&body), [field], "{field} {value}");
    }

    // Numbers at their bounds: an invite of the longest validity, the highest id in a query.
    let days = bound("InviteInput", "valid_days", "maximum");
    let invite = json!({"valid_days": days});
    let (status, body) = call(&app, &token, Method::POST, &format!("/api/clients/{id}/invites"), Some(invite)).await;
    assert!(status.is_success(), "{days} days: {status} {body}");
    let (status, body) = call(&app, &token, Method::GET, "/api/cash-registers?client_id=2147483647", None).await;
    assert_eq!((status, &body["total"]), (StatusCode::OK, &json!(0)), "{body}");

    // The search text at its longest on every list that searches, and one character more refused.
    let searched = |list: &String| {
        let params = doc["paths"][list]["get"]["parameters"].as_array();
        params.into_iter().flatten().any(|p| p["name"] == "q")
    };
    for list in lists().into_iter().filter(searched) {
        let (status, body) = call(&app, &token, Method::GET, &format!("{list}?q={}", "q".repeat(200)), None).await;
        assert_eq!(status, StatusCode::OK, "{list}: {body}");
        let (status, body) = call(&app, &token, Method::GET, &format!("{list}?q={}", "q".repeat(201)), None).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{list}: {body}");
        assert_eq!(invalid_fields(&body), ["q"], "{list}");
    }
    app.shutdown().await;
}
