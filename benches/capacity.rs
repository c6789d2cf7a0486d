//! Capacity benchmark (issue 14): whole conversations per second through kktbot, beside a
//! minimal durable bot measured in the same run, started the same way.
//!
//! Each client plays the approval conversation (`conversation::driver`: six updates, eleven Bot
//! API calls, one administrator approving every request) and waits for each reply before its
//! next update. The bots run as processes of their own against a fresh database (PostgreSQL +
//! Redis by default) and an in-process fake Bot API that does not hold them to Telegram's
//! limits; kktbot's own limits are lifted (`TELEGRAM_RATE_* = 100000`). For every client count
//! the systems take turns, `BENCH_RUNS` times, each on a fresh database.
//!
//! Reported per run: conversations per second over the window, webhook p50/p99 (time to the
//! 200), conversation p50/p99, CPU of the bot and of the database server (every `postgres`
//! process, or MariaDB's `mariadbd`; SQLite's is the bot's), peak RSS, and per delivered Bot API
//! call on PostgreSQL: commits (`pg_stat_database`) and statements (`pg_stat_statements`, when
//! the server preloads it).
//!
//! Options (environment): `BENCH_BACKEND=postgres|mysql|sqlite` (postgres; `mysql` is MySQL or
//! MariaDB, each run on a database of its own, created and dropped), `BENCH_CLIENTS` (`10,50`),
//! `BENCH_SECONDS` (20), `BENCH_RUNS` (2), `BENCH_WARMUP_SECONDS` (2), `BENCH_SYSTEMS`
//! (`minimal,kktbot`). PostgreSQL, MariaDB and Redis come from `KKTBOT_TEST_POSTGRES_URL` /
//! `KKTBOT_TEST_MYSQL_URL` / `KKTBOT_TEST_REDIS_URL` as in the tests. Run with `cargo bench --bench capacity`; without
//! `--bench` (as under `cargo test --benches`) a short smoke run on SQLite.

// The support code is linted with the integration tests; its findings are theirs to fix.
#[allow(clippy::wrong_self_convention, unused_macros, unused_imports)]
#[path = "../tests/support/mod.rs"]
mod support;

mod options;

mod conversation;

use std::collections::BTreeMap;
use std::time::Duration;

use conversation::driver::{self, Plan, ms, percentile};
use conversation::fake::Fake;
use conversation::process::{self, Bot, Program};
use options::env_or;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use support::{Backend, TestDatabase, TestRedis, WEBHOOK_SECRET};
use tokio::time::Instant;

const ADMIN: i64 = 5_200_000_001;
const FIRST_CLIENT: i64 = 5_300_000_000;
const TOKEN: &str = "7000000001:AAFakeTokenForTestsOnly_abcdefghijklmn";

#[derive(Debug)]
struct Options {
    backend: Backend,
    clients: Vec<usize>,
    seconds: u64,
    runs: usize,
    warmup: u64,
    systems: Vec<Program>,
}

impl Options {
    fn from_env() -> Self {
        let smoke = options::smoke();
        Self {
            backend: options::backend("postgres"),
            clients: options::numbers("BENCH_CLIENTS", if smoke { "2" } else { "10,50" }),
            seconds: env_or("BENCH_SECONDS", if smoke { 2 } else { 20 }),
            runs: env_or("BENCH_RUNS", if smoke { 1 } else { 2 }),
            warmup: env_or("BENCH_WARMUP_SECONDS", if smoke { 1 } else { 2 }),
            systems: options::list("BENCH_SYSTEMS", "minimal,kktbot")
                .iter()
                .map(|s| match s.as_str() {
                    "minimal" => Program::Minimal,
                    "kktbot" => Program::Kktbot,
                    other => panic!("BENCH_SYSTEMS: unknown system {other} (minimal, kktbot)"),
                })
                .collect(),
        }
    }
}

/// What one run measured.
struct Row {
    system: Program,
    clients: usize,
    rate: f64,
    webhook: (Duration, Duration),
    conversation: (Duration, Duration),
    bot_cpu: f64,
    database_cpu: f64,
    rss_mb: f64,
    delivered: u64,
    commits: Option<i64>,
    statements: Option<i64>,
    lost: u64,
    doubled: u64,
    violations: u64,
}

/// Counters of the database read before and after the window (PostgreSQL only: MariaDB keeps
/// such counters per database only in `performance_schema`, off by default; its server-wide
/// ones would count every other client of the server too).
async fn commits(db: &DatabaseConnection) -> Option<i64> {
    let sql =
        "SELECT (xact_commit + xact_rollback)::BIGINT AS n FROM pg_stat_database WHERE datname = current_database()";
    let row = db.query_one_raw(Statement::from_string(DbBackend::Postgres, sql)).await.ok()??;
    row.try_get::<i64>("", "n").ok()
}

async fn statements(db: &DatabaseConnection) -> Option<i64> {
    let sql = "SELECT COALESCE(SUM(calls), 0)::BIGINT AS n FROM pg_stat_statements \
               WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())";
    let row = db.query_one_raw(Statement::from_string(DbBackend::Postgres, sql)).await.ok()??;
    row.try_get::<i64>("", "n").ok()
}

struct Snapshot {
    at: Instant,
    bot_cpu: f64,
    database: BTreeMap<u32, f64>,
    commits: Option<i64>,
    statements: Option<i64>,
    counts: conversation::fake::Counts,
}

async fn snapshot(backend: Backend, bot: &Bot, fake: &Fake, db: Option<&DatabaseConnection>) -> Snapshot {
    let (commits, statements) = match db {
        Some(db) => (commits(db).await, statements(db).await),
        None => (None, None),
    };
    Snapshot {
        at: Instant::now(),
        bot_cpu: bot.cpu_seconds(),
        database: process::cpu_by_pid(process::database_processes(backend)),
        commits,
        statements,
        counts: fake.counts(),
    }
}

async fn one_run(system: Program, clients: usize, opts: &Options) -> Option<Row> {
    let database = TestDatabase::try_create(opts.backend).await.ok()?;
    let redis = if opts.backend.uses_redis() { Some(TestRedis::try_create().await.ok()?) } else { None };
    let fake = Fake::start(false).await;
    let mut env = BTreeMap::new();
    for (name, value) in [
        ("DATABASE_URL", database.url().to_string()),
        ("TELEGRAM_API_URL", fake.api_url.clone()),
        ("TELEGRAM_BOT_TOKEN", TOKEN.to_string()),
        ("TELEGRAM_WEBHOOK_SECRET", WEBHOOK_SECRET.to_string()),
        ("ADMIN_TELEGRAM_IDS", ADMIN.to_string()),
        ("JWT_SECRET_KEY", "benchmark-jwt-secret-key-0123456789abcdef".to_string()),
        ("LOG_LEVEL", "warn".to_string()),
        ("TELEGRAM_RATE_GLOBAL_PER_SECOND", "100000".to_string()),
        ("TELEGRAM_RATE_CHAT_PER_SECOND", "100000".to_string()),
        ("TELEGRAM_RATE_GROUP_PER_MINUTE", "100000".to_string()),
    ] {
        env.insert(name.to_string(), value);
    }
    if let Some(redis) = &redis {
        env.insert("REDIS_URL".into(), redis.url.clone());
        env.insert("REDIS_KEY_PREFIX".into(), redis.prefix.clone());
    }
    let bot = Bot::start(system, process::free_port(), env).await;
    let stats_db = match opts.backend {
        Backend::Postgres => {
            let db = database.connect().await;
            let _ = db.execute_unprepared("CREATE EXTENSION IF NOT EXISTS pg_stat_statements").await;
            Some(db)
        }
        Backend::Sqlite | Backend::MySql => None,
    };
    let url = bot.url("/webhook/telegram");
    let plan = |seconds: u64| Plan {
        clients,
        run_for: Duration::from_secs(seconds),
        admin: ADMIN,
        first_user: FIRST_CLIENT,
        step_timeout: Duration::from_secs(30),
    };
    if opts.warmup > 0 {
        driver::run(&url, &fake, &plan(opts.warmup)).await;
    }
    let window = Duration::from_secs(opts.seconds);
    let before = snapshot(opts.backend, &bot, &fake, stats_db.as_ref()).await;
    let measured = plan(opts.seconds);
    let (mut report, after) = tokio::join!(driver::run(&url, &fake, &measured), async {
        tokio::time::sleep_until(before.at + window).await;
        snapshot(opts.backend, &bot, &fake, stats_db.as_ref()).await
    });
    let rss_mb = bot.peak_rss_mb();
    bot.stop();
    if let Some(db) = stats_db {
        let _ = db.close().await;
    }
    let seconds = after.at.duration_since(before.at).as_secs_f64();
    let delivered = after.counts.since(&before.counts);
    let mut conversations: Vec<Duration> = report.conversations.iter().map(|(_, took)| *took).collect();
    Some(Row {
        system,
        clients,
        rate: report.rate(before.at, window),
        webhook: (percentile(&mut report.webhook, 0.5), percentile(&mut report.webhook, 0.99)),
        conversation: (percentile(&mut conversations, 0.5), percentile(&mut conversations, 0.99)),
        bot_cpu: (after.bot_cpu - before.bot_cpu) / seconds,
        database_cpu: process::cpu_between(&before.database, &after.database) / seconds,
        rss_mb,
        delivered: delivered.delivered(),
        commits: after.commits.zip(before.commits).map(|(a, b)| a - b),
        statements: after.statements.zip(before.statements).map(|(a, b)| a - b),
        lost: report.lost,
        doubled: report.doubled.total(),
        violations: delivered.violations,
    })
}

fn name(system: Program) -> &'static str {
    match system {
        Program::Kktbot => "**kktbot**",
        Program::Minimal => "minimal durable bot",
    }
}

fn per(n: Option<i64>, delivered: u64) -> String {
    match n {
        Some(n) if delivered > 0 => format!("{:.2}", n as f64 / delivered as f64),
        _ => "–".into(),
    }
}

fn print_row(row: &Row) {
    println!(
        "| {} | {} | {:.0} | {} / {} | {} / {} | {:.0} % | {:.0} % | {:.2} | {:.0} | {} | {} | {} / {} |",
        name(row.system),
        row.clients,
        row.rate,
        ms(row.webhook.0),
        ms(row.webhook.1),
        ms(row.conversation.0),
        ms(row.conversation.1),
        row.bot_cpu * 100.0,
        row.database_cpu * 100.0,
        if row.rate > 0.0 { row.database_cpu * 1000.0 / row.rate } else { 0.0 },
        row.rss_mb,
        per(row.commits, row.delivered),
        per(row.statements, row.delivered),
        row.lost,
        row.doubled,
    );
}

async fn run(opts: Options) {
    let database = options::database_name(opts.backend);
    println!("# kktbot capacity benchmark on {database}");
    println!("options: {opts:?}");
    println!(
        "\n| system | clients | conv/s | webhook p50 / p99 ms | conversation p50 / p99 ms | bot CPU | {database} CPU \
         | {database} CPU ms / conv | peak RSS MB | commits / call | statements / call | lost / doubled |"
    );
    println!("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    let mut rows = Vec::new();
    for &clients in &opts.clients {
        for _ in 0..opts.runs {
            for &system in &opts.systems {
                match one_run(system, clients, &opts).await {
                    Some(row) => {
                        print_row(&row);
                        rows.push(row);
                    }
                    None => println!("| {} | {clients} | SKIPPED: a service it needs is not reachable |", name(system)),
                }
            }
        }
    }
    println!();
    for &clients in &opts.clients {
        let rates = |system: Program| -> Vec<f64> {
            rows.iter().filter(|r| r.system == system && r.clients == clients).map(|r| r.rate).collect()
        };
        let (bot, ceiling) = (rates(Program::Kktbot), rates(Program::Minimal));
        if bot.is_empty() || ceiling.is_empty() {
            continue;
        }
        let ratios: Vec<String> =
            bot.iter().zip(&ceiling).map(|(b, c)| format!("{:.2}", if *c > 0.0 { b / c } else { 0.0 })).collect();
        println!(
            "- {clients} clients: kktbot {:?} conv/s, minimal bot {:?} conv/s; ratio per run {} (target ≥ 0.5)",
            bot.iter().map(|r| r.round()).collect::<Vec<_>>(),
            ceiling.iter().map(|r| r.round()).collect::<Vec<_>>(),
            ratios.join(", ")
        );
    }
    let violations: u64 = rows.iter().map(|r| r.violations).sum();
    println!("- flood-limit breaches seen by the fake (not enforced here): {violations}");
}

fn main() {
    if std::env::var(process::ROLE).is_ok_and(|r| r == process::MINIMAL_BOT) {
        conversation::minimal::serve_from_env();
        return;
    }
    let opts = Options::from_env();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    runtime.block_on(run(opts));
}
