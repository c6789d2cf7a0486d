//! Staff work through the REST API: accounts and sessions, the audit log, import and export.
//! The helpers here sign in and call the API as a dashboard user would.

mod accounts;
mod audit;
mod export;
pub mod import;
mod import_cli;
mod replay;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Backend, TestApp, TestAppBuilder};

pub const JWT_SECRET: &str = "staff-test-secret-0123456789abcdef0123";

/// A server with a known JWT key and limits that do not get in the way.
pub fn builder(backend: Backend) -> TestAppBuilder {
    TestApp::builder()
        .backend(backend)
        .env("JWT_SECRET_KEY", JWT_SECRET)
        .env("LOGIN_RATE_LIMIT_PER_MINUTE", "1000")
        .env("API_RATE_LIMIT_PER_MINUTE", "100000")
}

/// Signs in; the whole answer.
pub async fn login(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.http.post(app.url("/api/auth/login")).json(&json!({"email": email, "password": password})).send().await.unwrap()
}

/// Signs in and returns the bearer token (panics unless the sign-in succeeds).
pub async fn token(app: &TestApp, email: &str, password: &str) -> String {
    let res = login(app, email, password).await;
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "sign-in of {email}: {body}");
    body["token"].as_str().unwrap().to_string()
}

/// The first administrator's token.
pub async fn admin_token(app: &TestApp) -> String {
    let (email, password) = app.initial_admin.clone().expect("the first start made an administrator");
    token(app, &email, &password).await
}

/// Calls the API with a bearer token: the status and the JSON answer (`Null` when empty).
pub async fn call(app: &TestApp, token: &str, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut req = app.http.request(method, app.url(path)).bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let text = res.text().await.unwrap();
    (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) })
}

/// Calls the API and asserts a 2xx answer; the JSON.
pub async fn ok(app: &TestApp, token: &str, method: Method, path: &str, body: Option<Value>) -> Value {
    let (status, answer) = call(app, token, method.clone(), path, body).await;
    assert!(status.is_success(), "{method} {path} answered {status}: {answer}");
    answer
}

/// Creates a dashboard user (admin or operator); its id.
pub async fn create_user(app: &TestApp, admin: &str, email: &str, password: &str, role: &str) -> i64 {
    let body = json!({"email": email, "password": password, "name": format!("User {email}"), "role": role});
    ok(app, admin, Method::POST, "/api/users", Some(body)).await["id"].as_i64().unwrap()
}

/// The error code of an error answer.
pub fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_else(|| panic!("an error answer: {body}"))
}
