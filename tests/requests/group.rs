//! The administrators' group (`ADMIN_GROUP_CHAT_ID`): each new request goes there once instead of
//! to every administrator privately, in a forum topic of its own when the group has topics; only
//! administrators act on its buttons; the group's copy is edited like the private ones; the
//! conversation and the re-announcement past the decision time go to the group (its topic); the
//! group's limit of messages per minute is held.

use std::time::Duration;

use kktbot::entities::request_topic;

use super::work::work_app;
use super::*;
use crate::support::telegram::FakeTelegram;

/// The administrators' group, a supergroup.
const GROUP: i64 = -1_001_555_000_001;

/// A server whose requests go to [`GROUP`] (a forum when `forum`), with two administrators.
async fn group_app(backend: Backend, forum: bool, builder: crate::support::TestAppBuilder) -> TestApp {
    let fake = FakeTelegram::start().await;
    if forum {
        fake.make_forum(GROUP);
    }
    let builder = builder
        .fake_telegram(fake)
        .env("ADMIN_GROUP_CHAT_ID", &GROUP.to_string())
        // What is sent is checked here; the group's pace in `the_group_limit_is_held`.
        .env("TELEGRAM_RATE_GROUP_PER_MINUTE", "60000");
    work_app(builder, backend).await
}

/// A member of the group who is no administrator.
fn guest() -> User {
    User::ru(7_700_000_099, "Гость")
}

/// The group's copies of a request: (Telegram message id, its topic if any), oldest first.
fn group_copies(app: &TestApp, number: i32) -> Vec<(i64, Option<i64>)> {
    messages_to(app, GROUP)
        .into_iter()
        .filter(|m| text(m).starts_with(&format!("Заявка №{number} — ")))
        .map(|m| (message_id(&m), m["message_thread_id"].as_i64()))
        .collect()
}

/// A tap by `user` on a button of the group's message `message` (in `topic`).
async fn tap_in_group(app: &TestApp, user: &User, data: &str, message: i64, topic: Option<i64>) -> Value {
    let update = updates::in_group(updates::callback(user, data, message), GROUP, topic);
    send(app, &update).await;
    update
}

/// Administrators got nothing privately.
fn assert_no_private_copies(app: &TestApp) {
    for admin in ADMINS {
        assert_eq!(app.tg().sent_texts_to(admin), Vec::<String>::new(), "administrator {admin} got nothing privately");
    }
}

backend_test!(the_group_gets_one_copy_and_only_administrators_act_on_it);
async fn the_group_gets_one_copy_and_only_administrators_act_on_it(backend: Backend) {
    let app = group_app(backend, false, TestApp::builder()).await;
    let ivan = User::ru(7_700_000_001, "Иван");
    let r = file(&app, &ivan, 0, "Замена ФН").await;

    // One copy, in the group, with the decision buttons in their colours; none privately, no topic.
    let copies = group_copies(&app, r.number);
    assert_eq!(copies.len(), 1, "one copy in the group: {:?}", app.tg().sent_texts_to(GROUP));
    let (copy, topic) = copies[0];
    assert_eq!(topic, None);
    assert_eq!(messages_to(&app, GROUP).len(), 1);
    assert_no_private_copies(&app);
    assert!(app.tg().calls_to("createForumTopic").is_empty());
    let sent = sent_message(&app, GROUP, copy);
    assert_eq!(
        styles(&sent),
        [
            ("✅ Одобрить".to_owned(), Some("success".to_owned())),
            ("❌ Отклонить".to_owned(), Some("danger".to_owned()))
        ]
    );
    assert_eq!(super::copies(&app, r.id).await, [(GROUP, copy)]);

    // A member who is no administrator is refused, and nothing changes.
    for action in ["ap", "rj"] {
        let refused = tap_in_group(&app, &guest(), &format!("v1:{action}:{}", r.id), copy, None).await;
        assert_eq!(answer_to(&app, &refused).as_deref(), Some(NOT_ADMIN));
    }
    assert_eq!(request(&app, r.id).await.status, client_request::Status::Pending);
    assert!(edits_of(&app, GROUP, copy).is_empty());
    assert!(decision_messages(&app, &ivan).is_empty());
    assert_eq!(messages_to(&app, GROUP).len(), 1, "a refusal is an answer to the tap, not a message");

    // An administrator's tap in the group decides; the group's copy shows it, with Take.
    let approve = tap_in_group(&app, &olga(), &format!("v1:ap:{}", r.id), copy, None).await;
    assert_eq!(answer_to(&app, &approve).as_deref(), Some("Готово: заявка №1 — одобрена."));
    let decided = request(&app, r.id).await;
    assert_eq!((decided.status, decided.decided_by.as_deref()), (client_request::Status::Approved, Some("Ольга")));
    assert_eq!(decision_messages(&app, &ivan), ["Заявка №1 одобрена."]);
    let edits = edits_of(&app, GROUP, copy);
    assert_eq!(edits.len(), 1);
    let edited = edits[0].params["text"].as_str().unwrap();
    assert!(edited.starts_with(&format!("{}\n\n✅ Одобрена: Ольга, ", text(&sent))), "{edited}");
    assert_eq!(buttons(&edits[0].params), [pair("🔧 Взять в работу", &format!("v1:st:{}", r.id))]);

    // The client's comment reaches the group while nobody has the request; an administrator's
    // reply to it in the group reaches the client.
    let approval = last_message(&app, ivan.id);
    send(&app, &updates::reply(&ivan, "Когда приедете?", message_id(&approval))).await;
    let comment = last_message(&app, GROUP);
    assert_eq!(text(&comment), "💬 Заявка №1 — Иван:\nКогда приедете?");
    let reply = updates::in_group(updates::reply(&petr(), "Завтра в 10:00", message_id(&comment)), GROUP, None);
    send(&app, &reply).await;
    assert_eq!(last_text(&app, ivan.id), "💬 Заявка №1 — ответ:\nЗавтра в 10:00");
    assert_eq!(last_text(&app, GROUP), "Ответ по заявке №1 отправлен клиенту.");
    // Talk in the group that is no reply to the bot gets no answer.
    let before = messages_to(&app, GROUP).len();
    send(&app, &updates::in_group(updates::text(&guest(), "коллеги, кто поедет?"), GROUP, None)).await;
    send(&app, &updates::in_group(updates::text(&olga(), "7707083893"), GROUP, None)).await;
    assert_eq!(messages_to(&app, GROUP).len(), before);

    // Take (the taker becomes the assignee), then Done; the guest's Take is refused.
    let refused = tap_in_group(&app, &guest(), &format!("v1:st:{}", r.id), copy, None).await;
    assert_eq!(answer_to(&app, &refused).as_deref(), Some(NOT_ADMIN));
    assert_eq!(request(&app, r.id).await.status, client_request::Status::Approved);
    tap_in_group(&app, &petr(), &format!("v1:st:{}", r.id), copy, None).await;
    let taken = request(&app, r.id).await;
    assert_eq!(taken.status, client_request::Status::InProgress);
    assert_eq!(taken.assignee_administrator_id, Some(administrator_id(&app, ADMIN2).await));
    let edits = edits_of(&app, GROUP, copy);
    let edited = edits.last().unwrap().params["text"].as_str().unwrap();
    assert!(edited.contains("🔧 В работе: Пётр, ") && edited.contains("👤 Исполнитель: Пётр"), "{edited}");
    assert_eq!(buttons(&edits.last().unwrap().params), [pair("🏁 Выполнена", &format!("v1:dn:{}", r.id))]);
    tap_in_group(&app, &petr(), &format!("v1:dn:{}", r.id), copy, None).await;
    assert_eq!(request(&app, r.id).await.status, client_request::Status::Done);
    let edits = edits_of(&app, GROUP, copy);
    assert_eq!(edits.len(), 3, "approved, taken, done");
    assert!(buttons(&edits[2].params).is_empty(), "no buttons on a request done");
    assert_eq!(last_text(&app, ivan.id), "Заявка №1 выполнена.");
    // Петр got the request privately as its assignee (not as a copy for every administrator).
    assert_eq!(app.tg().sent_texts_to(ADMIN1), Vec::<String>::new());
    assert_all_through_outbox(&app).await;
    app.shutdown().await;
}

backend_test!(a_forum_group_gets_a_topic_per_request);
async fn a_forum_group_gets_a_topic_per_request(backend: Backend) {
    let app = group_app(backend, true, TestApp::builder().sla_watch(Duration::from_millis(150))).await;
    let ivan = User::ru(7_700_000_011, "Иван");
    let anna = User::ru(7_700_000_012, "Анна");
    let first = file(&app, &ivan, 0, "Замена ФН").await;
    let second = file(&app, &anna, 1, "Регистрация").await;

    // One topic per request, named after it; each copy in its request's topic.
    let topics = app.tg().calls_to("createForumTopic");
    let named: Vec<(&str, i64)> = topics
        .iter()
        .map(|c| (c.params["name"].as_str().unwrap(), c.response["result"]["message_thread_id"].as_i64().unwrap()))
        .collect();
    let [(first_name, first_topic), (second_name, second_topic)] = named[..] else { panic!("two topics: {named:?}") };
    assert_eq!((first_name, second_name), ("№1 · Замена ФН", "№2 · Регистрация ККТ"));
    assert!(topics.iter().all(|c| c.ok && chat_of(c) == Some(GROUP)));
    assert_eq!(group_copies(&app, first.number), [(super::copies(&app, first.id).await[0].1, Some(first_topic))]);
    assert_eq!(group_copies(&app, second.number).len(), 1);
    assert_eq!(group_copies(&app, second.number)[0].1, Some(second_topic));
    assert!(messages_to(&app, GROUP).iter().all(|m| m["is_topic_message"] == json!(true)));
    assert_no_private_copies(&app);
    let copy = group_copies(&app, first.number)[0].0;

    // A guest's tap in the topic is refused; an administrator's approves, the copy is edited in
    // place and the answer to a command goes to the topic it was asked in.
    let refused = tap_in_group(&app, &guest(), &format!("v1:ap:{}", first.id), copy, Some(first_topic)).await;
    assert_eq!(answer_to(&app, &refused).as_deref(), Some(NOT_ADMIN));
    assert_eq!(request(&app, first.id).await.status, client_request::Status::Pending);
    tap_in_group(&app, &olga(), &format!("v1:ap:{}", first.id), copy, Some(first_topic)).await;
    assert_eq!(request(&app, first.id).await.status, client_request::Status::Approved);
    assert_eq!(edits_of(&app, GROUP, copy).len(), 1);
    let note = updates::in_group(updates::text(&olga(), "/note 1 клиент просил после обеда"), GROUP, Some(first_topic));
    send(&app, &note).await;
    let saved = last_message(&app, GROUP);
    assert_eq!(
        (text(&saved), saved["message_thread_id"].as_i64()),
        ("Заметка к заявке №1 сохранена: клиент её не видит.", Some(first_topic))
    );

    // The client's comment goes to the request's topic; the topic's id is kept with the request.
    let approval = last_message(&app, ivan.id);
    send(&app, &updates::reply(&ivan, "Жду мастера", message_id(&approval))).await;
    let comment = last_message(&app, GROUP);
    assert_eq!(
        (text(&comment), comment["message_thread_id"].as_i64()),
        ("💬 Заявка №1 — Иван:\nЖду мастера", Some(first_topic))
    );
    let stored = request_topic::Entity::find().order_by_asc(request_topic::Column::Id).all(app.db()).await.unwrap();
    let stored: Vec<(i32, i64)> = stored.iter().map(|t| (t.request_id, t.chat_id)).collect();
    assert_eq!(stored, [(first.id, GROUP), (second.id, GROUP)]);
    let first_row = request_topic::Entity::find()
        .filter(request_topic::Column::RequestId.eq(first.id))
        .one(app.db())
        .await
        .unwrap();
    assert_eq!(first_row.unwrap().message_thread_id.map(i64::from), Some(first_topic));

    // Past its decision time the second request is announced again, once, in its own topic.
    app.state.clock.advance(chrono::Duration::hours(5));
    let overdue = "⏰ Заявка №2 ждёт решения дольше 4 ч.";
    let announced = || -> Vec<Value> { messages_to(&app, GROUP).into_iter().filter(|m| text(m) == overdue).collect() };
    for _ in 0..200 {
        if !announced().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(150 * 8)).await;
    app.settle().await;
    let notices = announced();
    assert_eq!(notices.len(), 1, "announced once: {:?}", app.tg().sent_texts_to(GROUP));
    assert_eq!(notices[0]["message_thread_id"].as_i64(), Some(second_topic));
    let again = group_copies(&app, second.number);
    assert_eq!(again.len(), 2, "the request again, with its buttons");
    assert_eq!(again[1].1, Some(second_topic));
    assert_eq!(buttons(&sent_message(&app, GROUP, again[1].0)).len(), 2);
    assert_eq!(app.tg().calls_to("createForumTopic").len(), 2, "no topic twice");
    assert_no_private_copies(&app);
    assert!(app.tg().calls().iter().all(|c| c.ok), "Telegram refused nothing");
    app.shutdown().await;
}

backend_test!(a_reject_reason_in_the_group_is_its_administrators_own);
async fn a_reject_reason_in_the_group_is_its_administrators_own(backend: Backend) {
    let app = group_app(backend, false, TestApp::builder()).await;
    let ivan = User::ru(7_700_000_021, "Иван");
    let r = file(&app, &ivan, 0, "Замена ФН").await;
    let (copy, _) = group_copies(&app, r.number)[0];

    // Ольга taps Reject in the group and is asked for the reason there.
    tap_in_group(&app, &olga(), &format!("v1:rj:{}", r.id), copy, None).await;
    assert_eq!(last_text(&app, GROUP), "Напишите причину отклонения заявки №1 или нажмите «Пропустить».");

    // Пётр's message in the group is not her reason: nothing is decided.
    send(&app, &updates::in_group(updates::text(&petr(), "коллеги, кто поедет?"), GROUP, None)).await;
    let pending = request(&app, r.id).await;
    assert_eq!((pending.status, pending.reason), (client_request::Status::Pending, None));
    assert!(decision_messages(&app, &ivan).is_empty());

    // Hers is.
    send(&app, &updates::in_group(updates::text(&olga(), "нет серийного номера"), GROUP, None)).await;
    let rejected = request(&app, r.id).await;
    assert_eq!(
        (rejected.status, rejected.reason.as_deref(), rejected.decided_by.as_deref()),
        (client_request::Status::Rejected, Some("нет серийного номера"), Some("Ольга"))
    );
    assert_eq!(decision_messages(&app, &ivan), ["Заявка №1 отклонена. Причина: нет серийного номера"]);
    assert_no_private_copies(&app);
    assert_all_through_outbox(&app).await;
    app.shutdown().await;
}

integration_test!(the_group_limit_is_held);
async fn the_group_limit_is_held() {
    // 240 a minute is Telegram's 20 a minute twelve times as fast: at most 20 in any 5 s.
    let fake = FakeTelegram::start().await;
    let builder = TestApp::builder()
        .fake_telegram(fake)
        .env("ADMIN_GROUP_CHAT_ID", &GROUP.to_string())
        .env("TELEGRAM_RATE_GROUP_PER_MINUTE", "240");
    let app = work_app(builder, Backend::Sqlite).await;
    let clients: Vec<User> = (0..25).map(|i| User::ru(7_700_001_000 + i, "Клиент")).collect();
    // 25 clients file at once: each step of the dialog for all of them together.
    let requests: Vec<Value> = clients.iter().map(|c| updates::text(c, "/request")).collect();
    deliver_all(&app, &requests).await;
    let taps: Vec<Value> = clients
        .iter()
        .map(|c| {
            let keyboard = last_message(&app, c.id);
            updates::callback(c, &updates::first_button(&keyboard), message_id(&keyboard))
        })
        .collect();
    deliver_all(&app, &taps).await;
    let descriptions: Vec<Value> = clients.iter().map(|c| updates::text(c, "Замена ФН")).collect();
    deliver_all(&app, &descriptions).await;
    let submits: Vec<Value> = clients
        .iter()
        .map(|c| {
            let summary = last_message(&app, c.id);
            updates::callback(c, &updates::first_button(&summary), message_id(&summary))
        })
        .collect();
    deliver_all(&app, &submits).await;

    let sends: Vec<std::time::Instant> = app
        .tg()
        .calls_to("sendMessage")
        .into_iter()
        .filter(|c| c.ok && chat_of(c) == Some(GROUP))
        .map(|c| c.at)
        .collect();
    assert_eq!(sends.len(), 25, "one copy of each request in the group");
    for (i, at) in sends.iter().enumerate() {
        let within = sends[i..].iter().take_while(|later| later.duration_since(*at) < Duration::from_secs(5)).count();
        assert!(within <= 20, "{within} messages to the group within 5 s from its message {i}");
    }
    assert_no_private_copies(&app);
    assert_eq!(all_requests(&app).await.len(), 25);
    app.shutdown().await;
}
