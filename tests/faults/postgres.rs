//! PostgreSQL stopped mid-load: a private cluster (`initdb`/`pg_ctl`, on a free port) is stopped
//! at once (`-m immediate`, as in a crash) while new users send /start. Every update answers 503
//! with `Retry-After` in bounded time (none hangs), `/health` answers 503, a refused update has no
//! effect at all, and when the cluster is started again kktbot recovers by itself: updates are
//! acknowledged, `/health` is 200, and the redelivered updates take effect once.

use std::time::{Duration, Instant};

use kktbot::entities::{outgoing_message, processed_update, telegram_user};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::load::{Delivery, Load, redeliver_until_acknowledged, statuses};
use crate::support::servers::PostgresCluster;
use crate::support::updates::{self, User};
use crate::support::{Backend, TestApp, integration_test};

/// The longest any webhook delivery may take, the outage included.
const BOUND: Duration = Duration::from_secs(7);

async fn health(app: &TestApp) -> u16 {
    let res = app.http.get(app.url("/health")).timeout(Duration::from_secs(10)).send().await.unwrap();
    res.status().as_u16()
}

/// Polls `/health` until it answers `status` (bounded); returns how long that took.
async fn health_becomes(app: &TestApp, status: u16, within: Duration) -> Duration {
    let started = Instant::now();
    while health(app).await != status {
        assert!(started.elapsed() < within, "/health did not answer {status} within {within:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    started.elapsed()
}

fn user_of(delivery: &Delivery) -> i64 {
    delivery.update["message"]["from"]["id"].as_i64().unwrap()
}

integration_test!(postgres_stopped_mid_load_and_started_again, threads: 2);
async fn postgres_stopped_mid_load_and_started_again() {
    let cluster = PostgresCluster::start();
    let app = TestApp::builder()
        .database_url(Backend::Postgres, &cluster.url())
        .telegram()
        .redis()
        .env("TELEGRAM_RATE_CHAT_PER_SECOND", "1000")
        .env("TELEGRAM_RATE_GLOBAL_PER_SECOND", "1000")
        .spawn()
        .await;
    let user = |n: u64| User::ru(5_600_000_000 + n as i64, "Иван");
    let load = Load::start(&app, 4, 5_000, Duration::from_millis(10), move |n| updates::text(&user(n), "/start"));
    load.wait_for_more(40).await;

    cluster.stop();
    let stopped = Instant::now();
    let health_down_after = health_becomes(&app, 503, Duration::from_secs(10)).await;
    load.wait_for_more(8).await;
    let outage = stopped.elapsed();
    cluster.start_again();
    let back = Instant::now();
    let health_up_after = health_becomes(&app, 200, Duration::from_secs(20)).await;
    load.wait_for_more(40).await;
    let deliveries = load.stop().await;

    let slowest = deliveries.iter().map(|d| d.took).max().unwrap();
    assert!(slowest < BOUND, "a delivery took {slowest:?}");
    let refused: Vec<&Delivery> = deliveries.iter().filter(|d| d.status != 200).collect();
    assert!(!refused.is_empty(), "the outage was seen: {}", statuses(&deliveries));
    for delivery in &refused {
        assert_eq!(delivery.status, 503, "{delivery:?}");
        assert_eq!(delivery.retry_after.as_deref(), Some("5"), "{delivery:?}");
    }
    let first_ok_after_return = deliveries
        .iter()
        .filter(|d| d.status == 200 && d.answered > back)
        .map(|d| d.answered - back)
        .min()
        .expect("acknowledged again after PostgreSQL returned");

    // A refused update left nothing behind: no user, no processed update_id, no message.
    let db = app.db();
    for delivery in &refused {
        let user = user_of(delivery);
        let rows = telegram_user::Entity::find().filter(telegram_user::Column::TelegramId.eq(user)).count(db);
        assert_eq!(rows.await.unwrap(), 0, "a user row of refused update {}", delivery.update_id());
        let ids = processed_update::Entity::find().filter(processed_update::Column::UpdateId.eq(delivery.update_id()));
        assert_eq!(ids.count(db).await.unwrap(), 0);
        let messages = outgoing_message::Entity::find().filter(outgoing_message::Column::ChatId.eq(user));
        assert_eq!(messages.count(db).await.unwrap(), 0);
    }
    let refused_updates: Vec<_> = refused.iter().map(|d| d.update.clone()).collect();
    let redelivered = redeliver_until_acknowledged(&app, &refused_updates).await;
    // Telegram may deliver any update again: no second effect.
    let all: Vec<_> = deliveries.iter().map(|d| d.update.clone()).collect();
    redeliver_until_acknowledged(&app, &all).await;
    app.settle().await;

    let n = deliveries.len() as u64;
    assert_eq!(telegram_user::Entity::find().count(db).await.unwrap(), n, "one user per /start");
    assert_eq!(processed_update::Entity::find().count(db).await.unwrap(), n, "each update applied once");
    for delivery in &deliveries {
        let texts = app.tg().sent_texts_to(user_of(delivery));
        assert_eq!(texts.len(), 1, "one greeting: {texts:?}");
    }
    eprintln!(
        "postgres fault: {n} updates ({}), PostgreSQL down {outage:.2?}; /health 503 {health_down_after:.2?} after \
         the stop, 200 {health_up_after:.2?} after the start; first acknowledgement {first_ok_after_return:.2?} \
         after the start; slowest delivery {slowest:.2?}; {} refused, {redelivered} redeliveries, each applied once",
        statuses(&deliveries),
        refused.len(),
    );
    app.shutdown().await;
}
