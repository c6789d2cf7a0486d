//! Every bound checked at the edge: text with U+0000, dates outside sane years and paths, queries
//! and bodies that do not parse are refused in the JSON error shape, and change nothing.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{app, invalid_fields, lists};
use crate::staff::{admin_token, call};
use crate::support::{Backend, backend_test, count_rows};

backend_test!(text_with_nul_is_refused_naming_the_field);
async fn text_with_nul_is_refused_naming_the_field(backend: Backend) {
    let app = app(backend).await;
    let token = admin_token(&app).await;
    let client = json!({"name": "ООО \u{0}Ромашка", "inn": "7707083893", "notes": "ok", "address": "Москва\u{0}"});
    let (status, body) = call(&app, &token, Method::POST, "/api/clients", Some(client)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(invalid_fields(&body), ["address", "name"]);
    let reason = json!({"reason": "нет\u{0}"});
    let (status, body) = call(&app, &token, Method::POST, "/api/requests/1/reject", Some(reason)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(invalid_fields(&body), ["reason"]);
    for list in lists() {
        let (status, body) = call(&app, &token, Method::GET, &format!("{list}?q=%00"), None).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{list}: {body}");
        assert_eq!(invalid_fields(&body), ["q"], "{list}");
    }
    assert_eq!(count_rows(app.db(), "clients").await, 0);
    app.shutdown().await;
}

backend_test!(dates_outside_sane_years_are_refused);
async fn dates_outside_sane_years_are_refused(backend: Backend) {
    let app = app(backend).await;
    let token = admin_token(&app).await;
    for date in ["-5000-01-01", "-0001-01-01", "0000-01-01", "1899-12-31", "3000-01-01", "+12345-01-01"] {
        let deadline = json!({"client_id": 1, "deadline_type_id": 1, "expiration_date": date});
        let (status, body) = call(&app, &token, Method::POST, "/api/deadlines", Some(deadline)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{date}: {body}");
        assert!(invalid_fields(&body).contains(&"expiration_date".to_string()), "{date}: {body}");
        let (status, body) = call(&app, &token, Method::GET, &format!("/api/notifications?from={date}"), None).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{date}: {body}");
        assert_eq!(invalid_fields(&body), ["from"], "{date}");
    }
    let (status, body) = call(&app, &token, Method::GET, "/api/requests?from=1900-01-01&to=2999-12-31", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(count_rows(app.db(), "deadlines").await, 0);
    app.shutdown().await;
}

/// An error answer: its status, and its body in the JSON error shape.
async fn error_of(res: reqwest::Response) -> (StatusCode, Value) {
    let status = res.status();
    let kind = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_string());
    let text = res.text().await.unwrap();
    assert_eq!(kind.as_deref(), Some("application/json"), "{status}: {text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert!(body["error"]["code"].is_string() && body["error"]["message"].is_string(), "{body}");
    (status, body)
}

backend_test!(rejections_of_paths_queries_and_bodies_are_in_the_error_shape);
async fn rejections_of_paths_queries_and_bodies_are_in_the_error_shape(backend: Backend) {
    let app = app(backend).await;
    let token = admin_token(&app).await;
    let send = |method: Method, path: &str| app.http.request(method, app.url(path)).bearer_auth(&token);
    let (status, body) = error_of(send(Method::GET, "/api/clients/abc").send().await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"]["message"].as_str().unwrap().contains("Cannot parse `abc`"), "{body}");
    let (status, _) = error_of(send(Method::GET, "/api/clients/99999999999").send().await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = error_of(send(Method::GET, "/api/clients?page=abc").send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let plain = send(Method::POST, "/api/clients").header("content-type", "text/plain").body("name=x");
    let (status, body) = error_of(plain.send().await.unwrap()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("unsupported_media_type"))
    );
    let broken = send(Method::POST, "/api/clients").header("content-type", "application/json").body("{\"name\": ");
    let (status, _) = error_of(broken.send().await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = error_of(send(Method::PATCH, "/api/clients").send().await.unwrap()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed")));
    assert_eq!(count_rows(app.db(), "clients").await, 0);
    app.shutdown().await;
}
