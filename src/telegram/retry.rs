//! The retry policy: what a failed Bot API call means for its outbox row, and how long to wait
//! before the next attempt.
//!
//! - 429 pauses the calls of its kind (messages, or answers to callback queries) for
//!   `retry_after` and leaves the row pending, not counted as a failed attempt; a rejected token
//!   (401) pauses all sending the same way.
//! - 5xx, network errors and unreadable answers are retried with capped exponential backoff with
//!   jitter (or the row's own fixed delay), up to its limit of attempts; then the row fails.
//! - 403 fails the row and marks a private chat's user as having blocked the bot; other 4xx fail
//!   the row at once. "Message is not modified" counts as delivered.

use std::time::Duration;

use chrono::{TimeDelta, Utc};

use super::api::ApiError;
use super::limits::{Kind, Limits};
use crate::outbox::{Outcome, OutgoingMessage};

/// How long nothing is sent after Telegram rejected the bot token.
const UNAUTHORIZED_PAUSE: Duration = Duration::from_secs(60);
/// The longest wait the sender accepts from Telegram (a `retry_after` beyond it is cut).
pub(super) const MAX_WAIT: Duration = Duration::from_secs(24 * 3600);

/// Retry delays after 5xx and network errors: `first · 2^(n−1)` after the n-th failed attempt,
/// capped, with jitter (a random point between half and all of it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub first: Duration,
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self { first: Duration::from_secs(1), cap: Duration::from_secs(300) }
    }
}

impl Backoff {
    /// The delay after `failed_attempts` (≥ 1) attempts.
    pub fn delay(&self, failed_attempts: u32) -> Duration {
        let doublings = failed_attempts.saturating_sub(1).min(31);
        let full = self.first.saturating_mul(1u32 << doublings).min(self.cap);
        let half = full / 2;
        half + (full - half).mul_f64(rand::random::<f64>())
    }
}

/// How the sender retries: its defaults, for rows without a policy of their own.
pub(super) struct RetryRules {
    pub max_attempts: u32,
    pub backoff: Backoff,
}

impl RetryRules {
    /// What a failed call (attempt number `attempt` of `row`) means for the row; a 429 or a
    /// rejected token also pauses `limits` and does not count the attempt.
    pub fn outcome_of_error(
        &self,
        limits: &Limits,
        kind: Kind,
        row: &OutgoingMessage,
        attempt: i32,
        target: Option<i32>,
        error: ApiError,
    ) -> Outcome {
        let text = error.to_string();
        match error {
            _ if error.is_not_modified() => Outcome::Sent { message_id: target.map(i64::from), note: None },
            ApiError::Decode { message_id, .. } => {
                tracing::warn!(error = %text, "delivered, but Telegram's answer could not be read");
                Outcome::Sent { message_id: message_id.or(target).map(i64::from), note: Some(text) }
            }
            ApiError::RetryAfter(secs) => {
                let wait = Duration::from_secs(secs).min(MAX_WAIT);
                tracing::warn!(retry_after = secs, ?kind, "Telegram asked to slow down: calls of this kind paused");
                limits.pause_for(kind, wait);
                Outcome::Retry { at: Utc::now() + delta(wait), attempts: attempt - 1, error: text }
            }
            ApiError::Unauthorized(_) => {
                tracing::error!(error = %text, "Telegram rejected the bot token: sending paused; check TELEGRAM_BOT_TOKEN");
                limits.pause_all_for(UNAUTHORIZED_PAUSE);
                Outcome::Retry { at: Utc::now() + delta(UNAUTHORIZED_PAUSE), attempts: attempt - 1, error: text }
            }
            ApiError::Server { .. } | ApiError::Network(_) => {
                let failed = u32::try_from(attempt).unwrap_or(u32::MAX);
                let max_attempts = row.max_attempts.and_then(|n| u32::try_from(n).ok()).unwrap_or(self.max_attempts);
                if failed >= max_attempts {
                    tracing::warn!(error = %text, attempts = attempt, "giving up after the last attempt");
                    Outcome::Failed { error: text, block_user: false }
                } else {
                    let wait = match row.retry_delay_seconds.and_then(|s| u64::try_from(s).ok()) {
                        Some(secs) => Duration::from_secs(secs),
                        None => self.backoff.delay(failed),
                    };
                    tracing::info!(error = %text, attempts = attempt, retry_in = ?wait, "will retry");
                    Outcome::Retry { at: Utc::now() + delta(wait), attempts: attempt, error: text }
                }
            }
            ApiError::Blocked(_) => {
                tracing::info!(error = %text, "the chat blocked the bot or removed it");
                Outcome::Failed { error: text, block_user: row.chat_id > 0 }
            }
            ApiError::Client { .. } => {
                tracing::warn!(error = %text, "Telegram refused the call; not retried");
                Outcome::Failed { error: text, block_user: false }
            }
        }
    }
}

/// `duration` as chrono's, at most [`MAX_WAIT`].
pub(super) fn delta(duration: Duration) -> TimeDelta {
    TimeDelta::from_std(duration.min(MAX_WAIT)).unwrap_or(TimeDelta::zero())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap() {
        let backoff = Backoff::default();
        for _ in 0..100 {
            let first = backoff.delay(1);
            assert!(first >= Duration::from_millis(500) && first <= Duration::from_secs(1), "{first:?}");
            let third = backoff.delay(3);
            assert!(third >= Duration::from_secs(2) && third <= Duration::from_secs(4), "{third:?}");
            let late = backoff.delay(40);
            assert!(late >= Duration::from_secs(150) && late <= Duration::from_secs(300), "{late:?}");
        }
    }
}
