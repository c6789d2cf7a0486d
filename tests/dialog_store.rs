//! The dialog state store: the in-process store, the Redis store on the shared Redis (keys,
//! TTL, prefix), and Redis outages on a private `redis-server` (killed, hung, or a connection
//! that silently stops answering): calls fail fast and work again once Redis is back, without
//! recreating the store.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use kktbot::bot::dialog_store::{self, DialogStore, DialogStoreError, MemoryDialogStore, RedisDialogStore};
use kktbot::config::DatabaseUrl;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::support::TestRedis;
use crate::support::integration_test;
use crate::support::servers::{RedisServer, free_port};

/// A call on a store whose Redis is down must fail within this.
const FAIL_FAST: Duration = Duration::from_secs(3);
/// How long a test waits for the store to work again once Redis is back.
const RECOVERY_DEADLINE: Duration = Duration::from_secs(20);

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
enum RequestDialog {
    ChoosingType,
    Describing { request_type: i32 },
    Confirming { request_type: i32, description: String },
}

/// The same chats' state as an older version of kktbot wrote it.
#[derive(Serialize)]
enum OldDialog {
    WaitingForInn { attempts: u32 },
}

// ---------------------------------------------------------------------------------------------
// In-process store

integration_test!(memory_store_gets_sets_and_removes);
async fn memory_store_gets_sets_and_removes() {
    let store = MemoryDialogStore::new(dialog_store::DEFAULT_TTL);
    assert_eq!(store.get(42).await.unwrap(), None);
    store.set(42, r#"{"step":1}"#).await.unwrap();
    store.set(-100_500, r#"{"step":2}"#).await.unwrap();
    assert_eq!(store.get(42).await.unwrap().as_deref(), Some(r#"{"step":1}"#));
    store.set(42, r#"{"step":3}"#).await.unwrap();
    assert_eq!(store.get(42).await.unwrap().as_deref(), Some(r#"{"step":3}"#), "set replaces");
    store.remove(42).await.unwrap();
    assert_eq!(store.get(42).await.unwrap(), None);
    store.remove(42).await.unwrap(); // removing an absent state is fine
    assert_eq!(store.get(-100_500).await.unwrap().as_deref(), Some(r#"{"step":2}"#), "other chats untouched");
    store.ping().await.unwrap();
}

integration_test!(memory_store_entries_expire);
async fn memory_store_entries_expire() {
    let store = MemoryDialogStore::new(Duration::from_millis(300));
    store.set(1, "\"a\"").await.unwrap();
    store.set(2, "\"b\"").await.unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    store.set(2, "\"b2\"").await.unwrap(); // a write restarts the TTL
    assert_eq!(store.get(1).await.unwrap().as_deref(), Some("\"a\""));
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(store.get(1).await.unwrap(), None, "expired");
    assert_eq!(store.get(2).await.unwrap().as_deref(), Some("\"b2\""), "rewritten later, still alive");
    assert_eq!(store.len(), 1, "the expired entry was cleaned when read");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(store.get(2).await.unwrap(), None);
    assert!(store.is_empty());
}

integration_test!(typed_states_round_trip_and_stale_ones_read_as_absent);
async fn typed_states_round_trip_and_stale_ones_read_as_absent() {
    let store = dialog_store::from_config(None, "unused:", dialog_store::DEFAULT_TTL);
    let state = RequestDialog::Confirming {
        request_type: 2, description: "ФН заканчивается \"скоро\"".into()
    };
    dialog_store::save(&*store, 7, &state).await.unwrap();
    assert_eq!(dialog_store::load::<RequestDialog, _>(&*store, 7).await.unwrap(), Some(state));
    dialog_store::save(&*store, 8, &OldDialog::WaitingForInn { attempts: 1 }).await.unwrap();
    assert_eq!(dialog_store::load::<RequestDialog, _>(&*store, 8).await.unwrap(), None, "an old state is absent");
    assert!(store.get(8).await.unwrap().is_some(), "…but not an error, and left to expire");
    assert_eq!(dialog_store::load::<RequestDialog, _>(&*store, 9).await.unwrap(), None);
}

// ---------------------------------------------------------------------------------------------
// Redis store on the shared Redis

fn connect(url: &str) -> redis::aio::ConnectionManager {
    kktbot::redis_store::connect(&DatabaseUrl::new(url)).expect("redis url")
}

async fn redis_ttl(url: &str, key: &str) -> i64 {
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    redis::cmd("TTL").arg(key).query_async(&mut conn).await.unwrap()
}

integration_test!(redis_store_gets_sets_and_removes);
async fn redis_store_gets_sets_and_removes() {
    let redis = TestRedis::create().await;
    let store = dialog_store::from_config(Some(connect(&redis.url)), &redis.prefix, dialog_store::DEFAULT_TTL);
    store.ping().await.unwrap();
    assert_eq!(store.get(42).await.unwrap(), None);
    store.set(42, r#"{"step":1}"#).await.unwrap();
    store.set(-100_500, r#"{"step":2}"#).await.unwrap();
    assert_eq!(store.get(42).await.unwrap().as_deref(), Some(r#"{"step":1}"#));
    store.set(42, r#"{"step":3}"#).await.unwrap();
    assert_eq!(store.get(42).await.unwrap().as_deref(), Some(r#"{"step":3}"#));
    store.remove(42).await.unwrap();
    assert_eq!(store.get(42).await.unwrap(), None);
    store.remove(42).await.unwrap();
    assert_eq!(store.get(-100_500).await.unwrap().as_deref(), Some(r#"{"step":2}"#));

    let state = RequestDialog::Describing { request_type: 4 };
    dialog_store::save(&*store, 5, &state).await.unwrap();
    assert_eq!(dialog_store::load::<RequestDialog, _>(&*store, 5).await.unwrap(), Some(state));
    dialog_store::save(&*store, 6, &OldDialog::WaitingForInn { attempts: 2 }).await.unwrap();
    assert_eq!(dialog_store::load::<RequestDialog, _>(&*store, 6).await.unwrap(), None);
    dialog_store::save(&*store, 6, &RequestDialog::ChoosingType).await.unwrap();
    assert_eq!(dialog_store::load::<RequestDialog, _>(&*store, 6).await.unwrap(), Some(RequestDialog::ChoosingType));
}

integration_test!(redis_store_applies_the_prefix_and_the_ttl);
async fn redis_store_applies_the_prefix_and_the_ttl() {
    let redis = TestRedis::create().await;
    let store = RedisDialogStore::new(connect(&redis.url), &redis.prefix, Duration::from_secs(3600));
    store.set(1001, "{}").await.unwrap();
    store.set(-1002, "{}").await.unwrap();
    let mut keys = redis.keys();
    keys.sort();
    assert_eq!(keys, vec![format!("{}dialog:-1002", redis.prefix), format!("{}dialog:1001", redis.prefix)]);
    assert_eq!(store.key(1001), format!("{}dialog:1001", redis.prefix));

    let ttl = redis_ttl(&redis.url, &store.key(1001)).await;
    assert!((3590..=3600).contains(&ttl), "TTL {ttl}");
    // Every write restarts the TTL, and the default is a day.
    let day = dialog_store::from_config(Some(connect(&redis.url)), &redis.prefix, dialog_store::DEFAULT_TTL);
    day.set(1001, "{\"again\":true}").await.unwrap();
    let ttl = redis_ttl(&redis.url, &store.key(1001)).await;
    assert!((86_390..=86_400).contains(&ttl), "TTL {ttl}");

    store.remove(1001).await.unwrap();
    assert_eq!(redis.keys(), vec![format!("{}dialog:-1002", redis.prefix)]);
}

integration_test!(redis_store_entries_expire);
async fn redis_store_entries_expire() {
    let redis = TestRedis::create().await;
    let store = RedisDialogStore::new(connect(&redis.url), &redis.prefix, Duration::from_secs(1));
    store.set(3, "{}").await.unwrap();
    assert!(store.get(3).await.unwrap().is_some());
    let deadline = Instant::now() + Duration::from_secs(5);
    while store.get(3).await.unwrap().is_some() {
        assert!(Instant::now() < deadline, "the state did not expire");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(redis.keys().is_empty());
}

integration_test!(redis_store_is_unavailable_when_redis_was_never_there);
async fn redis_store_is_unavailable_when_redis_was_never_there() {
    // A port nothing listens on: the store is built (lazily) and every call fails fast.
    let port = free_port();
    let store =
        dialog_store::from_config(Some(connect(&format!("redis://127.0.0.1:{port}"))), "x:", dialog_store::DEFAULT_TTL);
    assert_all_unavailable(&*store).await;
}

// ---------------------------------------------------------------------------------------------
// Outages on a private redis-server (the shared one on 6379 is never touched)

/// Every call of the store fails with Unavailable, each within FAIL_FAST.
async fn assert_all_unavailable(store: &dyn DialogStore) {
    for (name, call) in [
        (
            "get",
            Box::pin(async { store.get(1).await.map(|_| ()) }) as std::pin::Pin<Box<dyn Future<Output = _> + Send>>,
        ),
        ("set", Box::pin(store.set(1, "{}"))),
        ("remove", Box::pin(store.remove(1))),
        ("ping", Box::pin(store.ping())),
    ] {
        let started = Instant::now();
        let outcome = tokio::time::timeout(FAIL_FAST * 2, call).await.unwrap_or_else(|_| panic!("{name} hung"));
        let took = started.elapsed();
        assert!(matches!(outcome, Err(DialogStoreError::Unavailable(_))), "{name}: {outcome:?}");
        assert!(took <= FAIL_FAST, "{name} took {took:?} to fail");
    }
}

/// Retries `get` until it succeeds (bounded); returns how many attempts failed first.
async fn wait_until_available(store: &dyn DialogStore) -> u32 {
    let deadline = Instant::now() + RECOVERY_DEADLINE;
    let mut failures = 0;
    loop {
        match store.get(1).await {
            Ok(_) => return failures,
            Err(e) => {
                failures += 1;
                assert!(Instant::now() < deadline, "the store did not recover: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn assert_round_trip(store: &dyn DialogStore, chat_id: i64) {
    let state = RequestDialog::Describing { request_type: chat_id as i32 };
    dialog_store::save(store, chat_id, &state).await.unwrap();
    assert_eq!(dialog_store::load::<RequestDialog, _>(store, chat_id).await.unwrap(), Some(state));
    store.remove(chat_id).await.unwrap();
    assert_eq!(store.get(chat_id).await.unwrap(), None);
    store.ping().await.unwrap();
}

integration_test!(redis_store_survives_redis_restarts);
async fn redis_store_survives_redis_restarts() {
    let port = free_port();
    // The store is made while Redis is down (kktbot starts without Redis) …
    let store = dialog_store::from_config(
        Some(connect(&format!("redis://127.0.0.1:{port}"))),
        "outage:",
        Duration::from_secs(60),
    );
    assert_all_unavailable(&*store).await;
    // … and works once Redis comes up.
    let mut server = RedisServer::start(port).await;
    let failures = wait_until_available(&*store).await;
    eprintln!("first start: {failures} failed calls before recovery");
    assert_round_trip(&*store, 10).await;

    for round in 1..=2 {
        server.kill();
        assert_all_unavailable(&*store).await;
        assert_all_unavailable(&*store).await; // still failing fast, not hanging, on repeated calls
        server = RedisServer::start(port).await;
        let failures = wait_until_available(&*store).await;
        eprintln!("restart {round}: {failures} failed calls before recovery");
        assert_round_trip(&*store, 10 + round).await;
    }
    drop(server);
}

integration_test!(redis_store_fails_fast_while_redis_hangs);
async fn redis_store_fails_fast_while_redis_hangs() {
    let server = RedisServer::start(free_port()).await;
    let store = dialog_store::from_config(Some(connect(&server.url())), "hang:", Duration::from_secs(60));
    assert_round_trip(&*store, 1).await;

    server.signal("STOP"); // the process is alive and its connections open, but nothing answers
    let guard = ContinueOnDrop(&server);
    assert_all_unavailable(&*store).await;
    drop(guard); // SIGCONT

    let failures = wait_until_available(&*store).await;
    eprintln!("after SIGCONT: {failures} failed calls before recovery");
    assert_round_trip(&*store, 2).await;
}

/// Resumes a stopped server when dropped, also when the test fails while it is stopped.
struct ContinueOnDrop<'a>(&'a RedisServer);

impl Drop for ContinueOnDrop<'_> {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg("-CONT").arg(self.0.pid().to_string()).status();
    }
}

/// A TCP proxy in front of Redis that can make its current connections silently stop
/// forwarding (no FIN, no RST: a half-open connection, as after a network partition), while
/// new connections work.
struct SilencingProxy {
    port: u16,
    connections: Arc<std::sync::Mutex<Vec<Arc<AtomicBool>>>>,
    task: tokio::task::JoinHandle<()>,
}

impl SilencingProxy {
    async fn start(upstream_port: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections: Arc<std::sync::Mutex<Vec<Arc<AtomicBool>>>> = Arc::default();
        let registry = connections.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream_port)).await else { continue };
                let silenced = Arc::new(AtomicBool::new(false));
                registry.lock().unwrap().push(silenced.clone());
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                tokio::spawn(forward(client_read, server_write, silenced.clone()));
                tokio::spawn(forward(server_read, client_write, silenced));
            }
        });
        SilencingProxy { port, connections, task }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Every connection open now stops forwarding, in both directions, for good.
    fn silence_current_connections(&self) {
        for flag in self.connections.lock().unwrap().iter() {
            flag.store(true, Ordering::SeqCst);
        }
    }
}

impl Drop for SilencingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn forward(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    silenced: Arc<AtomicBool>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if silenced.load(Ordering::SeqCst) {
                    continue; // swallowed: the other side never hears of it
                }
                if to.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}

integration_test!(redis_store_replaces_a_connection_that_silently_stops_answering);
async fn redis_store_replaces_a_connection_that_silently_stops_answering() {
    let server = RedisServer::start(free_port()).await;
    let proxy = SilencingProxy::start(server.port).await;
    let url = proxy.url();
    let timeout = Duration::from_millis(500);

    // The connection manager alone does not notice: it keeps its silent connection.
    let plain = RedisDialogStore::new(connect(&url), "silent:", Duration::from_secs(60)).with_timeout(timeout);
    assert_round_trip(&plain, 1).await;
    // With a way to reconnect, the store replaces the connection after a few timeouts.
    let reconnecting = RedisDialogStore::connect(&DatabaseUrl::new(&url), "silent:", Duration::from_secs(60))
        .unwrap()
        .with_timeout(timeout);
    assert_round_trip(&reconnecting, 2).await;

    proxy.silence_current_connections();
    for _ in 0..5 {
        assert!(matches!(plain.get(1).await, Err(DialogStoreError::Unavailable(_))));
    }
    let failures = wait_until_available(&reconnecting).await;
    assert!((3..=4).contains(&failures), "{failures} failed calls before the connection was replaced");
    assert_round_trip(&reconnecting, 3).await;
    assert!(matches!(plain.get(1).await, Err(DialogStoreError::Unavailable(_))), "the plain store stays stuck");
}

integration_test!(redis_store_works_on_the_first_call_after_a_quick_restart);
async fn redis_store_works_on_the_first_call_after_a_quick_restart() {
    let mut server = RedisServer::start(free_port()).await;
    let store = dialog_store::from_config(Some(connect(&server.url())), "quick:", Duration::from_secs(60));
    assert_round_trip(&*store, 1).await;
    // Redis restarts while the bot is idle: the store's connection is dead, Redis is back.
    let port = server.port;
    server.kill();
    server = RedisServer::start(port).await;
    assert_round_trip(&*store, 2).await;
    drop(server);
}
