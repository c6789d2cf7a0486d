//! Accounts and sessions: a reset, a password change and a deactivation end every session of the
//! user at once; a reset forces a new password; the previous JWT key still verifies; a stranger
//! guessing a password cannot lock the owner out. The account lists sort as every other list.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{JWT_SECRET, admin_token, builder, call, code, create_user, login, ok, token};
use crate::support::{Backend, TestApp, backend_test, integration_test};

async fn me(app: &TestApp, token: &str) -> StatusCode {
    call(app, token, Method::GET, "/api/auth/me", None).await.0
}

backend_test!(reset_ends_the_old_session_and_forces_a_new_password);
async fn reset_ends_the_old_session_and_forces_a_new_password(backend: Backend) {
    let app = builder(backend).spawn().await;
    let admin = admin_token(&app).await;
    let id = create_user(&app, &admin, "ops@example.com", "first-password-1", "operator").await;
    let old = token(&app, "ops@example.com", "first-password-1").await;
    assert_eq!(call(&app, &old, Method::GET, "/api/clients", None).await.0, 200);

    let res =
        app.http.post(app.url(&format!("/api/users/{id}/reset-password"))).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store", "the one-time password is not cached");
    let reset: Value = res.json().await.unwrap();
    let one_time = reset["password"].as_str().unwrap().to_string();
    assert!(one_time.len() >= 16, "{reset}");
    assert_eq!(reset["user"]["must_change_password"], true);
    assert_eq!(me(&app, &old).await, 401, "the reset ended the old session");
    assert_eq!(login(&app, "ops@example.com", "first-password-1").await.status(), 401, "the old password is gone");

    // The one-time password signs in, but only to choose a new password.
    let res = login(&app, "ops@example.com", &one_time).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["must_change_password"], true, "{body}");
    let pending = body["token"].as_str().unwrap().to_string();
    let (status, refused) = call(&app, &pending, Method::GET, "/api/clients", None).await;
    assert_eq!((status, code(&refused)), (StatusCode::FORBIDDEN, "password_change_required"));
    assert_eq!(me(&app, &pending).await, 200, "who am I works meanwhile");
    let same = json!({"current_password": one_time, "new_password": one_time});
    let (status, body) = call(&app, &pending, Method::POST, "/api/auth/password", Some(same)).await;
    assert_eq!(status, 422, "the one-time password cannot stay: {body}");
    let change = json!({"current_password": one_time, "new_password": "chosen-password-2"});
    let changed = ok(&app, &pending, Method::POST, "/api/auth/password", Some(change)).await;
    assert_eq!(changed["user"]["must_change_password"], false);
    let fresh = changed["token"].as_str().unwrap();
    assert_eq!(call(&app, fresh, Method::GET, "/api/clients", None).await.0, 200);
    assert_eq!(me(&app, &pending).await, 401, "the change ended the one-time session");
    assert_eq!(login(&app, "ops@example.com", &one_time).await.status(), 401, "the one-time password is used up");
    assert_eq!(login(&app, "ops@example.com", "chosen-password-2").await.status(), 200);

    // Resetting one's own password is refused; an operator may reset nobody's.
    let (email, _) = app.initial_admin.clone().unwrap();
    let admin_id = ok(&app, &admin, Method::GET, "/api/auth/me", None).await["id"].as_i64().unwrap();
    let (status, _) = call(&app, &admin, Method::POST, &format!("/api/users/{admin_id}/reset-password"), None).await;
    assert_eq!(status, 422, "{email} cannot reset their own password");
    let (status, _) = call(&app, fresh, Method::POST, &format!("/api/users/{admin_id}/reset-password"), None).await;
    assert_eq!(status, 403);
    assert_eq!(me(&app, &admin).await, 200, "the refused resets changed nothing");
    app.shutdown().await;
}

backend_test!(password_change_and_deactivation_end_every_session);
async fn password_change_and_deactivation_end_every_session(backend: Backend) {
    let app = builder(backend).spawn().await;
    let admin = admin_token(&app).await;
    let id = create_user(&app, &admin, "two@example.com", "two-browsers-1", "operator").await;
    let laptop = token(&app, "two@example.com", "two-browsers-1").await;
    let phone = token(&app, "two@example.com", "two-browsers-1").await;

    let wrong = json!({"current_password": "not-the-password", "new_password": "changed-password-1"});
    let (status, body) = call(&app, &laptop, Method::POST, "/api/auth/password", Some(wrong)).await;
    assert_eq!(
        (status, body["error"]["details"]["fields"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("current_password"))
    );
    assert_eq!(me(&app, &phone).await, 200, "a refused change ends nothing");
    let change = json!({"current_password": "two-browsers-1", "new_password": "changed-password-1"});
    let changed = ok(&app, &laptop, Method::POST, "/api/auth/password", Some(change)).await;
    let laptop_again = changed["token"].as_str().unwrap().to_string();
    assert_eq!((me(&app, &laptop).await, me(&app, &phone).await), (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED));
    assert_eq!(me(&app, &laptop_again).await, 200, "the changing browser carries on with its new token");

    // A deactivation ends the sessions, and a reactivation does not bring them back.
    ok(&app, &admin, Method::DELETE, &format!("/api/users/{id}"), None).await;
    assert_eq!(me(&app, &laptop_again).await, 401);
    ok(&app, &admin, Method::PATCH, &format!("/api/users/{id}"), Some(json!({"is_active": true}))).await;
    assert_eq!(me(&app, &laptop_again).await, 401, "reactivated, the old token stays ended");
    assert_eq!(login(&app, "two@example.com", "changed-password-1").await.status(), 200);
    app.shutdown().await;
}

#[derive(serde::Serialize)]
struct Claims {
    sub: String,
    role: &'static str,
    ver: i32,
    iat: i64,
    exp: i64,
}

fn sign(key: &str, sub: &str) -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = Claims { sub: sub.into(), role: "admin", ver: 0, iat: now, exp: now + 600 };
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(key.as_bytes())).unwrap()
}

integration_test!(tokens_of_the_previous_key_are_accepted_and_of_neither_are_not);
async fn tokens_of_the_previous_key_are_accepted_and_of_neither_are_not() {
    const NEW_KEY: &str = "the-new-key-after-rotation-0123456789";
    let app = builder(Backend::Sqlite)
        .env("JWT_SECRET_KEY", NEW_KEY)
        .env("JWT_SECRET_KEY_PREVIOUS", JWT_SECRET)
        .spawn()
        .await;
    let admin = admin_token(&app).await;
    let id = ok(&app, &admin, Method::GET, "/api/auth/me", None).await["id"].as_i64().unwrap().to_string();
    assert_eq!(me(&app, &sign(JWT_SECRET, &id)).await, 200, "signed with the previous key");
    assert_eq!(me(&app, &sign(NEW_KEY, &id)).await, 200, "signed with the new key");
    assert_eq!(me(&app, &sign("neither-key-neither-key-neither-key", &id)).await, 401, "signed with neither");
    // New tokens are signed with the new key: a server that knows only the old one refuses them.
    let old_server = builder(Backend::Sqlite).same_database_as(&app.db).spawn().await;
    assert_eq!(me(&old_server, &admin).await, 401, "issued after the rotation, unknown to the old key");
    assert_eq!(me(&old_server, &sign(JWT_SECRET, &id)).await, 200);
    old_server.shutdown().await;
    app.shutdown().await;
}

async fn attempt(app: &TestApp, ip: &str, email: &str, password: &str, device: Option<&str>) -> reqwest::Response {
    let mut req = app.http.post(app.url("/api/auth/login")).header("X-Forwarded-For", ip);
    if let Some(device) = device {
        req = req.header("Cookie", format!("kktbot_device={device}"));
    }
    req.json(&json!({"email": email, "password": password})).send().await.unwrap()
}

/// The device cookie a successful sign-in sets.
fn device_cookie(res: &reqwest::Response) -> String {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("kktbot_device="))
        .map(|c| c.split(';').next().unwrap().to_string())
        .expect("a device cookie")
}

integration_test!(a_stranger_guessing_cannot_lock_the_owner_out);
async fn a_stranger_guessing_cannot_lock_the_owner_out() {
    let app =
        TestApp::builder().env("LOGIN_RATE_LIMIT_PER_MINUTE", "5").env("TRUSTED_PROXIES", "127.0.0.1").spawn().await;
    let (email, password) = app.initial_admin.clone().unwrap();
    // The owner signed in from this browser before: it holds the account's device cookie.
    let res = attempt(&app, "10.0.0.1", &email, &password, None).await;
    assert_eq!(res.status(), 200);
    let device = device_cookie(&res);
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("kktbot_device="))
        .unwrap();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/api/auth"] {
        assert!(cookie.split("; ").any(|p| p == flag), "{flag} in {cookie}");
    }

    // A stranger guesses from five addresses, once each.
    for n in 1..=5 {
        assert_eq!(attempt(&app, &format!("6.6.6.{n}"), &email, "guess-password", None).await.status(), 401);
    }
    // Now the password alone is not enough: from a browser that never signed in, even the right
    // one is refused for a while …
    let res = attempt(&app, "7.7.7.7", &email, &password, None).await;
    assert_eq!(res.status(), 429);
    let retry: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let body: Value = res.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("browser you have used before"), "{body}");
    // … but the owner's browser signs in, from yet another address.
    let res = attempt(&app, "10.0.0.2", &email, &password, Some(&device)).await;
    assert_eq!(res.status(), 200, "the owner is not locked out");
    // A device cookie of another account, or a forged one, does not count.
    assert_eq!(attempt(&app, "10.0.0.3", "someone@example.com", "x", Some(&device)).await.status(), 401);
    assert_eq!(attempt(&app, "10.0.0.4", &email, &password, Some("forged.device.cookie")).await.status(), 429);
    // The per-IP limit holds for everyone.
    for _ in 0..5 {
        assert_eq!(attempt(&app, "8.8.8.8", "nobody@example.com", "x", None).await.status(), 401);
    }
    assert_eq!(attempt(&app, "8.8.8.8", "nobody2@example.com", "x", None).await.status(), 429, "per IP");

    // Failed sign-ins are counted in the metrics, by reason.
    let metrics = app.http.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    for outcome in ["wrong_password", "unknown_account", "success", "throttled"] {
        assert!(metrics.contains(&format!("kktbot_logins_total{{outcome=\"{outcome}\"}}")), "{outcome}:\n{metrics}");
    }
    app.shutdown().await;
}

/// The ids of a page, in its order.
fn ids(page: &Value) -> Vec<i64> {
    let items = page["items"].as_array().unwrap_or_else(|| panic!("a page: {page}"));
    items.iter().map(|item| item["id"].as_i64().unwrap()).collect()
}

backend_test!(an_empty_sort_of_the_account_lists_is_their_default_order);
async fn an_empty_sort_of_the_account_lists_is_their_default_order(backend: Backend) {
    let app = builder(backend).spawn().await;
    let admin = admin_token(&app).await;
    // Emails against the ids' order, so that an email sort would show.
    for email in ["zoe@example.com", "mia@example.com", "ada@example.com"] {
        create_user(&app, &admin, email, "long-enough-password", "operator").await;
    }
    for telegram_id in [5_100_000_003_i64, 5_100_000_001, 5_100_000_002] {
        ok(&app, &admin, Method::POST, "/api/administrators", Some(json!({"telegram_id": telegram_id}))).await;
    }
    for list in ["/api/users", "/api/administrators"] {
        let default = ids(&ok(&app, &admin, Method::GET, list, None).await);
        let by_id = ids(&ok(&app, &admin, Method::GET, &format!("{list}?sort=id"), None).await);
        assert_eq!(default, by_id, "{list}: the default order is by id");
        for empty in ["sort=", "sort=%20"] {
            let page = ok(&app, &admin, Method::GET, &format!("{list}?{empty}"), None).await;
            assert_eq!(ids(&page), default, "{list}?{empty} is the default order");
        }
        let (status, body) = call(&app, &admin, Method::GET, &format!("{list}?sort=nope"), None).await;
        assert_eq!((status, code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"), "{list}: {body}");
    }
}
