//! The bounds the OpenAPI document states, held at the edge: before a handler reads a JSON body
//! or a query, [`super::extract::ApiJson`] and [`super::extract::ApiQuery`] check it against its
//! operation in the served document — `maxLength`/`minLength` (in characters), `pattern`,
//! `minimum`/`maximum`, `maxItems`/`minItems` — and answer 422 naming each field out of bounds.
//! The document is the one source of the bounds, so a bound it states is a bound the server holds.
//! (Types and required fields are left to serde, which answers 422 as well.)

use std::collections::HashMap;

use axum::http::Method;
use regex::Regex;
use serde_json::Value;

use crate::error::FieldError;

/// The served document as JSON, with its patterns compiled.
pub struct Bounds {
    doc: Value,
    patterns: HashMap<String, Regex>,
}

impl Bounds {
    /// Compiles every pattern the document states; a pattern that does not compile is a bug of
    /// the document, caught by its tests.
    pub fn new(doc: &utoipa::openapi::OpenApi) -> Self {
        let doc = serde_json::to_value(doc).unwrap_or_default();
        let mut found = Vec::new();
        collect_patterns(&doc, &mut found);
        let patterns = found.into_iter().filter_map(|p| Regex::new(&p).ok().map(|r| (p, r))).collect();
        Self { doc, patterns }
    }

    fn operation(&self, path: &str, method: &Method) -> Option<&Value> {
        self.doc["paths"].get(path)?.get(method.as_str().to_ascii_lowercase())
    }

    /// The fields of a JSON body out of its operation's bounds (`path` as routed, `/api/x/{id}`).
    pub fn check_body(&self, path: &str, method: &Method, body: &Value) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if let Some(schema) =
            self.operation(path, method).and_then(|op| op.pointer("/requestBody/content/application~1json/schema"))
        {
            self.check(body, schema, "", &mut errors);
        }
        errors
    }

    /// The query parameters out of their operation's bounds.
    pub fn check_query(&self, path: &str, method: &Method, query: &[(String, String)]) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let Some(params) = self.operation(path, method).and_then(|op| op["parameters"].as_array()) else {
            return errors;
        };
        for param in params.iter().filter(|p| p["in"] == "query") {
            let (Some(name), schema) = (param["name"].as_str(), &param["schema"]) else { continue };
            for (_, value) in query.iter().filter(|(key, _)| key == name) {
                let schema = self.resolve(schema);
                let value = if admits(schema, "integer") || admits(schema, "number") {
                    // A value that is no number is serde's to refuse.
                    match value.trim().parse::<f64>() {
                        Ok(n) if n.is_finite() => serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number),
                        _ => continue,
                    }
                } else {
                    Value::String(value.clone())
                };
                self.check(&value, schema, name, &mut errors);
            }
        }
        errors
    }

    fn resolve<'a>(&'a self, mut schema: &'a Value) -> &'a Value {
        for _ in 0..32 {
            let Some(name) = schema["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/")) else {
                break;
            };
            schema = &self.doc["components"]["schemas"][name];
        }
        schema
    }

    fn check(&self, value: &Value, schema: &Value, field: &str, errors: &mut Vec<FieldError>) {
        let schema = self.resolve(schema);
        for part in schema["allOf"].as_array().into_iter().flatten() {
            self.check(value, part, field, errors);
        }
        let branches: Vec<&Value> = ["oneOf", "anyOf"].iter().filter_map(|k| schema[*k].as_array()).flatten().collect();
        if !branches.is_empty() {
            // Any branch of the value's type that holds it will do; else the first one's errors.
            let mut first = None;
            for branch in branches.into_iter().filter(|b| self.takes(b, value)) {
                let mut found = Vec::new();
                self.check(value, branch, field, &mut found);
                if found.is_empty() {
                    return;
                }
                first.get_or_insert(found);
            }
            errors.extend(first.into_iter().flatten());
            return;
        }
        if !self.takes(schema, value) {
            return;
        }
        let name = || if field.is_empty() { "body".to_string() } else { field.to_string() };
        let join = |key: &str| if field.is_empty() { key.to_string() } else { format!("{field}.{key}") };
        match value {
            Value::String(s) => {
                let length = s.chars().count();
                if let Some(max) = schema["maxLength"].as_u64().filter(|max| length as u64 > *max) {
                    errors.push(FieldError::new(name(), format!("has {length} characters; at most {max}")));
                } else if let Some(min) = schema["minLength"].as_u64().filter(|min| (length as u64) < *min) {
                    errors.push(FieldError::new(name(), format!("has {length} characters; at least {min}")));
                } else if let Some(pattern) = schema["pattern"].as_str()
                    && !self.patterns.get(pattern).is_some_and(|r| r.is_match(s))
                {
                    errors.push(FieldError::new(name(), format!("must match {pattern}")));
                }
            }
            Value::Number(n) => {
                let (min, max) = (schema["minimum"].as_f64(), schema["maximum"].as_f64());
                let n = n.as_f64().unwrap_or(f64::NAN);
                if n.is_nan() || min.is_some_and(|min| n < min) || max.is_some_and(|max| n > max) {
                    let range = match (&schema["minimum"], &schema["maximum"]) {
                        (Value::Number(min), Value::Number(max)) => format!("must be from {min} to {max}"),
                        (Value::Number(min), _) => format!("must be at least {min}"),
                        (_, max) => format!("must be at most {max}"),
                    };
                    errors.push(FieldError::new(name(), range));
                }
            }
            Value::Array(items) => {
                if let Some(max) = schema["maxItems"].as_u64().filter(|max| items.len() as u64 > *max) {
                    errors.push(FieldError::new(name(), format!("has {} items; at most {max}", items.len())));
                    return;
                }
                if let Some(min) = schema["minItems"].as_u64().filter(|min| (items.len() as u64) < *min) {
                    errors.push(FieldError::new(name(), format!("has {} items; at least {min}", items.len())));
                }
                for (i, item) in items.iter().enumerate() {
                    self.check(item, &schema["items"], &join(&i.to_string()), errors);
                }
            }
            Value::Object(map) => {
                for (key, item) in map {
                    if let Some(property) = schema["properties"].get(key) {
                        self.check(item, property, &join(key), errors);
                    }
                }
            }
            Value::Null | Value::Bool(_) => {}
        }
    }

    /// Whether `schema` (resolved) is of `value`'s type; a schema without a type takes anything.
    fn takes(&self, schema: &Value, value: &Value) -> bool {
        let schema = self.resolve(schema);
        let kind = match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0) => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        schema.get("type").is_none() || admits(schema, kind) || (kind == "integer" && admits(schema, "number"))
    }
}

/// Whether a schema's `type` (one name or a list) names `kind`.
fn admits(schema: &Value, kind: &str) -> bool {
    match &schema["type"] {
        Value::String(t) => t == kind,
        Value::Array(types) => types.iter().any(|t| t == kind),
        _ => false,
    }
}

fn collect_patterns(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(p)) = map.get("pattern") {
                out.push(p.clone());
            }
            map.values().for_each(|v| collect_patterns(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_patterns(v, out)),
        _ => {}
    }
}
