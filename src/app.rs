//! Building and running the server: bind the listener first (port 0 in tests), connect and
//! migrate, wire the state, then serve until a shutdown signal.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement, TransactionTrait};
use tokio::net::TcpListener;

use crate::config::Config;
use crate::http::{self, AppState};
use crate::services::{administrators, users};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("database: {0}")]
    Database(#[from] DbErr),
    #[error(transparent)]
    Domain(#[from] crate::error::Error),
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
}

#[derive(Clone, Copy, Debug)]
pub struct ServeOptions {
    /// Apply pending migrations before serving.
    pub migrate: bool,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self { migrate: true }
    }
}

/// A server that is bound and ready to run.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    initial_admin: Option<(String, String)>,
}

impl Application {
    pub async fn build(config: Config, options: ServeOptions) -> Result<Self, StartError> {
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| StartError::Bind { addr: config.listen, source })?;
        let db = crate::db::connect(&config.database_url).await?;
        if options.migrate {
            let applied = migrate_exclusively(&db).await?;
            if applied > 0 {
                tracing::info!(applied, "database migrations applied");
            }
        }
        for &telegram_id in &config.telegram.admin_ids {
            administrators::add(&db, telegram_id, None).await?;
        }
        let initial_admin = users::ensure_initial_admin(&db).await?;
        if config.telegram.bot_token.is_none() {
            tracing::warn!("TELEGRAM_BOT_TOKEN is not set: the Telegram bot is off; the API and dashboard work");
        }
        if config.jwt.secret.is_none() {
            tracing::warn!("JWT_SECRET_KEY is not set: a random key is used and dashboard logins end at restart");
        }
        let redis = config.redis_url.as_ref().map(crate::redis_store::connect).transpose()?;
        let state = AppState { db, redis, config: Arc::new(config) };
        Ok(Self { listener, state, initial_admin })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The dashboard administrator created on this first start, with its one-time password.
    pub fn initial_admin(&self) -> Option<&(String, String)> {
        self.initial_admin.as_ref()
    }

    /// Serves until `shutdown` completes, then stops accepting and lets in-flight requests finish.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        tracing::info!(addr = %self.local_addr(), database = %self.state.config.database_url.redacted(), "kktbot is listening");
        let router = http::router(self.state.clone());
        axum::serve(self.listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(shutdown)
            .await?;
        tracing::info!("kktbot stopped");
        Ok(())
    }
}

/// Runs pending migrations; on PostgreSQL under an advisory lock so that several instances
/// starting together migrate once.
pub async fn migrate_exclusively(db: &DatabaseConnection) -> Result<usize, DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return crate::db::migrate_up(db).await;
    }
    let lock = db.begin().await?;
    lock.execute_raw(Statement::from_string(DbBackend::Postgres, "SELECT pg_advisory_xact_lock(4242001)")).await?;
    let applied = crate::db::migrate_up(db).await;
    lock.commit().await?;
    applied
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown requested: finishing in-flight requests");
}
