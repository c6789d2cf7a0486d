//! A request's page in the browser: its photo shown through the server, its assignment, its
//! thread (a reply to the client, an internal note, the client's comment, each with its
//! delivery) and its status moved from approve to take to done — every effect checked through the
//! API and at the fake Bot API.

use serde_json::{Value, json};

use super::{Browser, POLL, WAIT, api, dashboard_app, login_token, sign_in, wait_for_message, wait_heading};
use crate::staff::create_user;
use crate::support::chat::{last_message, message_id, send};
use crate::support::updates::{self, User};
use crate::support::{TestApp, integration_test};

const CLIENT: i64 = 7_800_000_001;
const TECH_TG: i64 = 7_800_000_777;
/// The photo's id in the `message_photo_caption` sample (its largest size).
const PHOTO_ID: &str = "AgACAgIAAxkBAAMUZ0large";

/// A 3 × 2 PNG, for the photo the fake Bot API serves.
fn tiny_png() -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, 3, 2);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(&[200; 18]).unwrap();
    writer.finish().unwrap();
    out
}

/// Files a request with a photo in Telegram, as a client does.
async fn file_with_photo(app: &TestApp, client: &User) {
    send(app, &updates::text(client, "/request")).await;
    let keyboard = last_message(app, client.id);
    send(app, &updates::callback(client, &updates::first_button(&keyboard), message_id(&keyboard))).await;
    send(app, &updates::photo(client, Some("Не печатает чек, ошибка ФН"))).await;
    let summary = last_message(app, client.id);
    send(app, &updates::callback(client, &updates::first_button(&summary), message_id(&summary))).await;
}

/// The request page's thread once it shows `n` messages: each one's kind, delivery and text.
async fn thread_now(browser: &Browser, n: usize) -> Vec<(String, String, String)> {
    let script = format!(
        "if (document.querySelector('.state-loading')) return null; \
         const items = Array.from(document.querySelectorAll('ol.thread li')); \
         return items.length === {n} ? items.map(li => [li.dataset.kind, li.dataset.delivery, \
           (li.querySelector('.msg-text') || {{textContent: ''}}).textContent]) : null;"
    );
    let items = browser.wait_js(&format!("{n} messages in the thread"), &script).await;
    serde_json::from_value(items).unwrap()
}

/// Opens the request's page again until its thread shows every message delivered as `expected`.
async fn thread_delivered(browser: &Browser, app: &TestApp, url: &str, expected: &[(&str, &str, &str)]) {
    let started = std::time::Instant::now();
    loop {
        // Away and back: the page loads the request again.
        browser.goto(&app.url("/#/requests/history")).await;
        browser.goto(url).await;
        let now = thread_now(browser, expected.len()).await;
        let want: Vec<(String, String, String)> =
            expected.iter().map(|(k, d, t)| (k.to_string(), d.to_string(), t.to_string())).collect();
        if now == want {
            return;
        }
        assert!(started.elapsed() < WAIT, "the thread shows {now:?}, not {want:?}");
        app.settle().await;
        tokio::time::sleep(POLL).await;
    }
}

/// The status the request page shows, once it reads `status`.
async fn wait_status(browser: &Browser, status: &str) {
    let script = format!(
        "const p = document.querySelector('.page-request .props'); return p && p.textContent.includes({}) ? true : null;",
        json!(status)
    );
    browser.wait_js(&format!("the status {status:?}"), &script).await;
}

integration_test!(request_page_assigns_talks_and_moves_the_status, threads: 2);
async fn request_page_assigns_talks_and_moves_the_status() {
    let app = dashboard_app().await;
    let browser = Browser::start().await;
    let (email, password) = app.initial_admin.clone().expect("the first start creates an administrator");
    let token = login_token(&app, &email, &password).await;
    let tech = create_user(&app, &token, "tech@example.com", "tech-password-1", "operator").await;
    api(&app, &token, reqwest::Method::PATCH, &format!("/api/users/{tech}"), Some(json!({"telegram_id": TECH_TG})))
        .await;
    app.tg().put_file(PHOTO_ID, "photos/file_1.png", &tiny_png());
    let ivan = User::ru(CLIENT, "Иван");
    file_with_photo(&app, &ivan).await;
    let list = api(&app, &token, reqwest::Method::GET, "/api/requests", None).await;
    let id = list["items"][0]["id"].as_i64().expect("the filed request");
    let url = app.url(&format!("/#/requests/{id}"));

    // The page shows the photo, fetched by the server from Telegram (the browser never sees the
    // bot token), and no conversation yet.
    sign_in(&browser, &app, &email, &password).await;
    browser.goto(&url).await;
    wait_heading(&browser, "Заявка №1").await;
    let photo = browser
        .wait_js(
            "the photo",
            "const i = document.querySelector('img.request-photo'); \
             return i && i.complete && i.naturalWidth ? [i.naturalWidth, i.naturalHeight, i.getAttribute('src')] : null;",
        )
        .await;
    assert_eq!(photo, json!([3, 2, format!("/api/requests/{id}/photo")]));
    assert!(app.tg().downloads().iter().all(|(token, _)| token == app.tg().token()), "the server downloads it");
    let empty = browser.text(".thread-card").await;
    assert!(empty.contains("Сообщений пока нет."), "{empty}");

    // Approve on the page: the client is told.
    browser.click(".page-head [data-action=approve]").await;
    wait_status(&browser, "одобрена").await;
    wait_for_message(&app, CLIENT, &["Заявка №1 одобрена."]).await;

    // Assign the technician: the page and the API show them, and they get it in Telegram.
    browser.wait_js("the assignees", "return document.querySelector('#assignee-select[data-loaded]') !== null;").await;
    browser.set_value("#assignee-select", &format!("user:{tech}")).await;
    browser.click("[data-action=assign]").await;
    browser
        .wait_js(
            "the assignee shown",
            "const a = document.querySelector('.assignee-now'); return a && a.textContent === 'User tech@example.com';",
        )
        .await;
    let request = api(&app, &token, reqwest::Method::GET, &format!("/api/requests/{id}"), None).await;
    assert_eq!((request["assignee"]["kind"].as_str(), request["assignee"]["id"].as_i64()), (Some("user"), Some(tech)));
    wait_for_message(&app, TECH_TG, &["📌 Вам назначена заявка №1."]).await;

    // A reply reaches the client; a note reaches nobody; each shows its delivery.
    browser.set_value(".comment-form select[name=kind]", "reply").await;
    browser.type_into(".comment-form textarea[name=text]", "Мастер приедет завтра в 10:00").await;
    browser.click(".comment-form button[type=submit]").await;
    thread_now(&browser, 1).await;
    wait_for_message(&app, CLIENT, &["💬 Заявка №1 — ответ:\nМастер приедет завтра в 10:00"]).await;
    let to_client = app.tg().sent_texts_to(CLIENT).len();
    browser.set_value(".comment-form select[name=kind]", "note").await;
    browser.type_into(".comment-form textarea[name=text]", "Клиент просил звонить до приезда").await;
    browser.click(".comment-form button[type=submit]").await;
    thread_now(&browser, 2).await;
    // The client answers the reply in Telegram: their comment joins the thread.
    let reply = last_message(&app, CLIENT);
    send(&app, &updates::reply(&ivan, "Хорошо, жду", message_id(&reply))).await;
    let comment_to_tech = wait_for_message(&app, TECH_TG, &["Хорошо, жду"]).await;
    assert_eq!(comment_to_tech, "💬 Заявка №1 — Иван:\nХорошо, жду", "the comment reaches the assignee");
    thread_delivered(
        &browser,
        &app,
        &url,
        &[
            ("reply", "sent", "Мастер приедет завтра в 10:00"),
            ("note", "none", "Клиент просил звонить до приезда"),
            ("comment", "sent", "Хорошо, жду"),
        ],
    )
    .await;
    let texts = app.tg().sent_texts_to(CLIENT);
    assert!(!texts.iter().any(|t| t.contains("звонить до приезда")), "the note never reaches the client: {texts:?}");
    assert_eq!(texts.len(), to_client + 1, "only the answer to the client's comment since: {texts:?}");

    // Take, then Done: the page shows each status, the client is told, the events record it.
    wait_status(&browser, "одобрена").await;
    browser.click(".page-head [data-action=start]").await;
    wait_status(&browser, "в работе").await;
    wait_for_message(&app, CLIENT, &["Заявка №1 взята в работу."]).await;
    browser.click(".page-head [data-action=done]").await;
    wait_status(&browser, "выполнена").await;
    wait_for_message(&app, CLIENT, &["Заявка №1 выполнена."]).await;
    let request = api(&app, &token, reqwest::Method::GET, &format!("/api/requests/{id}"), None).await;
    assert_eq!(request["status"], "done");
    let events: Vec<&str> =
        request["events"].as_array().unwrap().iter().map(|e| e["event"].as_str().unwrap()).collect();
    for event in ["approved", "assigned", "started", "done"] {
        assert!(events.contains(&event), "{event} in {events:?}");
    }
    assert!(request["actions"].as_array().unwrap().iter().all(|a| a != "start" && a != "done"), "{request}");
    let buttons: Value = browser
        .js(
            "return Array.from(document.querySelectorAll('.page-head [data-action]')).map(b => b.dataset.action);",
            json!([]),
        )
        .await;
    assert_eq!(buttons, json!(["reopen"]), "only a reopen applies to a request done");
    browser.quit().await;
    app.shutdown().await;
}
