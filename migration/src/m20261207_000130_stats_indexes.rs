//! Indexes for the dashboard's statistics at company scale (issue 17; `benches/scale.rs`). The
//! figures count open deadlines and active cash registers of *active* clients; joining every
//! counted row to its client cost a lookup per row (100,000 deadlines, 30,000 registers). They
//! are now counted as all rows less those of the few inactive clients, each part off an index
//! that holds every column it reads:
//! - clients by their active flag (the inactive ones' ids);
//! - deadlines by client, status and expiration date (the inactive clients' open deadlines,
//!   client by client: what MariaDB and SQLite choose; PostgreSQL hashes the inactive clients'
//!   ids and reads their deadlines off the next index);
//! - deadlines by status, expiration date and client, in place of the index by status and
//!   expiration date it widens (every client's open deadlines, read off the index alone; any
//!   read the narrower one served, this one serves).
//! - cash registers by active flag and client (all active ones, and the inactive clients').
//!
//! Plain indexes: the same on SQLite, PostgreSQL and MySQL.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The index by status and expiration date that `idx_deadlines_status_expiration_client` widens.
const WIDENED: &str = "idx_deadlines_status_expiration";

const INDEXES: [(&str, &str, &[&str]); 4] = [
    ("idx_clients_active", "clients", &["is_active"]),
    ("idx_deadlines_client_status_expiration", "deadlines", &["client_id", "status", "expiration_date"]),
    ("idx_deadlines_status_expiration_client", "deadlines", &["status", "expiration_date", "client_id"]),
    ("idx_cash_registers_active_client", "cash_registers", &["is_active", "client_id"]),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        crate::create_indexes(m, &INDEXES).await?;
        m.drop_index(Index::drop().name(WIDENED).table("deadlines").to_owned()).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let widened = Index::create().name(WIDENED).table("deadlines").col("status").col("expiration_date").to_owned();
        m.create_index(widened).await?;
        crate::drop_indexes(m, &INDEXES).await
    }
}
