//! Service levels: a request type may set its own hours to a decision and to done (null: the
//! configured defaults), and a request remembers when it was announced again for missing its
//! decision time (so that happens once) and when it was flagged for missing its done time.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds one at a time.
        for column in ["decision_sla_hours", "done_sla_hours"] {
            m.alter_table(Table::alter().table("request_types").add_column(integer_null(column)).to_owned()).await?;
        }
        for column in ["decision_sla_announced_at", "done_sla_flagged_at"] {
            m.alter_table(
                Table::alter().table("client_requests").add_column(crate::instant_null(m, column)).to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for column in ["done_sla_flagged_at", "decision_sla_announced_at"] {
            m.alter_table(Table::alter().table("client_requests").drop_column(column).to_owned()).await?;
        }
        for column in ["done_sla_hours", "decision_sla_hours"] {
            m.alter_table(Table::alter().table("request_types").drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
