//! kktbot's database schema, as sea-orm-migration migrations that run the same on SQLite and
//! PostgreSQL. This crate never imports the application: tables are built with schema helpers
//! and reference data is inserted as plain rows.

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_schema;
mod m20261122_000002_reference_data;
mod m20261122_000003_outbox_retry_policy;
mod m20261122_000004_outbox_scan_indexes;
mod m20261201_000010_outbox_claim_owner;
mod m20261201_000011_outbox_edit_of;
mod m20261201_000012_outbox_failed_at;
mod m20261201_000030_failed_updates;
mod m20261201_000040_user_sessions;
mod m20261201_000041_audit_log;
mod m20261201_000060_request_lifecycle;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_schema::Migration),
            Box::new(m20261122_000002_reference_data::Migration),
            Box::new(m20261122_000003_outbox_retry_policy::Migration),
            Box::new(m20261122_000004_outbox_scan_indexes::Migration),
            Box::new(m20261201_000040_user_sessions::Migration),
            Box::new(m20261201_000030_failed_updates::Migration),
            Box::new(m20261201_000010_outbox_claim_owner::Migration),
            Box::new(m20261201_000041_audit_log::Migration),
            Box::new(m20261201_000011_outbox_edit_of::Migration),
            Box::new(m20261201_000012_outbox_failed_at::Migration),
            Box::new(m20261201_000060_request_lifecycle::Migration),
        ]
    }
}

/// Every table the migrations create, parents before children (foreign-key order).
pub const TABLES: &[&str] = &[
    "users",
    "administrators",
    "telegram_users",
    "clients",
    "contacts",
    "ofd_providers",
    "cash_registers",
    "deadline_types",
    "deadlines",
    "request_types",
    "client_requests",
    "request_events",
    "outgoing_messages",
    "request_messages",
    "invites",
    "notification_logs",
    "processed_updates",
    "failed_updates",
    "outbox_sender",
    "audit_log",
];
