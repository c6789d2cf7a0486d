//! Sessions that end when they should: a user's tokens carry `token_version`, and a password
//! reset, a password change or a deactivation raises it, so every token issued before stops
//! working at once. `must_change_password` is set by an administrator's reset: the one-time
//! password only lets its holder choose a new one.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds one at a time.
        m.alter_table(Table::alter().table("users").add_column(integer("token_version").default(0)).to_owned()).await?;
        m.alter_table(
            Table::alter().table("users").add_column(boolean("must_change_password").default(false)).to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table("users").drop_column("must_change_password").to_owned()).await?;
        m.alter_table(Table::alter().table("users").drop_column("token_version").to_owned()).await
    }
}
