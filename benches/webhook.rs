//! Webhook benchmark (issue 3): throughput and latency of `POST /webhook/telegram`, beside two
//! ceilings measured in the same process on the same machine.
//!
//! Endpoints, each on its own loopback port:
//! - **parse ceiling**: a bare axum endpoint that parses the body into `teloxide::types::Update`
//!   and answers 200;
//! - **commit ceiling**: a bare axum endpoint that parses the body the same way and commits one
//!   row per request (`BEGIN; INSERT; COMMIT`) to a fresh database of the same kind, opened with
//!   kktbot's own `db::connect` (same pool size and SQLite settings);
//! - **kktbot**: the real server (`Application::build`) against a fresh database, a fake Telegram
//!   Bot API and, on PostgreSQL and MariaDB, Redis for dialog state.
//!
//! Every request carries a distinct update (fresh `update_id`, fresh user) with `/help` (change
//! it with `BENCH_TEXT`). Two phases per endpoint, each on a freshly started server:
//! - **throughput**: closed loop, `BENCH_CONCURRENCY` workers post `BENCH_REQUESTS` updates as
//!   fast as they are answered (bounded by `BENCH_MAX_SECONDS`);
//! - **latency**: open loop, `BENCH_RATE` updates per second for `BENCH_SECONDS`, sent on a timer
//!   whatever the answers do; latency runs from the *scheduled* send time to the end of the
//!   response, so queueing is not hidden (no coordinated omission).
//!
//! Options (environment): `BENCH_BACKEND=sqlite|postgres|mysql|all` (all; `mysql` is MySQL or
//! MariaDB), `BENCH_REQUESTS` (10000),
//! `BENCH_CONCURRENCY` (64), `BENCH_RATE` (500), `BENCH_SECONDS` (10), `BENCH_MAX_SECONDS` (120),
//! `BENCH_WARMUP` (300), `BENCH_TEXT` (`/help`), `BENCH_ENDPOINTS` (`parse,commit,kktbot`; add
//! `kktbot-nosender` for a diagnostic: the state `Application::build` wires, served by kktbot's
//! router without `Application::run`, so no outgoing-message sender runs beside the webhook).
//! PostgreSQL, MariaDB and Redis come from `KKTBOT_TEST_POSTGRES_URL` / `KKTBOT_TEST_MYSQL_URL` /
//! `KKTBOT_TEST_REDIS_URL` as in the integration tests (each run creates and drops a database of
//! its own); when the database or Redis is unreachable that backend is skipped.
//!
//! Run with `cargo bench --bench webhook`. Without `--bench` (as under `cargo test --benches`) it
//! runs a tiny smoke version on SQLite only.

// The support code is linted with the integration tests; its findings are theirs to fix.
#[allow(clippy::wrong_self_convention, unused_macros, unused_imports)]
#[path = "../tests/support/mod.rs"]
mod support;

mod options;

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use kktbot::config::{LogConfig, LogFormat};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement, TransactionTrait};
use teloxide::types::Update;
use tokio::runtime::Handle;
use tokio::sync::{Semaphore, oneshot};
use tokio::task::JoinSet;
use tokio::time::Instant;

use options::env_or;
use support::updates::{self, User};
use support::{Backend, TestApp, TestDatabase, TestRedis, WEBHOOK_SECRET};

const PATH: &str = "/webhook/telegram";
const SECRET_HEADER: &str = "X-Telegram-Bot-Api-Secret-Token";
/// Requests in flight at most in the open loop; beyond it a request waits for a slot (its
/// latency still counts from its scheduled time).
const OPEN_LOOP_MAX_IN_FLIGHT: usize = 2048;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Users of the generated updates: one new user per update.
static NEXT_USER: AtomicI64 = AtomicI64::new(6_000_000_000);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Endpoint {
    Parse,
    Commit,
    Kktbot,
    /// Diagnostic, not run by default: kktbot's router over the state `Application::build` wires,
    /// without `Application::run` and so without the outgoing-message sender.
    KktbotNoSender,
}

impl Endpoint {
    fn label(self) -> &'static str {
        match self {
            Endpoint::Parse => "ceiling: parse JSON → 200",
            Endpoint::Commit => "ceiling: commit 1 row → 200",
            Endpoint::Kktbot => "**kktbot webhook**",
            Endpoint::KktbotNoSender => "diagnostic: kktbot, sender not running",
        }
    }
}

fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "SQLite",
        Backend::Postgres => "PostgreSQL + Redis",
        Backend::MySql => "MariaDB + Redis",
    }
}

#[derive(Clone, Debug)]
struct Options {
    backends: Vec<Backend>,
    endpoints: Vec<Endpoint>,
    requests: usize,
    concurrency: usize,
    rate: u32,
    seconds: u64,
    max_seconds: u64,
    warmup: usize,
    text: String,
    smoke: bool,
}

impl Options {
    fn from_env() -> Self {
        let smoke = options::smoke();
        let backends = options::backends("all");
        let endpoints = env_or("BENCH_ENDPOINTS", "parse,commit,kktbot".to_string())
            .split(',')
            .map(|e| match e.trim() {
                "parse" => Endpoint::Parse,
                "commit" => Endpoint::Commit,
                "kktbot" => Endpoint::Kktbot,
                "kktbot-nosender" => Endpoint::KktbotNoSender,
                other => panic!("BENCH_ENDPOINTS: unknown endpoint {other} (parse, commit, kktbot, kktbot-nosender)"),
            })
            .collect();
        Self {
            backends,
            endpoints,
            requests: env_or("BENCH_REQUESTS", if smoke { 200 } else { 10_000 }),
            concurrency: env_or("BENCH_CONCURRENCY", if smoke { 8 } else { 64 }).max(1),
            rate: env_or("BENCH_RATE", if smoke { 100 } else { 500 }).max(1),
            seconds: env_or("BENCH_SECONDS", if smoke { 1 } else { 10 }).max(1),
            max_seconds: env_or("BENCH_MAX_SECONDS", 120),
            warmup: env_or("BENCH_WARMUP", if smoke { 20 } else { 300 }),
            text: env_or("BENCH_TEXT", "/help".to_string()),
            smoke,
        }
    }
}

// ------------------------------------------------------------------------------- endpoints

/// The parse ceiling: what any webhook must do at least.
async fn parse_only(body: Bytes) -> StatusCode {
    match serde_json::from_slice::<Update>(&body) {
        Ok(update) => {
            std::hint::black_box(update);
            StatusCode::OK
        }
        Err(_) => StatusCode::BAD_REQUEST,
    }
}

/// The commit ceiling: parse, then one transaction that inserts one row.
async fn commit_one(State(db): State<DatabaseConnection>, body: Bytes) -> StatusCode {
    let Ok(update) = serde_json::from_slice::<Update>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    match insert_row(&db, i64::from(update.id.0)).await {
        Ok(()) => StatusCode::OK,
        Err(e) => {
            eprintln!("commit ceiling: {e}");
            StatusCode::SERVICE_UNAVAILABLE
        }
    }
}

async fn insert_row(db: &DatabaseConnection, update_id: i64) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => "INSERT INTO bench_commit (update_id, received_at) VALUES ($1, $2)",
        _ => "INSERT INTO bench_commit (update_id, received_at) VALUES (?, ?)",
    };
    let now = chrono::Utc::now().timestamp_micros();
    let txn = db.begin().await?;
    txn.execute_raw(Statement::from_sql_and_values(backend, sql, [update_id.into(), now.into()])).await?;
    txn.commit().await
}

/// A server under test.
enum Running {
    Bare { url: String, stop: oneshot::Sender<()>, task: tokio::task::JoinHandle<()>, db: Option<Box<BareDb>> },
    Kktbot(Box<TestApp>),
}

struct BareDb {
    conn: DatabaseConnection,
    /// The table that gets one row per update.
    table: &'static str,
    _telegram: Option<support::telegram::FakeTelegram>,
    _redis: Option<TestRedis>,
    /// Dropped last: a PostgreSQL test database is dropped with it.
    _database: TestDatabase,
}

async fn serve_bare(router: Router, db: Option<BareDb>) -> Running {
    let db = db.map(Box::new);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
    let url = format!("http://{}{PATH}", listener.local_addr().expect("local address"));
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>())
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
            .expect("bare server");
    });
    Running::Bare { url, stop, task, db }
}

async fn start(endpoint: Endpoint, backend: Backend) -> Option<Running> {
    match endpoint {
        Endpoint::Parse => Some(serve_bare(Router::new().route(PATH, post(parse_only)), None).await),
        Endpoint::Commit => {
            let database = TestDatabase::try_create(backend).await.ok()?;
            let conn = database.connect().await;
            conn.execute_unprepared(
                "CREATE TABLE bench_commit (update_id BIGINT PRIMARY KEY, received_at BIGINT NOT NULL)",
            )
            .await
            .expect("create the commit-ceiling table");
            let router = Router::new().route(PATH, post(commit_one)).with_state(conn.clone());
            Some(
                serve_bare(
                    router,
                    Some(BareDb { conn, table: "bench_commit", _telegram: None, _redis: None, _database: database }),
                )
                .await,
            )
        }
        Endpoint::Kktbot => {
            let mut builder = TestApp::builder()
                .backend(backend)
                .telegram()
                .env("LOG_LEVEL", "warn")
                .env("JWT_SECRET_KEY", "benchmark-jwt-secret-key-0123456789abcdef");
            if backend.uses_redis() {
                builder = builder.redis();
            }
            Some(Running::Kktbot(Box::new(builder.spawn().await)))
        }
        Endpoint::KktbotNoSender => kktbot_without_sender(backend).await,
    }
}

/// kktbot's HTTP router over the state `Application::build` wires, served without
/// `Application::run`: no outgoing-message sender (nor scheduler, leader election or pruning)
/// runs beside the webhook.
async fn kktbot_without_sender(backend: Backend) -> Option<Running> {
    let database = TestDatabase::try_create(backend).await.ok()?;
    let redis = if backend.uses_redis() { Some(TestRedis::try_create().await.ok()?) } else { None };
    let telegram = support::telegram::FakeTelegram::start().await;
    let mut vars = std::collections::HashMap::new();
    vars.insert("DATABASE_URL", database.url().to_string());
    vars.insert("API_HOST", "127.0.0.1".to_string());
    vars.insert("API_PORT", "0".to_string());
    vars.insert("TELEGRAM_API_URL", telegram.api_url());
    vars.insert("TELEGRAM_BOT_TOKEN", telegram.token().to_string());
    vars.insert("TELEGRAM_WEBHOOK_SECRET", WEBHOOK_SECRET.to_string());
    vars.insert("JWT_SECRET_KEY", "benchmark-jwt-secret-key-0123456789abcdef".to_string());
    vars.insert("LOG_LEVEL", "warn".to_string());
    if let Some(redis) = &redis {
        vars.insert("REDIS_URL", redis.url.clone());
        vars.insert("REDIS_KEY_PREFIX", redis.prefix.clone());
    }
    let config = kktbot::config::Config::from_lookup(|k| vars.get(k).cloned()).expect("valid configuration");
    let app = kktbot::app::Application::build(config, kktbot::app::ServeOptions::default()).await.expect("builds");
    let state = app.state().clone();
    drop(app);
    let db = BareDb {
        conn: state.core.db.clone(),
        table: "processed_updates",
        _telegram: Some(telegram),
        _redis: redis,
        _database: database,
    };
    Some(serve_bare(kktbot::http::router(state), Some(db)).await)
}

impl Running {
    fn url(&self) -> String {
        match self {
            Running::Bare { url, .. } => url.clone(),
            Running::Kktbot(app) => app.url(PATH),
        }
    }

    /// Rows committed: `(table, count)`, to check that every 200 was a commit.
    async fn committed(&self) -> Option<(&'static str, i64)> {
        match self {
            Running::Bare { db: Some(db), .. } => Some((db.table, support::count_rows(&db.conn, db.table).await)),
            Running::Bare { db: None, .. } => None,
            Running::Kktbot(app) => {
                Some(("processed_updates", support::count_rows(app.db(), "processed_updates").await))
            }
        }
    }

    /// What the sender delivered meanwhile: `(outbox rows, sent, fake sendMessage calls)`.
    async fn outbox(&self) -> Option<(i64, i64, usize)> {
        let Running::Kktbot(app) = self else { return None };
        let rows = support::count_rows(app.db(), "outgoing_messages").await;
        let backend = app.db().get_database_backend();
        let sent = app
            .db()
            .query_one_raw(Statement::from_string(
                backend,
                "SELECT COUNT(*) AS n FROM outgoing_messages WHERE status = 'sent'".to_string(),
            ))
            .await
            .ok()
            .flatten()
            .and_then(|row| row.try_get::<i64>("", "n").ok())
            .unwrap_or(-1);
        Some((rows, sent, app.tg().calls_to("sendMessage").len()))
    }

    async fn stop(self) {
        match self {
            Running::Bare { stop, task, db, .. } => {
                let _ = stop.send(());
                let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
                if let Some(db) = db {
                    let _ = db.conn.close_by_ref().await;
                }
            }
            // A graceful stop, as on SIGTERM: the sender releases the replies it has not sent.
            Running::Kktbot(mut app) => {
                app.begin_shutdown();
                if tokio::time::timeout(Duration::from_secs(30), app.wait_stopped()).await.is_err() {
                    println!("    kktbot did not stop within 30 s");
                }
            }
        }
    }
}

// ------------------------------------------------------------------------- load generator

/// Distinct updates, serialised ahead of time so that building them costs nothing during a run.
fn bodies(n: usize, text: &str) -> Arc<Vec<Bytes>> {
    Arc::new(
        (0..n)
            .map(|_| {
                let user = User::ru(NEXT_USER.fetch_add(1, Ordering::Relaxed), "Бенч");
                Bytes::from(serde_json::to_vec(&updates::text(&user, text)).expect("update serialises"))
            })
            .collect(),
    )
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(usize::MAX)
        .timeout(REQUEST_TIMEOUT)
        .build()
        .expect("HTTP client")
}

/// Posts one update; the status, or `None` on a transport error or timeout.
async fn post_update(client: &reqwest::Client, url: &str, body: Bytes) -> Option<u16> {
    let response = client
        .post(url)
        .header(SECRET_HEADER, WEBHOOK_SECRET)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await
        .ok()?;
    let status = response.status().as_u16();
    // Read the body to the end so the connection goes back to the pool.
    response.bytes().await.ok()?;
    Some(status)
}

/// What one phase measured.
#[derive(Debug, Default)]
struct Stats {
    /// Latencies of the 200 answers.
    ok: Vec<Duration>,
    /// Answers other than 200, by status.
    other: std::collections::BTreeMap<u16, usize>,
    /// Transport errors and timeouts.
    failed: usize,
    elapsed: Duration,
    /// Open loop: the latest a request left after its scheduled time.
    max_send_lag: Duration,
    /// Open loop: the slowest answer among the requests due in each second of the schedule.
    worst_by_second: Vec<Duration>,
}

impl Stats {
    fn record(&mut self, latency: Duration, status: Option<u16>) {
        match status {
            Some(200) => self.ok.push(latency),
            Some(code) => *self.other.entry(code).or_default() += 1,
            None => self.failed += 1,
        }
    }

    fn record_timed(&mut self, (second, latency, status): (usize, Duration, Option<u16>)) {
        if self.worst_by_second.len() <= second {
            self.worst_by_second.resize(second + 1, Duration::ZERO);
        }
        self.worst_by_second[second] = self.worst_by_second[second].max(latency);
        self.record(latency, status);
    }

    fn merge(&mut self, other: Stats) {
        self.ok.extend(other.ok);
        for (code, n) in other.other {
            *self.other.entry(code).or_default() += n;
        }
        self.failed += other.failed;
    }

    fn total(&self) -> usize {
        self.ok.len() + self.other.values().sum::<usize>() + self.failed
    }

    fn errors(&self) -> usize {
        self.total() - self.ok.len()
    }

    fn throughput(&self) -> f64 {
        self.ok.len() as f64 / self.elapsed.as_secs_f64()
    }

    /// Nearest-rank percentile of the 200 latencies (sorted by [`Stats::finish`]).
    fn percentile(&self, q: f64) -> Duration {
        if self.ok.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((q * self.ok.len() as f64).ceil() as usize).clamp(1, self.ok.len());
        self.ok[rank - 1]
    }

    fn finish(mut self, elapsed: Duration) -> Self {
        self.elapsed = elapsed;
        self.ok.sort_unstable();
        self
    }

    fn errors_text(&self) -> String {
        let mut parts: Vec<String> = self.other.iter().map(|(code, n)| format!("{n}×{code}")).collect();
        if self.failed > 0 {
            parts.push(format!("{}×transport", self.failed));
        }
        if parts.is_empty() { "0".into() } else { parts.join(", ") }
    }
}

/// Closed loop: `concurrency` workers, each posting the next body as soon as its previous one is
/// answered, until every body is posted or `max` has passed.
async fn closed_loop(url: String, bodies: Arc<Vec<Bytes>>, concurrency: usize, max: Duration) -> Stats {
    let client = client();
    let next = Arc::new(AtomicUsize::new(0));
    let begun = Instant::now();
    let mut workers = JoinSet::new();
    for _ in 0..concurrency {
        let (client, url, bodies, next) = (client.clone(), url.clone(), bodies.clone(), next.clone());
        workers.spawn(async move {
            let mut stats = Stats::default();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= bodies.len() || begun.elapsed() >= max {
                    return stats;
                }
                let sent = Instant::now();
                let status = post_update(&client, &url, bodies[i].clone()).await;
                stats.record(sent.elapsed(), status);
            }
        });
    }
    let mut all = Stats::default();
    while let Some(stats) = workers.join_next().await {
        all.merge(stats.expect("closed-loop worker"));
    }
    all.finish(begun.elapsed())
}

/// Open loop: body `i` is due at `start + i / rate`, sent then whatever happened to the others;
/// its latency runs from that due time to the end of its response.
async fn open_loop(url: String, bodies: Arc<Vec<Bytes>>, rate: u32) -> Stats {
    let client = client();
    let slots = Arc::new(Semaphore::new(OPEN_LOOP_MAX_IN_FLIGHT));
    let start = Instant::now() + Duration::from_millis(20);
    let mut requests = JoinSet::new();
    let mut stats = Stats::default();
    let mut max_send_lag = Duration::ZERO;
    for (i, body) in bodies.iter().enumerate() {
        let due = start + Duration::from_secs_f64(i as f64 / f64::from(rate));
        tokio::time::sleep_until(due).await;
        let slot = slots.clone().acquire_owned().await.expect("semaphore open");
        max_send_lag = max_send_lag.max(due.elapsed());
        let (client, url, body) = (client.clone(), url.clone(), body.clone());
        let second = i / rate as usize;
        requests.spawn(async move {
            let status = post_update(&client, &url, body).await;
            drop(slot);
            (second, due.elapsed(), status)
        });
        // Collect finished requests as we go so the set stays small.
        while let Some(done) = requests.try_join_next() {
            stats.record_timed(done.expect("open-loop request"));
        }
    }
    while let Some(done) = requests.join_next().await {
        stats.record_timed(done.expect("open-loop request"));
    }
    stats.max_send_lag = max_send_lag;
    stats.finish(start.elapsed())
}

// ------------------------------------------------------------------------------ the runs

/// Both phases of one endpoint on one backend.
struct Row {
    backend: Backend,
    endpoint: Endpoint,
    throughput: Stats,
    latency: Stats,
    /// kktbot only: outbox rows, rows sent and `sendMessage` calls the fake saw, after each phase.
    outbox: Vec<(i64, i64, usize)>,
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "?".into())
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e3)
}

/// Checks that every 200 was a commit (rows added = 200 answers).
async fn check_committed(server: &Running, before: Option<(&'static str, i64)>, stats: &Stats) {
    let (Some((table, before)), Some((_, after))) = (before, server.committed().await) else { return };
    let added = after - before;
    if added == stats.ok.len() as i64 {
        println!("    check: {added} rows added to {table} = {} answers 200", stats.ok.len());
    } else {
        println!("    CHECK FAILED: {added} rows added to {table}, but {} answers 200", stats.ok.len());
    }
}

/// Runs both phases; the load generator runs on `load`, a runtime of its own.
async fn bench_endpoint(load: &Handle, endpoint: Endpoint, backend: Backend, opts: &Options) -> Option<Row> {
    let max = Duration::from_secs(opts.max_seconds);
    let mut outbox = Vec::new();
    println!(
        "  {} — throughput: closed loop, {} workers, {} requests",
        endpoint.label(),
        opts.concurrency,
        opts.requests
    );
    let server = start(endpoint, backend).await?;
    let url = server.url();
    if opts.warmup > 0 {
        let warm = load
            .spawn(closed_loop(url.clone(), bodies(opts.warmup, &opts.text), opts.concurrency, max))
            .await
            .expect("load");
        if warm.errors() > 0 {
            println!("    warm-up: {} of {} not 200 ({})", warm.errors(), warm.total(), warm.errors_text());
        }
    }
    let before = server.committed().await;
    let throughput = load
        .spawn(closed_loop(url.clone(), bodies(opts.requests, &opts.text), opts.concurrency, max))
        .await
        .expect("load");
    println!(
        "    {} × 200 in {:.2} s = {:.0} req/s; latency under saturation p50 {} ms, p99 {} ms, max {} ms; not 200: {}",
        throughput.ok.len(),
        throughput.elapsed.as_secs_f64(),
        throughput.throughput(),
        ms(throughput.percentile(0.50)),
        ms(throughput.percentile(0.99)),
        ms(throughput.percentile(1.0)),
        throughput.errors_text(),
    );
    check_committed(&server, before, &throughput).await;
    if let Some(o) = server.outbox().await {
        println!("    outbox: {} rows, {} sent; the fake Bot API got {} sendMessage calls", o.0, o.1, o.2);
        outbox.push(o);
    }
    server.stop().await;

    let n = opts.rate as usize * opts.seconds as usize;
    println!(
        "  {} — latency: open loop, {} updates/s for {} s ({n} requests)",
        endpoint.label(),
        opts.rate,
        opts.seconds
    );
    let server = start(endpoint, backend).await?;
    let url = server.url();
    if opts.warmup > 0 {
        let warm = load.spawn(open_loop(url.clone(), bodies(opts.warmup, &opts.text), opts.rate)).await.expect("load");
        if warm.errors() > 0 {
            println!("    warm-up: {} of {} not 200 ({})", warm.errors(), warm.total(), warm.errors_text());
        }
    }
    let before = server.committed().await;
    let latency = load.spawn(open_loop(url.clone(), bodies(n, &opts.text), opts.rate)).await.expect("load");
    println!(
        "    {} × 200 in {:.2} s ({:.0}/s); p50 {} ms, p90 {} ms, p99 {} ms, p99.9 {} ms, max {} ms; \
         latest send {} ms behind schedule; not 200: {}",
        latency.ok.len(),
        latency.elapsed.as_secs_f64(),
        latency.throughput(),
        ms(latency.percentile(0.50)),
        ms(latency.percentile(0.90)),
        ms(latency.percentile(0.99)),
        ms(latency.percentile(0.999)),
        ms(latency.percentile(1.0)),
        ms(latency.max_send_lag),
        latency.errors_text(),
    );
    let worst: Vec<String> = latency.worst_by_second.iter().map(|d| format!("{:.0}", d.as_secs_f64() * 1e3)).collect();
    println!("    slowest answer per second of the schedule, ms: {}", worst.join(" "));
    check_committed(&server, before, &latency).await;
    if let Some(o) = server.outbox().await {
        println!("    outbox: {} rows, {} sent; the fake Bot API got {} sendMessage calls", o.0, o.1, o.2);
        outbox.push(o);
    }
    server.stop().await;
    Some(Row { backend, endpoint, throughput, latency, outbox })
}

/// Whether the database of `backend` and Redis answer; prints why not.
async fn reachable(backend: Backend) -> bool {
    match TestDatabase::try_create(backend).await {
        Ok(database) => database.drop_now().await,
        Err(why) => {
            println!("{}: SKIPPED — {why}", backend_name(backend));
            return false;
        }
    }
    if TestRedis::try_create().await.is_err() {
        println!("{}: SKIPPED — Redis is not reachable (set KKTBOT_TEST_REDIS_URL)", backend_name(backend));
        return false;
    }
    true
}

fn table(rows: &[Row], opts: &Options) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| Backend | Endpoint | Max throughput, req/s (closed loop, {} workers, {} req) | p50 ms | p90 ms | p99 ms | max ms \
         (open loop, {} updates/s × {} s) | not 200 |",
        opts.concurrency, opts.requests, opts.rate, opts.seconds
    );
    let _ = writeln!(out, "|---|---|--:|--:|--:|--:|--:|---|");
    for row in rows {
        let errors = match (row.throughput.errors(), row.latency.errors()) {
            (0, 0) => "0".to_string(),
            _ => format!("{} / {}", row.throughput.errors_text(), row.latency.errors_text()),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {:.0} | {} | {} | {} | {} | {} |",
            backend_name(row.backend),
            row.endpoint.label(),
            row.throughput.throughput(),
            ms(row.latency.percentile(0.50)),
            ms(row.latency.percentile(0.90)),
            ms(row.latency.percentile(0.99)),
            ms(row.latency.percentile(1.0)),
            errors,
        );
    }
    out
}

fn targets(rows: &[Row], opts: &Options) -> String {
    let mut out = String::new();
    for backend in opts.backends.iter().copied() {
        let find = |e: Endpoint| rows.iter().find(|r| r.backend == backend && r.endpoint == e);
        let (Some(commit), Some(bot)) = (find(Endpoint::Commit), find(Endpoint::Kktbot)) else { continue };
        let ratio = bot.throughput.throughput() / commit.throughput.throughput();
        let p99 = bot.latency.percentile(0.99);
        let _ = writeln!(
            out,
            "- {}: throughput {:.0} req/s = {:.0} % of the commit ceiling ({:.0} req/s) — target ≥ 50 %: {}; \
             p99 at {} updates/s = {} ms — target < 10 ms: {}",
            backend_name(backend),
            bot.throughput.throughput(),
            ratio * 100.0,
            commit.throughput.throughput(),
            if ratio >= 0.5 { "met" } else { "MISSED" },
            opts.rate,
            ms(p99),
            if p99 < Duration::from_millis(10) && bot.latency.errors() == 0 { "met" } else { "MISSED" },
        );
        for (phase, (rows, sent, calls)) in ["throughput", "latency"].iter().zip(&bot.outbox) {
            let _ = writeln!(
                out,
                "  - after the {phase} phase: {rows} replies in the outbox, {sent} sent ({calls} sendMessage calls seen by the fake Bot API)"
            );
        }
    }
    out
}

async fn run(opts: Options, load: Handle) {
    println!(
        "# kktbot webhook benchmark{}",
        if opts.smoke { " (smoke run: pass --bench for the real one)" } else { "" }
    );
    println!(
        "machine: {} CPUs ({}), load average {} at start",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model(),
        load_average()
    );
    println!("options: {opts:?}");
    let mut rows = Vec::new();
    let mut backends = Vec::new();
    for backend in opts.backends.iter().copied() {
        if backend.uses_redis() && !reachable(backend).await {
            continue;
        }
        backends.push(backend);
        println!("\n## {} (load average {})", backend_name(backend), load_average());
        for endpoint in opts.endpoints.iter().copied() {
            match bench_endpoint(&load, endpoint, backend, &opts).await {
                Some(row) => rows.push(row),
                None => println!("  {}: SKIPPED (a service it needs is not reachable)", endpoint.label()),
            }
        }
    }
    let opts = Options { backends, ..opts };
    println!("\nload average at end: {}\n", load_average());
    print!("{}", table(&rows, &opts));
    println!();
    print!("{}", targets(&rows, &opts));
}

fn main() {
    let opts = Options::from_env();
    let level = env_or("LOG_LEVEL", "warn".to_string());
    kktbot::telemetry::init(&LogConfig { level, format: LogFormat::Pretty }, vec![]);
    // The servers run on the main runtime; the load generator on a thread of its own, so that its
    // timer is not queued behind the servers' tasks (the OS shares the CPUs between them).
    let load = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("load-generator")
        .enable_all()
        .build()
        .expect("load-generator runtime");
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    runtime.block_on(run(opts, load.handle().clone()));
    drop(runtime);
    drop(load);
}
