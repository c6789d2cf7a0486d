//! Polling mode (`kktbot serve --polling`, for development without a public URL): removes the
//! webhook, then long-polls `getUpdates` and hands each update to [`Inbound::receive`], the
//! same pipeline the webhook uses.
//!
//! Exactly once, as with the webhook: an update is confirmed to Telegram (the next `getUpdates`
//! asks for offsets past it) only after the pipeline has committed it or found it already
//! processed. A transient failure (database, dialog store) retries the same update after a
//! backoff, so updates are applied in the order Telegram sent them; an update that fails because
//! of its content (kept as a dead letter by the pipeline), or that is not an update kktbot
//! understands, is skipped, as the webhook answers such ones 200.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use serde::Serialize;
use serde_json::Value;

use super::{Disposition, Inbound};
use crate::telegram::api::{ApiError, BotApi};
use crate::telegram::sender::Backoff;
use crate::telegram::setup::{self, ALLOWED_UPDATES};

/// How polling behaves. The defaults are for production; tests shorten them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PollingOptions {
    /// How long one `getUpdates` waits for an update before answering empty (whole seconds, at
    /// least 1: a zero timeout would poll in a tight loop).
    pub timeout: Duration,
    /// Waits after failed `getUpdates` calls and after transient failures applying an update.
    pub backoff: Backoff,
}

impl Default for PollingOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(25),
            backoff: Backoff { first: Duration::from_millis(500), cap: Duration::from_secs(30) },
        }
    }
}

/// A `getUpdates` call takes up to its long-poll timeout; this much more before it counts as
/// a network failure.
const REQUEST_MARGIN: Duration = Duration::from_secs(10);
/// How long the final confirmation at shutdown may take.
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Serialize)]
struct GetUpdatesParams {
    #[serde(skip_serializing_if = "Option::is_none")]
    offset: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<u8>,
    timeout: u64,
    allowed_updates: &'static [&'static str],
}

/// The shutdown signal, which may be checked any number of times (a completed future may not
/// be polled again).
struct Stop<'a> {
    signal: Pin<&'a mut (dyn Future<Output = ()> + Send)>,
    done: bool,
}

impl Stop<'_> {
    /// Completes once shutdown is requested (at once if it was).
    async fn requested(&mut self) {
        if !self.done {
            self.signal.as_mut().await;
            self.done = true;
        }
    }

    /// Whether shutdown has been requested, without waiting.
    fn is_requested(&mut self) -> bool {
        if !self.done && self.signal.as_mut().now_or_never().is_some() {
            self.done = true;
        }
        self.done
    }
}

/// The polling loop for one bot.
pub struct Poller {
    api: BotApi,
    inbound: Arc<Inbound>,
    options: PollingOptions,
}

impl Poller {
    pub fn new(api: BotApi, inbound: Arc<Inbound>, options: PollingOptions) -> Self {
        let api = api.with_timeout(options.timeout + REQUEST_MARGIN);
        Self { api, inbound, options }
    }

    /// Removes the webhook, then polls until `stop` completes. An update being applied when
    /// `stop` completes is finished first.
    pub async fn run(self, stop: impl Future<Output = ()> + Send) {
        let signal = std::pin::pin!(stop);
        let mut stop = Stop { signal, done: false };
        if !self.delete_webhook(&mut stop).await {
            return;
        }
        tracing::info!("polling mode: webhook removed, receiving updates with getUpdates");
        // The next update_id to ask for, and the one Telegram was last told.
        let mut offset: Option<i64> = None;
        let mut confirmed: Option<i64> = None;
        let mut failures = 0;
        'polling: loop {
            let params = GetUpdatesParams {
                offset,
                limit: None,
                timeout: self.options.timeout.as_secs().max(1),
                allowed_updates: ALLOWED_UPDATES,
            };
            let answer = tokio::select! {
                () = stop.requested() => break 'polling,
                answer = self.api.call::<Vec<Value>>("getUpdates", &params) => answer,
            };
            let batch = match answer {
                Ok(batch) => {
                    confirmed = offset;
                    failures = 0;
                    batch
                }
                Err(e) => {
                    failures += 1;
                    let wait = self.wait_after(&e, failures);
                    log_poll_failure(&e, wait);
                    if sleep_or_stop(wait, &mut stop).await {
                        break 'polling;
                    }
                    continue;
                }
            };
            for raw in batch {
                let Some(update_id) = raw.get("update_id").and_then(Value::as_i64) else {
                    tracing::warn!("getUpdates returned an update without update_id; skipped");
                    continue;
                };
                if offset.is_some_and(|next| update_id < next) {
                    continue;
                }
                // The update being applied is finished; the rest of the batch is left for the
                // next start.
                if stop.is_requested() {
                    break 'polling;
                }
                if !self.apply(raw, update_id, &mut stop).await {
                    break 'polling;
                }
                offset = Some(update_id + 1);
            }
        }
        if offset != confirmed {
            self.confirm(offset).await;
        }
        tracing::info!("polling stopped");
    }

    /// Calls `deleteWebhook` until it succeeds; false when stopped first.
    async fn delete_webhook(&self, stop: &mut Stop<'_>) -> bool {
        let mut failures = 0;
        loop {
            let deleted = tokio::select! {
                () = stop.requested() => return false,
                deleted = setup::delete_webhook(&self.api, false) => deleted,
            };
            let Err(e) = deleted else { return true };
            failures += 1;
            let wait = self.wait_after(&e, failures);
            tracing::warn!(error = %e, retry_in = ?wait, "deleteWebhook failed; polling starts once it succeeds");
            if sleep_or_stop(wait, stop).await {
                return false;
            }
        }
    }

    /// Applies one update, retrying transient failures until it is applied; false when stopped
    /// while waiting to retry (the update is then not confirmed and comes again next time).
    async fn apply(&self, raw: Value, update_id: i64, stop: &mut Stop<'_>) -> bool {
        // From text, not from the `Value`: teloxide reads an update's kind with borrowed keys,
        // which a `Value` cannot lend (every update would read as an unknown kind).
        let text = raw.to_string();
        let mut failures = 0;
        loop {
            match self.inbound.receive(text.as_bytes()).await {
                Disposition::Acknowledge => return true,
                Disposition::NotJson(e) => {
                    tracing::warn!(update_id, error = %e, "getUpdates returned something that is not JSON; skipped");
                    return true;
                }
                Disposition::RetryLater(_) => {}
            }
            failures += 1;
            let wait = self.options.backoff.delay(failures);
            tracing::warn!(update_id, retry_in = ?wait, "retrying the update");
            if sleep_or_stop(wait, stop).await {
                return false;
            }
        }
    }

    /// Tells Telegram the updates before `offset` are done, so that the next start does not get
    /// them again (they would be recognised as duplicates anyway).
    async fn confirm(&self, offset: Option<i64>) {
        let params = GetUpdatesParams { offset, limit: Some(1), timeout: 0, allowed_updates: ALLOWED_UPDATES };
        match tokio::time::timeout(CONFIRM_TIMEOUT, self.api.call::<Vec<Value>>("getUpdates", &params)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::debug!(error = %e, "confirming processed updates at shutdown failed"),
            Err(_) => tracing::debug!("confirming processed updates at shutdown timed out"),
        }
    }

    /// How long to wait after the `failures`-th failed call in a row.
    fn wait_after(&self, error: &ApiError, failures: u32) -> Duration {
        match error {
            ApiError::RetryAfter(secs) => Duration::from_secs(*secs),
            _ => self.options.backoff.delay(failures),
        }
    }
}

fn log_poll_failure(error: &ApiError, wait: Duration) {
    match error {
        ApiError::Client { code: 409, description, .. } => tracing::warn!(
            error = %description,
            retry_in = ?wait,
            "getUpdates conflict: a webhook is set or another instance is polling; retrying"
        ),
        ApiError::Unauthorized(_) => {
            tracing::error!(error = %error, retry_in = ?wait, "getUpdates: Telegram rejected the bot token");
        }
        _ => tracing::warn!(error = %error, retry_in = ?wait, "getUpdates failed; retrying"),
    }
}

/// Sleeps for `wait`; true if `stop` completed first.
async fn sleep_or_stop(wait: Duration, stop: &mut Stop<'_>) -> bool {
    tokio::select! {
        () = stop.requested() => true,
        () = tokio::time::sleep(wait) => false,
    }
}
