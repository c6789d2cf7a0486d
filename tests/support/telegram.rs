//! In-process fake of the Telegram Bot API for integration tests.
//!
//! [`FakeTelegram::start`] serves `POST /bot{token}/{method}` on a random local port and answers like Telegram:
//! the same result shapes, the same error bodies and the same validation of texts, keyboards and markup. Every
//! call is recorded, faults can be injected at any time and sends are checked against Telegram's flood limits.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt::Display;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Map, Value, json};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use url::form_urlencoded;

/// The only token the fake accepts; any other answers 401.
const TOKEN: &str = "7000000001:AAFakeTokenForTestsOnly_abcdefghijklmn";
const BOT_ID: i64 = 7_000_000_001;
const BOT_NAME: &str = "KKT Service";
const BOT_USERNAME: &str = "kkt_service_bot";

/// Matches every method in [`FakeTelegram::fail_next`].
pub const ANY_METHOD: &str = "*";

/// Methods the fake implements, spelled as Telegram documents them.
const METHODS: &[&str] = &[
    "getMe",
    "getUpdates",
    "sendMessage",
    "sendPhoto",
    "sendDocument",
    "sendChatAction",
    "editMessageText",
    "editMessageReplyMarkup",
    "deleteMessage",
    "answerCallbackQuery",
    "setWebhook",
    "deleteWebhook",
    "getWebhookInfo",
    "setMyCommands",
    "getMyCommands",
    "deleteMyCommands",
];
/// Methods that post a new message and so count against flood limits.
const SEND_METHODS: &[&str] = &["sendMessage", "sendPhoto", "sendDocument"];
/// Parameters that are free text: never decoded from form fields as JSON.
const TEXT_PARAMS: &[&str] = &[
    "text",
    "caption",
    "parse_mode",
    "url",
    "secret_token",
    "callback_query_id",
    "inline_message_id",
    "language_code",
    "photo",
    "document",
    "action",
    "ip_address",
];
/// Inline keyboard button fields that give a button something to do.
const BUTTON_ACTIONS: &[&str] = &[
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
];

const MAX_TEXT_CHARS: usize = 4096;
const MAX_CAPTION_CHARS: usize = 1024;
const MAX_CALLBACK_DATA_BYTES: usize = 64;
/// Long polls wait at most this long, whatever `timeout` asks for, so tests stay fast.
const LONG_POLL_CAP: Duration = Duration::from_secs(2);
/// Telegram accepts uploads up to 50 MB.
const BODY_LIMIT: usize = 50 * 1024 * 1024;

const OVERALL_PER_SECOND: usize = 30;
const GROUP_PER_MINUTE: usize = 20;
/// Minimum gap between two sends to one private chat (1 s less a 50 ms tolerance).
const PRIVATE_CHAT_GAP: Duration = Duration::from_millis(950);

/// Reads a reference response body from `tests/fixtures/telegram/responses/{name}.json`.
pub fn load_response(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/telegram/responses/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"))
}

/// One request the fake answered.
#[derive(Clone, Debug)]
pub struct Call {
    /// Method in Telegram's spelling (`sendMessage`), or as requested if the method is unknown.
    pub method: String,
    /// Parameters from the query string and body; form and multipart fields are decoded back to JSON values
    /// (numbers, booleans, objects) except free-text ones. Uploaded files are in `files`, not here.
    pub params: Value,
    /// When the answer was decided.
    pub at: Instant,
    /// Whether the answer had `"ok": true`.
    pub ok: bool,
    /// The full body the fake answered with.
    pub response: Value,
    /// Files uploaded with `multipart/form-data`.
    pub files: Vec<UploadedFile>,
}

/// A file part of a multipart request.
#[derive(Clone, Debug)]
pub struct UploadedFile {
    /// Parameter the file is for (`document`, `photo`), also when sent as `attach://` to another part.
    pub field: String,
    /// File name the client gave.
    pub file_name: String,
    /// File contents.
    pub bytes: Vec<u8>,
}

/// A failure to inject instead of the normal answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// 429 "Too Many Requests: retry after N" with `parameters.retry_after`.
    RetryAfter(u64),
    /// 500 "Internal Server Error".
    ServerError,
    /// The normal answer, after a delay.
    Slow(Duration),
    /// 401 "Unauthorized", as for a revoked token.
    Unauthorized,
}

/// A fake Telegram Bot API server; stops when dropped.
pub struct FakeTelegram {
    shared: Arc<Shared>,
    addr: SocketAddr,
    server: JoinHandle<()>,
}

impl FakeTelegram {
    /// Binds `127.0.0.1` on a free port and starts serving.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the fake Telegram server");
        let addr = listener.local_addr().expect("local address of the fake Telegram server");
        let shared =
            Arc::new(Shared { state: Mutex::default(), recorded: watch::Sender::new(0), new_update: Notify::new() });
        let app = Router::new()
            .route("/{bot}/{method}", any(handle))
            .fallback(|| async { ApiError::not_found() })
            .layer(DefaultBodyLimit::max(BODY_LIMIT))
            .with_state(Arc::clone(&shared));
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("fake Telegram server failed");
        });
        Self { shared, addr, server }
    }

    /// Base URL to give the app as its Telegram API URL, like `http://127.0.0.1:PORT`.
    pub fn api_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bot token the fake accepts.
    pub fn token(&self) -> &'static str {
        TOKEN
    }

    /// Every call so far, oldest first.
    pub fn calls(&self) -> Vec<Call> {
        self.shared.state().calls.clone()
    }

    /// Calls to `method` (any capitalisation), failed ones included.
    pub fn calls_to(&self, method: &str) -> Vec<Call> {
        self.shared.state().calls.iter().filter(|call| call.method.eq_ignore_ascii_case(method)).cloned().collect()
    }

    /// Texts of successful `sendMessage` calls and captions of successful `sendPhoto` calls to `chat_id`, as the
    /// user sees them (after `parse_mode` markup is applied), oldest first.
    pub fn sent_texts_to(&self, chat_id: i64) -> Vec<String> {
        self.shared
            .state()
            .calls
            .iter()
            .filter(|call| call.ok && chat_param(&call.params) == Some(chat_id))
            .filter_map(|call| {
                let message = &call.response["result"];
                match call.method.as_str() {
                    "sendMessage" => message["text"].as_str(),
                    "sendPhoto" => message["caption"].as_str(),
                    _ => None,
                }
            })
            .map(str::to_owned)
            .collect()
    }

    /// Forgets recorded calls (and with them the flood accounting); faults, messages and webhook stay.
    pub fn clear(&self) {
        self.shared.state().calls.clear();
    }

    /// Waits until at least `n` successful calls to `method` are recorded and returns all of them; panics with
    /// the list of recorded calls if that does not happen within `timeout`.
    pub async fn wait_for(&self, method: &str, n: usize, timeout: Duration) -> Vec<Call> {
        self.wait_until(method, n, timeout, true).await
    }

    /// Like [`Self::wait_for`], counting failed calls too.
    pub async fn wait_for_any(&self, method: &str, n: usize, timeout: Duration) -> Vec<Call> {
        self.wait_until(method, n, timeout, false).await
    }

    async fn wait_until(&self, method: &str, n: usize, timeout: Duration, only_ok: bool) -> Vec<Call> {
        let mut recorded = self.shared.recorded.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let done: Vec<Call> = self.calls_to(method).into_iter().filter(|call| call.ok || !only_ok).collect();
            if done.len() >= n {
                return done;
            }
            match tokio::time::timeout_at(deadline, recorded.changed()).await {
                Ok(changed) => changed.expect("the fake outlives its own watch channel"),
                Err(_) => panic!(
                    "expected {n} successful {method} call(s) within {timeout:?}, got {}; recorded calls:\n{}",
                    done.len(),
                    self.describe_calls()
                ),
            }
        }
    }

    /// Makes the next `count` calls to `method` (or to any method with [`ANY_METHOD`]) fail with `fault`.
    /// Queued faults are used in the order they were added.
    pub fn fail_next(&self, method: &str, fault: Fault, count: usize) {
        if count > 0 {
            self.shared.state().faults.push_back(QueuedFault {
                method: method.to_owned(),
                chat_id: None,
                fault,
                remaining: count,
            });
        }
    }

    /// Like [`FakeTelegram::fail_next`], for calls to one chat only.
    pub fn fail_next_to(&self, method: &str, chat_id: i64, fault: Fault, count: usize) {
        if count > 0 {
            let queued = QueuedFault { method: method.to_owned(), chat_id: Some(chat_id), fault, remaining: count };
            self.shared.state().faults.push_back(queued);
        }
    }

    /// Makes every call fail with `fault` until called again with `None`.
    pub fn set_all_fail(&self, fault: Option<Fault>) {
        self.shared.state().all_fail = fault;
    }

    /// Makes calls to `chat_id` answer 403 as if the user blocked the bot (or the bot was kicked from the group).
    pub fn block_chat(&self, chat_id: i64) {
        self.shared.state().blocked.insert(chat_id);
    }

    /// Undoes [`Self::block_chat`].
    pub fn unblock_chat(&self, chat_id: i64) {
        self.shared.state().blocked.remove(&chat_id);
    }

    /// With `true`, a send that breaches a flood limit answers 429 with `retry_after` 1 instead of succeeding.
    pub fn enforce_rate_limits(&self, enforce: bool) {
        self.shared.state().enforce_rate_limits = enforce;
    }

    /// Breaches of Telegram's flood limits by the recorded successful sends: over 30 per second overall, two
    /// sends to one private chat less than 950 ms apart, over 20 per minute to one group.
    pub fn rate_violations(&self) -> Vec<String> {
        let sends = sends(&self.shared.state().calls);
        (1..=sends.len()).flat_map(|n| breaches_by_last(&sends[..n])).collect()
    }

    /// Queues an update for `getUpdates`, filling in `update_id` if it has none, and returns its `update_id`.
    /// Message ids in the update advance the chat's counter, so the bot's next message there gets a later id.
    pub fn push_update(&self, mut update: Value) -> i64 {
        let id = {
            let mut state = self.shared.state();
            let id = update["update_id"].as_i64().unwrap_or(state.last_update_id + 1);
            update["update_id"] = json!(id);
            state.last_update_id = state.last_update_id.max(id);
            for kind in ["message", "edited_message", "channel_post", "edited_channel_post"] {
                let message = &update[kind];
                if let (Some(chat), Some(message_id)) = (message["chat"]["id"].as_i64(), message["message_id"].as_i64())
                {
                    let last = state.last_message_id.entry(chat).or_default();
                    *last = (*last).max(message_id);
                }
            }
            state.updates.push_back(update);
            id
        };
        self.shared.new_update.notify_waiters();
        id
    }

    /// One line per recorded call, for panic messages.
    fn describe_calls(&self) -> String {
        let calls = self.calls();
        if calls.is_empty() {
            return "  (none)".to_owned();
        }
        calls
            .iter()
            .map(|call| {
                let outcome = if call.ok { "ok" } else { call.response["description"].as_str().unwrap_or("failed") };
                format!("  {} [{outcome}] {}", call.method, call.params)
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for FakeTelegram {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// State shared between the handle and the server task.
struct Shared {
    state: Mutex<FakeState>,
    /// Bumped after every recorded call; wakes [`FakeTelegram::wait_for`].
    recorded: watch::Sender<u64>,
    /// Wakes long polls when an update is queued or a newer poll takes over.
    new_update: Notify,
}

#[derive(Default)]
struct FakeState {
    calls: Vec<Call>,
    faults: VecDeque<QueuedFault>,
    all_fail: Option<Fault>,
    blocked: HashSet<i64>,
    enforce_rate_limits: bool,
    /// Last message id used in each chat.
    last_message_id: HashMap<i64, i64>,
    /// Messages the bot sent, by chat and message id.
    messages: HashMap<(i64, i64), SentMessage>,
    /// Files the bot sent, for fresh file ids.
    files_sent: u64,
    /// Updates not yet confirmed through `getUpdates` offsets.
    updates: VecDeque<Value>,
    last_update_id: i64,
    /// Number of the newest `getUpdates` call; older long polls end with 409.
    poll_generation: u64,
    webhook: Option<Webhook>,
    /// Command lists by scope and language.
    commands: HashMap<String, Value>,
}

struct QueuedFault {
    method: String,
    /// Only calls to this chat, when set.
    chat_id: Option<i64>,
    fault: Fault,
    remaining: usize,
}

struct Webhook {
    url: String,
    max_connections: i64,
    allowed_updates: Option<Value>,
}

/// A message the bot sent, kept for edits.
struct SentMessage {
    message: Value,
    /// Raw text, parse mode and entities of the last send or edit: editing to the same ones is "not modified".
    source: Value,
}

/// Telegram's error answer.
struct ApiError {
    code: u16,
    description: String,
    retry_after: Option<u64>,
}

type ApiResult = Result<Value, ApiError>;

impl ApiError {
    fn new(code: u16, description: impl Into<String>) -> Self {
        Self { code, description: description.into(), retry_after: None }
    }

    fn bad_request(what: impl Display) -> Self {
        Self::new(400, format!("Bad Request: {what}"))
    }

    fn unauthorized() -> Self {
        Self::new(401, "Unauthorized")
    }

    fn not_found() -> Self {
        Self::new(404, "Not Found")
    }

    fn flood(retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(429, format!("Too Many Requests: retry after {retry_after}"))
        }
    }

    fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn body(&self) -> Value {
        let mut body = json!({ "ok": false, "error_code": self.code, "description": self.description });
        if let Some(secs) = self.retry_after {
            body["parameters"] = json!({ "retry_after": secs });
        }
        body
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status(), axum::Json(self.body())).into_response()
    }
}

/// Serves `/{bot}/{method}`: checks the token, applies faults, answers and records the call.
async fn handle(
    State(shared): State<Arc<Shared>>,
    Path((bot, method)): Path<(String, String)>,
    request: Request,
) -> Response {
    let method = METHODS.iter().find(|known| known.eq_ignore_ascii_case(&method)).map_or(method, |&m| m.to_owned());
    let (params, files) = match read_params(request).await {
        Ok(read) => read,
        Err(error) => return shared.answer(&method, json!({}), Vec::new(), Err(error)),
    };
    if bot.strip_prefix("bot") != Some(TOKEN) {
        return shared.answer(&method, params, files, Err(ApiError::unauthorized()));
    }
    if !METHODS.contains(&method.as_str()) {
        return shared.answer(&method, params, files, Err(ApiError::not_found()));
    }
    let fault = shared.state().take_fault(&method, params.get("chat_id").and_then(Value::as_i64));
    let error = match fault {
        None => None,
        Some(Fault::Slow(delay)) => {
            tokio::time::sleep(delay).await;
            None
        }
        Some(Fault::RetryAfter(secs)) => Some(ApiError::flood(secs)),
        Some(Fault::ServerError) => Some(ApiError::new(500, "Internal Server Error")),
        Some(Fault::Unauthorized) => Some(ApiError::unauthorized()),
    };
    if let Some(error) = error {
        return shared.answer(&method, params, files, Err(error));
    }
    if method == "getUpdates" {
        let result = shared.get_updates(&params).await;
        return shared.answer(&method, params, files, result);
    }
    shared.answer_with(&method, params, files, |state, params, files| state.dispatch(&method, params, files))
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records a call whose outcome is already known and answers it.
    fn answer(&self, method: &str, params: Value, files: Vec<UploadedFile>, result: ApiResult) -> Response {
        self.answer_with(method, params, files, |_, _, _| result)
    }

    /// Decides a call under the state lock (so flood checks and recording cannot interleave), records it and
    /// answers it.
    fn answer_with(
        &self,
        method: &str,
        params: Value,
        files: Vec<UploadedFile>,
        decide: impl FnOnce(&mut FakeState, &Value, &[UploadedFile]) -> ApiResult,
    ) -> Response {
        let mut state = self.state();
        let result = decide(&mut state, &params, &files);
        let response = state.record(method, params, files, result);
        drop(state);
        self.recorded.send_modify(|n| *n += 1);
        response
    }

    /// `getUpdates`: confirms updates below `offset`, then returns queued ones, waiting up to `timeout` seconds
    /// (capped) for one to arrive. A newer `getUpdates` ends a waiting one with 409, as on Telegram.
    async fn get_updates(&self, params: &Value) -> ApiResult {
        let offset = int_param(params, "offset").unwrap_or(0);
        let limit = usize::try_from(int_param(params, "limit").unwrap_or(100).clamp(1, 100)).unwrap_or(100);
        let timeout =
            u64::try_from(int_param(params, "timeout").unwrap_or(0)).map_or(Duration::ZERO, Duration::from_secs);
        let deadline = tokio::time::Instant::now() + timeout.min(LONG_POLL_CAP);
        let generation = {
            let mut state = self.state();
            if state.webhook.is_some() {
                return Err(ApiError::new(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the \
                     webhook first",
                ));
            }
            state.confirm_updates(offset);
            state.poll_generation += 1;
            state.poll_generation
        };
        self.new_update.notify_waiters();
        loop {
            let woken = self.new_update.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            {
                let state = self.state();
                if state.poll_generation != generation {
                    return Err(ApiError::new(
                        409,
                        "Conflict: terminated by other getUpdates request; make sure that only one bot instance is \
                         running",
                    ));
                }
                if !state.updates.is_empty() || tokio::time::Instant::now() >= deadline {
                    return Ok(state.updates.iter().take(limit).cloned().collect());
                }
            }
            // Timing out just leads to the final check above.
            let _ = tokio::time::timeout_at(deadline, woken).await;
        }
    }
}

impl FakeState {
    /// Takes the fault for this call, if any: the persistent one first, then the oldest matching queued one.
    fn take_fault(&mut self, method: &str, chat_id: Option<i64>) -> Option<Fault> {
        if let Some(fault) = &self.all_fail {
            return Some(fault.clone());
        }
        let index = self.faults.iter().position(|queued| {
            (queued.method == ANY_METHOD || queued.method.eq_ignore_ascii_case(method))
                && queued.chat_id.is_none_or(|chat| Some(chat) == chat_id)
        })?;
        let queued = &mut self.faults[index];
        queued.remaining -= 1;
        let fault = queued.fault.clone();
        if queued.remaining == 0 {
            self.faults.remove(index);
        }
        Some(fault)
    }

    fn record(&mut self, method: &str, params: Value, files: Vec<UploadedFile>, result: ApiResult) -> Response {
        let (status, response) = match result {
            Ok(result) => (StatusCode::OK, json!({ "ok": true, "result": result })),
            Err(error) => (error.status(), error.body()),
        };
        let ok = status == StatusCode::OK;
        self.calls.push(Call {
            method: method.to_owned(),
            params,
            at: Instant::now(),
            ok,
            response: response.clone(),
            files,
        });
        (status, axum::Json(response)).into_response()
    }

    fn dispatch(&mut self, method: &str, params: &Value, files: &[UploadedFile]) -> ApiResult {
        match method {
            "getMe" => Ok(json!({
                "id": BOT_ID,
                "is_bot": true,
                "first_name": BOT_NAME,
                "username": BOT_USERNAME,
                "can_join_groups": true,
                "can_read_all_group_messages": false,
                "supports_inline_queries": false,
                "can_connect_to_business": false,
                "has_main_web_app": false,
            })),
            "sendMessage" => self.send_message(params),
            "sendPhoto" => self.send_file(params, files, "photo"),
            "sendDocument" => self.send_file(params, files, "document"),
            "sendChatAction" => self.target_chat(params).map(|_| json!(true)),
            "editMessageText" => self.edit_message_text(params),
            "editMessageReplyMarkup" => self.edit_reply_markup(params),
            "deleteMessage" => {
                let chat = self.target_chat(params)?;
                let id = int_param(params, "message_id")
                    .ok_or_else(|| ApiError::bad_request("message identifier is not specified"))?;
                self.messages.remove(&(chat, id));
                Ok(json!(true))
            }
            "answerCallbackQuery" => match params["callback_query_id"].as_str() {
                Some(id) if !id.is_empty() => Ok(json!(true)),
                _ => Err(ApiError::bad_request("query is too old and response timeout expired or query ID is invalid")),
            },
            "setWebhook" => self.set_webhook(params),
            "deleteWebhook" => {
                if params["drop_pending_updates"] == json!(true) {
                    self.updates.clear();
                }
                self.webhook = None;
                Ok(json!(true))
            }
            "getWebhookInfo" => Ok(self.webhook_info()),
            "setMyCommands" => self.set_my_commands(params),
            "getMyCommands" => Ok(self.commands.get(&commands_key(params)).cloned().unwrap_or_else(|| json!([]))),
            "deleteMyCommands" => {
                self.commands.remove(&commands_key(params));
                Ok(json!(true))
            }
            _ => Err(ApiError::not_found()),
        }
    }

    /// The chat a call addresses: 400 if missing or not a numeric id, 403 if blocked.
    fn target_chat(&self, params: &Value) -> Result<i64, ApiError> {
        let chat = match &params["chat_id"] {
            Value::Null => return Err(ApiError::bad_request("chat_id is empty")),
            Value::String(s) if s.is_empty() => return Err(ApiError::bad_request("chat_id is empty")),
            _ => chat_param(params).filter(|&id| id != 0).ok_or_else(|| ApiError::bad_request("chat not found"))?,
        };
        if self.blocked.contains(&chat) {
            let description = match chat_type(chat) {
                "private" => "Forbidden: bot was blocked by the user",
                "group" => "Forbidden: bot was kicked from the group chat",
                _ => "Forbidden: bot was kicked from the supergroup chat",
            };
            return Err(ApiError::new(403, description));
        }
        Ok(chat)
    }

    fn send_message(&mut self, params: &Value) -> ApiResult {
        let chat = self.target_chat(params)?;
        let text = required_text(params, "message is too long")?;
        let markup = inline_markup(params)?;
        self.check_flood(chat)?;
        let mut content = Map::new();
        content.insert("text".into(), json!(text));
        if let Some(entities) = params.get("entities") {
            content.insert("entities".into(), entities.clone());
        }
        if let Some(markup) = markup {
            content.insert("reply_markup".into(), markup);
        }
        Ok(self.new_message(chat, content, text_source(params, "text")))
    }

    /// `sendPhoto` / `sendDocument`: the file comes uploaded in the `kind` field or as a file id or URL.
    fn send_file(&mut self, params: &Value, files: &[UploadedFile], kind: &str) -> ApiResult {
        let chat = self.target_chat(params)?;
        let upload = files.iter().find(|file| file.field == kind);
        let reference = params[kind].as_str().filter(|s| !s.is_empty());
        if upload.is_none() && reference.is_none() {
            return Err(ApiError::bad_request(format!("there is no {kind} in the request")));
        }
        let caption = match params["caption"].as_str() {
            Some(raw) => {
                visible_text(raw, params["parse_mode"].as_str(), MAX_CAPTION_CHARS, "message caption is too long")?
            }
            None => String::new(),
        };
        let markup = inline_markup(params)?;
        self.check_flood(chat)?;

        self.files_sent += 1;
        let n = self.files_sent;
        let file_id =
            reference.filter(|r| !r.contains("://")).map_or_else(|| format!("FakeFile{kind}{n:06}"), str::to_owned);
        let size = upload.map_or(0, |file| file.bytes.len());
        let file = if kind == "photo" {
            let photo_size = |suffix: &str, side: u32| {
                json!({
                    "file_id": format!("{file_id}{suffix}"),
                    "file_unique_id": format!("FakeUnique{n}{suffix}"),
                    "file_size": size,
                    "width": side,
                    "height": side,
                })
            };
            json!([photo_size("_s", 90), photo_size("", 800)])
        } else {
            let name = upload.map_or_else(
                || reference.and_then(|r| r.rsplit('/').next()).unwrap_or("document").to_owned(),
                |file| file.file_name.clone(),
            );
            json!({
                "file_name": name,
                "mime_type": mime_type(&name),
                "file_id": file_id,
                "file_unique_id": format!("FakeUnique{n}"),
                "file_size": size,
            })
        };
        let mut content = Map::new();
        content.insert(kind.into(), file);
        if !caption.is_empty() {
            content.insert("caption".into(), json!(caption));
            if let Some(entities) = params.get("caption_entities") {
                content.insert("caption_entities".into(), entities.clone());
            }
        }
        if let Some(markup) = markup {
            content.insert("reply_markup".into(), markup);
        }
        Ok(self.new_message(chat, content, text_source(params, "caption")))
    }

    fn edit_message_text(&mut self, params: &Value) -> ApiResult {
        if params.get("inline_message_id").is_some() {
            required_text(params, "MESSAGE_TOO_LONG")?;
            inline_markup(params)?;
            return Ok(json!(true));
        }
        let key = self.message_key(params)?;
        let text = required_text(params, "MESSAGE_TOO_LONG")?;
        let markup = inline_markup(params)?;
        let source = text_source(params, "text");
        let sent = self.messages.get_mut(&key).ok_or_else(|| ApiError::bad_request("message to edit not found"))?;
        if sent.message.get("text").is_none() {
            return Err(ApiError::bad_request("there is no text in the message to edit"));
        }
        if sent.source == source && sent.message.get("reply_markup") == markup.as_ref() {
            return Err(not_modified());
        }
        let message = sent.message.as_object_mut().expect("stored messages are objects");
        message.insert("text".into(), json!(text));
        match params.get("entities") {
            Some(entities) => message.insert("entities".into(), entities.clone()),
            None => message.remove("entities"),
        };
        set_markup(message, markup);
        message.insert("edit_date".into(), json!(unix_now()));
        sent.source = source;
        Ok(sent.message.clone())
    }

    fn edit_reply_markup(&mut self, params: &Value) -> ApiResult {
        let markup = inline_markup(params)?;
        if params.get("inline_message_id").is_some() {
            return Ok(json!(true));
        }
        let key = self.message_key(params)?;
        let sent = self.messages.get_mut(&key).ok_or_else(|| ApiError::bad_request("message to edit not found"))?;
        if sent.message.get("reply_markup") == markup.as_ref() {
            return Err(not_modified());
        }
        let message = sent.message.as_object_mut().expect("stored messages are objects");
        set_markup(message, markup);
        message.insert("edit_date".into(), json!(unix_now()));
        Ok(sent.message.clone())
    }

    /// Chat and message id an edit addresses.
    fn message_key(&self, params: &Value) -> Result<(i64, i64), ApiError> {
        let chat = self.target_chat(params)?;
        let id = int_param(params, "message_id")
            .ok_or_else(|| ApiError::bad_request("message identifier is not specified"))?;
        Ok((chat, id))
    }

    /// Stores a message from the bot with the chat's next message id and returns it.
    fn new_message(&mut self, chat: i64, content: Map<String, Value>, source: Value) -> Value {
        let last = self.last_message_id.entry(chat).or_default();
        *last += 1;
        let mut message = json!({
            "message_id": *last,
            "from": { "id": BOT_ID, "is_bot": true, "first_name": BOT_NAME, "username": BOT_USERNAME },
            "chat": chat_object(chat),
            "date": unix_now(),
        });
        message.as_object_mut().expect("a message is an object").extend(content);
        self.messages.insert((chat, *last), SentMessage { message: message.clone(), source });
        message
    }

    /// With enforcement on, refuses a send to `chat` now that would breach a flood limit.
    fn check_flood(&self, chat: i64) -> Result<(), ApiError> {
        if !self.enforce_rate_limits {
            return Ok(());
        }
        let mut sends = sends(&self.calls);
        sends.push(Delivery { chat, at: Instant::now() });
        if breaches_by_last(&sends).is_empty() { Ok(()) } else { Err(ApiError::flood(1)) }
    }

    fn set_webhook(&mut self, params: &Value) -> ApiResult {
        let url = params["url"].as_str().unwrap_or_default();
        if url.is_empty() {
            self.webhook = None;
        } else {
            let parsed = url::Url::parse(url).map_err(|_| ApiError::bad_request("bad webhook: invalid URL"))?;
            if parsed.scheme() != "https" {
                return Err(ApiError::bad_request("bad webhook: An HTTPS URL must be provided for webhook"));
            }
            if !matches!(parsed.port_or_known_default(), Some(80 | 88 | 443 | 8443)) {
                return Err(ApiError::bad_request(
                    "bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443",
                ));
            }
            if let Some(secret) = params["secret_token"].as_str() {
                let allowed = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
                if secret.is_empty() || secret.len() > 256 || !secret.chars().all(allowed) {
                    return Err(ApiError::bad_request("secret token contains unallowed characters"));
                }
            }
            let max_connections = int_param(params, "max_connections").unwrap_or(40);
            if !(1..=100).contains(&max_connections) {
                return Err(ApiError::bad_request("bad webhook: max_connections must be between 1 and 100"));
            }
            let allowed_updates = params.get("allowed_updates").cloned();
            self.webhook = Some(Webhook { url: url.to_owned(), max_connections, allowed_updates });
        }
        if params["drop_pending_updates"] == json!(true) {
            self.updates.clear();
        }
        Ok(json!(true))
    }

    fn webhook_info(&self) -> Value {
        let pending = self.updates.len();
        let Some(webhook) = &self.webhook else {
            return json!({ "url": "", "has_custom_certificate": false, "pending_update_count": pending });
        };
        let mut info = json!({
            "url": webhook.url,
            "has_custom_certificate": false,
            "pending_update_count": pending,
            "max_connections": webhook.max_connections,
        });
        if let Some(allowed) = &webhook.allowed_updates {
            info["allowed_updates"] = allowed.clone();
        }
        info
    }

    fn set_my_commands(&mut self, params: &Value) -> ApiResult {
        let commands =
            params["commands"].as_array().ok_or_else(|| ApiError::bad_request("commands must be an array"))?;
        for command in commands {
            let name = command["command"].as_str().unwrap_or_default();
            let valid = (1..=32).contains(&name.len())
                && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !valid {
                return Err(ApiError::bad_request("BOT_COMMAND_INVALID"));
            }
            let description = command["description"].as_str().unwrap_or_default();
            if !(1..=256).contains(&description.chars().count()) {
                return Err(ApiError::bad_request("BOT_COMMAND_DESCRIPTION_INVALID"));
            }
        }
        self.commands.insert(commands_key(params), json!(commands));
        Ok(json!(true))
    }

    /// Forgets updates confirmed by `offset`; a negative offset keeps only the last `-offset` updates.
    fn confirm_updates(&mut self, offset: i64) {
        if offset < 0 {
            let keep = usize::try_from(offset.unsigned_abs()).unwrap_or(usize::MAX);
            while self.updates.len() > keep {
                self.updates.pop_front();
            }
        } else {
            self.updates.retain(|update| update["update_id"].as_i64().is_some_and(|id| id >= offset));
        }
    }
}

fn not_modified() -> ApiError {
    ApiError::bad_request(
        "message is not modified: specified new message content and reply markup are exactly the same as a current \
         content and reply markup of the message",
    )
}

/// Sets or removes a message's keyboard: an edit without `reply_markup` removes it, as on Telegram.
fn set_markup(message: &mut Map<String, Value>, markup: Option<Value>) {
    match markup {
        Some(markup) => message.insert("reply_markup".into(), markup),
        None => message.remove("reply_markup"),
    };
}

/// What an edit compares to decide "not modified": the raw text, its parse mode and entities.
fn text_source(params: &Value, field: &str) -> Value {
    let parse_mode = params["parse_mode"].as_str().map(str::to_ascii_lowercase);
    let entities = if field == "text" { &params["entities"] } else { &params["caption_entities"] };
    json!([params[field], parse_mode, entities])
}

/// The visible text of the required `text` parameter, validated like Telegram.
fn required_text(params: &Value, too_long: &str) -> Result<String, ApiError> {
    let raw = params["text"].as_str().unwrap_or_default();
    let text = visible_text(raw, params["parse_mode"].as_str(), MAX_TEXT_CHARS, too_long)?;
    if text.is_empty() {
        return Err(ApiError::bad_request("message text is empty"));
    }
    Ok(text)
}

/// Applies `parse_mode`, trims like Telegram and checks the length of what remains.
fn visible_text(raw: &str, parse_mode: Option<&str>, max_chars: usize, too_long: &str) -> Result<String, ApiError> {
    let text = render(raw, parse_mode)?;
    let text = text.trim();
    if text.chars().count() > max_chars {
        return Err(ApiError::bad_request(too_long));
    }
    Ok(text.to_owned())
}

/// The inline keyboard to echo back, validated like Telegram; other keyboard kinds are accepted but not echoed.
fn inline_markup(params: &Value) -> Result<Option<Value>, ApiError> {
    let Some(rows) = params.get("reply_markup").and_then(|markup| markup.get("inline_keyboard")) else {
        return Ok(None);
    };
    let cant_parse = || ApiError::bad_request("can't parse reply keyboard markup JSON object");
    let rows = rows.as_array().ok_or_else(cant_parse)?;
    for row in rows {
        for button in row.as_array().ok_or_else(cant_parse)? {
            if !button.is_object() || !button["text"].is_string() {
                return Err(cant_parse());
            }
            if !BUTTON_ACTIONS.iter().any(|action| button.get(action).is_some()) {
                return Err(ApiError::bad_request(
                    "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard",
                ));
            }
            if let Some(data) = button.get("callback_data") {
                let len = data.as_str().map_or(0, str::len);
                if !(1..=MAX_CALLBACK_DATA_BYTES).contains(&len) {
                    return Err(ApiError::bad_request("BUTTON_DATA_INVALID"));
                }
            }
            if let Some(url) = button.get("url") {
                let valid = url
                    .as_str()
                    .and_then(|url| url::Url::parse(url).ok())
                    .is_some_and(|url| matches!(url.scheme(), "http" | "https" | "tg"));
                if !valid {
                    return Err(ApiError::bad_request("BUTTON_URL_INVALID"));
                }
            }
        }
    }
    let has_buttons = rows.iter().any(|row| row.as_array().is_some_and(|row| !row.is_empty()));
    Ok(has_buttons.then(|| json!({ "inline_keyboard": rows })))
}

/// Key of a command list: its scope and language.
fn commands_key(params: &Value) -> String {
    let scope = params.get("scope").cloned().unwrap_or_else(|| json!({ "type": "default" }));
    let language = params["language_code"].as_str().unwrap_or_default();
    format!("{scope}/{language}")
}

/// A successful send, for flood accounting.
struct Delivery {
    chat: i64,
    at: Instant,
}

fn sends(calls: &[Call]) -> Vec<Delivery> {
    calls
        .iter()
        .filter(|call| call.ok && SEND_METHODS.contains(&call.method.as_str()))
        .filter_map(|call| Some(Delivery { chat: chat_param(&call.params)?, at: call.at }))
        .collect()
}

/// Flood limits the last of `sends` breaches, given the ones before it.
fn breaches_by_last(sends: &[Delivery]) -> Vec<String> {
    let Some((last, earlier)) = sends.split_last() else {
        return Vec::new();
    };
    let within = |window: Duration| earlier.iter().filter(move |send| last.at.duration_since(send.at) < window);
    let mut breaches = Vec::new();
    let in_second = within(Duration::from_secs(1)).count() + 1;
    if in_second > OVERALL_PER_SECOND {
        breaches.push(format!(
            "{in_second} sends within 1 s overall (Telegram allows {OVERALL_PER_SECOND}), the last to chat {}",
            last.chat
        ));
    }
    if chat_type(last.chat) == "private" {
        if let Some(previous) = earlier.iter().rev().find(|send| send.chat == last.chat) {
            let gap = last.at.duration_since(previous.at);
            if gap < PRIVATE_CHAT_GAP {
                breaches.push(format!(
                    "chat {}: two sends {} ms apart (Telegram allows 1 per second to a private chat)",
                    last.chat,
                    gap.as_millis()
                ));
            }
        }
    } else {
        let in_minute = within(Duration::from_secs(60)).filter(|send| send.chat == last.chat).count() + 1;
        if in_minute > GROUP_PER_MINUTE {
            breaches.push(format!(
                "chat {}: {in_minute} sends within 1 min (Telegram allows {GROUP_PER_MINUTE} per minute to a group)",
                last.chat
            ));
        }
    }
    breaches
}

/// Parses the query string and the JSON, form or multipart body into one params object plus uploaded files.
async fn read_params(request: Request) -> Result<(Value, Vec<UploadedFile>), ApiError> {
    let mut params = Map::new();
    if let Some(query) = request.uri().query() {
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            params.insert(key.to_string(), form_value(&key, value.into_owned()));
        }
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let mut files = Vec::new();
    if content_type.starts_with("multipart/form-data") {
        let bad =
            |e: axum::extract::multipart::MultipartError| ApiError::bad_request(format!("bad multipart body: {e}"));
        let mut form = Multipart::from_request(request, &())
            .await
            .map_err(|e| ApiError::bad_request(format!("bad multipart body: {e}")))?;
        while let Some(field) = form.next_field().await.map_err(bad)? {
            let name = field.name().unwrap_or_default().to_owned();
            match field.file_name().map(str::to_owned) {
                Some(file_name) => {
                    let bytes = field.bytes().await.map_err(bad)?.to_vec();
                    files.push(UploadedFile { field: name, file_name, bytes });
                }
                None => {
                    let text = field.text().await.map_err(bad)?;
                    params.insert(name.clone(), form_value(&name, text));
                }
            }
        }
        // A parameter `attach://NAME` refers to the file part NAME (teloxide sends every upload so).
        for file in &mut files {
            let attach = format!("attach://{}", file.field);
            if let Some(key) =
                params.iter().find_map(|(key, value)| (value.as_str() == Some(&attach)).then(|| key.clone()))
            {
                params.remove(&key);
                file.field = key;
            }
        }
    } else {
        let body = axum::body::to_bytes(request.into_body(), BODY_LIMIT)
            .await
            .map_err(|_| ApiError::new(413, "Request Entity Too Large"))?;
        if content_type.starts_with("application/x-www-form-urlencoded") {
            for (key, value) in form_urlencoded::parse(&body) {
                params.insert(key.to_string(), form_value(&key, value.into_owned()));
            }
        } else if !body.is_empty() {
            let Ok(Value::Object(fields)) = serde_json::from_slice(&body) else {
                return Err(ApiError::bad_request("can't parse JSON object"));
            };
            for (key, value) in fields {
                // Structured parameters may come JSON-encoded inside a string, as in form bodies.
                let value = match value {
                    Value::String(text) if text.starts_with(['{', '[']) => form_value(&key, text),
                    other => other,
                };
                params.insert(key, value);
            }
        }
    }
    Ok((Value::Object(params), files))
}

/// Decodes a form field: numbers, booleans and JSON objects become JSON values, free text stays a string.
fn form_value(key: &str, text: String) -> Value {
    if TEXT_PARAMS.contains(&key) {
        return Value::String(text);
    }
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

fn int_param(params: &Value, key: &str) -> Option<i64> {
    let value = &params[key];
    value.as_i64().or_else(|| value.as_str()?.trim().parse().ok())
}

fn chat_param(params: &Value) -> Option<i64> {
    int_param(params, "chat_id")
}

/// Telegram's chat type for an id: positive ids are users, `-100…` ids supergroups, other negative ids groups.
fn chat_type(chat: i64) -> &'static str {
    if chat > 0 {
        "private"
    } else if chat <= -1_000_000_000_000 {
        "supergroup"
    } else {
        "group"
    }
}

fn chat_object(chat: i64) -> Value {
    match chat_type(chat) {
        "private" => json!({ "id": chat, "first_name": "Test", "last_name": "User", "type": "private" }),
        kind => json!({ "id": chat, "title": format!("Test {kind} {chat}"), "type": kind }),
    }
}

fn mime_type(file_name: &str) -> &'static str {
    let extension = file_name.rsplit_once('.').map(|(_, ext)| ext.to_ascii_lowercase()).unwrap_or_default();
    match extension.as_str() {
        "csv" => "text/csv",
        "txt" => "text/plain",
        "pdf" => "application/pdf",
        "json" => "application/json",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "zip" => "application/zip",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        _ => "application/octet-stream",
    }
}

fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The text a user sees for `raw` under `parse_mode`, or Telegram's "can't parse entities" error.
fn render(raw: &str, parse_mode: Option<&str>) -> Result<String, ApiError> {
    let parsed = match parse_mode.map(str::to_ascii_lowercase).as_deref() {
        None | Some("") => return Ok(raw.to_owned()),
        Some("html") => parse_html(raw),
        Some("markdownv2") => parse_markdown_v2(raw),
        Some("markdown") => parse_markdown(raw),
        Some(_) => return Err(ApiError::bad_request("unsupported parse_mode")),
    };
    parsed.map_err(|why| ApiError::bad_request(format!("can't parse entities: {why}")))
}

/// Telegram's HTML: supported tags only, properly nested, with `&lt;`-style and numeric entities.
fn parse_html(text: &str) -> Result<String, String> {
    const TAGS: &[&str] = &[
        "a",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "tg-emoji",
        "code",
        "pre",
        "blockquote",
    ];
    let mut out = String::with_capacity(text.len());
    let mut open: Vec<String> = Vec::new();
    let mut i = 0;
    while let Some(rest) = text.get(i..).filter(|rest| !rest.is_empty()) {
        if rest.starts_with('&')
            && let Some((decoded, len)) = html_entity(rest)
        {
            out.push(decoded);
            i += len;
            continue;
        }
        if !rest.starts_with('<') {
            let c = rest.chars().next().expect("rest is not empty");
            out.push(c);
            i += c.len_utf8();
            continue;
        }
        let begin = i;
        if let Some(end_tag) = rest.strip_prefix("</") {
            let Some(expected) = open.pop() else {
                return Err(format!("Unexpected end tag at byte offset {begin}"));
            };
            let Some(close) = end_tag.find('>') else {
                return Err(format!("Unclosed end tag at byte offset {begin}"));
            };
            let name = end_tag[..close].trim().to_ascii_lowercase();
            if !name.is_empty() && name != expected {
                return Err(format!(
                    "Unmatched end tag at byte offset {begin}, expected \"</{expected}>\", found \"</{name}>\""
                ));
            }
            i += 2 + close + 1;
            continue;
        }
        let tag = &rest[1..];
        let Some(name_len) = tag.find(|c: char| c.is_whitespace() || c == '>') else {
            return Err(format!("Unclosed start tag at byte offset {begin}"));
        };
        let name = tag[..name_len].to_ascii_lowercase();
        if !TAGS.contains(&name.as_str()) {
            return Err(format!("Unsupported start tag \"{name}\" at byte offset {begin}"));
        }
        let mut quote = None;
        let close = tag[name_len..].char_indices().find_map(|(j, c)| match (quote, c) {
            (None, '>') => Some(j),
            (None, '"' | '\'') => {
                quote = Some(c);
                None
            }
            (Some(q), c) if c == q => {
                quote = None;
                None
            }
            _ => None,
        });
        let Some(close) = close else {
            return Err(format!("Unclosed start tag at byte offset {begin}"));
        };
        if name == "span" && !tag[name_len..name_len + close].contains("tg-spoiler") {
            return Err(format!("Tag \"span\" must have class \"tg-spoiler\" at byte offset {begin}"));
        }
        open.push(name);
        i += 1 + name_len + close + 1;
    }
    match open.last() {
        Some(tag) => Err(format!("Can't find end tag corresponding to start tag {tag}")),
        None => Ok(out),
    }
}

/// Decodes an HTML entity at the start of `text`, returning the character and the entity's length in bytes.
fn html_entity(text: &str) -> Option<(char, usize)> {
    let end = text.char_indices().take(12).find(|&(_, c)| c == ';')?.0;
    let decoded = match &text[1..end] {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "quot" => '"',
        name => {
            let number = name.strip_prefix('#')?;
            let code = match number.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => number.parse().ok()?,
            };
            char::from_u32(code)?
        }
    };
    Some((decoded, end + 1))
}

/// Entities of MarkdownV2, named as in Telegram's errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MarkdownEntity {
    Bold,
    Italic,
    Underline,
    Strikethrough,
    Spoiler,
    Code,
    Pre,
    TextUrl,
}

impl MarkdownEntity {
    fn end_delimiter(self) -> &'static str {
        match self {
            Self::Bold => "*",
            Self::Italic => "_",
            Self::Underline => "__",
            Self::Strikethrough => "~",
            Self::Spoiler => "||",
            Self::Code => "`",
            Self::Pre => "```",
            Self::TextUrl => "]",
        }
    }
}

/// Whether `delimiter` occurs in `chars` at index `k`.
fn delimiter_at(chars: &[(usize, char)], k: usize, delimiter: &str) -> bool {
    delimiter.chars().enumerate().all(|(j, d)| chars.get(k + j).is_some_and(|&(_, c)| c == d))
}

/// Index just past the `)` closing a link URL that starts at `k`, honouring `\` escapes.
fn link_end(chars: &[(usize, char)], mut k: usize) -> Option<usize> {
    while let Some(&(_, c)) = chars.get(k) {
        match c {
            '\\' => k += 2,
            ')' => return Some(k + 1),
            _ => k += 1,
        }
    }
    None
}

/// Telegram's MarkdownV2: reserved characters must be escaped and every entity closed.
fn parse_markdown_v2(text: &str) -> Result<String, String> {
    use MarkdownEntity::*;
    const RESERVED: &str = "_*[]()~`>#+-=|{}.!";
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let at = |k: usize| chars.get(k).map(|&(_, c)| c);
    let mut out = String::with_capacity(text.len());
    let mut open: Vec<(MarkdownEntity, usize)> = Vec::new();
    let mut k = 0;
    while let Some(&(offset, c)) = chars.get(k) {
        if c == '\\' && at(k + 1).is_some_and(|next| ('\u{1}'..='\u{7e}').contains(&next)) {
            out.push(chars[k + 1].1);
            k += 2;
            continue;
        }
        let in_code = matches!(open.last(), Some((Code | Pre, _)));
        if (in_code && c != '`') || !RESERVED.contains(c) {
            out.push(c);
            k += 1;
            continue;
        }
        if let Some(&(entity, _)) = open.last() {
            let delimiter = entity.end_delimiter();
            let italic_meets_underline = entity == Italic && at(k + 1) == Some('_');
            if delimiter_at(&chars, k, delimiter) && !italic_meets_underline {
                open.pop();
                k += delimiter.len();
                if entity == TextUrl && at(k) == Some('(') {
                    k = link_end(&chars, k + 1)
                        .ok_or_else(|| format!("Can't find end of a URL at byte offset {}", chars[k].0))?;
                }
                continue;
            }
        }
        let reserved = || format!("Character '{c}' is reserved and must be escaped with the preceding '\\'");
        if in_code {
            return Err(reserved());
        }
        let (entity, len) = match c {
            '_' if at(k + 1) == Some('_') => (Underline, 2),
            '_' => (Italic, 1),
            '*' => (Bold, 1),
            '~' => (Strikethrough, 1),
            '|' if at(k + 1) == Some('|') => (Spoiler, 2),
            '[' => (TextUrl, 1),
            '`' if delimiter_at(&chars, k, "```") => (Pre, 3),
            '`' => (Code, 1),
            '>' if k == 0 || at(k - 1) == Some('\n') => {
                k += 1;
                continue;
            }
            _ => return Err(reserved()),
        };
        open.push((entity, offset));
        k += len;
        if entity == Pre {
            // A language name on the opening line is not part of the text.
            let line_end = (k..chars.len()).find(|&j| matches!(at(j), Some('\n' | '`')));
            if let Some(newline) = line_end.filter(|&j| at(j) == Some('\n'))
                && (k..newline).all(|j| at(j).is_some_and(|c| !c.is_whitespace()))
            {
                k = newline + 1;
            }
        }
    }
    match open.last() {
        Some((entity, offset)) => Err(format!("Can't find end of {entity:?} entity at byte offset {offset}")),
        None => Ok(out),
    }
}

/// Telegram's legacy Markdown: `*bold*`, `_italic_`, `` `code` ``, ```` ```pre``` ````, `[text](url)`.
fn parse_markdown(text: &str) -> Result<String, String> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let at = |k: usize| chars.get(k).map(|&(_, c)| c);
    let mut out = String::with_capacity(text.len());
    let mut k = 0;
    while let Some(&(offset, c)) = chars.get(k) {
        if c == '\\' && at(k + 1).is_some_and(|next| "_*`[".contains(next)) {
            out.push(chars[k + 1].1);
            k += 2;
            continue;
        }
        if !"_*`[".contains(c) {
            out.push(c);
            k += 1;
            continue;
        }
        let end = match c {
            '[' => "]",
            '`' if delimiter_at(&chars, k, "```") => "```",
            '`' => "`",
            '_' => "_",
            _ => "*",
        };
        let unclosed = || format!("Can't find end of the entity starting at byte offset {offset}");
        // Every opening delimiter is as long as its closing one.
        let start = k + end.len();
        let close = (start..chars.len()).find(|&j| delimiter_at(&chars, j, end)).ok_or_else(unclosed)?;
        out.extend(chars[start..close].iter().map(|&(_, c)| c));
        k = close + end.len();
        if c == '[' && at(k) == Some('(') {
            k = link_end(&chars, k + 1).ok_or_else(unclosed)?;
        }
    }
    Ok(out)
}
