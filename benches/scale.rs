//! The API at company scale (issue 17): the dashboard's own calls against a company-sized data
//! set, on each database, held to the response goals of seed 001.
//!
//! For each backend: a fresh database, migrated, filled by `scale/data.rs` (10,000 clients,
//! 30,000 cash registers, 100,000 deadlines, 50,000 requests with their events, 200,000 reminder
//! log rows at `BENCH_SCALE=1`), then the real server (`kktbot serve`, this build's binary; the
//! bot off: no token) on it. One dashboard user signs in as the dashboard does (`POST
//! /api/auth/login`, then the session cookie and the `X-Requested-With` header on every call).
//!
//! Measured, as p50/p95/p99 of the time to the whole answer:
//! - **single user**: each call of [`CALLS`] `BENCH_REPEAT` times in a row (after a warm-up);
//! - **50 users**: `BENCH_USERS` signed-in sessions, each making the calls of [`CALLS`] one after
//!   another, round and round, for `BENCH_SECONDS`;
//! - **export**: `GET /api/export/reminders.csv` — the time to the first byte and to the last, and
//!   the server's resident memory sampled every 5 ms while it runs, above what it was before —
//!   with the reminder log at its generated size and again at twice that size.
//!
//! Goals checked at p95 on every database: statistics < 100 ms, the client list < 50 ms, a
//! deadline search < 100 ms, 50 concurrent users < 500 ms; the export's memory flat in the rows.
//!
//! Options (environment): `BENCH_BACKEND=sqlite|postgres|mysql|all` (all), `BENCH_SCALE` (1.0;
//! 0.1 for a quick run), `BENCH_REPEAT` (40), `BENCH_USERS` (50), `BENCH_SECONDS` (20).
//! PostgreSQL and MariaDB come from `KKTBOT_TEST_POSTGRES_URL` / `KKTBOT_TEST_MYSQL_URL` as in the
//! tests; a backend whose server is unreachable is skipped. Run with
//! `cargo bench --bench scale`; without `--bench` (as under `cargo test --benches`) a small smoke
//! run on SQLite.

// The support code is linted with the integration tests; its findings are theirs to fix.
#[allow(clippy::wrong_self_convention, unused_macros, unused_imports)]
#[path = "../tests/support/mod.rs"]
mod support;

mod options;

// The process helpers of the capacity benchmark; this one starts only kktbot.
#[allow(dead_code)]
#[path = "conversation/process.rs"]
mod process;

#[path = "scale/data.rs"]
mod data;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use kktbot::entities::user::Role;
use kktbot::services::users::{self, NewUser};
use options::env_or;
use process::{Bot, Program};
use support::{Backend, TestDatabase};
use tokio::time::Instant;

const EMAIL: &str = "bench@kktbot.local";
const PASSWORD: &str = "benchmark-password-0123";

struct Options {
    backends: Vec<Backend>,
    scale: f64,
    repeat: usize,
    users: usize,
    seconds: u64,
}

impl Options {
    fn from_env() -> Self {
        let smoke = options::smoke();
        let backends = options::backends("all");
        Self {
            backends,
            scale: env_or("BENCH_SCALE", if smoke { 0.01 } else { 1.0 }),
            repeat: env_or("BENCH_REPEAT", if smoke { 3 } else { 40 }),
            users: env_or("BENCH_USERS", if smoke { 4 } else { 50 }),
            seconds: env_or("BENCH_SECONDS", if smoke { 1 } else { 20 }),
        }
    }
}

/// Which goal a call is held to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Goal {
    Stats,
    ClientList,
    DeadlineSearch,
    /// No goal of its own (held to the 50-user goal with the others).
    None,
}

impl Goal {
    fn p95_ms(self) -> Option<f64> {
        match self {
            Goal::Stats => Some(100.0),
            Goal::ClientList => Some(50.0),
            Goal::DeadlineSearch => Some(100.0),
            Goal::None => None,
        }
    }
}

/// A dashboard call: its label, path (`{client}`, `{type}`, `{today}`, `{month_ago}` filled in)
/// and goal.
struct Call {
    label: &'static str,
    path: &'static str,
    goal: Goal,
}

/// The calls the dashboard makes on its pages, with the filters a person uses.
const CALLS: &[Call] = &[
    Call { label: "stats", path: "/api/stats", goal: Goal::Stats },
    Call { label: "clients", path: "/api/clients?page=1&per_page=20&sort=name", goal: Goal::ClientList },
    Call {
        label: "clients q=иванов", path: "/api/clients?per_page=20&sort=name&q=иванов", goal: Goal::ClientList
    },
    Call { label: "clients q=7700001", path: "/api/clients?per_page=20&sort=name&q=7700001", goal: Goal::ClientList },
    Call { label: "clients -created_at", path: "/api/clients?per_page=20&sort=-created_at", goal: Goal::ClientList },
    Call {
        label: "clients inactive",
        path: "/api/clients?per_page=20&sort=name&is_active=false",
        goal: Goal::ClientList,
    },
    Call { label: "clients page 200", path: "/api/clients?page=200&per_page=20&sort=name", goal: Goal::ClientList },
    Call { label: "deadlines", path: "/api/deadlines?per_page=20&sort=expiration_date", goal: Goal::DeadlineSearch },
    Call {
        label: "deadlines within 30 d",
        path: "/api/deadlines?per_page=20&sort=expiration_date&expiring_within=30",
        goal: Goal::DeadlineSearch,
    },
    Call {
        label: "deadlines overdue",
        path: "/api/deadlines?per_page=20&sort=expiration_date&overdue=true",
        goal: Goal::DeadlineSearch,
    },
    Call {
        label: "deadlines by type",
        path: "/api/deadlines?per_page=20&sort=expiration_date&type_id={type}",
        goal: Goal::DeadlineSearch,
    },
    Call {
        label: "deadlines by client",
        path: "/api/deadlines?per_page=20&sort=expiration_date&client_id={client}",
        goal: Goal::DeadlineSearch,
    },
    Call {
        label: "deadlines type+30 d",
        path: "/api/deadlines?per_page=20&sort=expiration_date&type_id={type}&expiring_within=30",
        goal: Goal::DeadlineSearch,
    },
    Call { label: "requests", path: "/api/requests?per_page=20&sort=-created_at", goal: Goal::None },
    Call {
        label: "requests pending",
        path: "/api/requests?per_page=20&sort=created_at&status=pending",
        goal: Goal::None,
    },
    Call {
        label: "requests done, month",
        path: "/api/requests?per_page=20&sort=-created_at&status=done&from={month_ago}&to={today}",
        goal: Goal::None,
    },
    Call { label: "requests q=фн", path: "/api/requests?per_page=20&sort=-created_at&q=фн", goal: Goal::None },
    Call { label: "requests link", path: "/api/requests?per_page=20&sort=-created_at&kind=link", goal: Goal::None },
    Call { label: "reminders", path: "/api/notifications?per_page=20&sort=-created_at", goal: Goal::None },
    Call {
        label: "reminders failed",
        path: "/api/notifications?per_page=20&sort=-created_at&status=failed",
        goal: Goal::None,
    },
    Call {
        label: "reminders month",
        path: "/api/notifications?per_page=20&sort=-created_at&from={month_ago}&to={today}",
        goal: Goal::None,
    },
];

/// p50, p95, p99 of some durations, in milliseconds.
fn percentiles(samples: &mut [Duration]) -> [f64; 3] {
    samples.sort();
    let at = |p: f64| {
        if samples.is_empty() {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * samples.len() as f64).ceil() as usize;
        samples[rank.clamp(1, samples.len()) - 1].as_secs_f64() * 1000.0
    };
    [at(50.0), at(95.0), at(99.0)]
}

/// A signed-in dashboard session.
#[derive(Clone)]
struct Session {
    http: reqwest::Client,
    base: String,
    cookie: String,
}

impl Session {
    async fn sign_in(base: &str) -> Self {
        let http = reqwest::Client::builder().no_proxy().build().expect("HTTP client");
        let res = http
            .post(format!("{base}/api/auth/login"))
            .header("X-Requested-With", "kktbot")
            .json(&serde_json::json!({"email": EMAIL, "password": PASSWORD}))
            .send()
            .await
            .expect("sign-in answers");
        assert_eq!(res.status(), 200, "sign-in");
        let cookie = res
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("kktbot_session="))
            .and_then(|v| v.split(';').next())
            .expect("a session cookie")
            .to_string();
        Self { http, base: base.to_string(), cookie }
    }

    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .get(format!("{}{path}", self.base))
            .header(reqwest::header::COOKIE, &self.cookie)
            .header("X-Requested-With", "kktbot")
            .header(reqwest::header::ACCEPT, "application/json")
    }

    /// One call, read to its end; its duration.
    async fn time(&self, path: &str) -> Duration {
        let started = Instant::now();
        let res = self.get(path).send().await.expect("the server answers");
        let status = res.status();
        let body = res.bytes().await.expect("the whole answer");
        assert!(status.is_success(), "GET {path}: {status} {}", String::from_utf8_lossy(&body));
        started.elapsed()
    }
}

/// The paths of [`CALLS`] with their placeholders filled in.
fn paths(type_id: i32, client_id: usize) -> Vec<String> {
    let today = data::today();
    let month_ago = today - chrono::Duration::days(30);
    CALLS
        .iter()
        .map(|c| {
            c.path
                .replace("{type}", &type_id.to_string())
                .replace("{client}", &client_id.to_string())
                .replace("{today}", &today.to_string())
                .replace("{month_ago}", &month_ago.to_string())
        })
        .collect()
}

/// The server's resident memory, in MB.
fn rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// One export: (time to the first byte, time to the last, bytes, RSS before, peak RSS during).
async fn export(session: &Session, pid: u32, path: &str) -> (Duration, Duration, usize, f64, f64) {
    let before = rss_mb(pid);
    // The peak in kB.
    let peak = Arc::new(AtomicU64::new((before * 1024.0) as u64));
    let running = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (peak, running) = (peak.clone(), running.clone());
        tokio::spawn(async move {
            while running.load(Ordering::Relaxed) {
                peak.fetch_max((rss_mb(pid) * 1024.0) as u64, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let started = Instant::now();
    let mut res = session.get(path).send().await.expect("the export answers");
    assert_eq!(res.status(), 200, "GET {path}");
    let mut first = None;
    let mut bytes = 0;
    while let Some(chunk) = res.chunk().await.expect("the export's bytes") {
        first.get_or_insert_with(|| started.elapsed());
        bytes += chunk.len();
    }
    let total = started.elapsed();
    running.store(false, Ordering::Relaxed);
    sampler.await.expect("sampler");
    let peak = peak.load(Ordering::Relaxed) as f64 / 1024.0;
    (first.unwrap_or(total), total, bytes, before, peak)
}

/// What one backend measured.
struct Report {
    backend: Backend,
    generated_in: Duration,
    single: Vec<(&'static str, Goal, [f64; 3])>,
    concurrent: [f64; 3],
    concurrent_calls: usize,
    concurrent_by_call: Vec<(&'static str, [f64; 3])>,
    exports: Vec<(usize, Duration, Duration, usize, f64, f64)>,
}

async fn run_backend(backend: Backend, opts: &Options) -> Option<Report> {
    let database = match TestDatabase::try_create(backend).await {
        Ok(db) => db,
        Err(why) => {
            eprintln!("{}: skipped ({why})", backend.name());
            return None;
        }
    };
    let db = database.connect().await;
    kktbot::db::migrate_up(&db).await.expect("migrations");
    let sizes = data::Sizes::at(opts.scale);
    eprintln!("{}: generating {sizes:?} …", backend.name());
    let started = Instant::now();
    let mut generated = data::generate(&db, sizes).await;
    data::analyze(&db).await;
    let generated_in = started.elapsed();
    eprintln!(
        "{}: generated in {:.1} s ({} request events)",
        backend.name(),
        generated_in.as_secs_f64(),
        generated.events
    );
    users::create(
        &db,
        NewUser { email: EMAIL.into(), password: PASSWORD.into(), name: Some("Benchmark".into()), role: Role::Admin },
    )
    .await
    .expect("the dashboard user");

    let mut env = BTreeMap::new();
    for (name, value) in [
        ("DATABASE_URL", database.url().to_string()),
        ("JWT_SECRET_KEY", "benchmark-jwt-secret-key-0123456789abcdef".to_string()),
        ("LOG_LEVEL", "warn".to_string()),
        ("API_RATE_LIMIT_PER_MINUTE", "100000000".to_string()),
        ("LOGIN_RATE_LIMIT_PER_MINUTE", "100000".to_string()),
    ] {
        env.insert(name.to_string(), value);
    }
    let server = Bot::start(Program::Kktbot, process::free_port(), env).await;
    let base = server.url("");
    let session = Session::sign_in(&base).await;
    let type_id = data_type_id(&db).await;
    let client_id = sizes.clients / 2;
    let paths = paths(type_id, client_id);

    // Single user.
    let mut single = Vec::new();
    for (call, path) in CALLS.iter().zip(&paths) {
        for _ in 0..3 {
            session.time(path).await;
        }
        let mut samples = Vec::with_capacity(opts.repeat);
        for _ in 0..opts.repeat {
            samples.push(session.time(path).await);
        }
        let p = percentiles(&mut samples);
        eprintln!("{}: {:<24} p50 {:>7.1}  p95 {:>7.1}  p99 {:>7.1} ms", backend.name(), call.label, p[0], p[1], p[2]);
        single.push((call.label, call.goal, p));
    }

    // Concurrent users, each signed in on its own.
    let mut sessions = Vec::with_capacity(opts.users);
    for _ in 0..opts.users {
        sessions.push(Session::sign_in(&base).await);
    }
    let deadline = Instant::now() + Duration::from_secs(opts.seconds);
    let paths = Arc::new(paths);
    let mut tasks = tokio::task::JoinSet::new();
    for (user, session) in sessions.into_iter().enumerate() {
        let paths = paths.clone();
        tasks.spawn(async move {
            let mut samples: Vec<(usize, Duration)> = Vec::new();
            let mut next = user % paths.len();
            while Instant::now() < deadline {
                samples.push((next, session.time(&paths[next]).await));
                next = (next + 1) % paths.len();
            }
            samples
        });
    }
    let all: Vec<(usize, Duration)> = tasks.join_all().await.into_iter().flatten().collect();
    let mut durations: Vec<Duration> = all.iter().map(|(_, d)| *d).collect();
    let concurrent = percentiles(&mut durations);
    let concurrent_by_call = CALLS
        .iter()
        .enumerate()
        .map(|(i, call)| {
            let mut of_call: Vec<Duration> = all.iter().filter(|(c, _)| *c == i).map(|(_, d)| *d).collect();
            (call.label, percentiles(&mut of_call))
        })
        .collect();
    eprintln!(
        "{}: {} users, {} calls in {} s: p50 {:.1}  p95 {:.1}  p99 {:.1} ms",
        backend.name(),
        opts.users,
        all.len(),
        opts.seconds,
        concurrent[0],
        concurrent[1],
        concurrent[2]
    );

    // The export, at the generated size and at twice it.
    let mut exports = Vec::new();
    for round in 0..2 {
        if round == 1 {
            let more = generated.reminders();
            generated.add_reminders(&db, more, &[3, 1]).await;
            data::analyze(&db).await;
        }
        let (first, total, bytes, before, peak) = export(&session, server.pid(), "/api/export/reminders.csv").await;
        eprintln!(
            "{}: export of {} reminders: first byte {:.0} ms, all {:.0} ms, {:.1} MB; RSS {before:.0} → peak {peak:.0} MB",
            backend.name(),
            generated.reminders(),
            first.as_secs_f64() * 1000.0,
            total.as_secs_f64() * 1000.0,
            bytes as f64 / 1e6
        );
        exports.push((generated.reminders(), first, total, bytes, before, peak));
    }
    server.stop();
    db.close().await.ok();
    drop(database);
    Some(Report { backend, generated_in, single, concurrent, concurrent_calls: all.len(), concurrent_by_call, exports })
}

/// The id of the fiscal drive deadline type (the most common filter).
async fn data_type_id(db: &sea_orm::DatabaseConnection) -> i32 {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    kktbot::entities::deadline_type::Entity::find()
        .filter(kktbot::entities::deadline_type::Column::Code.eq("fn"))
        .one(db)
        .await
        .expect("deadline types")
        .expect("the fn type")
        .id
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn print(report: &Report, opts: &Options) {
    let name = report.backend.name();
    println!("\n### {name} (scale {}, data generated in {:.1} s)\n", opts.scale, report.generated_in.as_secs_f64());
    println!("| call | p50 ms | p95 ms | p99 ms | goal (p95) |");
    println!("|---|---:|---:|---:|---|");
    for (label, goal, p) in &report.single {
        let verdict = match goal.p95_ms() {
            Some(limit) if p[1] < limit => format!("< {limit:.0} ms: met"),
            Some(limit) => format!("< {limit:.0} ms: **missed**"),
            None => String::new(),
        };
        println!("| {label} | {:.1} | {:.1} | {:.1} | {verdict} |", p[0], p[1], p[2]);
    }
    let c = report.concurrent;
    let verdict = if c[1] < 500.0 { "met" } else { "**missed**" };
    println!(
        "\n{} users, {} calls in {} s: p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms (goal p95 < 500 ms: {verdict})",
        opts.users, report.concurrent_calls, opts.seconds, c[0], c[1], c[2]
    );
    let slowest =
        report.concurrent_by_call.iter().filter(|(_, p)| !p[1].is_nan()).max_by(|a, b| a.1[1].total_cmp(&b.1[1]));
    if let Some((label, p)) = slowest {
        println!("slowest call under load: {label} (p95 {:.1} ms, p99 {:.1} ms)", p[1], p[2]);
    }
    println!(
        "\n| reminder log rows | first byte ms | whole export ms | MB | RSS before MB | RSS peak MB | growth MB |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for (rows, first, total, bytes, before, peak) in &report.exports {
        println!(
            "| {rows} | {:.0} | {:.0} | {:.1} | {before:.0} | {peak:.0} | {:.0} |",
            first.as_secs_f64() * 1000.0,
            total.as_secs_f64() * 1000.0,
            *bytes as f64 / 1e6,
            peak - before
        );
    }
}

#[tokio::main]
async fn main() {
    let opts = Options::from_env();
    println!("load average before: {}", load_average());
    for backend in &opts.backends {
        if let Some(report) = run_backend(*backend, &opts).await {
            print(&report, &opts);
        }
    }
    println!("\nload average after: {}", load_average());
}
