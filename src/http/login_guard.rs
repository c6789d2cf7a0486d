//! Password guessing, slowed without locking the owner out — OWASP's "device cookies" answer to
//! account lockout. Every sign-in attempt counts against its client IP (`LOGIN_RATE_LIMIT_PER_MINUTE`
//! per minute, whatever the account). Failed attempts also count against the account, but apart
//! for the browsers the account's owner has signed in from before (they hold a device cookie,
//! `kktbot_device`, issued at each successful sign-in):
//! - from a browser with the account's device cookie, only that cookie's own failures count: a
//!   stranger guessing the password cannot lock the owner's browsers out;
//! - from anywhere else, once the account has had the limit of failures within a minute, further
//!   attempts are refused until the oldest falls out of the minute — the password alone is then
//!   not enough, the device cookie is needed too.
//!
//! The counts are kept in this process (as the per-IP limits are).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::security::Limiter;
use crate::http::ApiError;

/// Failures per key within a sliding window.
struct Failures {
    window: Duration,
    max: usize,
    seen: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Failures {
    fn new(max: u32, window: Duration) -> Self {
        Self { window, max: (max as usize).max(1), seen: Mutex::new(HashMap::new()) }
    }

    /// How long until `key` may try again, when it has used up its failures.
    fn blocked(&self, key: &str, now: Instant) -> Option<Duration> {
        let mut seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let times = seen.get_mut(key)?;
        while times.front().is_some_and(|t| now.duration_since(*t) >= self.window) {
            times.pop_front();
        }
        let oldest = *times.front()?;
        (times.len() >= self.max).then(|| self.window.saturating_sub(now.duration_since(oldest)))
    }

    fn record(&self, key: &str, now: Instant) {
        let mut seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Forget keys with nothing recent now and then, so memory stays bounded.
        if seen.len() > 10_000 {
            seen.retain(|_, times| times.back().is_some_and(|t| now.duration_since(*t) < self.window));
        }
        let times = seen.entry(key.to_string()).or_default();
        times.push_back(now);
        while times.len() > self.max {
            times.pop_front();
        }
    }

    fn clear(&self, key: &str) {
        self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(key);
    }
}

/// Why an attempt is refused before the password is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// This IP has tried too often.
    Ip(Duration),
    /// The account has had too many failures from browsers without its device cookie.
    Account(Duration),
    /// This device cookie (or, for a password change, this session) has failed too often.
    Device(Duration),
}

impl Refused {
    /// The name the logs and metrics use.
    pub fn as_str(self) -> &'static str {
        match self {
            Refused::Ip(_) => "ip",
            Refused::Account(_) => "account",
            Refused::Device(_) => "device",
        }
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let wait = match self {
            Refused::Ip(w) | Refused::Account(w) | Refused::Device(w) => w,
        };
        let seconds = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
        let message = match self {
            Refused::Account(_) => format!(
                "too many failed sign-ins to this account from unknown browsers: sign in from a browser you \
                 have used before, or retry in {seconds} s"
            ),
            _ => format!("too many attempts; retry in {seconds} s"),
        };
        let mut res = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message).into_response();
        res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        res
    }
}

/// The sign-in limits of one process; the auth handlers get it as a request extension.
pub struct LoginGuard {
    by_ip: Limiter<IpAddr>,
    /// Failures per account (lower-cased email) from browsers without its device cookie.
    untrusted: Failures,
    /// Failures per device cookie id, and per user for password changes (`user:<id>`).
    devices: Failures,
}

/// The window failures are counted in.
const WINDOW: Duration = Duration::from_secs(60);

impl LoginGuard {
    /// `n` attempts per minute per IP, `n` failures per minute per account (or device).
    pub fn per_minute(n: u32) -> Self {
        Self { by_ip: Limiter::per_minute(n), untrusted: Failures::new(n, WINDOW), devices: Failures::new(n, WINDOW) }
    }

    /// Checks an attempt to sign in to `account` from `ip`; `device` is the id of the account's
    /// device cookie the browser sent, if it sent a valid one.
    pub fn admit(&self, ip: IpAddr, account: &str, device: Option<&str>) -> Result<(), Refused> {
        self.by_ip.check(&ip).map_err(Refused::Ip)?;
        let now = Instant::now();
        match device {
            Some(device) => self.devices.blocked(device, now).map_or(Ok(()), |w| Err(Refused::Device(w))),
            None => self.untrusted.blocked(&normalise(account), now).map_or(Ok(()), |w| Err(Refused::Account(w))),
        }
    }

    /// Counts a failed sign-in.
    pub fn failed(&self, account: &str, device: Option<&str>) {
        match device {
            Some(device) => self.devices.record(device, Instant::now()),
            None => self.untrusted.record(&normalise(account), Instant::now()),
        }
    }

    /// A successful sign-in from a known browser forgets that browser's failures.
    pub fn succeeded(&self, device: Option<&str>) {
        if let Some(device) = device {
            self.devices.clear(device);
        }
    }

    /// Checks an attempt of a signed-in user to change their password (the current password is
    /// guessed there too).
    pub fn admit_change(&self, ip: IpAddr, user_id: i32) -> Result<(), Refused> {
        self.by_ip.check(&ip).map_err(Refused::Ip)?;
        self.devices.blocked(&format!("user:{user_id}"), Instant::now()).map_or(Ok(()), |w| Err(Refused::Device(w)))
    }

    /// Counts a password change refused for a wrong current password.
    pub fn change_failed(&self, user_id: i32) {
        self.devices.record(&format!("user:{user_id}"), Instant::now());
    }
}

/// Accounts are emails, compared without case or surrounding spaces.
pub fn normalise(account: &str) -> String {
    account.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_block_after_the_limit_until_the_oldest_leaves_the_window() {
        let failures = Failures::new(3, Duration::from_secs(60));
        let t0 = Instant::now();
        for i in 0..3 {
            assert_eq!(failures.blocked("a", t0), None, "attempt {i}");
            failures.record("a", t0 + Duration::from_secs(i));
        }
        let wait = failures.blocked("a", t0 + Duration::from_secs(10)).expect("blocked after 3");
        assert_eq!(wait, Duration::from_secs(50));
        assert_eq!(failures.blocked("b", t0), None, "another key");
        assert_eq!(failures.blocked("a", t0 + Duration::from_secs(60)), None, "the first failure left the window");
        failures.clear("a");
        assert_eq!(failures.blocked("a", t0 + Duration::from_secs(2)), None);
    }

    #[test]
    fn a_known_browser_is_not_locked_out_by_strangers() {
        let guard = LoginGuard::per_minute(3);
        let ip = |n: u8| IpAddr::from([10, 0, 0, n]);
        for n in 0..3 {
            assert!(guard.admit(ip(n), "Owner@Example.com", None).is_ok());
            guard.failed("owner@example.com ", None);
        }
        assert!(matches!(guard.admit(ip(7), "owner@example.com", None), Err(Refused::Account(_))));
        assert!(guard.admit(ip(8), "owner@example.com", Some("device-1")).is_ok(), "the owner's browser");
        for _ in 0..3 {
            guard.failed("owner@example.com", Some("device-1"));
        }
        assert!(matches!(guard.admit(ip(9), "owner@example.com", Some("device-1")), Err(Refused::Device(_))));
        assert!(guard.admit(ip(10), "owner@example.com", Some("device-2")).is_ok(), "each browser apart");
        for _ in 0..2 {
            assert!(guard.admit(ip(11), "other@example.com", None).is_ok());
        }
        assert!(matches!(guard.admit(ip(11), "other@example.com", None), Ok(())));
        assert!(
            matches!(guard.admit(ip(11), "other@example.com", None), Err(Refused::Ip(_))),
            "every attempt counts per IP"
        );
    }
}
