//! Fairness benchmark (issue 14, item 3): the outbox under Telegram's real limits.
//!
//! The real `kktbot serve` runs with its default limits (30 messages a second for the bot, one a
//! second per private chat) against a fresh database (PostgreSQL + Redis by default) and the
//! in-process fake Bot API (`conversation::fake`) *enforcing* those limits: a send that breaches
//! one is answered 429 and counted as a violation (the target is none). Each scenario starts a
//! fresh server:
//!
//! - **fold**: two administrators; the second one's chat has a backlog (`/start` replies) while
//!   clients file requests that the first approves as soon as his copy arrives. The second
//!   administrator's copies are still queued when the decision edits them: each must reach his
//!   chat once, already with the decision's text, and no edit follows.
//! - **idle**: one chat has a backlog of 100 replies; other chats, each with nothing queued, send
//!   `/start` now and then. Reported: the time from posting the update to its reply reaching
//!   the fake (an upper bound of commit → send; the target is a p99 under 100 ms).
//! - **backlog**: many chats with replies queued, more than the bot's limit can carry, while
//!   users tap stale buttons: the answers' latency (post → answer at the fake), and the bot's
//!   rate used while there is work for it, i.e. while at least 30 chats still have replies
//!   queued (the target: ≥ 95 % of 30 a second).
//! - **filing**: 20 clients file at once, one administrator approves each copy as it arrives;
//!   each client's time from the administrator's tap to the decision reaching him (the target:
//!   about 1–2 s, the per-chat spacing after his "accepted" message), and whether all complete.
//!
//! Options (environment): `BENCH_BACKEND=postgres|mysql|sqlite` (postgres; `mysql` is MySQL or
//! MariaDB; all with Redis),
//! `BENCH_RUNS` (3). Run with `cargo bench --bench fairness`; without `--bench` (as under
//! `cargo test --benches`) a short smoke run on SQLite.

// The support code is linted with the integration tests; its findings are theirs to fix.
#[allow(clippy::wrong_self_convention, unused_macros, unused_imports)]
#[path = "../tests/support/mod.rs"]
mod support;

mod options;

mod conversation;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use conversation::driver::percentile;
use conversation::fake::{Delivery, Fake, Seen};
use conversation::process::{self, Bot, Program};
use options::env_or;
use serde_json::Value;
use support::updates::{self, User};
use support::{Backend, TestDatabase, TestRedis, WEBHOOK_SECRET};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinSet;
use tokio::time::Instant;

const TOKEN: &str = "7000000001:AAFakeTokenForTestsOnly_abcdefghijklmn";
const ADMIN: i64 = 5_400_000_001;
const SECOND_ADMIN: i64 = 5_400_000_002;
/// The bot's limit the fake enforces, for the rate used.
const BOT_LIMIT: f64 = 30.0;
/// A reply later than this is missing.
const WAIT: Duration = Duration::from_secs(90);

/// How big each scenario is.
#[derive(Clone, Copy, Debug)]
struct Sizes {
    fold_clients: usize,
    fold_backlog: usize,
    idle_backlog: usize,
    idle_chats: usize,
    idle_seconds: u64,
    backlog_chats: usize,
    backlog_per_chat: usize,
    tappers: usize,
    filing_clients: usize,
}

const FULL: Sizes = Sizes {
    fold_clients: 5,
    fold_backlog: 25,
    idle_backlog: 100,
    idle_chats: 10,
    idle_seconds: 20,
    backlog_chats: 45,
    backlog_per_chat: 14,
    tappers: 4,
    filing_clients: 20,
};

const SMOKE: Sizes = Sizes {
    fold_clients: 1,
    fold_backlog: 8,
    idle_backlog: 10,
    idle_chats: 2,
    idle_seconds: 3,
    backlog_chats: 35,
    backlog_per_chat: 2,
    tappers: 1,
    filing_clients: 3,
};

/// A fresh kktbot under the fake that enforces Telegram's limits.
struct Server {
    fake: Fake,
    bot: Option<Bot>,
    http: reqwest::Client,
    url: String,
    _database: TestDatabase,
    _redis: Option<TestRedis>,
}

impl Server {
    async fn start(backend: Backend, admins: &[i64]) -> Option<Self> {
        let database = TestDatabase::try_create(backend).await.ok()?;
        let redis = Some(TestRedis::try_create().await.ok()?);
        let fake = Fake::start(true).await;
        let admins: Vec<String> = admins.iter().map(i64::to_string).collect();
        let mut env = BTreeMap::new();
        for (name, value) in [
            ("DATABASE_URL", database.url().to_string()),
            ("TELEGRAM_API_URL", fake.api_url.clone()),
            ("TELEGRAM_BOT_TOKEN", TOKEN.to_string()),
            ("TELEGRAM_WEBHOOK_SECRET", WEBHOOK_SECRET.to_string()),
            ("ADMIN_TELEGRAM_IDS", admins.join(",")),
            ("JWT_SECRET_KEY", "benchmark-jwt-secret-key-0123456789abcdef".to_string()),
            ("LOG_LEVEL", "warn".to_string()),
        ] {
            env.insert(name.to_string(), value);
        }
        if let Some(redis) = &redis {
            env.insert("REDIS_URL".into(), redis.url.clone());
            env.insert("REDIS_KEY_PREFIX".into(), redis.prefix.clone());
        }
        let bot = Bot::start(Program::Kktbot, process::free_port(), env).await;
        let http = reqwest::Client::builder()
            .no_proxy()
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(30))
            .build()
            .expect("HTTP client");
        let url = bot.url("/webhook/telegram");
        Some(Self { fake, bot: Some(bot), http, url, _database: database, _redis: redis })
    }

    /// Posts an update until it is answered 200 (as Telegram would); when it was first posted.
    async fn post(&self, update: &Value) -> Instant {
        let posted = Instant::now();
        for _ in 0..50 {
            let answer = self
                .http
                .post(&self.url)
                .header("X-Telegram-Bot-Api-Secret-Token", WEBHOOK_SECRET)
                .json(update)
                .send()
                .await;
            if answer.is_ok_and(|r| r.status() == 200) {
                return posted;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("an update was not accepted in 10 s");
    }

    fn stop(mut self) {
        if let Some(bot) = self.bot.take() {
            bot.stop();
        }
    }
}

/// A button press whose query id names the presser's chat, so the fake routes its answer there.
fn tap(user: &User, data: &str, message_id: i64, n: &mut u64) -> Value {
    let mut update = updates::callback(user, data, message_id);
    *n += 1;
    update["callback_query"]["id"] = Value::String(format!("{}_{}", user.id, n));
    update
}

/// A message that reached a chat.
struct Message {
    message_id: i64,
    button: Option<String>,
    at: Instant,
}

/// The next message (not an answer, not an edit) to a chat.
async fn next_message(inbox: &mut UnboundedReceiver<Seen>) -> Option<Message> {
    let deadline = Instant::now() + WAIT;
    loop {
        let seen = tokio::time::timeout_at(deadline, inbox.recv()).await.ok()??;
        if let Delivery::Message { message_id, button, edit: false, .. } = seen.delivery {
            return Some(Message { message_id, button, at: seen.at });
        }
    }
}

/// The requester named in an administrator's copy (`@user<id>`).
fn requester(text: &str) -> Option<i64> {
    text.split("@user").nth(1)?.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

/// A client files a request: `/start`, `/request`, a type, a description, Submit; returns when
/// "accepted" arrived.
async fn file(server: &Server, user: &User, inbox: &mut UnboundedReceiver<Seen>) -> Option<()> {
    let mut n = 0;
    server.post(&updates::text(user, "/start")).await;
    next_message(inbox).await?;
    server.post(&updates::text(user, "/request")).await;
    let types = next_message(inbox).await?;
    server.post(&tap(user, &types.button?, types.message_id, &mut n)).await;
    next_message(inbox).await?;
    server.post(&updates::text(user, &format!("Касса клиента {} не печатает чеки", user.id))).await;
    let summary = next_message(inbox).await?;
    server.post(&tap(user, &summary.button?, summary.message_id, &mut n)).await;
    next_message(inbox).await?;
    Some(())
}

/// What the approving administrator saw: when he tapped each client's Approve, and the text of
/// his copy as the decision edited it.
#[derive(Default)]
struct Approvals {
    tapped: HashMap<i64, Instant>,
    final_text: HashMap<i64, String>,
}

/// Plays the administrator who approves every copy the moment it arrives.
fn approve_everything(server: &Arc<Server>, admin: i64) -> (tokio::task::JoinHandle<()>, Arc<Mutex<Approvals>>) {
    let approvals = Arc::new(Mutex::new(Approvals::default()));
    let mut inbox = server.fake.subscribe(admin);
    let (server, shared) = (server.clone(), approvals.clone());
    let task = tokio::spawn(async move {
        let user = User::ru(admin, "Админ");
        let (mut copies, mut n) = (HashMap::new(), 0);
        while let Some(seen) = inbox.recv().await {
            let Delivery::Message { message_id, text, button, edit, .. } = seen.delivery else { continue };
            if edit {
                if let Some(client) = copies.get(&message_id) {
                    shared.lock().unwrap().final_text.insert(*client, text);
                }
                continue;
            }
            let (Some(client), Some(button)) = (requester(&text), button) else { continue };
            copies.insert(message_id, client);
            let update = tap(&user, &button, message_id, &mut n);
            let posted = server.post(&update).await;
            shared.lock().unwrap().tapped.insert(client, posted);
        }
    });
    (task, approvals)
}

/// Queues `count` replies to `user`'s chat (`/start` posted that many times).
async fn queue_replies(server: &Server, user: &User, count: usize) {
    for _ in 0..count {
        server.post(&updates::text(user, "/start")).await;
    }
}

struct Fold {
    requests: usize,
    folded: usize,
    /// Edits that reached the second administrator's chat.
    edits: usize,
}

async fn fold(backend: Backend, sizes: Sizes) -> Option<(Fold, u64)> {
    let server = Arc::new(Server::start(backend, &[ADMIN, SECOND_ADMIN]).await?);
    let mut second = server.fake.subscribe(SECOND_ADMIN);
    queue_replies(&server, &User::ru(SECOND_ADMIN, "Второй"), sizes.fold_backlog).await;
    let (approver, approvals) = approve_everything(&server, ADMIN);
    let mut clients = JoinSet::new();
    for i in 0..sizes.fold_clients {
        let server = server.clone();
        let user = User::ru(5_410_000_000 + i as i64, "Клиент");
        let mut inbox = server.fake.subscribe(user.id);
        clients.spawn(async move {
            file(&server, &user, &mut inbox).await?;
            next_message(&mut inbox).await.map(|_| ())
        });
    }
    let filed = clients.join_all().await.iter().filter(|c| c.is_some()).count();
    // Every filed request's copy reaches the second administrator once his backlog is through.
    let (mut copies, mut edits) = (Vec::new(), 0);
    let deadline = Instant::now() + WAIT;
    while copies.len() < filed {
        let Ok(Some(seen)) = tokio::time::timeout_at(deadline, second.recv()).await else { break };
        match seen.delivery {
            Delivery::Message { edit: true, .. } => edits += 1,
            Delivery::Message { text, .. } if requester(&text).is_some() => copies.push(text),
            _ => {}
        }
    }
    // Anything the decisions would still send him.
    tokio::time::sleep(Duration::from_secs(3)).await;
    while let Ok(seen) = second.try_recv() {
        if let Delivery::Message { edit: true, .. } = seen.delivery {
            edits += 1;
        }
    }
    approver.abort();
    let approvals = approvals.lock().unwrap();
    let folded = copies
        .iter()
        .filter(|text| requester(text).and_then(|c| approvals.final_text.get(&c)).is_some_and(|done| done == *text))
        .count();
    let violations = server.fake.counts().violations;
    if let Ok(server) = Arc::try_unwrap(server) {
        server.stop();
    }
    Some((Fold { requests: sizes.fold_clients, folded, edits }, violations))
}

struct Idle {
    latencies: Vec<Duration>,
    /// Replies of the backlog still queued when the measurement ended.
    backlog_left: usize,
}

async fn idle(backend: Backend, sizes: Sizes) -> Option<(Idle, u64)> {
    let server = Arc::new(Server::start(backend, &[ADMIN]).await?);
    let busy = User::ru(5_420_000_000, "Занятой");
    let busy_inbox = server.fake.subscribe(busy.id);
    queue_replies(&server, &busy, sizes.idle_backlog).await;
    let stop_at = Instant::now() + Duration::from_secs(sizes.idle_seconds);
    let mut chats = JoinSet::new();
    for i in 0..sizes.idle_chats {
        let server = server.clone();
        let user = User::ru(5_420_000_001 + i as i64, "Клиент");
        let mut inbox = server.fake.subscribe(user.id);
        chats.spawn(async move {
            let mut latencies = Vec::new();
            // Spread the chats' posts over the chat limit's second.
            tokio::time::sleep(Duration::from_millis(1200 * i as u64 / 10)).await;
            while Instant::now() < stop_at {
                let posted = server.post(&updates::text(&user, "/start")).await;
                let reply = next_message(&mut inbox).await.expect("a reply to an idle chat");
                latencies.push(reply.at.duration_since(posted));
                // Its chat is idle again before the next one: past the per-chat spacing.
                tokio::time::sleep_until(reply.at + Duration::from_millis(1300)).await;
            }
            latencies
        });
    }
    let latencies: Vec<Duration> = chats.join_all().await.into_iter().flatten().collect();
    let mut busy_inbox = busy_inbox;
    let mut delivered = 0;
    while busy_inbox.try_recv().is_ok() {
        delivered += 1;
    }
    let violations = server.fake.counts().violations;
    if let Ok(server) = Arc::try_unwrap(server) {
        server.stop();
    }
    Some((Idle { latencies, backlog_left: sizes.idle_backlog.saturating_sub(delivered) }, violations))
}

struct Backlog {
    answers: Vec<Duration>,
    /// Sends while the bot's limit bound, and how long that was.
    sends: usize,
    span: Duration,
}

impl Backlog {
    fn rate(&self) -> f64 {
        if self.span.is_zero() { 0.0 } else { (self.sends.saturating_sub(1)) as f64 / self.span.as_secs_f64() }
    }
}

async fn backlog(backend: Backend, sizes: Sizes) -> Option<(Backlog, u64)> {
    let server = Arc::new(Server::start(backend, &[ADMIN]).await?);
    let chats: Vec<User> = (0..sizes.backlog_chats).map(|i| User::ru(5_430_000_000 + i as i64, "Клиент")).collect();
    let inboxes: Vec<_> = chats.iter().map(|user| server.fake.subscribe(user.id)).collect();
    let mut posting = JoinSet::new();
    for user in &chats {
        let user = user.clone();
        let server = server.clone();
        posting.spawn(async move { queue_replies(&server, &user, sizes.backlog_per_chat).await });
    }
    posting.join_all().await;
    let expected = sizes.backlog_chats * sizes.backlog_per_chat;
    // Users tap stale buttons while the backlog drains.
    let mut tappers = JoinSet::new();
    for i in 0..sizes.tappers {
        let server = server.clone();
        let user = User::ru(5_431_000_000 + i as i64, "Нажимающий");
        let mut inbox = server.fake.subscribe(user.id);
        let tap_for = Duration::from_secs_f64(expected as f64 / BOT_LIMIT * 0.7);
        tappers.spawn(async move {
            let (mut n, mut latencies) = (0, Vec::new());
            let stop_at = Instant::now() + tap_for;
            tokio::time::sleep(Duration::from_millis(70 * i as u64)).await;
            while Instant::now() < stop_at {
                let posted = server.post(&tap(&user, "stale", 1, &mut n)).await;
                let deadline = posted + WAIT;
                while let Ok(Some(seen)) = tokio::time::timeout_at(deadline, inbox.recv()).await {
                    if let Delivery::Answer { .. } = seen.delivery {
                        latencies.push(seen.at.duration_since(posted));
                        break;
                    }
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            latencies
        });
    }
    let answers: Vec<Duration> = tappers.join_all().await.into_iter().flatten().collect();
    // Wait for the backlog to drain.
    let deadline = Instant::now() + WAIT;
    let backlog_chats: HashSet<i64> = chats.iter().map(|u| u.id).collect();
    let sends = loop {
        let log: Vec<(Instant, i64)> =
            server.fake.send_log().into_iter().filter(|(_, chat)| backlog_chats.contains(chat)).collect();
        if log.len() >= expected || Instant::now() > deadline {
            break log;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    drop(inboxes);
    // The bot's limit binds while at least as many chats as it allows a second have messages
    // left (each chat's last send is when it ran out): from the first send until then.
    let mut last_sends: Vec<Instant> = sends
        .iter()
        .fold(HashMap::new(), |mut last, (at, chat)| {
            last.insert(*chat, *at);
            last
        })
        .into_values()
        .collect();
    last_sends.sort_unstable_by(|a, b| b.cmp(a));
    let busy_until = last_sends.get(BOT_LIMIT as usize - 1).copied();
    let (sends, span) = match (sends.first(), busy_until) {
        (Some((first, _)), Some(end)) => {
            (sends.iter().filter(|(at, _)| *at <= end).count(), end.duration_since(*first))
        }
        _ => (0, Duration::ZERO),
    };
    let violations = server.fake.counts().violations;
    if let Ok(server) = Arc::try_unwrap(server) {
        server.stop();
    }
    Some((Backlog { answers, sends, span }, violations))
}

struct Filing {
    clients: usize,
    told: Vec<Duration>,
}

async fn filing(backend: Backend, sizes: Sizes) -> Option<(Filing, u64)> {
    let server = Arc::new(Server::start(backend, &[ADMIN]).await?);
    let (approver, approvals) = approve_everything(&server, ADMIN);
    let mut clients = JoinSet::new();
    for i in 0..sizes.filing_clients {
        let server = server.clone();
        let user = User::ru(5_440_000_000 + i as i64, "Клиент");
        let mut inbox = server.fake.subscribe(user.id);
        clients.spawn(async move {
            file(&server, &user, &mut inbox).await?;
            let decision = next_message(&mut inbox).await?;
            Some((user.id, decision.at))
        });
    }
    let decided: Vec<(i64, Instant)> = clients.join_all().await.into_iter().flatten().collect();
    approver.abort();
    let approvals = approvals.lock().unwrap();
    let told = decided
        .iter()
        .filter_map(|(client, at)| approvals.tapped.get(client).map(|tapped| at.duration_since(*tapped)))
        .collect();
    let violations = server.fake.counts().violations;
    drop(approvals);
    if let Ok(server) = Arc::try_unwrap(server) {
        server.stop();
    }
    Some((Filing { clients: sizes.filing_clients, told }, violations))
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().next().unwrap_or("?").to_string())
        .unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.0}", d.as_secs_f64() * 1e3)
}

fn secs(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64())
}

async fn run(backend: Backend, runs: usize, sizes: Sizes) {
    println!("# kktbot fairness benchmark ({backend:?}, {runs} runs, {sizes:?})");
    println!(
        "\n| run | load | folded (B's edits) | idle chat p50 / p99 / max ms (n; backlog left) | answers p50 / p99 / max ms (n) \
         | bot rate /s (% of 30; sends) | filing: told p50 / p99 / max s (done) | violations |"
    );
    println!("|--:|--:|---|---|---|---|---|--:|");
    for run in 1..=runs {
        let load = load_average();
        let Some((fold, v1)) = fold(backend, sizes).await else {
            println!("| {run} | SKIPPED: a service it needs is not reachable |");
            return;
        };
        let (mut idle, v2) = idle(backend, sizes).await.expect("the services were reachable");
        let (mut backlog, v3) = backlog(backend, sizes).await.expect("the services were reachable");
        let (mut filing, v4) = filing(backend, sizes).await.expect("the services were reachable");
        let l = &mut idle.latencies;
        let a = &mut backlog.answers;
        let t = &mut filing.told;
        println!(
            "| {run} | {load} | {}/{} ({}) | {} / {} / {} ({}; {}) | {} / {} / {} ({}) | {:.1} ({:.0} %; {}) | {} / {} / {} ({}/{}) | {} |",
            fold.folded,
            fold.requests,
            fold.edits,
            ms(percentile(l, 0.5)),
            ms(percentile(l, 0.99)),
            ms(percentile(l, 1.0)),
            l.len(),
            idle.backlog_left,
            ms(percentile(a, 0.5)),
            ms(percentile(a, 0.99)),
            ms(percentile(a, 1.0)),
            a.len(),
            backlog.rate(),
            backlog.rate() * 100.0 / BOT_LIMIT,
            backlog.sends,
            secs(percentile(t, 0.5)),
            secs(percentile(t, 0.99)),
            secs(percentile(t, 1.0)),
            t.len(),
            filing.clients,
            v1 + v2 + v3 + v4,
        );
    }
}

fn main() {
    let smoke = options::smoke();
    let backend = options::backend("postgres");
    let runs = env_or("BENCH_RUNS", if smoke { 1 } else { 3 });
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    runtime.block_on(run(backend, runs, if smoke { SMOKE } else { FULL }));
}
