//! Talking to the bot as Telegram users do, and reading what the fake Bot API received: the
//! messages sent to a chat, their texts and buttons, the answers to callbacks and the edits.

use futures::future::join_all;
use serde_json::Value;

use super::TestApp;
use super::telegram::Call;
use super::updates::{self, User, button, first_button};

/// Sends an update (asserting 200) and waits until everything it caused was delivered.
pub async fn send(app: &TestApp, update: &Value) {
    app.send_update(update).await;
    app.settle().await;
}

/// Posts all updates at the same time, asserts each was acknowledged, then settles.
pub async fn post_all(app: &TestApp, updates: &[Value]) {
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
pub async fn deliver_all(app: &TestApp, updates: &[Value]) -> usize {
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

pub fn as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

pub fn as_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub fn chat_of(call: &Call) -> Option<i64> {
    as_i64(&call.params["chat_id"])
}

/// The messages (as Telegram returned them) of successful `method` calls to `chat`, oldest first.
pub fn sent(app: &TestApp, method: &str, chat: i64) -> Vec<Value> {
    app.tg()
        .calls_to(method)
        .into_iter()
        .filter(|c| c.ok && chat_of(c) == Some(chat))
        .map(|c| c.response["result"].clone())
        .collect()
}

pub fn messages_to(app: &TestApp, chat: i64) -> Vec<Value> {
    sent(app, "sendMessage", chat)
}

pub fn last_message(app: &TestApp, chat: i64) -> Value {
    messages_to(app, chat).pop().unwrap_or_else(|| panic!("no message was sent to {chat}"))
}

pub fn last_text(app: &TestApp, chat: i64) -> String {
    text(&last_message(app, chat)).to_owned()
}

pub fn text(message: &Value) -> &str {
    message["text"].as_str().unwrap_or_default()
}

pub fn message_id(message: &Value) -> i64 {
    message["message_id"].as_i64().expect("a sent message has an id")
}

/// The inline keyboard of a message as rows of (label, callback data).
pub fn button_rows(message: &Value) -> Vec<Vec<(String, String)>> {
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

/// Each button's label and colour (Bot API 9.4 `style`), as the markup sent to Telegram has them.
pub fn styles(markup_holder: &Value) -> Vec<(String, Option<String>)> {
    markup_holder["reply_markup"]["inline_keyboard"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row.as_array().into_iter().flatten())
        .map(|b| (b["text"].as_str().unwrap_or_default().to_owned(), b["style"].as_str().map(str::to_owned)))
        .collect()
}

pub fn buttons(message: &Value) -> Vec<(String, String)> {
    button_rows(message).into_iter().flatten().collect()
}

pub fn pair(label: &str, data: &str) -> (String, String) {
    (label.to_owned(), data.to_owned())
}

/// The texts of the answers to one callback query (its `answerCallbackQuery` calls).
pub fn answers_to(app: &TestApp, update: &Value) -> Vec<Option<String>> {
    let id = update["callback_query"]["id"].as_str().expect("a callback update");
    app.tg()
        .calls_to("answerCallbackQuery")
        .into_iter()
        .filter(|c| c.ok && as_string(&c.params["callback_query_id"]).as_deref() == Some(id))
        .map(|c| c.params["text"].as_str().map(str::to_owned))
        .collect()
}

/// The one answer to a callback query: its notice, if it has one.
pub fn answer_to(app: &TestApp, update: &Value) -> Option<String> {
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
pub fn edits_of(app: &TestApp, chat: i64, message: i64) -> Vec<Call> {
    app.tg()
        .calls_to("editMessageText")
        .into_iter()
        .filter(|c| c.ok && chat_of(c) == Some(chat) && as_i64(&c.params["message_id"]) == Some(message))
        .collect()
}

/// A message the bot sent, by chat and id.
pub fn sent_message(app: &TestApp, chat: i64, message: i64) -> Value {
    messages_to(app, chat)
        .into_iter()
        .find(|m| message_id(m) == message)
        .unwrap_or_else(|| panic!("no message {message} was sent to {chat}"))
}

/// Files a service request in Telegram as a client does: /request, a tap on the type labelled
/// `kind` (the first type when `None`), the description, Submit.
pub async fn file_request(app: &TestApp, client: &User, kind: Option<&str>, description: &str) {
    send(app, &updates::text(client, "/request")).await;
    let keyboard = last_message(app, client.id);
    let data = kind.map_or_else(|| first_button(&keyboard), |label| button(&keyboard, label));
    send(app, &updates::callback(client, &data, message_id(&keyboard))).await;
    send(app, &updates::text(client, description)).await;
    let summary = last_message(app, client.id);
    send(app, &updates::callback(client, &first_button(&summary), message_id(&summary))).await;
}
