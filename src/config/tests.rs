//! The configuration's parsing and validation.

use super::*;
use std::collections::HashMap;

fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
    let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Config::from_lookup(|k| map.get(k).cloned())
}

#[test]
fn defaults_without_any_variable() {
    let c = config(&[]).unwrap();
    assert!(c.telegram.bot_token.is_none());
    assert_eq!(c.telegram.api_url.as_str(), "https://api.telegram.org/");
    assert_eq!(c.database_url.expose(), DEFAULT_DATABASE_URL);
    assert!(c.redis_url.is_none());
    assert_eq!(c.listen.to_string(), "127.0.0.1:8000");
    assert_eq!(c.jwt.expiration_hours, 24);
    assert!(c.cors_origins.is_empty());
    assert_eq!(c.static_dir, None, "the dashboard compiled into the binary");
    assert_eq!((c.api_rate_limit_per_minute, c.login_rate_limit_per_minute), (100, 5));
    assert!(c.trusted_proxies.is_empty());
    assert_eq!(c.notifications.check_time, NaiveTime::from_hms_opt(9, 0, 0).unwrap());
    assert_eq!(c.notifications.timezone, chrono_tz::Europe::Moscow);
    assert_eq!(c.notifications.days, vec![14, 7, 3]);
    assert_eq!(c.log.format, LogFormat::Pretty);
    assert_eq!(c.outbox_retention, chrono::Duration::days(30));
}

#[test]
fn outbox_retention_is_whole_days() {
    assert_eq!(config(&[("OUTBOX_RETENTION_DAYS", "7")]).unwrap().outbox_retention, chrono::Duration::days(7));
    for bad in ["0", "-1", "1.5", "3651", "week"] {
        let err = config(&[("OUTBOX_RETENTION_DAYS", bad)]).unwrap_err();
        assert_eq!(err.0.iter().map(|e| e.variable).collect::<Vec<_>>(), ["OUTBOX_RETENTION_DAYS"], "{bad}");
    }
}

#[test]
fn every_invalid_variable_is_reported_at_once() {
    let err = config(&[
        ("TELEGRAM_API_URL", "not a url"),
        ("WEBHOOK_URL", "http://example.com/webhook/telegram"),
        ("TELEGRAM_WEBHOOK_SECRET", "has spaces"),
        ("ADMIN_TELEGRAM_IDS", "1,abc"),
        ("DATABASE_URL", "mongodb://x"),
        ("API_PORT", "99999"),
        ("JWT_SECRET_KEY", "short"),
        ("NOTIFICATION_CHECK_TIME", "25:00"),
        ("NOTIFICATION_TIMEZONE", "Mars/Olympus"),
        ("NOTIFICATION_DAYS", "14,x"),
        ("LOG_FORMAT", "xml"),
    ])
    .unwrap_err();
    let vars: Vec<&str> = err.0.iter().map(|e| e.variable).collect();
    assert_eq!(
        vars,
        [
            "TELEGRAM_API_URL",
            "TELEGRAM_WEBHOOK_SECRET",
            "WEBHOOK_URL",
            "ADMIN_TELEGRAM_IDS",
            "DATABASE_URL",
            "API_PORT",
            "JWT_SECRET_KEY",
            "NOTIFICATION_CHECK_TIME",
            "NOTIFICATION_TIMEZONE",
            "NOTIFICATION_DAYS",
            "LOG_FORMAT",
        ]
    );
    let text = err.to_string();
    assert_eq!(text.lines().count(), 11);
    assert!(text.contains("JWT_SECRET_KEY: is 5 bytes; at least 32 are required"));
    assert!(!text.contains("short"), "the rejected secret itself is not echoed");
}

#[test]
fn debug_never_shows_secrets() {
    let c = config(&[
        ("TELEGRAM_BOT_TOKEN", "123456:AAAbbbCCCdddEEEfffGGGhhh"),
        ("TELEGRAM_WEBHOOK_SECRET", "webhook-secret-value"),
        ("JWT_SECRET_KEY", "0123456789abcdef0123456789abcdef-jwt"),
        ("JWT_SECRET_KEY_PREVIOUS", "previous-key-previous-key-previous-key"),
        ("DATABASE_URL", "postgres://kkt:dbpassw0rd@localhost/kkt"),
        ("REDIS_URL", "redis://:redispassw0rd@localhost:6379/0"),
    ])
    .unwrap();
    let debug = format!("{c:?}");
    for secret in
        ["AAAbbbCCC", "webhook-secret-value", "0123456789abcdef", "previous-key", "dbpassw0rd", "redispassw0rd"]
    {
        assert!(!debug.contains(secret), "{secret} leaked in {debug}");
    }
    assert_eq!(c.secrets().len(), 6);
}

#[test]
fn lists_are_parsed_and_normalised() {
    let c = config(&[
        ("ADMIN_TELEGRAM_IDS", " 42, 7 ,42"),
        ("NOTIFICATION_DAYS", "3,30,7"),
        ("CORS_ORIGINS", "https://admin.example.com, http://localhost:3000"),
    ])
    .unwrap();
    assert_eq!(c.telegram.admin_ids, vec![7, 42]);
    assert_eq!(c.notifications.days, vec![30, 7, 3]);
    assert_eq!(c.cors_origins, vec!["https://admin.example.com", "http://localhost:3000"]);
}

#[test]
fn trusted_proxies_are_addresses_or_networks() {
    let c = config(&[("TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8,::1")]).unwrap();
    let [one, net, v6] = c.trusted_proxies[..] else { panic!("three networks") };
    assert!(one.contains("127.0.0.1".parse().unwrap()) && !one.contains("127.0.0.2".parse().unwrap()));
    assert!(net.contains("10.200.1.1".parse().unwrap()) && !net.contains("11.0.0.1".parse().unwrap()));
    assert!(v6.contains("::1".parse().unwrap()));
    assert!(one.contains("::ffff:127.0.0.1".parse().unwrap()));
    let err = config(&[("TRUSTED_PROXIES", "10.0.0.0/40"), ("API_RATE_LIMIT_PER_MINUTE", "0")]).unwrap_err();
    let vars: Vec<&str> = err.0.iter().map(|e| e.variable).collect();
    assert_eq!(vars, ["API_RATE_LIMIT_PER_MINUTE", "TRUSTED_PROXIES"]);
}

#[test]
fn the_administrators_group_is_a_group_chat_id() {
    assert_eq!(config(&[]).unwrap().telegram.admin_group_chat_id, None);
    let c = config(&[("ADMIN_GROUP_CHAT_ID", " -1001234567890 ")]).unwrap();
    assert_eq!(c.telegram.admin_group_chat_id, Some(-1_001_234_567_890));
    for bad in ["42", "0", "group", "-1.5"] {
        let err = config(&[("ADMIN_GROUP_CHAT_ID", bad)]).unwrap_err();
        assert_eq!(err.0.iter().map(|e| e.variable).collect::<Vec<_>>(), ["ADMIN_GROUP_CHAT_ID"], "{bad}");
    }
}

#[test]
fn webhook_secret_rule_matches_telegram() {
    assert!(validate_webhook_secret("abc_DEF-123").is_ok());
    assert!(validate_webhook_secret("").is_err());
    assert!(validate_webhook_secret(&"a".repeat(257)).is_err());
    assert!(validate_webhook_secret("a/b").is_err());
}
