//! The ceiling: a minimal durable bot that plays the same conversation with the least work a
//! bot that keeps its state can do. Per update it parses the update (teloxide's types, as
//! kktbot does), writes one statement (an INSERT, or an UPDATE conditional on the dialog step),
//! sets the dialog state in Redis (in memory without `REDIS_URL`), makes its Bot API calls
//! directly, one after the other, and answers 200. No outbox, no update ids, no retries: what
//! it has sent before a crash is lost or sent again. It opens the database with kktbot's own
//! `db::connect` (same pool), and runs on the same kind of runtime. On MySQL/MariaDB the
//! statements are written in its dialect (`?`, `ON DUPLICATE KEY UPDATE`), and the approval,
//! since MariaDB's `UPDATE` returns no rows, is its conditional UPDATE then a read of the row.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use kktbot::config::DatabaseUrl;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use serde_json::{Value, json};
use teloxide::types::{Update, UpdateKind};

struct Bot {
    db: DatabaseConnection,
    redis: Option<redis::aio::ConnectionManager>,
    memory: Mutex<HashMap<i64, &'static str>>,
    prefix: String,
    http: reqwest::Client,
    api: String,
    admin: i64,
}

/// Its tables. On `mysql` the minimal bot needs MariaDB (10.5 or later): a filing is one
/// `INSERT … SELECT … RETURNING`, which MySQL 8 does not have.
const SCHEMA: [&str; 2] = [
    "CREATE TABLE IF NOT EXISTS mini_users (id BIGINT PRIMARY KEY, step TEXT NOT NULL, description TEXT)",
    "CREATE TABLE IF NOT EXISTS mini_requests (id INTEGER PRIMARY KEY {auto}, requester BIGINT NOT NULL, \
     username TEXT NOT NULL, description TEXT NOT NULL, status VARCHAR(16) NOT NULL DEFAULT 'pending')",
];

/// Serves the minimal bot as configured by the environment (`DATABASE_URL`, `REDIS_URL`,
/// `REDIS_KEY_PREFIX`, `TELEGRAM_API_URL`, `TELEGRAM_BOT_TOKEN`, `ADMIN_TELEGRAM_IDS`,
/// `API_HOST`, `API_PORT`) until killed.
pub fn serve_from_env() {
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is required"));
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let db = kktbot::db::connect(&DatabaseUrl::new(var("DATABASE_URL"))).await.expect("database");
        let backend = db.get_database_backend();
        let auto = match backend {
            DbBackend::Postgres => "GENERATED ALWAYS AS IDENTITY",
            DbBackend::MySql => "AUTO_INCREMENT",
            _ => "AUTOINCREMENT",
        };
        for sql in SCHEMA {
            db.execute_unprepared(&sql.replace("{auto}", auto)).await.expect("schema");
        }
        let redis = match std::env::var("REDIS_URL") {
            Ok(url) => Some(
                redis::aio::ConnectionManager::new(redis::Client::open(url).expect("redis url")).await.expect("redis"),
            ),
            Err(_) => None,
        };
        let bot = Arc::new(Bot {
            db,
            redis,
            memory: Mutex::default(),
            prefix: std::env::var("REDIS_KEY_PREFIX").unwrap_or_default(),
            http: reqwest::Client::builder().no_proxy().build().expect("client"),
            api: format!("{}/bot{}", var("TELEGRAM_API_URL"), var("TELEGRAM_BOT_TOKEN")),
            admin: var("ADMIN_TELEGRAM_IDS").parse().expect("one administrator id"),
        });
        let app = Router::new()
            .route("/health", get(|| async { StatusCode::OK }))
            .route("/webhook/telegram", post(webhook))
            .with_state(bot);
        let addr = format!("{}:{}", var("API_HOST"), var("API_PORT"));
        let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
        axum::serve(listener, app).await.expect("serve");
    });
}

async fn webhook(State(bot): State<Arc<Bot>>, body: Bytes) -> StatusCode {
    let Ok(update) = serde_json::from_slice::<Update>(&body) else { return StatusCode::BAD_REQUEST };
    match bot.handle(update).await {
        Ok(()) => StatusCode::OK,
        Err(e) => {
            eprintln!("minimal bot: {e}");
            StatusCode::SERVICE_UNAVAILABLE
        }
    }
}

fn keyboard(buttons: &[(&str, String)]) -> Value {
    let rows: Vec<Value> =
        buttons.iter().map(|(text, data)| json!([{ "text": text, "callback_data": data }])).collect();
    json!({ "inline_keyboard": rows })
}

type Error = Box<dyn std::error::Error + Send + Sync>;

impl Bot {
    /// The one statement of an update; the rows it returned.
    async fn statement(&self, sql: &str, values: Vec<sea_orm::Value>) -> Result<Vec<sea_orm::QueryResult>, Error> {
        let backend = self.db.get_database_backend();
        Ok(self.db.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await?)
    }

    fn mysql(&self) -> bool {
        self.db.get_database_backend() == DbBackend::MySql
    }

    /// `sql` with its `$n` placeholders as MySQL's `?` there (each `$n` in order, once).
    fn dialect(&self, sql: &str) -> String {
        if !self.mysql() {
            return sql.to_string();
        }
        let mut out = sql.to_string();
        for n in (1..=3).rev() {
            out = out.replace(&format!("${n}"), "?");
        }
        out
    }

    /// Approves request `id` if it is pending: its requester, username and description.
    async fn approve(&self, id: i32) -> Result<Vec<sea_orm::QueryResult>, Error> {
        if !self.mysql() {
            return self
                .statement(
                    "UPDATE mini_requests SET status = 'approved' WHERE id = $1 AND status = 'pending' \
                     RETURNING requester, username, description",
                    vec![id.into()],
                )
                .await;
        }
        let update = Statement::from_sql_and_values(
            DbBackend::MySql,
            "UPDATE mini_requests SET status = 'approved' WHERE id = ? AND status = 'pending'",
            [id.into()],
        );
        if self.db.execute_raw(update).await?.rows_affected() == 0 {
            return Ok(Vec::new());
        }
        self.statement("SELECT requester, username, description FROM mini_requests WHERE id = ?", vec![id.into()]).await
    }

    async fn set_dialog(&self, user: i64, step: &'static str) -> Result<(), Error> {
        match &self.redis {
            Some(redis) => {
                let mut redis = redis.clone();
                redis::cmd("SET")
                    .arg(format!("{}dialog:{user}", self.prefix))
                    .arg(step)
                    .arg("EX")
                    .arg(86400)
                    .query_async::<()>(&mut redis)
                    .await?;
            }
            None => {
                self.memory.lock().unwrap().insert(user, step);
            }
        }
        Ok(())
    }

    async fn call(&self, method: &str, params: Value) -> Result<(), Error> {
        let response = self.http.post(format!("{}/{method}", self.api)).json(&params).send().await?;
        let body: Value = response.json().await?;
        if body["ok"] != json!(true) {
            return Err(format!("{method}: {body}").into());
        }
        Ok(())
    }

    async fn send(&self, chat: i64, text: String, markup: Option<Value>) -> Result<(), Error> {
        let mut params = json!({ "chat_id": chat, "text": text });
        if let Some(markup) = markup {
            params["reply_markup"] = markup;
        }
        self.call("sendMessage", params).await
    }

    async fn handle(&self, update: Update) -> Result<(), Error> {
        match update.kind {
            UpdateKind::Message(message) => {
                let (Some(from), Some(text)) = (message.from.as_ref(), message.text()) else { return Ok(()) };
                let user = from.id.0 as i64;
                match text {
                    "/start" => {
                        let sql = if self.mysql() {
                            "INSERT INTO mini_users (id, step) VALUES (?, 'start') \
                             ON DUPLICATE KEY UPDATE step = 'start', description = NULL"
                        } else {
                            "INSERT INTO mini_users (id, step) VALUES ($1, 'start') \
                             ON CONFLICT (id) DO UPDATE SET step = 'start', description = NULL"
                        };
                        self.statement(sql, vec![user.into()]).await?;
                        self.set_dialog(user, "start").await?;
                        self.send(user, format!("Здравствуйте, {}!", from.first_name), None).await
                    }
                    "/request" => {
                        self.statement(
                            &self.dialect("UPDATE mini_users SET step = 'choosing' WHERE id = $1"),
                            vec![user.into()],
                        )
                        .await?;
                        self.set_dialog(user, "choosing").await?;
                        let types = keyboard(&[("Замена ФН", "t:1".into()), ("Отмена", "c".into())]);
                        self.send(user, "Выберите тип заявки:".into(), Some(types)).await
                    }
                    description => {
                        self.statement(
                            &self.dialect(
                                "UPDATE mini_users SET description = $1, step = 'confirming' \
                                 WHERE id = $2 AND step = 'describing'",
                            ),
                            vec![description.into(), user.into()],
                        )
                        .await?;
                        self.set_dialog(user, "confirming").await?;
                        let buttons = keyboard(&[("Отправить", "s".into()), ("Отмена", "c".into())]);
                        self.send(user, format!("Заявка: Замена ФН\n{description}"), Some(buttons)).await
                    }
                }
            }
            UpdateKind::CallbackQuery(query) => {
                let user = query.from.id.0 as i64;
                let data = query.data.as_deref().unwrap_or_default();
                let answer = json!({ "callback_query_id": query.id.to_string() });
                if data == "t:1" {
                    self.statement(
                        &self.dialect("UPDATE mini_users SET step = 'describing' WHERE id = $1 AND step = 'choosing'"),
                        vec![user.into()],
                    )
                    .await?;
                    self.set_dialog(user, "describing").await?;
                    self.call("answerCallbackQuery", answer).await?;
                    let cancel = keyboard(&[("Отмена", "c".into())]);
                    self.send(user, "Опишите проблему одним сообщением.".into(), Some(cancel)).await
                } else if data == "s" {
                    let username = query.from.username.clone().unwrap_or_default();
                    let rows = self
                        .statement(
                            &self.dialect(
                                "INSERT INTO mini_requests (requester, username, description) \
                                 SELECT id, $1, description FROM mini_users WHERE id = $2 AND step = 'confirming' \
                                 RETURNING id, description",
                            ),
                            vec![username.clone().into(), user.into()],
                        )
                        .await?;
                    self.set_dialog(user, "start").await?;
                    self.call("answerCallbackQuery", answer).await?;
                    let Some(row) = rows.first() else { return Ok(()) };
                    let id: i32 = row.try_get("", "id")?;
                    let description: String = row.try_get("", "description")?;
                    self.send(user, format!("Заявка №{id} принята."), None).await?;
                    let decide = keyboard(&[("Одобрить", format!("a:{id}")), ("Отклонить", format!("r:{id}"))]);
                    self.send(self.admin, format!("Заявка №{id} от @{username}\n{description}"), Some(decide)).await
                } else if let Some(id) = data.strip_prefix("a:").and_then(|id| id.parse::<i32>().ok()) {
                    let rows = self.approve(id).await?;
                    self.set_dialog(user, "start").await?;
                    self.call(
                        "answerCallbackQuery",
                        json!({ "callback_query_id": query.id.to_string(), "text": "Одобрено" }),
                    )
                    .await?;
                    let Some(row) = rows.first() else { return Ok(()) };
                    let requester: i64 = row.try_get("", "requester")?;
                    let username: String = row.try_get("", "username")?;
                    let description: String = row.try_get("", "description")?;
                    self.send(requester, format!("Заявка №{id} одобрена."), None).await?;
                    let Some(message) = query.message.as_ref() else { return Ok(()) };
                    self.call(
                        "editMessageText",
                        json!({
                            "chat_id": self.admin, "message_id": message.id().0,
                            "text": format!("Заявка №{id} от @{username}\n{description}\n\nОдобрена"),
                        }),
                    )
                    .await
                } else {
                    self.call("answerCallbackQuery", answer).await
                }
            }
            _ => Ok(()),
        }
    }
}
