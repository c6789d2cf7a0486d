//! A request's conversation in Telegram, from filing to done: the client's replies to any message
//! about their request (and their text, photo or document while it waits for them) reach the
//! administrators, then only its assignee; an administrator's reply to such a message reaches the
//! client; `/note` reaches nobody; `/mine`; `/myrequests` with the assignee; the thread on the
//! dashboard with each delivery and a photo shown through the server; cancel and reopen; a
//! redelivered comment has no second effect.

use reqwest::Method;

use super::work::app;
use super::*;
use crate::staff::{admin_token, call};

/// The id of the last successful `method` message to `chat`.
fn last_id(app: &TestApp, method: &str, chat: i64) -> i64 {
    message_id(sent(app, method, chat).last().unwrap_or_else(|| panic!("no {method} to {chat}")))
}

/// The id of the message to `chat` whose text (or caption) is `text`.
fn id_of(app: &TestApp, chat: i64, text: &str) -> i64 {
    messages_to(app, chat)
        .into_iter()
        .find(|m| m["text"] == text)
        .map(|m| message_id(&m))
        .unwrap_or_else(|| panic!("{chat} got no {text:?}: {:?}", app.tg().sent_texts_to(chat)))
}

fn count(app: &TestApp, chat: i64) -> usize {
    app.tg().calls().iter().filter(|c| c.ok && chat_of(c) == Some(chat) && c.method.starts_with("send")).count()
}

backend_test!(a_request_is_discussed_in_telegram_from_filing_to_done);
async fn a_request_is_discussed_in_telegram_from_filing_to_done(backend: Backend) {
    let app = app(backend).await;
    let ivan = User::ru(7_670_000_001, "Иван");
    let r = file(&app, &ivan, 0, "Замена ФН").await;

    // A reply to the filing's confirmation is a comment: with no assignee, every administrator
    // gets it.
    let submitted = id_of(&app, ivan.id, "Заявка №1 принята. Мы сообщим о решении.");
    let comment = updates::reply(&ivan, "Когда приедете?", submitted);
    send(&app, &comment).await;
    assert_eq!(last_text(&app, ivan.id), "Комментарий к заявке №1 передан.");
    for admin in ADMINS {
        assert_eq!(last_text(&app, admin), "💬 Заявка №1 — Иван:\nКогда приедете?");
    }
    // Telegram delivers the same update again: nothing more.
    let before = app.tg().calls().len();
    send(&app, &comment).await;
    assert_eq!(app.tg().calls().len(), before, "a redelivered comment has no second effect");

    tap_copy(&app, &olga(), "ap", r.id).await;
    tap_copy(&app, &petr(), "st", r.id).await;
    send(&app, &updates::text(&petr(), "/mine")).await;
    assert_eq!(
        messages_to(&app, ADMIN2).iter().rev().nth(1).map(|m| text(m).to_owned()).as_deref(),
        Some("Ваши открытые заявки: 1.")
    );
    let mine = last_message(&app, ADMIN2);
    assert!(text(&mine).starts_with("Заявка №1 — Замена ФН") && text(&mine).contains("👤 Исполнитель: Пётр"), "{mine}");
    assert_eq!(buttons(&mine), [pair("🏁 Выполнена", &format!("v1:dn:{}", r.id))]);
    send(&app, &updates::text(&olga(), "/mine")).await;
    assert_eq!(last_text(&app, ADMIN1), "У вас нет открытых заявок.");
    send(&app, &updates::text(&ivan, "/mine")).await;
    assert_eq!(last_text(&app, ivan.id), NOT_ADMIN);

    // A photo in reply to "taken": only the assignee gets it now.
    let olga_before = count(&app, ADMIN1);
    let taken = id_of(&app, ivan.id, "Заявка №1 взята в работу.");
    send(&app, &updates::replying(updates::photo(&ivan, Some("Вот экран")), &ivan, taken)).await;
    assert_eq!(last_text(&app, ivan.id), "Комментарий к заявке №1 передан.");
    let photo = sent(&app, "sendPhoto", ADMIN2).pop().expect("the photo reached Пётр");
    assert_eq!(photo["caption"], "💬 Заявка №1 — Иван:\nВот экран");
    let photo_call = app.tg().calls_to("sendPhoto").into_iter().rfind(|c| chat_of(c) == Some(ADMIN2)).unwrap();
    assert_eq!(photo_call.params["photo"], "AgACAgIAAxkBAAMUZ0large", "passed on by its file id");
    assert_eq!(count(&app, ADMIN1), olga_before, "the other administrator is not bothered");

    // Пётр answers the photo: the client gets the reply.
    let reply = updates::reply(&petr(), "Спасибо, приедем завтра с 10 до 12.", last_id(&app, "sendPhoto", ADMIN2));
    send(&app, &reply).await;
    assert_eq!(last_text(&app, ADMIN2), "Ответ по заявке №1 отправлен клиенту.");
    assert_eq!(last_text(&app, ivan.id), "💬 Заявка №1 — ответ:\nСпасибо, приедем завтра с 10 до 12.");
    // A note reaches nobody.
    let ivan_before = count(&app, ivan.id);
    send(&app, &updates::text(&petr(), "/note 1 Клиент просил звонить заранее")).await;
    assert_eq!(last_text(&app, ADMIN2), "Заметка к заявке №1 сохранена: клиент её не видит.");
    for bad in ["/note", "/note 1", "/note x текст"] {
        send(&app, &updates::text(&petr(), bad)).await;
        assert_eq!(last_text(&app, ADMIN2), "Использование: /note N текст заметки.", "{bad}");
    }
    send(&app, &updates::text(&petr(), "/note 99 текст")).await;
    assert_eq!(last_text(&app, ADMIN2), "Заявки №99 нет.");
    send(&app, &updates::text(&ivan, "/note 1 от клиента")).await;
    assert_eq!(last_text(&app, ivan.id), NOT_ADMIN);
    assert_eq!(count(&app, ivan.id), ivan_before + 1, "only the refusal of the client's own /note");

    // A question: while the request waits, anything the client sends is their answer.
    send(&app, &updates::text(&petr(), "/ask 1 Какой заводской номер?")).await;
    send(&app, &updates::text(&ivan, "Заводской номер 0012345678")).await;
    assert_eq!(last_text(&app, ivan.id), "Комментарий к заявке №1 передан.");
    assert_eq!(last_text(&app, ADMIN2), "💬 Заявка №1 — Иван:\nЗаводской номер 0012345678");
    send(&app, &updates::document(&ivan, Some("Акт с прошлого обслуживания"))).await;
    let document = app.tg().calls_to("sendDocument").into_iter().rfind(|c| chat_of(c) == Some(ADMIN2)).unwrap();
    assert_eq!(document.params["document"], "BQACAgIAAxkBAAMfZ0document");
    assert_eq!(document.params["caption"], "💬 Заявка №1 — Иван:\nАкт с прошлого обслуживания");
    send(&app, &updates::sticker(&ivan)).await;
    assert_eq!(last_text(&app, ivan.id), UNKNOWN_INPUT, "a sticker is no comment");

    // The dashboard shows the whole thread in order, with each delivery, and the photo.
    let admin = admin_token(&app).await;
    let (status, detail) = call(&app, &admin, Method::GET, &format!("/api/requests/{}", r.id), None).await;
    assert_eq!(status, 200);
    let thread = detail["thread"].as_array().unwrap();
    let shown: Vec<(&str, Option<&str>, Vec<i64>)> = thread
        .iter()
        .map(|m| {
            let chats = m["deliveries"].as_array().unwrap().iter().map(|d| d["chat_id"].as_i64().unwrap()).collect();
            (m["kind"].as_str().unwrap(), m["text"].as_str(), chats)
        })
        .collect();
    assert_eq!(
        shown,
        [
            ("comment", Some("Когда приедете?"), vec![ADMIN1, ADMIN2]),
            ("comment", Some("Вот экран"), vec![ADMIN2]),
            ("reply", Some("Спасибо, приедем завтра с 10 до 12."), vec![ivan.id]),
            ("note", Some("Клиент просил звонить заранее"), vec![]),
            ("question", Some("Какой заводской номер?"), vec![ivan.id]),
            ("comment", Some("Заводской номер 0012345678"), vec![ADMIN2]),
            ("comment", Some("Акт с прошлого обслуживания"), vec![ADMIN2]),
        ]
    );
    assert!(thread.iter().all(|m| m["delivery"] == if m["kind"] == "note" { "none" } else { "sent" }), "{thread:?}");
    assert_eq!(thread[2]["author_name"], "Пётр");
    assert_eq!(thread[6]["attachment"]["name"], "акт_ККТ.pdf");
    let url = thread[1]["attachment"]["url"].as_str().unwrap().to_owned();
    app.tg().put_file("AgACAgIAAxkBAAMUZ0large", "photos/file_12.jpg", b"\xff\xd8 screen");
    let res = app.http.get(app.url(&url)).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(
        (res.status().as_u16(), res.headers()["content-type"].to_str().unwrap().to_owned()),
        (200, "image/jpeg".into())
    );
    assert_eq!(res.bytes().await.unwrap().as_ref(), b"\xff\xd8 screen");

    // Done; the client sees the status and the assignee.
    tap_copy(&app, &petr(), "dn", r.id).await;
    send(&app, &updates::text(&ivan, "/myrequests")).await;
    let list = last_text(&app, ivan.id);
    assert!(list.contains("№1 · Замена ФН · выполнена · "), "{list}");
    assert!(list.contains("\n  исполнитель: Пётр"), "{list}");

    // A second request: cancelled by the client, reopened by an administrator.
    let second = file(&app, &ivan, 1, "Регистрация").await;
    send(&app, &updates::text(&ivan, "/myrequests")).await;
    let list = last_message(&app, ivan.id);
    send(&app, &updates::callback(&ivan, &format!("v1:cr:{}", second.id), message_id(&list))).await;
    assert_eq!(request(&app, second.id).await.status, client_request::Status::Cancelled);
    send(&app, &updates::text(&olga(), "/reopen 2")).await;
    assert_eq!(request(&app, second.id).await.status, client_request::Status::Pending);
    assert_eq!(last_text(&app, ivan.id), "Заявка №2 снова открыта.");
    assert_all_through_outbox(&app).await;
    app.shutdown().await;
}
