//! After the decision: a request worked to done through Telegram (Take, a question to the
//! client, Done, a reopen) and through the REST API, forbidden transitions refused without any
//! effect, the client's cancel of an approved request, and redelivered taps.

use reqwest::Method;

use super::*;
use crate::staff::{JWT_SECRET, admin_token, call, code, create_user, token};

const TAKE: &str = "🔧 Взять в работу";
const DONE: &str = "🏁 Выполнена";

/// A server for the bot and the API (two administrators in Telegram, a known JWT key).
async fn app(backend: Backend) -> TestApp {
    let builder = TestApp::builder()
        .backend(backend)
        .telegram()
        .env("ADMIN_TELEGRAM_IDS", "900000001,900000002")
        .env("JWT_SECRET_KEY", JWT_SECRET)
        .env("LOGIN_RATE_LIMIT_PER_MINUTE", "1000")
        .env("API_RATE_LIMIT_PER_MINUTE", "100000")
        .env("TELEGRAM_RATE_CHAT_PER_SECOND", "1000")
        .env("TELEGRAM_RATE_GLOBAL_PER_SECOND", "1000");
    let builder = if backend.uses_redis() { builder.redis() } else { builder };
    builder.spawn().await
}

/// What the client was told about their request after filing it.
fn told(app: &TestApp, client: &User) -> Vec<String> {
    app.tg()
        .sent_texts_to(client.id)
        .into_iter()
        .filter(|t| ["Заявка №", "Вопрос ", "Работа "].iter().any(|p| t.starts_with(p)) && !t.contains(" принята."))
        .collect()
}

/// The latest edit of every copy of a request: (chat, text, buttons).
async fn copies_now(app: &TestApp, request_id: i32) -> Vec<(i64, String, Vec<(String, String)>)> {
    let mut out = Vec::new();
    for (chat, message) in copies(app, request_id).await {
        let edits = edits_of(app, chat, message);
        let last = edits.last().unwrap_or_else(|| panic!("copy {message} in chat {chat} was never edited"));
        out.push((chat, last.params["text"].as_str().unwrap().to_owned(), buttons(&last.params)));
    }
    out
}

/// Checks every copy: its latest edit shows `line` and exactly `expected` buttons.
async fn assert_copies_show(app: &TestApp, request_id: i32, line: &str, expected: &[(String, String)]) {
    let copies = copies_now(app, request_id).await;
    assert_eq!(copies.len(), 2, "both administrators have a copy");
    for (chat, text, buttons) in copies {
        assert!(text.contains(line), "copy in chat {chat} shows {line:?}: {text:?}");
        assert_eq!(buttons, expected, "copy in chat {chat}: {text:?}");
    }
}

fn take(id: i32) -> (String, String) {
    pair(TAKE, &format!("v1:st:{id}"))
}

fn done(id: i32) -> (String, String) {
    pair(DONE, &format!("v1:dn:{id}"))
}

/// Every call to the fake Bot API so far (to check that nothing more was sent).
fn calls(app: &TestApp) -> usize {
    app.tg().calls().len()
}

backend_test!(a_request_is_worked_to_done_in_telegram);
async fn a_request_is_worked_to_done_in_telegram(backend: Backend) {
    let app = app(backend).await;
    let ivan = User::ru(7_600_000_001, "Иван");
    let r = file(&app, &ivan, 0, "Замена ФН").await;

    // No work before the decision: Take on a pending request is refused.
    let early = tap_copy(&app, &petr(), "st", r.id).await;
    assert_eq!(
        answer_to(&app, &early).as_deref(),
        Some("Заявка №1 сейчас ждёт решения: это действие к ней не относится.")
    );
    assert_eq!(request(&app, r.id).await.status, client_request::Status::Pending);

    tap_copy(&app, &olga(), "ap", r.id).await;
    assert_copies_show(&app, r.id, "✅ Одобрена: Ольга, ", &[take(r.id)]).await;

    // A client's forged Take is refused.
    let forged = updates::callback(&ivan, &format!("v1:st:{}", r.id), 1);
    send(&app, &forged).await;
    assert_eq!(answer_to(&app, &forged).as_deref(), Some(NOT_ADMIN));
    assert_eq!(request(&app, r.id).await.status, client_request::Status::Approved);

    let started = tap_copy(&app, &petr(), "st", r.id).await;
    assert_eq!(answer_to(&app, &started).as_deref(), Some("Готово: заявка №1 — в работе."));
    let now = request(&app, r.id).await;
    assert_eq!(now.status, client_request::Status::InProgress);
    assert!(now.started_at.is_some());
    assert_copies_show(&app, r.id, "🔧 В работе: Пётр, ", &[done(r.id)]).await;
    for (_, text, _) in copies_now(&app, r.id).await {
        assert!(text.contains("✅ Одобрена: Ольга, "), "the decision stays on the copy: {text:?}");
    }

    // Telegram delivers the same tap again: no second effect.
    let before = (calls(&app), events(&app, r.id).await.len());
    send(&app, &started).await;
    assert_eq!((calls(&app), events(&app, r.id).await.len()), before, "a redelivered update changes nothing");

    // A question to the client: the request waits for them; Take resumes the work.
    send(&app, &updates::text(&olga(), "/ask 1 Какой заводской номер ККТ?")).await;
    assert_eq!(last_text(&app, ADMIN1), "Готово: заявка №1 — ждёт ответа клиента.");
    assert_eq!(request(&app, r.id).await.status, client_request::Status::WaitingForClient);
    assert_copies_show(&app, r.id, "❓ Вопрос клиенту: Ольга, ", &[take(r.id), done(r.id)]).await;
    for (_, text, _) in copies_now(&app, r.id).await {
        assert!(text.contains("«Какой заводской номер ККТ?»"), "{text:?}");
    }
    send(&app, &updates::text(&olga(), "/ask 1")).await;
    assert_eq!(last_text(&app, ADMIN1), "Использование: /ask N вопрос клиенту.");
    tap_copy(&app, &petr(), "st", r.id).await;
    assert_eq!(request(&app, r.id).await.status, client_request::Status::InProgress);

    let finished = tap_copy(&app, &petr(), "dn", r.id).await;
    assert_eq!(answer_to(&app, &finished).as_deref(), Some("Готово: заявка №1 — выполнена."));
    let now = request(&app, r.id).await;
    assert_eq!(now.status, client_request::Status::Done);
    assert!(now.done_at.is_some());
    assert_copies_show(&app, r.id, "🏁 Выполнена: Пётр, ", &[]).await;

    // A closed request: a second Done (a new tap) is refused and sends nothing but the notice.
    let before = (calls(&app), told(&app, &ivan).len());
    let again = tap_copy(&app, &olga(), "dn", r.id).await;
    assert_eq!(
        answer_to(&app, &again).as_deref(),
        Some("Заявка №1 сейчас выполнена: это действие к ней не относится.")
    );
    assert_eq!((calls(&app), told(&app, &ivan).len()), (before.0 + 1, before.1), "only the callback answer");
    send(&app, &updates::text(&olga(), "/ask 1 ещё вопрос")).await;
    assert_eq!(last_text(&app, ADMIN1), "Заявка №1 сейчас выполнена: это действие к ней не относится.");
    assert_eq!(request(&app, r.id).await.status, client_request::Status::Done);

    // An administrator reopens it: back in progress, the client is told.
    send(&app, &updates::text(&ivan, "/reopen 1")).await;
    assert_eq!(last_text(&app, ivan.id), NOT_ADMIN);
    send(&app, &updates::text(&olga(), "/reopen 1 чек не печатается")).await;
    assert_eq!(last_text(&app, ADMIN1), "Готово: заявка №1 — в работе.");
    let now = request(&app, r.id).await;
    assert_eq!((now.status, now.done_at), (client_request::Status::InProgress, None));
    assert_copies_show(&app, r.id, "↩️ Открыта снова: Ольга, ", &[done(r.id)]).await;

    assert_eq!(
        told(&app, &ivan),
        [
            "Заявка №1 одобрена.",
            "Заявка №1 взята в работу.",
            "Вопрос по заявке №1: Какой заводской номер ККТ?",
            "Работа по заявке №1 продолжается.",
            "Заявка №1 выполнена.",
            "Заявка №1 снова открыта.",
        ]
    );
    let trail: Vec<(String, String, String, Option<String>)> = events(&app, r.id)
        .await
        .into_iter()
        .map(|e| (e.event, e.channel, e.actor_name.unwrap_or_default(), e.details))
        .collect();
    let row = |event: &str, who: &str, details: Option<&str>| {
        (event.to_string(), "telegram".to_string(), who.to_string(), details.map(str::to_string))
    };
    assert_eq!(
        trail,
        [
            row("filed", "Иван", None),
            row("approved", "Ольга", None),
            row("started", "Пётр", None),
            row("asked_client", "Ольга", Some("Какой заводской номер ККТ?")),
            row("started", "Пётр", None),
            row("done", "Пётр", None),
            row("reopened", "Ольга", Some("чек не печатается")),
        ]
    );
    assert_all_through_outbox(&app).await;
    app.shutdown().await;
}

backend_test!(a_request_is_worked_to_done_through_the_api);
async fn a_request_is_worked_to_done_through_the_api(backend: Backend) {
    let app = app(backend).await;
    let admin = admin_token(&app).await;
    create_user(&app, &admin, "operator@example.com", "operator-password-1", "operator").await;
    let operator = token(&app, "operator@example.com", "operator-password-1").await;
    let ivan = User::en(7_600_000_011, "Ivan");
    let r = file(&app, &ivan, 0, "Fiscal drive").await;
    let path = format!("/api/requests/{}/transitions", r.id);
    let post = |token: &str, body: Value| {
        let (app, token, path) = (&app, token.to_string(), path.clone());
        async move { call(app, &token, Method::POST, &path, Some(body)).await }
    };

    // Forbidden transitions: refused in the JSON error shape, and nothing changes.
    let before = (calls(&app), events(&app, r.id).await.len());
    for action in ["start", "done", "ask_client", "reopen"] {
        let body = json!({"action": action, "comment": "?"});
        let (status, answer) = post(&operator, body).await;
        let expected = if action == "reopen" { 403 } else { 409 };
        assert_eq!(status, expected, "{action} on a pending request: {answer}");
        if expected == 409 {
            assert_eq!(code(&answer), "conflict");
            assert_eq!(answer["error"]["details"]["status"], "pending");
            assert_eq!(answer["error"]["details"]["actions"], json!(["approve", "reject"]));
        }
    }
    let (status, answer) = post(&admin, json!({"action": "reopen"})).await;
    assert_eq!((status.as_u16(), answer["error"]["details"]["status"].as_str()), (409, Some("pending")), "{answer}");
    for body in [
        json!({"action": "finish"}),
        json!({"action": "approve"}),
        json!({"action": "cancel"}),
        json!({"status": "done"}),
        json!({}),
    ] {
        let (status, answer) = post(&operator, body.clone()).await;
        assert_eq!(status, 422, "{body}: {answer}");
        assert_eq!(code(&answer), "validation_failed");
    }
    app.settle().await;
    assert_eq!((calls(&app), events(&app, r.id).await.len()), before, "refusals change nothing");
    assert_eq!(request(&app, r.id).await.status, client_request::Status::Pending);

    let (status, answer) = call(&app, &operator, Method::POST, &format!("/api/requests/{}/approve", r.id), None).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["actions"], json!(["start", "ask_client"]));
    // A question needs its text, of at most 1000 characters.
    for comment in [json!(null), json!("   "), json!("я".repeat(1001))] {
        let (status, answer) = post(&operator, json!({"action": "ask_client", "comment": comment})).await;
        assert_eq!(status, 422, "{answer}");
        assert_eq!(answer["error"]["details"]["fields"][0]["field"], "comment");
    }
    let (status, answer) = post(&operator, json!({"action": "start"})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        (answer["status"].as_str(), answer["actions"].clone()),
        (Some("in_progress"), json!(["ask_client", "done"]))
    );
    assert!(answer["started_at"].is_string());
    let (status, answer) = post(&operator, json!({"action": "start"})).await;
    assert_eq!((status.as_u16(), answer["error"]["details"]["status"].as_str()), (409, Some("in_progress")));
    let (status, answer) = post(&operator, json!({"action": "ask_client", "comment": "Which serial number?"})).await;
    assert_eq!((status.as_u16(), answer["status"].as_str()), (200, Some("waiting_for_client")), "{answer}");
    let (status, answer) = post(&operator, json!({"action": "done"})).await;
    assert_eq!((status.as_u16(), answer["status"].as_str()), (200, Some("done")), "{answer}");
    assert_eq!(answer["actions"], json!(["reopen"]));
    assert!(answer["done_at"].is_string());
    app.settle().await;
    assert_copies_show(&app, r.id, "🏁 Выполнена: User operator@example.com, ", &[]).await;

    // Only an administrator reopens a closed request.
    let (status, answer) = post(&operator, json!({"action": "reopen"})).await;
    assert_eq!((status.as_u16(), code(&answer)), (403, "forbidden"), "{answer}");
    assert_eq!(request(&app, r.id).await.status, client_request::Status::Done);
    let (status, answer) = post(&admin, json!({"action": "reopen", "comment": "the printer again"})).await;
    assert_eq!((status.as_u16(), answer["status"].as_str()), (200, Some("in_progress")), "{answer}");
    assert!(answer["done_at"].is_null());
    app.settle().await;

    // The client is told in their language.
    let told: Vec<String> = app.tg().sent_texts_to(ivan.id).into_iter().filter(|t| !t.contains("submitted")).collect();
    assert_eq!(
        told[told.len() - 5..],
        [
            "Request #1 approved.",
            "Request #1 is in progress.",
            "A question about request #1: Which serial number?",
            "Request #1 is done.",
            "Request #1 is open again.",
        ]
    );
    let (_, detail) = call(&app, &admin, Method::GET, &format!("/api/requests/{}", r.id), None).await;
    let trail: Vec<(&str, &str)> = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["event"].as_str().unwrap(), e["channel"].as_str().unwrap()))
        .collect();
    assert_eq!(
        trail,
        [
            ("filed", "telegram"),
            ("approved", "api"),
            ("started", "api"),
            ("asked_client", "api"),
            ("done", "api"),
            ("reopened", "api")
        ]
    );
    // Audited like the decisions, with the status before → after.
    let (_, audit) = call(&app, &admin, Method::GET, "/api/audit?entity=request&per_page=100", None).await;
    let mut records: Vec<(String, Value)> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["action"].as_str().unwrap().to_string(), a["changes"]["status"].clone()))
        .collect();
    records.reverse();
    assert_eq!(
        records,
        [
            ("request.approved".to_string(), json!("approved")),
            ("request.started".to_string(), json!(["approved", "in_progress"])),
            ("request.asked_client".to_string(), json!(["in_progress", "waiting_for_client"])),
            ("request.done".to_string(), json!(["waiting_for_client", "done"])),
            ("request.reopened".to_string(), json!(["done", "in_progress"])),
        ]
    );

    // A link request has no work: 422, nothing changes.
    send(&app, &updates::text(&ivan, "7707083893")).await;
    let link = latest_request_of(&app, &ivan).await;
    assert_eq!(link.kind, client_request::Kind::Link);
    let (status, answer) =
        call(&app, &admin, Method::POST, &format!("/api/requests/{}/reject", link.id), Some(json!({}))).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["actions"], json!(["reopen"]));
    let (status, _) = call(
        &app,
        &admin,
        Method::POST,
        &format!("/api/requests/{}/transitions", link.id),
        Some(json!({"action": "start"})),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(request(&app, link.id).await.status, client_request::Status::Rejected);
    app.shutdown().await;
}

backend_test!(the_client_cancels_an_approved_request_but_not_one_in_progress);
async fn the_client_cancels_an_approved_request_but_not_one_in_progress(backend: Backend) {
    let app = app(backend).await;
    let ivan = User::ru(7_600_000_021, "Иван");
    let first = file(&app, &ivan, 0, "Замена ФН").await;
    let second = file(&app, &ivan, 1, "Регистрация").await;
    tap_copy(&app, &olga(), "ap", first.id).await;
    tap_copy(&app, &olga(), "ap", second.id).await;
    tap_copy(&app, &petr(), "st", second.id).await;

    send(&app, &updates::text(&ivan, "/myrequests")).await;
    let list = last_message(&app, ivan.id);
    assert!(text(&list).contains("№2 · Регистрация ККТ · в работе · "), "{}", text(&list));
    assert!(text(&list).contains("№1 · Замена ФН · одобрена · "), "{}", text(&list));
    assert_eq!(
        buttons(&list),
        [pair("Отменить №1", &format!("v1:cr:{}", first.id))],
        "work under way is not cancelled"
    );

    let cancel = updates::callback(&ivan, &format!("v1:cr:{}", first.id), message_id(&list));
    send(&app, &cancel).await;
    assert_eq!(last_text(&app, ivan.id), "Заявка №1 отменена.");
    assert_eq!(request(&app, first.id).await.status, client_request::Status::Cancelled);
    assert_copies_show(&app, first.id, "Отменена клиентом, ", &[]).await;
    for (_, text, _) in copies_now(&app, first.id).await {
        assert!(text.contains("✅ Одобрена: Ольга, "), "the decision stays: {text:?}");
    }
    // The same tap delivered again, and the request in progress: nothing changes.
    let before = calls(&app);
    send(&app, &cancel).await;
    assert_eq!(calls(&app), before);
    send(&app, &updates::callback(&ivan, &format!("v1:cr:{}", second.id), message_id(&list))).await;
    assert_eq!(last_text(&app, ivan.id), "Заявку №2 уже нельзя отменить: она в работе.");
    assert_eq!(request(&app, second.id).await.status, client_request::Status::InProgress);
    assert_eq!(event_names(&events(&app, first.id).await), ["filed", "approved", "cancelled"]);
    assert_eq!(event_names(&events(&app, second.id).await), ["filed", "approved", "started"]);

    // An administrator reopens the cancelled request: it waits for a decision again.
    send(&app, &updates::text(&petr(), "/reopen 1")).await;
    assert_eq!(last_text(&app, ADMIN2), "Готово: заявка №1 — ждёт решения.");
    let r = request(&app, first.id).await;
    assert_eq!((r.status, r.decided_by, r.decided_at), (client_request::Status::Pending, None, None));
    assert_copies_show(
        &app,
        first.id,
        "↩️ Открыта снова: Пётр, ",
        &[pair("✅ Одобрить", &format!("v1:ap:{}", first.id)), pair("❌ Отклонить", &format!("v1:rj:{}", first.id))],
    )
    .await;
    assert_eq!(app.tg().sent_texts_to(ivan.id).last().map(String::as_str), Some("Заявка №1 снова открыта."));
    assert_all_through_outbox(&app).await;
    app.shutdown().await;
}
