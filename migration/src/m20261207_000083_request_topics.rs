//! The forum topic of each request in the administrators' group (`ADMIN_GROUP_CHAT_ID`, when the
//! group has topics): the outbox row that creates it, and its `message_thread_id` once Telegram
//! gave it, so every later message about the request goes to that topic. One topic per request
//! and group.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        crate::create_table(
            m,
            Table::create()
                .table("request_topics")
                .col(pk_auto("id"))
                .col(integer("request_id"))
                .col(big_integer("chat_id"))
                // The createForumTopic row (kept while the request is open: see the retention).
                .col(big_integer_null("outgoing_message_id"))
                .col(integer_null("message_thread_id"))
                .col(crate::instant(m, "created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_request_topics_request_id")
                        .from("request_topics", "request_id")
                        .to("client_requests", "id")
                        .on_delete(ForeignKeyAction::Cascade)
                        .on_update(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_request_topics_outgoing_message_id")
                        .from("request_topics", "outgoing_message_id")
                        .to("outgoing_messages", "id")
                        .on_delete(ForeignKeyAction::SetNull)
                        .on_update(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("uq_request_topics_request_chat")
                .table("request_topics")
                .col("request_id")
                .col("chat_id")
                .unique()
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("request_topics").to_owned()).await
    }
}
