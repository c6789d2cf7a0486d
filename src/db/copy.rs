//! `kktbot db copy`: copies every table from one database (the embedded SQLite) into a
//! PostgreSQL or MySQL/MariaDB database, keeping ids, then verifies row counts and content
//! checksums.
//!
//! The copy is generic over the tables ([`migration::TABLES`], parents first): the column list
//! and each column's type come from the target's `information_schema`, rows are read in
//! primary-key order as typed values and written with batched `INSERT`s built by sea-query, all
//! in one transaction on the target. PostgreSQL's sequences are then moved past the largest id
//! (MySQL moves a table's `AUTO_INCREMENT` past an id inserted by itself). The checksum
//! of a table is a 64-bit FNV-1a hash over its rows in primary-key order, each value normalised
//! to text (timestamps in UTC to the microsecond, JSON re-serialised with sorted keys, NULL as
//! its own marker), read through the same code on both sides.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, SubsecRound, Utc};
use migration::{Migrator, MigratorTrait};
use sea_orm::sea_query::{Alias, Expr, Query};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, QueryResult, Statement, TransactionTrait, Value};

use crate::config::DatabaseUrl;

/// Rows per `INSERT`.
pub const BATCH: usize = 500;

/// The type of a column, as far as copying and hashing need it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    I16,
    I32,
    I64,
    F32,
    F64,
    Bool,
    Text,
    Json,
    TimestampTz,
    Timestamp,
    Date,
    Time,
    Bytes,
}

impl Kind {
    /// A MySQL column's type from its `data_type` and `column_type`. `tinyint(1)` is a boolean;
    /// `DATETIME(6)` holds UTC. MariaDB's JSON is `longtext` (with a check): copied as text,
    /// byte for byte.
    fn from_mysql(data_type: &str, column_type: &str) -> Result<Self, DbErr> {
        Ok(match data_type {
            "tinyint" if column_type.starts_with("tinyint(1)") => Kind::Bool,
            "smallint" | "tinyint" => Kind::I16,
            "int" | "mediumint" => Kind::I32,
            "bigint" => Kind::I64,
            "float" => Kind::F32,
            "double" => Kind::F64,
            "varchar" | "char" | "text" | "tinytext" | "mediumtext" | "longtext" => Kind::Text,
            "json" => Kind::Json,
            "datetime" | "timestamp" => Kind::TimestampTz,
            "date" => Kind::Date,
            "time" => Kind::Time,
            "blob" | "mediumblob" | "longblob" | "varbinary" | "binary" => Kind::Bytes,
            other => return Err(DbErr::Custom(format!("db copy: unsupported column type {other}"))),
        })
    }

    fn from_pg(data_type: &str) -> Result<Self, DbErr> {
        Ok(match data_type {
            "smallint" => Kind::I16,
            "integer" => Kind::I32,
            "bigint" => Kind::I64,
            "real" => Kind::F32,
            "double precision" => Kind::F64,
            "boolean" => Kind::Bool,
            "text" | "character varying" | "character" => Kind::Text,
            "json" | "jsonb" => Kind::Json,
            "timestamp with time zone" => Kind::TimestampTz,
            "timestamp without time zone" => Kind::Timestamp,
            "date" => Kind::Date,
            "time without time zone" => Kind::Time,
            "bytea" => Kind::Bytes,
            other => return Err(DbErr::Custom(format!("db copy: unsupported column type {other}"))),
        })
    }
}

#[derive(Clone, Debug)]
struct Column {
    name: String,
    kind: Kind,
}

#[derive(Clone, Debug)]
struct Table {
    name: String,
    columns: Vec<Column>,
    /// Primary-key columns, in key order.
    key: Vec<String>,
}

impl Table {
    fn select(&self, backend: DbBackend) -> Statement {
        let q = |name: &str| quote(backend, name);
        let cols = self.columns.iter().map(|c| q(&c.name)).collect::<Vec<_>>().join(", ");
        let order = self.key.iter().map(|c| q(c)).collect::<Vec<_>>().join(", ");
        Statement::from_string(backend, format!("SELECT {cols} FROM {} ORDER BY {order}", q(&self.name)))
    }

    /// Reads one row as values fit for an insert (timestamps cut to microseconds, as PostgreSQL
    /// keeps them).
    fn values(&self, row: &QueryResult) -> Result<Vec<Value>, DbErr> {
        self.columns.iter().map(|c| read(row, c)).collect()
    }
}

fn quote(backend: DbBackend, ident: &str) -> String {
    if backend == DbBackend::MySql {
        format!("`{}`", ident.replace('`', "``"))
    } else {
        format!("\"{}\"", ident.replace('"', "\"\""))
    }
}

fn read(row: &QueryResult, c: &Column) -> Result<Value, DbErr> {
    let n = c.name.as_str();
    let e = |e: sea_orm::TryGetError| DbErr::Custom(format!("db copy: column {n}: {e:?}"));
    Ok(match c.kind {
        Kind::I16 => Value::SmallInt(row.try_get::<Option<i16>>("", n).map_err(|x| e(x.into()))?),
        Kind::I32 => Value::Int(row.try_get::<Option<i32>>("", n).map_err(|x| e(x.into()))?),
        Kind::I64 => Value::BigInt(row.try_get::<Option<i64>>("", n).map_err(|x| e(x.into()))?),
        Kind::F32 => Value::Float(row.try_get::<Option<f32>>("", n).map_err(|x| e(x.into()))?),
        Kind::F64 => Value::Double(row.try_get::<Option<f64>>("", n).map_err(|x| e(x.into()))?),
        Kind::Bool => Value::Bool(row.try_get::<Option<bool>>("", n).map_err(|x| e(x.into()))?),
        Kind::Text => Value::String(row.try_get::<Option<String>>("", n).map_err(|x| e(x.into()))?),
        Kind::Json => {
            Value::Json(row.try_get::<Option<serde_json::Value>>("", n).map_err(|x| e(x.into()))?.map(Box::new))
        }
        Kind::TimestampTz => Value::ChronoDateTimeUtc(
            row.try_get::<Option<DateTime<Utc>>>("", n).map_err(|x| e(x.into()))?.map(|t| t.trunc_subsecs(6)),
        ),
        Kind::Timestamp => Value::ChronoDateTime(
            row.try_get::<Option<NaiveDateTime>>("", n).map_err(|x| e(x.into()))?.map(|t| t.trunc_subsecs(6)),
        ),
        Kind::Date => Value::ChronoDate(row.try_get::<Option<NaiveDate>>("", n).map_err(|x| e(x.into()))?),
        Kind::Time => Value::ChronoTime(
            row.try_get::<Option<NaiveTime>>("", n).map_err(|x| e(x.into()))?.map(|t| t.trunc_subsecs(6)),
        ),
        Kind::Bytes => Value::Bytes(row.try_get::<Option<Vec<u8>>>("", n).map_err(|x| e(x.into()))?),
    })
}

/// A value as text, the same on both backends.
fn normalise(v: &Value) -> String {
    const NULL: &str = "\u{0}NULL";
    fn or_null<T>(v: &Option<T>, f: impl Fn(&T) -> String) -> String {
        v.as_ref().map_or_else(|| NULL.to_string(), f)
    }
    match v {
        Value::SmallInt(x) => or_null(x, ToString::to_string),
        Value::Int(x) => or_null(x, ToString::to_string),
        Value::BigInt(x) => or_null(x, ToString::to_string),
        Value::Float(x) => or_null(x, ToString::to_string),
        Value::Double(x) => or_null(x, ToString::to_string),
        Value::Bool(x) => or_null(x, ToString::to_string),
        Value::String(x) => or_null(x, Clone::clone),
        Value::Json(x) => or_null(x, |j| j.to_string()),
        Value::ChronoDateTimeUtc(x) => or_null(x, |t| t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()),
        Value::ChronoDateTime(x) => or_null(x, |t| t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()),
        Value::ChronoDate(x) => or_null(x, ToString::to_string),
        Value::ChronoTime(x) => or_null(x, |t| t.format("%H:%M:%S%.6f").to_string()),
        Value::Bytes(x) => or_null(x, |b| b.iter().map(|b| format!("{b:02x}")).collect()),
        other => format!("{other:?}"),
    }
}

/// 64-bit FNV-1a.
#[derive(Clone, Copy)]
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// What was copied and verified for one table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableReport {
    pub table: String,
    pub source_rows: u64,
    pub target_rows: u64,
    pub source_checksum: String,
    pub target_checksum: String,
}

impl TableReport {
    pub fn matches(&self) -> bool {
        self.source_rows == self.target_rows && self.source_checksum == self.target_checksum
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("database: {0}")]
    Database(#[from] DbErr),
    #[error("the target is SQLite; copy into PostgreSQL or MySQL")]
    TargetIsSqlite,
    #[error("the target database is not empty ({0}); pass --force to replace its contents")]
    TargetNotEmpty(String),
    #[error("the source database has {0} pending migration(s); run `kktbot migrate up` on it first")]
    SourceNotMigrated(usize),
}

/// Tables whose rows the migrations insert themselves (reference data): a target holding only
/// those counts as empty.
const REFERENCE_TABLES: &[&str] =
    &["request_types", "deadline_types", "ofd_providers", "outbox_sender", "request_numbering"];

/// Copies `from` into `to` and verifies the copy; `progress` is told what happens. Returns the
/// per-table report (check [`TableReport::matches`]).
pub async fn copy(
    from: &DatabaseUrl,
    to: &DatabaseUrl,
    force: bool,
    progress: &mut dyn FnMut(String),
) -> Result<Vec<TableReport>, CopyError> {
    if to.is_sqlite() {
        return Err(CopyError::TargetIsSqlite);
    }
    let source = crate::db::connect(from).await?;
    let target = crate::db::connect(to).await?;
    let pending = Migrator::get_pending_migrations(&source).await?.len();
    if pending > 0 {
        return Err(CopyError::SourceNotMigrated(pending));
    }
    let applied = super::migrate_exclusively(&target).await?;
    progress(format!("target schema up to date ({applied} migration(s) applied)"));
    let mut tables = Vec::new();
    for name in migration::TABLES {
        tables.push(describe(&target, name).await?);
    }
    let mut filled = Vec::new();
    for t in &tables {
        let n = count(&target, &t.name).await?;
        if n > 0 && !REFERENCE_TABLES.contains(&t.name.as_str()) {
            filled.push(format!("{}: {n} rows", t.name));
        }
    }
    if !filled.is_empty() && !force {
        return Err(CopyError::TargetNotEmpty(filled.join(", ")));
    }
    let backend = target.get_database_backend();
    let txn = target.begin().await?;
    for t in tables.iter().rev() {
        txn.execute_raw(Statement::from_string(backend, format!("DELETE FROM {}", quote(backend, &t.name)))).await?;
    }
    for t in &tables {
        let rows = source.query_all_raw(t.select(source.get_database_backend())).await?;
        let total = rows.len();
        let mut done = 0;
        for chunk in rows.chunks(BATCH) {
            let mut insert = Query::insert();
            insert.into_table(Alias::new(&t.name)).columns(t.columns.iter().map(|c| Alias::new(&c.name)));
            for row in chunk {
                insert.values_panic(t.values(row)?.into_iter().map(Expr::val));
            }
            txn.execute(&insert).await?;
            done += chunk.len();
        }
        if backend == DbBackend::Postgres {
            reset_sequences(&txn, t).await?;
        }
        progress(format!("copied {:<20} {done:>8} / {total} rows", t.name));
    }
    txn.commit().await?;
    let mut report = Vec::new();
    for t in &tables {
        let (source_rows, source_checksum) = checksum(&source, t).await?;
        let (target_rows, target_checksum) = checksum(&target, t).await?;
        report.push(TableReport { table: t.name.clone(), source_rows, target_rows, source_checksum, target_checksum });
    }
    source.close().await?;
    target.close().await?;
    Ok(report)
}

/// Columns (with types) and primary key of a table, from the target's catalogue.
async fn describe(db: &DatabaseConnection, table: &str) -> Result<Table, DbErr> {
    let backend = db.get_database_backend();
    let mysql = backend == DbBackend::MySql;
    let columns_sql = if mysql {
        "SELECT column_name AS name, data_type AS data_type, CAST(column_type AS CHAR) AS column_type \
         FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = $1 \
         ORDER BY ordinal_position"
    } else {
        "SELECT column_name::text AS name, data_type::text AS data_type, ''::text AS column_type \
         FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position"
    };
    let columns = db
        .query_all_raw(crate::sql::statement(backend, columns_sql, [table.into()]))
        .await?
        .iter()
        .map(|r| {
            let name: String = r.try_get("", "name")?;
            let data_type: String = r.try_get("", "data_type")?;
            let column_type: String = r.try_get("", "column_type")?;
            let kind = if mysql { Kind::from_mysql(&data_type, &column_type)? } else { Kind::from_pg(&data_type)? };
            Ok(Column { name, kind })
        })
        .collect::<Result<Vec<_>, DbErr>>()?;
    if columns.is_empty() {
        return Err(DbErr::Custom(format!("db copy: the target has no table {table}")));
    }
    let schema = if mysql { "DATABASE()" } else { "current_schema()" };
    let name = if mysql { "k.column_name" } else { "k.column_name::text" };
    let key_sql = format!(
        "SELECT {name} AS name FROM information_schema.table_constraints c \
         JOIN information_schema.key_column_usage k ON k.constraint_name = c.constraint_name \
           AND k.table_schema = c.table_schema AND k.table_name = c.table_name \
         WHERE c.constraint_type = 'PRIMARY KEY' AND c.table_schema = {schema} AND c.table_name = $1 \
         ORDER BY k.ordinal_position"
    );
    let key = db
        .query_all_raw(crate::sql::statement(backend, &key_sql, [table.into()]))
        .await?
        .iter()
        .map(|r| r.try_get::<String>("", "name"))
        .collect::<Result<Vec<_>, _>>()?;
    let key = if key.is_empty() { columns.iter().map(|c| c.name.clone()).collect() } else { key };
    Ok(Table { name: table.to_string(), columns, key })
}

async fn count(db: &impl ConnectionTrait, table: &str) -> Result<u64, DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT COUNT(*) AS n FROM {}", quote(db.get_database_backend(), table)),
        ))
        .await?
        .ok_or_else(|| DbErr::Custom("count returned no row".into()))?;
    Ok(u64::try_from(row.try_get::<i64>("", "n")?).unwrap_or_default())
}

/// Moves each serial column's sequence past the largest value copied.
async fn reset_sequences(db: &impl ConnectionTrait, t: &Table) -> Result<(), DbErr> {
    for c in t.columns.iter().filter(|c| matches!(c.kind, Kind::I16 | Kind::I32 | Kind::I64)) {
        let table = quote(DbBackend::Postgres, &t.name);
        let col = quote(DbBackend::Postgres, &c.name);
        let sql = format!(
            "SELECT setval(s, COALESCE((SELECT MAX({col}) FROM {table}), 1), (SELECT MAX({col}) FROM {table}) IS NOT NULL) \
             FROM pg_get_serial_sequence($1, $2) AS s WHERE s IS NOT NULL"
        );
        db.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            [table.clone().into(), c.name.clone().into()],
        ))
        .await?;
    }
    Ok(())
}

/// Row count and content checksum of a table.
async fn checksum(db: &DatabaseConnection, t: &Table) -> Result<(u64, String), DbErr> {
    let rows = db.query_all_raw(t.select(db.get_database_backend())).await?;
    let mut hash = Fnv::new();
    for row in &rows {
        for v in t.values(row)? {
            hash.write(normalise(&v).as_bytes());
            hash.write(&[0x1f]);
        }
        hash.write(&[0x1e]);
    }
    Ok((rows.len() as u64, format!("{:016x}", hash.0)))
}
