//! One leader for background work (the outgoing-message sender and the reminder scheduler).
//!
//! On PostgreSQL the leader is the instance holding a session-level advisory lock
//! ([`LOCK_KEY`]) on a dedicated connection of its own (not a pooled one, which could go back to
//! the pool or be recycled). Instances that do not hold it try again every [`RETRY_EVERY`]; the
//! leader checks its connection as often, and losing it (or failing the check for
//! [`CHECK_TIMEOUT`]) ends the leadership: the work is stopped. When a leader dies, PostgreSQL
//! ends its session and releases the lock, and another instance takes it within
//! [`RETRY_EVERY`] (plus a connection). On MySQL the same is done with a named lock
//! (`GET_LOCK`, [`MYSQL_TRY_LOCK`]), which is also its session's and ends with it. On SQLite the
//! one process is always the leader.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use sea_orm::sqlx::{Connection, MySqlConnection, PgConnection};
use tokio::sync::watch;

use crate::config::DatabaseUrl;

/// The advisory lock key of leadership (distinct from the migration lock, 4242001, and the
/// request-numbering lock, 4242002).
pub const LOCK_KEY: i64 = 4_242_003;
/// How often a non-leader tries to take the lock, and how often the leader checks its connection.
pub const RETRY_EVERY: Duration = Duration::from_secs(2);
/// A lock connection that does not answer a check within this long counts as lost.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// Takes the leader's lock on MySQL if it is free (1: taken). Named locks belong to the server,
/// not to a database, so the name holds the database's: instances of different databases do not
/// compete (the migration lock is `kktbot.migrate.<database>`).
const MYSQL_TRY_LOCK: &str = "SELECT GET_LOCK(CONCAT('kktbot.leader.', DATABASE()), 0)";
const MYSQL_UNLOCK: &str = "SELECT RELEASE_LOCK(CONCAT('kktbot.leader.', DATABASE()))";

/// The dedicated connection holding (or trying) the leader's lock.
enum LockConnection {
    Postgres(PgConnection),
    MySql(MySqlConnection),
}

impl LockConnection {
    async fn open(url: &str) -> Result<Self, sea_orm::sqlx::Error> {
        Ok(if url.starts_with("mysql://") {
            LockConnection::MySql(MySqlConnection::connect(url).await?)
        } else {
            LockConnection::Postgres(PgConnection::connect(url).await?)
        })
    }

    /// Takes the lock if nobody holds it; whether it did.
    async fn try_lock(&mut self) -> Result<bool, sea_orm::sqlx::Error> {
        match self {
            LockConnection::Postgres(conn) => {
                sea_orm::sqlx::query_scalar("SELECT pg_try_advisory_lock($1)").bind(LOCK_KEY).fetch_one(conn).await
            }
            LockConnection::MySql(conn) => {
                let got: Option<i64> = sea_orm::sqlx::query_scalar(MYSQL_TRY_LOCK).fetch_one(conn).await?;
                Ok(got == Some(1))
            }
        }
    }

    async fn ping(&mut self) -> Result<(), sea_orm::sqlx::Error> {
        match self {
            LockConnection::Postgres(conn) => conn.ping().await,
            LockConnection::MySql(conn) => conn.ping().await,
        }
    }

    async fn unlock(&mut self) -> Result<(), sea_orm::sqlx::Error> {
        match self {
            LockConnection::Postgres(conn) => {
                sea_orm::sqlx::query("SELECT pg_advisory_unlock($1)").bind(LOCK_KEY).execute(conn).await.map(drop)
            }
            LockConnection::MySql(conn) => sea_orm::sqlx::query(MYSQL_UNLOCK).execute(conn).await.map(drop),
        }
    }

    async fn close(self) -> Result<(), sea_orm::sqlx::Error> {
        match self {
            LockConnection::Postgres(conn) => conn.close().await,
            LockConnection::MySql(conn) => conn.close().await,
        }
    }
}

/// Whether this instance leads; cheap to clone.
#[derive(Clone, Debug)]
pub struct LeaderStatus(watch::Receiver<bool>);

impl LeaderStatus {
    /// A status that is always leader (SQLite, single-process tools, benches).
    pub fn always() -> Self {
        Self(watch::channel(true).1)
    }

    pub fn is_leader(&self) -> bool {
        *self.0.borrow()
    }

    /// Waits until this instance leads.
    pub async fn wait_leader(&mut self) {
        let _ = self.0.wait_for(|l| *l).await;
    }
}

/// The work a leader does; it must return soon after its argument completes.
pub type LeaderWork =
    Arc<dyn Fn(Pin<Box<dyn Future<Output = ()> + Send>>) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// Elects this instance and runs `work` while it leads.
pub struct Election {
    url: Option<String>,
    tx: watch::Sender<bool>,
}

impl Election {
    /// On PostgreSQL and MySQL an election by lock; on SQLite always the leader.
    pub fn new(url: &DatabaseUrl) -> Self {
        let elected = !url.is_sqlite();
        Self { url: elected.then(|| url.expose().to_string()), tx: watch::Sender::new(!elected) }
    }

    pub fn status(&self) -> LeaderStatus {
        LeaderStatus(self.tx.subscribe())
    }

    /// Runs until `stop` completes: `work` runs while this instance leads, and is told to stop
    /// (and awaited) when leadership is lost or at shutdown.
    pub async fn run(self, work: LeaderWork, stop: impl Future<Output = ()> + Send + 'static) {
        // Nothing here is spawned: when this future is dropped (the server task aborted, as in a
        // crash), the work and the lock connection go with it.
        use futures::FutureExt;
        let Some(url) = self.url.clone() else {
            work(Box::pin(stop)).await;
            return;
        };
        let shutdown = stop.shared();
        tokio::pin!(shutdown);
        // A follower keeps its connection between tries; it is dropped only after an error.
        let mut idle: Option<LockConnection> = None;
        loop {
            let kept = idle.take();
            let attempt = async {
                let mut conn = match kept {
                    Some(conn) => conn,
                    None => LockConnection::open(&url).await?,
                };
                let got = conn.try_lock().await?;
                Ok::<_, sea_orm::sqlx::Error>((got, conn))
            };
            let conn = tokio::select! {
                () = &mut shutdown => break,
                attempt = tokio::time::timeout(RETRY_EVERY * 3, attempt) => match attempt {
                    Ok(Ok((true, conn))) => Some(conn),
                    Ok(Ok((false, conn))) => {
                        idle = Some(conn);
                        None
                    }
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "cannot try the leader lock");
                        None
                    }
                    Err(_) => {
                        tracing::warn!("trying the leader lock timed out");
                        None
                    }
                },
            };
            if let Some(conn) = conn {
                tracing::info!("this instance is now the leader: it runs the sender and the scheduler");
                self.tx.send_replace(true);
                ::metrics::gauge!("kktbot_leader").set(1.0);
                let shut = self.lead(conn, &work, &mut shutdown).await;
                self.tx.send_replace(false);
                ::metrics::gauge!("kktbot_leader").set(0.0);
                if shut {
                    break;
                }
                tracing::warn!("leadership lost: the sender and the scheduler stopped on this instance");
            } else {
                ::metrics::gauge!("kktbot_leader").set(0.0);
            }
            tokio::select! {
                () = &mut shutdown => break,
                () = tokio::time::sleep(RETRY_EVERY) => {}
            }
        }
    }

    /// Leads while the lock connection answers; returns whether it ended because of shutdown.
    async fn lead(
        &self,
        mut conn: LockConnection,
        work: &LeaderWork,
        shutdown: &mut Pin<&mut impl Future<Output = ()>>,
    ) -> bool {
        let (lost_tx, mut lost_rx) = watch::channel(false);
        let work_stop = Box::pin(async move {
            let _ = lost_rx.wait_for(|l| *l).await;
        });
        let running = work(work_stop);
        tokio::pin!(running);
        let mut finished = false;
        let shut = loop {
            tokio::select! {
                () = shutdown.as_mut() => break true,
                () = &mut running, if !finished => finished = true,
                () = tokio::time::sleep(RETRY_EVERY) => {
                    let check = tokio::time::timeout(CHECK_TIMEOUT, conn.ping()).await;
                    if !matches!(check, Ok(Ok(()))) {
                        break false;
                    }
                }
            }
        };
        let _ = lost_tx.send(true);
        if !finished {
            running.await;
        }
        if shut {
            // Release at once so another instance takes over without waiting for the socket.
            let _ = tokio::time::timeout(CHECK_TIMEOUT, conn.unlock()).await;
            let _ = tokio::time::timeout(CHECK_TIMEOUT, conn.close()).await;
        }
        shut
    }
}
