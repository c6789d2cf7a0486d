//! Reading a Bot API call's parameters: query string, JSON, form or multipart body.

use super::*;

/// Parses the query string and the JSON, form or multipart body into one params object plus uploaded files.
pub(super) async fn read_params(request: Request) -> Result<(Value, Vec<UploadedFile>), ApiError> {
    let mut params = Map::new();
    if let Some(query) = request.uri().query() {
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            params.insert(key.to_string(), form_value(&key, value.into_owned()));
        }
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let mut files = Vec::new();
    if content_type.starts_with("multipart/form-data") {
        let bad =
            |e: axum::extract::multipart::MultipartError| ApiError::bad_request(format!("bad multipart body: {e}"));
        let mut form = Multipart::from_request(request, &())
            .await
            .map_err(|e| ApiError::bad_request(format!("bad multipart body: {e}")))?;
        while let Some(field) = form.next_field().await.map_err(bad)? {
            let name = field.name().unwrap_or_default().to_owned();
            match field.file_name().map(str::to_owned) {
                Some(file_name) => {
                    let bytes = field.bytes().await.map_err(bad)?.to_vec();
                    files.push(UploadedFile { field: name, file_name, bytes });
                }
                None => {
                    let text = field.text().await.map_err(bad)?;
                    params.insert(name.clone(), form_value(&name, text));
                }
            }
        }
        // A parameter `attach://NAME` refers to the file part NAME (teloxide sends every upload so).
        for file in &mut files {
            let attach = format!("attach://{}", file.field);
            if let Some(key) =
                params.iter().find_map(|(key, value)| (value.as_str() == Some(&attach)).then(|| key.clone()))
            {
                params.remove(&key);
                file.field = key;
            }
        }
    } else {
        let body = axum::body::to_bytes(request.into_body(), BODY_LIMIT)
            .await
            .map_err(|_| ApiError::new(413, "Request Entity Too Large"))?;
        if content_type.starts_with("application/x-www-form-urlencoded") {
            for (key, value) in form_urlencoded::parse(&body) {
                params.insert(key.to_string(), form_value(&key, value.into_owned()));
            }
        } else if !body.is_empty() {
            let Ok(Value::Object(fields)) = serde_json::from_slice(&body) else {
                return Err(ApiError::bad_request("can't parse JSON object"));
            };
            for (key, value) in fields {
                // Structured parameters may come JSON-encoded inside a string, as in form bodies.
                let value = match value {
                    Value::String(text) if text.starts_with(['{', '[']) => form_value(&key, text),
                    other => other,
                };
                params.insert(key, value);
            }
        }
    }
    Ok((Value::Object(params), files))
}

/// Decodes a form field: numbers, booleans and JSON objects become JSON values, free text stays a string.
pub(super) fn form_value(key: &str, text: String) -> Value {
    if TEXT_PARAMS.contains(&key) {
        return Value::String(text);
    }
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

pub(super) fn int_param(params: &Value, key: &str) -> Option<i64> {
    let value = &params[key];
    value.as_i64().or_else(|| value.as_str()?.trim().parse().ok())
}

pub(super) fn chat_param(params: &Value) -> Option<i64> {
    int_param(params, "chat_id")
}

/// Telegram's chat type for an id: positive ids are users, `-100…` ids supergroups, other negative ids groups.
pub(super) fn chat_type(chat: i64) -> &'static str {
    if chat > 0 {
        "private"
    } else if chat <= -1_000_000_000_000 {
        "supergroup"
    } else {
        "group"
    }
}

pub(super) fn chat_object(chat: i64) -> Value {
    match chat_type(chat) {
        "private" => json!({ "id": chat, "first_name": "Test", "last_name": "User", "type": "private" }),
        kind => json!({ "id": chat, "title": format!("Test {kind} {chat}"), "type": kind }),
    }
}

pub(super) fn mime_type(file_name: &str) -> &'static str {
    let extension = file_name.rsplit_once('.').map(|(_, ext)| ext.to_ascii_lowercase()).unwrap_or_default();
    match extension.as_str() {
        "csv" => "text/csv",
        "txt" => "text/plain",
        "pdf" => "application/pdf",
        "json" => "application/json",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "zip" => "application/zip",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        _ => "application/octet-stream",
    }
}

pub(super) fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}
