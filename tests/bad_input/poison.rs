//! Poison updates: an update that fails because of its own content is answered 200, recorded as
//! processed with its error (a dead letter an administrator sees), and its sender is told; only a
//! database or Redis that cannot be reached answers 503. Text is stored as sent where the
//! database allows it.

use std::time::Duration;

use kktbot::entities::{client_request, failed_update, telegram_user};
use reqwest::{Method, StatusCode};
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter};

use super::app;
use crate::staff::{admin_token, call, create_user, token};
use crate::support::chat::file_request;
use crate::support::updates::{self, User};
use crate::support::{Backend, TestApp, backend_test, count_rows};

const WAIT: Duration = Duration::from_secs(10);

async fn stored_user(app: &TestApp, telegram_id: i64) -> telegram_user::Model {
    telegram_user::Entity::find()
        .filter(telegram_user::Column::TelegramId.eq(telegram_id))
        .one(app.db())
        .await
        .unwrap()
        .expect("the user is stored")
}

backend_test!(nul_in_names_and_texts_is_stored_as_a_replacement_character);
async fn nul_in_names_and_texts_is_stored_as_a_replacement_character(backend: Backend) {
    let app = app(backend).await;
    let user = User::ru(5_200_000_101, "Nu\u{0}l");
    let res = app.post_update(&updates::text(&user, "привет\u{0}")).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap_or_default());
    assert_eq!(stored_user(&app, user.id).await.first_name.as_deref(), Some("Nu\u{FFFD}l"));
    // A request whose description holds U+0000 is filed, with the text as sent otherwise.
    file_request(&app, &user, None, "printer broken\u{0} really").await;
    let request = client_request::Entity::find().one(app.db()).await.unwrap().expect("the request is filed");
    assert_eq!(request.description, "printer broken\u{FFFD} really");
    assert_eq!(count_rows(app.db(), "failed_updates").await, 0);
    app.shutdown().await;
}

backend_test!(a_long_language_code_is_cut_to_fit);
async fn a_long_language_code_is_cut_to_fit(backend: Backend) {
    let app = app(backend).await;
    let mut user = User::en(5_200_000_102, "Ann");
    user.language_code = "en-GB-x-abcdefghijk".into();
    app.send_update(&updates::text(&user, "/start")).await;
    app.settle().await;
    assert_eq!(stored_user(&app, user.id).await.language_code.as_deref(), Some("en-GB-x-abcdefgh"));
    let texts = app.tg().sent_texts_to(user.id);
    assert!(texts.len() == 1 && texts[0].starts_with("Hello, Ann"), "answered in English: {texts:?}");
    app.shutdown().await;
}

/// Makes the database refuse a user named `Poison`, as it refuses a value it cannot store.
async fn refuse_poison(app: &TestApp) {
    let sql = match app.db().get_database_backend() {
        DbBackend::Sqlite => {
            "CREATE TRIGGER no_poison BEFORE INSERT ON telegram_users WHEN NEW.first_name = 'Poison' \
             BEGIN SELECT RAISE(ABORT, 'poison is refused'); END"
        }
        DbBackend::MySql => "ALTER TABLE telegram_users ADD CONSTRAINT no_poison CHECK (NOT (first_name <=> 'Poison'))",
        _ => "ALTER TABLE telegram_users ADD CONSTRAINT no_poison CHECK (first_name IS DISTINCT FROM 'Poison')",
    };
    app.db().execute_unprepared(sql).await.unwrap();
}

backend_test!(an_update_the_database_refuses_is_a_dead_letter);
async fn an_update_the_database_refuses_is_a_dead_letter(backend: Backend) {
    let app = app(backend).await;
    refuse_poison(&app).await;
    let poison = User::en(5_200_000_103, "Poison");
    let update = updates::text(&poison, "/start");
    for _ in 0..2 {
        let res = app.post_update(&update).await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap_or_default());
    }
    app.settle().await;
    // Recorded as processed, kept with its error and body, the sender told once, nothing else.
    assert_eq!(count_rows(app.db(), "processed_updates").await, 1);
    assert_eq!(count_rows(app.db(), "telegram_users").await, 0);
    let letters = failed_update::Entity::find().all(app.db()).await.unwrap();
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!((letters[0].kind.as_str(), letters[0].telegram_id), ("message", Some(poison.id)));
    assert!(letters[0].body.contains("Poison"), "{}", letters[0].body);
    let texts = app.tg().sent_texts_to(poison.id);
    assert!(texts.len() == 1 && texts[0].starts_with("Something went wrong"), "{texts:?}");
    // Others are served as usual.
    let other = User::ru(5_200_000_104, "Иван");
    app.send_update(&updates::text(&other, "/start")).await;
    app.settle().await;
    assert_eq!(app.tg().sent_texts_to(other.id).len(), 1);

    // The administrator sees it in the API; an operator may not; the metric counts it.
    let admin = admin_token(&app).await;
    let (status, page) = call(&app, &admin, Method::GET, "/api/failed-updates", None).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["update_id"], update["update_id"]);
    assert!(page["items"][0]["error"].as_str().unwrap().contains("poison"), "{page}");
    let (_, found) = call(&app, &admin, Method::GET, "/api/failed-updates?q=nothing-like-it", None).await;
    assert_eq!(found["total"], 0);
    create_user(&app, &admin, "op@example.com", "operator-password-1", "operator").await;
    let operator = token(&app, "op@example.com", "operator-password-1").await;
    let (status, _) = call(&app, &operator, Method::GET, "/api/failed-updates", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let metrics = app.http.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("kktbot_failed_updates_total{kind=\"message\"}"), "{metrics}");
    app.shutdown().await;
}

backend_test!(polling_skips_a_dead_letter_and_goes_on, threads: 4);
async fn polling_skips_a_dead_letter_and_goes_on(backend: Backend) {
    let builder = crate::staff::builder(backend).telegram().polling();
    let app = if backend.uses_redis() { builder.redis() } else { builder }.spawn().await;
    refuse_poison(&app).await;
    let tg = app.tg();
    let poison = User::en(5_200_000_105, "Poison");
    let other = User::en(5_200_000_106, "Ann");
    tg.push_update(updates::text(&poison, "/help"));
    tg.push_update(updates::text(&other, "/help"));
    tg.wait_for("sendMessage", 2, WAIT).await;
    assert_eq!(count_rows(app.db(), "failed_updates").await, 1);
    assert!(tg.sent_texts_to(poison.id)[0].starts_with("Something went wrong"));
    assert!(tg.sent_texts_to(other.id)[0].contains("/myrequests"), "the next update is applied");
    app.shutdown().await;
}

backend_test!(an_unreachable_database_is_still_503);
async fn an_unreachable_database_is_still_503(backend: Backend) {
    let app = app(backend).await;
    // A table that is gone is the server's state, not the update's: Telegram tries again.
    app.db().execute_unprepared("ALTER TABLE processed_updates RENAME TO processed_updates_away").await.unwrap();
    let user = User::ru(5_200_000_107, "Иван");
    let res = app.post_update(&updates::text(&user, "/start")).await;
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["retry-after"], "5");
    app.db().execute_unprepared("ALTER TABLE processed_updates_away RENAME TO processed_updates").await.unwrap();
    assert_eq!(count_rows(app.db(), "failed_updates").await, 0);
    app.shutdown().await;
}
