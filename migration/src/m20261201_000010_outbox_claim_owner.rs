//! A claim on an outbox row belongs to its owner: the sender's term. `outbox_sender` holds the
//! current term (one row); a sender starting (after a restart, or on an instance that has just
//! become the leader) raises it and takes over at once the rows claimed in earlier terms, whose
//! owner is gone, instead of waiting for their lease to run out. `outgoing_messages.claimed_by`
//! is the term that claimed a row (empty when nobody holds it).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table("outgoing_messages").add_column(big_integer_null("claimed_by")).to_owned())
            .await?;
        crate::create_table(
            m,
            Table::create()
                .table("outbox_sender")
                .col(integer("id").primary_key())
                .col(big_integer("term").default(0))
                .col(crate::instant_null(m, "term_started_at"))
                .to_owned(),
        )
        .await?;
        m.exec_stmt(
            Query::insert()
                .into_table("outbox_sender")
                .columns(["id", "term"])
                .values_panic([1.into(), 0.into()])
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("outbox_sender").to_owned()).await?;
        m.alter_table(Table::alter().table("outgoing_messages").drop_column("claimed_by").to_owned()).await
    }
}
