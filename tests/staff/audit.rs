//! The audit log: every staff action writes its record in the action's transaction (a forced
//! failure of the record leaves neither), `GET /api/audit` filters and pages it for admins, and
//! records past `AUDIT_RETENTION_DAYS` are pruned.

use chrono::Utc;
use kktbot::entities::{audit_log, client_request};
use reqwest::{Method, StatusCode};
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set, Statement};
use serde_json::{Value, json};

use super::{admin_token, builder, call, code, create_user, login, ok, token};
use crate::support::seed::{date_in, deadline_type_id};
use crate::support::{Backend, TestApp, TestDatabase, backend_test, count_rows, integration_test};

/// The audit records matching `query` (newest first).
async fn audit(app: &TestApp, admin: &str, query: &str) -> Vec<Value> {
    let page = ok(app, admin, Method::GET, &format!("/api/audit?per_page=100&{query}"), None).await;
    page["items"].as_array().unwrap().clone()
}

/// The actions of the records, oldest first.
fn actions(records: &[Value]) -> Vec<String> {
    records.iter().rev().map(|r| r["action"].as_str().unwrap().to_string()).collect()
}

async fn pending_request(app: &TestApp, number: i32) -> i32 {
    let now = Utc::now();
    client_request::ActiveModel {
        number: Set(number),
        kind: Set(client_request::Kind::Service),
        description: Set("Замена ФН".into()),
        requester_telegram_id: Set(7_500_000_001),
        requester_name: Set(Some("Иван".into())),
        status: Set(client_request::Status::Pending),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(app.db())
    .await
    .unwrap()
    .id
}

backend_test!(every_staff_action_writes_its_record);
async fn every_staff_action_writes_its_record(backend: Backend) {
    let app = builder(backend).telegram().spawn().await;
    let (email, password) = app.initial_admin.clone().unwrap();
    let admin_id = {
        let admin = admin_token(&app).await;
        ok(&app, &admin, Method::GET, "/api/auth/me", None).await["id"].as_i64().unwrap()
    };

    // Sign-ins that fail — an unknown account and a wrong password — are recorded alike.
    assert_eq!(login(&app, "nobody@example.com", "wrong-password-1").await.status(), 401);
    assert_eq!(login(&app, &email, "wrong-password-1").await.status(), 401);
    let res = app
        .http
        .post(app.url("/api/auth/login"))
        .header("user-agent", "audit-test/1.0")
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    let admin = res.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string();
    let logins = audit(&app, &admin, "action=login").await;
    assert_eq!(actions(&logins)[actions(&logins).len() - 3..], ["login.failed", "login.failed", "login.succeeded"]);
    let (anonymous, wrong, succeeded) = (&logins[2], &logins[1], &logins[0]);
    assert_eq!(
        (anonymous["actor_kind"].as_str(), anonymous["actor_name"].as_str(), anonymous["entity_id"].as_str()),
        (Some("anonymous"), Some("nobody@example.com"), None)
    );
    assert_eq!(anonymous["changes"]["reason"], "unknown_account");
    assert_eq!(
        (wrong["actor_id"].as_i64(), wrong["changes"]["reason"].as_str()),
        (Some(admin_id), Some("wrong_password"))
    );
    assert_eq!((succeeded["source"].as_str(), succeeded["ip"].as_str()), (Some("web"), Some("127.0.0.1")));
    assert_eq!(succeeded["user_agent"], "audit-test/1.0");
    assert!(succeeded["at"].as_str().is_some_and(|at| at.starts_with(&Utc::now().format("%Y-").to_string())));

    // Users: created (no password nor hash in the record), changed, reset, deactivated.
    let ops = create_user(&app, &admin, "ops@example.com", "first-password-1", "operator").await;
    let patch = json!({"name": "Оператор"});
    ok(&app, &admin, Method::PATCH, &format!("/api/users/{ops}"), Some(patch)).await;
    ok(&app, &admin, Method::POST, &format!("/api/users/{ops}/reset-password"), None).await;
    ok(&app, &admin, Method::DELETE, &format!("/api/users/{ops}"), None).await;
    let records = audit(&app, &admin, &format!("entity=user&entity_id={ops}")).await;
    assert_eq!(actions(&records), ["user.created", "user.updated", "password.reset", "user.deactivated"]);
    let created = records[3]["changes"].to_string();
    assert!(created.contains("ops@example.com") && !created.contains("first-password-1"), "{created}");
    assert!(!created.contains("argon2") && !created.contains("password_hash"), "no secret: {created}");
    assert_eq!(records[2]["changes"], json!({"name": ["User ops@example.com", "Оператор"]}));
    assert_eq!(records[0]["changes"]["is_active"], json!([true, false]));
    assert!(records.iter().all(|r| r["actor_kind"] == "user" && r["actor_id"] == admin_id));

    // Telegram administrators.
    let tg = ok(&app, &admin, Method::POST, "/api/administrators", Some(json!({"telegram_id": 5_000_001}))).await;
    let tg = tg["id"].as_i64().unwrap();
    ok(&app, &admin, Method::DELETE, &format!("/api/administrators/{tg}"), None).await;
    let records = audit(&app, &admin, &format!("entity=administrator&entity_id={tg}")).await;
    assert_eq!(actions(&records), ["administrator.created", "administrator.deactivated"]);

    // Clients, contacts, cash registers, deadlines.
    let client = json!({"name": "ООО «Ромашка»", "inn": "7707083893"});
    let client_id = ok(&app, &admin, Method::POST, "/api/clients", Some(client)).await["id"].as_i64().unwrap();
    let renamed = json!({"name": "ООО «Лютик»", "inn": "7707083893"});
    ok(&app, &admin, Method::PUT, &format!("/api/clients/{client_id}"), Some(renamed)).await;
    let contact = json!({"client_id": client_id, "telegram_id": 7_500_000_002_i64, "name": "Анна"});
    let contact = ok(&app, &admin, Method::POST, "/api/contacts", Some(contact)).await["id"].as_i64().unwrap();
    ok(&app, &admin, Method::DELETE, &format!("/api/contacts/{contact}"), None).await;
    let register = json!({"client_id": client_id, "model": "АТОЛ 30Ф", "serial_number": "00106700000001"});
    let register = ok(&app, &admin, Method::POST, "/api/cash-registers", Some(register)).await["id"].as_i64().unwrap();
    let deadline = json!({"client_id": client_id, "cash_register_id": register,
        "deadline_type_id": deadline_type_id(app.db(), "fn").await, "expiration_date": date_in(10)});
    let deadline = ok(&app, &admin, Method::POST, "/api/deadlines", Some(deadline)).await["id"].as_i64().unwrap();
    let renew = json!({"expiration_date": date_in(400)});
    ok(&app, &admin, Method::POST, &format!("/api/deadlines/{deadline}/renew"), Some(renew)).await;
    ok(&app, &admin, Method::DELETE, &format!("/api/deadlines/{deadline}"), None).await;
    ok(&app, &admin, Method::DELETE, &format!("/api/cash-registers/{register}"), None).await;
    ok(&app, &admin, Method::DELETE, &format!("/api/clients/{client_id}"), None).await;
    let records = audit(&app, &admin, &format!("entity=client&entity_id={client_id}")).await;
    assert_eq!(actions(&records), ["client.created", "client.updated", "client.deleted"]);
    assert_eq!(records[1]["changes"], json!({"name": ["ООО «Ромашка»", "ООО «Лютик»"]}), "only what changed");
    assert_eq!(records[0]["changes"]["inn"], json!(["7707083893", null]));
    let records = audit(&app, &admin, &format!("entity=deadline&entity_id={deadline}")).await;
    assert_eq!(actions(&records), ["deadline.created", "deadline.renewed", "deadline.deleted"]);
    assert_eq!(records[1]["changes"]["expiration_date"], json!([date_in(10), date_in(400)]));
    assert_eq!(actions(&audit(&app, &admin, "entity=contact").await), ["contact.created", "contact.deleted"]);
    assert_eq!(
        actions(&audit(&app, &admin, "entity=cash_register").await),
        ["cash_register.created", "cash_register.deleted"]
    );

    // A decision from the API, a reminder run by hand, an export.
    let request = pending_request(&app, 1).await;
    ok(&app, &admin, Method::POST, &format!("/api/requests/{request}/approve"), None).await;
    let decided = audit(&app, &admin, "entity=request").await;
    assert_eq!(
        (actions(&decided), &decided[0]["changes"]["number"]),
        (vec!["request.approved".to_string()], &json!(1))
    );
    let run = ok(&app, &admin, Method::POST, "/api/notifications/run", None).await;
    let runs = audit(&app, &admin, "action=reminders.run").await;
    assert_eq!((runs.len(), &runs[0]["changes"]["queued"]), (1, &run["queued"]));
    let res = app.http.get(app.url("/api/export/deadlines.csv")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let exported = &audit(&app, &admin, "action=export").await[0]["changes"];
    assert_eq!(exported, &json!({"dataset": "deadlines", "format": "csv", "rows": 0}));

    // Own password change and sign-out (the changed password's fresh token signs out).
    let change = json!({"current_password": password, "new_password": "another-password-9"});
    let fresh =
        ok(&app, &admin, Method::POST, "/api/auth/password", Some(change)).await["token"].as_str().unwrap().to_string();
    let res = app.http.post(app.url("/api/auth/logout")).bearer_auth(&fresh).send().await.unwrap();
    assert_eq!(res.status(), 204);
    let admin = token(&app, &email, "another-password-9").await;
    let mine = audit(&app, &admin, &format!("actor_kind=user&actor_id={admin_id}&action=password")).await;
    assert_eq!(actions(&mine), ["password.reset", "password.changed"]);
    assert_eq!(audit(&app, &admin, "action=logout").await.len(), 1);

    // Filters: period and paging; the admin role only.
    let today = Utc::now().date_naive();
    let all = ok(&app, &admin, Method::GET, "/api/audit?per_page=5&page=2", None).await;
    assert_eq!((all["items"].as_array().unwrap().len(), all["page"].as_u64()), (5, Some(2)));
    let total = all["total"].as_u64().unwrap();
    let period = format!("from={}&to={}", today - chrono::Duration::days(1), today + chrono::Duration::days(1));
    let page = ok(&app, &admin, Method::GET, &format!("/api/audit?per_page=1&{period}"), None).await;
    assert_eq!(page["total"].as_u64(), Some(total));
    let past = "from=2020-01-01&to=2020-01-31";
    assert_eq!(ok(&app, &admin, Method::GET, &format!("/api/audit?{past}"), None).await["total"], 0);
    let (status, body) = call(&app, &admin, Method::GET, "/api/audit?from=yesterday", None).await;
    assert_eq!((status, code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"));
    create_user(&app, &admin, "op2@example.com", "second-password-2", "operator").await;
    let operator = token(&app, "op2@example.com", "second-password-2").await;
    let (status, body) = call(&app, &operator, Method::GET, "/api/audit", None).await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "forbidden"));
    app.shutdown().await;
}

/// Renames the audit table away (or back), so that writing a record fails.
pub(super) async fn break_audit(app: &TestApp, broken: bool) {
    let (from, to) = if broken { ("audit_log", "audit_log_off") } else { ("audit_log_off", "audit_log") };
    let sql = format!("ALTER TABLE {from} RENAME TO {to}");
    app.db().execute_raw(Statement::from_string(app.db().get_database_backend(), sql)).await.unwrap();
}

backend_test!(an_action_whose_record_fails_is_not_done);
async fn an_action_whose_record_fails_is_not_done(backend: Backend) {
    let app = builder(backend).spawn().await;
    let admin = admin_token(&app).await;
    let client = json!({"name": "ООО «Ромашка»", "inn": "7707083893"});
    let id = ok(&app, &admin, Method::POST, "/api/clients", Some(client.clone())).await["id"].as_i64().unwrap();
    let records = count_rows(app.db(), "audit_log").await;

    break_audit(&app, true).await;
    let other = json!({"name": "ООО «Лютик»", "inn": "7736207543"});
    let (status, body) = call(&app, &admin, Method::POST, "/api/clients", Some(other.clone())).await;
    assert_eq!((status, code(&body)), (StatusCode::SERVICE_UNAVAILABLE, "unavailable"));
    let renamed = json!({"name": "ООО «Василёк»", "inn": "7707083893"});
    let (status, _) = call(&app, &admin, Method::PUT, &format!("/api/clients/{id}"), Some(renamed)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let (status, _) = call(&app, &admin, Method::DELETE, &format!("/api/clients/{id}"), None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let (email, password) = app.initial_admin.clone().unwrap();
    assert_eq!(login(&app, &email, &password).await.status(), StatusCode::SERVICE_UNAVAILABLE, "no unrecorded sign-in");
    break_audit(&app, false).await;

    let clients = ok(&app, &admin, Method::GET, "/api/clients", None).await;
    assert_eq!(clients["total"], 1, "the client was not created: {clients}");
    assert_eq!(clients["items"][0]["name"], "ООО «Ромашка»", "nor renamed, nor deleted");
    assert_eq!(count_rows(app.db(), "audit_log").await, records, "and nothing was recorded");
    // With the log back, the same action is done and recorded.
    ok(&app, &admin, Method::POST, "/api/clients", Some(other)).await;
    assert_eq!(count_rows(app.db(), "audit_log").await, records + 1);
    app.shutdown().await;
}

integration_test!(records_past_the_retention_are_pruned);
async fn records_past_the_retention_are_pruned() {
    let (db, conn) = TestDatabase::migrated(Backend::Sqlite).await;
    for (days, action) in [(40, "client.created"), (20, "client.updated")] {
        audit_log::ActiveModel {
            at: Set(Utc::now() - chrono::Duration::days(days)),
            actor_kind: Set("cli".into()),
            actor_name: Set("command line".into()),
            source: Set("cli".into()),
            action: Set(action.into()),
            entity: Set("client".into()),
            ..Default::default()
        }
        .insert(&conn)
        .await
        .unwrap();
    }
    let app = builder(Backend::Sqlite).database(db).env("AUDIT_RETENTION_DAYS", "30").spawn().await;
    let admin = admin_token(&app).await;
    let mut left = Vec::new();
    for _ in 0..50 {
        left = actions(&audit(&app, &admin, "entity=client").await);
        if left.len() == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(left, ["client.updated"], "the 40-day-old record is gone, the 20-day-old one stays");
    app.shutdown().await;
}
