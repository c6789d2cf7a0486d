//! Request approval end to end, driven through the webhook with Telegram-shaped updates: filing
//! (text, photo, every wrong input, cancel at every step), the administrators' copies and their
//! edits, decisions by button, reply text and command, second decisions and forged buttons,
//! redelivered and double-tapped callbacks, a 50-request race between two administrators, both
//! languages, /myrequests, /pending and the audit trail. Assertions are on what the fake Bot API
//! received and on the database.

use chrono::Utc;
use futures::future::join_all;
use kktbot::entities::{administrator, client_request, outgoing_message, request_event, request_message, request_type};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set};
use serde_json::{Value, json};

use crate::support::telegram::Call;
use crate::support::updates::{self, User};
use crate::support::{Backend, TestApp, count_rows};

const ADMIN1: i64 = 900_000_001;
const ADMIN2: i64 = 900_000_002;
const ADMINS: [i64; 2] = [ADMIN1, ADMIN2];

const TYPES_RU: [&str; 5] = ["Замена ФН", "Регистрация ККТ", "Продление ОФД", "Ремонт / обслуживание", "Другое"];
const OUTDATED: &str = "Эта кнопка устарела.";
const NOT_ADMIN: &str = "Эта команда доступна только администраторам.";
const UNKNOWN_INPUT: &str = "Я не понял сообщение. /request — подать заявку, /help — все команды.";
const DIALOG_EXPIRED: &str = "Диалог устарел. Начните заново: /request.";

fn olga() -> User {
    User::ru(ADMIN1, "Ольга")
}

fn petr() -> User {
    User::ru(ADMIN2, "Пётр")
}

/// A server with the fake Bot API and two administrators; PostgreSQL also gets Redis for dialogs.
async fn bot_app(backend: Backend) -> Option<TestApp> {
    let builder = TestApp::builder()
        .backend(backend)
        .telegram()
        .env("ADMIN_TELEGRAM_IDS", "900000001,900000002")
        // These tests check what is sent, not Telegram's pace (tests/sender.rs does): without
        // this every chat would get one message a second.
        .env("TELEGRAM_RATE_CHAT_PER_SECOND", "1000")
        .env("TELEGRAM_RATE_GLOBAL_PER_SECOND", "1000");
    let builder = if backend == Backend::Postgres { builder.redis() } else { builder };
    builder.spawn().await
}

// ------------------------------------------------------------------ what Telegram received

/// Sends an update (asserting 200) and waits until everything it caused was delivered.
async fn send(app: &TestApp, update: &Value) {
    app.send_update(update).await;
    app.settle().await;
}

/// Posts all updates at the same time, asserts each was acknowledged, then settles.
async fn post_all(app: &TestApp, updates: &[Value]) {
    let responses = join_all(updates.iter().map(|u| app.post_update(u))).await;
    for res in responses {
        let status = res.status();
        assert_eq!(status, 200, "webhook answered {status}: {}", res.text().await.unwrap_or_default());
    }
    app.settle().await;
}

/// Posts all updates at once and, as Telegram does, delivers again (same update_id) every update
/// answered 503 until it is acknowledged; then settles. Returns how many answers were 503.
///
/// Under load the server may refuse some of a burst with 503 (no pooled database connection
/// within its acquire timeout): a refused update must have had no effect, and its redelivery is
/// then applied once, which the callers' exactly-once assertions check.
async fn deliver_all(app: &TestApp, updates: &[Value]) -> usize {
    let mut pending: Vec<&Value> = updates.iter().collect();
    let mut refused = 0;
    for _ in 0..10 {
        let responses = join_all(pending.iter().map(|u| app.post_update(u))).await;
        let mut again = Vec::new();
        for (update, res) in pending.into_iter().zip(responses) {
            match res.status().as_u16() {
                200 => {}
                503 => {
                    refused += 1;
                    again.push(update);
                }
                status => panic!("webhook answered {status}: {}", res.text().await.unwrap_or_default()),
            }
        }
        if again.is_empty() {
            app.settle().await;
            return refused;
        }
        pending = again;
    }
    panic!("updates still refused after 10 deliveries");
}

fn as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn as_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn chat_of(call: &Call) -> Option<i64> {
    as_i64(&call.params["chat_id"])
}

/// The messages (as Telegram returned them) of successful `method` calls to `chat`, oldest first.
fn sent(app: &TestApp, method: &str, chat: i64) -> Vec<Value> {
    app.tg()
        .calls_to(method)
        .into_iter()
        .filter(|c| c.ok && chat_of(c) == Some(chat))
        .map(|c| c.response["result"].clone())
        .collect()
}

fn messages_to(app: &TestApp, chat: i64) -> Vec<Value> {
    sent(app, "sendMessage", chat)
}

fn last_message(app: &TestApp, chat: i64) -> Value {
    messages_to(app, chat).pop().unwrap_or_else(|| panic!("no message was sent to {chat}"))
}

fn last_text(app: &TestApp, chat: i64) -> String {
    text(&last_message(app, chat)).to_owned()
}

fn text(message: &Value) -> &str {
    message["text"].as_str().unwrap_or_default()
}

fn message_id(message: &Value) -> i64 {
    message["message_id"].as_i64().expect("a sent message has an id")
}

/// The inline keyboard of a message as rows of (label, callback data).
fn button_rows(message: &Value) -> Vec<Vec<(String, String)>> {
    message["reply_markup"]["inline_keyboard"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|row| {
            row.as_array()
                .into_iter()
                .flatten()
                .map(|b| {
                    let label = b["text"].as_str().unwrap_or_default().to_owned();
                    (label, b["callback_data"].as_str().unwrap_or_default().to_owned())
                })
                .collect()
        })
        .collect()
}

fn buttons(message: &Value) -> Vec<(String, String)> {
    button_rows(message).into_iter().flatten().collect()
}

fn pair(label: &str, data: &str) -> (String, String) {
    (label.to_owned(), data.to_owned())
}

/// The texts of the answers to one callback query (its `answerCallbackQuery` calls).
fn answers_to(app: &TestApp, update: &Value) -> Vec<Option<String>> {
    let id = update["callback_query"]["id"].as_str().expect("a callback update");
    app.tg()
        .calls_to("answerCallbackQuery")
        .into_iter()
        .filter(|c| c.ok && as_string(&c.params["callback_query_id"]).as_deref() == Some(id))
        .map(|c| c.params["text"].as_str().map(str::to_owned))
        .collect()
}

/// The one answer to a callback query: its notice, if it has one.
fn answer_to(app: &TestApp, update: &Value) -> Option<String> {
    let answers = answers_to(app, update);
    assert_eq!(
        answers.len(),
        1,
        "the callback {} is answered exactly once: {answers:?}",
        update["callback_query"]["data"]
    );
    answers.into_iter().next().flatten()
}

/// Successful edits of one message.
fn edits_of(app: &TestApp, chat: i64, message: i64) -> Vec<Call> {
    app.tg()
        .calls_to("editMessageText")
        .into_iter()
        .filter(|c| c.ok && chat_of(c) == Some(chat) && as_i64(&c.params["message_id"]) == Some(message))
        .collect()
}

/// A message the bot sent, by chat and id.
fn sent_message(app: &TestApp, chat: i64, message: i64) -> Value {
    messages_to(app, chat)
        .into_iter()
        .find(|m| message_id(m) == message)
        .unwrap_or_else(|| panic!("no message {message} was sent to {chat}"))
}

/// Every call that delivers something went through the outbox: one sent row per successful call.
async fn assert_all_through_outbox(app: &TestApp) {
    let methods = ["sendMessage", "sendPhoto", "editMessageText", "editMessageReplyMarkup", "answerCallbackQuery"];
    let calls: usize = methods.iter().map(|m| app.tg().calls_to(m).into_iter().filter(|c| c.ok).count()).sum();
    let rows = outgoing_message::Entity::find().all(app.db()).await.unwrap();
    let stuck: Vec<_> = rows.iter().filter(|r| r.status != outgoing_message::Status::Sent).collect();
    assert!(stuck.is_empty(), "outbox rows not sent: {stuck:?}");
    assert_eq!(rows.len(), calls, "one outbox row per Bot API call");
}

// ------------------------------------------------------------------ the database

async fn all_requests(app: &TestApp) -> Vec<client_request::Model> {
    client_request::Entity::find().order_by_asc(client_request::Column::Id).all(app.db()).await.unwrap()
}

async fn request(app: &TestApp, id: i32) -> client_request::Model {
    client_request::Entity::find_by_id(id).one(app.db()).await.unwrap().expect("the request exists")
}

async fn latest_request_of(app: &TestApp, user: &User) -> client_request::Model {
    client_request::Entity::find()
        .filter(client_request::Column::RequesterTelegramId.eq(user.id))
        .order_by_desc(client_request::Column::Id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{} filed no request", user.first_name))
}

async fn events(app: &TestApp, request_id: i32) -> Vec<request_event::Model> {
    request_event::Entity::find()
        .filter(request_event::Column::RequestId.eq(request_id))
        .order_by_asc(request_event::Column::Id)
        .all(app.db())
        .await
        .unwrap()
}

fn event_names(events: &[request_event::Model]) -> Vec<&str> {
    events.iter().map(|e| e.event.as_str()).collect()
}

async fn administrator_id(app: &TestApp, telegram_id: i64) -> i32 {
    administrator::Entity::find()
        .filter(administrator::Column::TelegramId.eq(telegram_id))
        .one(app.db())
        .await
        .unwrap()
        .expect("an administrator")
        .id
}

async fn active_types(app: &TestApp) -> Vec<request_type::Model> {
    request_type::Entity::find()
        .filter(request_type::Column::IsActive.eq(true))
        .order_by_asc(request_type::Column::SortOrder)
        .all(app.db())
        .await
        .unwrap()
}

/// The copies of a request the administrators got: (chat, Telegram message id), in sending order.
async fn copies(app: &TestApp, request_id: i32) -> Vec<(i64, i64)> {
    let rows = request_message::Entity::find()
        .filter(request_message::Column::RequestId.eq(request_id))
        .order_by_asc(request_message::Column::Id)
        .all(app.db())
        .await
        .unwrap();
    let mut out = Vec::new();
    for row in rows {
        let outbox =
            outgoing_message::Entity::find_by_id(row.outgoing_message_id).one(app.db()).await.unwrap().unwrap();
        assert_eq!(outbox.chat_id, row.chat_id);
        out.push((row.chat_id, outbox.telegram_message_id.expect("the copy was delivered")));
    }
    out
}

/// The message id of the (first) copy of a request in an administrator's chat.
async fn copy_in(app: &TestApp, request_id: i32, admin: i64) -> i64 {
    copies(app, request_id)
        .await
        .into_iter()
        .find(|(chat, _)| *chat == admin)
        .unwrap_or_else(|| panic!("administrator {admin} got no copy of request {request_id}"))
        .1
}

/// Checks that every copy of the request was edited exactly once: its text followed by the
/// outcome lines, and no buttons left. Returns the edited texts.
async fn assert_copies_edited(app: &TestApp, request_id: i32, outcome: &[&str]) -> Vec<String> {
    let copies = copies(app, request_id).await;
    assert!(copies.len() >= 2, "both administrators have a copy: {copies:?}");
    let mut texts = Vec::new();
    for (chat, message) in copies {
        let original = text(&sent_message(app, chat, message)).to_owned();
        let edits = edits_of(app, chat, message);
        assert_eq!(edits.len(), 1, "copy {message} in chat {chat} is edited once");
        let edit = &edits[0];
        let edited = edit.params["text"].as_str().unwrap().to_owned();
        assert!(edited.starts_with(&format!("{original}\n\n")), "the edit keeps the request: {edited:?}");
        for line in outcome {
            assert!(edited.contains(line), "{edited:?} shows {line:?}");
        }
        let markup = &edit.params["reply_markup"];
        assert!(
            markup.is_null() || markup["inline_keyboard"].as_array().is_some_and(|rows| rows.is_empty()),
            "the buttons are removed: {markup}"
        );
        assert!(edit.response["result"].get("reply_markup").is_none(), "Telegram shows no buttons any more");
        texts.push(edited);
    }
    texts
}

/// The client's messages telling a decision.
fn decision_messages(app: &TestApp, client: &User) -> Vec<String> {
    app.tg()
        .sent_texts_to(client.id)
        .into_iter()
        .filter(|t| t.starts_with("Заявка №") || t.starts_with("Request #"))
        .filter(|t| {
            t.contains(" одобрена") || t.contains(" отклонена") || t.contains(" approved") || t.contains(" rejected")
        })
        .collect()
}

// ------------------------------------------------------------------ the client's dialog

/// `/request`; returns the type keyboard.
async fn start_request(app: &TestApp, user: &User) -> Value {
    send(app, &updates::text(user, "/request")).await;
    last_message(app, user.id)
}

/// `/request` and a tap on the `index`-th type; returns the description prompt.
async fn choose_type(app: &TestApp, user: &User, index: usize) -> Value {
    let keyboard = start_request(app, user).await;
    let data = buttons(&keyboard)[index].1.clone();
    send(app, &updates::callback(user, &data, message_id(&keyboard))).await;
    last_message(app, user.id)
}

/// Up to the summary; returns it.
async fn compose(app: &TestApp, user: &User, index: usize, description: &str) -> Value {
    choose_type(app, user, index).await;
    send(app, &updates::text(user, description)).await;
    let summary = last_message(app, user.id);
    assert!(buttons(&summary).first().is_some_and(|(_, d)| d.starts_with("v1:sub:")), "a summary: {summary}");
    summary
}

/// A tap on the summary's Submit button.
fn submit_tap(user: &User, summary: &Value) -> Value {
    let data = buttons(summary)[0].1.clone();
    updates::callback(user, &data, message_id(summary))
}

/// Files a request through the whole dialog; returns it as stored.
async fn file(app: &TestApp, user: &User, index: usize, description: &str) -> client_request::Model {
    let summary = compose(app, user, index, description).await;
    send(app, &submit_tap(user, &summary)).await;
    latest_request_of(app, user).await
}

/// An administrator's tap on a decision button of their copy.
async fn tap_copy(app: &TestApp, admin: &User, action: &str, request_id: i32) -> Value {
    let message = copy_in(app, request_id, admin.id).await;
    let update = updates::callback(admin, &format!("v1:{action}:{request_id}"), message);
    send(app, &update).await;
    update
}

// ================================================================== 1. filing and approval

async fn filing_and_approval(backend: Backend) {
    let Some(app) = bot_app(backend).await else { return };
    let client = User::ru(7_100_000_001, "Иван");

    // /request: the active types from the database, in their order, then Cancel.
    let keyboard = start_request(&app, &client).await;
    assert_eq!(text(&keyboard), "Выберите тип заявки:");
    let types = active_types(&app).await;
    assert_eq!(types.iter().map(|t| t.name_ru.as_str()).collect::<Vec<_>>(), TYPES_RU);
    let mut expected: Vec<Vec<(String, String)>> =
        types.iter().map(|t| vec![pair(&t.name_ru, &format!("v1:rt:{}", t.id))]).collect();
    expected.push(vec![pair("Отменить", "v1:cx")]);
    assert_eq!(button_rows(&keyboard), expected);

    // A type → the description is asked, with Cancel.
    let tap = updates::callback(&client, &format!("v1:rt:{}", types[0].id), message_id(&keyboard));
    send(&app, &tap).await;
    assert_eq!(answer_to(&app, &tap), None);
    let ask = last_message(&app, client.id);
    assert_eq!(
        text(&ask),
        "Тип: Замена ФН. Опишите, что нужно сделать (до 2000 символов). Можно отправить фото с подписью."
    );
    assert_eq!(buttons(&ask), [pair("Отменить", "v1:cx")]);

    // The description → a summary with Submit / Cancel; nothing is filed yet.
    send(&app, &updates::text(&client, "Не печатает чек, ошибка ФН")).await;
    let summary = last_message(&app, client.id);
    assert_eq!(text(&summary), "Проверьте заявку:\nТип: Замена ФН\nОписание: Не печатает чек, ошибка ФН");
    let summary_buttons = buttons(&summary);
    assert_eq!(summary_buttons.len(), 2);
    assert_eq!(summary_buttons[0].0, "Отправить");
    assert!(summary_buttons[0].1.starts_with("v1:sub:") && summary_buttons[0].1.len() <= 64);
    assert_eq!(summary_buttons[1], pair("Отменить", "v1:cx"));
    assert_eq!(count_rows(app.db(), "client_requests").await, 0);
    assert!(app.tg().sent_texts_to(ADMIN1).is_empty());

    // Submit → pending request №1, the client told its number.
    let submit = submit_tap(&client, &summary);
    send(&app, &submit).await;
    assert_eq!(answer_to(&app, &submit), None);
    assert_eq!(last_text(&app, client.id), "Заявка №1 принята. Мы сообщим о решении.");
    let requests = all_requests(&app).await;
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.number, 1);
    assert_eq!(r.status, client_request::Status::Pending);
    assert_eq!(r.kind, client_request::Kind::Service);
    assert_eq!(r.request_type_id, Some(types[0].id));
    assert_eq!(r.description, "Не печатает чек, ошибка ФН");
    assert_eq!(r.photo_file_id, None);
    assert_eq!(r.requester_telegram_id, client.id);
    assert_eq!(r.requester_name.as_deref(), Some("Иван"));
    assert_eq!(r.requester_username.as_deref(), Some("user7100000001"));
    assert_eq!((r.decided_by.as_deref(), r.decided_at, r.reason.as_deref()), (None, None, None));

    // Each administrator got a copy with ✅/❌; kktbot remembers both.
    assert_eq!(count_rows(app.db(), "request_messages").await, 2);
    let copies = copies(&app, r.id).await;
    let mut chats: Vec<i64> = copies.iter().map(|(chat, _)| *chat).collect();
    chats.sort_unstable();
    assert_eq!(chats, ADMINS);
    for (chat, message) in &copies {
        let copy = sent_message(&app, *chat, *message);
        assert_eq!(
            text(&copy),
            "Заявка №1 — Замена ФН\nОт: Иван (@user7100000001)\nКлиент: не указан\n\nНе печатает чек, ошибка ФН"
        );
        assert_eq!(
            button_rows(&copy),
            [vec![pair("✅ Одобрить", &format!("v1:ap:{}", r.id)), pair("❌ Отклонить", &format!("v1:rj:{}", r.id))]]
        );
        assert!(sent(&app, "sendPhoto", *chat).is_empty());
    }
    if let Some(redis) = &app.redis {
        assert!(redis.keys().iter().all(|k| !k.contains("dialog:")), "the dialog is gone: {:?}", redis.keys());
    }

    // Olga approves with her button.
    let approve = updates::callback(&olga(), &format!("v1:ap:{}", r.id), copy_in(&app, r.id, ADMIN1).await);
    send(&app, &approve).await;
    assert_eq!(answer_to(&app, &approve).as_deref(), Some("Готово: заявка №1 — одобрена."));
    assert_eq!(decision_messages(&app, &client), ["Заявка №1 одобрена."]);
    assert_eq!(app.tg().sent_texts_to(client.id).len(), 5, "type keyboard, prompt, summary, received, approved");
    let r = request(&app, r.id).await;
    assert_eq!(r.status, client_request::Status::Approved);
    assert_eq!(r.decided_by.as_deref(), Some("Ольга"));
    assert_eq!(r.decided_by_administrator_id, Some(administrator_id(&app, ADMIN1).await));
    assert_eq!(r.reason, None);
    let decided_at = r.decided_at.expect("decided_at is set");
    assert!((Utc::now() - decided_at).num_seconds().abs() < 60);
    // Both copies show who decided and when (in the configured time zone), without buttons.
    let when = decided_at.with_timezone(&chrono_tz::Europe::Moscow).format("%d.%m.%Y %H:%M").to_string();
    assert_copies_edited(&app, r.id, &[&format!("✅ Одобрена: Ольга, {when}")]).await;

    let trail = events(&app, r.id).await;
    assert_eq!(event_names(&trail), ["filed", "approved"]);
    assert_all_through_outbox(&app).await;
    app.shutdown().await;
}

#[tokio::test]
async fn filing_and_approval_sqlite() {
    filing_and_approval(Backend::Sqlite).await;
}

#[tokio::test]
async fn filing_and_approval_postgres() {
    filing_and_approval(Backend::Postgres).await;
}

#[tokio::test]
async fn filing_with_a_photo_and_caption() {
    let app = bot_app(Backend::Sqlite).await.unwrap();
    let client = User::ru(7_100_000_002, "Иван");
    choose_type(&app, &client, 1).await;
    send(&app, &updates::photo(&client, Some("Фото ошибки на дисплее"))).await;
    let summary = last_message(&app, client.id);
    assert_eq!(
        text(&summary),
        "Проверьте заявку:\nТип: Регистрация ККТ\nОписание: Фото ошибки на дисплее\nФото приложено."
    );
    send(&app, &submit_tap(&client, &summary)).await;
    assert_eq!(last_text(&app, client.id), "Заявка №1 принята. Мы сообщим о решении.");

    let r = latest_request_of(&app, &client).await;
    assert_eq!(r.description, "Фото ошибки на дисплее");
    assert_eq!(r.photo_file_id.as_deref(), Some("AgACAgIAAxkBAAMUZ0large"), "the largest size is kept");
    for admin in ADMINS {
        // The photo (largest size), then the copy with the buttons.
        let photos: Vec<Call> =
            app.tg().calls_to("sendPhoto").into_iter().filter(|c| c.ok && chat_of(c) == Some(admin)).collect();
        assert_eq!(photos.len(), 1);
        assert_eq!(photos[0].params["photo"], "AgACAgIAAxkBAAMUZ0large");
        assert_eq!(photos[0].params["caption"], "Фото к заявке №1");
        let copy = sent_message(&app, admin, copy_in(&app, r.id, admin).await);
        assert_eq!(
            text(&copy),
            "Заявка №1 — Регистрация ККТ\nОт: Иван (@user7100000002)\nКлиент: не указан\n\nФото ошибки на дисплее"
        );
        assert_eq!(buttons(&copy).len(), 2);
        assert!(
            photos[0].at <= app.tg().calls_to("sendMessage").iter().find(|c| chat_of(c) == Some(admin)).unwrap().at
        );
    }
    assert_eq!(count_rows(app.db(), "request_messages").await, 2);

    // After the decision the text copies are edited; the photos stay as they are.
    tap_copy(&app, &petr(), "ap", r.id).await;
    assert_copies_edited(&app, r.id, &["✅ Одобрена: Пётр, "]).await;
    assert!(app.tg().calls_to("editMessageCaption").is_empty());
    assert_all_through_outbox(&app).await;
    app.shutdown().await;
}

// ================================================================== 2. wrong input

#[tokio::test]
async fn every_wrong_description_gets_a_precise_hint_and_the_step_continues() {
    let app = bot_app(Backend::Sqlite).await.unwrap();
    let client = User::ru(7_200_000_001, "Иван");
    choose_type(&app, &client, 0).await;

    let long = "я".repeat(2001);
    let blank_caption = updates::photo(&client, Some("   "));
    let long_caption = updates::photo(&client, Some(&long));
    let cases: Vec<(&str, Value, &str)> = vec![
        ("sticker", updates::sticker(&client), "Нужен текст или фото с подписью. Опишите, что нужно сделать."),
        (
            "photo without caption",
            updates::photo(&client, None),
            "Добавьте к фото подпись с описанием и отправьте снова.",
        ),
        ("blank text", updates::text(&client, " \n\t  "), "Описание не может быть пустым. Опишите, что нужно сделать."),
        ("blank caption", blank_caption, "Описание не может быть пустым. Опишите, что нужно сделать."),
        (
            "2001 characters",
            updates::text(&client, &long),
            "Описание слишком длинное: 2001 символов, а можно не больше 2000. Сократите и отправьте снова.",
        ),
        (
            "2001-character caption",
            long_caption,
            "Описание слишком длинное: 2001 символов, а можно не больше 2000. Сократите и отправьте снова.",
        ),
    ];
    for (what, update, hint) in cases {
        let before = messages_to(&app, client.id).len();
        send(&app, &update).await;
        let sent = messages_to(&app, client.id);
        assert_eq!(sent.len(), before + 1, "{what}: one hint");
        assert_eq!(text(&sent[before]), hint, "{what}");
        assert_eq!(buttons(&sent[before]), [pair("Отменить", "v1:cx")], "{what}: the hint offers Cancel");
        assert_eq!(count_rows(app.db(), "client_requests").await, 0, "{what}: nothing filed");
    }
    assert!(app.tg().sent_texts_to(ADMIN1).is_empty());

    // Still at the description step: exactly 2000 characters (spaces around are trimmed) go through.
    let longest = "я".repeat(2000);
    send(&app, &updates::text(&client, &format!("  {longest}\n"))).await;
    let summary = last_message(&app, client.id);
    assert_eq!(text(&summary), format!("Проверьте заявку:\nТип: Замена ФН\nОписание: {longest}"));
    send(&app, &submit_tap(&client, &summary)).await;
    let r = latest_request_of(&app, &client).await;
    assert_eq!(r.description, longest);
    assert_eq!(count_rows(app.db(), "client_requests").await, 1);
    app.shutdown().await;
}

#[tokio::test]
async fn wrong_input_at_the_type_and_summary_steps() {
    let app = bot_app(Backend::Sqlite).await.unwrap();
    let client = User::ru(7_200_000_002, "Иван");

    // Choosing a type: text or a sticker shows the types again.
    let keyboard = start_request(&app, &client).await;
    for update in [updates::text(&client, "Замена ФН"), updates::sticker(&client)] {
        send(&app, &update).await;
        let again = last_message(&app, client.id);
        assert_eq!(text(&again), "Выберите тип заявки:");
        assert_eq!(button_rows(&again), button_rows(&keyboard));
    }
    // A type that does not exist: a notice, and the step stays.
    let bogus = updates::callback(&client, "v1:rt:999999", message_id(&keyboard));
    send(&app, &bogus).await;
    assert_eq!(answer_to(&app, &bogus).as_deref(), Some(OUTDATED));
    let data = buttons(&keyboard)[2].1.clone();
    send(&app, &updates::callback(&client, &data, message_id(&keyboard))).await;
    assert!(last_text(&app, client.id).starts_with("Тип: Продление ОФД."));

    // The type keyboard tapped again at the description step changes the type.
    let other = updates::callback(&client, &buttons(&keyboard)[0].1, message_id(&keyboard));
    send(&app, &other).await;
    assert!(last_text(&app, client.id).starts_with("Тип: Замена ФН."));
    send(&app, &updates::callback(&client, &data, message_id(&keyboard))).await;
    assert!(last_text(&app, client.id).starts_with("Тип: Продление ОФД."));
    send(&app, &updates::text(&client, "Продлить ОФД на год")).await;
    let summary = last_message(&app, client.id);
    assert_eq!(text(&summary), "Проверьте заявку:\nТип: Продление ОФД\nОписание: Продлить ОФД на год");

    // At the summary: more text or a sticker asks for a button; the description is not replaced.
    for update in [updates::text(&client, "и ещё кое-что"), updates::sticker(&client), updates::photo(&client, None)]
    {
        send(&app, &update).await;
        assert_eq!(last_text(&app, client.id), "Нажмите «Отправить» или «Отменить» под сводкой заявки.");
    }
    // A Submit with a key that is not this summary's files nothing.
    let forged = updates::callback(&client, "v1:sub:AAAAAAAAAAAAAAAA", message_id(&summary));
    send(&app, &forged).await;
    assert_eq!(answer_to(&app, &forged).as_deref(), Some(DIALOG_EXPIRED));
    assert_eq!(count_rows(app.db(), "client_requests").await, 0);

    send(&app, &submit_tap(&client, &summary)).await;
    let r = latest_request_of(&app, &client).await;
    assert_eq!(r.description, "Продлить ОФД на год");
    assert_eq!(last_text(&app, client.id), "Заявка №1 принята. Мы сообщим о решении.");
    app.shutdown().await;
}

// ================================================================== 3. cancel at every step

async fn cancel_at_every_step(backend: Backend) {
    let Some(app) = bot_app(backend).await else { return };
    let mut next_user = 7_300_000_000;
    for step in ["type", "description", "summary"] {
        for by_button in [false, true] {
            next_user += 1;
            let client = User::ru(next_user, "Иван");
            let case = format!("{step}, {}", if by_button { "button" } else { "/cancel" });
            let shown = match step {
                "type" => start_request(&app, &client).await,
                "description" => choose_type(&app, &client, 0).await,
                _ => compose(&app, &client, 0, "Замена ФН срочно").await,
            };
            if by_button {
                let cancel = updates::callback(&client, "v1:cx", message_id(&shown));
                send(&app, &cancel).await;
                assert_eq!(answer_to(&app, &cancel), None, "{case}");
                assert_eq!(last_text(&app, client.id), "Заявка не отправлена.", "{case}");
            } else {
                send(&app, &updates::text(&client, "/cancel")).await;
                assert_eq!(last_text(&app, client.id), "Действие отменено.", "{case}");
            }
            // The dialog is gone: text is no description, Submit files nothing, nothing to cancel.
            send(&app, &updates::text(&client, "Замена ФН срочно")).await;
            assert_eq!(last_text(&app, client.id), UNKNOWN_INPUT, "{case}");
            if step == "summary" {
                let late = submit_tap(&client, &shown);
                send(&app, &late).await;
                assert_eq!(answer_to(&app, &late).as_deref(), Some(DIALOG_EXPIRED), "{case}");
            }
            let again = updates::callback(&client, "v1:cx", message_id(&shown));
            send(&app, &again).await;
            assert_eq!(
                answer_to(&app, &again).as_deref(),
                Some("Сейчас нечего отменять. /help — список команд."),
                "{case}"
            );
            send(&app, &updates::text(&client, "/cancel")).await;
            assert_eq!(last_text(&app, client.id), "Сейчас нечего отменять. /help — список команд.", "{case}");
            if let Some(redis) = &app.redis {
                let key = format!("dialog:{}", client.id);
                assert!(redis.keys().iter().all(|k| !k.ends_with(&key)), "{case}: {:?}", redis.keys());
            }
        }
    }
    assert_eq!(count_rows(app.db(), "client_requests").await, 0);
    assert_eq!(count_rows(app.db(), "request_messages").await, 0);
    assert!(app.tg().sent_texts_to(ADMIN1).is_empty() && app.tg().sent_texts_to(ADMIN2).is_empty());
    app.shutdown().await;
}

#[tokio::test]
async fn cancel_at_every_step_sqlite() {
    cancel_at_every_step(Backend::Sqlite).await;
}

#[tokio::test]
async fn cancel_at_every_step_postgres() {
    cancel_at_every_step(Backend::Postgres).await;
}

// ================================================================== 4. deciding

#[tokio::test]
async fn reject_by_button_asks_a_reason_then_tells_the_client() {
    let app = bot_app(Backend::Sqlite).await.unwrap();
    let client = User::ru(7_400_000_001, "Иван");
    let r = file(&app, &client, 0, "Замена ФН").await;

    let reject = tap_copy(&app, &olga(), "rj", r.id).await;
    assert_eq!(answer_to(&app, &reject), None);
    let prompt = last_message(&app, ADMIN1);
    assert_eq!(text(&prompt), "Напишите причину отклонения заявки №1 или нажмите «Пропустить».");
    assert_eq!(buttons(&prompt), [pair("Пропустить", &format!("v1:sk:{}", r.id))]);
    assert_eq!(request(&app, r.id).await.status, client_request::Status::Pending, "nothing decided yet");
    assert!(decision_messages(&app, &client).is_empty());

    // Not a reason: asked again.
    send(&app, &updates::sticker(&olga())).await;
    assert_eq!(last_text(&app, ADMIN1), "Напишите причину отклонения заявки №1 или нажмите «Пропустить».");
    assert_eq!(request(&app, r.id).await.status, client_request::Status::Pending);

    send(&app, &updates::text(&olga(), "нет серийного номера")).await;
    assert_eq!(last_text(&app, ADMIN1), "Готово: заявка №1 — отклонена.");
    assert_eq!(decision_messages(&app, &client), ["Заявка №1 отклонена. Причина: нет серийного номера"]);
    let r = request(&app, r.id).await;
    assert_eq!(r.status, client_request::Status::Rejected);
    assert_eq!(r.reason.as_deref(), Some("нет серийного номера"));
    assert_eq!(r.decided_by.as_deref(), Some("Ольга"));
    assert_copies_edited(&app, r.id, &["❌ Отклонена: Ольга, ", "\nПричина: нет серийного номера"]).await;

    // The reason step is over: more text is not a second reason.
    send(&app, &updates::text(&olga(), "и ещё одна причина")).await;
    assert_eq!(last_text(&app, ADMIN1), UNKNOWN_INPUT);
    assert_eq!(request(&app, r.id).await.reason.as_deref(), Some("нет серийного номера"));
    assert_eq!(decision_messages(&app, &client).len(), 1);
    assert_all_through_outbox(&app).await;
    app.shutdown().await;
}

#[tokio::test]
async fn reject_by_button_then_skip_gives_no_reason() {
    let app = bot_app(Backend::Sqlite).await.unwrap();
    let client = User::ru(7_400_000_002, "Иван");
    let r = file(&app, &client, 3, "Сломался принтер").await;

    // Leaving the reason step with /cancel decides nothing.
    tap_copy(&app, &petr(), "rj", r.id).await;
    send(&app, &updates::text(&petr(), "/cancel")).await;
    assert_eq!(last_text(&app, ADMIN2), "Действие отменено.");
    send(&app, &updates::text(&petr(), "не та заявка")).await;
    assert_eq!(last_text(&app, ADMIN2), UNKNOWN_INPUT);
    assert_eq!(request(&app, r.id).await.status, client_request::Status::Pending);
    assert!(decision_messages(&app, &client).is_empty());

    tap_copy(&app, &petr(), "rj", r.id).await;
    let prompt = last_message(&app, ADMIN2);
    let skip = updates::callback(&petr(), &buttons(&prompt)[0].1, message_id(&prompt));
    send(&app, &skip).await;
    assert_eq!(answer_to(&app, &skip).as_deref(), Some("Готово: заявка №1 — отклонена."));
    assert_eq!(decision_messages(&app, &client), ["Заявка №1 отклонена."]);
    let r = request(&app, r.id).await;
    assert_eq!(
        (r.status, r.reason.as_deref(), r.decided_by.as_deref()),
        (client_request::Status::Rejected, None, Some("Пётр"))
    );
    for edited in assert_copies_edited(&app, r.id, &["❌ Отклонена: Пётр, "]).await {
        assert!(!edited.contains("Причина"), "{edited:?}");
    }
    // The reason step is over for Пётр.
    send(&app, &updates::text(&petr(), "запоздалая причина")).await;
    assert_eq!(last_text(&app, ADMIN2), UNKNOWN_INPUT);
    assert_eq!(request(&app, r.id).await.reason, None);
    app.shutdown().await;
}

#[tokio::test]
async fn administrators_decide_by_replying_to_their_copy() {
    let app = bot_app(Backend::Sqlite).await.unwrap();
    let (ivan, anna, oleg) =
        (User::ru(7_400_000_011, "Иван"), User::ru(7_400_000_012, "Анна"), User::ru(7_400_000_013, "Олег"));
    let first = file(&app, &ivan, 0, "Замена ФН").await;
    let second = file(&app, &anna, 1, "Регистрация").await;
    let third = file(&app, &oleg, 2, "Продление").await;

    // A reply that is not a decision decides nothing.
    send(&app, &updates::reply(&petr(), "спасибо", copy_in(&app, first.id, ADMIN2).await)).await;
    assert_eq!(last_text(&app, ADMIN2), UNKNOWN_INPUT);
    assert_eq!(request(&app, first.id).await.status, client_request::Status::Pending);

    send(&app, &updates::reply(&petr(), "Одобрить", copy_in(&app, first.id, ADMIN2).await)).await;
    assert_eq!(last_text(&app, ADMIN2), "Готово: заявка №1 — одобрена.");
    assert_eq!(decision_messages(&app, &ivan), ["Заявка №1 одобрена."]);
    let r = request(&app, first.id).await;
    assert_eq!((r.status, r.decided_by.as_deref()), (client_request::Status::Approved, Some("Пётр")));
    assert_copies_edited(&app, r.id, &["✅ Одобрена: Пётр, "]).await;

    send(&app, &updates::reply(&olga(), "Отклонить нет серийного номера", copy_in(&app, second.id, ADMIN1).await))
        .await;
    assert_eq!(last_text(&app, ADMIN1), "Готово: заявка №2 — отклонена.");
    assert_eq!(decision_messages(&app, &anna), ["Заявка №2 отклонена. Причина: нет серийного номера"]);
    let r = request(&app, second.id).await;
    assert_eq!(
        (r.status, r.reason.as_deref(), r.decided_by.as_deref()),
        (client_request::Status::Rejected, Some("нет серийного номера"), Some("Ольга"))
    );
    assert_copies_edited(&app, r.id, &["❌ Отклонена: Ольга, ", "Причина: нет серийного номера"]).await;

    // The English words work too, and a bare "Reject" has no reason.
    send(&app, &updates::reply(&olga(), "Reject", copy_in(&app, third.id, ADMIN1).await)).await;
    assert_eq!(decision_messages(&app, &oleg), ["Заявка №3 отклонена."]);
    assert_eq!(request(&app, third.id).await.reason, None);

    // "Одобрить" in reply to a message that is not a request copy decides nothing.
    let fourth = file(&app, &ivan, 4, "Другое").await;
    let not_a_copy = messages_to(&app, ADMIN1).into_iter().find(|m| text(m).starts_with("Готово")).unwrap();
    send(&app, &updates::reply(&olga(), "Одобрить", message_id(&not_a_copy))).await;
    assert_eq!(last_text(&app, ADMIN1), UNKNOWN_INPUT);
    assert_eq!(request(&app, fourth.id).await.status, client_request::Status::Pending);

    // A client cannot decide by replying.
    send(&app, &updates::reply(&ivan, "Одобрить", message_id(&last_message(&app, ivan.id)))).await;
    assert_eq!(request(&app, fourth.id).await.status, client_request::Status::Pending);
    app.shutdown().await;
}

#[tokio::test]
async fn administrators_decide_by_command() {
    let app = bot_app(Backend::Sqlite).await.unwrap();
    let (ivan, anna) = (User::ru(7_400_000_021, "Иван"), User::ru(7_400_000_022, "Анна"));
    let first = file(&app, &ivan, 0, "Замена ФН").await;
    let second = file(&app, &anna, 1, "Регистрация").await;

    send(&app, &updates::text(&olga(), "/approve 1")).await;
    assert_eq!(last_text(&app, ADMIN1), "Готово: заявка №1 — одобрена.");
    assert_eq!(decision_messages(&app, &ivan), ["Заявка №1 одобрена."]);
    assert_eq!(request(&app, first.id).await.decided_by.as_deref(), Some("Ольга"));
    assert_copies_edited(&app, first.id, &["✅ Одобрена: Ольга, "]).await;

    send(&app, &updates::text(&petr(), "/reject 2 нет ФН на складе")).await;
    assert_eq!(last_text(&app, ADMIN2), "Готово: заявка №2 — отклонена.");
    assert_eq!(decision_messages(&app, &anna), ["Заявка №2 отклонена. Причина: нет ФН на складе"]);
    let r = request(&app, second.id).await;
    assert_eq!((r.reason.as_deref(), r.decided_by.as_deref()), (Some("нет ФН на складе"), Some("Пётр")));
    assert_copies_edited(&app, second.id, &["❌ Отклонена: Пётр, ", "Причина: нет ФН на складе"]).await;

    // Bad arguments get a hint, never a decision.
    for (command, answer) in [
        ("/approve", "Использование: /approve N или /reject N причина."),
        ("/approve abc", "Использование: /approve N или /reject N причина."),
        ("/reject", "Использование: /approve N или /reject N причина."),
        ("/approve 99", "Заявки №99 нет."),
        ("/reject 99 причина", "Заявки №99 нет."),
    ] {
        send(&app, &updates::text(&olga(), command)).await;
        assert_eq!(last_text(&app, ADMIN1), answer, "{command}");
    }
    // Clients cannot use them.
    let third = file(&app, &ivan, 2, "Продление").await;
    for command in ["/approve 3", "/reject 3 нет"] {
        send(&app, &updates::text(&ivan, command)).await;
        assert_eq!(last_text(&app, ivan.id), NOT_ADMIN, "{command}");
    }
    assert_eq!(request(&app, third.id).await.status, client_request::Status::Pending);
    assert_eq!(event_names(&events(&app, third.id).await), ["filed"]);
    app.shutdown().await;
}

/// Request numbers are not database ids (numbers carried over from an older system, say): every
/// text shows the number, buttons carry the id, commands take the number.
#[tokio::test]
async fn numbers_are_shown_and_ids_only_travel_in_buttons() {
    let app = bot_app(Backend::Sqlite).await.unwrap();
    let now = Utc::now();
    client_request::ActiveModel {
        number: Set(41),
        kind: Set(client_request::Kind::Service),
        description: Set("перенесена из старой системы".into()),
        requester_telegram_id: Set(7_400_000_030),
        status: Set(client_request::Status::Approved),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(app.db())
    .await
    .unwrap();
    let client = User::ru(7_400_000_031, "Иван");
    let r = file(&app, &client, 0, "Замена ФН").await;
    assert_eq!(r.number, 42);
    assert_ne!(r.id, r.number);
    assert_eq!(last_text(&app, client.id), "Заявка №42 принята. Мы сообщим о решении.");
    let copy = sent_message(&app, ADMIN1, copy_in(&app, r.id, ADMIN1).await);
    assert!(text(&copy).starts_with("Заявка №42 — Замена ФН"));
    assert_eq!(buttons(&copy)[0].1, format!("v1:ap:{}", r.id));

    tap_copy(&app, &olga(), "rj", r.id).await;
    assert_eq!(last_text(&app, ADMIN1), "Напишите причину отклонения заявки №42 или нажмите «Пропустить».");
    // Asked again after something that is not a reason: still about №42.
    send(&app, &updates::sticker(&olga())).await;
    assert_eq!(last_text(&app, ADMIN1), "Напишите причину отклонения заявки №42 или нажмите «Пропустить».");
    send(&app, &updates::text(&olga(), "дубль")).await;
    assert_eq!(decision_messages(&app, &client), ["Заявка №42 отклонена. Причина: дубль"]);

    let next = file(&app, &client, 1, "Регистрация").await;
    assert_eq!(next.number, 43);
    send(&app, &updates::text(&petr(), &format!("/approve {}", next.id))).await;
    assert_eq!(last_text(&app, ADMIN2), format!("Заявки №{} нет.", next.id));
    send(&app, &updates::text(&petr(), "/approve 43")).await;
    assert_eq!(last_text(&app, ADMIN2), "Готово: заявка №43 — одобрена.");
    app.shutdown().await;
}

#[tokio::test]
async fn a_linked_contact_has_its_client_on_the_request() {
    let app = bot_app(Backend::Sqlite).await.unwrap();
    // The company exists (added in the dashboard); the user links to it by sending its ИНН.
    let now = Utc::now();
    kktbot::entities::client::ActiveModel {
        name: Set("ООО Ромашка".into()),
        inn: Set("7707083893".into()),
        is_active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(app.db())
    .await
    .unwrap();
    let ivan = User::ru(7_400_000_041, "Иван");
    send(&app, &updates::text(&ivan, "7707083893")).await;
    assert_eq!(
        last_text(&app, ivan.id),
        "Запрос на подключение к организации с ИНН 7707083893 отправлен администраторам (заявка №1). Мы сообщим о \
         решении."
    );
    let link = latest_request_of(&app, &ivan).await;
    assert_eq!(link.kind, client_request::Kind::Link);
    let copy = sent_message(&app, ADMIN1, copy_in(&app, link.id, ADMIN1).await);
    assert_eq!(
        text(&copy),
        "Заявка №1 — подключение к организации\nОт: Иван (@user7400000041)\nИНН: 7707083893 (ООО Ромашка (ИНН \
         7707083893))"
    );
    // The same decision mechanism, copies and trail as service requests.
    tap_copy(&app, &olga(), "ap", link.id).await;
    assert_eq!(
        decision_messages(&app, &ivan),
        ["Заявка №1 одобрена: вы подключены к организации «ООО Ромашка» (ИНН 7707083893)."]
    );
    assert_copies_edited(&app, link.id, &["✅ Одобрена: Ольга, "]).await;
    assert_eq!(event_names(&events(&app, link.id).await), ["filed", "approved"]);

    // Now a contact: the service request carries the client, and the administrators see it.
    let r = file(&app, &ivan, 0, "Замена ФН").await;
    assert_eq!(r.number, 2);
    assert_eq!(r.client_id, request(&app, link.id).await.client_id);
    assert!(r.client_id.is_some());
    for admin in ADMINS {
        let copy = sent_message(&app, admin, copy_in(&app, r.id, admin).await);
        assert_eq!(
            text(&copy),
            "Заявка №2 — Замена ФН\nОт: Иван (@user7400000041)\nКлиент: ООО Ромашка (ИНН 7707083893)\n\nЗамена ФН"
        );
    }
    app.shutdown().await;
}

#[tokio::test]
async fn an_inactive_administrator_gets_no_copy_and_cannot_decide() {
    let app = bot_app(Backend::Sqlite).await.unwrap();
    let ivan = User::ru(7_400_000_051, "Иван");
    let first = file(&app, &ivan, 0, "Замена ФН").await;
    let old_copy = copy_in(&app, first.id, ADMIN2).await;

    let row = administrator::Entity::find()
        .filter(administrator::Column::TelegramId.eq(ADMIN2))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    let mut row: administrator::ActiveModel = row.into();
    row.is_active = Set(false);
    row.update(app.db()).await.unwrap();

    let second = file(&app, &ivan, 1, "Регистрация").await;
    assert_eq!(copies(&app, second.id).await.iter().map(|(chat, _)| *chat).collect::<Vec<_>>(), [ADMIN1]);

    let tap = updates::callback(&petr(), &format!("v1:ap:{}", first.id), old_copy);
    send(&app, &tap).await;
    assert_eq!(answer_to(&app, &tap).as_deref(), Some(NOT_ADMIN));
    for command in ["/approve 1", "/reject 2 нет", "/pending"] {
        send(&app, &updates::text(&petr(), command)).await;
        assert_eq!(last_text(&app, ADMIN2), NOT_ADMIN, "{command}");
    }
    send(&app, &updates::reply(&petr(), "Одобрить", old_copy)).await;
    assert_eq!(last_text(&app, ADMIN2), UNKNOWN_INPUT);
    for r in [&first, &second] {
        assert_eq!(request(&app, r.id).await.status, client_request::Status::Pending);
    }
    assert!(decision_messages(&app, &ivan).is_empty());
    app.shutdown().await;
}

// ================================================================== 5. second decisions, forged and unknown buttons

#[tokio::test]
async fn a_second_decision_changes_nothing_and_names_who_decided_first() {
    let app = bot_app(Backend::Sqlite).await.unwrap();
    let client = User::ru(7_500_000_001, "Иван");
    let r = file(&app, &client, 0, "Замена ФН").await;
    tap_copy(&app, &olga(), "ap", r.id).await;
    let decided = request(&app, r.id).await;
    let edits_before = app.tg().calls_to("editMessageText").len();
    const FIRST: &str = "Заявка №1 уже одобрена: Ольга.";

    // Пётр, every way; and Ольга again.
    for action in ["ap", "rj", "sk"] {
        let tap = tap_copy(&app, &petr(), action, r.id).await;
        assert_eq!(answer_to(&app, &tap).as_deref(), Some(FIRST), "{action}");
    }
    let again = tap_copy(&app, &olga(), "ap", r.id).await;
    assert_eq!(answer_to(&app, &again).as_deref(), Some(FIRST));
    send(&app, &updates::reply(&petr(), "Отклонить поздно", copy_in(&app, r.id, ADMIN2).await)).await;
    assert_eq!(last_text(&app, ADMIN2), FIRST);
    send(&app, &updates::text(&petr(), "/reject 1 поздно")).await;
    assert_eq!(last_text(&app, ADMIN2), FIRST);
    send(&app, &updates::text(&petr(), "/approve 1")).await;
    assert_eq!(last_text(&app, ADMIN2), FIRST);

    assert_eq!(request(&app, r.id).await, decided, "nothing changed");
    assert_eq!(event_names(&events(&app, r.id).await), ["filed", "approved"]);
    assert_eq!(decision_messages(&app, &client), ["Заявка №1 одобрена."]);
    assert_eq!(app.tg().calls_to("editMessageText").len(), edits_before, "no copy edited again");

    // Пётр pressed Reject and was writing a reason when Ольга approved: his reason changes nothing.
    let other = User::ru(7_500_000_002, "Анна");
    let r2 = file(&app, &other, 1, "Регистрация").await;
    tap_copy(&app, &petr(), "rj", r2.id).await;
    tap_copy(&app, &olga(), "ap", r2.id).await;
    send(&app, &updates::text(&petr(), "нет документов")).await;
    assert_eq!(last_text(&app, ADMIN2), "Заявка №2 уже одобрена: Ольга.");
    let r2 = request(&app, r2.id).await;
    assert_eq!((r2.status, r2.reason), (client_request::Status::Approved, None));
    assert_eq!(decision_messages(&app, &other), ["Заявка №2 одобрена."]);
    assert_eq!(event_names(&events(&app, r2.id).await), ["filed", "approved"]);
    app.shutdown().await;
}

#[tokio::test]
async fn a_forged_decision_button_from_a_non_administrator_changes_nothing() {
    let app = bot_app(Backend::Sqlite).await.unwrap();
    let client = User::ru(7_500_000_011, "Иван");
    let stranger = User::en(7_500_000_012, "Mallory");
    let r = file(&app, &client, 0, "Замена ФН").await;
    let calls_before = app.tg().calls_to("editMessageText").len();

    let own_message = message_id(&last_message(&app, client.id));
    for (user, action) in [(&client, "ap"), (&client, "rj"), (&client, "sk"), (&stranger, "ap")] {
        let forged = updates::callback(user, &format!("v1:{action}:{}", r.id), own_message);
        send(&app, &forged).await;
        let notice = answer_to(&app, &forged);
        let expected = if user.id == stranger.id { "This command is for administrators only." } else { NOT_ADMIN };
        assert_eq!(notice.as_deref(), Some(expected), "{action} from {}", user.first_name);
    }
    let r = request(&app, r.id).await;
    assert_eq!(r.status, client_request::Status::Pending);
    assert_eq!(r.decided_by, None);
    assert_eq!(event_names(&events(&app, r.id).await), ["filed"]);
    assert!(decision_messages(&app, &client).is_empty());
    assert_eq!(app.tg().calls_to("editMessageText").len(), calls_before);
    // No reason step was opened for the client either.
    send(&app, &updates::text(&client, "причина")).await;
    assert_eq!(last_text(&app, client.id), UNKNOWN_INPUT);
    app.shutdown().await;
}

#[tokio::test]
async fn unknown_or_malformed_callback_data_gets_a_short_notice() {
    let app = bot_app(Backend::Sqlite).await.unwrap();
    let client = User::ru(7_500_000_021, "Иван");
    file(&app, &client, 0, "Замена ФН").await;
    let long = format!("v1:ap:{}", "1".repeat(70));
    let mut no_data = updates::callback(&olga(), "v1:ap:1", 1);
    no_data["callback_query"].as_object_mut().unwrap().remove("data");
    no_data["callback_query"]["game_short_name"] = json!("game");

    let mut cases: Vec<Value> = [
        "garbage",
        "v2:ap:1",
        "v1:ap",
        "v1:ap:abc",
        "v1:ap:-1",
        "v1:ap:1:2",
        "v1:zz:1",
        "v1:lang:de",
        "v1:sub:short",
        "v1:rq:1:ok",
        "v1:ap:999999",
        "v1:rj:999999",
        "v1:sk:999999",
        "v1:cr:999999",
        long.as_str(),
        "' OR 1=1; --",
    ]
    .iter()
    .map(|data| updates::callback(&olga(), data, 1))
    .collect();
    cases.push(no_data);
    for update in &cases {
        let res = app.post_update(update).await;
        assert_eq!(res.status(), 200, "{}", update["callback_query"]["data"]);
    }
    app.settle().await;
    for update in &cases {
        assert_eq!(answer_to(&app, update).as_deref(), Some(OUTDATED), "{}", update["callback_query"]["data"]);
    }
    let r = latest_request_of(&app, &client).await;
    assert_eq!(r.status, client_request::Status::Pending);
    assert_eq!(count_rows(app.db(), "request_events").await, 1);
    app.shutdown().await;
}

// ================================================================== 6. redelivered and double-tapped

async fn redelivered_and_double_tapped_callbacks(backend: Backend) {
    let Some(app) = bot_app(backend).await else { return };
    let client = User::ru(7_600_000_001, "Иван");

    // Submit tapped twice, one after the other: one request; the second tap is told its number.
    let summary = compose(&app, &client, 0, "Замена ФН").await;
    let (first, second) = (submit_tap(&client, &summary), submit_tap(&client, &summary));
    send(&app, &first).await;
    send(&app, &second).await;
    assert_eq!(count_rows(app.db(), "client_requests").await, 1);
    assert_eq!(answer_to(&app, &second).as_deref(), Some("Заявка №1 принята. Мы сообщим о решении."));
    let received = |app: &TestApp| {
        app.tg().sent_texts_to(client.id).into_iter().filter(|t| t.contains("принята")).collect::<Vec<_>>()
    };
    assert_eq!(received(&app), ["Заявка №1 принята. Мы сообщим о решении."]);
    // Telegram redelivering the first tap: nothing at all happens.
    let calls = app.tg().calls().len();
    send(&app, &first).await;
    assert_eq!(app.tg().calls().len(), calls);
    assert_eq!(count_rows(app.db(), "request_messages").await, 2);

    // Submit tapped twice at the same moment: still one request.
    let summary = compose(&app, &client, 1, "Регистрация").await;
    let taps: Vec<Value> = (0..4).map(|_| submit_tap(&client, &summary)).collect();
    post_all(&app, &taps).await;
    let requests = all_requests(&app).await;
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert_eq!(requests[1].number, 2);
    assert_eq!(count_rows(app.db(), "request_messages").await, 4, "two copies per request");
    let told: Vec<String> = received(&app).into_iter().filter(|t| t.contains("№2")).collect();
    assert_eq!(told, ["Заявка №2 принята. Мы сообщим о решении."], "told once, the other taps get a notice");
    for update in &taps {
        let answers = answers_to(&app, update);
        assert_eq!(answers.len(), 1, "every tap is answered once");
        if let Some(notice) = &answers[0] {
            assert_eq!(notice, "Заявка №2 принята. Мы сообщим о решении.");
        }
    }

    // The same Approve delivered again, also several times at once: one decision.
    let r = &requests[0];
    let approve = tap_copy(&app, &olga(), "ap", r.id).await;
    send(&app, &approve).await;
    post_all(&app, &[approve.clone(), approve.clone(), approve.clone()]).await;
    assert_eq!(answers_to(&app, &approve), [Some("Готово: заявка №1 — одобрена.".to_owned())]);
    assert_eq!(decision_messages(&app, &client), ["Заявка №1 одобрена."]);
    assert_eq!(event_names(&events(&app, r.id).await), ["filed", "approved"]);
    assert_copies_edited(&app, r.id, &["✅ Одобрена: Ольга, "]).await;
    assert_all_through_outbox(&app).await;
    app.shutdown().await;
}

#[tokio::test]
async fn redelivered_and_double_tapped_callbacks_sqlite() {
    redelivered_and_double_tapped_callbacks(Backend::Sqlite).await;
}

#[tokio::test]
async fn redelivered_and_double_tapped_callbacks_postgres() {
    redelivered_and_double_tapped_callbacks(Backend::Postgres).await;
}

// ================================================================== 7. the race

const RACE: usize = 50;

async fn two_administrators_race_on_fifty_requests(backend: Backend) {
    let Some(app) = bot_app(backend).await else { return };
    let mut refused = 0;
    let clients: Vec<User> = (0..RACE as i64).map(|i| User::ru(7_700_000_000 + i, "Клиент")).collect();

    // Fifty clients file at once.
    refused += deliver_all(&app, &clients.iter().map(|u| updates::text(u, "/request")).collect::<Vec<_>>()).await;
    let taps: Vec<Value> = clients
        .iter()
        .map(|u| {
            let keyboard = last_message(&app, u.id);
            updates::callback(u, &buttons(&keyboard)[0].1, message_id(&keyboard))
        })
        .collect();
    refused += deliver_all(&app, &taps).await;
    refused +=
        deliver_all(&app, &clients.iter().map(|u| updates::text(u, &format!("Заявка {}", u.id))).collect::<Vec<_>>())
            .await;
    refused +=
        deliver_all(&app, &clients.iter().map(|u| submit_tap(u, &last_message(&app, u.id))).collect::<Vec<_>>()).await;
    let requests = all_requests(&app).await;
    assert_eq!(requests.len(), RACE);
    let mut numbers: Vec<i32> = requests.iter().map(|r| r.number).collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=RACE as i32).collect::<Vec<_>>(), "numbers are unique and dense");

    // For every request, Ольга approves and Пётр rejects (Skip: no reason) at the same moment.
    let mut decisions = Vec::new();
    for r in &requests {
        decisions.push(updates::callback(&olga(), &format!("v1:ap:{}", r.id), copy_in(&app, r.id, ADMIN1).await));
        decisions.push(updates::callback(&petr(), &format!("v1:sk:{}", r.id), copy_in(&app, r.id, ADMIN2).await));
    }
    refused += deliver_all(&app, &decisions).await;

    let (olga_id, petr_id) = (administrator_id(&app, ADMIN1).await, administrator_id(&app, ADMIN2).await);
    let mut done = 0;
    for (r, taps) in requests.iter().zip(decisions.chunks(2)) {
        let r = request(&app, r.id).await;
        let client = clients.iter().find(|c| c.id == r.requester_telegram_id).unwrap();
        let n = r.number;
        let (winner, winner_id, outcome, line) = match r.status {
            client_request::Status::Approved => ("Ольга", olga_id, "одобрена", "✅ Одобрена: Ольга, "),
            client_request::Status::Rejected => ("Пётр", petr_id, "отклонена", "❌ Отклонена: Пётр, "),
            other => panic!("request №{n} is {other:?}"),
        };
        assert_eq!(r.decided_by.as_deref(), Some(winner), "№{n}");
        assert_eq!(r.decided_by_administrator_id, Some(winner_id), "№{n}");
        assert_eq!(r.reason, None, "№{n}");
        // Exactly one decision in the trail, one message to the client, one edit per copy.
        let trail = events(&app, r.id).await;
        let decided: Vec<_> = trail.iter().filter(|e| e.event == "approved" || e.event == "rejected").collect();
        assert_eq!(decided.len(), 1, "№{n}: {trail:?}");
        assert_eq!(decided[0].actor_name.as_deref(), Some(winner), "№{n}");
        assert_eq!(decision_messages(&app, client), [format!("Заявка №{n} {outcome}.")], "№{n}");
        assert_eq!(app.tg().sent_texts_to(client.id).len(), 5, "№{n}");
        assert_copies_edited(&app, r.id, &[line]).await;
        // One administrator is told it is done, the other who was first.
        let notices: Vec<String> = taps.iter().map(|u| answer_to(&app, u).unwrap_or_default()).collect();
        let done_notice = format!("Готово: заявка №{n} — {outcome}.");
        let late_notice = format!("Заявка №{n} уже {outcome}: {winner}.");
        let (olga_notice, petr_notice) =
            if winner == "Ольга" { (done_notice, late_notice) } else { (late_notice, done_notice) };
        assert_eq!(notices, [olga_notice, petr_notice], "№{n}");
        done += 1;
    }
    assert_eq!(done, RACE);
    if refused > 0 {
        eprintln!("{backend:?}: {refused} update(s) answered 503 under load and were delivered again");
    }
    assert_eq!(app.tg().calls_to("editMessageText").iter().filter(|c| c.ok).count(), 2 * RACE);
    assert_all_through_outbox(&app).await;
    app.shutdown().await;
}

#[tokio::test]
async fn two_administrators_race_on_fifty_requests_sqlite() {
    two_administrators_race_on_fifty_requests(Backend::Sqlite).await;
}

#[tokio::test]
async fn two_administrators_race_on_fifty_requests_postgres() {
    two_administrators_race_on_fifty_requests(Backend::Postgres).await;
}

// ================================================================== 8. languages

#[tokio::test]
async fn an_english_client_is_answered_in_english() {
    let app = bot_app(Backend::Sqlite).await.unwrap();
    let john = User::en(7_800_000_001, "John");
    // Пётр's Telegram is in English too; Ольга's in Russian.
    let peter = User::en(ADMIN2, "Peter");
    send(&app, &updates::text(&peter, "/help")).await;

    let keyboard = start_request(&app, &john).await;
    assert_eq!(text(&keyboard), "Choose the type of request:");
    let types = active_types(&app).await;
    let mut expected: Vec<(String, String)> =
        types.iter().map(|t| pair(&t.name_en, &format!("v1:rt:{}", t.id))).collect();
    expected.push(pair("Cancel", "v1:cx"));
    assert_eq!(buttons(&keyboard), expected);
    send(&app, &updates::callback(&john, &expected[0].1, message_id(&keyboard))).await;
    assert_eq!(
        last_text(&app, john.id),
        "Type: Fiscal drive replacement. Describe what needs to be done (up to 2000 characters). You may send a photo \
         with a caption."
    );
    send(&app, &updates::sticker(&john)).await;
    assert_eq!(last_text(&app, john.id), "Please send text or a photo with a caption. Describe what needs to be done.");
    send(&app, &updates::text(&john, "Receipt printer is broken")).await;
    let summary = last_message(&app, john.id);
    assert_eq!(
        text(&summary),
        "Please check your request:\nType: Fiscal drive replacement\nDescription: Receipt printer is broken"
    );
    assert_eq!(buttons(&summary)[0].0, "Submit");
    assert_eq!(buttons(&summary)[1], pair("Cancel", "v1:cx"));
    send(&app, &submit_tap(&john, &summary)).await;
    assert_eq!(last_text(&app, john.id), "Request #1 received. We will let you know the decision.");

    // Each administrator reads the copy in their own language.
    let r = latest_request_of(&app, &john).await;
    let ru_copy = sent_message(&app, ADMIN1, copy_in(&app, r.id, ADMIN1).await);
    assert_eq!(text(&ru_copy), "Заявка №1 — Замена ФН\nОт: John\nКлиент: не указан\n\nReceipt printer is broken");
    let en_copy = sent_message(&app, ADMIN2, copy_in(&app, r.id, ADMIN2).await);
    assert_eq!(
        text(&en_copy),
        "Request #1 — Fiscal drive replacement\nFrom: John\nClient: not given\n\nReceipt printer is broken"
    );
    assert_eq!(
        buttons(&en_copy),
        [pair("✅ Approve", &format!("v1:ap:{}", r.id)), pair("❌ Reject", &format!("v1:rj:{}", r.id))]
    );

    tap_copy(&app, &olga(), "ap", r.id).await;
    assert_eq!(decision_messages(&app, &john), ["Request #1 approved."]);
    let edited = edits_of(&app, ADMIN2, copy_in(&app, r.id, ADMIN2).await);
    assert!(edited[0].params["text"].as_str().unwrap().contains("✅ Approved: Ольга, "));

    // A rejection with a reason, from the English-speaking administrator.
    let r2 = file(&app, &john, 4, "Something else").await;
    tap_copy(&app, &peter, "rj", r2.id).await;
    assert_eq!(last_text(&app, ADMIN2), "Write the reason for rejecting request #2, or press “Skip”.");
    send(&app, &updates::text(&peter, "no serial number")).await;
    assert_eq!(last_text(&app, ADMIN2), "Done: request #2 is rejected.");
    assert_eq!(decision_messages(&app, &john).last().unwrap(), "Request #2 rejected. Reason: no serial number");
    app.shutdown().await;
}

#[tokio::test]
async fn lang_switches_the_language() {
    let app = bot_app(Backend::Sqlite).await.unwrap();
    let ivan = User::ru(7_800_000_011, "Иван");
    send(&app, &updates::text(&ivan, "/lang")).await;
    let choice = last_message(&app, ivan.id);
    assert_eq!(text(&choice), "Выберите язык / Choose your language:");
    assert_eq!(buttons(&choice), [pair("Русский", "v1:lang:ru"), pair("English", "v1:lang:en")]);
    send(&app, &updates::callback(&ivan, "v1:lang:en", message_id(&choice))).await;
    assert_eq!(last_text(&app, ivan.id), "Done: the bot will write to you in English.");
    let stored = kktbot::entities::telegram_user::Entity::find()
        .filter(kktbot::entities::telegram_user::Column::TelegramId.eq(ivan.id))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.language.as_deref(), Some("en"));

    // The choice outlives Telegram's language_code ("ru") in every later update.
    let r = file(&app, &ivan, 0, "Замена ФН").await;
    assert_eq!(last_text(&app, ivan.id), "Request #1 received. We will let you know the decision.");
    tap_copy(&app, &olga(), "ap", r.id).await;
    assert_eq!(decision_messages(&app, &ivan), ["Request #1 approved."]);

    // And back.
    send(&app, &updates::text(&ivan, "/lang")).await;
    send(&app, &updates::callback(&ivan, "v1:lang:ru", message_id(&last_message(&app, ivan.id)))).await;
    assert_eq!(last_text(&app, ivan.id), "Готово: бот будет писать вам по-русски.");
    assert_eq!(text(&start_request(&app, &ivan).await), "Выберите тип заявки:");
    app.shutdown().await;
}

// ================================================================== 9. lists and the client's cancel

#[tokio::test]
async fn myrequests_shows_status_and_reason_and_cancels_a_pending_request() {
    let app = bot_app(Backend::Sqlite).await.unwrap();
    let ivan = User::ru(7_900_000_001, "Иван");

    send(&app, &updates::text(&ivan, "/myrequests")).await;
    assert_eq!(last_text(&app, ivan.id), "У вас пока нет заявок. /request — подать заявку.");

    let first = file(&app, &ivan, 0, "Замена ФН").await;
    let second = file(&app, &ivan, 1, "Регистрация").await;
    let third = file(&app, &ivan, 2, "Продление").await;
    tap_copy(&app, &olga(), "ap", first.id).await;
    send(&app, &updates::text(&petr(), "/reject 2 нет ФН на складе")).await;

    send(&app, &updates::text(&ivan, "/myrequests")).await;
    let list = last_message(&app, ivan.id);
    let date = |r: &client_request::Model| r.created_at.format("%d.%m.%Y").to_string();
    assert_eq!(
        text(&list),
        format!(
            "Ваши заявки:\n№3 · Продление ОФД · ждёт решения · {}\n№2 · Регистрация ККТ · отклонена · {}\n  причина: нет \
             ФН на складе\n№1 · Замена ФН · одобрена · {}",
            date(&third),
            date(&second),
            date(&first)
        )
    );
    assert_eq!(buttons(&list), [pair("Отменить №3", &format!("v1:cr:{}", third.id))]);

    // Someone else's cancel button for this request is refused.
    let stranger = User::ru(7_900_000_002, "Пётр");
    let forged = updates::callback(&stranger, &format!("v1:cr:{}", third.id), 1);
    send(&app, &forged).await;
    assert_eq!(answer_to(&app, &forged).as_deref(), Some(OUTDATED));
    assert_eq!(request(&app, third.id).await.status, client_request::Status::Pending);

    let cancel = updates::callback(&ivan, &format!("v1:cr:{}", third.id), message_id(&list));
    send(&app, &cancel).await;
    assert_eq!(answer_to(&app, &cancel), None);
    assert_eq!(last_text(&app, ivan.id), "Заявка №3 отменена.");
    let r = request(&app, third.id).await;
    assert_eq!(r.status, client_request::Status::Cancelled);
    assert_eq!(r.decided_by, None);
    for edited in assert_copies_edited(&app, third.id, &["Отменена клиентом, "]).await {
        assert!(!edited.contains("Одобрена") && !edited.contains("Отклонена"), "{edited:?}");
    }
    assert!(decision_messages(&app, &ivan).iter().all(|t| !t.contains("№3")));

    // Cancelling again, or cancelling a decided request, changes nothing.
    send(&app, &updates::callback(&ivan, &format!("v1:cr:{}", third.id), message_id(&list))).await;
    assert_eq!(last_text(&app, ivan.id), "Заявку №3 уже нельзя отменить: она отменена.");
    send(&app, &updates::callback(&ivan, &format!("v1:cr:{}", first.id), message_id(&list))).await;
    assert_eq!(last_text(&app, ivan.id), "Заявку №1 уже нельзя отменить: она одобрена.");
    assert_eq!(request(&app, first.id).await.status, client_request::Status::Approved);

    // An administrator's button on the cancelled request: told it is cancelled, nothing else.
    let late = tap_copy(&app, &olga(), "ap", third.id).await;
    assert_eq!(answer_to(&app, &late).as_deref(), Some("Заявка №3 уже отменена: Иван."));
    assert_eq!(request(&app, third.id).await.status, client_request::Status::Cancelled);
    assert_eq!(event_names(&events(&app, third.id).await), ["filed", "cancelled"]);

    send(&app, &updates::text(&ivan, "/myrequests")).await;
    let list = last_message(&app, ivan.id);
    assert!(text(&list).contains("№3 · Продление ОФД · отменена · "), "{}", text(&list));
    assert!(buttons(&list).is_empty(), "nothing left to cancel");
    app.shutdown().await;
}

#[tokio::test]
async fn pending_lists_pending_requests_with_their_buttons_for_administrators_only() {
    let app = bot_app(Backend::Sqlite).await.unwrap();
    let (ivan, anna) = (User::ru(7_900_000_011, "Иван"), User::ru(7_900_000_012, "Анна"));

    send(&app, &updates::text(&petr(), "/pending")).await;
    assert_eq!(last_text(&app, ADMIN2), "Заявок, ждущих решения, нет.");

    let first = file(&app, &ivan, 0, "Замена ФН").await;
    let second = file(&app, &anna, 1, "Регистрация").await;
    let third = file(&app, &ivan, 2, "Продление").await;
    tap_copy(&app, &olga(), "ap", first.id).await;

    send(&app, &updates::text(&ivan, "/pending")).await;
    assert_eq!(last_text(&app, ivan.id), NOT_ADMIN);

    let before = messages_to(&app, ADMIN2).len();
    send(&app, &updates::text(&petr(), "/pending")).await;
    let shown = &messages_to(&app, ADMIN2)[before..];
    assert_eq!(shown.len(), 3, "a header, then one copy per pending request");
    assert_eq!(text(&shown[0]), "Ждут решения: 2.");
    for (message, r) in shown[1..].iter().zip([&second, &third]) {
        assert!(text(message).starts_with(&format!("Заявка №{} — ", r.number)), "{}", text(message));
        assert_eq!(
            buttons(message),
            [pair("✅ Одобрить", &format!("v1:ap:{}", r.id)), pair("❌ Отклонить", &format!("v1:rj:{}", r.id))]
        );
    }
    // The listed copy is remembered like the first ones: deciding on it edits all three.
    assert_eq!(copies(&app, second.id).await.len(), 3);
    let approve = updates::callback(&petr(), &format!("v1:ap:{}", second.id), message_id(&shown[1]));
    send(&app, &approve).await;
    assert_eq!(answer_to(&app, &approve).as_deref(), Some("Готово: заявка №2 — одобрена."));
    assert_eq!(assert_copies_edited(&app, second.id, &["✅ Одобрена: Пётр, "]).await.len(), 3);
    assert_eq!(decision_messages(&app, &anna), ["Заявка №2 одобрена."]);
    app.shutdown().await;
}

// ================================================================== 10. audit trail

#[tokio::test]
async fn every_change_is_in_the_audit_trail() {
    let app = bot_app(Backend::Sqlite).await.unwrap();
    let started = Utc::now() - chrono::Duration::seconds(1);
    let ivan = User::ru(7_950_000_001, "Иван");
    let approved = file(&app, &ivan, 0, "Замена ФН").await;
    let rejected = file(&app, &ivan, 1, "Регистрация").await;
    let cancelled = file(&app, &ivan, 2, "Продление").await;
    tap_copy(&app, &olga(), "ap", approved.id).await;
    send(&app, &updates::reply(&petr(), "Отклонить нет документов", copy_in(&app, rejected.id, ADMIN2).await)).await;
    send(&app, &updates::text(&ivan, "/myrequests")).await;
    send(&app, &updates::callback(&ivan, &format!("v1:cr:{}", cancelled.id), message_id(&last_message(&app, ivan.id))))
        .await;
    let (olga_id, petr_id) = (administrator_id(&app, ADMIN1).await, administrator_id(&app, ADMIN2).await);

    type Row<'a> = (&'a str, &'a str, &'a str, Option<i64>, Option<&'a str>, Option<&'a str>);
    let filed: Row = ("filed", "telegram", "client", Some(ivan.id), Some("Иван"), None);
    let expected: [(i32, Vec<Row>); 3] = [
        (
            approved.id,
            vec![filed, ("approved", "telegram", "administrator", Some(olga_id.into()), Some("Ольга"), None)],
        ),
        (
            rejected.id,
            vec![
                filed,
                ("rejected", "telegram", "administrator", Some(petr_id.into()), Some("Пётр"), Some("нет документов")),
            ],
        ),
        (cancelled.id, vec![filed, ("cancelled", "telegram", "client", Some(ivan.id), Some("Иван"), None)]),
    ];
    let now = Utc::now() + chrono::Duration::seconds(1);
    for (id, rows) in expected {
        let trail = events(&app, id).await;
        let got: Vec<Row> = trail
            .iter()
            .map(|e| {
                (
                    e.event.as_str(),
                    e.channel.as_str(),
                    e.actor_kind.as_str(),
                    e.actor_id,
                    e.actor_name.as_deref(),
                    e.details.as_deref(),
                )
            })
            .collect();
        assert_eq!(got, rows, "request {id}");
        assert!(trail.iter().all(|e| e.created_at >= started && e.created_at <= now));
        assert!(trail.windows(2).all(|w| w[0].created_at <= w[1].created_at));
    }
    assert_eq!(request_event::Entity::find().count(app.db()).await.unwrap(), 6);
    app.shutdown().await;
}
