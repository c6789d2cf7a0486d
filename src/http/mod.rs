//! The axum adapter: the router, the shared state, health, metrics, the dashboard and the REST
//! API. The webhook it serves is [`crate::inbound::webhook`]'s.

pub mod api;
mod dashboard;
mod health;
pub mod login_guard;
mod metrics;
pub mod security;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::FromRef;
use axum::routing::{get, post};
use redis::aio::ConnectionManager;
use sea_orm::DatabaseConnection;
use tower_http::trace::TraceLayer;

pub use crate::api_error::ApiError;
use crate::config::Config;
use crate::core::Core;
use crate::inbound::{Inbound, webhook};

/// Everything a request handler may use, passed explicitly. A handler takes the part it needs
/// (axum's `State` with `FromRef`): the [`Core`] (or just its database), the configuration, the
/// inbound pipeline, the token keys, or the [`Probes`].
#[derive(Clone, FromRef)]
pub struct AppState {
    /// The database, writes, the bot's notifier and @username, the time zone (`src/core.rs`).
    pub core: Core,
    pub config: Arc<Config>,
    /// The inbound pipeline of Telegram updates, for the webhook; `None` when the bot is off.
    pub inbound: Option<Arc<Inbound>>,
    /// Dashboard token keys.
    pub jwt: Arc<api::jwt::JwtKeys>,
    /// What health and metrics report besides the database.
    pub probes: Probes,
    /// The time service levels are reckoned by (tests move it forward).
    pub clock: crate::clock::Clock,
    /// The Bot API, for files shown on the dashboard; `None` when the bot is off.
    pub bot_api: Option<crate::telegram::api::BotApi>,
    /// The dashboard's figures, shared by those who ask at the same time.
    pub stats: crate::services::stats::SharedStats,
}

/// What `/health` and `/metrics` look at besides the database.
#[derive(Clone)]
pub struct Probes {
    pub redis: Option<ConnectionManager>,
    /// Whether this instance runs the sender and the scheduler (see `ops::leader`).
    pub leader: crate::ops::leader::LeaderStatus,
}

impl FromRef<AppState> for DatabaseConnection {
    fn from_ref(state: &AppState) -> Self {
        state.core.db.clone()
    }
}

/// All routes of the server.
pub fn router(state: AppState) -> Router {
    let files = dashboard::Files::new(state.config.static_dir.as_deref());
    let app = Router::new()
        .route("/health", get(health::health))
        .route("/metrics", get(metrics::endpoint))
        .route("/webhook/telegram", post(webhook::webhook).layer(DefaultBodyLimit::max(webhook::MAX_BODY)))
        // `/api/…` with its OpenAPI document (10 MiB bodies).
        .merge(security::api_layers(api::openapi::split().0))
        .fallback(crate::api_error::not_found)
        // The dashboard replaces that fallback; it still answers the JSON 404 for unknown /api/*
        // paths, other methods and missing files.
        .fallback(move |request| dashboard::serve(files, request));
    // CORS, timeout, compression, security headers, rate limits (src/http/security.rs).
    let app = app.layer(axum::middleware::from_fn(metrics::track));
    // Every error answer in the JSON shape: axum's rejections here, before compression; the
    // protection layers' own answers (a timeout) outside them.
    let app = app.layer(axum::middleware::map_response(crate::api_error::json_shape));
    crate::ops::metrics::install();
    security::protect(app, &state.config)
        .layer(axum::middleware::map_response(crate::api_error::json_shape))
        // The last line: a panic while answering is a 500 in the JSON error shape, logged, instead
        // of a dropped connection.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(crate::api_error::panicked))
        // Every log line of a request carries its id (`x-request-id`, made when absent, echoed back).
        .layer(tower_http::request_id::PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(tower_http::request_id::SetRequestIdLayer::x_request_id(tower_http::request_id::MakeRequestUuid))
        .with_state(state)
}

/// The span of one request: method, path and request id (set by `SetRequestIdLayer`).
fn request_span<B>(request: &axum::http::Request<B>) -> tracing::Span {
    let id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default();
    tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %id)
}
