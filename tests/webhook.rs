//! The Telegram runtime end to end: the webhook's checks, exactly-once application of updates,
//! replies through the outbox under Telegram's limits, dialog state in Redis, /start, languages.

use std::time::{Duration, Instant};

use kktbot::entities::{outgoing_message, processed_update, telegram_user};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;

use crate::support::telegram::Fault;
use crate::support::updates::{self, User};
use crate::support::{Backend, TestApp, WEBHOOK_SECRET, count_rows};
use crate::support::{backend_test, integration_test};

async fn bot_app(backend: Backend) -> TestApp {
    let builder = TestApp::builder().backend(backend).telegram();
    let builder = if backend.uses_redis() { builder.redis() } else { builder };
    builder.spawn().await
}

async fn processed(app: &TestApp) -> i64 {
    count_rows(app.db(), "processed_updates").await
}

backend_test!(a_wrong_or_missing_secret_changes_nothing);
async fn a_wrong_or_missing_secret_changes_nothing(backend: Backend) {
    let app = bot_app(backend).await;
    let update = updates::text(&User::ru(5_100_000_001, "Иван"), "/start");
    for secret in [None, Some("wrong"), Some("test-webhook-secret_012345678")] {
        let mut req = app.http.post(app.url("/webhook/telegram")).json(&update);
        if let Some(s) = secret {
            req = req.header("X-Telegram-Bot-Api-Secret-Token", s);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 401, "secret {secret:?}");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unauthorized");
    }
    assert_eq!(processed(&app).await, 0);
    assert_eq!(count_rows(app.db(), "outgoing_messages").await, 0);
    assert_eq!(count_rows(app.db(), "telegram_users").await, 0);
    app.shutdown().await;
}

backend_test!(bad_bodies_are_refused_or_acknowledged_without_effect);
async fn bad_bodies_are_refused_or_acknowledged_without_effect(backend: Backend) {
    let app = bot_app(backend).await;
    let post = |body: Vec<u8>| {
        app.http
            .post(app.url("/webhook/telegram"))
            .header("X-Telegram-Bot-Api-Secret-Token", WEBHOOK_SECRET)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    assert_eq!(post(b"{not json".to_vec()).await.unwrap().status(), 400);
    assert_eq!(post(vec![b' '; 2 * 1024 * 1024]).await.unwrap().status(), 413);
    // JSON, but not an update; and an update of a kind kktbot does not handle.
    assert_eq!(post(br#"{"hello": "world"}"#.to_vec()).await.unwrap().status(), 200);
    let unknown = json!({"update_id": updates::next_id(), "some_future_kind": {"x": 1}});
    assert_eq!(app.post_update(&unknown).await.status(), 200);
    // Injection strings are only text.
    let sneaky = updates::text(&User::ru(5_100_000_002, "'; DROP TABLE clients; --"), "' OR 1=1; --");
    app.send_update(&sneaky).await;
    app.settle().await;
    assert_eq!(processed(&app).await, 1, "only the real update is recorded");
    assert_eq!(app.tg().calls_to("sendMessage").len(), 1, "the hint for unknown input");
    assert_eq!(count_rows(app.db(), "clients").await, 0);
    app.shutdown().await;
}

backend_test!(redelivery_has_no_second_effect);
async fn redelivery_has_no_second_effect(backend: Backend) {
    let app = bot_app(backend).await;
    let user = User::ru(5_100_000_010, "Иван");
    let update = updates::text(&user, "/start");
    app.send_update(&update).await;
    app.send_update(&update).await;
    // The same update delivered concurrently, several times.
    let again = updates::text(&user, "/help");
    let posts: Vec<_> = (0..8).map(|_| app.post_update(&again)).collect();
    for res in futures::future::join_all(posts).await {
        assert_eq!(res.status(), 200);
    }
    app.settle().await;
    assert_eq!(processed(&app).await, 2);
    let texts = app.tg().sent_texts_to(user.id);
    assert_eq!(texts.len(), 2, "one greeting, one help: {texts:?}");
    assert!(texts[0].starts_with("Здравствуйте, Иван!"));
    assert!(texts[1].starts_with("Команды:"));
    app.shutdown().await;
}

integration_test!(a_failing_database_answers_503_and_sends_nothing);
async fn a_failing_database_answers_503_and_sends_nothing() {
    let app = bot_app(Backend::Sqlite).await;
    app.db().close_by_ref().await.unwrap();
    let res = app.post_update(&updates::text(&User::ru(5_100_000_020, "Иван"), "/start")).await;
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["retry-after"], "5");
    assert!(app.tg().calls_to("sendMessage").is_empty());
}

integration_test!(a_failing_postgres_database_answers_503);
async fn a_failing_postgres_database_answers_503() {
    a_dropped_database_answers_503(Backend::Postgres).await;
}

integration_test!(a_failing_mysql_database_answers_503);
async fn a_failing_mysql_database_answers_503() {
    a_dropped_database_answers_503(Backend::MySql).await;
}

async fn a_dropped_database_answers_503(backend: Backend) {
    let app = bot_app(backend).await;
    app.db.drop_now().await;
    let res = app.post_update(&updates::text(&User::ru(5_100_000_021, "Иван"), "/start")).await;
    assert_eq!(res.status(), 503);
    assert!(app.tg().calls_to("sendMessage").is_empty());
}

backend_test!(committed_message_survives_a_crash);
async fn committed_message_survives_a_crash(backend: Backend) {
    let app = bot_app(backend).await;
    let user = User::ru(5_100_000_030, "Иван");
    // Telegram fails the first attempt; the server then dies before the retry.
    app.tg().fail_next("sendMessage", Fault::ServerError, 1);
    app.send_update(&updates::text(&user, "/start")).await;
    app.tg().wait_for_any("sendMessage", 1, Duration::from_secs(5)).await;
    // The failed attempt is recorded (the row waits for its retry); then the process dies.
    app.settle().await;
    let (db, fake) = app.crash().await;
    let fake = fake.unwrap();
    assert!(fake.sent_texts_to(user.id).is_empty());

    let app = TestApp::builder().database(db).fake_telegram(fake).spawn().await;
    app.tg().wait_for("sendMessage", 1, Duration::from_secs(10)).await;
    app.settle().await;
    assert_eq!(app.tg().sent_texts_to(user.id).len(), 1, "delivered once after the restart");
    let sent = outgoing_message::Entity::find()
        .filter(outgoing_message::Column::Status.eq(outgoing_message::Status::Sent))
        .count(app.db())
        .await
        .unwrap();
    assert_eq!(sent, 1);
    app.shutdown().await;
}

backend_test!(retry_after_is_waited_out);
async fn retry_after_is_waited_out(backend: Backend) {
    let app = bot_app(backend).await;
    let user = User::ru(5_100_000_040, "Иван");
    app.tg().fail_next("sendMessage", Fault::RetryAfter(2), 1);
    let started = Instant::now();
    app.send_update(&updates::text(&user, "/help")).await;
    app.tg().wait_for("sendMessage", 1, Duration::from_secs(10)).await;
    assert!(started.elapsed() >= Duration::from_secs(2), "sent again after {:?}", started.elapsed());
    assert_eq!(app.tg().sent_texts_to(user.id).len(), 1);
    app.shutdown().await;
}

backend_test!(two_hundred_users_at_once_stay_within_telegram_limits);
async fn two_hundred_users_at_once_stay_within_telegram_limits(backend: Backend) {
    let app = bot_app(backend).await;
    let users: Vec<User> = (0..200).map(|i| User::ru(5_200_000_000 + i, "Клиент")).collect();
    let bodies: Vec<_> = users.iter().map(|u| updates::text(u, "/help")).collect();
    let posts: Vec<_> = bodies.iter().map(|b| app.post_update(b)).collect();
    for res in futures::future::join_all(posts).await {
        assert_eq!(res.status(), 200);
    }
    app.tg().wait_for("sendMessage", 200, Duration::from_secs(30)).await;
    assert!(app.tg().rate_violations().is_empty(), "{:?}", app.tg().rate_violations());
    for u in &users {
        assert_eq!(app.tg().sent_texts_to(u.id).len(), 1);
    }
    app.shutdown().await;
}

backend_test!(a_blocked_user_is_marked_and_unmarked);
async fn a_blocked_user_is_marked_and_unmarked(backend: Backend) {
    let app = bot_app(backend).await;
    let user = User::ru(5_100_000_050, "Иван");
    let blocked = |app: &TestApp| {
        let db = app.db().clone();
        async move {
            telegram_user::Entity::find()
                .filter(telegram_user::Column::TelegramId.eq(user.id))
                .one(&db)
                .await
                .unwrap()
                .map(|u| u.is_blocked)
        }
    };
    // A 403 from Telegram marks the user blocked.
    app.tg().block_chat(user.id);
    app.send_update(&updates::text(&user, "/help")).await;
    app.settle().await;
    assert_eq!(blocked(&app).await, Some(true));
    // my_chat_member: back, then blocked again.
    app.tg().unblock_chat(user.id);
    app.send_update(&updates::my_chat_member(&user, "member")).await;
    assert_eq!(blocked(&app).await, Some(false));
    app.send_update(&updates::my_chat_member(&user, "kicked")).await;
    assert_eq!(blocked(&app).await, Some(true));
    app.shutdown().await;
}

integration_test!(processed_update_ids_are_kept_past_telegrams_retention_then_pruned);
async fn processed_update_ids_are_kept_past_telegrams_retention_then_pruned() {
    let app = bot_app(Backend::Sqlite).await;
    app.send_update(&updates::text(&User::ru(5_100_000_060, "Иван"), "/help")).await;
    assert_eq!(kktbot::services::processed_updates::prune(app.db(), chrono::Duration::hours(48)).await.unwrap(), 0);
    let row = processed_update::Entity::find().one(app.db()).await.unwrap().unwrap();
    let mut old: processed_update::ActiveModel = row.into();
    old.processed_at = sea_orm::Set(chrono::Utc::now() - chrono::Duration::hours(49));
    sea_orm::ActiveModelTrait::update(old, app.db()).await.unwrap();
    assert_eq!(kktbot::services::processed_updates::prune(app.db(), chrono::Duration::hours(48)).await.unwrap(), 1);
    app.shutdown().await;
}

integration_test!(redis_stopped_and_started_again_mid_conversation);
async fn redis_stopped_and_started_again_mid_conversation() {
    use crate::support::servers::{RedisServer, free_port};
    let port = free_port();
    let mut redis = RedisServer::start(port).await;
    let app = TestApp::builder().telegram().env("REDIS_URL", &redis.url()).spawn().await;
    let user = User::ru(5_100_000_070, "Иван");
    app.send_update(&updates::text(&user, "/request")).await;

    redis.kill();
    // A message that needs the dialog state is not acknowledged: Telegram will deliver it again.
    let description = updates::text(&user, "Не печатает чек");
    let res = app.post_update(&description).await;
    assert_eq!(res.status(), 503);
    // Updates that need no dialog state keep working.
    app.send_update(&updates::text(&user, "/help")).await;
    let health: serde_json::Value = app.http.get(app.url("/health")).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["redis"]["status"], "down");
    assert_eq!(health["status"], "degraded");

    let _redis = RedisServer::start(port).await;
    // Telegram redelivers; kktbot reconnects by itself (bounded wait, no fixed sleep).
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let status = app.post_update(&description).await.status();
        if status == 200 {
            break;
        }
        assert_eq!(status, 503);
        assert!(Instant::now() < deadline, "Redis did not come back in time");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    app.settle().await;
    let texts = app.tg().sent_texts_to(user.id);
    assert_eq!(texts.len(), 3, "type keyboard, help, and the answer to the redelivered message: {texts:?}");
    assert!(texts[0].starts_with("Выберите тип заявки"));
    assert!(texts[1].starts_with("Команды:"));
    let health: serde_json::Value = app.http.get(app.url("/health")).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["redis"]["status"], "up");
    app.shutdown().await;
}

backend_test!(recording_an_update_keeps_the_profile_current);
/// `processed_updates::record`, the first statement of every update: the update_id once, the
/// sender's profile written only when it changed, and their administrator status.
async fn recording_an_update_keeps_the_profile_current(backend: Backend) {
    use kktbot::services::processed_updates::{Arrival, Visitor, record};
    use kktbot::services::requests::Actor;
    use kktbot::services::telegram_users::{Profile, set_blocked};
    use migration::{Migrator, MigratorTrait};
    use sea_orm::TransactionTrait;

    let database = crate::support::TestDatabase::create(backend).await;
    let db = database.connect().await;
    Migrator::up(&db, None).await.unwrap();
    let recorded = |update_id: i64, profile: Option<Profile>| {
        let db = db.clone();
        async move {
            let txn = db.begin().await.unwrap();
            let arrival = record(&txn, update_id, "message", profile.as_ref()).await.unwrap();
            txn.commit().await.unwrap();
            arrival
        }
    };
    let visitor = |arrival: Arrival| match arrival {
        Arrival::New(Some(visitor)) => visitor,
        other => panic!("expected a new update with its sender, got {other:?}"),
    };
    let anna = Profile {
        telegram_id: 5_100_000_070,
        first_name: Some("Анна".into()),
        last_name: None,
        username: Some("anna".into()),
        language_code: Some("ru".into()),
    };

    let Visitor { user: first, admin } = visitor(recorded(1, Some(anna.clone())).await);
    assert_eq!(
        (first.telegram_id, first.first_name.as_deref(), first.is_blocked),
        (anna.telegram_id, Some("Анна"), false)
    );
    assert_eq!(admin, None);

    // The same profile again is only read: the row is not written.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let again = visitor(recorded(2, Some(anna.clone())).await).user;
    assert_eq!(again, first);

    // A redelivered update_id is a duplicate and writes nothing, even with a changed profile.
    let renamed = Profile { last_name: Some("Петрова".into()), ..anna.clone() };
    assert_eq!(recorded(2, Some(renamed.clone())).await, Arrival::Duplicate);
    let stored = telegram_user::Entity::find().filter(telegram_user::Column::TelegramId.eq(anna.telegram_id));
    assert_eq!(stored.clone().one(&db).await.unwrap().unwrap(), first);

    // A changed profile is written and returned as stored.
    let changed = visitor(recorded(3, Some(renamed)).await).user;
    assert_eq!((changed.id, changed.last_name.as_deref()), (first.id, Some("Петрова")));
    assert!(changed.updated_at > first.updated_at);
    assert_eq!(stored.clone().one(&db).await.unwrap().unwrap(), changed);

    // A user who blocked the bot and writes again is unblocked; the chosen language stays.
    kktbot::services::telegram_users::set_language(&db, anna.telegram_id, "en").await.unwrap();
    set_blocked(&db, anna.telegram_id, true).await.unwrap();
    let back = visitor(recorded(4, Some(Profile { last_name: Some("Петрова".into()), ..anna.clone() })).await).user;
    assert_eq!((back.is_blocked, back.language.as_deref()), (false, Some("en")));

    // An active administrator is recognised (by the name given, or else the Telegram name); an
    // inactive one is not.
    let admin = kktbot::services::administrators::add(&db, anna.telegram_id, Some("Дежурная".into())).await.unwrap();
    let found = visitor(recorded(5, Some(anna.clone())).await).admin;
    assert_eq!(
        found,
        Some(Actor::Administrator { id: admin.id, telegram_id: anna.telegram_id, name: "Дежурная".into() })
    );
    kktbot::services::administrators::deactivate(&db, admin.id).await.unwrap();
    assert_eq!(visitor(recorded(6, Some(anna.clone())).await).admin, None);

    // An administrator added before ever writing to the bot is recognised on the first update.
    let boris = Profile { telegram_id: 5_100_000_071, first_name: Some("Борис".into()), ..Profile::default() };
    let admin = kktbot::services::administrators::add(&db, boris.telegram_id, None).await.unwrap();
    let Visitor { user, admin: found } = visitor(recorded(7, Some(boris.clone())).await);
    assert_eq!(user.first_name.as_deref(), Some("Борис"));
    assert_eq!(
        found,
        Some(Actor::Administrator { id: admin.id, telegram_id: boris.telegram_id, name: "Борис".into() })
    );

    // An update without a sender is recorded once too.
    assert_eq!(recorded(8, None).await, Arrival::New(None));
    assert_eq!(recorded(8, None).await, Arrival::Duplicate);
    assert_eq!(count_rows(&db, "processed_updates").await, 8);
    assert_eq!(count_rows(&db, "telegram_users").await, 2);
}

integration_test!(overlapping_updates_of_one_user_do_not_wait_on_postgres);
async fn overlapping_updates_of_one_user_do_not_wait_on_postgres() {
    overlapping_updates_of_one_user_do_not_wait(Backend::Postgres).await;
}

integration_test!(overlapping_updates_of_one_user_do_not_wait_on_mysql);
async fn overlapping_updates_of_one_user_do_not_wait_on_mysql() {
    overlapping_updates_of_one_user_do_not_wait(Backend::MySql).await;
}

/// An administrator deciding several requests at once sends overlapping updates: recording one
/// must not lock their unchanged profile until its transaction ends, or each decision waits for
/// the one before to commit. (SQLite has one writer at a time, so it is not asked.)
async fn overlapping_updates_of_one_user_do_not_wait(backend: Backend) {
    use kktbot::services::processed_updates::{Arrival, record};
    use kktbot::services::telegram_users::Profile;
    use migration::{Migrator, MigratorTrait};
    use sea_orm::TransactionTrait;

    let database = crate::support::TestDatabase::create(backend).await;
    let db = database.connect().await;
    Migrator::up(&db, None).await.unwrap();
    let admin = Profile {
        telegram_id: 5_100_000_080,
        first_name: Some("Дежурная".into()),
        username: Some("duty".into()),
        ..Profile::default()
    };
    kktbot::services::administrators::add(&db, admin.telegram_id, None).await.unwrap();
    let first = db.begin().await.unwrap();
    record(&first, 1, "callback_query", Some(&admin)).await.unwrap();
    first.commit().await.unwrap();

    let open = db.begin().await.unwrap();
    assert!(matches!(record(&open, 2, "callback_query", Some(&admin)).await.unwrap(), Arrival::New(Some(_))));
    let overlapping = db.begin().await.unwrap();
    let arrival = tokio::time::timeout(Duration::from_secs(5), record(&overlapping, 3, "callback_query", Some(&admin)))
        .await
        .expect("the second update waited for the first one's transaction")
        .unwrap();
    let Arrival::New(Some(visitor)) = arrival else { panic!("expected a new update, got {arrival:?}") };
    assert!(visitor.admin.is_some());
    overlapping.commit().await.unwrap();
    open.commit().await.unwrap();
    assert_eq!(count_rows(&db, "processed_updates").await, 3);

    // A changed profile is still written once the transactions holding the row have ended.
    let renamed = Profile { last_name: Some("Смирнова".into()), ..admin.clone() };
    let txn = db.begin().await.unwrap();
    record(&txn, 4, "message", Some(&renamed)).await.unwrap();
    txn.commit().await.unwrap();
    let stored = telegram_user::Entity::find()
        .filter(telegram_user::Column::TelegramId.eq(admin.telegram_id))
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.last_name.as_deref(), Some("Смирнова"));
}
