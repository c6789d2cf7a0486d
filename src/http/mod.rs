//! The axum adapter: the router, the shared state and the JSON error shape.

mod error;
mod health;
mod webhook;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::FromRef;
use axum::routing::{get, post};
use redis::aio::ConnectionManager;
use sea_orm::DatabaseConnection;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::bot::Bot;
use crate::config::Config;
use crate::telegram::sender::SenderHandle;

pub use error::ApiError;

/// Everything a request handler may use, passed explicitly.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub redis: Option<ConnectionManager>,
    pub config: Arc<Config>,
    /// The Telegram bot; `None` when no bot token is configured.
    pub bot: Option<Arc<Bot>>,
    /// Wakes the outgoing-message sender after a commit that queued messages.
    pub sender: Option<SenderHandle>,
}

/// All routes of the server.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health::health))
        .route("/webhook/telegram", post(webhook::webhook).layer(DefaultBodyLimit::max(webhook::MAX_BODY)))
        .fallback(error::not_found)
        .layer(TraceLayer::new_for_http())
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, Duration::from_secs(30)))
        .with_state(state)
}
