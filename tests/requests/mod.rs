//! Request approval end to end, driven through the webhook with Telegram-shaped updates: filing
//! (text, photo, every wrong input, cancel at every step), the administrators' copies and their
//! edits, decisions by button, reply text and command, second decisions and forged buttons,
//! redelivered and double-tapped callbacks, a 50-request race between two administrators, both
//! languages, /myrequests, /pending and the audit trail. Assertions are on what the fake Bot API
//! received and on the database.

use chrono::Utc;
use kktbot::entities::{administrator, client_request, outgoing_message, request_event, request_message, request_type};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set};
use serde_json::{Value, json};

use crate::support::chat::*;
use crate::support::telegram::Call;
use crate::support::updates::{self, User};
use crate::support::{Backend, TestApp, TestAppBuilder, count_rows};
use crate::support::{backend_test, integration_test};

mod concurrency;
mod conversation;
mod deciding;
mod filing;
mod group;
mod lifecycle;
mod lists;
mod numbering;
mod sla;
mod work;

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
async fn bot_app(backend: Backend) -> TestApp {
    bot_builder(TestApp::builder().backend(backend).telegram(), backend).spawn().await
}

/// `builder` with two administrators and Telegram's pace lifted; Redis for dialogs where the
/// backend uses it.
fn bot_builder(builder: TestAppBuilder, backend: Backend) -> TestAppBuilder {
    let builder = builder
        .env("ADMIN_TELEGRAM_IDS", "900000001,900000002")
        // These tests check what is sent, not Telegram's pace (tests/sender/pace.rs does): without
        // this every chat would get one message a second.
        .env("TELEGRAM_RATE_CHAT_PER_SECOND", "1000")
        .env("TELEGRAM_RATE_GLOBAL_PER_SECOND", "1000");
    if backend.uses_redis() { builder.redis() } else { builder }
}

/// Every call that delivers something went through the outbox: one sent row per successful call.
async fn assert_all_through_outbox(app: &TestApp) {
    let methods = [
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "editMessageText",
        "editMessageReplyMarkup",
        "answerCallbackQuery",
    ];
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

/// The buttons an administrator's copy of a request shows after its decision: Take on an
/// approved service request, none on anything else decided.
async fn buttons_after_decision(app: &TestApp, request_id: i32) -> Vec<(String, String)> {
    let r = request(app, request_id).await;
    if (r.kind, r.status) == (client_request::Kind::Service, client_request::Status::Approved) {
        vec![pair("🔧 Взять в работу", &format!("v1:st:{request_id}"))]
    } else {
        Vec::new()
    }
}

/// Checks that every copy of the request was edited exactly once: its text followed by the
/// outcome lines, and only the buttons that apply after the decision. Returns the edited texts.
async fn assert_copies_edited(app: &TestApp, request_id: i32, outcome: &[&str]) -> Vec<String> {
    let expected = buttons_after_decision(app, request_id).await;
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
        assert_eq!(buttons(&edit.params), expected, "the buttons that apply now: {}", edit.params);
        if expected.is_empty() {
            assert!(edit.response["result"].get("reply_markup").is_none(), "Telegram shows no buttons any more");
        }
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
