//! The query plans of the dashboard's lists and figures on SQLite (issue 17): each query the
//! benchmark `benches/scale.rs` found slow at company scale reads the indexes migrations 000102
//! and 000130 made for it ([`super::indexed`]) — a list its rows in the list's order, so neither
//! a scan of the table nor a sort; a count an index holding every column it reads. SQLite is held
//! to it without statistics (kktbot never runs ANALYZE), as in production. PostgreSQL and MariaDB
//! are held to the same indexes in `tests/query_plans.rs`.

use chrono::Utc;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement};

use super::indexed::{Indexed, dashboard_queries};

async fn migrated() -> DatabaseConnection {
    let db = Database::connect("sqlite::memory:").await.unwrap();
    crate::db::migrate_up(&db).await.unwrap();
    db
}

/// The dashboard's query `name` as SQLite runs it.
fn query(name: &str) -> Indexed {
    dashboard_queries(DbBackend::Sqlite, Utc::now()).into_iter().find(|q| q.query == name).expect(name)
}

/// SQLite's plan of `statement`, a step a line.
async fn plan(db: &DatabaseConnection, statement: Statement) -> Vec<String> {
    let explain = Statement::from_sql_and_values(
        DbBackend::Sqlite,
        format!("EXPLAIN QUERY PLAN {}", statement.sql),
        statement.values.map(|v| v.0).unwrap_or_default(),
    );
    db.query_all_raw(explain).await.unwrap().iter().map(|row| row.try_get::<String>("", "detail").unwrap()).collect()
}

/// The plan of the dashboard's query `name`, which reads each of its indexes.
async fn plan_of(name: &str) -> Vec<String> {
    let query = query(name);
    let plan = plan(&migrated().await, query.statement).await;
    for index in query.indexes.iter().chain(query.client_by_client) {
        assert!(plan.iter().any(|step| step.contains(&format!("INDEX {index}"))), "{name}: {index}: {plan:?}");
    }
    plan
}

fn assert_sorts_nothing(plan: &[String]) {
    assert!(!plan.iter().any(|step| step.contains("TEMP B-TREE")), "no sort: {plan:?}");
}

/// Reads `index` holding every column the query needs (no row lookups).
fn assert_covers(plan: &[String], index: &str) {
    assert!(plan.iter().any(|step| step.contains(&format!("COVERING INDEX {index}"))), "{index}: {plan:?}");
}

#[tokio::test]
async fn deadlines_of_a_type_are_read_in_date_order_off_their_index() {
    assert_sorts_nothing(&plan_of("deadlines of a type by date").await);
    // Within N days as well: the range is on the same index.
    assert_sorts_nothing(&plan_of("deadlines of a type within 30 days by date").await);
}

#[tokio::test]
async fn requests_newest_first_are_read_off_the_filing_time_index() {
    assert_sorts_nothing(&plan_of("requests newest first").await);
}

#[tokio::test]
async fn the_reminder_log_by_status_is_read_newest_first_off_its_index() {
    assert_sorts_nothing(&plan_of("failed reminders newest first").await);
}

#[tokio::test]
async fn reminders_sent_this_week_are_counted_off_the_delivery_time_index() {
    assert_covers(&plan_of("reminders sent in the last 7 days").await, "idx_notification_logs_status_sent");
}

#[tokio::test]
async fn the_statistics_count_open_deadlines_off_covering_indexes_without_joining_clients() {
    let plan = plan_of("open deadlines of active clients per date").await;
    // Every client's, then the inactive clients' (their ids off their index, each one's open
    // deadlines off its range of the other).
    assert_covers(&plan, "idx_deadlines_status_expiration_client");
    assert_covers(&plan, "idx_clients_active");
    assert_covers(&plan, "idx_deadlines_client_status_expiration");
    assert!(!plan.iter().any(|step| step.contains("SCAN")), "no table or index read whole: {plan:?}");
}

#[tokio::test]
async fn the_statistics_count_active_cash_registers_off_a_covering_index_without_joining_clients() {
    let plan = plan_of("active cash registers of active clients").await;
    assert_covers(&plan, "idx_cash_registers_active_client");
    assert_covers(&plan, "idx_clients_active");
    assert!(!plan.iter().any(|step| step.contains("SCAN")), "no table or index read whole: {plan:?}");
}
