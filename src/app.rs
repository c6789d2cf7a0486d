//! Building and running the server: bind the listener first (port 0 in tests), connect and
//! migrate, wire the state, then serve until a shutdown signal.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use sea_orm::{DatabaseConnection, DbErr};
use tokio::net::TcpListener;

use crate::bot::notifier::{AdminGroup, TelegramNotifier};
use crate::bot::texts::Texts;
use crate::bot::{dialog_store, menu};
use crate::config::Config;
use crate::core::Core;
use crate::http::{self, AppState, Probes};
use crate::inbound::Inbound;
use crate::inbound::polling::{Poller, PollingOptions};
use crate::outbox::RetryPolicy;
use crate::scheduler::{Scheduler, SlaWatch};
use crate::services::{administrators, audit, processed_updates, users};
use crate::telegram::api::BotApi;
use crate::telegram::sender::{Sender, SenderHandle};
use crate::telegram::setup::{self, WebhookRegistration};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("database: {0}")]
    Database(#[from] DbErr),
    #[error(transparent)]
    Domain(#[from] crate::error::Error),
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("{0}")]
    Config(String),
}

#[derive(Clone, Copy, Debug)]
pub struct ServeOptions {
    /// Apply pending migrations before serving.
    pub migrate: bool,
    /// Receive updates by long-polling `getUpdates` (the webhook is removed) instead of through
    /// the webhook; TELEGRAM_WEBHOOK_SECRET is then not required.
    pub polling: bool,
    /// Register WEBHOOK_URL with Telegram at start, when it is set (webhook mode only).
    pub register_webhook: bool,
    /// Long-poll timeout and retry backoff of polling mode.
    pub polling_options: PollingOptions,
    /// Run the daily reminder run (when the bot is on).
    pub scheduler: bool,
    /// How often the service-level watch looks for requests past their times (when the bot is
    /// on); `None`: not at all.
    pub sla_watch: Option<std::time::Duration>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            migrate: true,
            polling: false,
            register_webhook: true,
            polling_options: PollingOptions::default(),
            scheduler: true,
            sla_watch: Some(std::time::Duration::from_secs(60)),
        }
    }
}

/// A server that is bound and ready to run.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    initial_admin: Option<(String, String)>,
    /// The Bot API client of the outgoing-message sender; `None` when the bot is off.
    sender_api: Option<BotApi>,
    scheduler: bool,
    sla_watch: Option<std::time::Duration>,
    /// Who runs the sender and the scheduler (one instance on PostgreSQL).
    election: crate::ops::leader::Election,
    /// Talking to Telegram at start and in polling mode; `None` when the bot is off.
    telegram: Option<TelegramStart>,
}

/// What `run` starts besides the server when the bot is on.
struct TelegramStart {
    api: BotApi,
    texts: Arc<Texts>,
    /// The webhook to register at start, if any.
    registration: Option<WebhookRegistration>,
    /// Polling mode, with its options.
    polling: Option<PollingOptions>,
}

/// How long processed update ids are kept: longer than the 24 hours Telegram keeps an update.
const PROCESSED_UPDATES_RETENTION: chrono::Duration = chrono::Duration::hours(48);

/// The administrators' group as Telegram describes it (getChat): whether it has topics. When
/// Telegram cannot say (or the bot is off), requests go to the group without topics.
async fn admin_group(api: Option<&BotApi>, chat_id: i64) -> AdminGroup {
    let Some(api) = api else { return AdminGroup { chat_id, forum: false } };
    let chat = api.call::<serde_json::Value>("getChat", &serde_json::json!({ "chat_id": chat_id })).await;
    let forum = match chat {
        Ok(chat) => chat["is_forum"].as_bool().unwrap_or(false),
        Err(e) => {
            tracing::warn!(error = %e, chat_id, "getChat of ADMIN_GROUP_CHAT_ID failed; requests go to the group without topics until restart");
            false
        }
    };
    tracing::info!(chat_id, forum, "new requests go to the administrators' group");
    AdminGroup { chat_id, forum }
}

impl Application {
    pub async fn build(config: Config, options: ServeOptions) -> Result<Self, StartError> {
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| StartError::Bind { addr: config.listen, source })?;
        let db = crate::db::connect(&config.database_url).await?;
        if options.migrate {
            let applied = crate::db::migrate_exclusively(&db).await?;
            if applied > 0 {
                tracing::info!(applied, "database migrations applied");
            }
        }
        for &telegram_id in &config.telegram.admin_ids {
            administrators::add(&db, telegram_id, None).await?;
        }
        let initial_admin = users::ensure_initial_admin(&db).await?;
        if config.telegram.bot_token.is_none() {
            tracing::warn!("TELEGRAM_BOT_TOKEN is not set: the Telegram bot is off; the API and dashboard work");
        }
        if config.jwt.secret.is_none() {
            tracing::warn!("JWT_SECRET_KEY is not set: a random key is used and dashboard logins end at restart");
        }
        let redis = config.redis_url.as_ref().map(crate::redis_store::connect).transpose()?;
        // The notifier queues the messages of every change, the bot on or off: a decision made
        // on the dashboard while the bot is off reaches the client once it is on.
        let texts = Arc::new(Texts::new());
        let reminder_retry = RetryPolicy {
            max_attempts: config.notifications.retry_attempts,
            delay: config.notifications.retry_interval,
        };
        let mut notifier =
            TelegramNotifier::new(texts.clone(), config.notifications.timezone).with_reminder_retry(reminder_retry);
        if let Some(chat_id) = config.telegram.admin_group_chat_id {
            let api = config.telegram.bot_token.as_ref().map(|token| BotApi::new(&config.telegram.api_url, token));
            notifier = notifier.with_admin_group(admin_group(api.as_ref(), chat_id).await);
        }
        let notifier = Arc::new(notifier);
        let mut core = Core::new(db, SenderHandle::new(), config.notifications.timezone, notifier);
        let (inbound, telegram) = match &config.telegram.bot_token {
            None => (None, None),
            Some(token) => {
                if config.telegram.webhook_secret.is_none() && !options.polling {
                    return Err(StartError::Config(
                        "TELEGRAM_WEBHOOK_SECRET is required when the bot is on (1–256 characters of A-Z a-z 0-9 _ -); \
                         `serve --polling` runs without it"
                            .into(),
                    ));
                }
                let registration = match (&config.telegram.webhook_url, options.register_webhook && !options.polling) {
                    (Some(url), true) => WebhookRegistration::new(
                        Some(url.as_str()),
                        config.telegram.webhook_secret.as_ref(),
                        setup::DEFAULT_MAX_CONNECTIONS,
                        false,
                    )
                    .inspect_err(|e| tracing::error!(error = %e, "the webhook is not registered at start"))
                    .ok(),
                    _ => None,
                };
                let api = BotApi::new(&config.telegram.api_url, token);
                let username = match api.call::<teloxide::types::Me>("getMe", &serde_json::json!({})).await {
                    Ok(me) => Some(me.username().to_string()),
                    Err(e) => {
                        tracing::warn!(error = %e, "getMe failed; commands addressed as /cmd@bot are not recognised and invites have no link until restart");
                        None
                    }
                };
                core = core.with_bot_username(username);
                let store =
                    dialog_store::from_config(redis.clone(), &config.redis_key_prefix, dialog_store::DEFAULT_TTL);
                let inbound = Some(Arc::new(Inbound::new(core.clone(), store)));
                let polling = options.polling.then_some(options.polling_options);
                let telegram = TelegramStart { api: api.clone(), texts: texts.clone(), registration, polling };
                (inbound, Some(telegram))
            }
        };
        let sender_api = telegram.as_ref().map(|t: &TelegramStart| t.api.clone());
        let election = crate::ops::leader::Election::new(&config.database_url);
        let jwt_secret = match &config.jwt.secret {
            Some(secret) => secret.expose().as_bytes().to_vec(),
            None => rand::random::<[u8; 32]>().to_vec(),
        };
        if config.jwt.previous_secret.is_some() && config.jwt.secret.is_none() {
            tracing::warn!("JWT_SECRET_KEY_PREVIOUS is set without JWT_SECRET_KEY: it is ignored");
        }
        let previous = config.jwt.previous_secret.as_ref().filter(|_| config.jwt.secret.is_some());
        let jwt = Arc::new(http::api::jwt::JwtKeys::new(
            &jwt_secret,
            previous.map(|s| s.expose().as_bytes()),
            config.jwt.expiration_hours,
        ));
        let state = AppState {
            core,
            config: Arc::new(config),
            inbound,
            jwt,
            probes: Probes { redis, leader: election.status() },
            clock: crate::clock::Clock::default(),
            bot_api: telegram.as_ref().map(|t| t.api.clone()),
            stats: Default::default(),
        };
        if options.polling && telegram.is_none() {
            tracing::warn!("--polling has no effect: the bot is off (TELEGRAM_BOT_TOKEN is not set)");
        }
        Ok(Self {
            listener,
            state,
            initial_admin,
            sender_api,
            telegram,
            scheduler: options.scheduler,
            sla_watch: options.sla_watch,
            election,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The dashboard administrator created on this first start, with its one-time password.
    pub fn initial_admin(&self) -> Option<&(String, String)> {
        self.initial_admin.as_ref()
    }

    /// Serves until `shutdown` completes, then stops accepting and lets in-flight requests finish.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        tracing::info!(addr = %self.local_addr(), database = %self.state.config.database_url.redacted(), "kktbot is listening");
        let router = http::router(self.state.clone());
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let stopped = move || {
            let mut rx = stop_rx.clone();
            async move {
                let _ = rx.wait_for(|stop| *stop).await;
            }
        };
        let mut background = tokio::task::JoinSet::new();
        let work = self::leader_work(&self.state, self.sender_api, self.scheduler, self.sla_watch);
        background.spawn(self.election.run(work, stopped()));
        if let Some(telegram) = self.telegram {
            // In the background: a slow or unreachable Telegram does not hold up serving.
            let start =
                on_start(telegram.api.clone(), self.state.core.db.clone(), telegram.texts, telegram.registration);
            let stop = stopped();
            background.spawn(async move {
                tokio::select! {
                    () = start => {}
                    () = stop => {}
                }
            });
            if let (Some(options), Some(inbound)) = (telegram.polling, self.state.inbound.clone()) {
                background.spawn(Poller::new(telegram.api, inbound, options).run(stopped()));
            }
        }
        let db = &self.state.core.db;
        background.spawn(prune_history(db.clone(), self.state.config.outbox_retention, stopped()));
        let audit_retention = chrono::Duration::days(i64::from(self.state.config.audit_retention_days));
        background.spawn(prune_audit_log(db.clone(), audit_retention, stopped()));
        // Under systemd (Type=notify): ready once migrated and bound; a no-op elsewhere.
        let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
        let served = axum::serve(self.listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async move {
                shutdown.await;
                let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
                let _ = stop_tx.send(true);
            })
            .await;
        background.join_all().await;
        tracing::info!("kktbot stopped");
        served
    }
}

/// What the leader runs: the outgoing-message sender, the reminder scheduler and the
/// service-level watch (when on), made afresh for each term of leadership and stopped when it
/// ends.
fn leader_work(
    state: &AppState,
    sender_api: Option<BotApi>,
    scheduler: bool,
    sla_watch: Option<std::time::Duration>,
) -> crate::ops::leader::LeaderWork {
    use futures::FutureExt;
    let core = state.core.clone();
    let config = state.config.clone();
    let clock = state.clock.clone();
    Arc::new(move |stop| {
        let sender = sender_api.as_ref().map(|api| {
            Sender::new(core.db.clone(), api.clone(), config.telegram.sender.clone())
                .with_write_gate(core.write_gate().clone())
                .with_handle(core.sender().clone())
        });
        // Reminders and the service-level watch run only with the bot on (a server without one
        // would queue them for whenever a bot comes, late).
        let bot_on = sender.is_some();
        let scheduler = (scheduler && bot_on).then(|| Scheduler {
            core: core.clone(),
            messages: core.notifier.clone(),
            config: config.notifications.clone(),
        });
        let watch = match sla_watch {
            Some(every) if bot_on => Some(SlaWatch {
                core: core.clone(),
                events: core.notifier.clone(),
                defaults: config.sla,
                clock: clock.clone(),
                every,
            }),
            _ => None,
        };
        Box::pin(async move {
            let stop = stop.shared();
            let mut tasks = tokio::task::JoinSet::new();
            if let Some(sender) = sender {
                tasks.spawn(sender.run(stop.clone()));
            }
            if let Some(scheduler) = scheduler {
                tasks.spawn(scheduler.run(stop.clone()));
            }
            if let Some(watch) = watch {
                tasks.spawn(watch.run(stop.clone()));
            }
            tasks.join_all().await;
        })
    })
}

/// What `serve` does with Telegram at start, in the background: registers the webhook (when
/// `registration` is given) and sets the command menus. Failures are logged; none stops the
/// server.
async fn on_start(api: BotApi, db: DatabaseConnection, texts: Arc<Texts>, registration: Option<WebhookRegistration>) {
    if let Some(registration) = registration {
        setup::register_at_start(&api, &registration).await;
    }
    menu::set_at_start(&api, &db, &texts).await;
}

/// Deletes processed update ids and delivered outbox rows past their retention, at start and
/// hourly.
async fn prune_history(db: DatabaseConnection, outbox_retention: chrono::Duration, stop: impl Future<Output = ()>) {
    tokio::pin!(stop);
    loop {
        match processed_updates::prune(&db, PROCESSED_UPDATES_RETENTION).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "pruned processed update ids"),
            Err(e) => tracing::warn!(error = %e, "pruning processed update ids failed"),
        }
        match crate::outbox::retention::prune_sent(&db, chrono::Utc::now() - outbox_retention).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "pruned delivered outbox rows"),
            Err(e) => tracing::warn!(error = %e, "pruning delivered outbox rows failed"),
        }
        tokio::select! {
            () = &mut stop => return,
            () = tokio::time::sleep(std::time::Duration::from_secs(3600)) => {}
        }
    }
}

/// Deletes audit log records past their retention (`AUDIT_RETENTION_DAYS`), hourly.
async fn prune_audit_log(db: DatabaseConnection, retention: chrono::Duration, stop: impl Future<Output = ()>) {
    tokio::pin!(stop);
    loop {
        match audit::prune(&db, retention).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "pruned audit log records"),
            Err(e) => tracing::warn!(error = %e, "pruning the audit log failed"),
        }
        tokio::select! {
            () = &mut stop => return,
            () = tokio::time::sleep(std::time::Duration::from_secs(3600)) => {}
        }
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown requested: finishing in-flight requests");
}
