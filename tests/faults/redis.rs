//! Redis stopped mid-load: a private `redis-server` (append-only file, so its data survives a
//! restart as a production Redis's does) is killed while updates flow. Updates that need the
//! dialog state answer 503 with `Retry-After`, the others 200; when Redis is started again on
//! the same port, the refused updates, redelivered, each take effect once, the first within 1 s.

use std::time::{Duration, Instant};

use futures::future::join_all;
use serde_json::Value;

use crate::load::{Load, deliver, redeliver_until_acknowledged, statuses};
use crate::support::chat::{last_message, message_id, send};
use crate::support::servers::{RedisServer, free_port};
use crate::support::updates::{self, User, first_button};
use crate::support::{Backend, TestApp, backend_test, count_rows};

const CLIENTS: i64 = 16;

/// A client's way to a request's summary: /request, a type, the description. Returns the tap on
/// Submit, which needs the dialog state (type and description) that Redis holds.
async fn compose(app: &TestApp, client: &User) -> Value {
    send(app, &updates::text(client, "/request")).await;
    let keyboard = last_message(app, client.id);
    send(app, &updates::callback(client, &first_button(&keyboard), message_id(&keyboard))).await;
    send(app, &updates::text(client, "Не печатает чек")).await;
    let summary = last_message(app, client.id);
    updates::callback(client, &first_button(&summary), message_id(&summary))
}

backend_test!(redis_killed_mid_load_and_started_again, threads: 2);
async fn redis_killed_mid_load_and_started_again(backend: Backend) {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut redis = RedisServer::start_persistent(port, data.path()).await;
    let app = TestApp::builder()
        .backend(backend)
        .telegram()
        .env("REDIS_URL", &redis.url())
        .env("TELEGRAM_RATE_CHAT_PER_SECOND", "1000")
        .env("TELEGRAM_RATE_GLOBAL_PER_SECOND", "1000")
        .spawn()
        .await;
    let url = app.url("/webhook/telegram");
    let clients: Vec<User> = (0..CLIENTS).map(|i| User::ru(5_400_000_000 + i, "Клиент")).collect();
    let mut submits = Vec::new();
    for client in &clients {
        submits.push(compose(&app, client).await);
    }

    // The load: /help from a new user every 10 ms on each of 2 connections; no dialog state.
    let guest = |n: u64| User::ru(5_410_000_000 + n as i64, "Гость");
    let load = Load::start(&app, 2, 2_000, Duration::from_millis(10), move |n| updates::text(&guest(n), "/help"));
    load.wait_for_more(20).await;
    let (before, during) = submits.split_at(submits.len() / 2);
    for submit in before {
        assert_eq!(deliver(&app.http, &url, submit).await.status, 200);
    }

    redis.kill();
    let killed = Instant::now();
    load.wait_for_more(20).await;
    let refused = join_all(during.iter().map(|submit| deliver(&app.http, &url, submit))).await;
    for delivery in &refused {
        assert_eq!(delivery.status, 503, "a submit while Redis is down: {delivery:?}");
        assert_eq!(delivery.retry_after.as_deref(), Some("5"), "{delivery:?}");
        assert!(delivery.took < Duration::from_secs(3), "refused within the store's timeout: {delivery:?}");
    }
    let health = app.http.get(app.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 200, "the database is up: the server is degraded, not down");
    let health: Value = health.json().await.unwrap();
    assert_eq!((health["status"].as_str(), health["redis"]["status"].as_str()), (Some("degraded"), Some("down")));
    load.wait_for_more(20).await;
    let down_for = killed.elapsed();

    let redis = RedisServer::start_persistent(port, data.path()).await;
    let back = Instant::now();
    // Telegram redelivers (every 50 ms here): acknowledged within 1 s of Redis's return.
    let mut refused_after_return = 0;
    let recovered = loop {
        let delivery = deliver(&app.http, &url, &during[0]).await;
        if delivery.status == 200 {
            break delivery.answered - back;
        }
        assert_eq!(delivery.status, 503, "{delivery:?}");
        refused_after_return += 1;
        assert!(back.elapsed() < Duration::from_secs(5), "no recovery 5 s after Redis returned");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(recovered < Duration::from_secs(1), "recovered {recovered:?} after Redis returned");
    let redelivered = redeliver_until_acknowledged(&app, during).await;
    // Telegram may deliver any update again: a second delivery has no second effect.
    redeliver_until_acknowledged(&app, &submits).await;
    load.wait_for_more(20).await;
    let load = load.stop().await;
    app.settle().await;

    let not_ok: Vec<_> = load.iter().filter(|d| d.status != 200).collect();
    assert!(not_ok.is_empty(), "updates needing no dialog state are acknowledged throughout: {not_ok:?}");
    for delivery in &load {
        let guest = delivery.update["message"]["from"]["id"].as_i64().unwrap();
        assert_eq!(app.tg().sent_texts_to(guest).len(), 1, "one answer to {guest}'s /help");
    }
    assert_eq!(count_rows(app.db(), "client_requests").await, CLIENTS, "each request filed once");
    for client in &clients {
        let filed: Vec<_> =
            app.tg().sent_texts_to(client.id).into_iter().filter(|t| t.starts_with("Заявка №")).collect();
        assert_eq!(filed.len(), 1, "{} told once: {filed:?}", client.id);
    }
    eprintln!(
        "redis fault ({backend:?}): load {} ({}), Redis down {down_for:.2?}, submits while down {} (503 each), \
         recovered {recovered:.2?} after Redis returned ({refused_after_return} refused meanwhile), \
         {redelivered} redeliveries, {CLIENTS} requests filed once",
        load.len(),
        statuses(&load),
        refused.len(),
    );
    drop(redis);
    app.shutdown().await;
}
