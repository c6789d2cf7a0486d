//! Failed outgoing messages: a message the Bot API refuses for good is listed with its error,
//! chat and time (`GET /api/outbox/failed`, filtered by chat and paged), and an administrator
//! sends one, or all of a chat's, again: each is delivered exactly once, in the chat's order,
//! and the action is in the audit log. An operator can do neither.

use kktbot::outbox::{self, Outgoing};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::{admin_token, builder, call, code, create_user, ok, token};
use crate::support::{Backend, TestApp, backend_test};

const LOST_CHAT: i64 = 5_300_000_001;
const OTHER_CHAT: i64 = 5_300_000_002;

async fn failed(app: &TestApp, admin: &str, query: &str) -> Value {
    ok(app, admin, Method::GET, &format!("/api/outbox/failed?{query}"), None).await
}

fn ids(page: &Value) -> Vec<i64> {
    page["items"].as_array().unwrap().iter().map(|m| m["id"].as_i64().unwrap()).collect()
}

async fn enqueue(app: &TestApp, chat: i64, text: &str) -> i64 {
    outbox::enqueue(app.db(), Outgoing::text(chat, text)).await.unwrap()
}

backend_test!(refused_messages_are_listed_and_sent_again_once);
async fn refused_messages_are_listed_and_sent_again_once(backend: Backend) {
    let app = builder(backend).telegram().spawn().await;
    let admin = admin_token(&app).await;
    app.tg().lose_chat(LOST_CHAT);
    let first = enqueue(&app, LOST_CHAT, "Первое").await;
    let second = enqueue(&app, LOST_CHAT, "Второе").await;
    enqueue(&app, OTHER_CHAT, "Дошло").await;
    app.settle().await;
    assert_eq!(app.tg().sent_texts_to(OTHER_CHAT), ["Дошло"]);

    // Listed, newest failure first, with the error, the chat and the time; paged and filtered.
    let page = failed(&app, &admin, "").await;
    assert_eq!(page["total"], 2, "{page}");
    let mut listed = ids(&page);
    listed.sort();
    assert_eq!(listed, [first, second]);
    let item = &page["items"][0];
    assert_eq!(item["chat_id"], LOST_CHAT);
    assert_eq!(item["kind"], "sendMessage");
    assert!(item["error"].as_str().unwrap().contains("chat not found"), "{item}");
    assert!(item["failed_at"].is_string(), "{item}");
    assert_eq!(item["can_replay"], true);
    let by_id = failed(&app, &admin, "sort=id&per_page=1").await;
    assert_eq!((ids(&by_id), by_id["total"].as_u64()), (vec![first], Some(2)));
    assert_eq!(by_id["items"][0]["text"], "Первое");
    assert_eq!(ids(&failed(&app, &admin, "sort=id&per_page=1&page=2").await), [second]);
    assert_eq!(ids(&failed(&app, &admin, &format!("chat_id={LOST_CHAT}")).await).len(), 2);
    assert_eq!(failed(&app, &admin, &format!("chat_id={OTHER_CHAT}")).await["total"], 0);

    // The chat is back: all of its failed messages go again, in their order, once.
    app.tg().find_chat(LOST_CHAT);
    let path = format!("/api/outbox/chats/{LOST_CHAT}/replay");
    let replayed = ok(&app, &admin, Method::POST, &path, None).await;
    assert_eq!(replayed["replayed"], 2, "{replayed}");
    assert_eq!(replayed["ids"], serde_json::json!([first, second]));
    app.settle().await;
    assert_eq!(app.tg().sent_texts_to(LOST_CHAT), ["Первое", "Второе"]);
    assert_eq!(failed(&app, &admin, "").await["total"], 0);

    // A message sent already is not sent again.
    let (status, body) = call(&app, &admin, Method::POST, &format!("/api/outbox/failed/{first}/replay"), None).await;
    assert_eq!((status, code(&body)), (StatusCode::CONFLICT, "conflict"), "{body}");
    let (status, _) = call(&app, &admin, Method::POST, "/api/outbox/failed/999999/replay", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // One message alone.
    app.tg().lose_chat(LOST_CHAT);
    let third = enqueue(&app, LOST_CHAT, "Третье").await;
    app.settle().await;
    assert_eq!(ids(&failed(&app, &admin, "").await), [third]);
    app.tg().find_chat(LOST_CHAT);
    let replayed = ok(&app, &admin, Method::POST, &format!("/api/outbox/failed/{third}/replay"), None).await;
    assert_eq!(replayed["ids"], serde_json::json!([third]));
    app.settle().await;
    app.settle().await;
    assert_eq!(app.tg().sent_texts_to(LOST_CHAT), ["Первое", "Второе", "Третье"]);

    // Both actions are in the audit log, with who and what.
    let audit = ok(&app, &admin, Method::GET, "/api/audit?action=outbox", None).await;
    let records = audit["items"].as_array().unwrap();
    let actions: Vec<&str> = records.iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["outbox.replayed", "outbox.chat_replayed"], "{audit}");
    assert_eq!(records[0]["entity_id"], third.to_string());
    assert_eq!(records[1]["entity_id"], LOST_CHAT.to_string());
    assert_eq!(records[1]["changes"]["replayed"], 2);
}

backend_test!(an_operator_cannot_list_or_replay_failed_messages);
async fn an_operator_cannot_list_or_replay_failed_messages(backend: Backend) {
    let app = builder(backend).telegram().spawn().await;
    let admin = admin_token(&app).await;
    app.tg().lose_chat(LOST_CHAT);
    let id = enqueue(&app, LOST_CHAT, "Первое").await;
    app.settle().await;
    app.tg().find_chat(LOST_CHAT);
    create_user(&app, &admin, "operator@example.com", "operator-password-1", "operator").await;
    let operator = token(&app, "operator@example.com", "operator-password-1").await;
    for (method, path) in [
        (Method::GET, "/api/outbox/failed".to_string()),
        (Method::POST, format!("/api/outbox/failed/{id}/replay")),
        (Method::POST, format!("/api/outbox/chats/{LOST_CHAT}/replay")),
    ] {
        let (status, body) = call(&app, &operator, method, &path, None).await;
        assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "forbidden"), "{path}: {body}");
    }
    app.settle().await;
    assert!(app.tg().sent_texts_to(LOST_CHAT).is_empty());
    assert_eq!(failed(&app, &admin, "").await["total"], 1);
}
