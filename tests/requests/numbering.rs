//! Request numbers under concurrent filings on PostgreSQL and MySQL: transactions filing at once
//! (each holding its transaction open a while after taking its number) get distinct numbers with
//! no gap, and a filing rolled back gives its number back. SQLite lets one writer in at a time.

use std::sync::Arc;
use std::time::Duration;

use kktbot::bot::notifier::TelegramNotifier;
use kktbot::bot::texts::Texts;
use kktbot::services::requests::{self, Filed, NewServiceRequest};
use kktbot::services::telegram_users::Profile;
use sea_orm::TransactionTrait;

use super::*;

fn filing(n: i64) -> NewServiceRequest {
    NewServiceRequest {
        request_type_id: 1,
        description: format!("Заявка {n}"),
        photo_file_id: None,
        requester: Profile {
            telegram_id: 7_700_000_000 + n,
            first_name: Some(format!("Клиент {n}")),
            last_name: None,
            username: None,
            language_code: Some("ru".into()),
        },
        submit_key: format!("numbering-{n}"),
    }
}

/// Files request `n` in a transaction held open `hold` after the number is taken; commits it
/// unless `roll_back`. Returns the number it got.
async fn file(db: &sea_orm::DatabaseConnection, n: i64, hold: Duration, roll_back: bool) -> i32 {
    let txn = db.begin().await.expect("begin");
    // No administrators: the filing queues no messages.
    let notifier = TelegramNotifier::new(Arc::new(Texts::new()), chrono_tz::Europe::Moscow);
    let filed = requests::file_service_request(&txn, &notifier, filing(n)).await.expect("filed");
    let Filed::New(request) = filed else { panic!("request {n} was filed before") };
    tokio::time::sleep(hold).await;
    if roll_back {
        txn.rollback().await.expect("rollback");
    } else {
        txn.commit().await.expect("commit");
    }
    request.number
}

async fn concurrent_filings_are_numbered_densely(backend: Backend) {
    const FILINGS: i64 = 12;
    let (_database, db) = crate::support::TestDatabase::migrated(backend).await;
    let db = Arc::new(db);
    let tasks: Vec<_> = (0..FILINGS)
        .map(|n| {
            let db = db.clone();
            tokio::spawn(async move { file(&db, n, Duration::from_millis(30), false).await })
        })
        .collect();
    let mut numbers = Vec::new();
    for task in tasks {
        numbers.push(task.await.expect("filing task"));
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=FILINGS as i32).collect::<Vec<_>>(), "distinct numbers, no gap");

    // A filing rolled back gives its number back: the next one gets it.
    let next = FILINGS as i32 + 1;
    assert_eq!(file(&db, FILINGS, Duration::ZERO, true).await, next);
    assert_eq!(file(&db, FILINGS + 1, Duration::ZERO, false).await, next);
    assert_eq!(count_rows(&db, "client_requests").await, i64::from(next));
}

integration_test!(concurrent_filings_are_numbered_densely_on_postgres, threads: 4);
async fn concurrent_filings_are_numbered_densely_on_postgres() {
    concurrent_filings_are_numbered_densely(Backend::Postgres).await;
}

integration_test!(concurrent_filings_are_numbered_densely_on_mysql, threads: 4);
async fn concurrent_filings_are_numbered_densely_on_mysql() {
    concurrent_filings_are_numbered_densely(Backend::MySql).await;
}
