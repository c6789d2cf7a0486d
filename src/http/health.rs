//! `GET /health`: the database (reachability and latency) and Redis; 503 when the database is
//! down, since nothing works without it.

use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;

use super::Probes;
use crate::core::Core;

#[derive(Serialize)]
pub struct Health {
    status: &'static str,
    version: &'static str,
    database: Check,
    redis: Check,
    /// Whether this instance runs the sender and the scheduler (one instance on PostgreSQL).
    leader: bool,
    /// The outgoing-message backlog.
    outbox: Outbox,
}

#[derive(Serialize)]
struct Outbox {
    /// Messages not yet delivered (absent when the database is down).
    pending: Option<u64>,
}

#[derive(Serialize)]
struct Check {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    latency_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'static str>,
}

impl Check {
    fn timed<E>(started: Instant, result: Result<Result<(), E>, tokio::time::error::Elapsed>) -> Self {
        let latency_ms = Some((started.elapsed().as_secs_f64() * 1000.0 * 100.0).round() / 100.0);
        match result {
            Ok(Ok(())) => Check { status: "up", latency_ms, error: None },
            Ok(Err(_)) => Check { status: "down", latency_ms, error: Some("unreachable") },
            Err(_) => Check { status: "down", latency_ms, error: Some("timed out") },
        }
    }
}

const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

pub async fn health(State(core): State<Core>, State(probes): State<Probes>) -> (StatusCode, Json<Health>) {
    let started = Instant::now();
    let database = Check::timed(started, tokio::time::timeout(CHECK_TIMEOUT, core.db.ping()).await);
    let redis = match &probes.redis {
        None => Check { status: "disabled", latency_ms: None, error: None },
        Some(conn) => {
            let started = Instant::now();
            Check::timed(started, tokio::time::timeout(CHECK_TIMEOUT, crate::redis_store::ping(conn)).await)
        }
    };
    let (code, status) = match (database.status, redis.status) {
        ("up", "down") => (StatusCode::OK, "degraded"),
        ("up", _) => (StatusCode::OK, "ok"),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "down"),
    };
    let pending = if database.status == "up" {
        tokio::time::timeout(CHECK_TIMEOUT, crate::outbox::pending_count(&core.db)).await.ok().and_then(Result::ok)
    } else {
        None
    };
    let leader = probes.leader.is_leader();
    (
        code,
        Json(Health {
            status,
            version: env!("CARGO_PKG_VERSION"),
            database,
            redis,
            leader,
            outbox: Outbox { pending },
        }),
    )
}
