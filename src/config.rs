//! The only reader of the environment: every setting of PRODUCT.md's table, typed and validated.
//!
//! Values come from the process environment, after an optional `.env` file in the working
//! directory has been loaded (real environment variables win). All invalid values are reported
//! together, one line per variable, so an operator fixes them in one go.

use std::fmt;
use std::net::SocketAddr;

use chrono::NaiveTime;
use chrono_tz::Tz;
use url::Url;

/// The embedded default database: a SQLite file next to the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/kktbot.db?mode=rwc";
/// Telegram's Bot API.
pub const DEFAULT_TELEGRAM_API_URL: &str = "https://api.telegram.org";

/// A value that must never be printed: `Debug` and `Display` show `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that needs it (an HTTP header, a hash key).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Clone, Debug)]
pub struct TelegramConfig {
    pub bot_token: Option<Secret>,
    pub api_url: Url,
    pub webhook_secret: Option<Secret>,
    pub webhook_url: Option<Url>,
    pub admin_ids: Vec<i64>,
    /// The administrators' group (`ADMIN_GROUP_CHAT_ID`): each new request goes there once, in a
    /// topic of its own when the group has topics, instead of to every administrator privately.
    pub admin_group_chat_id: Option<i64>,
    pub sender: SenderConfig,
}

/// Telegram's limits as the sender holds them, and its retry policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SenderConfig {
    /// Messages per second for the whole bot (Telegram: about 30).
    pub global_per_second: u32,
    /// Messages per second to one private chat (Telegram: 1).
    pub per_chat_per_second: u32,
    /// Messages per minute to one group (Telegram: 20).
    pub per_group_per_minute: u32,
    /// Attempts before a message that keeps failing with 5xx or network errors is given up.
    pub max_attempts: u32,
}

#[derive(Clone, Debug)]
pub struct JwtConfig {
    /// Absent: a random key is made at every start (tokens die with the process).
    pub secret: Option<Secret>,
    /// The key before the last rotation: tokens it signed are accepted until they expire.
    pub previous_secret: Option<Secret>,
    pub expiration_hours: u32,
}

#[derive(Clone, Debug)]
pub struct NotificationConfig {
    pub check_time: NaiveTime,
    pub timezone: Tz,
    /// Days before a deadline when reminders go out, largest first.
    pub days: Vec<u32>,
    /// Attempts to deliver one reminder when Telegram fails.
    pub retry_attempts: u32,
    /// Time between those attempts.
    pub retry_interval: std::time::Duration,
}

#[derive(Clone, Debug)]
pub struct LogConfig {
    pub level: String,
    pub format: LogFormat,
}

/// kktbot's whole configuration. `Debug` never shows a secret (database and Redis passwords
/// included).
#[derive(Clone, Debug)]
pub struct Config {
    pub telegram: TelegramConfig,
    pub database_url: DatabaseUrl,
    pub redis_url: Option<DatabaseUrl>,
    /// Prefix of every Redis key kktbot writes, so several deployments can share one Redis.
    pub redis_key_prefix: String,
    pub listen: SocketAddr,
    pub jwt: JwtConfig,
    /// Allowed dashboard origins for CORS; empty means same origin only.
    pub cors_origins: Vec<String>,
    /// Requests per minute one client IP may make to the API and dashboard.
    pub api_rate_limit_per_minute: u32,
    /// Login attempts per minute per client IP and per account.
    pub login_rate_limit_per_minute: u32,
    /// Reverse proxies whose `X-Forwarded-For` / `X-Forwarded-Proto` are believed.
    pub trusted_proxies: Vec<IpNet>,
    /// A directory to serve the dashboard from instead of the files compiled into the binary
    /// (`STATIC_DIR`, for working on the dashboard), relative to the working directory unless
    /// absolute; `None`: the compiled-in files.
    pub static_dir: Option<std::path::PathBuf>,
    pub notifications: NotificationConfig,
    pub log: LogConfig,
    /// Bearer token `/metrics` requires (`METRICS_TOKEN`); absent: the endpoint is open.
    pub metrics_token: Option<Secret>,
    /// Days an audit log record is kept (`AUDIT_RETENTION_DAYS`).
    pub audit_retention_days: u32,
    /// How long delivered outbox rows are kept (`OUTBOX_RETENTION_DAYS`) before they are pruned.
    pub outbox_retention: chrono::Duration,
    /// Hours to a decision and to done of request types that set none (SLA_DECISION_HOURS,
    /// SLA_DONE_HOURS).
    pub sla: crate::services::sla::Defaults,
}

/// A connection URL whose password is hidden when printed.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_sqlite(&self) -> bool {
        self.0.starts_with("sqlite:")
    }

    /// MySQL or MariaDB.
    pub fn is_mysql(&self) -> bool {
        self.0.starts_with("mysql://")
    }

    /// The URL with any password replaced, safe for logs.
    pub fn redacted(&self) -> String {
        match Url::parse(&self.0) {
            Ok(mut url) if url.password().is_some() => {
                let _ = url.set_password(Some("redacted"));
                url.to_string()
            }
            _ => self.0.clone(),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.redacted())
    }
}

/// One invalid variable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.variable, self.message)
    }
}

/// Every invalid variable found, one per line when displayed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&lines.join("\n"))
    }
}

impl Config {
    /// Reads `.env` (if present) and the process environment.
    pub fn from_env() -> Result<Self, ConfigErrors> {
        let _ = dotenvy::dotenv();
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds the configuration from any source of variables (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigErrors> {
        let mut p = Parser { lookup: &lookup, errors: Vec::new() };

        let bot_token = p.optional("TELEGRAM_BOT_TOKEN", |v| {
            let valid = v
                .split_once(':')
                .is_some_and(|(id, rest)| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) && rest.len() >= 20);
            if valid {
                Ok(Secret::new(v))
            } else {
                Err("is not a bot token (expected <digits>:<secret> from @BotFather)".into())
            }
        });
        let api_url = p.with_default("TELEGRAM_API_URL", DEFAULT_TELEGRAM_API_URL, parse_http_url);
        let webhook_secret =
            p.optional("TELEGRAM_WEBHOOK_SECRET", |v| validate_webhook_secret(v).map(|()| Secret::new(v)));
        let webhook_url = p.optional("WEBHOOK_URL", |v| {
            let url = parse_http_url(v)?;
            if url.scheme() == "https" {
                Ok(url)
            } else {
                Err("must be an https URL (Telegram only calls https webhooks)".into())
            }
        });
        let admin_ids = p.with_default("ADMIN_TELEGRAM_IDS", "", parse_id_list);
        let admin_group_chat_id = p.optional("ADMIN_GROUP_CHAT_ID", |v| match v.parse::<i64>() {
            Ok(id) if id < 0 => Ok(id),
            _ => Err("must be a group's chat id, a negative number such as -1001234567890".to_string()),
        });
        let positive = |v: &str| match v.parse::<u32>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err("must be a whole number above 0".to_string()),
        };
        let global_per_second = p.with_default("TELEGRAM_RATE_GLOBAL_PER_SECOND", "30", positive);
        let per_chat_per_second = p.with_default("TELEGRAM_RATE_CHAT_PER_SECOND", "1", positive);
        let per_group_per_minute = p.with_default("TELEGRAM_RATE_GROUP_PER_MINUTE", "20", positive);
        let max_attempts = p.with_default("OUTBOX_MAX_ATTEMPTS", "8", positive);
        let database_url = p.with_default("DATABASE_URL", DEFAULT_DATABASE_URL, |v| {
            if ["sqlite:", "postgres://", "postgresql://", "mysql://"].iter().any(|scheme| v.starts_with(scheme)) {
                Ok(DatabaseUrl::new(v))
            } else {
                Err("must start with sqlite:, postgres://, postgresql:// or mysql://".into())
            }
        });
        let redis_url = p.optional("REDIS_URL", |v| match Url::parse(v) {
            Ok(url) if matches!(url.scheme(), "redis" | "rediss" | "redis+unix" | "unix") => Ok(DatabaseUrl::new(v)),
            _ => Err("must be a redis:// or rediss:// URL".into()),
        });
        let redis_key_prefix = p.with_default("REDIS_KEY_PREFIX", "kktbot:", |v| {
            if v.len() <= 64 && !v.chars().any(char::is_whitespace) {
                Ok(v.to_string())
            } else {
                Err("must be at most 64 characters without spaces".into())
            }
        });
        let host = p.with_default("API_HOST", "127.0.0.1", |v| {
            v.parse::<std::net::IpAddr>().map_err(|_| "must be an IP address such as 127.0.0.1 or 0.0.0.0".to_string())
        });
        let port = p.with_default("API_PORT", "8000", |v| {
            v.parse::<u16>().map_err(|_| "must be a port number 0–65535".to_string())
        });
        let jwt_secret = p.optional("JWT_SECRET_KEY", |v| {
            if v.len() >= 32 {
                Ok(Secret::new(v))
            } else {
                Err(format!("is {} bytes; at least 32 are required", v.len()))
            }
        });
        let jwt_previous = p.optional("JWT_SECRET_KEY_PREVIOUS", |v| {
            if v.len() >= 32 {
                Ok(Secret::new(v))
            } else {
                Err(format!("is {} bytes; at least 32 are required", v.len()))
            }
        });
        let jwt_hours = p.with_default("JWT_EXPIRATION_HOURS", "24", |v| match v.parse::<u32>() {
            Ok(h) if (1..=8760).contains(&h) => Ok(h),
            _ => Err("must be a whole number of hours from 1 to 8760".into()),
        });
        let cors_origins = p.with_default("CORS_ORIGINS", "", parse_origins);
        let metrics_token = (p.lookup)("METRICS_TOKEN").filter(|v| !v.trim().is_empty()).map(Secret::new);
        let api_rate_limit = p.with_default("API_RATE_LIMIT_PER_MINUTE", "100", positive);
        let login_rate_limit = p.with_default("LOGIN_RATE_LIMIT_PER_MINUTE", "5", positive);
        let trusted_proxies = p.with_default("TRUSTED_PROXIES", "", parse_networks);
        let audit_retention_days = p.with_default("AUDIT_RETENTION_DAYS", "365", positive);
        let static_dir = p.value("STATIC_DIR").map(std::path::PathBuf::from);
        let check_time = p.with_default("NOTIFICATION_CHECK_TIME", "09:00", |v| {
            NaiveTime::parse_from_str(v, "%H:%M").map_err(|_| "must be a time of day as HH:MM, e.g. 09:00".to_string())
        });
        let timezone = p.with_default("NOTIFICATION_TIMEZONE", "Europe/Moscow", |v| {
            v.parse::<Tz>().map_err(|_| "is not a known IANA time zone (e.g. Europe/Moscow)".to_string())
        });
        let days = p.with_default("NOTIFICATION_DAYS", "14,7,3", parse_days);
        let outbox_retention_days = p.with_default("OUTBOX_RETENTION_DAYS", "30", |v| match v.parse::<u32>() {
            Ok(d) if (1..=3650).contains(&d) => Ok(d),
            _ => Err("must be a whole number of days from 1 to 3650".to_string()),
        });
        let retry_attempts = p.with_default("NOTIFICATION_RETRY_ATTEMPTS", "3", positive);
        let retry_minutes = p.with_default("NOTIFICATION_RETRY_MINUTES", "5", |v| match v.parse::<f64>() {
            Ok(m) if m > 0.0 && m <= 24.0 * 60.0 => Ok(m),
            _ => Err("must be a number of minutes above 0 (fractions allowed, e.g. 0.5)".to_string()),
        });
        let sla_hours = |v: &str| match v.parse::<u32>() {
            Ok(h) if (1..=crate::services::sla::MAX_HOURS).contains(&h) => Ok(h),
            _ => Err(format!("must be a whole number of hours from 1 to {}", crate::services::sla::MAX_HOURS)),
        };
        let sla_decision_hours = p.with_default("SLA_DECISION_HOURS", "4", sla_hours);
        let sla_done_hours = p.with_default("SLA_DONE_HOURS", "72", sla_hours);
        let level = p.with_default("LOG_LEVEL", "info", |v| {
            tracing_subscriber::EnvFilter::try_new(v)
                .map(|_| v.to_string())
                .map_err(|e| format!("is not a valid log filter: {e}"))
        });
        let format = p.with_default("LOG_FORMAT", "pretty", |v| match v.to_ascii_lowercase().as_str() {
            "pretty" => Ok(LogFormat::Pretty),
            "json" => Ok(LogFormat::Json),
            _ => Err("must be json or pretty".into()),
        });

        if !p.errors.is_empty() {
            return Err(ConfigErrors(p.errors));
        }
        // Every value below was parsed successfully (otherwise an error was recorded above).
        let (
            Some(api_url),
            Some(admin_ids),
            Some(database_url),
            Some(redis_key_prefix),
            Some(host),
            Some(port),
            Some(jwt_hours),
        ) = (api_url, admin_ids, database_url, redis_key_prefix, host, port, jwt_hours)
        else {
            unreachable!("a missing value always records an error")
        };
        let (Some(global_per_second), Some(per_chat_per_second), Some(per_group_per_minute), Some(max_attempts)) =
            (global_per_second, per_chat_per_second, per_group_per_minute, max_attempts)
        else {
            unreachable!("a missing value always records an error")
        };
        let (Some(api_rate_limit_per_minute), Some(login_rate_limit_per_minute), Some(trusted_proxies)) =
            (api_rate_limit, login_rate_limit, trusted_proxies)
        else {
            unreachable!("a missing value always records an error")
        };
        let (Some(retry_attempts), Some(retry_minutes), Some(audit_retention_days), Some(outbox_retention_days)) =
            (retry_attempts, retry_minutes, audit_retention_days, outbox_retention_days)
        else {
            unreachable!("a missing value always records an error")
        };
        let (Some(cors_origins), Some(check_time), Some(timezone), Some(days), Some(level), Some(format)) =
            (cors_origins, check_time, timezone, days, level, format)
        else {
            unreachable!("a missing value always records an error")
        };
        let (Some(decision_hours), Some(done_hours)) = (sla_decision_hours, sla_done_hours) else {
            unreachable!("a missing value always records an error")
        };
        Ok(Config {
            telegram: TelegramConfig {
                bot_token,
                api_url,
                webhook_secret,
                webhook_url,
                admin_ids,
                admin_group_chat_id,
                sender: SenderConfig { global_per_second, per_chat_per_second, per_group_per_minute, max_attempts },
            },
            database_url,
            redis_url,
            redis_key_prefix,
            listen: SocketAddr::new(host, port),
            jwt: JwtConfig { secret: jwt_secret, previous_secret: jwt_previous, expiration_hours: jwt_hours },
            cors_origins,
            api_rate_limit_per_minute,
            login_rate_limit_per_minute,
            trusted_proxies,
            static_dir,
            metrics_token,
            audit_retention_days,
            notifications: NotificationConfig {
                check_time,
                timezone,
                days,
                retry_attempts,
                retry_interval: std::time::Duration::from_secs_f64(retry_minutes * 60.0),
            },
            log: LogConfig { level, format },
            outbox_retention: chrono::Duration::days(i64::from(outbox_retention_days)),
            sla: crate::services::sla::Defaults { decision_hours, done_hours },
        })
    }

    /// Every secret value in the configuration, for log redaction.
    pub fn secrets(&self) -> Vec<String> {
        let mut out: Vec<String> = [
            &self.telegram.bot_token,
            &self.telegram.webhook_secret,
            &self.jwt.secret,
            &self.jwt.previous_secret,
            &self.metrics_token,
        ]
        .into_iter()
        .flatten()
        .map(|s| s.expose().to_string())
        .collect();
        for url in std::iter::once(&self.database_url).chain(self.redis_url.as_ref()) {
            if let Some(password) = Url::parse(url.expose()).ok().and_then(|u| u.password().map(str::to_string)) {
                out.push(password);
            }
        }
        out.retain(|s| s.len() >= 4);
        out
    }
}

struct Parser<'a, F: Fn(&str) -> Option<String>> {
    lookup: &'a F,
    errors: Vec<ConfigError>,
}

impl<F: Fn(&str) -> Option<String>> Parser<'_, F> {
    fn value(&self, name: &str) -> Option<String> {
        (self.lookup)(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
    }

    fn optional<T>(&mut self, name: &'static str, parse: impl FnOnce(&str) -> Result<T, String>) -> Option<T> {
        let raw = self.value(name)?;
        match parse(&raw) {
            Ok(v) => Some(v),
            Err(message) => {
                self.errors.push(ConfigError { variable: name, message });
                None
            }
        }
    }

    fn with_default<T>(
        &mut self,
        name: &'static str,
        default: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let raw = self.value(name).unwrap_or_else(|| default.to_string());
        match parse(&raw) {
            Ok(v) => Some(v),
            Err(message) => {
                self.errors.push(ConfigError { variable: name, message });
                None
            }
        }
    }
}

mod values;

pub use values::{IpNet, validate_webhook_secret};
use values::{parse_days, parse_http_url, parse_id_list, parse_networks, parse_origins};

#[cfg(test)]
mod tests;
