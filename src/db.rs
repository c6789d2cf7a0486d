//! Opening the database (embedded SQLite or PostgreSQL) and running migrations.

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};

use crate::config::DatabaseUrl;

/// Connects to the database. For SQLite the file's directory is created first, and the file
/// runs in WAL mode with foreign keys enforced and a busy timeout so concurrent writers wait
/// instead of failing.
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
        });
    Database::connect(opts).await
}

/// Applies every pending migration; returns how many were applied.
pub async fn migrate_up(db: &DatabaseConnection) -> Result<usize, DbErr> {
    let pending = Migrator::get_pending_migrations(db).await?.len();
    Migrator::up(db, None).await?;
    Ok(pending)
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
