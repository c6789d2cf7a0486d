//! Telegram's flood limits as the sender holds them, and the pause after a 429.
//!
//! Telegram publishes: about 30 messages per second for the whole bot, one message per second
//! to one private chat, 20 messages per minute to one group. Messages (sendMessage, sendPhoto,
//! sendDocument) and edits count; answers to callback queries do not (the user waits on a
//! spinner), and they are held by nothing but a 429 of their own. Every limit is held with
//! burst 1 and a [`SAFETY_MARGIN`], because Telegram (and the test fake) count sends in any
//! sliding window, as they arrive, not as we let them go.
//!
//! The bot's limit is a governor rate limiter. A chat's is the time its next message may leave,
//! looked at *before* a global permit is taken: the sender has at most one message of a chat in
//! flight (its FIFO head), so a message never takes a permit of the bot's limit and then waits
//! for its chat, and every permit of the bot's limit is used for a send.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
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
    private_chat_interval: Duration,
    group_interval: Duration,
    /// When each chat written to lately may get its next message.
    chats: Mutex<HashMap<i64, Instant>>,
    /// After a 429: nothing of the kind is sent before this instant (messages, answers).
    paused_until: Mutex<[Option<Instant>; 2]>,
}

/// One call per `window / per_window`, stretched by the safety margin.
pub fn interval(per_window: u32, window: Duration) -> Duration {
    (window.mul_f64(SAFETY_MARGIN) / per_window.max(1)).max(Duration::from_micros(1))
}

/// [`interval`] as a governor quota, burst 1.
pub fn quota(per_window: u32, window: Duration) -> Quota {
    Quota::with_period(interval(per_window, window)).expect("the period is not zero").allow_burst(NonZeroU32::MIN)
}

fn slot(kind: Kind) -> usize {
    match kind {
        Kind::ChatMessage => 0,
        Kind::Unlimited => 1,
    }
}

impl Limits {
    pub fn new(config: &SenderConfig) -> Self {
        Self {
            global: RateLimiter::direct(quota(config.global_per_second, Duration::from_secs(1))),
            private_chat_interval: interval(config.per_chat_per_second, Duration::from_secs(1)),
            group_interval: interval(config.per_group_per_minute, Duration::from_secs(60)),
            chats: Mutex::new(HashMap::new()),
            paused_until: Mutex::new([None; 2]),
        }
    }

    /// Waits until a call of `kind` to `chat_id` may go out now; the caller must send at once.
    /// Only one call to a chat may wait here at a time (the sender's FIFO head).
    ///
    /// The chat's turn is waited for first, without taking it; then the global permit; then the
    /// chat's turn is taken, which nothing else can have taken meanwhile. So the call leaves at
    /// the moment both limits allow it, and a global permit is given up only when a 429 pause
    /// began while waiting for it.
    pub async fn acquire(&self, kind: Kind, chat_id: i64) {
        loop {
            self.wait_pause(kind).await;
            if kind == Kind::Unlimited {
                return;
            }
            if let Some(at) = self.chat_ready_at(chat_id).filter(|at| *at > Instant::now()) {
                tokio::time::sleep_until(at).await;
                continue;
            }
            self.global.until_ready().await;
            if !self.is_paused(kind) && self.take_chat_turn(chat_id) {
                return;
            }
        }
    }

    /// When `chat_id` may get its next message (`None`: now).
    fn chat_ready_at(&self, chat_id: i64) -> Option<Instant> {
        self.chats.lock().unwrap_or_else(|e| e.into_inner()).get(&chat_id).copied()
    }

    /// Takes the chat's turn if it is due; its next one is an interval later.
    fn take_chat_turn(&self, chat_id: i64) -> bool {
        self.take_chat_turn_at(chat_id, Instant::now())
    }

    /// [`Self::take_chat_turn`] at the instant `now`.
    fn take_chat_turn_at(&self, chat_id: i64, now: Instant) -> bool {
        let interval = if chat_id > 0 { self.private_chat_interval } else { self.group_interval };
        let mut chats = self.chats.lock().unwrap_or_else(|e| e.into_inner());
        if chats.get(&chat_id).is_some_and(|at| *at > now) {
            return false;
        }
        chats.insert(chat_id, now + interval);
        true
    }

    /// After a 429 for a call of `kind`: nothing of that kind is sent for `duration`.
    pub fn pause_for(&self, kind: Kind, duration: Duration) {
        let until = Instant::now() + duration;
        let mut paused = self.paused_until.lock().unwrap_or_else(|e| e.into_inner());
        let current = &mut paused[slot(kind)];
        if current.is_none_or(|current| current < until) {
            *current = Some(until);
        }
    }

    /// After a rejected token: nothing at all is sent for `duration`.
    pub fn pause_all_for(&self, duration: Duration) {
        self.pause_for(Kind::ChatMessage, duration);
        self.pause_for(Kind::Unlimited, duration);
    }

    fn paused(&self, kind: Kind) -> Option<Instant> {
        self.paused_until.lock().unwrap_or_else(|e| e.into_inner())[slot(kind)]
    }

    fn is_paused(&self, kind: Kind) -> bool {
        self.paused(kind).is_some_and(|until| until > Instant::now())
    }

    async fn wait_pause(&self, kind: Kind) {
        while let Some(until) = self.paused(kind).filter(|until| *until > Instant::now()) {
            tokio::time::sleep_until(until).await;
        }
    }

    /// Forgets chats whose next turn has come (keeps the map small).
    pub fn forget_idle_chats(&self) {
        let now = Instant::now();
        self.chats.lock().unwrap_or_else(|e| e.into_inner()).retain(|_, at| *at > now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_keep_below_telegram_limits() {
        let global = quota(30, Duration::from_secs(1));
        assert!(global.replenish_interval() > Duration::from_secs(1) / 30);
        assert_eq!(global.burst_size().get(), 1);
        // 31 sends spaced so span more than a second, by more than a loaded machine's jitter.
        assert!(global.replenish_interval() * 30 >= Duration::from_millis(1035));
        assert!(interval(20, Duration::from_secs(60)) >= Duration::from_secs(3));
        assert!(interval(1, Duration::from_secs(1)) >= Duration::from_millis(1040));
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

    /// Telegram's 20 messages a minute to one group, as the sender takes the group's turns with
    /// a message always waiting (a backlog): the turns are played on a clock of the test's own, so
    /// the test spends no minutes. Never more than 20 in any 60 s, and not much fewer either; the
    /// group's turns hold no private chat.
    #[test]
    fn a_group_gets_at_most_20_messages_in_any_minute() {
        let limits = Limits::new(&SenderConfig {
            global_per_second: 30,
            per_chat_per_second: 1,
            per_group_per_minute: 20,
            max_attempts: 1,
        });
        let (group, start) = (-1_001_234_567_890, Instant::now());
        let mut now = start;
        let mut sent = Vec::new();
        for i in 0..45 {
            // The sender waits until the group's turn is due, then takes it.
            now = limits.chat_ready_at(group).map_or(now, |ready| ready.max(now));
            if i > 0 {
                assert!(!limits.take_chat_turn_at(group, now - Duration::from_millis(1)), "not before its turn");
            }
            assert!(limits.take_chat_turn_at(group, now));
            sent.push(now - start);
            assert!(limits.take_chat_turn_at(42, now), "a private chat is not held by the group");
        }
        for (i, at) in sent.iter().enumerate() {
            let in_minute = sent[i..].iter().take_while(|later| **later - *at < Duration::from_secs(60)).count();
            assert!(in_minute <= 20, "{in_minute} messages within a minute from message {i}: {sent:?}");
        }
        // 45 messages take 44 intervals of 3.3 s: a bit over two minutes and a quarter.
        assert_eq!(sent[44], interval(20, Duration::from_secs(60)) * 44);
        assert!(sent[44] < Duration::from_secs(150), "{:?}", sent[44]);
    }

    #[tokio::test]
    async fn a_message_waiting_for_its_chat_takes_no_permit_of_the_bot() {
        let limits = std::sync::Arc::new(Limits::new(&SenderConfig {
            global_per_second: 5,
            per_chat_per_second: 1,
            per_group_per_minute: 20,
            max_attempts: 1,
        }));
        limits.acquire(Kind::ChatMessage, 1).await;
        let next = tokio::spawn({
            let limits = limits.clone();
            async move { limits.acquire(Kind::ChatMessage, 1).await }
        });
        // The bot's next permit is free after 208 ms; chat 1's next turn comes after 1040 ms.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let start = std::time::Instant::now();
        limits.acquire(Kind::ChatMessage, 2).await;
        assert!(start.elapsed() < Duration::from_millis(60), "chat 2 waited {:?}", start.elapsed());
        next.await.unwrap();
    }

    #[tokio::test]
    async fn a_429_of_messages_does_not_hold_answers() {
        let limits = Limits::new(&SenderConfig {
            global_per_second: 1000,
            per_chat_per_second: 1000,
            per_group_per_minute: 60000,
            max_attempts: 1,
        });
        limits.pause_for(Kind::ChatMessage, Duration::from_secs(30));
        let start = std::time::Instant::now();
        limits.acquire(Kind::Unlimited, 1).await;
        assert!(start.elapsed() < Duration::from_millis(50), "{:?}", start.elapsed());
        assert!(limits.is_paused(Kind::ChatMessage));
    }

    #[tokio::test]
    async fn a_rejected_token_holds_every_kind() {
        let limits = Limits::new(&SenderConfig {
            global_per_second: 1000,
            per_chat_per_second: 1000,
            per_group_per_minute: 60000,
            max_attempts: 1,
        });
        limits.pause_all_for(Duration::from_millis(150));
        let start = std::time::Instant::now();
        limits.acquire(Kind::Unlimited, 1).await;
        limits.acquire(Kind::ChatMessage, 2).await;
        assert!(start.elapsed() >= Duration::from_millis(140), "{:?}", start.elapsed());
    }
}
