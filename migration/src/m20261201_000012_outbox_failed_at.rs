//! When an outbox row failed for good (`failed_at`): the dashboard lists failed rows by it, and
//! an administrator who sends one again sees when it last failed.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter().table("outgoing_messages").add_column(crate::instant_null(m, "failed_at")).to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table("outgoing_messages").drop_column("failed_at").to_owned()).await
    }
}
