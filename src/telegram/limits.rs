//! Telegram's flood limits as the sender holds them (governor), and the pause after a 429.
//!
//! Telegram publishes: about 30 messages per second for the whole bot, one message per second
//! to one private chat, 20 messages per minute to one group. Messages (sendMessage, sendPhoto,
//! sendDocument) and edits count; answers to callback queries do not (the user waits on a
//! spinner). Every limit is held with burst 1 and a [`SAFETY_MARGIN`], because Telegram (and the
//! test fake) count sends in any sliding window, as they arrive, not as we let them go.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::time::Instant;

use crate::config::SenderConfig;

/// Each limit's interval is stretched by this factor (30/s is held as about 27/s).
pub const SAFETY_MARGIN: f64 = 1.1;

/// Whether a call counts against the flood limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A message or an edit in a chat: global and per-chat limits.
    ChatMessage,
    /// Not a message (answerCallbackQuery): only a 429 pause holds it.
    Unlimited,
}

/// The limiters of one sender.
pub struct Limits {
    global: DefaultDirectRateLimiter,
    private_chats: DefaultKeyedRateLimiter<i64>,
    groups: DefaultKeyedRateLimiter<i64>,
    clock: DefaultClock,
    /// After a 429: nothing is sent before this instant.
    paused_until: Mutex<Option<Instant>>,
}

/// One call per `window / per_window`, stretched by the safety margin, burst 1.
pub fn quota(per_window: u32, window: Duration) -> Quota {
    let per_window = per_window.max(1);
    let period = window.mul_f64(SAFETY_MARGIN) / per_window;
    Quota::with_period(period.max(Duration::from_micros(1)))
        .expect("the period is not zero")
        .allow_burst(NonZeroU32::MIN)
}

impl Limits {
    pub fn new(config: &SenderConfig) -> Self {
        Self {
            global: RateLimiter::direct(quota(config.global_per_second, Duration::from_secs(1))),
            private_chats: RateLimiter::keyed(quota(config.per_chat_per_second, Duration::from_secs(1))),
            groups: RateLimiter::keyed(quota(config.per_group_per_minute, Duration::from_secs(60))),
            clock: DefaultClock::default(),
            paused_until: Mutex::new(None),
        }
    }

    /// Waits until a call of `kind` to `chat_id` may go out now; the caller must send at once.
    ///
    /// The global permit is taken first and the chat's right after it, without waiting in
    /// between, so that the call leaves at the moment both limits allow it: taking the chat's
    /// permit first and then queueing for the global one could let two calls to a chat leave
    /// closer together than its limit. When the chat is not ready the global permit is given up
    /// (a slot wasted, which errs on the safe side) and the loop waits for the chat.
    pub async fn acquire(&self, kind: Kind, chat_id: i64) {
        loop {
            self.wait_pause().await;
            if kind == Kind::Unlimited {
                return;
            }
            self.global.until_ready().await;
            let chat = if chat_id > 0 { &self.private_chats } else { &self.groups };
            match chat.check_key(&chat_id) {
                Ok(()) if !self.is_paused() => return,
                Ok(()) => continue,
                Err(not_until) => tokio::time::sleep(not_until.wait_time_from(self.clock.now())).await,
            }
        }
    }

    /// After a 429 (or a rejected token): nothing is sent for `duration`.
    pub fn pause_for(&self, duration: Duration) {
        let until = Instant::now() + duration;
        let mut paused = self.paused_until.lock().unwrap_or_else(|e| e.into_inner());
        if paused.is_none_or(|current| current < until) {
            *paused = Some(until);
        }
    }

    fn is_paused(&self) -> bool {
        self.paused_until.lock().unwrap_or_else(|e| e.into_inner()).is_some_and(|until| until > Instant::now())
    }

    async fn wait_pause(&self) {
        loop {
            let until = *self.paused_until.lock().unwrap_or_else(|e| e.into_inner());
            match until {
                Some(until) if until > Instant::now() => tokio::time::sleep_until(until).await,
                _ => return,
            }
        }
    }

    /// Forgets chats that have not been written to lately (keeps the keyed limiters small).
    pub fn forget_idle_chats(&self) {
        self.private_chats.retain_recent();
        self.private_chats.shrink_to_fit();
        self.groups.retain_recent();
        self.groups.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotas_keep_below_telegram_limits() {
        let global = quota(30, Duration::from_secs(1));
        assert!(global.replenish_interval() > Duration::from_secs(1) / 30);
        assert_eq!(global.burst_size().get(), 1);
        let group = quota(20, Duration::from_secs(60));
        assert!(group.replenish_interval() >= Duration::from_secs(3));
        let chat = quota(1, Duration::from_secs(1));
        assert!(chat.replenish_interval() >= Duration::from_millis(1050));
    }

    #[tokio::test]
    async fn a_chat_waits_its_interval_while_other_chats_do_not() {
        let limits = Limits::new(&SenderConfig {
            global_per_second: 1000,
            per_chat_per_second: 10,
            per_group_per_minute: 600,
            max_attempts: 1,
        });
        let start = std::time::Instant::now();
        limits.acquire(Kind::ChatMessage, 1).await;
        limits.acquire(Kind::ChatMessage, 2).await;
        assert!(start.elapsed() < Duration::from_millis(50));
        limits.acquire(Kind::ChatMessage, 1).await;
        assert!(start.elapsed() >= Duration::from_millis(100), "{:?}", start.elapsed());
    }

    #[tokio::test]
    async fn a_pause_holds_every_kind() {
        let limits = Limits::new(&SenderConfig {
            global_per_second: 1000,
            per_chat_per_second: 1000,
            per_group_per_minute: 60000,
            max_attempts: 1,
        });
        limits.pause_for(Duration::from_millis(150));
        let start = std::time::Instant::now();
        limits.acquire(Kind::Unlimited, 1).await;
        assert!(start.elapsed() >= Duration::from_millis(140), "{:?}", start.elapsed());
    }
}
