//! A message may carry its own retry policy (reminders: 3 attempts, 5 minutes apart), and a
//! reminder's log row is found from its outbox row.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table("outgoing_messages").add_column(integer_null("max_attempts")).to_owned())
            .await?;
        m.alter_table(
            Table::alter().table("outgoing_messages").add_column(integer_null("retry_delay_seconds")).to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_notification_logs_outgoing")
                .table("notification_logs")
                .col("outgoing_message_id")
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name("idx_notification_logs_outgoing").table("notification_logs").to_owned())
            .await?;
        // One column per statement: SQLite cannot drop several at once.
        m.alter_table(Table::alter().table("outgoing_messages").drop_column("retry_delay_seconds").to_owned()).await?;
        m.alter_table(Table::alter().table("outgoing_messages").drop_column("max_attempts").to_owned()).await
    }
}
