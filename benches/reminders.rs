//! Reminder-run benchmark (issue 5): the daily run over 100,000 active deadlines of which 1,000
//! have reached a threshold, on PostgreSQL. Measures `services::reminders::run` itself — the
//! expiry update, the window query, one notification log row and one outbox row per reminder,
//! and the administrators' summary — not delivery (that is the sender's job).
//!
//! Seeding uses set-based SQL (`generate_series`): 10,000 clients with one contact each,
//! 100,000 active deadlines spread over the coming two years, 1,000 of them exactly 7 days away.
//! Each iteration first clears the logs and the outbox, so every run queues the same 1,000
//! reminders.
//!
//! Options (environment): `BENCH_ITERATIONS` (5), `BENCH_DEADLINES` (100000), `BENCH_DUE` (1000).
//! PostgreSQL comes from `KKTBOT_TEST_POSTGRES_URL` as in the integration tests.
//! Run with `cargo bench --bench reminders`.

#[path = "../tests/support/mod.rs"]
#[allow(clippy::wrong_self_convention, unused_macros, unused_imports)]
mod support;

mod options;

use std::time::{Duration, Instant};

use chrono::Utc;
use kktbot::bot::notifier::TelegramNotifier;
use kktbot::bot::texts::Texts;
use kktbot::services::reminders;
use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait};

async fn seed(db: &DatabaseConnection, deadlines: u64, due: u64) {
    let clients = (deadlines / 10).max(1);
    let sql = format!(
        "INSERT INTO clients (name, inn, is_active, created_at, updated_at, search)
           SELECT 'Клиент ' || g, lpad(g::text, 10, '0'), true, now(), now(),
                  'клиент ' || g || E'\\n' || lpad(g::text, 10, '0') || E'\\n'
           FROM generate_series(1, {clients}) g;
         INSERT INTO contacts (client_id, telegram_id, name, notify, is_active, created_at, updated_at, search)
           SELECT id, 6000000000 + id, 'Контакт', true, true, now(), now(), 'контакт' FROM clients;
         INSERT INTO administrators (telegram_id, name, is_active, created_at, updated_at, search)
           VALUES (900000001, 'Админ', true, now(), now(), E'админ\\n');
         INSERT INTO deadlines (client_id, deadline_type_id, expiration_date, status, created_at, updated_at, search)
           SELECT 1 + (g % {clients}), 1 + (g % 4),
                  CASE WHEN g <= {due} THEN current_date + 7
                       ELSE current_date + 30 + (g % 700) END,
                  'active', now(), now(), ''
           FROM generate_series(1, {deadlines}) g;
         ANALYZE;"
    );
    db.execute_unprepared(&sql).await.expect("seed");
}

#[tokio::main]
async fn main() {
    if options::smoke() {
        println!("reminders benchmark: run with `cargo bench --bench reminders`");
        return;
    }
    let iterations = options::env_or("BENCH_ITERATIONS", 5u64);
    let deadlines = options::env_or("BENCH_DEADLINES", 100_000u64);
    let due = options::env_or("BENCH_DUE", 1_000u64);
    let Ok(test_db) = support::TestDatabase::try_create(support::Backend::Postgres).await else {
        println!("PostgreSQL is not reachable: nothing measured");
        return;
    };
    let db = test_db.connect().await;
    kktbot::db::migrate_up(&db).await.expect("migrate");
    let started = Instant::now();
    seed(&db, deadlines, due).await;
    println!("seeded {deadlines} deadlines ({due} due) in {:.1} s", started.elapsed().as_secs_f64());

    let texts = std::sync::Arc::new(Texts::new());
    let notifier = TelegramNotifier::new(texts, chrono_tz::Europe::Moscow);
    let today = reminders::local_date(Utc::now(), chrono_tz::Europe::Moscow);
    let mut times: Vec<Duration> = Vec::new();
    for i in 0..iterations {
        db.execute_unprepared("DELETE FROM notification_logs; DELETE FROM outgoing_messages;").await.expect("reset");
        let started = Instant::now();
        let txn = db.begin().await.expect("begin");
        let report = reminders::run(&txn, &notifier, &[14, 7, 3], today, None).await.expect("run");
        txn.commit().await.expect("commit");
        let took = started.elapsed();
        assert_eq!(report.queued, due, "every due deadline's contact gets one reminder");
        println!("run {}: {:.0} ms, {} reminders queued", i + 1, took.as_secs_f64() * 1000.0, report.queued);
        times.push(took);
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!();
    println!("| deadlines | due | runs | min | median | max |");
    println!("|---|---|---|---|---|---|");
    println!(
        "| {deadlines} | {due} | {iterations} | {:.0} ms | {:.0} ms | {:.0} ms |",
        ms(times[0]),
        ms(times[times.len() / 2]),
        ms(times[times.len() - 1])
    );
    let _ = db.close().await;
}
