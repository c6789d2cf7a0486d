//! Clients that play the approval conversation against a bot's webhook, as Telegram would
//! deliver it, each waiting for the bot's reply before its next update:
//!
//! 1. `/start` → a greeting;
//! 2. `/request` → the request types with buttons;
//! 3. a tap on the first type → a prompt for the description (and an answer to the tap);
//! 4. the description → a summary with Submit as its first button;
//! 5. a tap on Submit → "accepted" to the client, a copy with Approve as its first button to the
//!    administrator (and an answer);
//! 6. the administrator taps Approve → the client is told (and the copy edited, and an answer).
//!
//! Six updates and eleven Bot API calls. Every update is posted the way Telegram does: anything
//! but 200 (a refused connection, a reset, a 5xx) is posted again at once, then after 1, 2, 4
//! and 8 s, then every 8 s. A reply that does not come within the step timeout counts as lost
//! and the client starts over. A message equal to the one its chat got just before, a second
//! copy or edit with the same text, or a second answer to one callback query counts as doubled
//! (a chat's messages leave in order, so a message sent again follows its first delivery).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use serde_json::Value;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::fake::{Delivery, Fake, Seen};
use crate::support::WEBHOOK_SECRET;
use crate::support::updates::{self, User};

/// Telegram's delays before posting an update again, after the first at once.
const REPOST_AFTER: [u64; 4] = [1, 2, 4, 8];
/// Telegram gives up on an update after a day; the driver after this long.
const GIVE_UP: Duration = Duration::from_secs(180);

/// What to drive.
#[derive(Clone, Debug)]
pub struct Plan {
    pub clients: usize,
    /// Clients start new conversations until this long after the start.
    pub run_for: Duration,
    /// The administrator who approves every request.
    pub admin: i64,
    /// Client `i` is the user `first_user + i`.
    pub first_user: i64,
    /// A reply that takes longer is lost.
    pub step_timeout: Duration,
}

/// One awaited reply: when its update was first posted, when the reply arrived.
#[derive(Clone, Copy, Debug)]
pub struct Step {
    pub posted: Instant,
    pub replied: Instant,
}

/// Deliveries that came twice.
#[derive(Clone, Copy, Debug, Default)]
pub struct Doubled {
    pub messages: u64,
    pub copies: u64,
    pub edits: u64,
    pub answers: u64,
}

impl Doubled {
    pub fn total(&self) -> u64 {
        self.messages + self.copies + self.edits + self.answers
    }

    fn add(&mut self, other: &Doubled) {
        self.messages += other.messages;
        self.copies += other.copies;
        self.edits += other.edits;
        self.answers += other.answers;
    }
}

/// What a run measured.
#[derive(Debug, Default)]
pub struct Report {
    /// When each completed conversation ended, and how long it took.
    pub conversations: Vec<(Instant, Duration)>,
    /// Time to a 200 of each update's successful post.
    pub webhook: Vec<Duration>,
    pub steps: Vec<Step>,
    pub lost: u64,
    pub doubled: Doubled,
    /// Posts answered with anything but 200 (or not at all), each posted again.
    pub reposts: u64,
    /// Updates never answered 200 within [`GIVE_UP`].
    pub given_up: u64,
}

impl Report {
    /// Conversations completed in `[from, from + window)`, per second.
    pub fn rate(&self, from: Instant, window: Duration) -> f64 {
        let done = self.conversations.iter().filter(|(end, _)| *end >= from && *end < from + window).count();
        done as f64 / window.as_secs_f64()
    }
}

/// Where updates go.
struct Webhook {
    url: String,
    http: reqwest::Client,
    reposts: AtomicU64,
    given_up: AtomicU64,
}

impl Webhook {
    /// Posts until answered 200, as Telegram does; the time of the successful post.
    async fn post(&self, update: &Value) -> Option<Duration> {
        let body = Bytes::from(serde_json::to_vec(update).expect("an update serialises"));
        let first = Instant::now();
        let mut waits = REPOST_AFTER.iter().copied().chain(std::iter::repeat(8));
        let mut again_at_once = true;
        loop {
            let sent = Instant::now();
            let answer = self
                .http
                .post(&self.url)
                .header("X-Telegram-Bot-Api-Secret-Token", WEBHOOK_SECRET)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone())
                .send()
                .await;
            if let Ok(response) = answer {
                let ok = response.status() == 200;
                if response.bytes().await.is_ok() && ok {
                    return Some(sent.elapsed());
                }
            }
            self.reposts.fetch_add(1, Ordering::Relaxed);
            if first.elapsed() > GIVE_UP {
                self.given_up.fetch_add(1, Ordering::Relaxed);
                return None;
            }
            if !std::mem::take(&mut again_at_once) {
                tokio::time::sleep(Duration::from_secs(waits.next().unwrap_or(8))).await;
            }
        }
    }
}

/// A message that reached a chat.
struct Received {
    message_id: i64,
    button: Option<String>,
    at: Instant,
}

/// An administrator's copy of a request, routed to the client who filed it.
struct Copy {
    message_id: i64,
    button: Option<String>,
    at: Instant,
}

/// One client's chat as it sees it.
struct Client {
    user: User,
    admin: User,
    inbox: UnboundedReceiver<Seen>,
    copies: UnboundedReceiver<Copy>,
    /// The last message the chat got (text and first button), to tell a repeat.
    last: Option<(String, Option<String>)>,
    answers: HashSet<String>,
    next_query: u64,
    report: Report,
    webhook: Arc<Webhook>,
    step_timeout: Duration,
}

struct Lost;

impl Client {
    /// A button press with a query id that names the presser's chat (so its answer is routed).
    fn tap(&mut self, admin: bool, data: &str, message_id: i64) -> Value {
        let user = if admin { &self.admin } else { &self.user };
        let mut update = updates::callback(user, data, message_id);
        self.next_query += 1;
        update["callback_query"]["id"] = Value::String(format!("{}_{}_{}", user.id, self.user.id, self.next_query));
        update
    }

    /// Posts `update` and waits for the next message to this client's chat.
    async fn step(&mut self, update: Value) -> Result<Received, Lost> {
        let posted = Instant::now();
        let took = self.webhook.post(&update).await.ok_or(Lost)?;
        self.report.webhook.push(took);
        let received = self.next_message(posted + self.step_timeout).await.ok_or(Lost)?;
        self.report.steps.push(Step { posted, replied: received.at });
        Ok(received)
    }

    async fn next_message(&mut self, deadline: Instant) -> Option<Received> {
        loop {
            let seen = tokio::time::timeout_at(deadline, self.inbox.recv()).await.ok()??;
            match seen.delivery {
                Delivery::Answer { id } => {
                    if !self.answers.insert(id) {
                        self.report.doubled.answers += 1;
                    }
                }
                Delivery::Message { message_id, text, button, .. } => {
                    let this = (text, button.clone());
                    if self.last.as_ref() == Some(&this) {
                        self.report.doubled.messages += 1;
                        continue;
                    }
                    self.last = Some(this);
                    return Some(Received { message_id, button, at: seen.at });
                }
            }
        }
    }

    async fn conversation(&mut self, n: u64) -> Result<Duration, Lost> {
        let begun = Instant::now();
        self.step(updates::text(&self.user, "/start")).await?;
        let types = self.step(updates::text(&self.user, "/request")).await?;
        let tap = self.tap(false, &types.button.ok_or(Lost)?, types.message_id);
        self.step(tap).await?;
        let description = format!("Касса №{n} клиента {} не печатает чеки", self.user.id);
        let summary = self.step(updates::text(&self.user, &description)).await?;
        let tap = self.tap(false, &summary.button.ok_or(Lost)?, summary.message_id);
        let submitted = Instant::now();
        self.step(tap).await?;
        let copy = tokio::time::timeout_at(submitted + self.step_timeout, self.copies.recv())
            .await
            .ok()
            .flatten()
            .ok_or(Lost)?;
        self.report.steps.push(Step { posted: submitted, replied: copy.at });
        let tap = self.tap(true, &copy.button.ok_or(Lost)?, copy.message_id);
        self.step(tap).await?;
        Ok(begun.elapsed())
    }
}

/// Routes the administrator's copies to the clients named in them (`@user<id>`) and counts what
/// the administrator's chat got twice.
async fn route_copies(
    mut inbox: UnboundedReceiver<Seen>,
    clients: HashMap<i64, UnboundedSender<Copy>>,
    doubled: Arc<Mutex<Doubled>>,
) {
    let (mut copies, mut edits, mut answers) = (HashSet::new(), HashSet::new(), HashSet::new());
    while let Some(seen) = inbox.recv().await {
        let mut doubled = doubled.lock().unwrap();
        match seen.delivery {
            Delivery::Answer { id } => {
                if !answers.insert(id) {
                    doubled.answers += 1;
                }
            }
            Delivery::Message { text, edit: true, .. } => {
                if !edits.insert(text) {
                    doubled.edits += 1;
                }
            }
            Delivery::Message { message_id, text, button, .. } => {
                let requester = text
                    .split("@user")
                    .nth(1)
                    .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
                    .and_then(|id| id.parse::<i64>().ok());
                if !copies.insert(text) {
                    doubled.copies += 1;
                    continue;
                }
                if let Some(tx) = requester.and_then(|id| clients.get(&id)) {
                    let _ = tx.send(Copy { message_id, button, at: seen.at });
                }
            }
        }
    }
}

/// Runs `plan` against the webhook at `url`; the reports of every client, merged.
pub async fn run(url: &str, fake: &Fake, plan: &Plan) -> Report {
    let http = reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(usize::MAX)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("HTTP client");
    let webhook =
        Arc::new(Webhook { url: url.to_string(), http, reposts: AtomicU64::new(0), given_up: AtomicU64::new(0) });
    let admin = User::ru(plan.admin, "Админ");
    let admin_doubled = Arc::new(Mutex::new(Doubled::default()));
    let mut routes = HashMap::new();
    let mut clients = Vec::new();
    for i in 0..plan.clients {
        let user = User::ru(plan.first_user + i as i64, "Клиент");
        let (tx, copies) = unbounded_channel();
        routes.insert(user.id, tx);
        clients.push(Client {
            inbox: fake.subscribe(user.id),
            user,
            admin: admin.clone(),
            copies,
            last: None,
            answers: HashSet::new(),
            next_query: 0,
            report: Report::default(),
            webhook: webhook.clone(),
            step_timeout: plan.step_timeout,
        });
    }
    let router = tokio::spawn(route_copies(fake.subscribe(plan.admin), routes, admin_doubled.clone()));
    let stop_at = Instant::now() + plan.run_for;
    let mut running = JoinSet::new();
    for mut client in clients {
        running.spawn(async move {
            let mut n = 0;
            while Instant::now() < stop_at {
                n += 1;
                match client.conversation(n).await {
                    Ok(took) => client.report.conversations.push((Instant::now(), took)),
                    Err(Lost) => client.report.lost += 1,
                }
            }
            client.report
        });
    }
    let mut report = Report::default();
    while let Some(done) = running.join_next().await {
        let client = done.expect("a client task");
        report.conversations.extend(client.conversations);
        report.webhook.extend(client.webhook);
        report.steps.extend(client.steps);
        report.lost += client.lost;
        report.doubled.add(&client.doubled);
    }
    router.abort();
    report.doubled.add(&admin_doubled.lock().unwrap());
    report.reposts = webhook.reposts.load(Ordering::Relaxed);
    report.given_up = webhook.given_up.load(Ordering::Relaxed);
    report
}

/// Nearest-rank percentile of `values` (sorted here).
pub fn percentile(values: &mut [Duration], q: f64) -> Duration {
    if values.is_empty() {
        return Duration::ZERO;
    }
    values.sort_unstable();
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
    values[rank - 1]
}

pub fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e3)
}
