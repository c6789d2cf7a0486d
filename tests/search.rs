//! Search (`q`) folds case by Unicode's rules on every database: «иванов» finds «Иванов», «ООО»
//! finds «ооо» in every list that searches people's text, for rows written through the API, in
//! Telegram, and rows that were there before the search text existed (the reference data). The
//! PostgreSQL database has the `C` locale, under which its own `lower` folds only ASCII.

use reqwest::Method;
use serde_json::{Value, json};

use crate::staff::{admin_token, builder, ok};
use crate::support::chat::file_request;
use crate::support::seed::date_in;
use crate::support::updates::User;
use crate::support::{Backend, TestApp, TestDatabase, backend_test};

/// The total of `list?q=…` (`q` URL-encoded here).
async fn found(app: &TestApp, token: &str, list: &str, q: &str) -> u64 {
    let q: String = url::form_urlencoded::byte_serialize(q.as_bytes()).collect();
    let sep = if list.contains('?') { '&' } else { '?' };
    let page = ok(app, token, Method::GET, &format!("{list}{sep}q={q}"), None).await;
    page["total"].as_u64().unwrap_or_else(|| panic!("a page: {page}"))
}

fn id(body: &Value) -> i64 {
    body["id"].as_i64().unwrap_or_else(|| panic!("an id: {body}"))
}

backend_test!(search_folds_cyrillic_case_in_every_list);
async fn search_folds_cyrillic_case_in_every_list(backend: Backend) {
    // PostgreSQL's own `lower` would fold only ASCII in this database.
    let database = TestDatabase::create_in_c_locale(backend).await;
    let app = builder(backend).database(database).telegram().spawn().await;
    let admin = admin_token(&app).await;
    let post = |path: &'static str, body: Value| {
        let (app, admin) = (&app, &admin);
        async move { ok(app, admin, Method::POST, path, Some(body)).await }
    };

    let ivanov = id(&post(
        "/api/clients",
        json!({"name": "ООО «Иванов и партнёры»", "inn": "7707083893", "contact_person": "Пётр Сидоров"}),
    )
    .await);
    post("/api/clients", json!({"name": "ооо ромашка", "inn": "7736207543"})).await;
    for (q, total) in [("иванов", 1), ("ИВАНОВ", 1), ("ООО", 2), ("ооо", 2), ("пётр", 1), ("ПАРТНЁРЫ", 1), ("7707", 1)]
    {
        assert_eq!(found(&app, &admin, "/api/clients", q).await, total, "clients q={q}");
    }
    assert_eq!(found(&app, &admin, "/api/clients", "петр").await, 0, "ё and е stay different letters");
    // The search text follows an update.
    ok(
        &app,
        &admin,
        Method::PUT,
        &format!("/api/clients/{ivanov}"),
        Some(json!({"name": "ЗАО Берёзка", "inn": "7707083893"})),
    )
    .await;
    assert_eq!(found(&app, &admin, "/api/clients", "иванов").await, 0);
    assert_eq!(found(&app, &admin, "/api/clients", "берёзка").await, 1);
    assert_eq!(found(&app, &admin, "/api/clients", "сидоров").await, 0, "a field the update left empty is gone");

    post("/api/cash-registers", json!({"client_id": ivanov, "model": "АТОЛ 30Ф", "serial_number": "00106700000001"}))
        .await;
    assert_eq!(found(&app, &admin, "/api/cash-registers", "атол 30ф").await, 1);
    post("/api/contacts", json!({"client_id": ivanov, "telegram_id": 5_400_000_001_i64, "name": "Иван Петрович"}))
        .await;
    assert_eq!(found(&app, &admin, "/api/contacts", "ИВАН ПЕТРОВИЧ").await, 1);

    // Reference data written by the migrations, before the search text existed.
    assert_eq!(found(&app, &admin, "/api/deadline-types", "фн").await, 1);
    assert_eq!(found(&app, &admin, "/api/ofd-providers", "ТАКСКОМ").await, 1);

    let types = ok(&app, &admin, Method::GET, "/api/deadline-types?per_page=100", None).await;
    let fn_type = types["items"].as_array().unwrap().iter().find(|t| t["code"] == "fn").map(id).unwrap();
    post(
        "/api/deadlines",
        json!({"client_id": ivanov, "deadline_type_id": fn_type, "expiration_date": date_in(30), "notes": "Замена ФН у Иванова"}),
    )
    .await;
    assert_eq!(found(&app, &admin, "/api/deadlines", "замена фн").await, 1);

    post("/api/administrators", json!({"telegram_id": 5_400_000_002_i64, "name": "Ольга Петровна"})).await;
    assert_eq!(found(&app, &admin, "/api/administrators", "ОЛЬГА").await, 1);
    post("/api/users", json!({"email": "maria@example.com", "password": "a-long-password-1", "name": "Мария Иванова", "role": "operator"}))
        .await;
    assert_eq!(found(&app, &admin, "/api/users", "МАРИЯ").await, 1);

    // A request filed in Telegram: its description and the requester's name.
    file_request(&app, &User::ru(5_400_000_003, "Иван"), None, "Не печатает ЧЕК").await;
    assert_eq!(found(&app, &admin, "/api/requests", "чек").await, 1);
    assert_eq!(found(&app, &admin, "/api/requests", "не ПЕЧАТАЕТ").await, 1);
    assert_eq!(found(&app, &admin, "/api/requests", "иван").await, 1);
    app.shutdown().await;
}
