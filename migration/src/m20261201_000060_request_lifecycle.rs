//! Requests are worked after the decision: the status column takes the longer names of the
//! lifecycle (`in_progress`, `waiting_for_client`), and a request keeps when its work started
//! and when it was done. SQLite does not enforce a text column's length, so only PostgreSQL
//! and MySQL have the column widened.

use sea_orm_migration::sea_orm::DbBackend;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

async fn status_width(m: &SchemaManager<'_>, width: u32) -> Result<(), DbErr> {
    if m.get_database_backend() == DbBackend::Sqlite {
        return Ok(());
    }
    m.alter_table(
        Table::alter()
            .table("client_requests")
            .modify_column(string_len("status", width).default("pending"))
            .to_owned(),
    )
    .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        status_width(m, 32).await?;
        for column in ["started_at", "done_at"] {
            m.alter_table(
                Table::alter().table("client_requests").add_column(crate::instant_null(m, column)).to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for column in ["done_at", "started_at"] {
            m.alter_table(Table::alter().table("client_requests").drop_column(column).to_owned()).await?;
        }
        status_width(m, 16).await
    }
}
