//! Telegram updates shaped exactly as Telegram sends them, built from the recorded samples in
//! `tests/fixtures/telegram/updates/` with ids, users and texts changed.

use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::{Value, json};

static NEXT_ID: AtomicU32 = AtomicU32::new(800_000_000);

/// A fresh update_id, unique within the test run.
pub fn next_id() -> u32 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

pub fn sample(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/telegram/updates/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).expect("sample update is JSON")
}

/// A Telegram user as updates carry it.
#[derive(Clone, Debug)]
pub struct User {
    pub id: i64,
    pub first_name: String,
    pub username: Option<String>,
    pub language_code: String,
}

impl User {
    pub fn ru(id: i64, first_name: &str) -> Self {
        Self { id, first_name: first_name.into(), username: Some(format!("user{id}")), language_code: "ru".into() }
    }

    pub fn en(id: i64, first_name: &str) -> Self {
        Self { id, first_name: first_name.into(), username: None, language_code: "en-GB".into() }
    }

    fn user_json(&self) -> Value {
        let mut v =
            json!({"id": self.id, "is_bot": false, "first_name": self.first_name, "language_code": self.language_code});
        if let Some(u) = &self.username {
            v["username"] = json!(u);
        }
        v
    }

    fn chat_json(&self) -> Value {
        let mut v = json!({"id": self.id, "first_name": self.first_name, "type": "private"});
        if let Some(u) = &self.username {
            v["username"] = json!(u);
        }
        v
    }
}

fn message_of(user: &User, sample_name: &str) -> Value {
    let mut update = sample(sample_name);
    update["update_id"] = json!(next_id());
    let message = &mut update["message"];
    message["message_id"] = json!(next_id() % 1_000_000);
    message["from"] = user.user_json();
    message["chat"] = user.chat_json();
    update
}

/// A text message; a leading `/command` gets its `bot_command` entity.
pub fn text(user: &User, text: &str) -> Value {
    let mut update = message_of(user, "message_text");
    update["message"]["text"] = json!(text);
    if text.starts_with('/') {
        let len = text.split_whitespace().next().unwrap_or_default().encode_utf16().count();
        update["message"]["entities"] = json!([{"offset": 0, "length": len, "type": "bot_command"}]);
    }
    update
}

/// A photo with an optional caption.
pub fn photo(user: &User, caption: Option<&str>) -> Value {
    let mut update = message_of(user, "message_photo_caption");
    match caption {
        Some(c) => update["message"]["caption"] = json!(c),
        None => {
            update["message"].as_object_mut().unwrap().remove("caption");
        }
    }
    update
}

/// A document (a PDF) with an optional caption.
pub fn document(user: &User, caption: Option<&str>) -> Value {
    let mut update = message_of(user, "message_document");
    match caption {
        Some(c) => update["message"]["caption"] = json!(c),
        None => {
            update["message"].as_object_mut().unwrap().remove("caption");
        }
    }
    update
}

/// `update`'s message made a reply to the bot's message `to_message_id` in the user's chat.
pub fn replying(mut update: Value, user: &User, to_message_id: i64) -> Value {
    let mut replied = sample("message_reply_admin_text")["message"]["reply_to_message"].clone();
    replied["message_id"] = json!(to_message_id);
    replied["chat"] = user.chat_json();
    update["message"]["reply_to_message"] = replied;
    update
}

pub fn sticker(user: &User) -> Value {
    message_of(user, "message_sticker")
}

/// A text reply to one of the bot's messages in the user's chat.
pub fn reply(user: &User, text: &str, to_message_id: i64) -> Value {
    let mut update = message_of(user, "message_reply_admin_text");
    update["message"]["text"] = json!(text);
    update["message"]["reply_to_message"]["message_id"] = json!(to_message_id);
    update["message"]["reply_to_message"]["chat"] = user.chat_json();
    update
}

/// A button press on a message the bot sent to this user.
pub fn callback(user: &User, data: &str, message_id: i64) -> Value {
    let mut update = sample("callback_query");
    update["update_id"] = json!(next_id());
    let query = &mut update["callback_query"];
    query["id"] = json!(format!("{}", next_id()));
    query["from"] = user.user_json();
    query["message"]["chat"] = user.chat_json();
    query["message"]["message_id"] = json!(message_id);
    query["data"] = json!(data);
    update
}

/// The user blocked the bot (`kicked`) or came back (`member`).
pub fn my_chat_member(user: &User, status: &str) -> Value {
    let mut update = sample("my_chat_member_blocked");
    update["update_id"] = json!(next_id());
    let m = &mut update["my_chat_member"];
    m["chat"] = user.chat_json();
    m["from"] = user.user_json();
    let old = if status == "kicked" { "member" } else { "kicked" };
    for (key, value) in [("new_chat_member", status), ("old_chat_member", old)] {
        let member = m[key].as_object_mut().expect("chat member");
        member.insert("status".into(), json!(value));
        if value == "kicked" {
            member.insert("until_date".into(), json!(0));
        } else {
            member.remove("until_date");
        }
    }
    update
}

/// The callback data of a sent message's first button.
pub fn first_button(message: &Value) -> String {
    message["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        .as_str()
        .unwrap_or_else(|| panic!("a message with buttons: {message}"))
        .to_string()
}

/// The callback data of a sent message's button whose text contains `label`.
pub fn button(message: &Value, label: &str) -> String {
    message["reply_markup"]["inline_keyboard"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row.as_array().into_iter().flatten())
        .find(|b| b["text"].as_str().is_some_and(|t| t.contains(label)))
        .and_then(|b| b["callback_data"].as_str())
        .unwrap_or_else(|| panic!("no button {label:?} in {message}"))
        .to_string()
}

/// `update` (a message, or a button press on a message) moved to the group `chat_id` (a
/// supergroup; a forum when `topic` is given, the message then in that topic), as Telegram sends
/// what members do in a group.
pub fn in_group(mut update: Value, chat_id: i64, topic: Option<i64>) -> Value {
    let mut chat = json!({"id": chat_id, "title": "Администраторы ККТ", "type": "supergroup"});
    if topic.is_some() {
        chat["is_forum"] = json!(true);
    }
    for path in ["/message", "/callback_query/message"] {
        let Some(message) = update.pointer_mut(path) else { continue };
        message["chat"] = chat.clone();
        if let Some(thread) = topic {
            message["message_thread_id"] = json!(thread);
            message["is_topic_message"] = json!(true);
        }
        if let Some(replied) = message.get_mut("reply_to_message") {
            replied["chat"] = chat.clone();
            if let Some(thread) = topic {
                replied["message_thread_id"] = json!(thread);
                replied["is_topic_message"] = json!(true);
            }
        }
    }
    update
}
