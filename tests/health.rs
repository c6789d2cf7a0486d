//! `/health` on SQLite and PostgreSQL (+ Redis), 503 with the database gone, and graceful
//! shutdown letting an in-flight request finish.

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::support::integration_test;
use crate::support::{Backend, TestApp};

async fn get_health(app: &TestApp) -> (u16, Value) {
    let res = app.http.get(app.url("/health")).send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

integration_test!(health_on_sqlite);
async fn health_on_sqlite() {
    let app = TestApp::sqlite().await;
    let (status, body) = get_health(&app).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(body["database"]["status"], "up");
    assert!(body["database"]["latency_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(body["redis"]["status"], "disabled");
    app.shutdown().await;
}

integration_test!(health_on_postgres_and_redis);
async fn health_on_postgres_and_redis() {
    health_on_a_server_database_and_redis(Backend::Postgres).await;
}

integration_test!(health_on_mysql_and_redis);
async fn health_on_mysql_and_redis() {
    health_on_a_server_database_and_redis(Backend::MySql).await;
}

async fn health_on_a_server_database_and_redis(backend: Backend) {
    let app = TestApp::builder().backend(backend).redis().spawn().await;
    let (status, body) = get_health(&app).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"]["status"], "up");
    assert_eq!(body["redis"]["status"], "up");
    assert!(body["redis"]["latency_ms"].is_number());
    app.shutdown().await;
}

integration_test!(health_is_503_when_the_sqlite_database_is_gone);
async fn health_is_503_when_the_sqlite_database_is_gone() {
    let app = TestApp::sqlite().await;
    app.db().close_by_ref().await.unwrap();
    let (status, body) = get_health(&app).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "down");
    assert_eq!(body["database"]["status"], "down");
}

integration_test!(health_is_503_when_the_postgres_database_is_dropped);
async fn health_is_503_when_the_postgres_database_is_dropped() {
    health_is_503_when_the_database_is_dropped(Backend::Postgres).await;
}

integration_test!(health_is_503_when_the_mysql_database_is_dropped);
async fn health_is_503_when_the_mysql_database_is_dropped() {
    health_is_503_when_the_database_is_dropped(Backend::MySql).await;
}

async fn health_is_503_when_the_database_is_dropped(backend: Backend) {
    let app = TestApp::builder().backend(backend).spawn().await;
    assert_eq!(get_health(&app).await.0, 200);
    app.db.drop_now().await;
    let (status, body) = get_health(&app).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["database"]["status"], "down");
    app.shutdown().await;
}

integration_test!(health_reports_redis_down_without_failing);
async fn health_reports_redis_down_without_failing() {
    // A port nothing listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let app = TestApp::builder().env("REDIS_URL", &format!("redis://127.0.0.1:{port}")).spawn().await;
    let (status, body) = get_health(&app).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["redis"]["status"], "down");
    assert_eq!(body["database"]["status"], "up");
    app.shutdown().await;
}

/// A Redis stand-in that answers PING only after `delay`, and notifies when a PING arrives.
async fn slow_redis(delay: Duration, pinged: std::sync::Arc<Notify>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let pinged = pinged.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut reader = BufReader::new(read);
                loop {
                    // RESP: *<n>\r\n then n × ($<len>\r\n<bytes>\r\n)
                    let mut line = String::new();
                    if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let n: usize = line.trim().trim_start_matches('*').parse().unwrap_or(0);
                    let mut args = Vec::new();
                    for _ in 0..n {
                        let mut len_line = String::new();
                        reader.read_line(&mut len_line).await.unwrap();
                        let len: usize = len_line.trim().trim_start_matches('$').parse().unwrap();
                        let mut buf = vec![0; len + 2];
                        reader.read_exact(&mut buf).await.unwrap();
                        args.push(String::from_utf8_lossy(&buf[..len]).to_uppercase());
                    }
                    if args.first().map(String::as_str) == Some("PING") {
                        pinged.notify_one();
                        tokio::time::sleep(delay).await;
                        write.write_all(b"+PONG\r\n").await.unwrap();
                    } else {
                        write.write_all(b"+OK\r\n").await.unwrap();
                    }
                }
            });
        }
    });
    port
}

integration_test!(graceful_shutdown_lets_an_in_flight_request_finish);
async fn graceful_shutdown_lets_an_in_flight_request_finish() {
    let pinged = std::sync::Arc::new(Notify::new());
    let port = slow_redis(Duration::from_millis(800), pinged.clone()).await;
    let mut app = TestApp::builder().env("REDIS_URL", &format!("redis://127.0.0.1:{port}")).spawn().await;

    let request = tokio::spawn(app.http.get(app.url("/health")).send());
    // The health check is now waiting on the slow Redis: the request is in flight.
    tokio::time::timeout(Duration::from_secs(5), pinged.notified()).await.expect("health check reached Redis");
    app.begin_shutdown();

    let res = request.await.unwrap().expect("the in-flight request is answered");
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["redis"]["status"], "up", "{body}");
    tokio::time::timeout(Duration::from_secs(5), app.wait_stopped()).await.expect("server stopped");
    assert!(reqwest::get(app.url("/health")).await.is_err(), "no new connections after shutdown");
}
