//! The audit log: one row per staff action, written in the action's own transaction. Who
//! (`actor_kind` user / administrator / cli / anonymous, `actor_id`, `actor_name`), from where
//! (`source` web / telegram / cli, `ip`, `user_agent`), when (`at`), what (`action`, `entity`,
//! `entity_id`) and the changed fields before → after (`changes`, JSON, never a secret). No
//! foreign keys: a row outlives the user or the client it names.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn index(name: &str, cols: &[&'static str]) -> IndexCreateStatement {
    let mut stmt = Index::create();
    stmt.name(name).table("audit_log");
    for col in cols {
        stmt.col(*col);
    }
    stmt.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        crate::create_table(
            m,
            Table::create()
                .table("audit_log")
                .col(big_pk_auto("id"))
                .col(crate::instant(m, "at"))
                .col(string_len("actor_kind", 16))
                .col(big_integer_null("actor_id"))
                .col(string_len("actor_name", 255))
                .col(string_len("source", 16))
                .col(string_len_null("ip", 64))
                .col(string_len_null("user_agent", 255))
                .col(string_len("action", 64))
                .col(string_len("entity", 32))
                .col(string_len_null("entity_id", 64))
                .col(json_null("changes"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("idx_audit_log_at", &["at"])).await?;
        m.create_index(index("idx_audit_log_entity", &["entity", "entity_id"])).await?;
        m.create_index(index("idx_audit_log_actor", &["actor_kind", "actor_id"])).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("audit_log").to_owned()).await
    }
}
