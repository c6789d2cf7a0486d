//! Operations: one leader on PostgreSQL and on MySQL (two instances on one database), `db copy`
//! from SQLite to PostgreSQL and to MySQL, `/metrics`, and logs of the real binary free of
//! secrets.

use std::time::Duration;

use chrono::Utc;
use kktbot::entities::client;
use kktbot::outbox::{self, Outgoing};
use sea_orm::{ActiveModelTrait, DatabaseConnection, Set};

use crate::support::integration_test;
use crate::support::seed::client_with_deadline;
use crate::support::{Backend, TestApp, TestDatabase};

const CONTACT: i64 = 5_400_000_001;

async fn is_leader(app: &TestApp) -> bool {
    let health: serde_json::Value =
        app.http.get(app.url("/health")).send().await.expect("health answers").json().await.expect("health JSON");
    health["leader"].as_bool().expect("health says whether it leads")
}

/// Waits until `app` leads, at most `within`; returns how long it took.
async fn wait_leader(app: &TestApp, within: Duration) -> Duration {
    let started = std::time::Instant::now();
    while !is_leader(app).await {
        assert!(started.elapsed() < within, "no leader within {within:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    started.elapsed()
}

fn sent(app: &TestApp) -> Vec<String> {
    app.tg().calls_to("sendMessage").into_iter().filter(|c| c.ok).map(|c| c.params["text"].to_string()).collect()
}

async fn instance(db: &TestDatabase) -> TestApp {
    TestApp::builder()
        .same_database_as(db)
        .telegram()
        .scheduler()
        .env("NOTIFICATION_TIMEZONE", "UTC")
        .env("NOTIFICATION_CHECK_TIME", "00:00")
        .env("NOTIFICATION_DAYS", "3")
        .spawn()
        .await
}

integration_test!(one_leader_sends_once_and_another_takes_over_on_postgres, threads: 4);
async fn one_leader_sends_once_and_another_takes_over_on_postgres() {
    one_leader_sends_once_and_another_takes_over(Backend::Postgres).await;
}

integration_test!(one_leader_sends_once_and_another_takes_over_on_mysql, threads: 4);
async fn one_leader_sends_once_and_another_takes_over_on_mysql() {
    one_leader_sends_once_and_another_takes_over(Backend::MySql).await;
}

async fn one_leader_sends_once_and_another_takes_over(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    {
        let conn = db.connect().await;
        kktbot::db::migrate_up(&conn).await.unwrap();
        // Due for its 3-day reminder today: the scheduler's catch-up run (check time 00:00)
        // queues it on whichever instance leads.
        client_with_deadline(&conn, "7707083893", &[CONTACT], Utc::now().date_naive() + chrono::Duration::days(3))
            .await;
        conn.close().await.unwrap();
    }
    let a = instance(&db).await;
    let b = instance(&db).await;
    // One of them takes the lock within a retry; the other stays a follower.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let (leader, follower) = loop {
        match (is_leader(&a).await, is_leader(&b).await) {
            (true, false) => break (a, b),
            (false, true) => break (b, a),
            (true, true) => panic!("two leaders at once"),
            (false, false) => {
                assert!(std::time::Instant::now() < deadline, "no leader within 10 s");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    for _ in 0..10 {
        assert!(!is_leader(&follower).await, "the follower never leads while the leader lives");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Messages queued through either instance go out once, from the leader.
    for i in 0..10 {
        let via = if i % 2 == 0 { &leader } else { &follower };
        outbox::enqueue(via.db(), Outgoing::text(CONTACT + 1 + i, format!("message {i}"))).await.unwrap();
    }
    leader.settle().await;
    leader.tg().wait_for("sendMessage", 11, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let first = sent(&leader);
    assert_eq!(first.len(), 11, "10 messages and one reminder, each once: {first:?}");
    assert_eq!(leader.tg().sent_texts_to(CONTACT).len(), 1, "the reminder went out once");
    assert!(sent(&follower).is_empty(), "the follower sends nothing");
    let health: serde_json::Value = leader.http.get(leader.url("/health")).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["outbox"]["pending"], 0, "{health}");

    // The leader dies: the follower takes over within 10 s and delivers what is queued since.
    let (_, _leader_fake) = leader.crash().await;
    let took = wait_leader(&follower, Duration::from_secs(10)).await;
    eprintln!("takeover after {took:?}");
    for i in 0..5 {
        outbox::enqueue(follower.db(), Outgoing::text(CONTACT + 100 + i, format!("after {i}"))).await.unwrap();
    }
    follower.settle().await;
    follower.tg().wait_for("sendMessage", 5, Duration::from_secs(20)).await;
    let after = sent(&follower);
    assert_eq!(after.len(), 5, "only the new messages, each once (the reminder is not repeated): {after:?}");
    assert!(after.iter().all(|t| t.contains("after")), "{after:?}");
    follower.shutdown().await;
    drop(db);
}

integration_test!(sqlite_instance_always_leads);
async fn sqlite_instance_always_leads() {
    let app = TestApp::sqlite().await;
    assert!(is_leader(&app).await);
}

// ---------------------------------------------------------------------------------------------
// db copy

/// Fills every table of a migrated SQLite database with three rows (ids with gaps; unicode text,
/// NULLs in nullable columns of the second row, dates, timestamps with microseconds, JSON),
/// generically from the SQLite catalogue. Returns the rows per table.
async fn populate_sqlite(db: &DatabaseConnection) -> Vec<(String, i64)> {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    let q = |sql: String| Statement::from_string(DbBackend::Sqlite, sql);
    for table in migration::TABLES {
        let columns = db.query_all_raw(q(format!("PRAGMA table_info({table})"))).await.unwrap();
        let fks = db.query_all_raw(q(format!("PRAGMA foreign_key_list({table})"))).await.unwrap();
        let fk = |col: &str| {
            fks.iter()
                .find(|r| r.try_get::<String>("", "from").unwrap() == col)
                .map(|r| (r.try_get::<String>("", "table").unwrap(), r.try_get::<String>("", "to").unwrap()))
        };
        for k in 0..3i64 {
            let mut names = Vec::new();
            let mut values = Vec::new();
            for c in &columns {
                let name: String = c.try_get("", "name").unwrap();
                let ty: String = c.try_get::<String>("", "type").unwrap().to_lowercase();
                let notnull: i32 = c.try_get("", "notnull").unwrap();
                let pk: i32 = c.try_get("", "pk").unwrap();
                let value = if pk > 0 {
                    // Ids with gaps, after any reference rows.
                    let max = db
                        .query_one_raw(q(format!("SELECT COALESCE(MAX({name}), 0) AS m FROM {table}")))
                        .await
                        .unwrap()
                        .unwrap()
                        .try_get::<i64>("", "m")
                        .unwrap();
                    (max + 7).to_string()
                } else if let Some((parent, to)) = fk(&name) {
                    if notnull == 0 && k == 1 { "NULL".into() } else { format!("(SELECT MIN({to}) FROM {parent})") }
                } else if notnull == 0 && k == 1 {
                    "NULL".into()
                } else if ty.contains("bool") {
                    (k % 2 == 0).to_string()
                } else if ty.contains("int") {
                    (1_000_000 + k * 31).to_string()
                } else if ty.contains("timestamp") || ty.contains("datetime") {
                    format!("'2026-11-2{k} 10:0{k}:05.123456+00:00'")
                } else if ty.starts_with("date") {
                    format!("'2027-03-0{}'", k + 1)
                } else if ty.contains("json") {
                    format!("'{{\"ключ\":\"значение {k}\",\"n\":[1,2.5,null],\"b\":true}}'")
                } else {
                    let limit = ty
                        .split_once('(')
                        .and_then(|(_, n)| n.trim_end_matches(')').parse::<usize>().ok())
                        .unwrap_or(200);
                    let text: String = format!("{k}{table}.{name} «ООО Ромашка» — Ünïcödé ✓ 日本 'quote'")
                        .chars()
                        .take(limit)
                        .collect();
                    format!("'{}'", text.replace('\'', "''"))
                };
                names.push(name);
                values.push(value);
            }
            let sql = format!("INSERT INTO {table} ({}) VALUES ({})", names.join(", "), values.join(", "));
            db.execute_raw(q(sql.clone())).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
    }
    let mut counts = Vec::new();
    for table in migration::TABLES {
        counts.push((table.to_string(), crate::support::count_rows(db, table).await));
    }
    counts
}

fn kktbot_cmd(args: &[&str], dir: &std::path::Path, database_url: &str) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_kktbot"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .env("LOG_LEVEL", "warn")
        .output()
        .expect("run kktbot")
}

integration_test!(db_copy_from_sqlite_to_postgres_verifies, threads: 2);
async fn db_copy_from_sqlite_to_postgres_verifies() {
    db_copy_from_sqlite_verifies(Backend::Postgres).await;
}

integration_test!(db_copy_from_sqlite_to_mysql_verifies, threads: 2);
async fn db_copy_from_sqlite_to_mysql_verifies() {
    db_copy_from_sqlite_verifies(Backend::MySql).await;
}

async fn db_copy_from_sqlite_verifies(to: Backend) {
    let target = TestDatabase::create(to).await;
    let source = TestDatabase::create(Backend::Sqlite).await;
    let src = source.connect().await;
    kktbot::db::migrate_up(&src).await.unwrap();
    let counts = populate_sqlite(&src).await;
    assert!(counts.iter().all(|(_, n)| *n >= 3), "{counts:?}");
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let out = kktbot_cmd(&["db", "copy", "--from", source.url(), "--to", target.url()], dir.path(), source.url());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("db copy took {:?}\n{stdout}{stderr}", started.elapsed());
    assert!(out.status.success(), "db copy failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("verified"), "{stdout}");
    assert!(!stdout.contains("MISMATCH"), "{stdout}");
    for table in migration::TABLES {
        assert!(stdout.contains(&format!("copied {table}")), "progress for {table}: {stdout}");
    }

    // The same rows on the target, byte for byte where it matters.
    let dst = target.connect().await;
    for (table, n) in &counts {
        assert_eq!(crate::support::count_rows(&dst, table).await, *n, "{table}");
    }
    let name_of = |db: &DatabaseConnection, sql: &'static str| {
        let db = db.clone();
        async move {
            use sea_orm::ConnectionTrait;
            let backend = db.get_database_backend();
            let sql = if backend == sea_orm::DbBackend::MySql { sql.replace("BIGINT", "SIGNED") } else { sql.into() };
            db.query_all_raw(sea_orm::Statement::from_string(backend, sql))
                .await
                .unwrap()
                .iter()
                .map(|r| {
                    (
                        r.try_get::<i64>("", "id").unwrap(),
                        r.try_get::<String>("", "name").unwrap(),
                        r.try_get::<Option<String>>("", "notes").unwrap(),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    let q = "SELECT CAST(id AS BIGINT) AS id, name, notes FROM clients ORDER BY id";
    let copied = name_of(&dst, q).await;
    assert_eq!(name_of(&src, q).await, copied);
    assert!(copied[0].1.contains("Ünïcödé ✓ 日本"), "{copied:?}");
    assert!(copied.iter().any(|r| r.2.is_none()), "a NULL survived: {copied:?}");

    // The sequences moved: a new client gets the next id.
    let max_id = copied.iter().map(|r| r.0).max().unwrap();
    let now = Utc::now();
    let new = client::ActiveModel {
        name: Set("После копирования".into()),
        inn: Set("7736207543".into()),
        is_active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&dst)
    .await
    .unwrap();
    assert_eq!(i64::from(new.id), max_id + 1);
    dst.close().await.unwrap();

    // A target holding data is refused without --force, and replaced with it.
    let out = kktbot_cmd(&["db", "copy", "--from", source.url(), "--to", target.url()], dir.path(), source.url());
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not empty") && stderr.contains("--force"), "{stderr}");
    let out =
        kktbot_cmd(&["db", "copy", "--from", source.url(), "--to", target.url(), "--force"], dir.path(), source.url());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("verified"));
    src.close().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// metrics

/// The sum of a series' samples whose labels include every `labels` pair (`name="value"`).
fn series(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.split(['{', ' ']).next() == Some(name))
        .filter(|l| labels.iter().all(|want| l.contains(want)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn scrape(app: &TestApp, token: &str) -> String {
    let res = app.http.get(app.url("/metrics")).bearer_auth(token).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    res.text().await.unwrap()
}

integration_test!(metrics_series_move, threads: 2);
async fn metrics_series_move() {
    const TOKEN: &str = "metrics-token-0123456789";
    let app = TestApp::builder().telegram().env("METRICS_TOKEN", TOKEN).spawn().await;
    // The token is required.
    let res = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let res = app.http.get(app.url("/metrics")).bearer_auth("wrong").send().await.unwrap();
    assert_eq!(res.status(), 401);

    let health = ["kktbot_http_requests_total", "route=\"/health\"", "status=\"200\""];
    let before = scrape(&app, TOKEN).await;
    for _ in 0..3 {
        app.http.get(app.url("/health")).send().await.unwrap();
    }
    let user = crate::support::updates::User::ru(5_400_000_500, "Метрика");
    app.send_update(&crate::support::updates::text(&user, "/start")).await;
    app.settle().await;
    outbox::enqueue(app.db(), Outgoing::text(5_400_000_501, "metrics")).await.unwrap();
    app.settle().await;
    let after = scrape(&app, TOKEN).await;

    let moved = |name: &str, labels: &[&str]| series(&after, name, labels) - series(&before, name, labels);
    assert!(moved(health[0], &health[1..]) >= 3.0, "{after}");
    assert!(
        moved("kktbot_http_request_duration_seconds_count", &["route=\"/health\""]) >= 3.0,
        "latency histogram: {after}"
    );
    assert!(after.contains("kktbot_http_request_duration_seconds_bucket{"), "{after}");
    assert!(moved("kktbot_updates_total", &["kind=\"message\""]) >= 1.0, "{after}");
    assert!(moved("kktbot_outbox_sent_total", &[]) >= 2.0, "{after}");
    for gauge in [
        "kktbot_outbox_pending",
        "kktbot_db_up",
        "kktbot_db_ping_seconds",
        "kktbot_db_pool_connections",
        "kktbot_redis_up",
        "kktbot_leader",
    ] {
        assert!(after.lines().any(|l| l.starts_with(gauge)), "{gauge} missing: {after}");
    }
    assert!(series(&after, "kktbot_process_resident_memory_bytes", &[]) > 1e6, "{after}");
    assert!(series(&after, "kktbot_process_cpu_seconds_total", &[]) > 0.0, "{after}");
    assert_eq!(series(&after, "kktbot_db_up", &[]), 1.0);
    // An unknown path is counted without its raw path as a label.
    app.http.get(app.url("/no/such/path/12345")).send().await.unwrap();
    let last = scrape(&app, TOKEN).await;
    assert!(!last.contains("12345"), "raw paths never become labels");
}

// ---------------------------------------------------------------------------------------------
// logs

/// `kktbot serve` as a child process with JSON logs, its standard error captured.
struct Child {
    process: std::process::Child,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
    stdout: std::sync::Arc<std::sync::Mutex<String>>,
}

fn capture(pipe: impl std::io::Read + Send + 'static) -> std::sync::Arc<std::sync::Mutex<String>> {
    use std::io::BufRead;
    let buf = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let out = buf.clone();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
            let mut b = out.lock().unwrap();
            b.push_str(&line);
            b.push('\n');
        }
    });
    buf
}

integration_test!(logs_are_json_with_request_ids_and_no_secrets, threads: 2);
async fn logs_are_json_with_request_ids_and_no_secrets() {
    use std::process::{Command, Stdio};
    const JWT_SECRET: &str = "jwt-secret-for-the-log-test-0123456789abcdef";
    const METRICS_TOKEN: &str = "metrics-token-log-test-987654";
    const WRONG_PASSWORD: &str = "Wrong-Password-Log-Test-42";
    let fake = crate::support::telegram::FakeTelegram::start().await;
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let process = Command::new(env!("CARGO_BIN_EXE_kktbot"))
        .arg("serve")
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", format!("sqlite://{}/kktbot.db?mode=rwc", dir.path().display()))
        .env("API_HOST", "127.0.0.1")
        .env("API_PORT", port.to_string())
        .env("LOG_FORMAT", "json")
        .env("LOG_LEVEL", "info,kktbot=debug,tower_http=debug")
        .env("TELEGRAM_BOT_TOKEN", fake.token())
        .env("TELEGRAM_API_URL", fake.api_url())
        .env("TELEGRAM_WEBHOOK_SECRET", crate::support::WEBHOOK_SECRET)
        .env("JWT_SECRET_KEY", JWT_SECRET)
        .env("METRICS_TOKEN", METRICS_TOKEN)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start kktbot serve");
    let mut child = Child { process, stderr: std::sync::Arc::default(), stdout: std::sync::Arc::default() };
    child.stdout = capture(child.process.stdout.take().unwrap());
    child.stderr = capture(child.process.stderr.take().unwrap());
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let started = std::time::Instant::now();
    while http.get(format!("{base}/health")).send().await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(30), "kktbot did not start: {}", child.stderr.lock().unwrap());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stdout = child.stdout.lock().unwrap().clone();
    let field = |name: &str| {
        stdout.lines().find_map(|l| l.trim().strip_prefix(name).map(|v| v.trim().to_string())).expect("initial admin")
    };
    let (email, password) = (field("email:"), field("password:"));

    // Telegram fails from now on: the sender's errors are logged.
    fake.set_all_fail(Some(crate::support::telegram::Fault::ServerError));
    let fixed_id = "ops-log-test-request-1";
    let res = http.get(format!("{base}/health")).header("x-request-id", fixed_id).send().await.unwrap();
    assert_eq!(res.headers()["x-request-id"], fixed_id, "the request id is echoed");
    // A wrong webhook secret.
    let res = http
        .post(format!("{base}/webhook/telegram"))
        .header("X-Telegram-Bot-Api-Secret-Token", "not-the-secret")
        .json(&serde_json::json!({"update_id": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let webhook_id = res.headers()["x-request-id"].to_str().unwrap().to_string();
    // A wrong password, then a right one and a request with its token.
    let res = http
        .post(format!("{base}/api/auth/login"))
        .json(&serde_json::json!({"email": email, "password": WRONG_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(!res.text().await.unwrap().contains(WRONG_PASSWORD));
    let res = http
        .post(format!("{base}/api/auth/login"))
        .json(&serde_json::json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let jwt = res.json::<serde_json::Value>().await.unwrap()["token"].as_str().unwrap().to_string();
    let res = http.get(format!("{base}/api/auth/me")).bearer_auth(&jwt).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let res = http.get(format!("{base}/api/auth/me")).bearer_auth(format!("{jwt}x")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let res = http.get(format!("{base}/metrics")).bearer_auth(METRICS_TOKEN).send().await.unwrap();
    assert_eq!(res.status(), 200);
    // An update whose answer cannot be delivered (Telegram answers 500).
    let user = crate::support::updates::User::ru(5_400_000_900, "Лог");
    let res = http
        .post(format!("{base}/webhook/telegram"))
        .header("X-Telegram-Bot-Api-Secret-Token", crate::support::WEBHOOK_SECRET)
        .json(&crate::support::updates::text(&user, "/start"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    fake.wait_for_any("sendMessage", 2, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = Command::new("kill").args(["-TERM", &child.process.id().to_string()]).status();
    tokio::task::spawn_blocking(move || {
        let status = child.process.wait();
        (status, child.stderr)
    })
    .await
    .map(|(status, stderr)| {
        assert!(status.is_ok());
        let logs = stderr.lock().unwrap().clone();
        check_logs(
            &logs,
            &[fake.token(), crate::support::WEBHOOK_SECRET, JWT_SECRET, &jwt, &password, WRONG_PASSWORD, METRICS_TOKEN],
            fixed_id,
            &webhook_id,
        );
    })
    .unwrap();
}

fn check_logs(logs: &str, secrets: &[&str], fixed_id: &str, webhook_id: &str) {
    assert!(logs.lines().count() > 10, "too few log lines:\n{logs}");
    for secret in secrets {
        assert!(!logs.contains(secret), "a secret ({}…) is in the logs:\n{logs}", &secret[..4]);
    }
    let lines: Vec<serde_json::Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect();
    assert!(logs.contains("500") || logs.contains("Internal Server Error"), "the failing Bot API is logged:\n{logs}");
    let of = |id: &str| -> Vec<&serde_json::Value> {
        lines.iter().filter(|l| l["span"]["request_id"].as_str() == Some(id)).collect()
    };
    for (id, path) in [(fixed_id, "/health"), (webhook_id, "/webhook/telegram")] {
        let mine = of(id);
        assert!(mine.len() >= 2, "request {id}: expected its start and end lines:\n{logs}");
        assert!(mine.iter().all(|l| l["span"]["path"] == path), "{mine:?}");
    }
    // Every line logged inside a request span carries a request id.
    for l in &lines {
        if l["span"]["name"] == "request" {
            assert!(l["span"]["request_id"].as_str().is_some_and(|id| !id.is_empty()), "{l}");
        }
    }
}
