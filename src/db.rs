//! Opening the database (embedded SQLite, PostgreSQL or MySQL/MariaDB), running migrations
//! (under a lock, so instances starting together migrate once) and copying one database into
//! another ([`copy`], `kktbot db copy`).

use std::sync::Arc;
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, Statement, TransactionTrait,
};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::config::DatabaseUrl;

pub mod copy;

/// Connects to the database. For SQLite the file's directory is created first, and the file
/// runs in WAL mode with foreign keys enforced and a busy timeout so concurrent writers wait
/// instead of failing. MySQL connections run their transactions at READ COMMITTED, as
/// PostgreSQL's do: each statement sees what was committed before it (MySQL's default, REPEATABLE
/// READ, would keep a transaction's first snapshot, so a number read after waiting for a lock
/// could be stale), and in UTC (sqlx sets the session's time zone to +00:00).
pub async fn connect(url: &DatabaseUrl) -> Result<DatabaseConnection, DbErr> {
    if url.is_sqlite() {
        create_sqlite_dir(url.expose())?;
    }
    let mut opts = ConnectOptions::new(url.expose());
    opts.connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        .sqlx_logging(false)
        // Telegram opens up to 40 webhook connections at once (setWebhook's default): on
        // PostgreSQL each may hold a connection for its transaction.
        .max_connections(if url.is_sqlite() { 8 } else { 48 })
        .min_connections(1)
        .map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
        })
        .map_sqlx_mysql_pool_opts(|o| {
            o.after_connect(|conn, _| {
                Box::pin(async move {
                    use sea_orm::sqlx::Executor;
                    conn.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED").await.map(drop)
                })
            })
        });
    Database::connect(opts).await
}

/// Puts the busiest writers (the webhook's transactions, the sender's claims and outcomes) in
/// one queue inside the process when the database is SQLite, which lets one writer in at a
/// time. Without it they race for SQLite's lock and the losers sleep in its busy handler (1, 2,
/// 5 … 100 ms between tries), which is what made the webhook's slowest answers slow; the queue
/// hands the lock on in arrival order instead. Other writers still wait in the busy handler. On
/// PostgreSQL, which has row locks, it does nothing. Clones share the queue.
#[derive(Clone, Debug, Default)]
pub struct WriteGate(Option<Arc<Mutex<()>>>);

impl WriteGate {
    pub fn for_database(db: &DatabaseConnection) -> Self {
        Self((db.get_database_backend() == DbBackend::Sqlite).then(Arc::default))
    }

    /// Waits for this writer's turn, which lasts until the returned guard is dropped.
    pub async fn turn(&self) -> Option<OwnedMutexGuard<()>> {
        match &self.0 {
            Some(queue) => Some(queue.clone().lock_owned().await),
            None => None,
        }
    }
}

/// Applies every pending migration; returns how many were applied.
pub async fn migrate_up(db: &DatabaseConnection) -> Result<usize, DbErr> {
    let pending = Migrator::get_pending_migrations(db).await?.len();
    Migrator::up(db, None).await?;
    Ok(pending)
}

/// Runs pending migrations; on PostgreSQL under an advisory lock, on MySQL under a named lock
/// (`GET_LOCK`, held by a connection taken out of the pool for it, so it ends with that
/// connection if this process dies), so that several instances starting together migrate once.
pub async fn migrate_exclusively(db: &DatabaseConnection) -> Result<usize, DbErr> {
    match db.get_database_backend() {
        DbBackend::Postgres => {}
        DbBackend::MySql => return migrate_under_mysql_lock(db).await,
        _ => return migrate_up(db).await,
    }
    let lock = db.begin().await?;
    lock.execute_raw(Statement::from_string(DbBackend::Postgres, "SELECT pg_advisory_xact_lock(4242001)")).await?;
    let applied = migrate_up(db).await;
    lock.commit().await?;
    applied
}

async fn migrate_under_mysql_lock(db: &DatabaseConnection) -> Result<usize, DbErr> {
    use sea_orm::sqlx::Connection;
    let error = |e: sea_orm::sqlx::Error| DbErr::Custom(format!("the migration lock: {e}"));
    let mut lock = db.get_mysql_connection_pool().acquire().await.map_err(error)?.detach();
    loop {
        // 1: taken; 0: another instance still migrates after a minute, wait on.
        let taken: Option<i64> =
            sea_orm::sqlx::query_scalar("SELECT GET_LOCK(CONCAT('kktbot.migrate.', DATABASE()), 60)")
                .fetch_one(&mut lock)
                .await
                .map_err(error)?;
        if taken == Some(1) {
            break;
        }
    }
    let applied = migrate_up(db).await;
    // Closing the connection releases the lock.
    lock.close().await.map_err(error)?;
    applied
}

fn create_sqlite_dir(url: &str) -> Result<(), DbErr> {
    let path = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() || path.starts_with(":memory:") {
        return Ok(());
    }
    match std::path::Path::new(path).parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir)
            .map_err(|e| DbErr::Custom(format!("cannot create the database directory {}: {e}", dir.display()))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_writers_take_turns_in_arrival_order() {
        let db = Database::connect("sqlite::memory:").await.unwrap();
        let gate = WriteGate::for_database(&db);
        let first = gate.turn().await;
        assert!(first.is_some());
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut waiting = Vec::new();
        for n in 0..3 {
            let (gate, order) = (gate.clone(), order.clone());
            waiting.push(tokio::spawn(async move {
                let _turn = gate.turn().await;
                order.lock().unwrap().push(n);
            }));
            // Let this writer join the queue before the next one.
            tokio::task::yield_now().await;
        }
        assert!(order.lock().unwrap().is_empty(), "nobody passes while a turn is held");
        drop(first);
        for task in waiting {
            task.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), [0, 1, 2]);
    }

    #[test]
    fn sqlite_directory_is_created() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("nested/data");
        let url = format!("sqlite://{}/kktbot.db?mode=rwc", dir.display());
        super::create_sqlite_dir(&url).unwrap();
        assert!(dir.is_dir());
        super::create_sqlite_dir("sqlite::memory:").unwrap();
    }
}
