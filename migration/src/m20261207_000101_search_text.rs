//! A `search` column on every table the REST API searches by people's text: the searched fields
//! lower-cased by Unicode's rules (in Rust: the application writes it on every save), one per
//! line. A search compares its lower-cased text with it, so «иванов» finds «Иванов» and «ООО»
//! finds «ооо» on every database; the databases' own `LOWER` would not do that on SQLite (ASCII
//! only) nor on a PostgreSQL database whose locale is `C`. Existing rows are filled here.
//!
//! No default is left on PostgreSQL and MySQL, so a row written without it fails loudly; SQLite
//! cannot add a NOT NULL column without a default, so it keeps an empty one.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Each table and its searched fields, in the order the application writes them.
const SEARCHED: &[(&str, &[&str])] = &[
    ("clients", &["name", "inn", "contact_person"]),
    ("cash_registers", &["model", "serial_number", "registration_number", "fiscal_drive_number"]),
    ("contacts", &["name"]),
    ("deadline_types", &["code", "name_ru", "name_en"]),
    ("deadlines", &["notes"]),
    ("ofd_providers", &["name", "inn"]),
    ("client_requests", &["description", "requester_name", "inn"]),
    ("administrators", &["name", "username"]),
    ("users", &["email", "name"]),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (table, fields) in SEARCHED {
            add_column(m, table).await?;
            fill(m, table, fields).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (table, _) in SEARCHED {
            m.alter_table(Table::alter().table(*table).drop_column("search").to_owned()).await?;
        }
        Ok(())
    }
}

async fn add_column(m: &SchemaManager<'_>, table: &'static str) -> Result<(), DbErr> {
    let column = match m.get_database_backend() {
        // Rows already there get '' (MySQL's implicit default); later inserts must give it.
        DbBackend::MySql => ColumnDef::new("search").custom("MEDIUMTEXT").not_null().to_owned(),
        _ => ColumnDef::new("search").text().not_null().default("").to_owned(),
    };
    m.alter_table(Table::alter().table(table).add_column(column).to_owned()).await?;
    if m.get_database_backend() == DbBackend::Postgres {
        m.get_connection().execute_unprepared(&format!("ALTER TABLE {table} ALTER COLUMN search DROP DEFAULT")).await?;
    }
    Ok(())
}

/// Writes the search text of every row that has one (an empty one is already there).
async fn fill(m: &SchemaManager<'_>, table: &'static str, fields: &[&'static str]) -> Result<(), DbErr> {
    let db = m.get_connection();
    let select = Query::select().column("id").columns(fields.iter().copied()).from(table).to_owned();
    for row in db.query_all(&select).await? {
        let mut values = Vec::with_capacity(fields.len());
        for field in fields {
            values.push(row.try_get::<Option<String>>("", field)?.unwrap_or_default().to_lowercase());
        }
        if values.iter().all(String::is_empty) {
            continue;
        }
        let id: i32 = row.try_get("", "id")?;
        let text = values.join("\n");
        let update = Query::update().table(table).value("search", text).and_where(Expr::col("id").eq(id)).to_owned();
        db.execute(&update).await?;
    }
    Ok(())
}
