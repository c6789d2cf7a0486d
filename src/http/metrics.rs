//! The HTTP side of the metrics (the recorder and the gauges are `src/ops/metrics.rs`): the
//! middleware that counts every request by method, route and status with a latency histogram,
//! and `GET /metrics` in the Prometheus text format, optionally behind a bearer token
//! (`METRICS_TOKEN`). Its answers are plain text, as Prometheus reads them, not the JSON error
//! shape.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sea_orm::DatabaseConnection;
use subtle::ConstantTimeEq;

use super::Probes;
use crate::config::Config;
use crate::ops::metrics::{install, sample};

/// Counts every request by method, matched route and status, and times it.
pub async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_string();
    let method = request.method().as_str().to_string();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let elapsed = started.elapsed().as_secs_f64();
    metrics::counter!("kktbot_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("kktbot_http_request_duration_seconds", "method" => method, "route" => route).record(elapsed);
    response
}

/// `GET /metrics`: the Prometheus text format.
pub async fn endpoint(
    State(config): State<Arc<Config>>,
    State(db): State<DatabaseConnection>,
    State(probes): State<Probes>,
    headers: HeaderMap,
) -> Response {
    if let Some(token) = &config.metrics_token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !bool::from(given.as_bytes().ct_eq(token.expose().as_bytes())) {
            return (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer")], "unauthorized\n")
                .into_response();
        }
    }
    let Some(handle) = install() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "metrics are not available\n").into_response();
    };
    sample(&db, probes.redis.as_ref(), &probes.leader).await;
    handle.run_upkeep();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], handle.render()).into_response()
}
