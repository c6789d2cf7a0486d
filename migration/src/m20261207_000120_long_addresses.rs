//! Addresses of clients and cash registers take up to 1,000 characters (the API's bound), but on
//! MySQL/MariaDB the columns were `VARCHAR(255)`, which refused a longer address. They become
//! `TEXT` there; PostgreSQL's `varchar` without a length and SQLite's text hold any length already.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: [&str; 2] = ["clients", "cash_registers"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() == DbBackend::MySql {
            for table in TABLES {
                let alter =
                    Table::alter().table(table).modify_column(ColumnDef::new("address").text().null()).to_owned();
                m.alter_table(alter).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() == DbBackend::MySql {
            for table in TABLES {
                let alter =
                    Table::alter().table(table).modify_column(ColumnDef::new("address").string().null()).to_owned();
                m.alter_table(alter).await?;
            }
        }
        Ok(())
    }
}
