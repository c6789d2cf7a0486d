//! A request's owner and conversation through the REST API: assigned to a dashboard user who gets
//! it in Telegram, taken over by **Take** in Telegram, lists by assignee, a reply that reaches the
//! client, a note that reaches nobody, the question in the thread with each message's delivery
//! status, every bad input refused without effect, and the request's photo shown through the
//! server without the bot token.

use reqwest::Method;

use super::*;
use crate::staff::{JWT_SECRET, admin_token, call, code, create_user, token};

/// The technician's own Telegram account.
const TECH_TG: i64 = 7_650_000_001;

/// A server for the bot and the API (two administrators in Telegram, a known JWT key).
pub(super) async fn app(backend: Backend) -> TestApp {
    work_app(TestApp::builder(), backend).await
}

/// [`app`] from a builder with more settings.
pub(super) async fn work_app(builder: crate::support::TestAppBuilder, backend: Backend) -> TestApp {
    let builder = builder
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

fn calls(app: &TestApp) -> usize {
    app.tg().calls().len()
}

/// The latest text of every copy of a request in an administrator's chat, with its buttons.
async fn admin_copies_now(app: &TestApp, request_id: i32) -> Vec<(i64, String, Vec<(String, String)>)> {
    let mut out = Vec::new();
    for (chat, message) in copies(app, request_id).await.into_iter().filter(|(chat, _)| ADMINS.contains(chat)) {
        let sent = sent_message(app, chat, message);
        let latest = edits_of(app, chat, message).pop().map_or(sent, |e| e.response["result"].clone());
        out.push((chat, text(&latest).to_owned(), buttons(&latest)));
    }
    out
}

backend_test!(a_request_is_assigned_and_discussed_through_the_api);
async fn a_request_is_assigned_and_discussed_through_the_api(backend: Backend) {
    let app = app(backend).await;
    let admin = admin_token(&app).await;
    let tech_id = create_user(&app, &admin, "tech@example.com", "tech-password-12", "operator").await;
    let tech_name = "User tech@example.com";

    // A technician's own Telegram id: what is assigned to them reaches them there.
    let user_path = format!("/api/users/{tech_id}");
    for bad in [json!(0), json!(-5), json!("7650000001"), json!(1_i64 << 53)] {
        let (status, answer) = call(&app, &admin, Method::PATCH, &user_path, Some(json!({"telegram_id": bad}))).await;
        assert_eq!(status, 422, "telegram_id {bad}: {answer}");
    }
    let (status, user) = call(&app, &admin, Method::PATCH, &user_path, Some(json!({"telegram_id": TECH_TG}))).await;
    assert_eq!((status.as_u16(), user["telegram_id"].as_i64()), (200, Some(TECH_TG)), "{user}");
    let other = create_user(&app, &admin, "other@example.com", "other-password-12", "operator").await;
    let (status, answer) =
        call(&app, &admin, Method::PATCH, &format!("/api/users/{other}"), Some(json!({"telegram_id": TECH_TG}))).await;
    assert_eq!((status.as_u16(), code(&answer)), (409, "conflict"), "one Telegram id, one user: {answer}");
    let tech = token(&app, "tech@example.com", "tech-password-12").await;

    let ivan = User::ru(7_650_000_101, "Иван");
    let r = file(&app, &ivan, 0, "Замена ФН").await;
    let olga_id = administrator_id(&app, ADMIN1).await;
    let petr_id = administrator_id(&app, ADMIN2).await;

    // Anyone on the staff may be assigned: the active users, then the administrators.
    let (status, list) = call(&app, &tech, Method::GET, "/api/assignees", None).await;
    assert_eq!(status, 200, "{list}");
    let candidates: Vec<(String, i64, Option<i64>)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["kind"].as_str().unwrap().to_owned(), c["id"].as_i64().unwrap(), c["telegram_id"].as_i64()))
        .collect();
    for expected in [
        ("user".to_owned(), tech_id, Some(TECH_TG)),
        ("administrator".to_owned(), i64::from(olga_id), Some(ADMIN1)),
        ("administrator".to_owned(), i64::from(petr_id), Some(ADMIN2)),
    ] {
        assert!(candidates.contains(&expected), "{expected:?} in {candidates:?}");
    }

    // An operator assigns the request to the technician.
    let path = format!("/api/requests/{}/assignee", r.id);
    let (status, answer) = call(&app, &tech, Method::PUT, &path, Some(json!({"kind": "user", "id": tech_id}))).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["assignee"], json!({"kind": "user", "id": tech_id, "name": tech_name, "telegram_id": TECH_TG}));
    assert!(answer["assigned_at"].is_string());
    app.settle().await;
    // The technician gets a notice and the request, without buttons: they act on the dashboard.
    let to_tech = messages_to(&app, TECH_TG);
    assert_eq!(to_tech.len(), 2, "{to_tech:?}");
    assert_eq!(text(&to_tech[0]), "📌 Вам назначена заявка №1.");
    assert!(text(&to_tech[1]).starts_with("Заявка №1 — Замена ФН"), "{}", text(&to_tech[1]));
    assert!(text(&to_tech[1]).contains(&format!("👤 Исполнитель: {tech_name}")));
    assert_eq!(buttons(&to_tech[1]), []);
    // Every administrator's copy shows the assignee and keeps its buttons.
    let copies_now = admin_copies_now(&app, r.id).await;
    assert_eq!(copies_now.len(), 2);
    for (chat, text, buttons) in copies_now {
        assert!(text.contains(&format!("👤 Исполнитель: {tech_name}")), "copy in {chat}: {text:?}");
        assert_eq!(buttons.len(), 2, "Approve and Reject stay: {buttons:?}");
    }
    // Approve is green and Reject red, in the copies sent and in their edits.
    let coloured = [
        ("✅ Одобрить".to_owned(), Some("success".to_owned())),
        ("❌ Отклонить".to_owned(), Some("danger".to_owned())),
    ];
    for (chat, message) in copies(&app, r.id).await.into_iter().filter(|(chat, _)| ADMINS.contains(chat)) {
        let sent = app
            .tg()
            .calls_to("sendMessage")
            .into_iter()
            .find(|c| c.ok && chat_of(c) == Some(chat) && c.response["result"]["message_id"] == message)
            .unwrap();
        assert_eq!(styles(&sent.params), coloured);
        assert_eq!(styles(&sent.response["result"]), coloured, "Telegram keeps the colours");
        for edit in edits_of(&app, chat, message) {
            assert_eq!(styles(&edit.params), coloured);
        }
    }

    // The same assignment again changes and sends nothing.
    let before = calls(&app);
    let (status, _) = call(&app, &tech, Method::PUT, &path, Some(json!({"kind": "user", "id": tech_id}))).await;
    assert_eq!(status, 200);
    app.settle().await;
    assert_eq!(calls(&app), before);
    // Bad input: 422 in the error shape, 404 for no request; nothing changes.
    for body in [
        json!({"kind": "client", "id": 1}),
        json!({"kind": "user", "id": 99_999}),
        json!({"kind": "user", "id": 0}),
        json!({"kind": "administrator", "id": 1_i64 << 40}),
        json!({"kind": "user"}),
        json!({"kind": "user", "id": tech_id, "extra": 1}),
        json!({"kind": "us\u{0}er", "id": tech_id}),
        json!({"kind": "x".repeat(10_000), "id": 1}),
    ] {
        let (status, answer) = call(&app, &tech, Method::PUT, &path, Some(body.clone())).await;
        assert_eq!((status.as_u16(), code(&answer)), (422, "validation_failed"), "{body}: {answer}");
    }
    let (status, _) =
        call(&app, &tech, Method::PUT, "/api/requests/99999/assignee", Some(json!({"kind": "user", "id": tech_id})))
            .await;
    assert_eq!(status, 404);
    assert_eq!(event_names(&events(&app, r.id).await), ["filed", "assigned"]);

    // Lists by assignee.
    let total = |query: &str| {
        let (app, tech, query) = (&app, tech.clone(), query.to_owned());
        async move {
            let (status, page) = call(app, &tech, Method::GET, &format!("/api/requests?{query}"), None).await;
            assert_eq!(status, 200, "{query}: {page}");
            page["total"].as_u64().unwrap()
        }
    };
    assert_eq!(total("assignee=me").await, 1);
    assert_eq!(total(&format!("assignee=user:{tech_id}")).await, 1);
    assert_eq!(total("assignee=none").await, 0);
    assert_eq!(total(&format!("assignee=administrator:{petr_id}")).await, 0);
    for bad in ["nobody", "user:x", "user:0", "client:1", "user:"] {
        let (status, answer) = call(&app, &tech, Method::GET, &format!("/api/requests?assignee={bad}"), None).await;
        assert_eq!(status, 422, "{bad}: {answer}");
        assert_eq!(answer["error"]["details"]["fields"][0]["field"], "assignee");
    }

    // Approved in Telegram, then taken by Пётр: whoever takes the work is its assignee.
    tap_copy(&app, &olga(), "ap", r.id).await;
    tap_copy(&app, &petr(), "st", r.id).await;
    let now = request(&app, r.id).await;
    assert_eq!((now.assignee_user_id, now.assignee_administrator_id), (None, Some(petr_id)));
    assert_eq!(total(&format!("assignee=administrator:{petr_id}")).await, 1);
    assert_eq!(total("assignee=me").await, 0);
    for (chat, text, _) in admin_copies_now(&app, r.id).await {
        assert!(text.contains("👤 Исполнитель: Пётр"), "copy in {chat}: {text:?}");
    }
    // Done has no colour of its own.
    let (chat, message) = copies(&app, r.id).await[0];
    let done = edits_of(&app, chat, message).pop().unwrap();
    assert_eq!(styles(&done.params), [("🏁 Выполнена".to_owned(), None)]);
    assert!(
        !app.tg().sent_texts_to(ADMIN2).iter().any(|t| t.starts_with("📌")),
        "who takes the work is not told it is theirs"
    );

    // A reply from the dashboard reaches the client in Telegram.
    let comments = format!("/api/requests/{}/comments", r.id);
    let (status, reply) = call(
        &app,
        &tech,
        Method::POST,
        &comments,
        Some(json!({"kind": "reply", "text": " Приедем завтра с 10 до 12. "})),
    )
    .await;
    assert_eq!(status, 201, "{reply}");
    assert_eq!(
        (reply["kind"].as_str(), reply["text"].as_str(), reply["author_name"].as_str()),
        (Some("reply"), Some("Приедем завтра с 10 до 12."), Some(tech_name))
    );
    app.settle().await;
    assert_eq!(last_text(&app, ivan.id), "💬 Заявка №1 — ответ:\nПриедем завтра с 10 до 12.");
    // An internal note reaches nobody.
    let before = calls(&app);
    let (status, note) =
        call(&app, &tech, Method::POST, &comments, Some(json!({"kind": "note", "text": "Клиент просил позвонить"})))
            .await;
    assert_eq!(status, 201, "{note}");
    assert_eq!((note["delivery"].as_str(), note["deliveries"].clone()), (Some("none"), json!([])));
    app.settle().await;
    assert_eq!(calls(&app), before, "a note sends nothing");
    // A question is a message of the thread too.
    let (status, _) = call(
        &app,
        &tech,
        Method::POST,
        &format!("/api/requests/{}/transitions", r.id),
        Some(json!({"action": "ask_client", "comment": "Какой заводской номер?"})),
    )
    .await;
    assert_eq!(status, 200);
    app.settle().await;
    // Bad thread messages: 422, nothing stored or sent.
    let before = calls(&app);
    for body in [
        json!({"kind": "comment", "text": "от имени клиента"}),
        json!({"kind": "question", "text": "?"}),
        json!({"kind": "reply", "text": "   "}),
        json!({"kind": "reply", "text": "я".repeat(4001)}),
        json!({"kind": "reply", "text": "a\u{0}b"}),
        json!({"kind": "reply"}),
        json!({"text": "без вида"}),
    ] {
        let (status, answer) = call(&app, &tech, Method::POST, &comments, Some(body.clone())).await;
        assert_eq!((status.as_u16(), code(&answer)), (422, "validation_failed"), "{body}: {answer}");
    }
    let (status, _) =
        call(&app, &tech, Method::POST, "/api/requests/99999/comments", Some(json!({"kind": "note", "text": "x"})))
            .await;
    assert_eq!(status, 404);
    app.settle().await;
    assert_eq!(calls(&app), before);

    // The request shows the whole thread in order, each message with its delivery.
    let (status, detail) = call(&app, &tech, Method::GET, &format!("/api/requests/{}", r.id), None).await;
    assert_eq!(status, 200);
    assert_eq!(detail["assignee"]["name"], "Пётр");
    type Shown<'a> = (&'a str, &'a str, Vec<(i64, &'a str)>);
    let thread: Vec<Shown> = detail["thread"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let deliveries = m["deliveries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| (d["chat_id"].as_i64().unwrap(), d["status"].as_str().unwrap()))
                .collect();
            (m["kind"].as_str().unwrap(), m["delivery"].as_str().unwrap(), deliveries)
        })
        .collect();
    assert_eq!(
        thread,
        [
            ("reply", "sent", vec![(ivan.id, "sent")]),
            ("note", "none", vec![]),
            ("question", "sent", vec![(ivan.id, "sent")]),
        ]
    );

    // Unassigned, then done: a closed request keeps its assignee.
    let (status, answer) = call(&app, &tech, Method::DELETE, &path, None).await;
    assert_eq!((status.as_u16(), answer["assignee"].clone()), (200, Value::Null), "{answer}");
    let (status, _) = call(
        &app,
        &tech,
        Method::POST,
        &format!("/api/requests/{}/transitions", r.id),
        Some(json!({"action": "done"})),
    )
    .await;
    assert_eq!(status, 200);
    for (method, body) in [(Method::PUT, Some(json!({"kind": "user", "id": tech_id}))), (Method::DELETE, None)] {
        let (status, answer) = call(&app, &tech, method, &path, body).await;
        assert_eq!((status.as_u16(), code(&answer)), (409, "conflict"), "{answer}");
    }
    let trail: Vec<(String, Option<String>)> =
        events(&app, r.id).await.into_iter().map(|e| (e.event, e.details)).collect();
    assert_eq!(
        trail.iter().map(|(e, _)| e.as_str()).collect::<Vec<_>>(),
        ["filed", "assigned", "approved", "started", "asked_client", "unassigned", "done"]
    );
    assert_eq!(trail[1].1.as_deref(), Some(tech_name));
    let (_, audit) = call(&app, &admin, Method::GET, "/api/audit?entity=request&per_page=100", None).await;
    let mut actions: Vec<&str> =
        audit["items"].as_array().unwrap().iter().map(|a| a["action"].as_str().unwrap()).collect();
    actions.reverse();
    assert_eq!(
        actions,
        [
            "request.assigned",
            "request.replied",
            "request.noted",
            "request.asked_client",
            "request.unassigned",
            "request.done"
        ]
    );
    app.settle().await;
    assert_all_through_outbox(&app).await;
    app.shutdown().await;
}

backend_test!(the_request_photo_is_shown_through_the_server);
async fn the_request_photo_is_shown_through_the_server(backend: Backend) {
    let app = app(backend).await;
    let admin = admin_token(&app).await;
    let ivan = User::ru(7_650_000_201, "Иван");
    choose_type(&app, &ivan, 0).await;
    send(&app, &updates::photo(&ivan, Some("Ошибка на дисплее"))).await;
    let summary = last_message(&app, ivan.id);
    send(&app, &submit_tap(&ivan, &summary)).await;
    let with_photo = latest_request_of(&app, &ivan).await;
    let file_id = with_photo.photo_file_id.clone().expect("filed with a photo");
    let jpeg = b"\xff\xd8\xff\xe0 a photo of the error screen".to_vec();
    app.tg().put_file(&file_id, "photos/file_7.jpg", &jpeg);

    let path = format!("/api/requests/{}/photo", with_photo.id);
    let res = app.http.get(app.url(&path)).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let headers = res.headers().clone();
    assert_eq!(headers["content-type"], "image/jpeg");
    assert_eq!(headers["content-disposition"], "inline; filename=\"file_7.jpg\"");
    let token = app.tg().token();
    for (name, value) in &headers {
        assert!(!value.to_str().unwrap_or_default().contains(token), "{name} shows the token");
    }
    assert_eq!(res.bytes().await.unwrap().to_vec(), jpeg);
    assert_eq!(app.tg().downloads(), [(token.to_owned(), "photos/file_7.jpg".to_owned())], "the server downloads");
    let get_file = app.tg().calls_to("getFile");
    assert_eq!(get_file.len(), 1);
    assert_eq!(get_file[0].params["file_id"], file_id.as_str());

    // Signed in only; a request without a photo has none; a file Telegram does not give is 502.
    let res = app.http.get(app.url(&path)).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let without = file(&app, &ivan, 1, "Регистрация").await;
    let (status, answer) = call(&app, &admin, Method::GET, &format!("/api/requests/{}/photo", without.id), None).await;
    assert_eq!((status.as_u16(), code(&answer)), (404, "not_found"));
    let (status, answer) =
        call(&app, &admin, Method::GET, &format!("/api/requests/{}/thread/1/file", without.id), None).await;
    assert_eq!((status.as_u16(), code(&answer)), (404, "not_found"));
    let other = User::ru(7_650_000_202, "Пётр-клиент");
    choose_type(&app, &other, 0).await;
    let mut unknown = updates::photo(&other, Some("Другое фото"));
    for size in unknown["message"]["photo"].as_array_mut().unwrap() {
        size["file_id"] = json!(format!("{}-gone", size["file_id"].as_str().unwrap()));
    }
    send(&app, &unknown).await;
    let summary = last_message(&app, other.id);
    send(&app, &submit_tap(&other, &summary)).await;
    let gone = latest_request_of(&app, &other).await;
    let (status, answer) = call(&app, &admin, Method::GET, &format!("/api/requests/{}/photo", gone.id), None).await;
    assert_eq!((status.as_u16(), code(&answer)), (502, "telegram_file_unavailable"), "{answer}");
    assert!(!answer.to_string().contains(token));
    app.shutdown().await;

    // With the bot off no file can be fetched.
    let app = crate::staff::builder(backend).spawn().await;
    let admin = admin_token(&app).await;
    let row = client_request::ActiveModel {
        number: Set(1),
        kind: Set(client_request::Kind::Service),
        request_type_id: Set(Some(1)),
        description: Set("Фото".into()),
        photo_file_id: Set(Some("AgAC-offline".into())),
        requester_telegram_id: Set(7_650_000_203),
        status: Set(client_request::Status::Pending),
        created_at: Set(Utc::now()),
        updated_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(app.db())
    .await
    .unwrap();
    let (status, answer) = call(&app, &admin, Method::GET, &format!("/api/requests/{}/photo", row.id), None).await;
    assert_eq!((status.as_u16(), code(&answer)), (503, "bot_off"), "{answer}");
    app.shutdown().await;
}
