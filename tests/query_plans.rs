//! The dashboard's queries read the indexes made for them (migrations 000102 and 000130) in the
//! plan each database chooses — PostgreSQL and MariaDB only once a table has rows and statistics,
//! so each test first writes a small company (1,000 clients, 3,000 cash registers, 10,000
//! deadlines, 5,000 requests, 20,000 rows of the reminder log, spread as a real company's are)
//! with `INSERT … SELECT` over a series of numbers, then gathers statistics as the database does
//! on its own after such a load (PostgreSQL's autovacuum: `VACUUM ANALYZE`; MariaDB's persistent
//! statistics: `ANALYZE TABLE`; SQLite none, as in production). The queries and their indexes
//! are `kktbot::services::indexed::dashboard_queries`; SQLite's plans are also checked without
//! data by the unit tests in `src/services/plans.rs`.

use chrono::Utc;
use kktbot::services::indexed::dashboard_queries;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use serde_json::Value;

use crate::support::{Backend, TestDatabase, backend_test};

const CLIENTS: u32 = 1_000;
const REGISTERS: u32 = 3_000;
const DEADLINES: u32 = 10_000;
const REQUESTS: u32 = 5_000;
const REMINDERS: u32 = 20_000;

/// Rows numbered 1 to `count` (column `n`), to select from.
fn numbers(backend: Backend, count: u32) -> String {
    match backend {
        Backend::Postgres => format!("generate_series(1, {count}) AS s (n)"),
        // MySQL 8 has no series and caps recursive CTEs at 1,000 rows: five digits crossed.
        _ => {
            let digit = "(SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 \
                         UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)";
            format!(
                "(SELECT a.d + 10 * b.d + 100 * c.d + 1000 * e.d + 10000 * f.d + 1 AS n \
                 FROM {digit} a, {digit} b, {digit} c, {digit} e, {digit} f) AS s WHERE n <= {count}"
            )
        }
    }
}

/// `days` (an SQL expression) days from today, a date.
fn days_from_today(backend: Backend, days: &str) -> String {
    match backend {
        Backend::Postgres => format!("CURRENT_DATE + ({days})"),
        Backend::MySql => format!("CURRENT_DATE + INTERVAL ({days}) DAY"),
        Backend::Sqlite => format!("date('now', ({days}) || ' days')"),
    }
}

/// `minutes` (an SQL expression) minutes ago, a time.
fn minutes_ago(backend: Backend, minutes: &str) -> String {
    match backend {
        Backend::Postgres => format!("now() - ({minutes}) * INTERVAL '1 minute'"),
        Backend::MySql => format!("NOW(6) - INTERVAL ({minutes}) MINUTE"),
        Backend::Sqlite => format!("strftime('%Y-%m-%d %H:%M:%S+00:00', 'now', '-' || ({minutes}) || ' minutes')"),
    }
}

/// The SQL expressions `parts` joined as text (`||` is no concatenation on MySQL, nor `CONCAT`
/// on SQLite before 3.44).
fn concat(backend: Backend, parts: &[&str]) -> String {
    match backend {
        Backend::Sqlite => parts.join(" || "),
        _ => format!("CONCAT({})", parts.join(", ")),
    }
}

/// A company: 10 % of the clients inactive (their registers and deadlines counted out of the
/// figures), deadlines from 400 days ago to 800 days ahead (most past ones closed, 30 % left
/// open), four deadline types, requests over two years, the reminder log over a year (95 % sent).
async fn generate(backend: Backend, db: &DatabaseConnection) {
    let now = minutes_ago(backend, "0");
    let offset = "(n * 7919) % 1200 - 400";
    let statements = [
        format!(
            "INSERT INTO clients (id, name, inn, is_active, created_at, updated_at, search) \
             SELECT n, {name}, {inn}, n % 10 <> 0, {now}, {now}, {search} FROM {numbers}",
            name = concat(backend, &["'ООО «Ромашка '", "n", "'»'"]),
            inn = concat(backend, &["'77'", "100000000 + n"]),
            search = concat(backend, &["'ооо «ромашка '", "n", "'» 77'", "100000000 + n", "' иванов сергей'"]),
            numbers = numbers(backend, CLIENTS),
        ),
        format!(
            "INSERT INTO contacts (id, client_id, telegram_id, notify, is_active, created_at, updated_at, search) \
             SELECT n, n, 6000000000 + n, {yes}, {yes}, {now}, {now}, '' FROM {numbers}",
            yes = if backend == Backend::Postgres { "TRUE" } else { "1" },
            numbers = numbers(backend, CLIENTS),
        ),
        format!(
            "INSERT INTO cash_registers (id, client_id, model, serial_number, registration_number, \
               fiscal_drive_number, is_active, created_at, updated_at, search) \
             SELECT n, n % {CLIENTS} + 1, 'АТОЛ 30Ф', {serial}, {registration}, {drive}, n % 20 <> 0, {now}, {now}, \
               {search} FROM {numbers}",
            serial = concat(backend, &["'00'", "4000000000 + n"]),
            registration = concat(backend, &["'000'", "1000000000000 + n"]),
            drive = concat(backend, &["'999'", "6000000000000 + n"]),
            search = concat(
                backend,
                &["'атол 30ф 00'", "4000000000 + n", "' 000'", "1000000000000 + n", "' 999'", "6000000000000 + n"],
            ),
            numbers = numbers(backend, REGISTERS),
        ),
        format!(
            "INSERT INTO deadlines (id, client_id, deadline_type_id, expiration_date, status, created_at, updated_at, search) \
             SELECT n, n % {CLIENTS} + 1, n % 4 + 1, {date}, \
               CASE WHEN {offset} < 0 AND n % 10 < 7 THEN 'closed' WHEN {offset} < 0 THEN 'expired' \
                    WHEN n % 20 = 0 THEN 'closed' ELSE 'active' END, {now}, {now}, '' FROM {numbers}",
            date = days_from_today(backend, offset),
            numbers = numbers(backend, DEADLINES),
        ),
        format!(
            "INSERT INTO client_requests (id, number, kind, description, requester_telegram_id, status, created_at, \
               updated_at, search) \
             SELECT n, n, 'service', 'Замена ФН', 6000000000 + n % {CLIENTS}, \
               CASE WHEN n % 10 < 5 THEN 'done' WHEN n % 10 < 7 THEN 'rejected' ELSE 'pending' END, {created}, \
               {created}, '' FROM {numbers}",
            created = minutes_ago(backend, "(n * 7919) % 1051200"),
            numbers = numbers(backend, REQUESTS),
        ),
        format!(
            "INSERT INTO notification_logs (id, deadline_id, contact_id, days_before, expiration_date, status, attempts, \
               created_at, sent_at) \
             SELECT n, n % {DEADLINES} + 1, n % {CLIENTS} + 1, CASE WHEN n <= {DEADLINES} THEN 14 ELSE 7 END, {date}, \
               CASE WHEN n % 100 < 95 THEN 'sent' WHEN n % 100 < 99 THEN 'failed' ELSE 'pending' END, 1, {created}, \
               CASE WHEN n % 100 < 95 THEN {created} END FROM {numbers}",
            date = days_from_today(backend, "n % 365"),
            created = minutes_ago(backend, "(n * 7919) % 525600"),
            numbers = numbers(backend, REMINDERS),
        ),
    ];
    for statement in statements {
        db.execute_unprepared(&statement).await.unwrap_or_else(|e| panic!("{e}: {statement}"));
    }
    let tables = "clients, contacts, cash_registers, deadlines, client_requests, notification_logs";
    match backend {
        Backend::Postgres => drop(db.execute_unprepared(&format!("VACUUM ANALYZE {tables}")).await.expect("vacuum")),
        Backend::MySql => drop(
            db.query_all_raw(Statement::from_string(DbBackend::MySql, format!("ANALYZE TABLE {tables}")))
                .await
                .expect("analyze"),
        ),
        Backend::Sqlite => {}
    }
}

/// The indexes the database's plan of `statement` reads.
async fn indexes_read(backend: Backend, db: &DatabaseConnection, statement: &Statement) -> (Vec<String>, String) {
    let explain = match backend {
        Backend::Postgres => "EXPLAIN (FORMAT JSON)",
        Backend::MySql => "EXPLAIN FORMAT=JSON",
        Backend::Sqlite => "EXPLAIN QUERY PLAN",
    };
    let values = statement.values.clone().map(|v| v.0).unwrap_or_default();
    let explain =
        Statement::from_sql_and_values(db.get_database_backend(), format!("{explain} {}", statement.sql), values);
    let rows = db.query_all_raw(explain).await.unwrap_or_else(|e| panic!("{e}: {}", statement.sql));
    if backend == Backend::Sqlite {
        let steps: Vec<String> = rows.iter().map(|row| row.try_get::<String>("", "detail").expect("detail")).collect();
        let read = steps.iter().filter_map(|step| Some(step.split_once("INDEX ")?.1.split(' ').next()?.to_owned()));
        return (read.collect(), steps.join("\n"));
    }
    let text = match backend {
        Backend::Postgres => rows[0].try_get_by_index::<Value>(0).expect("a JSON plan").to_string(),
        _ => rows[0].try_get_by_index::<String>(0).expect("a JSON plan"),
    };
    let plan: Value = serde_json::from_str(&text).expect("JSON");
    // PostgreSQL names an index a node reads "Index Name"; MariaDB and MySQL "key".
    let mut read = Vec::new();
    collect(&plan, if backend == Backend::Postgres { "Index Name" } else { "key" }, &mut read);
    (read, text)
}

/// Every string value of `field` anywhere in `value`.
fn collect(value: &Value, field: &str, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                match value {
                    Value::String(s) if key == field => found.push(s.clone()),
                    _ => collect(value, field, found),
                }
            }
        }
        Value::Array(values) => values.iter().for_each(|v| collect(v, field, found)),
        _ => {}
    }
}

backend_test!(the_dashboards_queries_read_their_indexes);
async fn the_dashboards_queries_read_their_indexes(backend: Backend) {
    let (_database, db) = TestDatabase::migrated(backend).await;
    generate(backend, &db).await;
    let mut missing = Vec::new();
    for query in dashboard_queries(db.get_database_backend(), Utc::now()) {
        let (read, plan) = indexes_read(backend, &db, &query.statement).await;
        // PostgreSQL hashes the inactive clients' ids where the others take them one by one.
        let client_by_client = if backend == Backend::Postgres { &[][..] } else { query.client_by_client };
        for index in query.indexes.iter().chain(client_by_client) {
            if !read.iter().any(|r| r == index) {
                missing.push(format!("{}: {index} not read (read {read:?}); plan:\n{plan}", query.query));
            }
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n\n"));
}
