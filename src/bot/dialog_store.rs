//! Dialog state: where each chat is in a conversation (for example "chat 42 is at step
//! 'describe your request' of /request"), kept as JSON under the chat id with a TTL.
//!
//! Two stores implement [`DialogStore`]: [`RedisDialogStore`] (production, shared by every instance)
//! and [`MemoryDialogStore`] (the embedded default: in-process, lost on restart). [`from_config`] picks
//! one. The typed helpers [`load`] and [`save`] turn states into JSON and back; a stored state
//! that no longer decodes (the state type changed between versions) reads as absent.
//!
//! Every Redis call is bounded by a timeout and maps any failure to
//! [`DialogStoreError::Unavailable`]; the webhook answers 503 on it so Telegram redelivers the update
//! once Redis is back. The connection manager reconnects by itself after Redis restarts; a
//! connection that stops answering without being closed (a half-open TCP connection) is not
//! noticed by the manager, so [`RedisDialogStore::with_reconnect`] can give the store a way to build a
//! fresh manager after repeated timeouts.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use redis::aio::ConnectionManager;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::DatabaseUrl;

/// How long a dialog state lives after its last write, unless configured otherwise.
pub const DEFAULT_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// The longest a single Redis call may take before it fails with [`DialogStoreError::Unavailable`].
pub const DEFAULT_REDIS_TIMEOUT: Duration = Duration::from_secs(2);

/// Consecutive timed-out Redis calls after which a store with a reconnect function replaces its
/// connection manager.
const TIMEOUTS_BEFORE_RECONNECT: u32 = 3;

/// Why the dialog store could not do what was asked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DialogStoreError {
    /// The store cannot be reached now (Redis down, slow or refusing). Transient: the webhook
    /// answers 503 so Telegram delivers the update again later.
    #[error("dialog store unavailable: {0}")]
    Unavailable(String),
    /// A state could not be turned into JSON (only [`save`] returns it). A programming error,
    /// not transient: retrying the update cannot help.
    #[error("dialog state cannot be encoded: {0}")]
    Encode(String),
}

/// Raw dialog state storage: one JSON document per chat, expiring after the store's TTL (each
/// [`DialogStore::set`] restarts it).
#[async_trait]
pub trait DialogStore: Send + Sync {
    /// The chat's state as JSON, or `None` when there is none (never set, removed or expired).
    async fn get(&self, chat_id: i64) -> Result<Option<String>, DialogStoreError>;
    /// Stores the chat's state, replacing any previous one.
    async fn set(&self, chat_id: i64, json: &str) -> Result<(), DialogStoreError>;
    /// Forgets the chat's state; removing an absent state is not an error.
    async fn remove(&self, chat_id: i64) -> Result<(), DialogStoreError>;
    /// Checks that the store answers (for health checks).
    async fn ping(&self) -> Result<(), DialogStoreError>;
}

/// The chat's state decoded as `T`. A stored value that does not decode as `T` (the state type
/// changed between versions) is treated as absent and logged at debug level.
pub async fn load<T, S>(store: &S, chat_id: i64) -> Result<Option<T>, DialogStoreError>
where
    T: DeserializeOwned,
    S: DialogStore + ?Sized,
{
    let Some(json) = store.get(chat_id).await? else { return Ok(None) };
    match serde_json::from_str(&json) {
        Ok(state) => Ok(Some(state)),
        Err(error) => {
            // The value itself may hold user text: it is not logged.
            tracing::debug!(chat_id, %error, "stored dialog state no longer decodes; treating it as absent");
            Ok(None)
        }
    }
}

/// Stores `state` as the chat's state, as JSON.
pub async fn save<T, S>(store: &S, chat_id: i64, state: &T) -> Result<(), DialogStoreError>
where
    T: Serialize + ?Sized,
    S: DialogStore + ?Sized,
{
    let json = serde_json::to_string(state).map_err(|e| DialogStoreError::Encode(e.to_string()))?;
    store.set(chat_id, &json).await
}

/// The store for the configuration: Redis when a connection manager is given (keys start with
/// `prefix`), otherwise an in-process store. `ttl` is how long a state lives after its last write.
pub fn from_config(redis: Option<ConnectionManager>, prefix: &str, ttl: Duration) -> Arc<dyn DialogStore> {
    match redis {
        Some(conn) => Arc::new(RedisDialogStore::new(conn, prefix, ttl)),
        None => Arc::new(MemoryDialogStore::new(ttl)),
    }
}

/// In-process dialog state, for a single instance without Redis. Expired entries read as absent
/// and are removed lazily (on read, and by an occasional sweep on write).
pub struct MemoryDialogStore {
    ttl: Duration,
    inner: Mutex<MemoryInner>,
}

struct MemoryInner {
    entries: HashMap<i64, MemoryEntry>,
    /// The number of entries at which the next write sweeps out expired ones.
    sweep_at: usize,
}

struct MemoryEntry {
    json: String,
    /// `None`: the TTL is too long to represent, so the entry never expires.
    expires_at: Option<Instant>,
}

impl MemoryEntry {
    fn is_expired(&self, now: Instant) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

const MIN_SWEEP_AT: usize = 64;

impl MemoryDialogStore {
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, inner: Mutex::new(MemoryInner { entries: HashMap::new(), sweep_at: MIN_SWEEP_AT }) }
    }

    /// The number of entries held, expired ones not yet cleaned included.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryInner> {
        // No code panics while holding the lock with the map half-updated; recover from poison.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for MemoryDialogStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryDialogStore").field("ttl", &self.ttl).field("entries", &self.len()).finish()
    }
}

#[async_trait]
impl DialogStore for MemoryDialogStore {
    async fn get(&self, chat_id: i64) -> Result<Option<String>, DialogStoreError> {
        let now = Instant::now();
        let mut inner = self.lock();
        match inner.entries.get(&chat_id) {
            Some(entry) if entry.is_expired(now) => {
                inner.entries.remove(&chat_id);
                Ok(None)
            }
            Some(entry) => Ok(Some(entry.json.clone())),
            None => Ok(None),
        }
    }

    async fn set(&self, chat_id: i64, json: &str) -> Result<(), DialogStoreError> {
        let now = Instant::now();
        let entry = MemoryEntry { json: json.to_owned(), expires_at: now.checked_add(self.ttl) };
        let mut inner = self.lock();
        inner.entries.insert(chat_id, entry);
        if inner.entries.len() >= inner.sweep_at {
            inner.entries.retain(|_, entry| !entry.is_expired(now));
            // Amortised: the next sweep waits until the map has doubled.
            inner.sweep_at = (inner.entries.len() * 2).max(MIN_SWEEP_AT);
        }
        Ok(())
    }

    async fn remove(&self, chat_id: i64) -> Result<(), DialogStoreError> {
        self.lock().entries.remove(&chat_id);
        Ok(())
    }

    async fn ping(&self) -> Result<(), DialogStoreError> {
        Ok(())
    }
}

/// Builds a fresh connection manager (see [`RedisDialogStore::with_reconnect`]).
pub type ReconnectFn = Arc<dyn Fn() -> redis::RedisResult<ConnectionManager> + Send + Sync>;

/// Dialog state in Redis: key `{prefix}dialog:{chat_id}`, a JSON string value written with
/// `SET … EX ttl`. Every call fails with [`DialogStoreError::Unavailable`] within the timeout
/// ([`DEFAULT_REDIS_TIMEOUT`]) when Redis is down, and works again once Redis is back.
pub struct RedisDialogStore {
    conn: Mutex<ConnectionManager>,
    reconnect: Option<ReconnectFn>,
    consecutive_timeouts: AtomicU32,
    prefix: String,
    ttl_seconds: u64,
    timeout: Duration,
}

impl RedisDialogStore {
    /// A store over `conn` (see `crate::redis_store::connect`). States live `ttl` after their
    /// last write (rounded up to whole seconds, at least one).
    pub fn new(conn: ConnectionManager, prefix: &str, ttl: Duration) -> Self {
        let ttl_seconds = (ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0)).max(1);
        Self {
            conn: Mutex::new(conn),
            reconnect: None,
            consecutive_timeouts: AtomicU32::new(0),
            prefix: prefix.to_owned(),
            ttl_seconds,
            timeout: DEFAULT_REDIS_TIMEOUT,
        }
    }

    /// A store on its own connection manager to `url` (made lazily: Redis may be down now),
    /// able to replace that manager when it stops answering (see [`RedisDialogStore::with_reconnect`]).
    pub fn connect(url: &DatabaseUrl, prefix: &str, ttl: Duration) -> redis::RedisResult<Self> {
        let conn = crate::redis_store::connect(url)?;
        let url = url.clone();
        Ok(Self::new(conn, prefix, ttl).with_reconnect(move || crate::redis_store::connect(&url)))
    }

    /// Bounds every Redis call by `timeout` instead of [`DEFAULT_REDIS_TIMEOUT`].
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Gives the store a way to build a new connection manager, used after several consecutive
    /// calls timed out: the manager reconnects by itself when Redis closes or refuses
    /// connections, but not when a connection silently stops answering.
    pub fn with_reconnect(
        mut self,
        reconnect: impl Fn() -> redis::RedisResult<ConnectionManager> + Send + Sync + 'static,
    ) -> Self {
        self.reconnect = Some(Arc::new(reconnect));
        self
    }

    /// The Redis key of a chat's state.
    pub fn key(&self, chat_id: i64) -> String {
        format!("{}dialog:{chat_id}", self.prefix)
    }

    /// The TTL given to every written state, in seconds.
    pub fn ttl_seconds(&self) -> u64 {
        self.ttl_seconds
    }

    fn connection(&self) -> ConnectionManager {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd, what: &str) -> Result<T, DialogStoreError> {
        let mut conn = self.connection();
        let attempts = async {
            match cmd.query_async::<T>(&mut conn).await {
                // The connection died since the last call (Redis restarted while we were idle):
                // the manager has just started reconnecting, so try once more on the new
                // connection. GET, SET and DEL are idempotent, and the timeout covers both tries.
                // A refused connection is not retried: Redis is down, and the manager has
                // already spent its own connection retries.
                Err(e) if e.is_connection_dropped() && !e.is_connection_refusal() => {
                    tracing::debug!(error = %e, "redis connection lost; retrying {what} once");
                    cmd.query_async::<T>(&mut conn).await
                }
                outcome => outcome,
            }
        };
        let outcome = tokio::time::timeout(self.timeout, attempts).await;
        let timed_out = match &outcome {
            Err(_) => true,
            Ok(Err(e)) => e.is_timeout(),
            Ok(Ok(_)) => false,
        };
        if timed_out {
            self.note_timeout();
        } else {
            self.consecutive_timeouts.store(0, Ordering::Relaxed);
        }
        match outcome {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "redis {what} failed");
                Err(DialogStoreError::Unavailable(format!("redis {what}: {e}")))
            }
            Err(_) => {
                tracing::debug!(timeout = ?self.timeout, "redis {what} timed out");
                Err(DialogStoreError::Unavailable(format!("redis {what}: no answer within {:?}", self.timeout)))
            }
        }
    }

    fn note_timeout(&self) {
        let count = self.consecutive_timeouts.fetch_add(1, Ordering::Relaxed) + 1;
        if count < TIMEOUTS_BEFORE_RECONNECT {
            return;
        }
        let Some(reconnect) = &self.reconnect else { return };
        // One caller wins the reset; concurrent timeouts do not rebuild the manager again.
        if self.consecutive_timeouts.compare_exchange(count, 0, Ordering::Relaxed, Ordering::Relaxed).is_err() {
            return;
        }
        match reconnect() {
            Ok(fresh) => {
                tracing::warn!("redis kept timing out; replacing the dialog store's connection");
                *self.conn.lock().unwrap_or_else(PoisonError::into_inner) = fresh;
            }
            Err(e) => tracing::warn!(error = %e, "redis kept timing out and a new connection could not be made"),
        }
    }
}

impl fmt::Debug for RedisDialogStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisDialogStore")
            .field("prefix", &self.prefix)
            .field("ttl_seconds", &self.ttl_seconds)
            .field("timeout", &self.timeout)
            .field("reconnect", &self.reconnect.is_some())
            .finish()
    }
}

#[async_trait]
impl DialogStore for RedisDialogStore {
    async fn get(&self, chat_id: i64) -> Result<Option<String>, DialogStoreError> {
        self.query(redis::cmd("GET").arg(self.key(chat_id)), "GET").await
    }

    async fn set(&self, chat_id: i64, json: &str) -> Result<(), DialogStoreError> {
        self.query(redis::cmd("SET").arg(self.key(chat_id)).arg(json).arg("EX").arg(self.ttl_seconds), "SET").await
    }

    async fn remove(&self, chat_id: i64) -> Result<(), DialogStoreError> {
        self.query::<i64>(redis::cmd("DEL").arg(self.key(chat_id)), "DEL").await.map(|_| ())
    }

    async fn ping(&self) -> Result<(), DialogStoreError> {
        self.query::<String>(&redis::cmd("PING"), "PING").await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    enum Dialog {
        ChoosingType,
        Describing { request_type: i32 },
    }

    #[tokio::test]
    async fn typed_round_trip_and_stale_values_read_as_absent() {
        let store = MemoryDialogStore::new(DEFAULT_TTL);
        save(&store, 1, &Dialog::Describing { request_type: 3 }).await.unwrap();
        assert_eq!(load::<Dialog, _>(&store, 1).await.unwrap(), Some(Dialog::Describing { request_type: 3 }));
        store.set(2, r#"{"OldVariant":{}}"#).await.unwrap();
        assert_eq!(load::<Dialog, _>(&store, 2).await.unwrap(), None);
        store.set(3, "not json").await.unwrap();
        assert_eq!(load::<Dialog, _>(&store, 3).await.unwrap(), None);
        assert_eq!(load::<Dialog, _>(&store, 4).await.unwrap(), None);
    }

    #[tokio::test]
    async fn unencodable_state_is_an_encode_error() {
        let store = MemoryDialogStore::new(DEFAULT_TTL);
        let mut map = HashMap::new();
        map.insert(vec![1u8], 1);
        assert!(matches!(save(&store, 1, &map).await, Err(DialogStoreError::Encode(_))));
        assert!(store.is_empty());
    }

    #[tokio::test]
    async fn expired_entries_are_swept_on_write() {
        let store = MemoryDialogStore::new(Duration::from_millis(1));
        for chat in 0..MIN_SWEEP_AT as i64 - 1 {
            store.set(chat, "{}").await.unwrap();
        }
        std::thread::sleep(Duration::from_millis(5));
        store.set(-1, "{}").await.unwrap();
        assert!(store.len() <= 1, "{} entries left", store.len());
    }

    #[test]
    fn ttl_rounds_up_to_whole_seconds() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let _guard = rt.enter();
        let client = redis::Client::open("redis://127.0.0.1:1").unwrap();
        let conn = ConnectionManager::new_lazy_with_config(client, redis::aio::ConnectionManagerConfig::new()).unwrap();
        assert_eq!(RedisDialogStore::new(conn.clone(), "p:", DEFAULT_TTL).ttl_seconds(), 86_400);
        assert_eq!(RedisDialogStore::new(conn.clone(), "p:", Duration::from_millis(1500)).ttl_seconds(), 2);
        assert_eq!(RedisDialogStore::new(conn.clone(), "p:", Duration::ZERO).ttl_seconds(), 1);
        assert_eq!(RedisDialogStore::new(conn, "p:", DEFAULT_TTL).key(-100123), "p:dialog:-100123");
    }
}
