//! A steady, bounded load of webhook deliveries, recorded: each update is posted once, as
//! Telegram would, and its answer (status, `Retry-After`, time taken) kept for the test to check;
//! redelivering what was refused is the test's part ([`redeliver_until_acknowledged`]).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::task::JoinHandle;

use crate::support::{TestApp, WEBHOOK_SECRET};

/// One webhook delivery and its answer.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub update: Value,
    pub status: u16,
    pub retry_after: Option<String>,
    /// When the answer came, and how long it took.
    pub answered: Instant,
    pub took: Duration,
}

impl Delivery {
    pub fn update_id(&self) -> i64 {
        self.update["update_id"].as_i64().unwrap()
    }
}

/// Posts `update` to the app's webhook once.
pub async fn deliver(http: &reqwest::Client, url: &str, update: &Value) -> Delivery {
    let started = Instant::now();
    let res = http
        .post(url)
        .header("X-Telegram-Bot-Api-Secret-Token", WEBHOOK_SECRET)
        .json(update)
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .expect("the webhook answers");
    let retry_after = res.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
    Delivery {
        update: update.clone(),
        status: res.status().as_u16(),
        retry_after,
        answered: Instant::now(),
        took: started.elapsed(),
    }
}

/// `workers` loops posting the updates `make(0)`, `make(1)`, … (at most `max` of them), each loop
/// one at a time with `pause` between, until [`Load::stop`].
pub struct Load {
    stop: Arc<AtomicBool>,
    tasks: Vec<JoinHandle<()>>,
    log: Arc<Mutex<Vec<Delivery>>>,
}

impl Load {
    pub fn start(
        app: &TestApp,
        workers: usize,
        max: u64,
        pause: Duration,
        make: impl Fn(u64) -> Value + Send + Sync + 'static,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(Vec::new()));
        let next = Arc::new(AtomicU64::new(0));
        let make = Arc::new(make);
        let url = app.url("/webhook/telegram");
        let tasks = (0..workers)
            .map(|_| {
                let (stop, log, next, make, url) = (stop.clone(), log.clone(), next.clone(), make.clone(), url.clone());
                let http = app.http.clone();
                tokio::spawn(async move {
                    while !stop.load(Ordering::SeqCst) {
                        let n = next.fetch_add(1, Ordering::SeqCst);
                        if n >= max {
                            break;
                        }
                        let delivery = deliver(&http, &url, &make(n)).await;
                        log.lock().unwrap().push(delivery);
                        tokio::time::sleep(pause).await;
                    }
                })
            })
            .collect();
        Load { stop, tasks, log }
    }

    /// Waits until at least `n` more deliveries than now have been answered (bounded).
    pub async fn wait_for_more(&self, n: usize) {
        let target = self.log.lock().unwrap().len() + n;
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.log.lock().unwrap().len() < target {
            assert!(Instant::now() < deadline, "the load made no progress");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Ends the loops (each finishes the delivery it is in) and returns every delivery.
    pub async fn stop(self) -> Vec<Delivery> {
        self.stop.store(true, Ordering::SeqCst);
        self.finish().await
    }

    /// Waits until all `max` updates have been delivered and returns every delivery.
    pub async fn finish(self) -> Vec<Delivery> {
        for task in self.tasks {
            task.await.expect("a load worker panicked");
        }
        Arc::try_unwrap(self.log).expect("the workers are done").into_inner().unwrap()
    }
}

/// Delivers every update again, as Telegram does, until each is acknowledged (bounded: 30 s);
/// returns how many deliveries it took.
pub async fn redeliver_until_acknowledged(app: &TestApp, updates: &[Value]) -> usize {
    let url = app.url("/webhook/telegram");
    let mut pending: Vec<&Value> = updates.iter().collect();
    let mut deliveries = 0;
    let deadline = Instant::now() + Duration::from_secs(30);
    while !pending.is_empty() {
        assert!(Instant::now() < deadline, "{} update(s) still refused", pending.len());
        let answers = futures::future::join_all(pending.iter().map(|u| deliver(&app.http, &url, u))).await;
        deliveries += answers.len();
        for answer in &answers {
            assert!(matches!(answer.status, 200 | 503), "{answer:?}");
        }
        pending = pending.into_iter().zip(&answers).filter(|(_, a)| a.status != 200).map(|(u, _)| u).collect();
        if !pending.is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    deliveries
}

/// The statuses seen, as `status×count` in ascending order (for the test's output).
pub fn statuses(deliveries: &[Delivery]) -> String {
    let mut counts = std::collections::BTreeMap::new();
    for d in deliveries {
        *counts.entry(d.status).or_insert(0) += 1;
    }
    counts.iter().map(|(status, n)| format!("{status}×{n}")).collect::<Vec<_>>().join(" ")
}
