//! `request_numbering`: one row whose lock serialises the numbering of requests on MySQL. A
//! request's number is the largest one so far plus one, read in the filing transaction; on
//! PostgreSQL that transaction takes an advisory lock first and SQLite lets one writer in at a
//! time, but MySQL has no lock that ends with a transaction other than a row's. The filing
//! transaction locks this row (`FOR UPDATE`) before it reads the largest number, so two filings
//! never read the same one, and a filing rolled back gives its number back.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        crate::create_table(m, Table::create().table("request_numbering").col(integer("id").primary_key()).to_owned())
            .await?;
        m.exec_stmt(Query::insert().into_table("request_numbering").columns(["id"]).values_panic([1.into()]).to_owned())
            .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("request_numbering").to_owned()).await
    }
}
