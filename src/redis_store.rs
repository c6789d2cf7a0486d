//! The Redis connection: a connection manager that connects lazily and reconnects by itself, so
//! kktbot starts while Redis is down and recovers when it returns.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::config::DatabaseUrl;

pub fn connect(url: &DatabaseUrl) -> redis::RedisResult<ConnectionManager> {
    let client = redis::Client::open(url.expose())?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(2)))
        .set_response_timeout(Some(Duration::from_secs(2)))
        // One connection attempt per reconnect, no retries with backoff: while Redis is down
        // every call fails at once (the update is refused with 503 and delivered again) instead
        // of waiting out the retries, which on SQLite, where updates are applied one at a time,
        // would queue every update behind them. The next call after a failed attempt tries again.
        .set_number_of_retries(0);
    ConnectionManager::new_lazy_with_config(client, config)
}

/// Round-trips a PING.
pub async fn ping(conn: &ConnectionManager) -> redis::RedisResult<()> {
    let mut conn = conn.clone();
    redis::cmd("PING").query_async::<String>(&mut conn).await.map(|_| ())
}
