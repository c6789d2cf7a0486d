//! Crash benchmark (issue 14): clients run the approval conversation continuously while the
//! real `kktbot` binary is killed with SIGKILL several times and started again at once, on the
//! same port, database and Redis; the driver posts every update that was not answered 200 again
//! the way Telegram does (at once, then after 1, 2, 4, 8 s, …). Counted: conversations
//! completed, replies lost (not within `BENCH_STEP_TIMEOUT`), messages doubled, and replies late:
//! a reply's delay is the time from its update's first post, or from the last restart that
//! came before the reply if that is later, to its arrival. Target: every delay under 5 s, none
//! lost, at most one doubled message per kill.
//!
//! Options (environment): `BENCH_BACKEND=postgres|mysql|sqlite` (postgres; `mysql` is MySQL or
//! MariaDB, on a database of its own, created and dropped; all with Redis for the dialog state,
//! which must outlive a crash), `BENCH_CLIENTS` (20), `BENCH_SECONDS` (35:
//! conversations start until then), `BENCH_KILLS` (3), `BENCH_FIRST_KILL` (5 s),
//! `BENCH_KILL_EVERY` (10 s), `BENCH_STEP_TIMEOUT` (150 s, longer than any lease),
//! `BENCH_LIMITS=lifted|telegram` (lifted: kktbot's limits at 100000/s, as in the capacity
//! benchmark). Run with `cargo bench --bench crash`; without `--bench` a short smoke run (one
//! kill) on SQLite.

// The support code is linted with the integration tests; its findings are theirs to fix.
#[allow(clippy::wrong_self_convention, unused_macros, unused_imports)]
#[path = "../tests/support/mod.rs"]
mod support;

mod options;

mod conversation;

use std::collections::BTreeMap;
use std::time::Duration;

use conversation::driver::{self, Plan, Step, ms, percentile};
use conversation::fake::Fake;
use conversation::process::{self, Bot, Program};
use options::env_or;
use support::{Backend, TestDatabase, TestRedis, WEBHOOK_SECRET};
use tokio::time::Instant;

const ADMIN: i64 = 5_200_000_001;
const FIRST_CLIENT: i64 = 5_400_000_000;
const TOKEN: &str = "7000000001:AAFakeTokenForTestsOnly_abcdefghijklmn";
/// A reply later than this after its update (or the restart) is late.
const LATE: Duration = Duration::from_secs(5);

#[derive(Debug)]
struct Options {
    backend: Backend,
    clients: usize,
    seconds: u64,
    kills: u32,
    first_kill: u64,
    kill_every: u64,
    step_timeout: u64,
    lifted: bool,
}

impl Options {
    fn from_env() -> Self {
        let smoke = options::smoke();
        Self {
            backend: options::backend("postgres"),
            clients: env_or("BENCH_CLIENTS", if smoke { 3 } else { 20 }),
            seconds: env_or("BENCH_SECONDS", if smoke { 4 } else { 35 }),
            kills: env_or("BENCH_KILLS", if smoke { 1 } else { 3 }),
            first_kill: env_or("BENCH_FIRST_KILL", if smoke { 2 } else { 5 }),
            kill_every: env_or("BENCH_KILL_EVERY", 10),
            step_timeout: env_or("BENCH_STEP_TIMEOUT", 150),
            lifted: match env_or("BENCH_LIMITS", "lifted".to_string()).as_str() {
                "lifted" => true,
                "telegram" => false,
                other => panic!("BENCH_LIMITS={other}: expected lifted or telegram"),
            },
        }
    }
}

/// How late a step's reply came: after its first post, or after the restart that came last
/// before the reply, whichever is later.
fn delay(step: &Step, ready_at: &[Instant]) -> Duration {
    let restart = ready_at.iter().copied().filter(|ready| *ready <= step.replied).max();
    let from = restart.map_or(step.posted, |ready| ready.max(step.posted));
    step.replied.duration_since(from)
}

async fn run(opts: Options) {
    println!("# kktbot crash benchmark on {}", options::database_name(opts.backend));
    println!("options: {opts:?}");
    let (database, redis) = match (TestDatabase::try_create(opts.backend).await, TestRedis::try_create().await) {
        (Ok(database), Ok(redis)) => (database, redis),
        (Err(why), _) | (_, Err(why)) => {
            println!("SKIPPED: {why}");
            return;
        }
    };
    let fake = Fake::start(false).await;
    let mut env = BTreeMap::new();
    for (name, value) in [
        ("DATABASE_URL", database.url().to_string()),
        ("REDIS_URL", redis.url.clone()),
        ("REDIS_KEY_PREFIX", redis.prefix.clone()),
        ("TELEGRAM_API_URL", fake.api_url.clone()),
        ("TELEGRAM_BOT_TOKEN", TOKEN.to_string()),
        ("TELEGRAM_WEBHOOK_SECRET", WEBHOOK_SECRET.to_string()),
        ("ADMIN_TELEGRAM_IDS", ADMIN.to_string()),
        ("JWT_SECRET_KEY", "benchmark-jwt-secret-key-0123456789abcdef".to_string()),
        ("LOG_LEVEL", "warn".to_string()),
    ] {
        env.insert(name.to_string(), value);
    }
    if opts.lifted {
        for name in
            ["TELEGRAM_RATE_GLOBAL_PER_SECOND", "TELEGRAM_RATE_CHAT_PER_SECOND", "TELEGRAM_RATE_GROUP_PER_MINUTE"]
        {
            env.insert(name.to_string(), "100000".to_string());
        }
    }
    let mut bot = Bot::start(Program::Kktbot, process::free_port(), env).await;
    let url = bot.url("/webhook/telegram");
    let plan = Plan {
        clients: opts.clients,
        run_for: Duration::from_secs(opts.seconds),
        admin: ADMIN,
        first_user: FIRST_CLIENT,
        step_timeout: Duration::from_secs(opts.step_timeout),
    };
    let started = Instant::now();
    let kills = async {
        let mut restarts = Vec::new();
        for k in 0..opts.kills {
            let at = started + Duration::from_secs(opts.first_kill + opts.kill_every * u64::from(k));
            tokio::time::sleep_until(at).await;
            let killed = Instant::now();
            bot.kill_and_restart().await;
            restarts.push((killed, Instant::now()));
        }
        restarts
    };
    let (mut report, restarts) = tokio::join!(driver::run(&url, &fake, &plan), kills);
    bot.stop();

    println!("\nkills (s after the start → ready again, s):");
    for (killed, ready) in &restarts {
        println!(
            "- killed at {:.1} s, ready {:.2} s later",
            killed.duration_since(started).as_secs_f64(),
            ready.duration_since(*killed).as_secs_f64()
        );
    }
    let ready_at: Vec<Instant> = restarts.iter().map(|(_, ready)| *ready).collect();
    let mut delays: Vec<Duration> = report.steps.iter().map(|step| delay(step, &ready_at)).collect();
    let late = delays.iter().filter(|d| **d > LATE).count();
    let very_late = delays.iter().filter(|d| **d > Duration::from_secs(20)).count();
    let worst = percentile(&mut delays, 1.0);
    let p99 = percentile(&mut delays, 0.99);
    let mut conversations: Vec<Duration> = report.conversations.iter().map(|(_, took)| *took).collect();
    let d = report.doubled;
    println!(
        "\nconversations completed: {}; replies awaited: {}; lost: {}; updates given up: {}; posts repeated: {}",
        report.conversations.len(),
        report.steps.len(),
        report.lost,
        report.given_up,
        report.reposts
    );
    println!(
        "doubled: {} ({} client messages, {} administrator copies, {} edits, {} answers) for {} kills",
        d.total(),
        d.messages,
        d.copies,
        d.edits,
        d.answers,
        restarts.len()
    );
    println!(
        "reply delay (from the post, or the restart before it): p99 {} ms, max {} ms; over 5 s: {late}; over 20 s: {very_late}",
        ms(p99),
        ms(worst)
    );
    println!(
        "conversation p50 / p99: {} / {} ms; webhook p50 / p99: {} / {} ms",
        ms(percentile(&mut conversations, 0.5)),
        ms(percentile(&mut conversations, 0.99)),
        ms(percentile(&mut report.webhook, 0.5)),
        ms(percentile(&mut report.webhook, 0.99))
    );
    let met = late == 0 && report.lost == 0 && d.total() <= u64::from(opts.kills);
    println!(
        "target (every reply within 5 s of the restart, none lost, at most one doubled per kill): {}",
        if met { "met" } else { "MISSED" }
    );
}

fn main() {
    let opts = Options::from_env();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    runtime.block_on(run(opts));
}
