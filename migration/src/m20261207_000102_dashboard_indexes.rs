//! Indexes for the dashboard's lists and figures on a company-sized data set (issue 17; the
//! benchmark `benches/scale.rs` measures them). Each serves a filter together with the list's
//! order, ties broken by id as the lists break them, so a page is read off the index and a count
//! walks the matching range only:
//! - deadlines of a type, by expiration date (the deadline list's type filter);
//! - requests by filing time (the request list's default order, newest first);
//! - the reminder log by status and time (the log's status filter, newest first);
//! - the reminder log by status and delivery time (reminders sent over the last 7 days, on the
//!   dashboard's front page).
//!
//! Plain indexes: the same on SQLite, PostgreSQL and MySQL.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: [(&str, &str, &[&str]); 4] = [
    ("idx_deadlines_type_expiration", "deadlines", &["deadline_type_id", "expiration_date", "id"]),
    ("idx_client_requests_created", "client_requests", &["created_at", "id"]),
    ("idx_notification_logs_status_created", "notification_logs", &["status", "created_at", "id"]),
    ("idx_notification_logs_status_sent", "notification_logs", &["status", "sent_at"]),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        crate::create_indexes(m, &INDEXES).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() == DbBackend::MySql {
            // MySQL let the foreign key on deadline_type_id use the type index in place of the
            // index it had made for the key (named after it): that one comes back first.
            let index = Index::create()
                .name("fk_deadlines_deadline_type_id")
                .table("deadlines")
                .col("deadline_type_id")
                .to_owned();
            m.create_index(index).await?;
        }
        crate::drop_indexes(m, &INDEXES).await
    }
}
