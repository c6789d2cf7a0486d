//! What differs between the three databases in the SQL kktbot writes by hand: placeholders
//! (`$1` on SQLite and PostgreSQL, `?` on MySQL), inserting a row unless its unique key exists
//! (`ON CONFLICT … DO NOTHING` there; on MySQL, where an upsert cannot say whether it inserted,
//! a plain insert whose duplicate-key error counts as nothing inserted) and row-locking phrases.

use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbBackend, DbErr, Insert, Statement, Value};

/// A statement written with PostgreSQL's numbered placeholders (`$1`, `$2`, … each may appear
/// several times), for `backend`: on MySQL each `$n` becomes `?` and the values are repeated and
/// ordered to match. Text inside single quotes is left alone.
pub fn statement(backend: DbBackend, sql: &str, values: impl IntoIterator<Item = Value>) -> Statement {
    let values: Vec<Value> = values.into_iter().collect();
    if backend != DbBackend::MySql {
        return Statement::from_sql_and_values(backend, sql, values);
    }
    let (sql, order) = positional(sql);
    let values = order.into_iter().map(|n| values.get(n - 1).cloned().expect("a value for every placeholder"));
    Statement::from_sql_and_values(backend, sql, values)
}

/// `sql` with each `$n` outside quotes replaced by `?`, and the `n` of each in order.
fn positional(sql: &str) -> (String, Vec<usize>) {
    let mut out = String::with_capacity(sql.len());
    let mut order = Vec::new();
    let mut quoted = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            quoted = !quoted;
        }
        if c == '$' && !quoted && chars.peek().is_some_and(char::is_ascii_digit) {
            let mut n = 0usize;
            while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                n = n * 10 + d as usize;
                chars.next();
            }
            out.push('?');
            order.push(n);
        } else {
            out.push(c);
        }
    }
    (out, order)
}

/// Inserts the row(s) of `insert` unless one with the same unique key (`on_conflict` names it)
/// exists; returns how many were inserted (0: it existed).
pub async fn insert_new<A: ActiveModelTrait>(
    db: &impl ConnectionTrait,
    insert: Insert<A>,
    on_conflict: OnConflict,
) -> Result<u64, DbErr> {
    if db.get_database_backend() != DbBackend::MySql {
        return insert.on_conflict(on_conflict).exec_without_returning(db).await;
    }
    // A failed statement does not end a MySQL transaction: the rest of it goes on.
    match insert.exec_without_returning(db).await {
        Err(e) if crate::services::is_unique_violation(&e) => Ok(0),
        other => other,
    }
}

/// Executes `stmt`, an `INSERT` without a conflict clause, and returns whether it inserted; a
/// duplicate key counts as false (see [`insert_new`]).
pub async fn execute_insert_new(db: &impl ConnectionTrait, stmt: Statement) -> Result<bool, DbErr> {
    match db.execute_raw(stmt).await {
        Ok(done) => Ok(done.rows_affected() > 0),
        Err(e) if crate::services::is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The suffix of a `SELECT` that locks the rows it reads for the rest of the transaction, as
/// `FOR SHARE` does on PostgreSQL; nothing on SQLite, whose transaction holds the write lock.
pub fn lock_shared(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => " FOR SHARE",
        DbBackend::MySql => " LOCK IN SHARE MODE",
        _ => "",
    }
}

/// The suffix of a `SELECT` that locks its rows for update; nothing on SQLite.
pub fn lock_update(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Sqlite => "",
        _ => " FOR UPDATE",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_placeholders_become_positional_on_mysql() {
        let stmt = statement(
            DbBackend::MySql,
            "INSERT INTO t (a, b, c, d) VALUES ($2, $1, '$1', $2)",
            [Value::from(1i32), Value::from("b")],
        );
        assert_eq!(stmt.sql, "INSERT INTO t (a, b, c, d) VALUES (?, ?, '$1', ?)");
        assert_eq!(stmt.values.expect("values").0, [Value::from("b"), Value::from(1i32), Value::from("b")]);
    }

    #[test]
    fn other_backends_keep_numbered_placeholders() {
        let stmt = statement(DbBackend::Postgres, "SELECT $1, $1", [Value::from(1i32)]);
        assert_eq!(stmt.sql, "SELECT $1, $1");
        assert_eq!(stmt.values.expect("values").0, [Value::from(1i32)]);
    }
}
