//! Prometheus metrics: the recorder (installed once per process: the `metrics` recorder is the
//! one process-wide global of kktbot, since the `metrics` macros write to it, while tests run
//! many servers in one process), and the gauges sampled at scrape time: outbox backlog, database
//! ping latency and pool size, Redis state, process memory and CPU time. The HTTP middleware
//! that counts requests and the `/metrics` endpoint are `src/http/metrics.rs`.
//!
//! Series (all prefixed `kktbot_`): `http_requests_total{method,route,status}`,
//! `http_request_duration_seconds{method,route}`, `updates_total{kind,outcome}` (webhook),
//! `outbox_pending`, `outbox_sent_total`, `outbox_retried_total`, `outbox_failed_total` (sender),
//! `reminders_queued_total`, `reminders_failed_total` (scheduler), `logins_total{outcome}`
//! (dashboard sign-ins), `http_panics_total` (requests whose handler panicked), `db_up`,
//! `db_ping_seconds`, `db_pool_connections{state}`, `redis_up`, `leader`,
//! `process_resident_memory_bytes`, `process_cpu_seconds_total`.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use redis::aio::ConnectionManager;
use sea_orm::DatabaseConnection;

use super::leader::LeaderStatus;

const LATENCY_BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the Prometheus recorder the first time it is called in this process; returns its
/// handle, or `None` when another recorder was installed first.
pub fn install() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
                .map(PrometheusBuilder::build_recorder)
                .ok()?;
            let handle = recorder.handle();
            match metrics::set_global_recorder(recorder) {
                Ok(()) => Some(handle),
                Err(e) => {
                    tracing::warn!(error = %e, "another metrics recorder is installed: /metrics is off");
                    None
                }
            }
        })
        .clone()
}

/// Sets the gauges read at scrape time: database reachability, ping latency and pool, the
/// outbox backlog, Redis, leadership, process memory and CPU.
pub async fn sample(db: &DatabaseConnection, redis: Option<&ConnectionManager>, leader: &LeaderStatus) {
    const TIMEOUT: Duration = Duration::from_secs(2);
    let started = Instant::now();
    let up = matches!(tokio::time::timeout(TIMEOUT, db.ping()).await, Ok(Ok(())));
    metrics::gauge!("kktbot_db_up").set(f64::from(u8::from(up)));
    metrics::gauge!("kktbot_db_ping_seconds").set(started.elapsed().as_secs_f64());
    if up && let Ok(Ok(pending)) = tokio::time::timeout(TIMEOUT, crate::outbox::pending_count(db)).await {
        metrics::gauge!("kktbot_outbox_pending").set(pending as f64);
    }
    pool_gauges(db);
    let configured = redis.is_some();
    let redis = match redis {
        None => 0.0,
        Some(conn) => {
            let ok = matches!(tokio::time::timeout(TIMEOUT, crate::redis_store::ping(conn)).await, Ok(Ok(_)));
            f64::from(u8::from(ok))
        }
    };
    metrics::gauge!("kktbot_redis_up", "configured" => if configured { "true" } else { "false" }).set(redis);
    metrics::gauge!("kktbot_leader").set(f64::from(u8::from(leader.is_leader())));
    if let Some((rss, cpu)) = process_stats() {
        metrics::gauge!("kktbot_process_resident_memory_bytes").set(rss);
        metrics::gauge!("kktbot_process_cpu_seconds_total").set(cpu);
    }
}

/// Connections of the database pool, in use and idle.
fn pool_gauges(db: &DatabaseConnection) {
    let (size, idle) = match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
        sea_orm::DbBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
        sea_orm::DbBackend::MySql => {
            let pool = db.get_mysql_connection_pool();
            (pool.size(), pool.num_idle())
        }
        _ => return,
    };
    let idle = u32::try_from(idle).unwrap_or(size);
    metrics::gauge!("kktbot_db_pool_connections", "state" => "idle").set(f64::from(idle));
    metrics::gauge!("kktbot_db_pool_connections", "state" => "in_use").set(f64::from(size.saturating_sub(idle)));
}

/// Resident memory in bytes and CPU seconds (user + system) of this process, from `/proc`.
fn process_stats() -> Option<(f64, f64)> {
    // Linux: pages of 4 KiB almost everywhere; sysconf is not reachable without unsafe code.
    const PAGE: f64 = 4096.0;
    const TICKS: f64 = 100.0;
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let rss_pages: f64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start at the state, field 3.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((rss_pages * PAGE, (utime + stime) / TICKS))
}
