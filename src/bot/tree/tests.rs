//! The handler tree routes each command, dialog step and button to its branch: the tree is built
//! with a recorder at the end of every branch and updates shaped as Telegram sends them are
//! dispatched through it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sea_orm::{ConnectionTrait, Database, TransactionTrait};
use serde_json::{Value, json};
use teloxide::dispatching::UpdateHandler;
use teloxide::types::Update;

use super::{Route, schema, tree};
use crate::bot::context::{self, Ctx};
use crate::bot::dialog::Dialog;
use crate::bot::dialog_store::{self, DialogStore, MemoryDialogStore};
use crate::bot::notifier::TelegramNotifier;
use crate::bot::texts::{Lang, Texts};
use crate::bot::{BotError, BotUsername};
use crate::core::Core;
use crate::services::requests::{self, Actor};
use crate::services::telegram_users::Profile;
use crate::services::{administrators, processed_updates};
use crate::telegram::sender::SenderHandle;

const ADMIN: i64 = 900_000_001;
const CLIENT: i64 = 5_123_456_789;
const BOT: &str = "kkt_service_bot";

/// The routes an update reached.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<Route>>>);

fn recorder(route: Route) -> UpdateHandler<BotError> {
    dptree::endpoint(move |seen: Seen| async move {
        seen.0.lock().expect("seen").push(route);
        Ok(())
    })
}

struct Bench {
    core: Core,
    shared: context::Shared,
}

fn user(id: i64) -> Value {
    json!({"id": id, "is_bot": false, "first_name": "Ольга", "language_code": "ru"})
}

fn chat(id: i64) -> Value {
    json!({"id": id, "first_name": "Ольга", "type": "private"})
}

fn message(from: i64, text: &str) -> Value {
    json!({
        "update_id": 1,
        "message": {"message_id": 10, "from": user(from), "chat": chat(from), "date": 1_763_715_600, "text": text},
    })
}

fn photo(from: i64) -> Value {
    json!({
        "update_id": 1,
        "message": {
            "message_id": 10, "from": user(from), "chat": chat(from), "date": 1_763_715_600,
            "photo": [{"file_id": "AgAC", "file_unique_id": "AQAD", "width": 90, "height": 60, "file_size": 1000}],
        },
    })
}

fn reply(from: i64, text: &str, to_message: i32) -> Value {
    let mut update = message(from, text);
    update["message"]["reply_to_message"] = json!({
        "message_id": to_message, "from": {"id": 7_000_000_001_i64, "is_bot": true, "first_name": "KKT", "username": BOT},
        "chat": chat(from), "date": 1_763_715_600, "text": "Заявка №1",
    });
    update
}

fn button(from: i64, data: &str) -> Value {
    json!({
        "update_id": 1,
        "callback_query": {
            "id": "4382190456123987001", "from": user(from), "chat_instance": "-1", "data": data,
            "message": {"message_id": 18, "from": {"id": 7_000_000_001_i64, "is_bot": true, "first_name": "KKT"},
                        "chat": chat(from), "date": 1_763_715_600, "text": "…"},
        },
    })
}

fn blocked(from: i64) -> Value {
    let bot = json!({"id": 7_000_000_001_i64, "is_bot": true, "first_name": "KKT", "username": BOT});
    json!({
        "update_id": 1,
        "my_chat_member": {
            "chat": chat(from), "from": user(from), "date": 1_763_715_600,
            "old_chat_member": {"user": bot, "status": "member"},
            "new_chat_member": {"user": bot, "status": "kicked", "until_date": 0},
        },
    })
}

impl Bench {
    async fn new() -> Self {
        let db = Database::connect("sqlite::memory:").await.expect("in-memory SQLite");
        crate::db::migrate_up(&db).await.expect("migrations");
        let texts = Arc::new(Texts::new());
        let notifier = Arc::new(TelegramNotifier::new(texts.clone(), chrono_tz::Europe::Moscow));
        let store: Arc<dyn DialogStore> = Arc::new(MemoryDialogStore::new(Duration::from_secs(600)));
        let timezone = chrono_tz::Europe::Moscow;
        Self {
            core: Core::new(db, SenderHandle::new(), timezone, notifier.clone()),
            shared: context::Shared { texts, notifier, store, timezone },
        }
    }

    /// Where an update from `from` (an administrator when `from` is [`ADMIN`]) goes while the
    /// chat is at the dialog step `step`; `None` when no branch takes it.
    async fn route(&self, update: Value, step: Option<Dialog>) -> Option<Route> {
        let update: Update = serde_json::from_str(&update.to_string()).expect("an update");
        assert!(!matches!(update.kind, teloxide::types::UpdateKind::Error(_)), "{update:?}");
        let from = update.from().expect("a sender").id.0 as i64;
        match &step {
            Some(step) => dialog_store::save(self.shared.store.as_ref(), from, step).await.expect("dialog saved"),
            None => self.shared.store.remove(from).await.expect("dialog removed"),
        }
        let profile = Profile { telegram_id: from, first_name: Some("Ольга".into()), ..Profile::default() };
        let admin =
            (from == ADMIN).then(|| Actor::Administrator { id: 1, telegram_id: from, name: "Ольга".into() });
        let write = self.core.begin().await.expect("a transaction");
        let ctx = Arc::new(Ctx::new(write, &self.shared, profile, from, Lang::Ru, admin));
        let seen = Seen::default();
        let deps = dptree::deps![update, ctx, BotUsername(BOT.into()), seen.clone()];
        if let std::ops::ControlFlow::Break(result) = tree(recorder).dispatch(deps).await {
            result.expect("routing fails for no update");
        }
        let seen = seen.0.lock().expect("seen").clone();
        assert!(seen.len() <= 1, "one update, one handler: {seen:?}");
        seen.first().copied()
    }
}

#[tokio::test]
async fn each_command_reaches_its_branch() {
    let bench = Bench::new().await;
    let everyone = [
        ("/start", Route::Start),
        ("/start inv_abc123", Route::Start),
        ("/help", Route::Help),
        ("/cancel", Route::Cancel),
        ("/lang", Route::Lang),
        ("/language", Route::Lang),
        ("/request", Route::Request),
        ("/new", Route::Request),
        ("/myrequests", Route::MyRequests),
        ("/list", Route::List),
        ("/today", Route::Today),
        ("/frobnicate", Route::UnknownCommand),
    ];
    for (text, route) in everyone {
        for from in [CLIENT, ADMIN] {
            assert_eq!(bench.route(message(from, text), None).await, Some(route), "{text} from {from}");
        }
    }
    let administrators = [
        ("/pending", Route::Pending),
        ("/approve 3", Route::Approve),
        ("/reject 3 нет ФН", Route::Reject),
        ("/ask 3 какой номер?", Route::Ask),
        ("/reopen 3", Route::Reopen),
        ("/mine", Route::Mine),
        ("/note 3 перезвонить", Route::Note),
        ("/search Ромашка", Route::Search),
        ("/export", Route::Export),
    ];
    for (text, route) in administrators {
        assert_eq!(bench.route(message(ADMIN, text), None).await, Some(route), "{text}");
        assert_eq!(bench.route(message(CLIENT, text), None).await, Some(Route::RefusedCommand), "{text}");
    }
    // A command for this bot by name, and one for another bot (taken as any text).
    assert_eq!(bench.route(message(ADMIN, &format!("/Pending@{BOT}")), None).await, Some(Route::Pending));
    assert_eq!(bench.route(message(CLIENT, "/help@other_bot"), None).await, Some(Route::FreeText));
    // A command leaves the dialog's branches alone, whatever the step.
    let describing = Some(Dialog::Describing { type_id: 1 });
    assert_eq!(bench.route(message(CLIENT, "/cancel"), describing).await, Some(Route::Cancel));
}

#[tokio::test]
async fn messages_go_by_the_dialog_step() {
    let bench = Bench::new().await;
    let describing = Dialog::Describing { type_id: 1 };
    let confirming =
        Dialog::Confirming { type_id: 1, description: "Не печатает".into(), photo: None, key: "k".into() };
    let reason = Dialog::RejectReason { request_id: 1 };
    let cases = [
        (message(CLIENT, "Не печатает чек"), None, Route::FreeText),
        (message(CLIENT, "7707083893"), None, Route::FreeText),
        (photo(CLIENT), None, Route::FreeText),
        (message(CLIENT, "Не печатает чек"), Some(describing.clone()), Route::Describing),
        (photo(CLIENT), Some(describing), Route::Describing),
        (message(CLIENT, "Замена ФН"), Some(Dialog::ChoosingType), Route::ChoosingType),
        (message(CLIENT, "ещё"), Some(confirming), Route::Confirming),
        (message(ADMIN, "нет серийного номера"), Some(reason.clone()), Route::RejectReason),
        // Only an administrator is asked for a reason.
        (message(CLIENT, "нет серийного номера"), Some(reason), Route::FreeText),
        // A decision's word in reply to a message that is no request's copy is text like any other.
        (reply(ADMIN, "Одобрить", 311), None, Route::FreeText),
    ];
    for (update, step, route) in cases {
        assert_eq!(bench.route(update.clone(), step.clone()).await, Some(route), "{update} at {step:?}");
    }
}

#[tokio::test]
async fn a_decision_in_reply_to_a_copy_reaches_its_branch() {
    let bench = Bench::new().await;
    let txn = bench.core.db.begin().await.unwrap();
    administrators::add(&txn, ADMIN, Some("Ольга".into())).await.unwrap();
    let client = Profile { telegram_id: CLIENT, first_name: Some("Иван".into()), ..Profile::default() };
    processed_updates::record(&txn, 1, "message", Some(&client)).await.unwrap();
    requests::file_link_request(&txn, bench.shared.notifier.as_ref(), &client, "7707083893").await.unwrap();
    // The administrator's copy went out as message 311 of their chat.
    let delivered = format!("UPDATE outgoing_messages SET telegram_message_id = 311 WHERE chat_id = {ADMIN}");
    assert_eq!(txn.execute_unprepared(&delivered).await.unwrap().rows_affected(), 1);
    txn.commit().await.unwrap();

    for text in ["Одобрить", "approve", "Отклонить нет документов", "Reject."] {
        assert_eq!(bench.route(reply(ADMIN, text, 311), None).await, Some(Route::ReplyDecision), "{text}");
    }
    // Any other reply to a copy goes to the client.
    assert_eq!(bench.route(reply(ADMIN, "спасибо", 311), None).await, Some(Route::StaffReply));
    assert_eq!(bench.route(reply(ADMIN, "Одобрить", 312), None).await, Some(Route::FreeText));
    // Not an administrator: no decision, whatever the words.
    assert_eq!(bench.route(reply(CLIENT, "Одобрить", 311), None).await, Some(Route::FreeText));
}

#[tokio::test]
async fn the_clients_messages_about_a_request_are_comments() {
    let bench = Bench::new().await;
    let txn = bench.core.db.begin().await.unwrap();
    let client = Profile { telegram_id: CLIENT, first_name: Some("Иван".into()), ..Profile::default() };
    processed_updates::record(&txn, 1, "message", Some(&client)).await.unwrap();
    // No administrator yet: the notifier queues no copies.
    let filed = requests::file_link_request(&txn, bench.core.notifier.as_ref(), &client, "7707083893").await.unwrap();
    let requests::Filed::New(request) = filed else { panic!("a new request") };
    // The bot's message about it went out as message 40 of the client's chat.
    let told = crate::outbox::enqueue(&txn, crate::outbox::Outgoing::text(CLIENT, "Заявка №1")).await.unwrap();
    let delivered = format!("UPDATE outgoing_messages SET telegram_message_id = 40 WHERE id = {told}");
    txn.execute_unprepared(&delivered).await.unwrap();
    let purpose = crate::services::thread::Purpose::Client;
    crate::services::thread::record_delivery(&txn, request.id, None, CLIENT, purpose, told).await.unwrap();
    txn.commit().await.unwrap();

    assert_eq!(bench.route(reply(CLIENT, "когда приедете?", 40), None).await, Some(Route::ClientComment));
    assert_eq!(bench.route(reply(CLIENT, "когда приедете?", 41), None).await, Some(Route::FreeText));
    // Not waiting for the client: text is text.
    assert_eq!(bench.route(message(CLIENT, "заводской номер 123"), None).await, Some(Route::FreeText));
    let waiting = format!("UPDATE client_requests SET status = 'waiting_for_client' WHERE id = {}", request.id);
    bench.core.db.execute_unprepared(&waiting).await.unwrap();
    assert_eq!(bench.route(message(CLIENT, "заводской номер 123"), None).await, Some(Route::ClientComment));
    assert_eq!(bench.route(photo(CLIENT), None).await, Some(Route::ClientComment));
    // A dialog step comes first.
    let describing = Some(Dialog::Describing { type_id: 1 });
    assert_eq!(bench.route(message(CLIENT, "новая заявка"), describing).await, Some(Route::Describing));
    assert_eq!(bench.route(message(ADMIN, "заводской номер 123"), None).await, Some(Route::FreeText));
}

#[tokio::test]
async fn each_button_reaches_its_branch() {
    let bench = Bench::new().await;
    let everyone = [
        ("v1:rt:1", Route::RequestType),
        ("v1:sub:a1B2c3D4e5F6g7H8", Route::Submit),
        ("v1:cx", Route::CancelDialog),
        ("v1:cr:7", Route::Withdraw),
        ("v1:lang:en", Route::LangChosen),
        ("v1:zz:1", Route::OutdatedButton),
        ("v2:ap:1", Route::OutdatedButton),
    ];
    for (data, route) in everyone {
        for from in [CLIENT, ADMIN] {
            assert_eq!(bench.route(button(from, data), None).await, Some(route), "{data} from {from}");
        }
    }
    let administrators = [
        ("v1:ap:7", Route::ApproveButton),
        ("v1:rj:7", Route::RejectButton),
        ("v1:sk:7", Route::SkipReasonButton),
        ("v1:st:7", Route::TakeButton),
        ("v1:dn:7", Route::DoneButton),
        ("v1:ex:deadlines.xlsx", Route::ExportButton),
    ];
    for (data, route) in administrators {
        assert_eq!(bench.route(button(ADMIN, data), None).await, Some(route), "{data}");
        assert_eq!(bench.route(button(CLIENT, data), None).await, Some(Route::RefusedButton), "{data}");
    }
}

#[tokio::test]
async fn membership_changes_reach_their_branch_and_other_updates_none() {
    let bench = Bench::new().await;
    assert_eq!(bench.route(blocked(CLIENT), None).await, Some(Route::MyChatMember));
    let mut edited = message(CLIENT, "/help");
    edited["edited_message"] = edited["message"].take();
    edited.as_object_mut().unwrap().remove("message");
    edited["edited_message"]["edit_date"] = json!(1_763_715_700);
    assert_eq!(bench.route(edited, None).await, None);
}

/// Every handler of the real tree finds the values it takes: the update, its context and the
/// bot's username are all it needs.
#[tokio::test]
async fn the_handlers_take_only_what_the_tree_provides() {
    let bench = Bench::new().await;
    let update: Update = serde_json::from_str(&message(CLIENT, "/help").to_string()).unwrap();
    let write = bench.core.begin().await.unwrap();
    let ctx = Arc::new(Ctx::new(write, &bench.shared, Profile::default(), CLIENT, Lang::Ru, None));
    let deps = dptree::deps![update, ctx, BotUsername(BOT.into())];
    dptree::type_check(schema().sig(), &deps, &[]);
}
