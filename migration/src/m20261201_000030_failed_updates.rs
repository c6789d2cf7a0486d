//! Dead letters: a Telegram update that failed because of its own content (not because the
//! database or Redis was unreachable) is recorded as processed, so Telegram does not deliver it
//! again, and kept here with its error and body for an administrator to look at.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        crate::create_table(
            m,
            Table::create()
                .table("failed_updates")
                .col(big_integer("update_id").primary_key())
                .col(string_len("kind", 32))
                // Who sent it and where an answer goes, when the update says.
                .col(big_integer_null("telegram_id"))
                .col(big_integer_null("chat_id"))
                .col(text("error"))
                // The update as received (JSON), cut at 64 KiB.
                .col(crate::long_text(m, "body"))
                .col(crate::instant(m, "failed_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("idx_failed_updates_at").table("failed_updates").col("failed_at").to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("failed_updates").to_owned()).await
    }
}
