//! The REST API's resources (issue 6, item 3): clients, contacts, cash registers, OFD providers,
//! deadline types, deadlines, requests (decided through the same service as in Telegram),
//! invites, the reminder log, stats and the CSV export. CRUD and decisions run on SQLite and
//! PostgreSQL.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::chat::{file_request, send};
use crate::support::seed::date_in;
use crate::support::updates::{self, User};
use crate::support::{Backend, TestApp, TestAppBuilder};
use crate::support::{backend_test, integration_test};

const INJECTION: &str = "Robert'); DROP TABLE clients; -- \" OR 1=1 --";
const SCRIPT: &str = "<img src=x onerror=alert(1)>";

fn builder(backend: Backend) -> TestAppBuilder {
    TestApp::builder()
        .backend(backend)
        .env("JWT_SECRET_KEY", "api-resources-test-secret-0123456789abcdef")
        .env("LOGIN_RATE_LIMIT_PER_MINUTE", "1000")
        .env("API_RATE_LIMIT_PER_MINUTE", "100000")
}

struct Api<'a> {
    app: &'a TestApp,
    token: String,
}

impl<'a> Api<'a> {
    async fn login(app: &'a TestApp) -> Api<'a> {
        let (email, password) = app.initial_admin.clone().expect("first start made an admin");
        let res = app
            .http
            .post(app.url("/api/auth/login"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "login");
        let token = res.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string();
        Api { app, token }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self.app.http.request(method, self.app.url(path)).bearer_auth(&self.token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, Some(body)).await
    }

    async fn delete(&self, path: &str) -> StatusCode {
        self.call(Method::DELETE, path, None).await.0
    }

    /// Creates and returns the id, asserting 201.
    async fn create(&self, path: &str, body: Value) -> i64 {
        let (status, v) = self.post(path, body).await;
        assert_eq!(status, 201, "POST {path}: {v}");
        v["id"].as_i64().unwrap()
    }
}

/// The fields a 422 names.
fn invalid_fields(body: &Value) -> Vec<String> {
    assert_eq!(body["error"]["code"], "validation_failed", "{body}");
    body["error"]["details"]["fields"]
        .as_array()
        .expect("field details")
        .iter()
        .map(|f| f["field"].as_str().unwrap().to_string())
        .collect()
}

// ================================================================== auth

integration_test!(every_resource_route_needs_a_token);
async fn every_resource_route_needs_a_token() {
    let app = builder(Backend::Sqlite).spawn().await;
    let routes = [
        (Method::GET, "/api/clients"),
        (Method::POST, "/api/clients"),
        (Method::GET, "/api/clients/1"),
        (Method::PUT, "/api/clients/1"),
        (Method::DELETE, "/api/clients/1"),
        (Method::GET, "/api/clients/1/invites"),
        (Method::POST, "/api/clients/1/invites"),
        (Method::GET, "/api/contacts"),
        (Method::POST, "/api/contacts"),
        (Method::GET, "/api/contacts/1"),
        (Method::GET, "/api/cash-registers"),
        (Method::DELETE, "/api/cash-registers/1"),
        (Method::GET, "/api/ofd-providers"),
        (Method::PUT, "/api/ofd-providers/1"),
        (Method::GET, "/api/deadline-types"),
        (Method::GET, "/api/deadlines"),
        (Method::POST, "/api/deadlines/1/renew"),
        (Method::GET, "/api/requests"),
        (Method::GET, "/api/requests/1"),
        (Method::POST, "/api/requests/1/approve"),
        (Method::POST, "/api/requests/1/reject"),
        (Method::GET, "/api/notifications"),
        (Method::POST, "/api/notifications/run"),
        (Method::GET, "/api/stats"),
        (Method::GET, "/api/export/deadlines.csv"),
    ];
    for (method, path) in routes {
        let res = app.http.request(method.clone(), app.url(path)).json(&json!({})).send().await.unwrap();
        assert_eq!(res.status(), 401, "{method} {path}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unauthorized", "{method} {path}");
        let res = app.http.request(method.clone(), app.url(path)).bearer_auth("not.a.token").send().await.unwrap();
        assert_eq!(res.status(), 401, "{method} {path} with a bad token");
    }
}

integration_test!(the_request_schema_has_the_type_and_client_names);
/// The OpenAPI document describes the names a request carries, as nullable fields.
async fn the_request_schema_has_the_type_and_client_names() {
    let app = builder(Backend::Sqlite).spawn().await;
    let doc: Value = app.http.get(app.url("/api/openapi.json")).send().await.unwrap().json().await.unwrap();
    let schema = &doc["components"]["schemas"]["RequestDto"];
    let required: Vec<&str> = schema["required"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    for field in ["request_type_code", "request_type_name_ru", "request_type_name_en", "client_name"] {
        let property = &schema["properties"][field];
        assert_eq!(property["type"], json!(["string", "null"]), "{field}: {schema}");
        assert!(!property["description"].as_str().unwrap_or_default().is_empty(), "{field} is described");
        assert!(!required.contains(&field), "{field} may be absent");
    }
}

// ================================================================== CRUD

backend_test!(crud);
async fn crud(backend: Backend) {
    let app = builder(backend).spawn().await;
    let api = Api::login(&app).await;

    // --- clients: validation, conflicts, verbatim strings.
    let (status, body) = api.post("/api/clients", json!({"name": "ООО Ромашка", "inn": "7707083894"})).await;
    assert_eq!(status, 422);
    assert_eq!(invalid_fields(&body), ["inn"]);
    let (status, body) = api.post("/api/clients", json!({"inn": "7707083893"})).await;
    assert_eq!(status, 422);
    assert_eq!(invalid_fields(&body), ["name"]);
    let (status, body) = api.post("/api/clients", json!({"name": "  ", "inn": "7707083893"})).await;
    assert_eq!(status, 422);
    assert_eq!(invalid_fields(&body), ["name"]);
    // Out of the document's patterns: refused at the edge, each field named.
    let (status, body) = api.post("/api/clients", json!({"name": "  ", "inn": "12", "email": "nope"})).await;
    assert_eq!(status, 422);
    assert_eq!(invalid_fields(&body), ["email", "inn"]);

    let romashka = api.create("/api/clients", json!({"name": "ООО Ромашка", "inn": "7707083893"})).await;
    let (status, body) = api.post("/api/clients", json!({"name": "Другая", "inn": "7707083893"})).await;
    assert_eq!(status, 409, "duplicate ИНН: {body}");
    assert_eq!(body["error"]["code"], "conflict");
    let (status, body) = api
        .post("/api/clients", json!({"name": INJECTION, "inn": "7736207543", "notes": SCRIPT, "address": SCRIPT}))
        .await;
    assert_eq!(status, 201);
    assert_eq!((body["name"].as_str(), body["notes"].as_str()), (Some(INJECTION), Some(SCRIPT)));
    let evil = body["id"].as_i64().unwrap();
    let (_, body) = api.get(&format!("/api/clients/{evil}")).await;
    assert_eq!((body["name"].as_str(), body["notes"].as_str()), (Some(INJECTION), Some(SCRIPT)));
    let individual = api.create("/api/clients", json!({"name": "ИП Иванов", "inn": "500100732259"})).await;

    // Update, with a conflict against another client's ИНН.
    let (status, body) =
        api.put(&format!("/api/clients/{individual}"), json!({"name": "ИП Иванов И.И.", "inn": "7707083893"})).await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = api
        .put(
            &format!("/api/clients/{individual}"),
            json!({"name": "ИП Иванов И.И.", "inn": "500100732259", "phone": "+7 900"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["name"].as_str(), body["phone"].as_str()), (Some("ИП Иванов И.И."), Some("+7 900")));
    let (status, _) = api.put("/api/clients/999999", json!({"name": "x", "inn": "7707083893"})).await;
    assert_eq!(status, 404);

    // Lists: totals, pages, bounds, sort, search, filters.
    let (status, body) = api.get("/api/clients").await;
    assert_eq!(status, 200);
    assert_eq!(body["total"], 3);
    assert_eq!((body["page"].as_u64(), body["per_page"].as_u64()), (Some(1), Some(20)));
    let (_, body) = api.get("/api/clients?per_page=2&page=2&sort=id").await;
    assert_eq!(body["total"], 3);
    let ids: Vec<i64> = body["items"].as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [individual]);
    let (_, body) = api.get("/api/clients?per_page=2&page=5").await;
    assert_eq!((body["total"].as_u64(), body["items"].as_array().unwrap().len()), (Some(3), 0));
    let (_, body) = api.get("/api/clients?sort=-id&per_page=100").await;
    assert_eq!(body["items"][0]["id"].as_i64(), Some(individual));
    for bad in ["per_page=101", "per_page=0", "page=0", "sort=password", "sort=-nope", "page=abc"] {
        let (status, body) = api.get(&format!("/api/clients?{bad}")).await;
        assert_eq!(status, 422, "{bad}: {body}");
    }
    let (_, body) = api.get("/api/clients?q=Ромашка").await;
    assert_eq!(body["total"], 1);
    let (_, body) = api.get("/api/clients?q=77362").await;
    assert_eq!(body["items"][0]["id"].as_i64(), Some(evil));
    // Wildcards and quotes in a search are literal.
    let (_, body) = api.get("/api/clients?q=%25").await;
    assert_eq!(body["total"], 0);
    let (_, body) = api.get(&format!("/api/clients?q={}", urlencode("'); DROP TABLE"))).await;
    assert_eq!(body["total"], 1);
    api.put(
        &format!("/api/clients/{individual}"),
        json!({"name": "ИП Иванов И.И.", "inn": "500100732259", "is_active": false}),
    )
    .await;
    let (_, body) = api.get("/api/clients?is_active=false").await;
    assert_eq!(body["total"], 1);

    // --- OFD providers.
    let ofd = api.create("/api/ofd-providers", json!({"name": "Тестовый ОФД", "inn": "7707083893"})).await;
    let (status, _) = api.post("/api/ofd-providers", json!({"name": "Тестовый ОФД"})).await;
    assert_eq!(status, 409);
    let (status, body) = api.post("/api/ofd-providers", json!({"name": "Плохой", "inn": "1234567890"})).await;
    assert_eq!((status, invalid_fields(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["inn".to_string()]));
    let (_, body) = api.get("/api/ofd-providers?q=Тестовый").await;
    assert!(body["total"].as_u64().unwrap() >= 1);
    let (status, body) = api.put(&format!("/api/ofd-providers/{ofd}"), json!({"name": SCRIPT})).await;
    assert_eq!((status, body["name"].as_str()), (StatusCode::OK, Some(SCRIPT)));

    // --- cash registers.
    let register = api
        .create(
            "/api/cash-registers",
            json!({"client_id": romashka, "model": "АТОЛ 30Ф", "serial_number": "00106700000001",
                   "fiscal_drive_number": "9960440300000001", "ofd_provider_id": ofd}),
        )
        .await;
    let (status, _) = api
        .post("/api/cash-registers", json!({"client_id": evil, "model": "Эвотор", "serial_number": "00106700000001"}))
        .await;
    assert_eq!(status, 409, "duplicate serial");
    let (status, body) = api
        .post(
            "/api/cash-registers",
            json!({"client_id": 999999, "model": "", "serial_number": "1", "ofd_provider_id": 999999}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(invalid_fields(&body), ["model", "client_id", "ofd_provider_id"]);
    let (status, body) = api.post("/api/cash-registers", json!({"client_id": romashka})).await;
    assert_eq!((status, invalid_fields(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["model".to_string()]));
    let spare = api
        .create("/api/cash-registers", json!({"client_id": evil, "model": INJECTION, "serial_number": SCRIPT}))
        .await;
    let (_, body) = api.get(&format!("/api/cash-registers/{spare}")).await;
    assert_eq!((body["model"].as_str(), body["serial_number"].as_str()), (Some(INJECTION), Some(SCRIPT)));
    let (_, body) = api.get(&format!("/api/cash-registers?client_id={romashka}")).await;
    assert_eq!(body["total"], 1);
    assert_eq!(body["items"][0]["ofd_provider_id"].as_i64(), Some(ofd));
    let (status, body) = api
        .put(
            &format!("/api/cash-registers/{register}"),
            json!({"client_id": romashka, "model": "АТОЛ 30Ф", "serial_number": "00106700000001", "registration_number": "0000000001"}),
        )
        .await;
    assert_eq!((status, body["registration_number"].as_str()), (StatusCode::OK, Some("0000000001")));
    assert_eq!(api.delete(&format!("/api/cash-registers/{spare}")).await, 204);
    assert_eq!(api.delete(&format!("/api/cash-registers/{spare}")).await, 404);

    // --- deadline types (seeded, plus one of ours).
    let (_, body) = api.get("/api/deadline-types?per_page=100").await;
    let fn_type = body["items"].as_array().unwrap().iter().find(|t| t["code"] == "fn").unwrap()["id"].as_i64().unwrap();
    let custom = api
        .create("/api/deadline-types", json!({"code": "custom_check", "name_ru": "Проверка", "name_en": "Check"}))
        .await;
    let (status, _) =
        api.post("/api/deadline-types", json!({"code": "custom_check", "name_ru": "x", "name_en": "x"})).await;
    assert_eq!(status, 409);
    let (status, body) =
        api.post("/api/deadline-types", json!({"code": "Bad Code", "name_ru": "", "name_en": "x"})).await;
    assert_eq!((status, invalid_fields(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["code".into()]), "the pattern");
    let (status, body) =
        api.post("/api/deadline-types", json!({"code": "good_code", "name_ru": "", "name_en": "x"})).await;
    assert_eq!((status, invalid_fields(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["name_ru".into()]));

    // --- deadlines: validation, filters, renewal.
    let (status, body) = api
        .post(
            "/api/deadlines",
            json!({"client_id": romashka, "deadline_type_id": fn_type, "expiration_date": "31.12.2026"}),
        )
        .await;
    assert_eq!((status, invalid_fields(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["expiration_date".into()]));
    let (status, body) = api.post("/api/deadlines", json!({"client_id": romashka, "deadline_type_id": fn_type})).await;
    assert_eq!((status, invalid_fields(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["expiration_date".into()]));
    let (status, body) = api
        .post(
            "/api/deadlines",
            json!({"client_id": evil, "cash_register_id": register, "deadline_type_id": 999999, "expiration_date": date_in(5)}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(invalid_fields(&body), ["deadline_type_id", "cash_register_id"]);

    let soon = api
        .create(
            "/api/deadlines",
            json!({"client_id": romashka, "cash_register_id": register, "deadline_type_id": fn_type,
                   "expiration_date": date_in(5), "notes": SCRIPT}),
        )
        .await;
    let later = api
        .create(
            "/api/deadlines",
            json!({"client_id": romashka, "deadline_type_id": custom, "expiration_date": date_in(25)}),
        )
        .await;
    let past = api
        .create(
            "/api/deadlines",
            json!({"client_id": evil, "deadline_type_id": fn_type, "expiration_date": date_in(-3)}),
        )
        .await;
    let (_, body) = api.get(&format!("/api/deadlines/{soon}")).await;
    assert_eq!(body["notes"].as_str(), Some(SCRIPT));
    assert_eq!(body["cash_register_serial_number"], "00106700000001");
    assert_eq!(body["client_name"], "ООО Ромашка");
    assert_eq!(body["status"], "active");
    assert!((4..=6).contains(&body["days_left"].as_i64().unwrap()), "{body}");

    let ids = |body: &Value| -> Vec<i64> {
        body["items"].as_array().unwrap().iter().map(|d| d["id"].as_i64().unwrap()).collect()
    };
    let (_, body) = api.get("/api/deadlines").await;
    assert_eq!((body["total"].as_u64(), ids(&body)), (Some(3), vec![past, soon, later]));
    let (_, body) = api.get("/api/deadlines?expiring_within=10").await;
    assert_eq!(ids(&body), [soon]);
    let (_, body) = api.get("/api/deadlines?expiring_within=30&sort=-expiration_date").await;
    assert_eq!(ids(&body), [later, soon]);
    let (_, body) = api.get("/api/deadlines?overdue=true").await;
    assert_eq!(ids(&body), [past]);
    let (_, body) = api.get(&format!("/api/deadlines?client_id={romashka}&type_id={custom}")).await;
    assert_eq!(ids(&body), [later]);
    let (_, body) = api.get("/api/deadlines?status=active").await;
    assert_eq!(body["total"], 3);
    let (status, body) = api.get("/api/deadlines?status=bogus").await;
    assert_eq!((status, invalid_fields(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["status".into()]));

    let (status, body) =
        api.post(&format!("/api/deadlines/{soon}/renew"), json!({"expiration_date": date_in(1)})).await;
    assert_eq!((status, invalid_fields(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["expiration_date".into()]));
    let (status, body) = api.post(&format!("/api/deadlines/{soon}/renew"), json!({"expiration_date": "soon"})).await;
    assert_eq!((status, invalid_fields(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["expiration_date".into()]));
    let (status, body) =
        api.post(&format!("/api/deadlines/{past}/renew"), json!({"expiration_date": date_in(365)})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["expiration_date"].as_str(), body["status"].as_str()),
        (Some(date_in(365).as_str()), Some("active"))
    );
    let (status, _) = api.post("/api/deadlines/999999/renew", json!({"expiration_date": date_in(365)})).await;
    assert_eq!(status, 404);
    let (status, body) = api
        .put(
            &format!("/api/deadlines/{later}"),
            json!({"client_id": romashka, "deadline_type_id": custom, "expiration_date": date_in(26), "status": "closed"}),
        )
        .await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("closed")));

    // --- contacts.
    let contact = api
        .create("/api/contacts", json!({"client_id": romashka, "telegram_id": 7_200_000_001_i64, "name": SCRIPT}))
        .await;
    let (status, _) = api.post("/api/contacts", json!({"client_id": romashka, "telegram_id": 7_200_000_001_i64})).await;
    assert_eq!(status, 409, "one contact per client and Telegram user");
    let (status, body) = api.post("/api/contacts", json!({"client_id": 999999, "telegram_id": 0})).await;
    assert_eq!((status, invalid_fields(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["telegram_id".into()]));
    let (status, body) = api.post("/api/contacts", json!({"client_id": 999999, "telegram_id": 1})).await;
    assert_eq!((status, invalid_fields(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["client_id".into()]));
    let (status, body) = api
        .put(
            &format!("/api/contacts/{contact}"),
            json!({"client_id": romashka, "telegram_id": 7_200_000_001_i64, "notify": false}),
        )
        .await;
    assert_eq!((status, body["notify"].as_bool(), body["name"].as_str()), (StatusCode::OK, Some(false), None));
    let (_, body) = api.get(&format!("/api/contacts?client_id={romashka}")).await;
    assert_eq!(body["total"], 1);

    // --- the client's detail has everything attached.
    let (status, body) = api.get(&format!("/api/clients/{romashka}")).await;
    assert_eq!(status, 200);
    assert_eq!(body["inn"], "7707083893");
    assert_eq!(body["cash_registers"].as_array().unwrap().len(), 1);
    assert_eq!(body["deadlines"].as_array().unwrap().len(), 2);
    assert!(body["deadlines"][0]["days_left"].is_i64());
    assert_eq!(body["contacts"][0]["telegram_id"].as_i64(), Some(7_200_000_001));
    assert_eq!(api.get("/api/clients/999999").await.0, 404);

    // --- deleting referenced rows is a conflict; unreferenced ones go.
    let (status, body) = api.call(Method::DELETE, &format!("/api/clients/{romashka}"), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("conflict")));
    assert_eq!(api.delete(&format!("/api/deadline-types/{custom}")).await, 409);
    assert_eq!(api.delete(&format!("/api/deadlines/{later}")).await, 204);
    assert_eq!(api.delete(&format!("/api/deadline-types/{custom}")).await, 204);
    assert_eq!(api.delete(&format!("/api/contacts/{contact}")).await, 204);
    assert_eq!(api.delete(&format!("/api/clients/{individual}")).await, 204);
    assert_eq!(api.delete(&format!("/api/clients/{individual}")).await, 404);
    assert_eq!(api.delete(&format!("/api/ofd-providers/{ofd}")).await, 204);
    let (_, body) = api.get(&format!("/api/cash-registers/{register}")).await;
    assert!(body["ofd_provider_id"].is_null(), "the register outlives its OFD provider");

    // --- stats.
    let (status, body) = api.get("/api/stats").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["clients"].as_u64(), body["active_cash_registers"].as_u64()), (Some(2), Some(1)));
    assert_eq!(body["deadlines"]["due_7_days"], 1);
    assert_eq!(body["deadlines"]["due_30_days"], 1);
    assert_eq!(body["deadlines"]["overdue"], 0);
    assert_eq!(body["deadlines_by_week"].as_array().unwrap().len(), 12);
    let charted: u64 =
        body["deadlines_by_week"].as_array().unwrap().iter().map(|w| w["deadlines"].as_u64().unwrap()).sum();
    assert_eq!(charted, 1, "the 365-day renewal is beyond the chart");
    assert_eq!(body["requests_30_days"]["pending"], 0);
    assert_eq!(body["notifications_7_days"]["sent"], 0);

    // --- the CSV export parses back to the deadlines.
    let res = app.http.get(app.url("/api/export/deadlines.csv")).bearer_auth(&api.token).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(res.headers()["content-disposition"].to_str().unwrap().starts_with("attachment; filename="));
    let csv = res.text().await.unwrap();
    let rows = parse_csv(csv.strip_prefix('\u{feff}').expect("a byte order mark"));
    assert_eq!(rows[0][0], "Клиент");
    let (_, list) = api.get("/api/deadlines?sort=expiration_date").await;
    let expected: Vec<Vec<String>> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let date = chrono::NaiveDate::parse_from_str(d["expiration_date"].as_str().unwrap(), "%Y-%m-%d").unwrap();
            vec![
                d["client_name"].as_str().unwrap().to_string(),
                d["client_inn"].as_str().unwrap().to_string(),
                d["cash_register_model"].as_str().unwrap_or_default().to_string(),
                d["cash_register_serial_number"].as_str().unwrap_or_default().to_string(),
                d["deadline_type_name_ru"].as_str().unwrap().to_string(),
                date.format("%d.%m.%Y").to_string(),
                match d["status"].as_str().unwrap() {
                    "active" => "активен",
                    "expired" => "просрочен",
                    _ => "закрыт",
                }
                .to_string(),
                d["days_left"].as_i64().unwrap().to_string(),
                d["notes"].as_str().unwrap_or_default().to_string(),
            ]
        })
        .collect();
    assert_eq!(rows[1..], expected[..], "{csv}");
    assert!(rows.iter().any(|r| r[0] == INJECTION), "quoted fields come back whole");

    // --- invites without a bot: a code, no link.
    let (status, body) = api.post(&format!("/api/clients/{romashka}/invites"), json!({})).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["code"].as_str().unwrap().len(), 24);
    assert!(body["link"].is_null());
    let (status, body) = api.post(&format!("/api/clients/{romashka}/invites"), json!({"valid_days": 0})).await;
    assert_eq!((status, invalid_fields(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["valid_days".into()]));
    assert_eq!(api.post("/api/clients/999999/invites", json!({})).await.0, 404);
    let (_, body) = api.get(&format!("/api/clients/{romashka}/invites")).await;
    assert_eq!(body.as_array().unwrap().len(), 1);

    // --- the reminder log; a run needs the bot.
    let (status, body) = api.get("/api/notifications?status=sent").await;
    assert_eq!((status, body["total"].as_u64()), (StatusCode::OK, Some(0)));
    let (status, _) = api.get("/api/notifications?status=lost").await;
    assert_eq!(status, 422);
    let (status, body) = api.get("/api/notifications?from=2026-02-01&to=2026-01-01").await;
    assert_eq!((status, invalid_fields(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["to".into()]));
    assert_eq!(api.post("/api/notifications/run", json!({})).await.0, 409);

    // --- requests: none yet; a missing one is 404.
    let (_, body) = api.get("/api/requests").await;
    assert_eq!(body["total"], 0);
    assert_eq!(api.get("/api/requests/999999").await.0, 404);
    assert_eq!(api.post("/api/requests/999999/approve", json!({})).await.0, 404);
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A `;`-separated CSV with `"` quoting and CRLF line ends.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ';') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    rows
}

// ================================================================== decisions from the API

const ADMIN1: i64 = 900_000_001;
const ADMIN2: i64 = 900_000_002;

/// The edits of the administrators' copies.
fn copy_edits(app: &TestApp) -> Vec<(i64, String)> {
    app.tg()
        .calls_to("editMessageText")
        .into_iter()
        .filter(|c| c.ok)
        .map(|c| (c.params["chat_id"].as_i64().unwrap(), c.params["text"].as_str().unwrap().to_string()))
        .filter(|(chat, _)| [ADMIN1, ADMIN2].contains(chat))
        .collect()
}

backend_test!(decisions);
async fn decisions(backend: Backend) {
    let builder = builder(backend)
        .telegram()
        .env("ADMIN_TELEGRAM_IDS", "900000001,900000002")
        .env("TELEGRAM_RATE_CHAT_PER_SECOND", "1000")
        .env("TELEGRAM_RATE_GLOBAL_PER_SECOND", "1000")
        .env("LOG_LEVEL", std::env::var("KKT_DEBUG_LOG").as_deref().unwrap_or("warn"));
    let app = builder.spawn().await;
    let api = Api::login(&app).await;
    let client = User::ru(7_300_000_001, "Иван");

    file_request(&app, &client, None, SCRIPT).await;
    let (_, list) = api.get("/api/requests?status=pending").await;
    assert_eq!(list["total"], 1, "{list}");
    let request = list["items"][0].clone();
    let (id, number) = (request["id"].as_i64().unwrap(), request["number"].as_i64().unwrap());
    assert_eq!(request["description"].as_str(), Some(SCRIPT), "stored verbatim");
    assert_eq!(request["requester_telegram_id"].as_i64(), Some(client.id));
    // The list names the request's type in both languages; the requester is no contact yet, so
    // no client is attached.
    assert_eq!(request["request_type_code"], "fn_replacement", "{request}");
    assert_eq!(request["request_type_name_ru"], "Замена ФН");
    assert_eq!(request["request_type_name_en"], "Fiscal drive replacement");
    assert!(request["client_id"].is_null() && request["client_name"].is_null(), "{request}");
    assert!(copy_edits(&app).is_empty());

    // Approve from the API: the client is told, both copies trade their buttons for Take.
    let (status, body) = api.post(&format!("/api/requests/{id}/approve"), json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "approved");
    assert!(body["decided_by_user_id"].as_i64().is_some());
    assert_eq!(body["request_type_name_ru"], "Замена ФН", "the decision answers the same shape: {body}");
    app.settle().await;
    let told: Vec<String> = app
        .tg()
        .sent_texts_to(client.id)
        .into_iter()
        .filter(|t| t.starts_with(&format!("Заявка №{number} одобрена")))
        .collect();
    assert_eq!(told.len(), 1, "the client is told once: {:?}", app.tg().sent_texts_to(client.id));
    let edits = copy_edits(&app);
    let mut chats: Vec<i64> = edits.iter().map(|(c, _)| *c).collect();
    chats.sort();
    assert_eq!(chats, [ADMIN1, ADMIN2], "both administrators' copies are edited once: {edits:?}");
    for call in app.tg().calls_to("editMessageText") {
        assert_eq!(
            call.params["reply_markup"]["inline_keyboard"],
            json!([[{"text": "🔧 Взять в работу", "callback_data": format!("v1:st:{id}")}]]),
            "{}",
            call.params
        );
    }

    // The audit trail says it came through the API.
    let (_, detail) = api.get(&format!("/api/requests/{id}")).await;
    let events: Vec<(&str, &str)> = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["event"].as_str().unwrap(), e["channel"].as_str().unwrap()))
        .collect();
    assert_eq!(events.last(), Some(&("approved", "api")), "{detail}");
    assert_eq!(events.first().map(|e| e.0), Some("filed"));
    assert_eq!(
        (detail["request_type_name_ru"].as_str(), detail["request_type_name_en"].as_str()),
        (Some("Замена ФН"), Some("Fiscal drive replacement")),
        "{detail}"
    );
    assert!(detail["client_name"].is_null());

    // A second decision is a conflict naming who decided, and changes nothing.
    let sent_before = app.tg().calls().len();
    let (status, body) = api.post(&format!("/api/requests/{id}/reject"), json!({"reason": "поздно"})).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["details"]["status"], "approved");
    assert!(body["error"]["details"]["decided_by"].is_string());
    app.settle().await;
    assert_eq!(app.tg().calls().len(), sent_before, "nothing more is sent");

    // Once the requester is a contact of a client, the client is attached and named. Its name
    // (markup and quotes included) comes back verbatim.
    let romashka = api.create("/api/clients", json!({"name": "ООО Ромашка", "inn": "7707083893"})).await;
    let evil = api.create("/api/clients", json!({"name": INJECTION, "inn": "7736207543"})).await;
    api.create("/api/contacts", json!({"client_id": romashka, "telegram_id": client.id})).await;

    // Reject another from the API, with a reason and no body at all for a third.
    file_request(&app, &client, Some("Регистрация ККТ"), "Вторая заявка").await;
    let (_, list) = api.get("/api/requests?status=pending").await;
    let second = list["items"][0]["id"].as_i64().unwrap();
    let second_number = list["items"][0]["number"].as_i64().unwrap();
    let item = &list["items"][0];
    assert_eq!(
        (item["client_id"].as_i64(), item["client_name"].as_str()),
        (Some(romashka), Some("ООО Ромашка")),
        "{item}"
    );
    assert_eq!(
        (
            item["request_type_code"].as_str(),
            item["request_type_name_ru"].as_str(),
            item["request_type_name_en"].as_str()
        ),
        (Some("registration"), Some("Регистрация ККТ"), Some("Cash register registration"))
    );
    let (_, detail) = api.get(&format!("/api/requests/{second}")).await;
    assert_eq!(
        (detail["client_name"].as_str(), detail["request_type_name_ru"].as_str()),
        (Some("ООО Ромашка"), Some("Регистрация ККТ")),
        "{detail}"
    );
    let (status, body) = api.post(&format!("/api/requests/{second}/reject"), json!({"reason": INJECTION})).await;
    assert_eq!((status, body["reason"].as_str()), (StatusCode::OK, Some(INJECTION)));
    assert_eq!(
        (body["client_name"].as_str(), body["request_type_code"].as_str()),
        (Some("ООО Ромашка"), Some("registration"))
    );
    app.settle().await;
    assert!(
        app.tg().sent_texts_to(client.id).iter().any(|t| t.starts_with(&format!("Заявка №{second_number} отклонена"))),
        "{:?}",
        app.tg().sent_texts_to(client.id)
    );
    assert_eq!(copy_edits(&app).len(), 4);
    // The contact moves to another client: the next request names that one.
    api.create("/api/contacts", json!({"client_id": evil, "telegram_id": client.id})).await;
    let (_, contacts) = api.get(&format!("/api/contacts?client_id={romashka}")).await;
    let old_contact = contacts["items"][0]["id"].as_i64().unwrap();
    assert_eq!(api.delete(&format!("/api/contacts/{old_contact}")).await, 204);
    file_request(&app, &client, None, "Третья заявка").await;
    let (_, list) = api.get("/api/requests?status=pending").await;
    let third = list["items"][0]["id"].as_i64().unwrap();
    assert_eq!(list["items"][0]["client_name"].as_str(), Some(INJECTION), "{list}");
    let res =
        app.http.post(app.url(&format!("/api/requests/{third}/reject"))).bearer_auth(&api.token).send().await.unwrap();
    assert_eq!(res.status(), 200);

    // Filters over the three.
    let today = chrono::Utc::now().date_naive();
    let (_, body) = api.get(&format!("/api/requests?from={today}&to={today}")).await;
    assert_eq!(body["total"], 3);
    let (_, body) = api.get("/api/requests?status=rejected").await;
    assert_eq!(body["total"], 2);
    let (_, body) = api.get(&format!("/api/requests?q={number}")).await;
    assert_eq!(body["items"][0]["id"].as_i64(), Some(id));
    let (status, _) = api.get("/api/requests?from=yesterday").await;
    assert_eq!(status, 422);
    // A whole page carries the names of each row's own type and client.
    let (_, body) = api.get("/api/requests?sort=id").await;
    let names: Vec<(&str, &str)> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["request_type_name_en"].as_str().unwrap(), r["client_name"].as_str().unwrap_or("-")))
        .collect();
    assert_eq!(
        names,
        [
            ("Fiscal drive replacement", "-"),
            ("Cash register registration", "ООО Ромашка"),
            ("Fiscal drive replacement", INJECTION)
        ]
    );

    // Stats count them.
    let (_, stats) = api.get("/api/stats").await;
    assert_eq!(
        (stats["requests_30_days"]["approved"].as_u64(), stats["requests_30_days"]["rejected"].as_u64()),
        (Some(1), Some(2))
    );

    // A link request (someone sends the ИНН) has no type, and names the client of that ИНН.
    let stranger = User::ru(7_300_000_002, "Пётр");
    send(&app, &updates::text(&stranger, "7707083893")).await;
    let (_, list) = api.get("/api/requests?kind=link").await;
    assert_eq!(list["total"], 1, "{list}");
    let link = &list["items"][0];
    assert_eq!((link["kind"].as_str(), link["client_name"].as_str()), (Some("link"), Some("ООО Ромашка")), "{link}");
    for field in ["request_type_id", "request_type_code", "request_type_name_ru", "request_type_name_en"] {
        assert!(link[field].is_null(), "{field}: {link}");
    }

    // With the bot on, invites carry the deep link and a reminder run can be started.
    let (status, invite) = api.post(&format!("/api/clients/{romashka}/invites"), json!({"valid_days": 3})).await;
    assert_eq!(status, 201, "{invite}");
    let code = invite["code"].as_str().unwrap();
    let link = invite["link"].as_str().expect("a deep link");
    assert!(link.starts_with("https://t.me/") && link.ends_with(&format!("?start={code}")), "{link}");
    let (status, report) = api.post("/api/notifications/run", json!({})).await;
    assert_eq!(status, 200, "{report}");
    assert!(report["date"].is_string());
}
