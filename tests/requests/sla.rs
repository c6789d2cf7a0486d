//! Service levels: a request type's own hours to a decision, the re-announcement of a request
//! still pending past its time (once, whatever the passes of the watch), the flag of one not done
//! in time, and the figures per week with the requests over their time, with the server's clock
//! moved forward instead of waiting hours.

use std::time::Duration;

use reqwest::Method;

use super::work::work_app;
use super::*;
use crate::staff::{admin_token, call, code, create_user, token};

/// The texts sent to a chat that start with `prefix`.
fn sent_starting(app: &TestApp, chat: i64, prefix: &str) -> Vec<String> {
    app.tg().sent_texts_to(chat).into_iter().filter(|t| t.starts_with(prefix)).collect()
}

/// Waits (up to 20 s) until `chat` got a text starting with `prefix`.
async fn wait_for_text(app: &TestApp, chat: i64, prefix: &str) {
    for _ in 0..200 {
        if !sent_starting(app, chat, prefix).is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{chat} got no text starting with {prefix:?}: {:?}", app.tg().sent_texts_to(chat));
}

const WATCH_EVERY: Duration = Duration::from_millis(150);

backend_test!(requests_past_their_times_are_announced_once_and_flagged);
async fn requests_past_their_times_are_announced_once_and_flagged(backend: Backend) {
    let app = work_app(TestApp::builder().sla_watch(WATCH_EVERY), backend).await;
    let admin = admin_token(&app).await;
    let ivan = User::ru(7_660_000_001, "Иван");
    let first = file(&app, &ivan, 0, "Замена ФН").await;
    let second = file(&app, &ivan, 1, "Регистрация").await;
    let second_type = second.request_type_id.unwrap();

    // A type sets its own hours to a decision (admin role, 1–8760 or null for the default).
    let type_path = format!("/api/request-types/{second_type}");
    create_user(&app, &admin, "op@example.com", "operator-password-1", "operator").await;
    let operator = token(&app, "op@example.com", "operator-password-1").await;
    let (status, _) = call(&app, &operator, Method::PATCH, &type_path, Some(json!({"decision_sla_hours": 8}))).await;
    assert_eq!(status, 403);
    for bad in [json!(0), json!(8761), json!(-1), json!("8"), json!(1.5)] {
        let (status, answer) =
            call(&app, &admin, Method::PATCH, &type_path, Some(json!({"decision_sla_hours": bad}))).await;
        assert_eq!((status.as_u16(), code(&answer)), (422, "validation_failed"), "{bad}: {answer}");
    }
    let (status, _) =
        call(&app, &admin, Method::PATCH, "/api/request-types/999", Some(json!({"done_sla_hours": 5}))).await;
    assert_eq!(status, 404);
    let (status, answer) = call(&app, &admin, Method::PATCH, &type_path, Some(json!({"decision_sla_hours": 8}))).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        (answer["decision_sla_hours"].as_i64(), answer["decision_hours"].as_u64(), answer["done_hours"].as_u64()),
        (Some(8), Some(8), Some(72))
    );
    let (_, types) = call(&app, &operator, Method::GET, "/api/request-types", None).await;
    let hours: Vec<(u64, u64)> = types
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["decision_hours"].as_u64().unwrap(), t["done_hours"].as_u64().unwrap()))
        .collect();
    assert_eq!(hours, [(4, 72), (8, 72), (4, 72), (4, 72), (4, 72)]);

    // Five hours later: the first request (4 h) is announced to every administrator again, with
    // its buttons; the second (8 h) is not.
    app.state.clock.advance(chrono::Duration::hours(5));
    let overdue = "⏰ Заявка №1 ждёт решения дольше 4 ч.";
    for admin in ADMINS {
        wait_for_text(&app, admin, overdue).await;
    }
    // Many passes of the watch later, still once.
    tokio::time::sleep(WATCH_EVERY * 8).await;
    app.settle().await;
    for admin in ADMINS {
        assert_eq!(sent_starting(&app, admin, "⏰"), [overdue], "announced once to {admin}");
        let copies_in_chat = copies(&app, first.id).await.into_iter().filter(|(chat, _)| *chat == admin).count();
        assert_eq!(copies_in_chat, 2, "the request again, with its buttons, in {admin}'s chat");
    }
    assert!(request(&app, first.id).await.decision_sla_announced_at.is_some());
    assert!(request(&app, second.id).await.decision_sla_announced_at.is_none());
    let (_, figures) = call(&app, &operator, Method::GET, "/api/stats/sla", None).await;
    let over: Vec<(i64, &str)> = figures["over"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["number"].as_i64().unwrap(), r["sla"]["over"].as_str().unwrap()))
        .collect();
    assert_eq!(over, [(1, "decision")]);

    // Approved (on the newest copy) and taken; the second passes its 8 hours.
    let newest = copies(&app, first.id).await.into_iter().rev().find(|(chat, _)| *chat == ADMIN1).unwrap().1;
    send(&app, &updates::callback(&olga(), &format!("v1:ap:{}", first.id), newest)).await;
    tap_copy(&app, &petr(), "st", first.id).await;
    assert_eq!(request(&app, first.id).await.status, client_request::Status::InProgress);
    app.state.clock.advance(chrono::Duration::hours(4));
    wait_for_text(&app, ADMIN1, "⏰ Заявка №2 ждёт решения дольше 8 ч.").await;

    // Past 72 hours the first is flagged: its copies show it and its assignee is told, once.
    app.state.clock.advance(chrono::Duration::hours(64));
    let flagged = "⚠️ Заявка №1 не выполнена за 72 ч.";
    wait_for_text(&app, ADMIN2, flagged).await;
    tokio::time::sleep(WATCH_EVERY * 8).await;
    app.settle().await;
    assert_eq!(sent_starting(&app, ADMIN2, "⚠️"), [flagged]);
    assert!(sent_starting(&app, ADMIN1, "⚠️").is_empty(), "only the assignee is told");
    for (chat, message) in copies(&app, first.id).await {
        let edits = edits_of(&app, chat, message);
        let last = edits.last().expect("the copy was edited");
        let shown = last.params["text"].as_str().unwrap();
        assert!(shown.contains("⚠️ Не выполнена в срок"), "copy in {chat}: {shown:?}");
    }
    assert!(request(&app, first.id).await.done_sla_flagged_at.is_some());

    // The figures: this week's decision, and both requests over their times now.
    let (status, figures) = call(&app, &operator, Method::GET, "/api/stats/sla?weeks=2", None).await;
    assert_eq!(status, 200, "{figures}");
    assert_eq!(
        (figures["default_decision_hours"].as_u64(), figures["default_done_hours"].as_u64()),
        (Some(4), Some(72))
    );
    let over: Vec<(i64, &str)> = figures["over"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["number"].as_i64().unwrap(), r["sla"]["over"].as_str().unwrap()))
        .collect();
    assert_eq!(over, [(1, "done"), (2, "decision")]);
    let decided: u64 = figures["weeks"].as_array().unwrap().iter().map(|w| w["decided"].as_u64().unwrap()).sum();
    assert_eq!(decided, 1, "{figures}");
    let week = figures["weeks"].as_array().unwrap().iter().find(|w| w["decided"] == 1).unwrap();
    assert!(week["decision_median_hours"].as_f64().is_some_and(|h| (0.0..1.0).contains(&h)), "{week}");
    for bad in ["weeks=0", "weeks=105", "weeks=x"] {
        let (status, _) = call(&app, &operator, Method::GET, &format!("/api/stats/sla?{bad}"), None).await;
        assert_eq!(status, 422, "{bad}");
    }

    // Done: no longer over, counted in the week's completions.
    tap_copy(&app, &petr(), "dn", first.id).await;
    let (_, figures) = call(&app, &operator, Method::GET, "/api/stats/sla?weeks=2", None).await;
    assert_eq!(figures["over"].as_array().unwrap().len(), 1);
    let done: u64 = figures["weeks"].as_array().unwrap().iter().map(|w| w["done"].as_u64().unwrap()).sum();
    assert_eq!(done, 1, "{figures}");
    assert_all_through_outbox(&app).await;
    app.shutdown().await;
}
