//! Telling Telegram where kktbot is: the webhook (`setWebhook`, `getWebhookInfo`,
//! `deleteWebhook`), and retries for the calls made at start. Used by `kktbot webhook …` and by
//! `serve` at start (the command menus are the conversation's: [`crate::bot::menu`]).

use std::fmt::Write as _;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use url::Url;

use super::api::{ApiError, BotApi};
use super::sender::Backoff;
use crate::config::{Secret, validate_webhook_secret};

/// The update kinds kktbot handles (the branches of `bot::schema`); Telegram sends no others.
pub const ALLOWED_UPDATES: &[&str] = &["message", "callback_query", "my_chat_member"];
/// `max_connections` when none is given (Telegram's own default).
pub const DEFAULT_MAX_CONNECTIONS: u8 = 40;
/// The range Telegram accepts for `max_connections`.
pub const MAX_CONNECTIONS_RANGE: std::ops::RangeInclusive<u8> = 1..=100;
/// The ports Telegram delivers webhooks to.
pub const WEBHOOK_PORTS: [u16; 4] = [443, 80, 88, 8443];
/// Where kktbot serves the webhook.
pub const WEBHOOK_PATH: &str = "/webhook/telegram";

/// Calls made at start are retried this many times on transient failures (network, 5xx, 429).
const START_ATTEMPTS: u32 = 3;
/// The longest 429 `retry_after` a start-up call waits out before giving up.
const MAX_START_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Why a set-up step failed.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// Refused before anything was sent.
    #[error("{0}")]
    Invalid(String),
    #[error("Telegram answered: {0}")]
    Api(#[from] ApiError),
}

/// A checked `setWebhook` request.
#[derive(Clone, Debug)]
pub struct WebhookRegistration {
    url: Url,
    secret: Secret,
    max_connections: u8,
    drop_pending_updates: bool,
}

/// `setWebhook`'s parameters as sent.
#[derive(Serialize)]
struct SetWebhookParams<'a> {
    url: &'a str,
    secret_token: &'a str,
    allowed_updates: &'a [&'a str],
    max_connections: u8,
    drop_pending_updates: bool,
}

impl WebhookRegistration {
    /// Checks what Telegram would refuse, so that nothing is sent when it would be: the URL is
    /// https on a port Telegram calls, the secret is 1–256 characters of `A-Z a-z 0-9 _ -`,
    /// `max_connections` is 1–100. `url` is `None` when WEBHOOK_URL is not set.
    pub fn new(
        url: Option<&str>,
        secret: Option<&Secret>,
        max_connections: u8,
        drop_pending_updates: bool,
    ) -> Result<Self, SetupError> {
        let url = url.ok_or_else(|| SetupError::Invalid("WEBHOOK_URL is not set".into()))?;
        let url = check_webhook_url(url)?;
        let secret = secret.ok_or_else(|| {
            SetupError::Invalid(
                "TELEGRAM_WEBHOOK_SECRET is not set: Telegram must send it so that kktbot can tell its calls from \
                 anyone else's"
                    .into(),
            )
        })?;
        validate_webhook_secret(secret.expose())
            .map_err(|reason| SetupError::Invalid(format!("TELEGRAM_WEBHOOK_SECRET {reason}")))?;
        if !MAX_CONNECTIONS_RANGE.contains(&max_connections) {
            return Err(SetupError::Invalid(format!("max connections must be 1–100, not {max_connections}")));
        }
        Ok(Self { url, secret: secret.clone(), max_connections, drop_pending_updates })
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    /// A note when the URL does not end with kktbot's webhook path (fine behind a proxy that
    /// rewrites paths, a mistake otherwise).
    pub fn path_warning(&self) -> Option<String> {
        (!self.url.path().ends_with(WEBHOOK_PATH)).then(|| {
            format!(
                "note: {} does not end with {WEBHOOK_PATH}; kktbot serves its webhook there unless a proxy rewrites \
                 the path",
                self.url
            )
        })
    }

    /// Calls `setWebhook`.
    pub async fn register(&self, api: &BotApi) -> Result<(), ApiError> {
        let params = SetWebhookParams {
            url: self.url.as_str(),
            secret_token: self.secret.expose(),
            allowed_updates: ALLOWED_UPDATES,
            max_connections: self.max_connections,
            drop_pending_updates: self.drop_pending_updates,
        };
        api.call::<bool>("setWebhook", &params).await.map(drop)
    }

    /// One line saying what was registered.
    pub fn describe(&self) -> String {
        let mut line = format!(
            "webhook set: {} (updates: {}; max connections: {})",
            self.url,
            ALLOWED_UPDATES.join(", "),
            self.max_connections
        );
        if self.drop_pending_updates {
            line.push_str("; pending updates dropped");
        }
        line
    }
}

/// Parses a webhook URL and checks it the way Telegram will.
fn check_webhook_url(raw: &str) -> Result<Url, SetupError> {
    let url = Url::parse(raw)
        .ok()
        .filter(|u| u.host().is_some())
        .ok_or_else(|| SetupError::Invalid(format!("the webhook URL {raw:?} is not an absolute URL")))?;
    if url.scheme() != "https" {
        return Err(SetupError::Invalid(format!(
            "the webhook URL must be https (Telegram only calls https webhooks), not {}:",
            url.scheme()
        )));
    }
    let port = url.port_or_known_default().unwrap_or(443);
    if !WEBHOOK_PORTS.contains(&port) {
        return Err(SetupError::Invalid(format!(
            "the webhook URL's port is {port}; Telegram only calls ports 443, 80, 88 and 8443"
        )));
    }
    Ok(url)
}

/// Calls `deleteWebhook`; with `drop_pending_updates` Telegram forgets the updates not yet
/// delivered.
pub async fn delete_webhook(api: &BotApi, drop_pending_updates: bool) -> Result<(), ApiError> {
    api.call::<bool>("deleteWebhook", &serde_json::json!({ "drop_pending_updates": drop_pending_updates }))
        .await
        .map(drop)
}

/// Telegram's `WebhookInfo`. Read into our own type rather than teloxide's: teloxide's
/// `AllowedUpdate` enum cannot read update kinds newer than itself, and `info` must not fail on
/// those.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct WebhookInfo {
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub has_custom_certificate: bool,
    #[serde(default)]
    pub pending_update_count: u64,
    #[serde(default)]
    pub ip_address: Option<String>,
    /// Unix time.
    #[serde(default)]
    pub last_error_date: Option<i64>,
    #[serde(default)]
    pub last_error_message: Option<String>,
    /// Unix time.
    #[serde(default)]
    pub last_synchronization_error_date: Option<i64>,
    #[serde(default)]
    pub max_connections: Option<u32>,
    #[serde(default)]
    pub allowed_updates: Option<Vec<String>>,
}

/// Calls `getWebhookInfo`.
pub async fn webhook_info(api: &BotApi) -> Result<WebhookInfo, ApiError> {
    api.call("getWebhookInfo", &serde_json::json!({})).await
}

fn unix_time(secs: i64) -> String {
    DateTime::<Utc>::from_timestamp(secs, 0)
        .map_or_else(|| secs.to_string(), |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
}

impl WebhookInfo {
    /// A readable report, one `name: value` line each.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        let url = if self.url.is_empty() {
            "none (no webhook is set: updates wait for getUpdates, as in `serve --polling`)"
        } else {
            &self.url
        };
        let _ = writeln!(out, "url:              {url}");
        let _ = writeln!(out, "pending updates:  {}", self.pending_update_count);
        let last_error = match (&self.last_error_message, self.last_error_date) {
            (Some(message), Some(date)) => format!("{message} (at {})", unix_time(date)),
            (Some(message), None) => message.clone(),
            (None, Some(date)) => format!("unknown (at {})", unix_time(date)),
            (None, None) => "none".into(),
        };
        let _ = writeln!(out, "last error:       {last_error}");
        if let Some(date) = self.last_synchronization_error_date {
            let _ = writeln!(out, "last sync error:  at {}", unix_time(date));
        }
        let max = self.max_connections.map_or_else(|| "not set".into(), |n| n.to_string());
        let _ = writeln!(out, "max connections:  {max}");
        let allowed = match &self.allowed_updates {
            Some(kinds) if !kinds.is_empty() => kinds.join(", "),
            _ => {
                "Telegram's default (every kind except chat_member, message_reaction and message_reaction_count)".into()
            }
        };
        let _ = writeln!(out, "allowed updates:  {allowed}");
        if let Some(ip) = &self.ip_address {
            let _ = writeln!(out, "ip address:       {ip}");
        }
        if self.has_custom_certificate {
            let _ = writeln!(out, "certificate:      custom (self-signed)");
        }
        out
    }
}

/// Calls `method`, retrying network errors, 5xx and 429 a few times: for calls made at start,
/// when Telegram may be briefly unreachable.
pub async fn call_with_retries(api: &BotApi, method: &str, params: &impl Serialize) -> Result<(), ApiError> {
    retry_transient(|| async { api.call::<serde_json::Value>(method, params).await.map(drop) }).await
}

/// Runs `call` until it succeeds, fails for good (a 4xx other than 429), or has failed
/// [`START_ATTEMPTS`] times.
async fn retry_transient<F, Fut>(mut call: F) -> Result<(), ApiError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), ApiError>>,
{
    let backoff = Backoff { first: Duration::from_secs(1), cap: Duration::from_secs(10) };
    let mut attempt = 0;
    loop {
        attempt += 1;
        let error = match call().await {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        let wait = match &error {
            ApiError::RetryAfter(secs) if Duration::from_secs(*secs) <= MAX_START_RETRY_AFTER => {
                Duration::from_secs(*secs)
            }
            ApiError::Network(_) | ApiError::Server { .. } => backoff.delay(attempt),
            _ => return Err(error),
        };
        if attempt >= START_ATTEMPTS {
            return Err(error);
        }
        tracing::debug!(error = %error, ?wait, "Bot API call failed; retrying");
        tokio::time::sleep(wait).await;
    }
}

/// Registers the webhook at start, retrying transient failures; a failure is logged and does
/// not stop the server.
pub async fn register_at_start(api: &BotApi, registration: &WebhookRegistration) {
    if let Some(warning) = registration.path_warning() {
        tracing::warn!("{warning}");
    }
    match retry_transient(|| registration.register(api)).await {
        Ok(()) => tracing::info!(url = %registration.url(), "webhook registered with Telegram"),
        Err(e) => tracing::error!(
            error = %e,
            url = %registration.url(),
            "registering the webhook failed; Telegram will not deliver updates here until it is registered \
             (`kktbot webhook set`)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_is_checked_before_anything_is_sent() {
        let secret = Secret::new("abc_DEF-123");
        let ok = WebhookRegistration::new(Some("https://bot.example.com/webhook/telegram"), Some(&secret), 40, false)
            .unwrap();
        assert!(ok.path_warning().is_none());
        assert!(
            WebhookRegistration::new(Some("https://bot.example.com/"), Some(&secret), 40, false)
                .unwrap()
                .path_warning()
                .is_some()
        );
        assert!(
            WebhookRegistration::new(Some("https://bot.example.com:8443/webhook/telegram"), Some(&secret), 1, true)
                .is_ok()
        );

        let refused = |url: Option<&str>, secret: Option<&Secret>, max: u8| {
            WebhookRegistration::new(url, secret, max, false).unwrap_err().to_string()
        };
        assert!(refused(Some("http://bot.example.com/webhook/telegram"), Some(&secret), 40).contains("must be https"));
        assert!(refused(Some("https://bot.example.com:8080/w"), Some(&secret), 40).contains("port is 8080"));
        assert!(refused(Some("not a url"), Some(&secret), 40).contains("not an absolute URL"));
        assert_eq!(refused(None, Some(&secret), 40), "WEBHOOK_URL is not set");
        assert!(refused(Some("https://bot.example.com/"), None, 40).starts_with("TELEGRAM_WEBHOOK_SECRET is not set"));
        let bad_secret = Secret::new("has spaces");
        let reason = refused(Some("https://bot.example.com/"), Some(&bad_secret), 40);
        assert!(reason.starts_with("TELEGRAM_WEBHOOK_SECRET must be 1–256"), "{reason}");
        assert!(!reason.contains("has spaces"), "the secret is not echoed");
        assert!(refused(Some("https://bot.example.com/"), Some(&secret), 0).contains("1–100"));
        assert!(refused(Some("https://bot.example.com/"), Some(&secret), 101).contains("1–100"));
        for reason in [refused(None, None, 0), refused(Some("http://x.org"), Some(&secret), 40)] {
            assert_eq!(reason.lines().count(), 1);
        }
    }

    #[test]
    fn webhook_info_is_readable() {
        let info: WebhookInfo = serde_json::from_value(serde_json::json!({
            "url": "https://bot.example.com/webhook/telegram",
            "has_custom_certificate": false,
            "pending_update_count": 3,
            "ip_address": "203.0.113.7",
            "last_error_date": 1_717_243_200,
            "last_error_message": "Wrong response from the webhook: 503 Service Unavailable",
            "max_connections": 40,
            "allowed_updates": ["message", "callback_query", "my_chat_member", "a_kind_from_the_future"]
        }))
        .unwrap();
        let text = info.describe();
        assert!(text.contains("url:              https://bot.example.com/webhook/telegram\n"), "{text}");
        assert!(text.contains("pending updates:  3\n"), "{text}");
        assert!(
            text.contains(
                "last error:       Wrong response from the webhook: 503 Service Unavailable (at 2024-06-01 12:00:00 UTC)\n"
            ),
            "{text}"
        );
        assert!(text.contains("max connections:  40\n"), "{text}");
        assert!(
            text.contains("allowed updates:  message, callback_query, my_chat_member, a_kind_from_the_future\n"),
            "{text}"
        );
        assert!(text.contains("ip address:       203.0.113.7\n"), "{text}");

        let none: WebhookInfo = serde_json::from_value(
            serde_json::json!({"url": "", "has_custom_certificate": false, "pending_update_count": 0}),
        )
        .unwrap();
        let text = none.describe();
        assert!(text.starts_with("url:              none"), "{text}");
        assert!(text.contains("last error:       none\n"), "{text}");
    }
}
