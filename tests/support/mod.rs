//! Test support: the real server spawned in-process on a random port against a fresh database
//! (a temporary SQLite file, or a PostgreSQL database created for the test and dropped after),
//! optionally Redis with a unique key prefix, and a fake Telegram Bot API.
//!
//! A test that needs a service this machine lacks is reported as ignored, with the reason, by the
//! runner in `harness.rs`; with `CI=true` it fails instead.

#![allow(dead_code)] // each test module uses a different part of the support code

pub mod backends;
pub mod chat;
pub mod harness;
pub mod seed;
pub mod servers;
pub mod telegram;
pub mod updates;

pub use backends::{Backend, TestDatabase, TestRedis, count_rows};
pub(crate) use harness::{backend_test, integration_test};

use std::collections::HashMap;
use std::net::SocketAddr;

use kktbot::app::{Application, ServeOptions};
use kktbot::config::Config;
use kktbot::http::AppState;
use sea_orm::DatabaseConnection;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How to start a test server.
pub struct TestAppBuilder {
    database: Option<TestDatabase>,
    fake: Option<telegram::FakeTelegram>,
    backend: Backend,
    redis: bool,
    telegram: bool,
    migrate: bool,
    vars: HashMap<String, String>,
    polling: bool,
    register_webhook: bool,
    /// Runs on another server's database, without owning it (see [`Self::same_database_as`]).
    shared_url: Option<String>,
    scheduler: bool,
    sla_watch: Option<std::time::Duration>,
}

impl TestAppBuilder {
    pub fn postgres(mut self) -> Self {
        self.backend = Backend::Postgres;
        self
    }

    pub fn backend(mut self, backend: Backend) -> Self {
        self.backend = backend;
        self
    }

    /// Use Redis (with a unique key prefix) for dialog state.
    pub fn redis(mut self) -> Self {
        self.redis = true;
        self
    }

    /// Start a fake Telegram Bot API and give kktbot a bot token pointing at it.
    pub fn telegram(mut self) -> Self {
        self.telegram = true;
        self
    }

    /// Runs on an existing database (a restart), instead of a fresh one.
    pub fn database(mut self, db: TestDatabase) -> Self {
        self.database = Some(db);
        self
    }

    /// Uses an existing fake Bot API (a restart keeps talking to the same Telegram).
    pub fn fake_telegram(mut self, fake: telegram::FakeTelegram) -> Self {
        self.fake = Some(fake);
        self.telegram = true;
        self
    }

    /// Runs on the same database as another server (which keeps owning and dropping it): two
    /// instances side by side.
    pub fn same_database_as(mut self, db: &TestDatabase) -> Self {
        self.backend = db.backend();
        self.shared_url = Some(db.url().to_string());
        self
    }

    /// Runs on the database at `url`, which the test owns (a private server it stops and starts).
    pub fn database_url(mut self, backend: Backend, url: &str) -> Self {
        self.backend = backend;
        self.shared_url = Some(url.to_string());
        self
    }

    /// Runs the daily reminder scheduler (off by default: tests run reminder runs themselves).
    pub fn scheduler(mut self) -> Self {
        self.scheduler = true;
        self
    }

    /// Runs the service-level watch every `every` (off by default).
    pub fn sla_watch(mut self, every: std::time::Duration) -> Self {
        self.sla_watch = Some(every);
        self
    }

    pub fn no_migrate(mut self) -> Self {
        self.migrate = false;
        self
    }

    /// Receive updates by long-polling the fake's `getUpdates` (`serve --polling`), with short
    /// timeouts and backoff ([`TEST_POLLING`]).
    pub fn polling(mut self) -> Self {
        self.polling = true;
        self
    }

    /// Do not register WEBHOOK_URL at start (`serve --no-register-webhook`).
    pub fn no_register_webhook(mut self) -> Self {
        self.register_webhook = false;
        self
    }

    /// Sets an environment variable for this server only.
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.vars.insert(name.into(), value.into());
        self
    }

    /// Starts the server; skips the test when a service it needs is not reachable.
    pub async fn spawn(self) -> TestApp {
        let (db, db_url) = match (self.database, self.shared_url) {
            (_, Some(url)) => (TestDatabase::Detached, url),
            (Some(db), None) => {
                let url = db.url().to_string();
                (db, url)
            }
            (None, None) => {
                let db = TestDatabase::create(self.backend).await;
                let url = db.url().to_string();
                (db, url)
            }
        };
        let redis = if self.redis { Some(TestRedis::create().await) } else { None };
        let telegram = match (self.fake, self.telegram) {
            (Some(fake), _) => Some(fake),
            (None, true) => Some(telegram::FakeTelegram::start().await),
            (None, false) => None,
        };
        let mut vars = self.vars;
        vars.insert("DATABASE_URL".into(), db_url);
        vars.insert("API_HOST".into(), "127.0.0.1".into());
        vars.insert("API_PORT".into(), "0".into());
        vars.entry("LOG_LEVEL".into()).or_insert_with(|| "warn".into());
        if let Some(redis) = &redis {
            vars.insert("REDIS_URL".into(), redis.url.clone());
            vars.insert("REDIS_KEY_PREFIX".into(), redis.prefix.clone());
        }
        if let Some(tg) = &telegram {
            vars.insert("TELEGRAM_API_URL".into(), tg.api_url());
            vars.insert("TELEGRAM_BOT_TOKEN".into(), tg.token().into());
            vars.entry("TELEGRAM_WEBHOOK_SECRET".into()).or_insert_with(|| WEBHOOK_SECRET.into());
        }
        let config = Config::from_lookup(|k| vars.get(k).cloned()).expect("valid test configuration");
        let options = ServeOptions {
            migrate: self.migrate,
            polling: self.polling,
            register_webhook: self.register_webhook,
            polling_options: TEST_POLLING,
            // Tests run reminder runs themselves, at the dates they choose.
            scheduler: self.scheduler,
            sla_watch: self.sla_watch,
        };
        let app = Application::build(config, options).await.expect("server starts");
        let addr = app.local_addr();
        let state = app.state().clone();
        let initial_admin = app.initial_admin().cloned();
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(app.run(async {
            let _ = rx.await;
        }));
        TestApp {
            addr,
            state,
            initial_admin,
            telegram,
            http: reqwest::Client::new(),
            shutdown: Some(tx),
            handle: Some(handle),
            db,
            redis,
        }
    }
}

/// Polling in tests: a short long-poll and quick retries.
pub const TEST_POLLING: kktbot::inbound::polling::PollingOptions = kktbot::inbound::polling::PollingOptions {
    timeout: std::time::Duration::from_secs(1),
    backoff: kktbot::telegram::sender::Backoff {
        first: std::time::Duration::from_millis(50),
        cap: std::time::Duration::from_millis(500),
    },
};

/// The webhook secret test servers are configured with.
pub const WEBHOOK_SECRET: &str = "test-webhook-secret_0123456789";

/// A running server and what it runs against.
pub struct TestApp {
    pub addr: SocketAddr,
    pub state: AppState,
    pub initial_admin: Option<(String, String)>,
    pub telegram: Option<telegram::FakeTelegram>,
    pub http: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<std::io::Result<()>>>,
    pub db: TestDatabase,
    pub redis: Option<TestRedis>,
}

impl TestApp {
    pub fn builder() -> TestAppBuilder {
        TestAppBuilder {
            database: None,
            fake: None,
            backend: Backend::Sqlite,
            redis: false,
            telegram: false,
            migrate: true,
            vars: HashMap::new(),
            polling: false,
            register_webhook: true,
            shared_url: None,
            scheduler: false,
            sla_watch: None,
        }
    }

    /// A server on a fresh SQLite database with default settings.
    pub async fn sqlite() -> TestApp {
        Self::builder().spawn().await
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.state.core.db
    }

    /// The fake Bot API (the app must have been built with `.telegram()`).
    pub fn tg(&self) -> &telegram::FakeTelegram {
        self.telegram.as_ref().expect("built with .telegram()")
    }

    /// Posts an update to the webhook with the right secret.
    pub async fn post_update(&self, update: &serde_json::Value) -> reqwest::Response {
        self.http
            .post(self.url("/webhook/telegram"))
            .header("X-Telegram-Bot-Api-Secret-Token", WEBHOOK_SECRET)
            .json(update)
            .send()
            .await
            .expect("webhook answers")
    }

    /// Posts an update and asserts it was acknowledged with 200.
    pub async fn send_update(&self, update: &serde_json::Value) {
        let res = self.post_update(update).await;
        let status = res.status();
        assert_eq!(status, 200, "webhook answered {status}: {}", res.text().await.unwrap_or_default());
    }

    /// Waits until the sender has delivered everything due.
    pub async fn settle(&self) {
        assert!(self.state.bot_api.is_some(), "the bot is on");
        let settled = self.state.core.sender().settled();
        tokio::time::timeout(std::time::Duration::from_secs(30), settled).await.expect("sender settles");
    }

    /// Stops the server abruptly, as a crash would (nothing is flushed), and hands back what it
    /// ran against so a new server can start on it.
    pub async fn crash(mut self) -> (TestDatabase, Option<telegram::FakeTelegram>) {
        if let Some(handle) = self.handle.take() {
            handle.abort();
            let _ = handle.await;
        }
        self.state.core.db.close_by_ref().await.ok();
        let db = std::mem::replace(&mut self.db, TestDatabase::Detached);
        (db, self.telegram.take())
    }

    /// Asks the server to stop (as SIGTERM would) and waits until it has.
    pub async fn shutdown(mut self) {
        self.begin_shutdown();
        self.wait_stopped().await;
    }

    /// Sends the shutdown signal without waiting.
    pub fn begin_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Waits until the server task has ended.
    pub async fn wait_stopped(&mut self) {
        if let Some(handle) = self.handle.take() {
            handle.await.expect("server task").expect("server ran cleanly");
        }
    }
}
