//! kktbot's database schema, as sea-orm-migration migrations that run the same on SQLite,
//! PostgreSQL and MySQL/MariaDB. This crate never imports the application: tables are built with
//! schema helpers and reference data is inserted as plain rows.
//!
//! Where MySQL needs other types than the schema builder's, the helpers below give them: tables
//! are InnoDB in utf8mb4 with the binary collation (text compares and sorts exactly, as on the
//! other two databases: a unique e-mail or serial number is unique byte for byte), instants are
//! `DATETIME(6)` (MySQL's `TIMESTAMP` ends in 2038 and drops the microseconds), long text is
//! `MEDIUMTEXT` (`TEXT` holds 64 KiB).

pub use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

mod m20261122_000001_schema;
mod m20261122_000002_reference_data;
mod m20261122_000003_outbox_retry_policy;
mod m20261122_000004_outbox_scan_indexes;
mod m20261201_000010_outbox_claim_owner;
mod m20261201_000011_outbox_edit_of;
mod m20261201_000012_outbox_failed_at;
mod m20261201_000020_request_numbering_lock;
mod m20261201_000030_failed_updates;
mod m20261201_000040_user_sessions;
mod m20261201_000041_audit_log;
mod m20261201_000060_request_lifecycle;
mod m20261207_000080_request_assignee;
mod m20261207_000081_request_thread;
mod m20261207_000082_request_sla;
mod m20261207_000083_request_topics;
mod m20261207_000100_reminder_summaries;
mod m20261207_000101_search_text;
mod m20261207_000102_dashboard_indexes;
mod m20261207_000120_long_addresses;
mod m20261207_000130_stats_indexes;

/// Creates a table; on MySQL as InnoDB, utf8mb4 with the binary collation.
pub(crate) async fn create_table(m: &SchemaManager<'_>, mut table: TableCreateStatement) -> Result<(), DbErr> {
    if m.get_database_backend() == DbBackend::MySql {
        table.engine("InnoDB").character_set("utf8mb4").collate("utf8mb4_bin");
    }
    m.create_table(table).await
}

/// Plain indexes, each (name, table, columns), as the dashboard's migrations add them.
pub(crate) type Indexes = [(&'static str, &'static str, &'static [&'static str])];

/// Creates each of `indexes`.
pub(crate) async fn create_indexes(m: &SchemaManager<'_>, indexes: &Indexes) -> Result<(), DbErr> {
    for (name, table, columns) in indexes {
        let mut index = Index::create();
        index.name(*name).table(*table);
        for column in *columns {
            index.col(*column);
        }
        m.create_index(index.to_owned()).await?;
    }
    Ok(())
}

/// Drops each of `indexes`.
pub(crate) async fn drop_indexes(m: &SchemaManager<'_>, indexes: &Indexes) -> Result<(), DbErr> {
    for (name, table, _) in indexes {
        m.drop_index(Index::drop().name(*name).table(*table).to_owned()).await?;
    }
    Ok(())
}

fn is_mysql(m: &SchemaManager<'_>) -> bool {
    m.get_database_backend() == DbBackend::MySql
}

/// A point in time, not null: `timestamptz` on PostgreSQL, `DATETIME(6)` (UTC) on MySQL.
pub(crate) fn instant(m: &SchemaManager<'_>, name: &'static str) -> ColumnDef {
    if is_mysql(m) {
        ColumnDef::new(name).custom("DATETIME(6)").not_null().to_owned()
    } else {
        sea_orm_migration::schema::timestamp_with_time_zone(name)
    }
}

/// A point in time that may be null (see [`instant`]).
pub(crate) fn instant_null(m: &SchemaManager<'_>, name: &'static str) -> ColumnDef {
    if is_mysql(m) {
        ColumnDef::new(name).custom("DATETIME(6)").null().to_owned()
    } else {
        sea_orm_migration::schema::timestamp_with_time_zone_null(name)
    }
}

/// Text that may pass 64 KiB, not null: `MEDIUMTEXT` on MySQL.
pub(crate) fn long_text(m: &SchemaManager<'_>, name: &'static str) -> ColumnDef {
    if is_mysql(m) {
        ColumnDef::new(name).custom("MEDIUMTEXT").not_null().to_owned()
    } else {
        sea_orm_migration::schema::text(name)
    }
}

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
            Box::new(m20261201_000020_request_numbering_lock::Migration),
            Box::new(m20261207_000100_reminder_summaries::Migration),
            Box::new(m20261207_000080_request_assignee::Migration),
            Box::new(m20261207_000081_request_thread::Migration),
            Box::new(m20261207_000082_request_sla::Migration),
            Box::new(m20261207_000083_request_topics::Migration),
            Box::new(m20261207_000101_search_text::Migration),
            Box::new(m20261207_000102_dashboard_indexes::Migration),
            Box::new(m20261207_000120_long_addresses::Migration),
            Box::new(m20261207_000130_stats_indexes::Migration),
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
    "request_numbering",
    "reminder_summaries",
    "request_comments",
    "request_deliveries",
    "request_topics",
];
