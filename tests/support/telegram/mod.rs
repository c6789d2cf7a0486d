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
use tokio::sync::{Notify, oneshot, watch};
use tokio::task::JoinHandle;
use url::form_urlencoded;

mod formatting;
mod methods;
mod params;

use formatting::*;
use methods::*;
use params::*;

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
    "getFile",
    "getChat",
    "createForumTopic",
];
/// Methods that post a new message and so count against flood limits (a new forum topic posts
/// its "topic created" message).
const SEND_METHODS: &[&str] = &["sendMessage", "sendPhoto", "sendDocument", "createForumTopic"];
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
    "file_id",
    "name",
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
    /// The serving task and what ends it gracefully; `None` while offline.
    server: Mutex<Option<(JoinHandle<()>, oneshot::Sender<()>)>>,
}

impl FakeTelegram {
    /// Binds `127.0.0.1` on a free port and starts serving.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the fake Telegram server");
        let addr = listener.local_addr().expect("local address of the fake Telegram server");
        let shared =
            Arc::new(Shared { state: Mutex::default(), recorded: watch::Sender::new(0), new_update: Notify::new() });
        let server = Mutex::new(Some(serve(listener, Arc::clone(&shared))));
        Self { shared, addr, server }
    }

    /// Takes the fake off the network, as when Telegram cannot be reached: open connections are
    /// closed (a request in flight gets at most 5 s to finish) and the port refuses connections
    /// until [`Self::come_back`].
    pub async fn go_offline(&self) {
        let Some((server, stop)) = self.server.lock().unwrap_or_else(PoisonError::into_inner).take() else { return };
        let _ = stop.send(());
        let abort = server.abort_handle();
        if tokio::time::timeout(Duration::from_secs(5), server).await.is_err() {
            abort.abort();
        }
    }

    /// Serves again on the same port after [`Self::go_offline`], with everything recorded so far.
    pub async fn come_back(&self) {
        let listener = tokio::net::TcpListener::bind(self.addr).await.expect("bind the fake's port again");
        let mut server = self.server.lock().unwrap_or_else(PoisonError::into_inner);
        assert!(server.is_none(), "the fake is online");
        *server = Some(serve(listener, Arc::clone(&self.shared)));
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

    /// Makes calls to `chat_id` answer 400 "Bad Request: chat not found" (a refusal no retry
    /// helps) until [`Self::find_chat`].
    pub fn lose_chat(&self, chat_id: i64) {
        self.shared.state().unknown_chats.insert(chat_id);
    }

    /// Makes the supergroup `chat_id` a forum (a group with topics): `getChat` says `is_forum`,
    /// `createForumTopic` works there, and a message with a `message_thread_id` must name one of its
    /// topics.
    pub fn make_forum(&self, chat_id: i64) {
        assert_eq!(chat_type(chat_id), "supergroup", "only supergroups have topics");
        self.shared.state().forums.insert(chat_id);
    }

    /// Undoes [`Self::lose_chat`].
    pub fn find_chat(&self, chat_id: i64) {
        self.shared.state().unknown_chats.remove(&chat_id);
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

    /// Makes a file a user sent known to the fake: `getFile` with its id answers `path`, and
    /// `/file/bot{token}/{path}` serves `bytes`.
    pub fn put_file(&self, file_id: &str, path: &str, bytes: &[u8]) {
        self.shared.state().files.insert(file_id.to_owned(), (path.to_owned(), bytes.to_vec()));
    }

    /// Paths of the files downloaded so far, with the token each download used.
    pub fn downloads(&self) -> Vec<(String, String)> {
        self.shared.state().downloads.clone()
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
        if let Some((server, _)) = self.server.lock().unwrap_or_else(PoisonError::into_inner).take() {
            server.abort();
        }
    }
}

/// Serves the fake's routes on `listener` until the returned sender is used (or the task aborted).
fn serve(listener: tokio::net::TcpListener, shared: Arc<Shared>) -> (JoinHandle<()>, oneshot::Sender<()>) {
    let app = Router::new()
        .route("/file/{bot}/{*path}", axum::routing::get(download))
        .route("/{bot}/{method}", any(handle))
        .fallback(|| async { ApiError::not_found() })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(shared);
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let stopped = async move {
            let _ = stopped.await;
        };
        axum::serve(listener, app).with_graceful_shutdown(stopped).await.expect("fake Telegram server failed");
    });
    (server, stop)
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
    /// Chats answered 400 "chat not found".
    unknown_chats: HashSet<i64>,
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
    /// Files users sent, by file id: their path and bytes (see [`FakeTelegram::put_file`]).
    files: HashMap<String, (String, Vec<u8>)>,
    /// Downloads: (the token in the URL, the path).
    downloads: Vec<(String, String)>,
    /// Supergroups with topics.
    forums: HashSet<i64>,
    /// Topics created, by chat and `message_thread_id`.
    topics: HashSet<(i64, i64)>,
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

/// Serves `/file/bot{token}/{path}`: the bytes of a file `getFile` gave the path of; 401 for
/// another token, 404 for an unknown path.
async fn download(State(shared): State<Arc<Shared>>, Path((bot, path)): Path<(String, String)>) -> Response {
    let mut state = shared.state();
    let token = bot.strip_prefix("bot").unwrap_or_default().to_owned();
    state.downloads.push((token.clone(), path.clone()));
    if token != TOKEN {
        return ApiError::unauthorized().into_response();
    }
    match state.files.values().find(|(known, _)| *known == path) {
        Some((_, bytes)) => (StatusCode::OK, bytes.clone()).into_response(),
        None => ApiError::not_found().into_response(),
    }
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
