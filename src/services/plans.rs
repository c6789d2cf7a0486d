//! The query plans of the dashboard's lists and figures on SQLite (issue 17): each query the
//! benchmark `benches/scale.rs` found slow at company scale reads the index migration 000102 made
//! for it — its rows in the list's order, so neither a scan of the table nor a sort. SQLite is
//! held to it without statistics (kktbot never runs ANALYZE), as in production.

use chrono::{TimeDelta, Utc};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, QuerySelect, QueryTrait, Statement};

use super::cash_registers;
use super::deadlines::{self, DeadlineFilter};
use super::listing::ListParams;
use super::reminder_log::{self, ReminderFilter};
use super::request_queries::{self, RequestFilter};

async fn migrated() -> DatabaseConnection {
    let db = Database::connect("sqlite::memory:").await.unwrap();
    crate::db::migrate_up(&db).await.unwrap();
    db
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

fn page(sort: &str) -> ListParams {
    ListParams::new(1, 20, Some(sort.into()), None)
}

/// Reads `index` and sorts nothing.
fn assert_reads(plan: &[String], index: &str) {
    assert!(plan.iter().any(|step| step.contains(&format!("INDEX {index}"))), "{index}: {plan:?}");
    assert!(!plan.iter().any(|step| step.contains("TEMP B-TREE")), "no sort: {plan:?}");
}

#[tokio::test]
async fn deadlines_of_a_type_are_read_in_date_order_off_their_index() {
    let db = migrated().await;
    let today = Utc::now().date_naive();
    let filter = DeadlineFilter { deadline_type_id: Some(1), ..Default::default() };
    let query = deadlines::list_query(&page("expiration_date"), &filter, today).unwrap().limit(20);
    assert_reads(&plan(&db, query.build(DbBackend::Sqlite)).await, "idx_deadlines_type_expiration");
    // Within N days as well: the range is on the same index.
    let filter = DeadlineFilter { deadline_type_id: Some(1), expiring_within: Some(30), ..Default::default() };
    let query = deadlines::list_query(&page("expiration_date"), &filter, today).unwrap().limit(20);
    assert_reads(&plan(&db, query.build(DbBackend::Sqlite)).await, "idx_deadlines_type_expiration");
}

#[tokio::test]
async fn requests_newest_first_are_read_off_the_filing_time_index() {
    let db = migrated().await;
    let query = request_queries::list_query(&page("-created_at"), &RequestFilter::default()).unwrap().limit(20);
    assert_reads(&plan(&db, query.build(DbBackend::Sqlite)).await, "idx_client_requests_created");
}

#[tokio::test]
async fn the_reminder_log_by_status_is_read_newest_first_off_its_index() {
    let db = migrated().await;
    let filter = ReminderFilter { status: Some("failed".into()), ..Default::default() };
    let query = reminder_log::list_query(&page("-created_at"), &filter).unwrap().limit(20);
    assert_reads(&plan(&db, query.build(DbBackend::Sqlite)).await, "idx_notification_logs_status_created");
}

#[tokio::test]
async fn reminders_sent_this_week_are_counted_off_the_delivery_time_index() {
    let db = migrated().await;
    let query = reminder_log::sent_since(Utc::now() - TimeDelta::days(7))
        .select_only()
        .column_as(sea_orm::sea_query::Expr::cust("COUNT(*)"), "n");
    let plan = plan(&db, query.build(DbBackend::Sqlite)).await;
    assert!(plan.iter().any(|s| s.contains("COVERING INDEX idx_notification_logs_status_sent")), "{plan:?}");
}

/// Reads `index` holding every column the query needs (no row lookups).
fn assert_covers(plan: &[String], index: &str) {
    assert!(plan.iter().any(|step| step.contains(&format!("COVERING INDEX {index}"))), "{index}: {plan:?}");
}

#[tokio::test]
async fn the_statistics_count_open_deadlines_off_covering_indexes_without_joining_clients() {
    let db = migrated().await;
    let query = deadlines::open_per_date_query(Utc::now().date_naive());
    let plan = plan(&db, query.build(DbBackend::Sqlite)).await;
    // Every client's, then the inactive clients' (their ids off their index, each one's open
    // deadlines off its range of the other).
    assert_covers(&plan, "idx_deadlines_status_expiration_client");
    assert_covers(&plan, "idx_clients_active");
    assert_covers(&plan, "idx_deadlines_client_status_expiration");
    assert!(!plan.iter().any(|step| step.contains("SCAN")), "no table or index read whole: {plan:?}");
}

#[tokio::test]
async fn the_statistics_count_active_cash_registers_off_a_covering_index_without_joining_clients() {
    let db = migrated().await;
    let plan = plan(&db, cash_registers::active_count_query().build(DbBackend::Sqlite)).await;
    assert_covers(&plan, "idx_cash_registers_active_client");
    assert_covers(&plan, "idx_clients_active");
    assert!(!plan.iter().any(|step| step.contains("SCAN")), "no table or index read whole: {plan:?}");
}
