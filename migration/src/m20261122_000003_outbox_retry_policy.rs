//! A message may carry its own retry policy (reminders: 3 attempts, 5 minutes apart), and a
//! reminder's log row is found from its outbox row.

use sea_orm_migration::sea_orm::DbBackend;
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
        if m.get_database_backend() == DbBackend::MySql {
            // MySQL's foreign key on the column uses this index (it dropped its own when this one
            // came): put its own back in the same statement.
            m.get_connection()
                .execute_unprepared(
                    "ALTER TABLE notification_logs DROP INDEX idx_notification_logs_outgoing, \
                     ADD INDEX fk_notification_logs_outgoing_message_id (outgoing_message_id)",
                )
                .await?;
        } else {
            m.drop_index(Index::drop().name("idx_notification_logs_outgoing").table("notification_logs").to_owned())
                .await?;
        }
        // One column per statement: SQLite cannot drop several at once.
        m.alter_table(Table::alter().table("outgoing_messages").drop_column("retry_delay_seconds").to_owned()).await?;
        m.alter_table(Table::alter().table("outgoing_messages").drop_column("max_attempts").to_owned()).await
    }
}
