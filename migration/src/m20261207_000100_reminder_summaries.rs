//! `reminder_summaries`: the administrators' daily summary, one row per day and administrator's
//! chat, inserted in the reminder run's transaction before the summary is queued in the outbox. A run finding
//! the row (a catch-up at start, a new leader, a run by hand) sends no second summary that day.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        crate::create_table(
            m,
            Table::create()
                .table("reminder_summaries")
                .col(big_pk_auto("id"))
                // The day of the run, in NOTIFICATION_TIMEZONE.
                .col(date("summary_date"))
                .col(big_integer("chat_id"))
                .col(crate::instant(m, "created_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("uq_reminder_summaries_once")
                .table("reminder_summaries")
                .col("summary_date")
                .col("chat_id")
                .unique()
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("reminder_summaries").to_owned()).await
    }
}
