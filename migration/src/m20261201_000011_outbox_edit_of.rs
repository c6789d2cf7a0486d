//! An edit of a message sent through the outbox names that message's row (`edit_of`), so a later
//! edit of the same message can be folded into whichever pending row still shapes it: the
//! message itself while it is queued, or the queued edit.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table("outgoing_messages").add_column(big_integer_null("edit_of")).to_owned())
            .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table("outgoing_messages").drop_column("edit_of").to_owned()).await
    }
}
