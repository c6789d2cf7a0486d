//! The schema: migrations up, down and up again on SQLite, PostgreSQL and MySQL, with every table,
//! reference row, unique constraint and index in place.

use chrono::{NaiveDate, Utc};
use kktbot::entities::*;
use migration::{Migrator, MigratorTrait, TABLES};
use sea_orm::{ActiveModelTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, Set, Statement};

use crate::support::backend_test;
use crate::support::{Backend, TestDatabase, count_rows};

async fn names(db: &DatabaseConnection, sqlite: &str, postgres: &str, mysql: &str) -> Vec<String> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Sqlite => sqlite,
        DbBackend::Postgres => postgres,
        _ => mysql,
    };
    db.query_all_raw(Statement::from_string(backend, sql))
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get::<String>("", "name").unwrap())
        .collect()
}

async fn tables(db: &DatabaseConnection) -> Vec<String> {
    names(
        db,
        "SELECT name FROM sqlite_master WHERE type = 'table'",
        "SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema()",
        "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE()",
    )
    .await
}

async fn indexes(db: &DatabaseConnection) -> Vec<String> {
    names(
        db,
        "SELECT name FROM sqlite_master WHERE type = 'index'",
        "SELECT indexname AS name FROM pg_indexes WHERE schemaname = current_schema()",
        "SELECT DISTINCT index_name AS name FROM information_schema.statistics WHERE table_schema = DATABASE()",
    )
    .await
}

backend_test!(up_down_up);
async fn up_down_up(backend: Backend) {
    let test_db = TestDatabase::create(backend).await;
    let db = test_db.connect().await;

    Migrator::up(&db, None).await.unwrap();
    let present = tables(&db).await;
    for table in TABLES {
        assert!(present.iter().any(|t| t == table), "{table} missing after up: {present:?}");
    }
    let present = indexes(&db).await;
    for index in [
        "uq_contacts_client_telegram",
        "idx_contacts_telegram_id",
        "idx_deadlines_expiration_date",
        "idx_client_requests_status_created",
        "uq_notification_logs_once",
        "idx_outgoing_messages_due",
        "idx_processed_updates_at",
        "idx_notification_logs_outgoing",
        "idx_outgoing_messages_pending_answers",
        "idx_outgoing_messages_pending_messages",
        "idx_outgoing_messages_pending_by_chat",
        "idx_deadlines_type_expiration",
        "idx_client_requests_created",
        "idx_notification_logs_status_created",
        "idx_notification_logs_status_sent",
        "idx_clients_active",
        "idx_deadlines_client_status_expiration",
        "idx_deadlines_status_expiration_client",
        "idx_cash_registers_active_client",
    ] {
        assert!(present.iter().any(|i| i == index), "index {index} missing: {present:?}");
    }
    assert_eq!(count_rows(&db, "request_types").await, 5);
    assert_eq!(count_rows(&db, "deadline_types").await, 4);
    let codes: Vec<String> =
        deadline_type::Entity::find().all(&db).await.unwrap().into_iter().map(|t| t.code).collect();
    assert_eq!(codes, ["fn", "ofd", "registration", "maintenance"]);

    Migrator::down(&db, None).await.unwrap();
    let left = tables(&db).await;
    for table in TABLES {
        assert!(!left.iter().any(|t| t == table), "{table} still there after down: {left:?}");
    }

    Migrator::up(&db, None).await.unwrap();
    assert_eq!(tables(&db).await.iter().filter(|t| TABLES.contains(&t.as_str())).count(), TABLES.len());
    assert_eq!(count_rows(&db, "request_types").await, 5, "reference data inserted once again, not twice");
    let _ = db.close().await;
}

fn assert_unique_violation<T: std::fmt::Debug>(result: Result<T, DbErr>, what: &str) {
    match result {
        Err(e) => assert!(kktbot::services::is_unique_violation(&e), "{what}: expected a unique violation, got {e}"),
        Ok(v) => panic!("{what}: a duplicate was accepted: {v:?}"),
    }
}

backend_test!(constraints_hold);
async fn constraints_hold(backend: Backend) {
    let test_db = TestDatabase::create(backend).await;
    let db = test_db.connect().await;
    Migrator::up(&db, None).await.unwrap();
    let now = Utc::now();

    let new_client = |inn: &str| client::ActiveModel {
        name: Set("ООО «Ромашка»".into()),
        inn: Set(inn.into()),
        is_active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    let acme = new_client("7707083893").insert(&db).await.unwrap();
    assert_eq!(acme.created_at.timestamp(), now.timestamp(), "timestamps round-trip");
    assert_unique_violation(new_client("7707083893").insert(&db).await, "client ИНН");

    let register = |serial: &str| cash_register::ActiveModel {
        client_id: Set(acme.id),
        model: Set("АТОЛ 30Ф".into()),
        serial_number: Set(serial.into()),
        is_active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    let kkt = register("00106700000001").insert(&db).await.unwrap();
    assert_unique_violation(register("00106700000001").insert(&db).await, "serial number");

    let contact = || contact::ActiveModel {
        client_id: Set(acme.id),
        telegram_id: Set(5_123_456_789),
        notify: Set(true),
        is_active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    let person = contact().insert(&db).await.unwrap();
    assert_unique_violation(contact().insert(&db).await, "contact per client and Telegram id");

    let fn_type = deadline_type::Entity::find().one(&db).await.unwrap().unwrap();
    let date = NaiveDate::from_ymd_opt(2027, 3, 1).unwrap();
    let due = deadline::ActiveModel {
        client_id: Set(acme.id),
        cash_register_id: Set(Some(kkt.id)),
        deadline_type_id: Set(fn_type.id),
        expiration_date: Set(date),
        status: Set(deadline::Status::Active),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&db)
    .await
    .unwrap();
    assert_eq!(due.expiration_date, date, "dates are dates");

    let log = || notification_log::ActiveModel {
        deadline_id: Set(due.id),
        contact_id: Set(person.id),
        days_before: Set(7),
        expiration_date: Set(date),
        status: Set("pending".into()),
        attempts: Set(0),
        created_at: Set(now),
        ..Default::default()
    };
    log().insert(&db).await.unwrap();
    assert_unique_violation(log().insert(&db).await, "one reminder per deadline, contact and threshold");

    let update = || processed_update::ActiveModel {
        update_id: Set(735_812_001),
        kind: Set("message".into()),
        processed_at: Set(now),
    };
    processed_update::Entity::insert(update()).exec_without_returning(&db).await.unwrap();
    assert_unique_violation(
        processed_update::Entity::insert(update()).exec_without_returning(&db).await,
        "processed update_id",
    );

    // A foreign key is enforced: a deadline for a client that does not exist is refused.
    let orphan = deadline::ActiveModel {
        client_id: Set(999_999),
        deadline_type_id: Set(fn_type.id),
        expiration_date: Set(date),
        status: Set(deadline::Status::Active),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&db)
    .await;
    assert!(orphan.is_err(), "a deadline of a missing client was accepted");
    let _ = db.close().await;
}
