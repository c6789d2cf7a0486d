//! A request's owner: the technician it is assigned to, a dashboard user or a Telegram
//! administrator (at most one of the two columns is set; the requests service keeps it so), and
//! when. A dashboard user may give their Telegram id, so that what is assigned to them reaches them
//! in Telegram too. Users and administrators are deactivated, never deleted, so the assignee
//! columns carry no foreign keys (SQLite cannot add one to an existing table).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: [(&str, &str, &str, bool); 3] = [
    ("client_requests", "idx_client_requests_assignee_user", "assignee_user_id", false),
    ("client_requests", "idx_client_requests_assignee_administrator", "assignee_administrator_id", false),
    ("users", "uq_users_telegram_id", "telegram_id", true),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds one at a time.
        for column in [integer_null("assignee_user_id"), integer_null("assignee_administrator_id")] {
            m.alter_table(Table::alter().table("client_requests").add_column(column).to_owned()).await?;
        }
        m.alter_table(
            Table::alter().table("client_requests").add_column(crate::instant_null(m, "assigned_at")).to_owned(),
        )
        .await?;
        m.alter_table(Table::alter().table("users").add_column(big_integer_null("telegram_id")).to_owned()).await?;
        for (table, name, column, unique) in INDEXES {
            let mut index = Index::create();
            index.name(name).table(table).col(column);
            if unique {
                index.unique();
            }
            m.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite drops no indexed column: the indexes go first.
        for (table, name, _, _) in INDEXES {
            m.drop_index(Index::drop().name(name).table(table).to_owned()).await?;
        }
        m.alter_table(Table::alter().table("users").drop_column("telegram_id").to_owned()).await?;
        for column in ["assigned_at", "assignee_administrator_id", "assignee_user_id"] {
            m.alter_table(Table::alter().table("client_requests").drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
