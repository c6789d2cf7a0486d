//! The outgoing-message sender against the fake Bot API, on SQLite and PostgreSQL: delivery and
//! message ids, FIFO per chat with edits of outbox rows, 429 / 5xx / 403 / 400 handling, flood
//! limits over many chats, rows left from before a restart, claims owned by the sender's term
//! (fenced, and taken over at once after a crash) and the wake path.
//!
//! Each test builds a `Sender` over a fresh migrated database and runs it in a task; it waits on
//! the fake's `wait_for` and on `SenderHandle::settled` (and polls a row only for a state neither
//! shows), never on a fixed sleep.

use std::time::Duration;

use kktbot::config::{Secret, SenderConfig};
use kktbot::db::WriteGate;
use kktbot::entities::outgoing_message::{self, Status};
use kktbot::outbox::{self, MessageRef, Outcome, Outgoing, Store};
use kktbot::services::telegram_users;
use kktbot::telegram::api::BotApi;
use kktbot::telegram::sender::{Backoff, LEASE, Sender, SenderHandle};
use sea_orm::{DatabaseConnection, EntityTrait, TransactionTrait};
use serde_json::json;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::support::telegram::{Call, FakeTelegram, Fault};
use crate::support::{Backend, TestDatabase, backend_test};

const USER: i64 = 5_100_000_001;
const OTHER_USER: i64 = 5_100_000_002;
const SUPERGROUP: i64 = -1_001_500_000_000;

const SETTLE_TIMEOUT: Duration = Duration::from_secs(15);

fn config() -> SenderConfig {
    SenderConfig { global_per_second: 30, per_chat_per_second: 1, per_group_per_minute: 20, max_attempts: 3 }
}

fn api_for(tg: &FakeTelegram) -> BotApi {
    BotApi::new(&tg.api_url().parse().expect("the fake's URL"), &Secret::new(tg.token()))
}

fn sender(db: &DatabaseConnection, tg: &FakeTelegram, config: SenderConfig) -> Sender {
    Sender::new(db.clone(), api_for(tg), config)
}

/// A sender running in a task until stopped.
struct Running {
    handle: SenderHandle,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Running {
    fn start(sender: Sender) -> Self {
        let handle = sender.handle();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(sender.run(async {
            let _ = stopped.await;
        }));
        Self { handle, stop: Some(stop), task: Some(task) }
    }

    /// Waits until the sender has looked at the outbox and has nothing in flight.
    async fn settled(&self) {
        tokio::time::timeout(SETTLE_TIMEOUT, self.handle.settled()).await.expect("the sender settles");
    }

    /// Ends the sender the way a killed process ends: at once, nothing released or recorded.
    async fn kill(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    /// Stops the sender gracefully (calls in flight finish and are recorded).
    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(SETTLE_TIMEOUT, task).await.expect("the sender stops").expect("the sender task");
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

async fn enqueue(db: &DatabaseConnection, message: Outgoing) -> i64 {
    outbox::enqueue(db, message).await.expect("enqueue")
}

async fn row(db: &DatabaseConnection, id: i64) -> outgoing_message::Model {
    outgoing_message::Entity::find_by_id(id).one(db).await.expect("query").expect("the row exists")
}

/// Polls the row until `done` holds (for states no fake call or settling marks).
async fn row_when(
    db: &DatabaseConnection,
    id: i64,
    done: impl Fn(&outgoing_message::Model) -> bool,
) -> outgoing_message::Model {
    let deadline = tokio::time::Instant::now() + SETTLE_TIMEOUT;
    loop {
        let row = row(db, id).await;
        if done(&row) {
            return row;
        }
        assert!(tokio::time::Instant::now() < deadline, "the row did not reach the expected state: {row:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn message_id(call: &Call) -> i64 {
    call.response["result"]["message_id"].as_i64().expect("a message in the answer")
}

fn keyboard(data: &str) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new([[InlineKeyboardButton::callback("Принять", data)]])
}

backend_test!(delivers_each_row_once_with_its_message_id, threads: 4);
async fn delivers_each_row_once_with_its_message_id(backend: Backend) {
    let (_database, db) = TestDatabase::migrated(backend).await;
    let tg = FakeTelegram::start().await;
    let sender = Running::start(sender(&db, &tg, config()));
    let text = enqueue(&db, Outgoing::with_keyboard(USER, "Заявка №42 принята", keyboard("v1:a:42"))).await;
    let photo = enqueue(&db, Outgoing::photo(OTHER_USER, "AgACAgIAAx0", Some("Чек".into()))).await;
    let document = enqueue(
        &db,
        Outgoing::SendDocument {
            chat_id: SUPERGROUP,
            file_name: "report.csv".into(),
            content: b"inn;name\n7701234567;OOO\n".to_vec(),
            caption: Some("Отчёт".into()),
        },
    )
    .await;
    sender.handle.wake();

    let texts = tg.wait_for("sendMessage", 1, Duration::from_secs(5)).await;
    let photos = tg.wait_for("sendPhoto", 1, Duration::from_secs(5)).await;
    let documents = tg.wait_for("sendDocument", 1, Duration::from_secs(5)).await;
    sender.settled().await;

    assert_eq!(
        texts[0].params["reply_markup"],
        json!({ "inline_keyboard": [[{ "text": "Принять", "callback_data": "v1:a:42" }]] })
    );
    assert_eq!(documents[0].files.len(), 1);
    assert_eq!(documents[0].files[0].file_name, "report.csv");
    assert_eq!(documents[0].files[0].bytes, b"inn;name\n7701234567;OOO\n");
    assert_eq!(documents[0].params["caption"], "Отчёт");
    for (id, call) in [(text, &texts[0]), (photo, &photos[0]), (document, &documents[0])] {
        let row = row(&db, id).await;
        assert_eq!(row.status, Status::Sent, "{row:?}");
        assert_eq!(row.telegram_message_id, Some(message_id(call)), "{row:?}");
        assert_eq!(row.attempts, 1);
        assert!(row.sent_at.is_some());
        assert_eq!(row.last_error, None);
    }
    assert_eq!(tg.calls().len(), 3, "each row is sent once");
    assert_eq!(tg.sent_texts_to(USER), ["Заявка №42 принята"]);
    sender.stop().await;
}

backend_test!(keeps_chat_order_and_resolves_edits_of_outbox_rows, threads: 4);
async fn keeps_chat_order_and_resolves_edits_of_outbox_rows(backend: Backend) {
    let (_database, db) = TestDatabase::migrated(backend).await;
    let tg = FakeTelegram::start().await;
    // First a message, and in another chat one Telegram refuses.
    let first = enqueue(&db, Outgoing::with_keyboard(USER, "Заявка №1", keyboard("v1:ap:1"))).await;
    let refused = enqueue(&db, Outgoing::text(OTHER_USER, "  ")).await;
    let before = Running::start(sender(&db, &tg, config()));
    tg.wait_for("sendMessage", 1, Duration::from_secs(10)).await;
    before.settled().await;
    before.stop().await;

    // Then, committed before the sender starts again: only the rules order the calls.
    let edit = enqueue(
        &db,
        Outgoing::EditMessageText {
            chat_id: USER,
            message: MessageRef::Outbox(first),
            text: "Заявка №1 одобрена".into(),
            reply_markup: Some(keyboard("v1:cl:1").into()),
        },
    )
    .await;
    let second = enqueue(&db, Outgoing::text(USER, "Заявка №2")).await;
    // Folded into the queued edit: one call takes the keyboard off as well.
    let unmark =
        Outgoing::EditMessageReplyMarkup { chat_id: USER, message: MessageRef::Outbox(first), reply_markup: None };
    assert_eq!(enqueue(&db, unmark).await, edit);
    let answer = enqueue(
        &db,
        Outgoing::AnswerCallbackQuery {
            chat_id: USER,
            callback_query_id: "4382bfdwdsb323b2d9".into(),
            text: Some("Готово".into()),
            show_alert: false,
        },
    )
    .await;
    let orphan = enqueue(
        &db,
        Outgoing::EditMessageText {
            chat_id: OTHER_USER,
            message: MessageRef::Outbox(refused),
            text: "изменено".into(),
            reply_markup: None,
        },
    )
    .await;

    let sender = Running::start(sender(&db, &tg, config()));
    tg.wait_for("sendMessage", 2, Duration::from_secs(10)).await;
    sender.settled().await;

    let calls: Vec<Call> = tg.calls().into_iter().filter(|call| call.method != "sendMessage" || call.ok).collect();
    let to_user: Vec<&str> =
        calls.iter().filter(|call| call.params["chat_id"] == json!(USER)).map(|call| call.method.as_str()).collect();
    assert_eq!(to_user, ["sendMessage", "editMessageText", "sendMessage"], "one chat's rows go in order");
    let position = |method: &str, n: usize| {
        calls.iter().enumerate().filter(|(_, call)| call.method == method).nth(n).map(|(i, _)| i).expect("the call")
    };
    assert!(
        position("answerCallbackQuery", 0) < position("sendMessage", 1),
        "the answer does not wait behind the chat's messages"
    );

    let telegram_id = row(&db, first).await.telegram_message_id.expect("the first message has its id");
    let edits = tg.calls_to("editMessageText");
    assert_eq!(edits[0].params["message_id"], json!(telegram_id), "the edit reached the outbox row's message");
    assert!(edits[0].ok);
    assert!(edits[0].params.get("reply_markup").is_none(), "{:?}", edits[0].params);
    for id in [first, edit, second, answer] {
        let row = row(&db, id).await;
        assert_eq!(row.status, Status::Sent, "{row:?}");
    }
    assert_eq!(row(&db, edit).await.telegram_message_id, Some(telegram_id));
    assert_eq!(row(&db, answer).await.telegram_message_id, None);

    let refused = row(&db, refused).await;
    assert_eq!(refused.status, Status::Failed);
    let orphan = row(&db, orphan).await;
    assert_eq!(orphan.status, Status::Failed);
    let error = orphan.last_error.expect("the reason");
    assert!(error.contains(&format!("outbox row {}", refused.id)) && error.contains("never delivered"), "{error}");
    assert_eq!(tg.calls().iter().filter(|call| call.params["chat_id"] == json!(OTHER_USER)).count(), 1);

    // The same content again: Telegram answers "message is not modified", which is success.
    let same = enqueue(
        &db,
        Outgoing::EditMessageText {
            chat_id: USER,
            message: MessageRef::Outbox(first),
            text: "Заявка №1 одобрена".into(),
            reply_markup: None,
        },
    )
    .await;
    sender.handle.wake();
    tg.wait_for_any("editMessageText", 2, Duration::from_secs(10)).await;
    sender.settled().await;
    assert!(!tg.calls_to("editMessageText")[1].ok, "Telegram said not modified");
    assert_eq!(row(&db, same).await.status, Status::Sent);
    sender.stop().await;
}

backend_test!(waits_out_retry_after, threads: 4);
async fn waits_out_retry_after(backend: Backend) {
    let (_database, db) = TestDatabase::migrated(backend).await;
    let tg = FakeTelegram::start().await;
    tg.fail_next("sendMessage", Fault::RetryAfter(2), 1);
    let sender = Running::start(sender(&db, &tg, config()));
    let id = enqueue(&db, Outgoing::text(USER, "Напоминание")).await;
    sender.handle.wake();

    let sent = tg.wait_for("sendMessage", 1, Duration::from_secs(10)).await;
    sender.settled().await;
    let calls = tg.calls_to("sendMessage");
    assert_eq!(calls.len(), 2, "one 429, then the delivery");
    assert_eq!(calls[0].response["error_code"], 429);
    let waited = sent[0].at.duration_since(calls[0].at);
    assert!(waited >= Duration::from_secs(2), "sent again after {waited:?}, before retry_after ran out");
    let row = row(&db, id).await;
    assert_eq!(row.status, Status::Sent);
    assert_eq!(row.attempts, 1, "a 429 is not a failed attempt");
    sender.stop().await;
}

backend_test!(retries_server_errors_with_backoff, threads: 4);
async fn retries_server_errors_with_backoff(backend: Backend) {
    let (_database, db) = TestDatabase::migrated(backend).await;
    let tg = FakeTelegram::start().await;
    tg.fail_next("sendMessage", Fault::ServerError, 1);
    // The default backoff: the first retry comes after 0.5–1 s.
    let sender = Running::start(sender(&db, &tg, config()));
    let id = enqueue(&db, Outgoing::text(USER, "Заявка принята")).await;
    sender.handle.wake();

    let sent = tg.wait_for("sendMessage", 1, Duration::from_secs(10)).await;
    sender.settled().await;
    let calls = tg.calls_to("sendMessage");
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].response["error_code"], 500);
    let waited = sent[0].at.duration_since(calls[0].at);
    assert!(waited >= Duration::from_millis(500), "retried after {waited:?}, without backoff");
    let row = row(&db, id).await;
    assert_eq!((row.status, row.attempts), (Status::Sent, 2));
    assert_eq!(row.telegram_message_id, Some(message_id(&sent[0])));
    sender.stop().await;
}

backend_test!(gives_up_after_max_attempts, threads: 4);
async fn gives_up_after_max_attempts(backend: Backend) {
    let (_database, db) = TestDatabase::migrated(backend).await;
    let tg = FakeTelegram::start().await;
    tg.fail_next("sendMessage", Fault::ServerError, 3);
    let backoff = Backoff { first: Duration::from_millis(50), cap: Duration::from_millis(200) };
    let sender = Running::start(sender(&db, &tg, config()).with_backoff(backoff));
    let doomed = enqueue(&db, Outgoing::text(USER, "первое")).await;
    let next = enqueue(&db, Outgoing::text(USER, "второе")).await;
    sender.handle.wake();

    // The chat's second message goes only once the first is settled: given up.
    tg.wait_for("sendMessage", 1, Duration::from_secs(15)).await;
    sender.settled().await;
    let doomed = row(&db, doomed).await;
    assert_eq!((doomed.status, doomed.attempts), (Status::Failed, 3), "{doomed:?}");
    let error = doomed.last_error.expect("the error");
    assert!(error.contains("500") && error.contains("Internal Server Error"), "{error}");
    assert_eq!(row(&db, next).await.status, Status::Sent);
    assert_eq!(tg.calls_to("sendMessage").len(), 4, "three attempts, then the next message");
    assert_eq!(tg.sent_texts_to(USER), ["второе"]);
    sender.stop().await;
}

backend_test!(records_network_errors_without_the_token, threads: 4);
async fn records_network_errors_without_the_token(backend: Backend) {
    let (_database, db) = TestDatabase::migrated(backend).await;
    let tg = FakeTelegram::start().await;
    // A port where nothing listens: every connection is refused.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let api = BotApi::new(&format!("http://{closed}").parse().unwrap(), &Secret::new(tg.token()));
    let config = SenderConfig { max_attempts: 1, ..config() };
    let sender = Running::start(Sender::new(db.clone(), api, config));
    let id = enqueue(&db, Outgoing::text(USER, "не дойдёт")).await;
    sender.settled().await;

    let row = row(&db, id).await;
    assert_eq!((row.status, row.attempts), (Status::Failed, 1));
    let error = row.last_error.expect("the error");
    assert!(error.starts_with("network error"), "{error}");
    let secret = tg.token().split(':').nth(1).expect("the token's secret half");
    assert!(!error.contains(secret), "{error}");
    sender.stop().await;
}

backend_test!(fails_blocked_chats_and_marks_the_user, threads: 4);
async fn fails_blocked_chats_and_marks_the_user(backend: Backend) {
    let (_database, db) = TestDatabase::migrated(backend).await;
    let tg = FakeTelegram::start().await;
    tg.block_chat(USER);
    tg.block_chat(SUPERGROUP);
    let sender = Running::start(sender(&db, &tg, config()));
    let to_user = enqueue(&db, Outgoing::text(USER, "Заявка №7 закрыта")).await;
    let to_group = enqueue(&db, Outgoing::text(SUPERGROUP, "Новая заявка")).await;
    sender.settled().await;

    let user_row = row(&db, to_user).await;
    assert_eq!((user_row.status, user_row.attempts), (Status::Failed, 1));
    assert!(user_row.last_error.as_deref().unwrap_or_default().contains("bot was blocked by the user"), "{user_row:?}");
    let user = telegram_users::find(&db, USER).await.unwrap().expect("the user is recorded");
    assert!(user.is_blocked);
    let group_row = row(&db, to_group).await;
    assert_eq!(group_row.status, Status::Failed);
    assert!(group_row.last_error.as_deref().unwrap_or_default().starts_with("403"), "{group_row:?}");
    assert!(telegram_users::find(&db, SUPERGROUP).await.unwrap().is_none(), "a group is no user");
    assert_eq!(tg.calls().len(), 2, "403 is not retried");
    sender.stop().await;
}

backend_test!(fails_client_errors_at_once, threads: 4);
async fn fails_client_errors_at_once(backend: Backend) {
    let (_database, db) = TestDatabase::migrated(backend).await;
    let tg = FakeTelegram::start().await;
    let sender = Running::start(sender(&db, &tg, config()));
    let empty = enqueue(&db, Outgoing::text(USER, "")).await;
    let bad_edit = enqueue(
        &db,
        Outgoing::EditMessageText {
            chat_id: OTHER_USER,
            message: MessageRef::Telegram(999),
            text: "x".into(),
            reply_markup: None,
        },
    )
    .await;
    sender.settled().await;

    let empty = row(&db, empty).await;
    assert_eq!((empty.status, empty.attempts), (Status::Failed, 1));
    assert_eq!(empty.last_error.as_deref(), Some("400 Bad Request: message text is empty"));
    let bad_edit = row(&db, bad_edit).await;
    assert_eq!(bad_edit.status, Status::Failed);
    assert_eq!(bad_edit.last_error.as_deref(), Some("400 Bad Request: message to edit not found"));
    assert_eq!(tg.calls().len(), 2, "4xx is not retried");
    sender.stop().await;
}

backend_test!(holds_flood_limits_over_many_chats, threads: 4);
async fn holds_flood_limits_over_many_chats(backend: Backend) {
    let (_database, db) = TestDatabase::migrated(backend).await;
    let tg = FakeTelegram::start().await;
    let sender = Running::start(sender(&db, &tg, config()));
    let txn = db.begin().await.unwrap();
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(outbox::enqueue(&txn, Outgoing::text(USER, format!("подряд {i}"))).await.unwrap());
    }
    for i in 0..2 {
        ids.push(outbox::enqueue(&txn, Outgoing::text(SUPERGROUP, format!("в группу {i}"))).await.unwrap());
    }
    for i in 0..200 {
        ids.push(outbox::enqueue(&txn, Outgoing::text(6_000_000_000 + i, format!("рассылка {i}"))).await.unwrap());
    }
    txn.commit().await.unwrap();
    sender.handle.wake();

    tg.wait_for("sendMessage", ids.len(), Duration::from_secs(30)).await;
    sender.settled().await;
    assert_eq!(tg.rate_violations(), Vec::<String>::new());
    assert_eq!(tg.calls().len(), ids.len(), "each row once, no 429");
    let texts = tg.sent_texts_to(USER);
    assert_eq!(texts, (0..5).map(|i| format!("подряд {i}")).collect::<Vec<_>>());
    for id in ids {
        assert_eq!(row(&db, id).await.status, Status::Sent);
    }
    sender.stop().await;
}

backend_test!(delivers_rows_left_from_before_a_restart_once, threads: 4);
async fn delivers_rows_left_from_before_a_restart_once(backend: Backend) {
    let (_database, db) = TestDatabase::migrated(backend).await;
    let tg = FakeTelegram::start().await;
    // Committed while no sender ran (the process died before delivering them).
    let ids = [
        enqueue(&db, Outgoing::text(USER, "до перезапуска 1")).await,
        enqueue(&db, Outgoing::text(OTHER_USER, "до перезапуска 2")).await,
        enqueue(&db, Outgoing::text(USER, "до перезапуска 3")).await,
    ];
    let first = Running::start(sender(&db, &tg, config()));
    tg.wait_for("sendMessage", 3, Duration::from_secs(10)).await;
    first.stop().await;
    for id in ids {
        assert_eq!(row(&db, id).await.status, Status::Sent);
    }

    let second = Running::start(sender(&db, &tg, config()));
    second.settled().await;
    assert_eq!(tg.calls().len(), 3, "nothing is sent again after a restart");
    assert_eq!(tg.sent_texts_to(USER), ["до перезапуска 1", "до перезапуска 3"]);
    second.stop().await;
}

backend_test!(only_the_latest_senders_term_claims_rows, threads: 4);
async fn only_the_latest_senders_term_claims_rows(backend: Backend) {
    let (_database, db) = TestDatabase::migrated(backend).await;
    let tg = FakeTelegram::start().await;
    // Three senders, each begun its term before any row is queued: the last one's is current.
    let mut senders = Vec::new();
    for _ in 0..3 {
        let sender = Running::start(sender(&db, &tg, config()));
        sender.settled().await;
        senders.push(sender);
    }
    let txn = db.begin().await.unwrap();
    let mut ids = Vec::new();
    for i in 0..40 {
        ids.push(outbox::enqueue(&txn, Outgoing::text(7_000_000_000 + i, format!("гонка {i}"))).await.unwrap());
    }
    txn.commit().await.unwrap();
    for sender in &senders {
        sender.handle.wake();
    }

    tg.wait_for("sendMessage", ids.len(), Duration::from_secs(15)).await;
    for sender in &senders {
        sender.settled().await;
    }
    assert_eq!(tg.calls_to("sendMessage").len(), ids.len(), "no row is sent twice");
    let mut owners = Vec::new();
    for id in ids {
        let row = row(&db, id).await;
        assert_eq!((row.status, row.attempts), (Status::Sent, 1), "{row:?}");
        owners.push(row.claimed_by.expect("the term that sent it"));
    }
    owners.dedup();
    assert_eq!(owners.len(), 1, "senders of earlier terms claimed rows: {owners:?}");
    for sender in senders {
        sender.stop().await;
    }
}

backend_test!(a_claim_belongs_to_its_term, threads: 4);
async fn a_claim_belongs_to_its_term(backend: Backend) {
    let (_database, db) = TestDatabase::migrated(backend).await;
    let writes = WriteGate::for_database(&db);
    let (ended, _) = Store::begin_term(db.clone(), writes.clone()).await.unwrap();
    let id = enqueue(&db, Outgoing::text(USER, "чья заявка")).await;
    let (current, taken) = Store::begin_term(db.clone(), writes.clone()).await.unwrap();
    assert!(current.term() > ended.term());
    assert_eq!(taken, 0, "nothing was claimed");

    let due = row(&db, id).await;
    assert!(ended.claim(&due, LEASE).await.unwrap().is_none(), "a term that has ended claims nothing");
    assert!(current.claim(&due, LEASE).await.unwrap().is_some());
    let claimed = row(&db, id).await;
    assert_eq!((claimed.claimed_by, claimed.attempts), (Some(current.term()), 1));
    assert!(claimed.next_attempt_at > chrono::Utc::now() + chrono::TimeDelta::seconds(60), "{claimed:?}");

    // The next term takes the claim over: due at once, the attempt still counted.
    let (next, taken) = Store::begin_term(db.clone(), writes).await.unwrap();
    assert_eq!(taken, 1);
    let taken_over = row(&db, id).await;
    assert_eq!((taken_over.status, taken_over.claimed_by, taken_over.attempts), (Status::Pending, None, 1));
    assert!(taken_over.next_attempt_at <= chrono::Utc::now(), "{taken_over:?}");
    // The outcome of the claim taken over is not written.
    let sent = Outcome::Sent { message_id: Some(1), note: None };
    assert!(!current.record(&due, 1, &sent).await.unwrap());
    assert!(next.claim(&taken_over, LEASE).await.unwrap().is_some());
    assert!(next.record(&due, 2, &sent).await.unwrap());
    assert_eq!(row(&db, id).await.status, Status::Sent);
}

backend_test!(a_restarted_sender_takes_over_the_claims_of_a_killed_one_at_once, threads: 4);
async fn a_restarted_sender_takes_over_the_claims_of_a_killed_one_at_once(backend: Backend) {
    let (_database, db) = TestDatabase::migrated(backend).await;
    let tg = FakeTelegram::start().await;
    tg.fail_next("sendMessage", Fault::RetryAfter(30), 1);
    let killed = Running::start(sender(&db, &tg, config()));
    let flooded = enqueue(&db, Outgoing::text(USER, "первое")).await;
    killed.handle.wake();
    row_when(&db, flooded, |row| row.last_error.is_some()).await;
    // All sending is paused for 30 s: this one is claimed and waits when the process dies.
    let claimed = enqueue(&db, Outgoing::text(OTHER_USER, "второе")).await;
    killed.handle.wake();
    row_when(&db, claimed, |row| row.attempts == 1).await;
    killed.kill().await;
    let left = row(&db, claimed).await;
    assert!(left.claimed_by.is_some(), "{left:?}");
    assert!(left.next_attempt_at > chrono::Utc::now() + chrono::TimeDelta::seconds(60), "leased: {left:?}");

    let restarted = std::time::Instant::now();
    let restart = Running::start(sender(&db, &tg, config()));
    let sent = tg.wait_for("sendMessage", 1, Duration::from_secs(3)).await;
    assert!(restarted.elapsed() < Duration::from_secs(3), "{:?}", restarted.elapsed());
    assert_eq!(sent[0].params["chat_id"], json!(OTHER_USER));
    restart.settled().await;
    let delivered = row(&db, claimed).await;
    assert_eq!((delivered.status, delivered.attempts), (Status::Sent, 2), "{delivered:?}");
    // A row waiting for its retry has no owner: it keeps its time.
    let flooded = row(&db, flooded).await;
    assert_eq!((flooded.status, flooded.claimed_by), (Status::Pending, None));
    assert!(flooded.next_attempt_at > chrono::Utc::now() + chrono::TimeDelta::seconds(20), "{flooded:?}");
    assert_eq!(tg.calls_to("sendMessage").len(), 2, "the 429, then the row taken over");
    restart.stop().await;
}

backend_test!(slow_chat_does_not_hold_up_others, threads: 4);
async fn slow_chat_does_not_hold_up_others(backend: Backend) {
    let (_database, db) = TestDatabase::migrated(backend).await;
    let tg = FakeTelegram::start().await;
    tg.fail_next("sendMessage", Fault::Slow(Duration::from_secs(3)), 1);
    let sender = Running::start(sender(&db, &tg, config()));
    enqueue(&db, Outgoing::text(USER, "один")).await;
    enqueue(&db, Outgoing::text(OTHER_USER, "другой")).await;
    sender.handle.wake();
    // Whichever call comes first is answered after 3 s; the other chat's is not held behind it.
    let first = tg.wait_for("sendMessage", 1, Duration::from_secs(2)).await;
    let sent = tg.wait_for("sendMessage", 2, Duration::from_secs(10)).await;
    sender.settled().await;
    assert_ne!(first[0].params["chat_id"], sent[1].params["chat_id"]);
    assert_eq!(tg.calls().len(), 2);
    sender.stop().await;
}

backend_test!(a_wake_delivers_promptly, threads: 4);
async fn a_wake_delivers_promptly(backend: Backend) {
    let (_database, db) = TestDatabase::migrated(backend).await;
    let tg = FakeTelegram::start().await;
    // No safety re-check in this test's time: only a wake can make the sender look again.
    let sender = Running::start(sender(&db, &tg, config()).with_idle_recheck(Duration::from_secs(3600)));
    sender.settled().await;

    enqueue(&db, Outgoing::text(USER, "сразу")).await;
    sender.handle.wake();
    // Typically a few milliseconds; the bound leaves room for a loaded machine.
    tg.wait_for("sendMessage", 1, Duration::from_millis(900)).await;
    sender.stop().await;
}

backend_test!(shutdown_releases_rows_waiting_to_be_sent, threads: 4);
async fn shutdown_releases_rows_waiting_to_be_sent(backend: Backend) {
    let (_database, db) = TestDatabase::migrated(backend).await;
    let tg = FakeTelegram::start().await;
    tg.fail_next("sendMessage", Fault::RetryAfter(30), 1);
    let sender = Running::start(sender(&db, &tg, config()));
    let flooded = enqueue(&db, Outgoing::text(USER, "первое")).await;
    sender.handle.wake();
    row_when(&db, flooded, |row| row.last_error.is_some()).await;
    // All sending is paused for 30 s: this one is claimed and waits.
    let waiting = enqueue(&db, Outgoing::text(OTHER_USER, "второе")).await;
    sender.handle.wake();
    row_when(&db, waiting, |row| row.attempts == 1).await;

    let stopping = std::time::Instant::now();
    sender.stop().await;
    assert!(stopping.elapsed() < Duration::from_secs(5), "the stop did not wait out the pause");
    let released = row(&db, waiting).await;
    assert_eq!(
        (released.status, released.attempts, released.claimed_by),
        (Status::Pending, 0, None),
        "released, the attempt not counted"
    );
    assert!(released.next_attempt_at <= chrono::Utc::now(), "due again at once: {released:?}");
    let flooded = row(&db, flooded).await;
    assert_eq!((flooded.status, flooded.attempts), (Status::Pending, 0));
    assert!(flooded.next_attempt_at > chrono::Utc::now() + chrono::TimeDelta::seconds(20), "{flooded:?}");
    assert_eq!(tg.calls().len(), 1);
}

backend_test!(an_edit_of_a_queued_message_is_folded_into_it, threads: 4);
async fn an_edit_of_a_queued_message_is_folded_into_it(backend: Backend) {
    let (_database, db) = TestDatabase::migrated(backend).await;
    let tg = FakeTelegram::start().await;
    // Queued while no sender runs: the copy, then the decision's edits of it.
    let copy = enqueue(&db, Outgoing::with_keyboard(USER, "Заявка №5", keyboard("v1:ap:5"))).await;
    let edit = |text: &str| Outgoing::EditMessageText {
        chat_id: USER,
        message: MessageRef::Outbox(copy),
        text: text.into(),
        reply_markup: None,
    };
    assert_eq!(enqueue(&db, edit("Заявка №5 одобрена")).await, copy, "folded into the queued copy");
    let unmark =
        Outgoing::EditMessageReplyMarkup { chat_id: USER, message: MessageRef::Outbox(copy), reply_markup: None };
    assert_eq!(enqueue(&db, unmark).await, copy);
    assert_eq!(outgoing_message::Entity::find().all(&db).await.unwrap().len(), 1);

    let sender = Running::start(sender(&db, &tg, config()));
    tg.wait_for("sendMessage", 1, Duration::from_secs(5)).await;
    sender.settled().await;
    assert_eq!(tg.calls().len(), 1, "one message with the final text: {:?}", tg.calls());
    assert_eq!(tg.sent_texts_to(USER), ["Заявка №5 одобрена"]);
    assert!(tg.calls()[0].params.get("reply_markup").is_none());

    // Once the message is out, an edit of it is an edit.
    let later = enqueue(&db, edit("Заявка №5 закрыта")).await;
    assert_ne!(later, copy);
    assert_eq!(row(&db, later).await.edit_of, Some(copy));
    sender.handle.wake();
    let edits = tg.wait_for("editMessageText", 1, Duration::from_secs(5)).await;
    assert_eq!(edits[0].params["message_id"], json!(row(&db, copy).await.telegram_message_id.unwrap()));
    sender.stop().await;
}

backend_test!(answers_do_not_wait_behind_sends, threads: 4);
async fn answers_do_not_wait_behind_sends(backend: Backend) {
    let (_database, db) = TestDatabase::migrated(backend).await;
    let tg = FakeTelegram::start().await;
    tg.fail_next("sendMessage", Fault::RetryAfter(30), 1);
    // 16 delivery slots for messages.
    let config = SenderConfig { global_per_second: 8, ..config() };
    let sender = Running::start(sender(&db, &tg, config));
    let flooded = enqueue(&db, Outgoing::text(USER, "первое")).await;
    sender.handle.wake();
    row_when(&db, flooded, |row| row.last_error.is_some()).await;
    // Messages are paused for 30 s: these claim every message slot and wait.
    let mut waiting = Vec::new();
    for i in 0..20 {
        waiting.push(enqueue(&db, Outgoing::text(8_000_000_000 + i, format!("ждёт {i}"))).await);
    }
    sender.handle.wake();
    for id in &waiting[..16] {
        row_when(&db, *id, |row| row.attempts == 1).await;
    }
    let answered = std::time::Instant::now();
    enqueue(
        &db,
        Outgoing::AnswerCallbackQuery {
            chat_id: USER,
            callback_query_id: "4382bfdwdsb323b2d9".into(),
            text: Some("Принято".into()),
            show_alert: false,
        },
    )
    .await;
    sender.handle.wake();
    tg.wait_for("answerCallbackQuery", 1, Duration::from_secs(3)).await;
    assert!(answered.elapsed() < Duration::from_secs(3), "{:?}", answered.elapsed());
    assert_eq!(tg.calls_to("sendMessage").len(), 1, "the messages still wait out the 429");
    sender.stop().await;
}

backend_test!(delivered_rows_past_their_retention_are_pruned, threads: 4);
async fn delivered_rows_past_their_retention_are_pruned(backend: Backend) {
    use chrono::{TimeDelta, Utc};
    use kktbot::entities::{client_request, request_message};
    use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, QueryFilter};

    let (_database, db) = TestDatabase::migrated(backend).await;
    let old = Utc::now() - TimeDelta::days(40);
    let mark = async |id: i64, status: Status, sent: bool| {
        outgoing_message::Entity::update_many()
            .col_expr(outgoing_message::Column::Status, sea_orm::sea_query::Expr::value(status))
            .col_expr(outgoing_message::Column::CreatedAt, sea_orm::sea_query::Expr::value(old))
            .col_expr(outgoing_message::Column::SentAt, sea_orm::sea_query::Expr::value(sent.then_some(old)))
            .filter(outgoing_message::Column::Id.eq(id))
            .exec(&db)
            .await
            .unwrap();
    };
    let old_sent = enqueue(&db, Outgoing::text(USER, "давно доставлено")).await;
    mark(old_sent, Status::Sent, true).await;
    let old_failed = enqueue(&db, Outgoing::text(USER, "давно не дошло")).await;
    mark(old_failed, Status::Failed, false).await;
    let old_pending = enqueue(&db, Outgoing::text(USER, "давно ждёт")).await;
    mark(old_pending, Status::Pending, false).await;
    let recent = enqueue(&db, Outgoing::text(USER, "вчера")).await;
    outgoing_message::Entity::update_many()
        .col_expr(outgoing_message::Column::Status, sea_orm::sea_query::Expr::value(Status::Sent))
        .col_expr(
            outgoing_message::Column::SentAt,
            sea_orm::sea_query::Expr::value(Some(Utc::now() - TimeDelta::days(1))),
        )
        .filter(outgoing_message::Column::Id.eq(recent))
        .exec(&db)
        .await
        .unwrap();
    // Administrators' copies of open requests (their edits need them), and of a closed one.
    let mut copies = Vec::new();
    for (number, status) in [
        (1, client_request::Status::Pending),
        (2, client_request::Status::InProgress),
        (3, client_request::Status::Done),
    ] {
        let request = client_request::ActiveModel {
            number: Set(number),
            kind: Set(client_request::Kind::Service),
            description: Set("Касса не печатает".into()),
            requester_telegram_id: Set(OTHER_USER),
            status: Set(status),
            created_at: Set(old),
            updated_at: Set(old),
            ..Default::default()
        }
        .insert(&db)
        .await
        .unwrap();
        let copy = enqueue(&db, Outgoing::with_keyboard(USER, format!("Заявка №{number}"), keyboard("v1:ap:1"))).await;
        mark(copy, Status::Sent, true).await;
        request_message::ActiveModel {
            request_id: Set(request.id),
            chat_id: Set(USER),
            outgoing_message_id: Set(copy),
            created_at: Set(old),
            ..Default::default()
        }
        .insert(&db)
        .await
        .unwrap();
        copies.push(copy);
    }

    let cutoff = Utc::now() - TimeDelta::days(30);
    assert_eq!(outbox::retention::prune_sent(&db, cutoff).await.unwrap(), 2);
    let left: Vec<i64> = outgoing_message::Entity::find().all(&db).await.unwrap().into_iter().map(|r| r.id).collect();
    assert_eq!(
        left,
        [old_failed, old_pending, recent, copies[0], copies[1]],
        "delivered rows past the retention are gone"
    );
    assert_eq!(outbox::retention::prune_sent(&db, cutoff).await.unwrap(), 0);
}
