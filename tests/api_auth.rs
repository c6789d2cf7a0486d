//! The REST API's authentication, users and administrators, protection layers and OpenAPI
//! document (issue 6), on SQLite and — login and a protected route — on PostgreSQL.

use std::collections::{BTreeMap, BTreeSet};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Backend, TestApp, TestAppBuilder, backend_test, integration_test};

const JWT_SECRET: &str = "api-auth-test-secret-0123456789abcdef";
const CSRF: (&str, &str) = ("X-Requested-With", "kktbot");

/// A server with a known JWT key and limits high enough not to get in the way.
fn builder() -> TestAppBuilder {
    TestApp::builder()
        .env("JWT_SECRET_KEY", JWT_SECRET)
        .env("LOGIN_RATE_LIMIT_PER_MINUTE", "1000")
        .env("API_RATE_LIMIT_PER_MINUTE", "10000")
}

async fn app() -> TestApp {
    builder().spawn().await
}

async fn login(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.http.post(app.url("/api/auth/login")).json(&json!({"email": email, "password": password})).send().await.unwrap()
}

/// The initial admin's bearer token.
async fn admin_token(app: &TestApp) -> String {
    let (email, password) = app.initial_admin.clone().expect("first start made an admin");
    let res = login(app, &email, &password).await;
    assert_eq!(res.status(), 200);
    res.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string()
}

async fn send(app: &TestApp, method: Method, path: &str, token: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut req = app.http.request(method, app.url(path)).bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let text = res.text().await.unwrap();
    (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) })
}

/// Creates a user through the API and returns its id.
async fn create_user(app: &TestApp, token: &str, email: &str, password: &str, role: &str) -> i64 {
    let body = json!({"email": email, "password": password, "name": "Test", "role": role});
    let (status, user) = send(app, Method::POST, "/api/users", token, Some(body)).await;
    assert_eq!(status, 201, "{user}");
    user["id"].as_i64().unwrap()
}

fn assert_error(body: &Value, code: &str) {
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    assert!(body["error"].as_object().unwrap().contains_key("details"), "{body}");
}

fn cookie_token(res: &reqwest::Response) -> String {
    let cookie = res.headers().get("set-cookie").unwrap().to_str().unwrap();
    cookie.split(';').next().unwrap().strip_prefix("kktbot_session=").unwrap().to_string()
}

async fn login_and_me(app: &TestApp) {
    let (email, password) = app.initial_admin.clone().unwrap();
    let res = login(app, &email.to_uppercase(), &password).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["email"], email);
    assert_eq!(body["user"]["role"], "admin");
    assert!(body["user"]["last_login_at"].is_string(), "last_login_at is set: {body}");
    assert!(body["user"].get("password_hash").is_none());
    let token = body["token"].as_str().unwrap();
    let (status, me) = send(app, Method::GET, "/api/auth/me", token, None).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["email"], email);
    let (status, page) = send(app, Method::GET, "/api/users", token, None).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["total"], 1);
}

backend_test!(login_and_me_then_a_user_by_any_case_of_its_email);
async fn login_and_me_then_a_user_by_any_case_of_its_email(backend: Backend) {
    let app = builder().backend(backend).spawn().await;
    login_and_me(&app).await;
    let token = admin_token(&app).await;
    create_user(&app, &token, "pg@example.com", "long-enough-password", "operator").await;
    let (status, body) = send(
        &app,
        Method::POST,
        "/api/users",
        &token,
        Some(json!({"email": "PG@example.com", "password": "long-enough-password", "role": "operator"})),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    let (status, page) = send(&app, Method::GET, "/api/users?q=PG%40EXAMPLE&per_page=1", &token, None).await;
    assert_eq!((status, page["total"].as_u64()), (StatusCode::OK, Some(1)), "{page}");
    app.shutdown().await;
}

integration_test!(login_failures_look_the_same_and_the_cookie_is_safe);
async fn login_failures_look_the_same_and_the_cookie_is_safe() {
    let app = app().await;
    let (email, password) = app.initial_admin.clone().unwrap();

    let wrong = login(&app, &email, "wrong-password-123").await;
    let unknown = login(&app, "nobody@example.com", "wrong-password-123").await;
    assert_eq!((wrong.status(), unknown.status()), (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED));
    assert!(wrong.headers().get("set-cookie").is_none());
    let (wrong, unknown): (Value, Value) = (wrong.json().await.unwrap(), unknown.json().await.unwrap());
    assert_eq!(wrong, unknown, "an unknown email and a wrong password answer alike");
    assert_error(&wrong, "invalid_credentials");

    let res = login(&app, &email, &password).await;
    assert_eq!(res.status(), 200);
    let cookie = res.headers().get("set-cookie").unwrap().to_str().unwrap().to_string();
    assert!(cookie.starts_with("kktbot_session=ey"), "{cookie}");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=86400"] {
        assert!(cookie.split("; ").any(|p| p == flag), "{flag} in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http without a trusted proxy: {cookie}");
    let token = cookie_token(&res);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["token"], token.as_str(), "the cookie carries the same token");

    // me via the cookie alone.
    let me =
        app.http.get(app.url("/api/auth/me")).header("Cookie", format!("kktbot_session={token}")).send().await.unwrap();
    assert_eq!(me.status(), 200);
    assert_eq!(me.json::<Value>().await.unwrap()["email"], email);

    // logout clears the cookie.
    let out = app.http.post(app.url("/api/auth/logout")).send().await.unwrap();
    assert_eq!(out.status(), 204);
    let cleared = out.headers().get("set-cookie").unwrap().to_str().unwrap();
    assert!(cleared.starts_with("kktbot_session=;") && cleared.contains("Max-Age=0"), "{cleared}");
    app.shutdown().await;
}

integration_test!(cookie_authenticated_changes_need_the_csrf_header);
async fn cookie_authenticated_changes_need_the_csrf_header() {
    let app = app().await;
    let (email, password) = app.initial_admin.clone().unwrap();
    let token = cookie_token(&login(&app, &email, &password).await);
    let cookie = format!("kktbot_session={token}");
    let change = json!({"current_password": password, "new_password": "a-brand-new-password"});

    let res =
        app.http.post(app.url("/api/auth/password")).header("Cookie", &cookie).json(&change).send().await.unwrap();
    assert_eq!(res.status(), 403);
    assert_error(&res.json().await.unwrap(), "csrf");
    // A bearer token needs no such header (a browser never adds it on its own).
    let too_short = json!({"current_password": password, "new_password": "short"});
    let (status, body) = send(&app, Method::POST, "/api/auth/password", &token, Some(too_short)).await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["details"]["fields"][0]["field"], "new_password", "{body}");
    let wrong = json!({"current_password": "not-my-password", "new_password": "a-brand-new-password"});
    let (status, body) = send(&app, Method::POST, "/api/auth/password", &token, Some(wrong)).await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["details"]["fields"][0]["field"], "current_password", "{body}");

    let res = app
        .http
        .post(app.url("/api/auth/password"))
        .header("Cookie", &cookie)
        .header(CSRF.0, CSRF.1)
        .json(&change)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["set-cookie"].to_str().unwrap().starts_with("kktbot_session=ey"), "a fresh session cookie");
    assert_eq!(login(&app, &email, &password).await.status(), 401, "the old password is gone");
    assert_eq!(login(&app, &email, "a-brand-new-password").await.status(), 200);
    app.shutdown().await;
}

#[derive(serde::Serialize)]
struct Claims<'a> {
    sub: &'a str,
    role: &'a str,
    iat: i64,
    exp: i64,
}

fn sign(claims: &Claims<'_>, key: &str) -> String {
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(key.as_bytes())).unwrap()
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

integration_test!(bad_tokens_are_refused);
async fn bad_tokens_are_refused() {
    let app = app().await;
    let token = admin_token(&app).await;
    let admin_id = send(&app, Method::GET, "/api/auth/me", &token, None).await.1["id"].as_i64().unwrap().to_string();
    let now = chrono::Utc::now().timestamp();

    // Without any token.
    let res = app.http.get(app.url("/api/auth/me")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_error(&res.json().await.unwrap(), "unauthorized");

    // A well-formed token the test signs with the server's key works: the forged ones below
    // fail for the reason each names.
    let good = sign(&Claims { sub: &admin_id, role: "admin", iat: now, exp: now + 600 }, JWT_SECRET);
    assert_eq!(send(&app, Method::GET, "/api/auth/me", &good, None).await.0, 200);

    let expired = sign(&Claims { sub: &admin_id, role: "admin", iat: now - 7200, exp: now - 3600 }, JWT_SECRET);
    let other_key = sign(
        &Claims { sub: &admin_id, role: "admin", iat: now, exp: now + 600 },
        "another-key-another-key-another-key!",
    );
    let payload = b64(json!({"sub": admin_id, "role": "admin", "iat": now, "exp": now + 600}).to_string().as_bytes());
    let alg_none = format!("{}.{payload}.", b64(br#"{"alg":"none","typ":"JWT"}"#));
    let parts: Vec<&str> = token.split('.').collect();
    let changed = format!(
        "{}.{}.{}",
        parts[0],
        b64(json!({"sub": "999", "role": "admin", "iat": now, "exp": now + 600}).to_string().as_bytes()),
        parts[2]
    );
    for (what, bad) in [
        ("garbage", "not-a-token".to_string()),
        ("expired", expired),
        ("another key", other_key),
        ("alg none", alg_none),
        ("changed payload", changed),
    ] {
        let (status, body) = send(&app, Method::GET, "/api/auth/me", &bad, None).await;
        assert_eq!(status, 401, "{what}: {body}");
        assert_error(&body, "unauthorized");
        let cookie =
            app.http.get(app.url("/api/users")).header("Cookie", format!("kktbot_session={bad}")).send().await.unwrap();
        assert_eq!(cookie.status(), 401, "{what} in the cookie");
    }
    app.shutdown().await;
}

integration_test!(a_deactivated_users_token_stops_at_once);
async fn a_deactivated_users_token_stops_at_once() {
    let app = app().await;
    let admin = admin_token(&app).await;
    let id = create_user(&app, &admin, "leaver@example.com", "leaver-password-1", "operator").await;
    let res = login(&app, "leaver@example.com", "leaver-password-1").await;
    let token = res.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string();
    assert_eq!(send(&app, Method::GET, "/api/auth/me", &token, None).await.0, 200);

    let (status, _) = send(&app, Method::DELETE, &format!("/api/users/{id}"), &admin, None).await;
    assert_eq!(status, 204);
    let (status, body) = send(&app, Method::GET, "/api/auth/me", &token, None).await;
    assert_eq!(status, 401, "{body}");
    let res = login(&app, "leaver@example.com", "leaver-password-1").await;
    assert_eq!(res.status(), 401, "a deactivated user cannot sign in");
    assert_error(&res.json().await.unwrap(), "invalid_credentials");
    let (_, user) = send(&app, Method::GET, &format!("/api/users/{id}"), &admin, None).await;
    assert_eq!(user["is_active"], false);
    app.shutdown().await;
}

integration_test!(operators_get_403_on_users_and_administrators);
async fn operators_get_403_on_users_and_administrators() {
    let app = app().await;
    let admin = admin_token(&app).await;
    create_user(&app, &admin, "op@example.com", "operator-password", "operator").await;
    let res = login(&app, "op@example.com", "operator-password").await;
    let op = res.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string();
    assert_eq!(send(&app, Method::GET, "/api/auth/me", &op, None).await.0, 200, "an operator may sign in");
    let user = json!({"email": "x@example.com", "password": "long-enough-password", "role": "admin"});
    let adm = json!({"telegram_id": 42});
    for (method, path, body) in [
        (Method::GET, "/api/users", None),
        (Method::POST, "/api/users", Some(user)),
        (Method::GET, "/api/users/1", None),
        (Method::PATCH, "/api/users/1", Some(json!({"role": "operator"}))),
        (Method::DELETE, "/api/users/1", None),
        (Method::GET, "/api/administrators", None),
        (Method::POST, "/api/administrators", Some(adm)),
        (Method::GET, "/api/administrators/1", None),
        (Method::PATCH, "/api/administrators/1", Some(json!({"name": "x"}))),
        (Method::DELETE, "/api/administrators/1", None),
    ] {
        let (status, body) = send(&app, method.clone(), path, &op, body).await;
        assert_eq!(status, 403, "{method} {path}: {body}");
        assert_error(&body, "forbidden");
    }
    let (_, page) = send(&app, Method::GET, "/api/users", &admin, None).await;
    assert_eq!(page["total"], 2, "the operator created nothing");
    app.shutdown().await;
}

integration_test!(users_validation_conflicts_pagination_and_self_protection);
async fn users_validation_conflicts_pagination_and_self_protection() {
    let app = app().await;
    let token = admin_token(&app).await;

    let (status, body) = send(
        &app,
        Method::POST,
        "/api/users",
        &token,
        Some(json!({"email": "nope", "password": "short", "role": "operator"})),
    )
    .await;
    assert_eq!(status, 422);
    assert_error(&body, "validation_failed");
    let fields: Vec<&str> =
        body["error"]["details"]["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["email", "password"], "{body}");
    let (status, body) = send(&app, Method::POST, "/api/users", &token, Some(json!({"email": "a@example.com"}))).await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["details"]["fields"][0]["field"], "password", "missing field named: {body}");

    for i in 0..4 {
        create_user(&app, &token, &format!("user{i}@example.com"), "long-enough-password", "operator").await;
    }
    let (status, body) = send(
        &app,
        Method::POST,
        "/api/users",
        &token,
        Some(json!({"email": "User0@Example.com", "password": "long-enough-password", "role": "operator"})),
    )
    .await;
    assert_eq!(status, 409);
    assert_error(&body, "conflict");

    // 5 users in all (the initial admin and 4).
    let (status, page) = send(&app, Method::GET, "/api/users?per_page=2&page=3&sort=email", &token, None).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!((page["total"].as_u64(), page["page"].as_u64(), page["per_page"].as_u64()), (Some(5), Some(3), Some(2)));
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["email"], "user3@example.com", "sorted by email: {page}");
    let (_, page) = send(&app, Method::GET, "/api/users?sort=-email&per_page=100", &token, None).await;
    assert_eq!(page["items"][0]["email"], "user3@example.com");
    assert_eq!(page["items"].as_array().unwrap().len(), 5);
    let (_, page) = send(&app, Method::GET, "/api/users?q=USER1", &token, None).await;
    assert_eq!(page["total"], 1, "{page}");
    for (query, field) in
        [("per_page=101", "per_page"), ("page=0", "page"), ("per_page=0", "per_page"), ("sort=password_hash", "sort")]
    {
        let (status, body) = send(&app, Method::GET, &format!("/api/users?{query}"), &token, None).await;
        assert_eq!(status, 422, "{query}: {body}");
        assert_eq!(body["error"]["details"]["fields"][0]["field"], field, "{query}: {body}");
    }
    let (status, _) = send(&app, Method::GET, "/api/users?page=abc", &token, None).await;
    assert_eq!(status, 422);

    // An admin can neither demote nor deactivate themselves.
    let me = send(&app, Method::GET, "/api/auth/me", &token, None).await.1;
    let mine = format!("/api/users/{}", me["id"]);
    let (status, body) = send(&app, Method::PATCH, &mine, &token, Some(json!({"role": "operator"}))).await;
    assert_eq!(
        (status, body["error"]["details"]["fields"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("role"))
    );
    let (status, _) = send(&app, Method::DELETE, &mine, &token, None).await;
    assert_eq!(status, 422);
    let (status, body) = send(&app, Method::PATCH, &mine, &token, Some(json!({"name": "Chief"}))).await;
    assert_eq!((status, body["name"].as_str()), (StatusCode::OK, Some("Chief")));
    let (status, body) = send(&app, Method::PATCH, &mine, &token, Some(json!({"name": null}))).await;
    assert_eq!((status, body["name"].clone()), (StatusCode::OK, Value::Null));
    let (status, body) = send(&app, Method::PATCH, &mine, &token, Some(json!({"password_hash": "x"}))).await;
    assert_eq!(status, 422, "unknown fields are refused: {body}");
    let (status, body) = send(&app, Method::GET, "/api/users/99999", &token, None).await;
    assert_eq!(status, 404);
    assert_error(&body, "not_found");

    // Promote another user to admin; they may then manage users.
    let (_, page) = send(&app, Method::GET, "/api/users?q=user2", &token, None).await;
    let other = page["items"][0]["id"].as_i64().unwrap();
    let (status, body) =
        send(&app, Method::PATCH, &format!("/api/users/{other}"), &token, Some(json!({"role": "admin"}))).await;
    assert_eq!((status, body["role"].as_str()), (StatusCode::OK, Some("admin")));
    let other_token =
        login(&app, "user2@example.com", "long-enough-password").await.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_string();
    assert_eq!(send(&app, Method::GET, "/api/users", &other_token, None).await.0, 200);
    app.shutdown().await;
}

integration_test!(administrators_crud);
async fn administrators_crud() {
    let app = app().await;
    let token = admin_token(&app).await;
    let (status, created) =
        send(&app, Method::POST, "/api/administrators", &token, Some(json!({"telegram_id": 5551234, "name": "Ivan"})))
            .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!((created["telegram_id"].as_i64(), created["is_active"].as_bool()), (Some(5551234), Some(true)));
    let (status, body) =
        send(&app, Method::POST, "/api/administrators", &token, Some(json!({"telegram_id": 5551234}))).await;
    assert_eq!(status, 409);
    assert_error(&body, "conflict");
    let (status, body) =
        send(&app, Method::POST, "/api/administrators", &token, Some(json!({"telegram_id": -5}))).await;
    assert_eq!(
        (status, body["error"]["details"]["fields"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("telegram_id"))
    );
    let (status, body) =
        send(&app, Method::POST, "/api/administrators", &token, Some(json!({"telegram_id": "abc"}))).await;
    assert_eq!(status, 422, "{body}");

    let path = format!("/api/administrators/{}", created["id"]);
    let (status, body) = send(&app, Method::PATCH, &path, &token, Some(json!({"name": "Ivan P."}))).await;
    assert_eq!((status, body["name"].as_str()), (StatusCode::OK, Some("Ivan P.")));
    let (status, _) = send(&app, Method::DELETE, &path, &token, None).await;
    assert_eq!(status, 204);
    let (_, body) = send(&app, Method::GET, &path, &token, None).await;
    assert_eq!(body["is_active"], false);
    let (_, page) = send(&app, Method::GET, "/api/administrators?is_active=false&q=5551234", &token, None).await;
    assert_eq!(page["total"], 1, "{page}");
    let (status, _) = send(&app, Method::GET, "/api/administrators?per_page=101", &token, None).await;
    assert_eq!(status, 422);
    let (status, _) = send(&app, Method::GET, "/api/administrators/424242", &token, None).await;
    assert_eq!(status, 404);
    app.shutdown().await;
}

integration_test!(injection_and_script_strings_are_stored_and_returned_verbatim);
async fn injection_and_script_strings_are_stored_and_returned_verbatim() {
    let app = app().await;
    let token = admin_token(&app).await;
    let nasty = ["Robert'); DROP TABLE users; --", "<script>alert('x')</script>", "\" OR 1=1 --", "100% _done_ \\"];
    for (i, name) in nasty.iter().enumerate() {
        let body = json!({"email": format!("n{i}@example.com"), "password": "long-enough-password", "name": name, "role": "operator"});
        let (status, user) = send(&app, Method::POST, "/api/users", &token, Some(body)).await;
        assert_eq!((status, user["name"].as_str()), (StatusCode::CREATED, Some(*name)));
        let (_, got) = send(&app, Method::GET, &format!("/api/users/{}", user["id"]), &token, None).await;
        assert_eq!(got["name"], *name);
        let (status, admin) = send(
            &app,
            Method::POST,
            "/api/administrators",
            &token,
            Some(json!({"telegram_id": 1000 + i, "name": name})),
        )
        .await;
        assert_eq!((status, admin["name"].as_str()), (StatusCode::CREATED, Some(*name)));
        // Searching for the string finds exactly that row: no injection, wildcards literal.
        let q: String = url::form_urlencoded::byte_serialize(name.as_bytes()).collect();
        let (status, page) = send(&app, Method::GET, &format!("/api/users?q={q}"), &token, None).await;
        assert_eq!((status, page["total"].as_u64()), (StatusCode::OK, Some(1)), "{name}: {page}");
        assert_eq!(page["items"][0]["name"], *name);
    }
    let (_, page) = send(&app, Method::GET, "/api/users?q=%25", &token, None).await;
    assert_eq!(page["total"], 1, "% is literal: {page}");
    let (_, page) = send(&app, Method::GET, "/api/users", &token, None).await;
    assert_eq!(page["total"], 5, "the users table is still there");
    // The login form is no way in either.
    assert_eq!(login(&app, "' OR '1'='1", "' OR '1'='1").await.status(), 401);
    app.shutdown().await;
}

integration_test!(login_brute_force_gets_429_per_ip_and_per_account);
async fn login_brute_force_gets_429_per_ip_and_per_account() {
    let app =
        TestApp::builder().env("LOGIN_RATE_LIMIT_PER_MINUTE", "5").env("TRUSTED_PROXIES", "127.0.0.1").spawn().await;
    let (email, password) = app.initial_admin.clone().unwrap();
    let attempt = |ip: &'static str, email: String, pw: &'static str| {
        app.http
            .post(app.url("/api/auth/login"))
            .header("X-Forwarded-For", ip)
            .json(&json!({"email": email, "password": pw}))
            .send()
    };
    for _ in 0..5 {
        assert_eq!(attempt("1.1.1.1", email.clone(), "wrong-password").await.unwrap().status(), 401);
    }
    let res = attempt("1.1.1.1", email.clone(), "wrong-password").await.unwrap();
    assert_eq!(res.status(), 429);
    let retry: u64 = res.headers().get("retry-after").unwrap().to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_error(&res.json().await.unwrap(), "rate_limited");
    // The account stays locked from another IP, even with the right password…
    assert_eq!(attempt("2.2.2.2", email.clone(), "wrong-password").await.unwrap().status(), 429);
    let _ = password;
    // …and the first IP is locked for other accounts too.
    assert_eq!(attempt("1.1.1.1", "someone@example.com".into(), "x").await.unwrap().status(), 429);
    // A fresh IP and account are not.
    assert_eq!(attempt("3.3.3.3", "other@example.com".into(), "x").await.unwrap().status(), 401);
    app.shutdown().await;
}

integration_test!(the_general_limit_answers_429_on_the_api_but_not_on_health_nor_dashboard_files);
async fn the_general_limit_answers_429_on_the_api_but_not_on_health_nor_dashboard_files() {
    let app = TestApp::builder().env("API_RATE_LIMIT_PER_MINUTE", "5").spawn().await;
    // The dashboard's files do not count: reloading the page leaves the API its whole quota.
    for path in ["/", "/js/app.js", "/css/app.css", "/favicon.svg"].iter().cycle().take(12) {
        assert_eq!(app.http.get(app.url(path)).send().await.unwrap().status(), 200, "{path}");
    }
    for _ in 0..5 {
        assert_eq!(app.http.get(app.url("/api/auth/me")).send().await.unwrap().status(), 401);
    }
    let res = app.http.get(app.url("/api/auth/me")).send().await.unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.headers().get("retry-after").is_some());
    assert_error(&res.json().await.unwrap(), "rate_limited");
    for _ in 0..10 {
        assert_eq!(app.http.get(app.url("/health")).send().await.unwrap().status(), 200);
    }
    app.shutdown().await;
}

integration_test!(security_headers_on_every_answer_and_hsts_behind_https);
async fn security_headers_on_every_answer_and_hsts_behind_https() {
    let app = app().await;
    for path in ["/health", "/api/auth/me", "/api/nowhere", "/api/openapi.json"] {
        let res = app.http.get(app.url(path)).send().await.unwrap();
        let h = res.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(h.get("strict-transport-security").is_none(), "plain http: {path}");
    }
    // Answers are gzip-compressed for clients that accept it.
    let res = app.http.get(app.url("/api/openapi.json")).header("Accept-Encoding", "gzip").send().await.unwrap();
    assert_eq!(res.headers().get("content-encoding").map(|v| v.to_str().unwrap()), Some("gzip"));
    // An untrusted peer cannot claim https.
    let res = app.http.get(app.url("/health")).header("X-Forwarded-Proto", "https").send().await.unwrap();
    assert!(res.headers().get("strict-transport-security").is_none());
    app.shutdown().await;

    let app = builder().env("TRUSTED_PROXIES", "127.0.0.0/8").spawn().await;
    let res = app.http.get(app.url("/health")).header("X-Forwarded-Proto", "https").send().await.unwrap();
    assert!(res.headers()["strict-transport-security"].to_str().unwrap().starts_with("max-age="));
    let (email, password) = app.initial_admin.clone().unwrap();
    let res = app
        .http
        .post(app.url("/api/auth/login"))
        .header("X-Forwarded-Proto", "https")
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    let cookie = res.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.split("; ").any(|p| p == "Secure"), "{cookie}");
    app.shutdown().await;
}

integration_test!(cors_allows_only_listed_origins);
async fn cors_allows_only_listed_origins() {
    let app = builder().env("CORS_ORIGINS", "https://admin.example.com").spawn().await;
    let preflight = |origin: &'static str| {
        app.http
            .request(Method::OPTIONS, app.url("/api/auth/me"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "GET")
            .header("Access-Control-Request-Headers", "authorization")
            .send()
    };
    let res = preflight("https://admin.example.com").await.unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(res.headers()["access-control-allow-origin"], "https://admin.example.com");
    assert_eq!(res.headers()["access-control-allow-credentials"], "true");
    let res = preflight("https://evil.example.com").await.unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
    app.shutdown().await;

    // Without CORS_ORIGINS no origin is allowed.
    let app = self::app().await;
    let res = app
        .http
        .request(Method::OPTIONS, app.url("/api/auth/me"))
        .header("Origin", "https://admin.example.com")
        .header("Access-Control-Request-Method", "GET")
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
    app.shutdown().await;
}

integration_test!(bodies_over_10_mib_are_413);
async fn bodies_over_10_mib_are_413() {
    let app = app().await;
    let big = format!(r#"{{"email":"a@example.com","password":"{}"}}"#, "x".repeat(10 * 1024 * 1024));
    let res = app
        .http
        .post(app.url("/api/auth/login"))
        .header("Content-Type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    assert_error(&res.json().await.unwrap(), "payload_too_large");
    // Just under the limit is read (and refused for its content only: a password past its bound).
    let fits = format!(r#"{{"email":"a@example.com","password":"{}"}}"#, "x".repeat(9 * 1024 * 1024));
    let res = app
        .http
        .post(app.url("/api/auth/login"))
        .header("Content-Type", "application/json")
        .body(fits)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["details"]["fields"][0]["field"], "password", "{body}");
    app.shutdown().await;
}

/// The routes the axum router serves, read from the router itself (axum lists its paths in
/// its `Debug` output), and the methods of each from utoipa-axum's record of `routes!`.
fn served_paths(app: &TestApp) -> BTreeSet<String> {
    let debug = format!("{:?}", kktbot::http::router(app.state.clone()));
    let mut paths = BTreeSet::new();
    // `paths: {RouteId(0): "/health", RouteId(1): "/api/users", …}`
    let mut rest = debug.as_str();
    while let Some(at) = rest.find("RouteId(") {
        rest = &rest[at..];
        let Some(colon) = rest.find("): \"") else { break };
        let after = &rest[colon + 4..];
        if let Some(end) = after.find('"') {
            let path = &after[..end];
            if path.starts_with('/') {
                paths.insert(path.to_string());
            }
        }
        rest = &rest[colon + 4..];
    }
    paths
}

integration_test!(the_openapi_document_covers_every_route);
async fn the_openapi_document_covers_every_route() {
    let app = app().await;
    let res = app.http.get(app.url("/api/openapi.json")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let json: Value = res.json().await.unwrap();
    assert_eq!(json["openapi"], "3.1.0");
    let doc: utoipa::openapi::OpenApi = serde_json::from_value(json.clone()).expect("a valid OpenAPI document");
    let components = doc.components.as_ref().expect("components");
    for scheme in ["bearer", "cookie"] {
        assert!(components.security_schemes.contains_key(scheme), "{scheme}");
    }
    assert!(components.schemas.contains_key("ErrorBody"));
    assert!(doc.tags.as_ref().is_some_and(|t| t.iter().any(|t| t.name == "auth")));

    // Every path the router serves under /api is documented…
    let served = served_paths(&app);
    assert!(served.contains("/api/auth/login") && served.contains("/health"), "router paths read: {served:?}");
    let documented: BTreeSet<String> = doc.paths.paths.keys().cloned().collect();
    let missing: Vec<&String> = served.iter().filter(|p| p.starts_with("/api/") && !documented.contains(*p)).collect();
    assert!(missing.is_empty(), "served but not in the document: {missing:?}");

    // …with each method routed there (utoipa-axum's record of the router's `routes!`).
    let routed = utoipa_axum::router::OpenApiRouter::<kktbot::http::AppState>::new()
        .nest("/api", kktbot::http::api::router())
        .into_openapi();
    let methods_of = |item: &utoipa::openapi::PathItem| -> Vec<&'static str> {
        [
            ("GET", item.get.is_some()),
            ("POST", item.post.is_some()),
            ("PUT", item.put.is_some()),
            ("PATCH", item.patch.is_some()),
            ("DELETE", item.delete.is_some()),
        ]
        .into_iter()
        .filter_map(|(m, present)| present.then_some(m))
        .collect()
    };
    let mut routes: BTreeMap<String, Vec<&'static str>> = BTreeMap::new();
    for (path, item) in &routed.paths.paths {
        assert!(served.contains(path), "{path} is routed by utoipa-axum but not served");
        let in_doc = doc.paths.paths.get(path).unwrap_or_else(|| panic!("{path} is not in the document"));
        assert_eq!(methods_of(item), methods_of(in_doc), "{path}");
        routes.insert(path.clone(), methods_of(item));
    }
    assert!(routes.len() >= 8, "{routes:?}");

    // Each documented operation is really there (not the 404 fallback nor 405), and one that
    // declares security answers 401 without a token.
    for (path, item) in &doc.paths.paths {
        let concrete: String =
            path.split('/').map(|seg| if seg.starts_with('{') { "1" } else { seg }).collect::<Vec<_>>().join("/");
        for (method, op) in [
            (Method::GET, &item.get),
            (Method::POST, &item.post),
            (Method::PUT, &item.put),
            (Method::PATCH, &item.patch),
            (Method::DELETE, &item.delete),
        ] {
            let Some(op) = op else { continue };
            let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
            if !secured {
                continue; // e.g. login, logout: probing them would act
            }
            let res = app.http.request(method.clone(), app.url(&concrete)).send().await.unwrap();
            let status = res.status();
            let body = res.text().await.unwrap();
            assert_eq!(status, 401, "{method} {concrete} without a token: {body}");
        }
    }
    app.shutdown().await;
}
