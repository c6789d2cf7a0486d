//! A lean in-process fake of the Bot API for the benchmarks: it answers the calls a bot makes in
//! the conversation with Telegram's result shapes and hands every delivery to the client that
//! waits for it, at the rate of thousands of calls a second. (The tests' `FakeTelegram` checks
//! every text and keeps every call; that is too slow to stand in for Telegram under load.)
//!
//! Deliveries are routed by chat; an answer to a callback query is routed to the chat named in
//! its id, which the driver makes `{chat}_{n}`. Every message and edit is checked against
//! Telegram's flood limits (30 a second for the bot, one a second per private chat); with
//! `enforce` a breach is answered 429 as Telegram would, otherwise only counted.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::routing::post;
use serde_json::{Value, json};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::task::JoinHandle;
use tokio::time::Instant;

pub const BOT_ID: i64 = 7_000_000_001;
/// Sends to the bot as a whole in any second, at most.
pub const GLOBAL_PER_SECOND: usize = 30;
/// The least gap between two sends to one private chat (1 s less a 50 ms tolerance).
pub const CHAT_GAP: Duration = Duration::from_millis(950);

/// What reached Telegram.
#[derive(Clone, Debug)]
pub enum Delivery {
    /// A new message (`edit: false`) or an edit of one, with its first button's data.
    Message { chat: i64, message_id: i64, text: String, button: Option<String>, edit: bool },
    /// An answer to a callback query.
    Answer { id: String },
}

/// A delivery and when it arrived.
#[derive(Clone, Debug)]
pub struct Seen {
    pub at: Instant,
    pub delivery: Delivery,
}

/// Counts of the calls answered.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counts {
    pub messages: u64,
    pub edits: u64,
    pub answers: u64,
    pub other: u64,
    /// Messages and edits that breached a flood limit.
    pub violations: u64,
}

impl Counts {
    /// Every call that carried a delivery.
    pub fn delivered(&self) -> u64 {
        self.messages + self.edits + self.answers
    }

    pub fn since(&self, before: &Counts) -> Counts {
        Counts {
            messages: self.messages - before.messages,
            edits: self.edits - before.edits,
            answers: self.answers - before.answers,
            other: self.other - before.other,
            violations: self.violations - before.violations,
        }
    }
}

#[derive(Default)]
struct Book {
    /// The last [`GLOBAL_PER_SECOND`] sends.
    recent: VecDeque<Instant>,
    last_to_chat: HashMap<i64, Instant>,
    /// Every send: when, to which chat.
    log: Vec<(Instant, i64)>,
}

struct Shared {
    routes: Mutex<HashMap<i64, UnboundedSender<Seen>>>,
    book: Mutex<Book>,
    enforce: bool,
    next_message_id: AtomicI64,
    messages: AtomicU64,
    edits: AtomicU64,
    answers: AtomicU64,
    other: AtomicU64,
    violations: AtomicU64,
}

/// The fake Bot API; stops when dropped.
pub struct Fake {
    pub api_url: String,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Fake {
    /// Serves on a free loopback port; `enforce`: answer 429 to a send that breaches a limit.
    pub async fn start(enforce: bool) -> Self {
        let shared = Arc::new(Shared {
            routes: Mutex::default(),
            book: Mutex::default(),
            enforce,
            next_message_id: AtomicI64::new(1),
            messages: AtomicU64::new(0),
            edits: AtomicU64::new(0),
            answers: AtomicU64::new(0),
            other: AtomicU64::new(0),
            violations: AtomicU64::new(0),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the fake Bot API");
        let api_url = format!("http://{}", listener.local_addr().expect("address"));
        let app = Router::new().route("/{bot}/{method}", post(answer)).with_state(shared.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("the fake Bot API serves");
        });
        Self { api_url, shared, task }
    }

    /// Deliveries to `chat` (and answers to its callback queries) from now on.
    pub fn subscribe(&self, chat: i64) -> UnboundedReceiver<Seen> {
        let (tx, rx) = unbounded_channel();
        self.shared.routes.lock().unwrap().insert(chat, tx);
        rx
    }

    pub fn counts(&self) -> Counts {
        let s = &self.shared;
        Counts {
            messages: s.messages.load(Ordering::Relaxed),
            edits: s.edits.load(Ordering::Relaxed),
            answers: s.answers.load(Ordering::Relaxed),
            other: s.other.load(Ordering::Relaxed),
            violations: s.violations.load(Ordering::Relaxed),
        }
    }

    /// Every message and edit accepted so far: when, to which chat.
    pub fn send_log(&self) -> Vec<(Instant, i64)> {
        self.shared.book.lock().unwrap().log.clone()
    }
}

impl Shared {
    fn route(&self, chat: i64, delivery: Delivery) {
        let routes = self.routes.lock().unwrap();
        if let Some(tx) = routes.get(&chat) {
            let _ = tx.send(Seen { at: Instant::now(), delivery });
        }
    }

    /// Books a send to `chat`; `false` if it breaches a limit.
    fn book(&self, chat: i64) -> bool {
        let now = Instant::now();
        let mut book = self.book.lock().unwrap();
        let global = book.recent.len() >= GLOBAL_PER_SECOND
            && book.recent.front().is_some_and(|first| now.duration_since(*first) < Duration::from_secs(1));
        let to_chat = chat > 0 && book.last_to_chat.get(&chat).is_some_and(|last| now.duration_since(*last) < CHAT_GAP);
        if global || to_chat {
            self.violations.fetch_add(1, Ordering::Relaxed);
            if self.enforce {
                return false;
            }
        }
        book.recent.push_back(now);
        if book.recent.len() > GLOBAL_PER_SECOND {
            book.recent.pop_front();
        }
        book.last_to_chat.insert(chat, now);
        book.log.push((now, chat));
        true
    }
}

fn ok(result: Value) -> Json<Value> {
    Json(json!({ "ok": true, "result": result }))
}

fn first_button(markup: &Value) -> Option<String> {
    markup["inline_keyboard"][0][0]["callback_data"].as_str().map(str::to_string)
}

async fn answer(
    State(shared): State<Arc<Shared>>,
    Path((_bot, method)): Path<(String, String)>,
    body: Bytes,
) -> Json<Value> {
    let params: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    match method.as_str() {
        "getMe" => ok(json!({
            "id": BOT_ID, "is_bot": true, "first_name": "KKT Service", "username": "kkt_service_bot",
            "can_join_groups": true, "can_read_all_group_messages": false, "supports_inline_queries": false,
            "can_connect_to_business": false, "has_main_web_app": false
        })),
        "sendMessage" | "editMessageText" => {
            let chat = params["chat_id"].as_i64().unwrap_or_default();
            if !shared.book(chat) {
                return Json(json!({
                    "ok": false, "error_code": 429, "description": "Too Many Requests: retry after 1",
                    "parameters": { "retry_after": 1 }
                }));
            }
            let edit = method == "editMessageText";
            let message_id = match params["message_id"].as_i64() {
                Some(id) if edit => id,
                _ => shared.next_message_id.fetch_add(1, Ordering::Relaxed),
            };
            let text = params["text"].as_str().unwrap_or_default().to_string();
            let button = first_button(&params["reply_markup"]);
            let date = chrono::Utc::now().timestamp();
            let mut message = json!({
                "message_id": message_id, "date": date, "text": text,
                "chat": { "id": chat, "type": "private", "first_name": "Client" },
                "from": { "id": BOT_ID, "is_bot": true, "first_name": "KKT Service", "username": "kkt_service_bot" },
            });
            if params["reply_markup"].is_object() {
                message["reply_markup"] = params["reply_markup"].clone();
            }
            if edit {
                message["edit_date"] = json!(date);
                shared.edits.fetch_add(1, Ordering::Relaxed);
            } else {
                shared.messages.fetch_add(1, Ordering::Relaxed);
            }
            shared.route(chat, Delivery::Message { chat, message_id, text, button, edit });
            ok(message)
        }
        "answerCallbackQuery" => {
            let id = params["callback_query_id"].as_str().unwrap_or_default().to_string();
            shared.answers.fetch_add(1, Ordering::Relaxed);
            if let Some(chat) = id.split('_').next().and_then(|c| c.parse::<i64>().ok()) {
                shared.route(chat, Delivery::Answer { id });
            }
            ok(json!(true))
        }
        _ => {
            shared.other.fetch_add(1, Ordering::Relaxed);
            ok(json!(true))
        }
    }
}
