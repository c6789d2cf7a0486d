//! Telling Telegram about kktbot, against the fake Bot API: `kktbot webhook set|info|delete`
//! (the real binary), the webhook registration and command menus `serve` sets at start, and
//! polling mode (`serve --polling`) applying updates from `getUpdates` exactly once.

use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use kktbot::entities::{administrator, processed_update};
use sea_orm::{ConnectionTrait, EntityTrait, Set};
use serde_json::{Value, json};

use crate::support::telegram::{Call, FakeTelegram, Fault};
use crate::support::updates::{self, User};
use crate::support::{Backend, TestApp, TestDatabase, WEBHOOK_SECRET, count_rows};
use crate::support::{backend_test, integration_test};

const HOOK_URL: &str = "https://bot.example.com/webhook/telegram";
const SECRET: &str = "cli-webhook_Secret-42";
const WAIT: Duration = Duration::from_secs(15);

/// Runs the kktbot binary in an empty directory with only these variables and the fake's
/// address and token.
async fn kktbot(tg: &FakeTelegram, args: &[&str], vars: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    tokio::process::Command::new(env!("CARGO_BIN_EXE_kktbot"))
        .args(args)
        .current_dir(dir.path())
        .env_clear()
        .env("TELEGRAM_API_URL", tg.api_url())
        .env("TELEGRAM_BOT_TOKEN", tg.token())
        .env("LOG_LEVEL", "warn")
        .envs(vars.iter().copied())
        .stdin(Stdio::null())
        .output()
        .await
        .expect("kktbot runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Calls the fake Bot API directly, as another program using the same bot would.
async fn call_fake(tg: &FakeTelegram, method: &str, params: Value) -> Value {
    reqwest::Client::new()
        .post(format!("{}/bot{}/{method}", tg.api_url(), tg.token()))
        .json(&params)
        .send()
        .await
        .expect("the fake answers")
        .json()
        .await
        .expect("the fake answers JSON")
}

fn methods(calls: &[Call]) -> Vec<&str> {
    calls.iter().map(|c| c.method.as_str()).collect()
}

integration_test!(webhook_set_sends_exactly_the_registration);
async fn webhook_set_sends_exactly_the_registration() {
    let tg = FakeTelegram::start().await;
    let vars = [("WEBHOOK_URL", HOOK_URL), ("TELEGRAM_WEBHOOK_SECRET", SECRET)];

    let out = kktbot(&tg, &["webhook", "set", "--max-connections", "12", "--drop-pending-updates"], &vars).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout).trim(),
        format!(
            "webhook set: {HOOK_URL} (updates: message, callback_query, my_chat_member; max connections: 12); \
             pending updates dropped"
        )
    );
    assert!(!text(&out.stdout).contains(SECRET) && !text(&out.stderr).contains(SECRET));
    let calls = tg.calls();
    assert_eq!(methods(&calls), ["setWebhook"]);
    assert!(calls[0].ok, "{:?}", calls[0].response);
    assert_eq!(
        calls[0].params,
        json!({
            "url": HOOK_URL,
            "secret_token": SECRET,
            "allowed_updates": ["message", "callback_query", "my_chat_member"],
            "max_connections": 12,
            "drop_pending_updates": true,
        })
    );

    // Defaults: 40 connections, pending updates kept.
    tg.clear();
    let out = kktbot(&tg, &["webhook", "set"], &vars).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let calls = tg.calls();
    assert_eq!(methods(&calls), ["setWebhook"]);
    assert_eq!(calls[0].params["max_connections"], json!(40));
    assert_eq!(calls[0].params["drop_pending_updates"], json!(false));

    // --url replaces WEBHOOK_URL.
    tg.clear();
    let other = "https://other.example.com:8443/webhook/telegram";
    let out = kktbot(&tg, &["webhook", "set", "--url", other], &vars).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(tg.calls()[0].params["url"], json!(other));
}

/// Arguments, variables, and the start of the one-line reason.
type Refusal<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);

integration_test!(webhook_set_refuses_what_telegram_would_refuse_and_sends_nothing);
async fn webhook_set_refuses_what_telegram_would_refuse_and_sends_nothing() {
    let tg = FakeTelegram::start().await;
    let ok_secret = ("TELEGRAM_WEBHOOK_SECRET", SECRET);
    let cases: &[Refusal] = &[
        (
            &["webhook", "set", "--url", "http://bot.example.com/webhook/telegram"],
            &[ok_secret],
            "kktbot: the webhook URL must be https",
        ),
        (
            &["webhook", "set", "--url", "https://bot.example.com:8080/webhook/telegram"],
            &[ok_secret],
            "kktbot: the webhook URL's port is 8080",
        ),
        (&["webhook", "set"], &[ok_secret], "kktbot: WEBHOOK_URL is not set"),
        (&["webhook", "set"], &[("WEBHOOK_URL", HOOK_URL)], "kktbot: TELEGRAM_WEBHOOK_SECRET is not set"),
    ];
    for (args, vars, reason) in cases {
        let out = kktbot(&tg, args, vars).await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: a one-line reason: {stderr}");
        assert!(stderr.starts_with(reason), "{args:?}: {stderr}");
    }

    // WEBHOOK_URL itself on plain http, or a secret Telegram would refuse: the configuration is
    // refused before any command runs.
    for vars in [
        [("WEBHOOK_URL", "http://bot.example.com/webhook/telegram"), ok_secret],
        [("WEBHOOK_URL", HOOK_URL), ("TELEGRAM_WEBHOOK_SECRET", "no spaces allowed")],
    ] {
        let out = kktbot(&tg, &["webhook", "set"], &vars).await;
        assert_eq!(out.status.code(), Some(1), "{vars:?}");
        assert!(text(&out.stderr).contains("invalid configuration"), "{}", text(&out.stderr));
        assert!(!text(&out.stderr).contains("no spaces allowed"), "the secret is not echoed");
    }

    // max_connections outside 1–100.
    for n in ["0", "101"] {
        let out =
            kktbot(&tg, &["webhook", "set", "--max-connections", n], &[("WEBHOOK_URL", HOOK_URL), ok_secret]).await;
        assert!(!out.status.success(), "--max-connections {n}");
    }

    assert!(tg.calls().is_empty(), "nothing was sent: {:?}", methods(&tg.calls()));
}

integration_test!(webhook_info_and_delete);
async fn webhook_info_and_delete() {
    let tg = FakeTelegram::start().await;
    let vars = [("WEBHOOK_URL", HOOK_URL), ("TELEGRAM_WEBHOOK_SECRET", SECRET)];

    let out = kktbot(&tg, &["webhook", "info"], &vars).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let info = text(&out.stdout);
    assert!(info.starts_with("url:              none"), "{info}");

    assert!(kktbot(&tg, &["webhook", "set", "--max-connections", "7"], &vars).await.status.success());
    let user = User::ru(5_300_000_001, "Иван");
    tg.push_update(updates::text(&user, "/start"));
    tg.push_update(updates::text(&user, "/help"));
    let out = kktbot(&tg, &["webhook", "info"], &vars).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let info = text(&out.stdout);
    let lines: Vec<&str> = info.lines().collect();
    assert_eq!(
        lines,
        [
            format!("url:              {HOOK_URL}").as_str(),
            "pending updates:  2",
            "last error:       none",
            "max connections:  7",
            "allowed updates:  message, callback_query, my_chat_member",
        ],
        "{info}"
    );
    assert_eq!(tg.calls_to("getWebhookInfo").len(), 2);

    tg.clear();
    let out = kktbot(&tg, &["webhook", "delete"], &vars).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "webhook deleted");
    let out = kktbot(&tg, &["webhook", "delete", "--drop-pending-updates"], &vars).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "webhook deleted; pending updates dropped");
    let calls = tg.calls();
    assert_eq!(methods(&calls), ["deleteWebhook", "deleteWebhook"]);
    assert_eq!(calls[0].params, json!({"drop_pending_updates": false}));
    assert_eq!(calls[1].params, json!({"drop_pending_updates": true}));

    let info = text(&kktbot(&tg, &["webhook", "info"], &vars).await.stdout);
    assert!(info.starts_with("url:              none"), "{info}");
    assert!(info.contains("pending updates:  0\n"), "{info}");

    // Without a bot token there is nothing to talk to.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_kktbot"))
        .args(["webhook", "info"])
        .env_clear()
        .env("LOG_LEVEL", "warn")
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr).trim(), "kktbot: TELEGRAM_BOT_TOKEN is not set");
}

/// The menu a `setMyCommands` call set: (command, description) pairs.
fn menu_of(call: &Call) -> Vec<(String, String)> {
    call.params["commands"]
        .as_array()
        .expect("commands")
        .iter()
        .map(|c| (c["command"].as_str().unwrap().to_string(), c["description"].as_str().unwrap().to_string()))
        .collect()
}

fn command_names(call: &Call) -> Vec<String> {
    menu_of(call).into_iter().map(|(name, _)| name).collect()
}

integration_test!(serve_sets_the_command_menus_at_start);
async fn serve_sets_the_command_menus_at_start() {
    // A deactivated administrator from before, and two made at start.
    let database = TestDatabase::create(Backend::Sqlite).await;
    let db = database.connect().await;
    kktbot::db::migrate_up(&db).await.unwrap();
    let now = chrono::Utc::now();
    administrator::Entity::insert(administrator::ActiveModel {
        telegram_id: Set(333),
        name: Set(None),
        username: Set(None),
        is_active: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec(&db)
    .await
    .unwrap();
    db.close().await.unwrap();

    let app = TestApp::builder().database(database).telegram().env("ADMIN_TELEGRAM_IDS", "111,222").spawn().await;
    let tg = app.tg();
    let calls = tg.wait_for("setMyCommands", 6, WAIT).await;
    let deleted = tg.wait_for("deleteMyCommands", 2, WAIT).await;
    assert_eq!(calls.len(), 6, "{:?}", calls.iter().map(|c| &c.params).collect::<Vec<_>>());

    let everyone = ["start", "request", "myrequests", "lang", "cancel", "help"];
    let admins = [&everyone[..], &["pending", "approve", "reject", "ask", "reopen", "mine", "note"]].concat();

    // The default menu in Russian, then in English for English clients.
    assert_eq!(calls[0].params.get("scope"), None);
    assert_eq!(calls[0].params.get("language_code"), None);
    assert_eq!(command_names(&calls[0]), everyone);
    assert!(menu_of(&calls[0]).contains(&("request".into(), "Подать заявку".into())), "{:?}", menu_of(&calls[0]));
    assert_eq!(calls[1].params.get("scope"), None);
    assert_eq!(calls[1].params["language_code"], json!("en"));
    assert_eq!(command_names(&calls[1]), everyone);
    assert!(menu_of(&calls[1]).contains(&("request".into(), "File a request".into())), "{:?}", menu_of(&calls[1]));

    // Each active administrator's chat: the same plus the administrators' commands, both languages.
    for (i, chat_id) in [(2, 111), (4, 222)] {
        for (call, language) in [(&calls[i], None), (&calls[i + 1], Some(json!("en")))] {
            assert_eq!(call.params["scope"], json!({"type": "chat", "chat_id": chat_id}));
            assert_eq!(call.params.get("language_code").cloned(), language);
            assert_eq!(command_names(call), admins);
        }
        assert!(menu_of(&calls[i]).contains(&("pending".into(), "Заявки, ждущие решения".into())));
        assert!(menu_of(&calls[i + 1]).contains(&("pending".into(), "Requests waiting for a decision".into())));
    }
    // The deactivated administrator's chat falls back to the common menu.
    assert_eq!(deleted[0].params, json!({"scope": {"type": "chat", "chat_id": 333}}));
    assert_eq!(deleted[1].params, json!({"scope": {"type": "chat", "chat_id": 333}, "language_code": "en"}));

    // The fake now answers with these menus.
    let menu =
        call_fake(tg, "getMyCommands", json!({"scope": {"type": "chat", "chat_id": 111}, "language_code": "en"})).await;
    assert_eq!(menu["result"].as_array().map(Vec::len), Some(13));
    // No WEBHOOK_URL: no registration.
    assert!(tg.calls_to("setWebhook").is_empty());
    app.shutdown().await;
}

integration_test!(serve_registers_the_webhook_at_start_unless_told_not_to);
async fn serve_registers_the_webhook_at_start_unless_told_not_to() {
    let app = TestApp::builder().telegram().env("WEBHOOK_URL", HOOK_URL).spawn().await;
    let calls = app.tg().wait_for("setWebhook", 1, WAIT).await;
    assert_eq!(
        calls[0].params,
        json!({
            "url": HOOK_URL,
            "secret_token": WEBHOOK_SECRET,
            "allowed_updates": ["message", "callback_query", "my_chat_member"],
            "max_connections": 40,
            "drop_pending_updates": false,
        })
    );
    let info = call_fake(app.tg(), "getWebhookInfo", json!({})).await;
    assert_eq!(info["result"]["url"], json!(HOOK_URL));
    app.shutdown().await;

    let app = TestApp::builder().telegram().env("WEBHOOK_URL", HOOK_URL).no_register_webhook().spawn().await;
    // The menus are set after the registration would have been.
    app.tg().wait_for("setMyCommands", 2, WAIT).await;
    assert!(app.tg().calls_to("setWebhook").is_empty());
    app.shutdown().await;
}

integration_test!(a_failing_or_slow_telegram_does_not_hold_up_start_or_shutdown);
async fn a_failing_or_slow_telegram_does_not_hold_up_start_or_shutdown() {
    let tg = FakeTelegram::start().await;
    tg.fail_next("setWebhook", Fault::ServerError, 10);
    tg.fail_next("setMyCommands", Fault::Slow(Duration::from_secs(60)), 1);
    let started = Instant::now();
    let app = TestApp::builder().fake_telegram(tg).env("WEBHOOK_URL", HOOK_URL).spawn().await;
    let health = app.http.get(app.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert!(started.elapsed() < Duration::from_secs(10), "start took {:?}", started.elapsed());

    // setWebhook is retried a few times, then given up (logged); the server keeps serving.
    let failed = app.tg().wait_for_any("setWebhook", 3, WAIT).await;
    assert!(failed.iter().all(|c| !c.ok));
    let user = User::ru(5_300_000_002, "Иван");
    app.send_update(&updates::text(&user, "/help")).await;
    app.tg().wait_for("sendMessage", 1, WAIT).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.tg().calls_to("setWebhook").len(), 3, "a failure is not retried forever");

    // A setMyCommands still hanging does not hold up shutdown.
    let stopping = Instant::now();
    tokio::time::timeout(Duration::from_secs(10), app.shutdown()).await.expect("shutdown is prompt");
    assert!(stopping.elapsed() < Duration::from_secs(10));
}

/// Waits until `check` holds, polling every 20 ms.
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn processed(app: &TestApp, update_id: i64) -> bool {
    processed_update::Entity::find_by_id(update_id).one(app.db()).await.unwrap().is_some()
}

backend_test!(polling_answers_through_get_updates, threads: 4);
async fn polling_answers_through_get_updates(backend: Backend) {
    let tg = FakeTelegram::start().await;
    // A webhook is set, and an update is waiting: polling removes the webhook and keeps the update.
    let set = call_fake(&tg, "setWebhook", json!({"url": "https://old.example.com/webhook/telegram"})).await;
    assert_eq!(set["ok"], json!(true));
    let early = User::ru(5_300_000_010, "Пётр");
    let early_id = tg.push_update(updates::text(&early, "/help"));

    let app = TestApp::builder().backend(backend).fake_telegram(tg).polling().spawn().await;
    let tg = app.tg();
    tg.wait_for("sendMessage", 1, WAIT).await;
    assert_eq!(tg.sent_texts_to(early.id).len(), 1);
    assert!(processed(&app, early_id).await);

    let calls = tg.calls();
    let first_delete = calls.iter().position(|c| c.method == "deleteWebhook").expect("deleteWebhook was called");
    let first_poll = calls.iter().position(|c| c.method == "getUpdates").expect("getUpdates was called");
    assert!(first_delete < first_poll, "deleteWebhook comes first: {:?}", methods(&calls));
    assert_eq!(calls[first_delete].params, json!({"drop_pending_updates": false}));
    assert_eq!(calls[first_poll].params["allowed_updates"], json!(["message", "callback_query", "my_chat_member"]));
    assert_eq!(calls[first_poll].params["timeout"], json!(1));

    // A new update is answered through the same handlers.
    let user = User::en(5_300_000_011, "Ann");
    let update = updates::text(&user, "/help");
    let update_id = tg.push_update(update.clone());
    tg.wait_for("sendMessage", 2, WAIT).await;
    let replies = tg.sent_texts_to(user.id);
    assert_eq!(replies.len(), 1);
    assert!(replies[0].contains("/request"), "{replies:?}");
    assert!(processed(&app, update_id).await);
    // It is confirmed: the next getUpdates asks for what comes after it.
    eventually("the offset moves past the update", async || {
        tg.calls_to("getUpdates").iter().any(|c| c.params["offset"] == json!(update_id + 1))
    })
    .await;

    // Telegram delivers it again after a restart (the offset was never confirmed, say): no second effect.
    let (db, tg) = app.crash().await;
    let tg = tg.unwrap();
    let app = TestApp::builder().database(db).fake_telegram(tg).polling().spawn().await;
    let tg = app.tg();
    tg.push_update(update);
    let later = User::ru(5_300_000_012, "Олег");
    tg.push_update(updates::text(&later, "/help"));
    tg.wait_for("sendMessage", 3, WAIT).await;
    assert_eq!(tg.sent_texts_to(later.id).len(), 1);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(tg.sent_texts_to(user.id).len(), 1, "the redelivered update had no second effect");
    assert_eq!(count_rows(app.db(), "processed_updates").await, 3);
    assert_eq!(tg.calls_to("sendMessage").len(), 3);
    app.shutdown().await;
}

backend_test!(polling_retries_an_update_until_it_is_applied, threads: 4);
/// A database failure while applying an update: the same update is retried, in order, and
/// confirmed only once applied.
async fn polling_retries_an_update_until_it_is_applied(backend: Backend) {
    let app = TestApp::builder().backend(backend).telegram().polling().spawn().await;
    let tg = app.tg();
    tg.wait_for_any("getUpdates", 1, WAIT).await;
    let db = app.db();
    db.execute_unprepared("ALTER TABLE processed_updates RENAME TO processed_updates_away").await.unwrap();

    let user = User::en(5_300_000_020, "Ann");
    let first = tg.push_update(updates::text(&user, "/help"));
    let second = tg.push_update(updates::text(&user, "/cancel"));
    // Several attempts fail (backoff 50–500 ms in tests); nothing is sent, nothing confirmed.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(tg.calls_to("sendMessage").is_empty());
    assert!(tg.calls_to("getUpdates").iter().all(|c| c.params.get("offset").is_none_or(|o| o.as_i64() <= Some(first))));

    db.execute_unprepared("ALTER TABLE processed_updates_away RENAME TO processed_updates").await.unwrap();
    tg.wait_for("sendMessage", 2, WAIT).await;
    let replies = tg.sent_texts_to(user.id);
    assert_eq!(replies.len(), 2, "{replies:?}");
    assert!(replies[0].contains("/myrequests"), "the help first: {replies:?}");
    assert!(!replies[1].contains("/myrequests"), "then the answer to /cancel: {replies:?}");
    assert!(processed(&app, first).await && processed(&app, second).await);
    eventually("the offset moves past both updates", async || {
        tg.calls_to("getUpdates").iter().any(|c| c.params["offset"] == json!(second + 1))
    })
    .await;
    app.shutdown().await;
}

integration_test!(polling_rides_out_conflicts_and_server_errors, threads: 4);
async fn polling_rides_out_conflicts_and_server_errors() {
    let app = TestApp::builder().telegram().polling().spawn().await;
    let tg = app.tg();
    tg.wait_for_any("getUpdates", 1, WAIT).await;

    // Someone sets a webhook: getUpdates answers 409 until it is removed.
    call_fake(tg, "setWebhook", json!({"url": "https://elsewhere.example.com/hook"})).await;
    let conflicts = || tg.calls_to("getUpdates").iter().filter(|c| c.response["error_code"] == json!(409)).count();
    eventually("getUpdates answers 409", async || conflicts() >= 2).await;
    let user = User::ru(5_300_000_030, "Иван");
    tg.push_update(updates::text(&user, "/help"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(tg.calls_to("sendMessage").is_empty());
    call_fake(tg, "deleteWebhook", json!({})).await;
    tg.wait_for("sendMessage", 1, WAIT).await;

    // 5xx twice: retried.
    tg.fail_next("getUpdates", Fault::ServerError, 2);
    let other = User::ru(5_300_000_031, "Олег");
    tg.push_update(updates::text(&other, "/help"));
    tg.wait_for("sendMessage", 2, WAIT).await;
    assert_eq!(tg.sent_texts_to(other.id).len(), 1);

    let stopping = Instant::now();
    app.shutdown().await;
    assert!(stopping.elapsed() < Duration::from_secs(5), "polling stops with the server");
}

integration_test!(serve_polling_runs_without_a_webhook_secret, threads: 2);
/// `kktbot serve --polling` from the command line: no webhook secret needed; SIGTERM stops it.
async fn serve_polling_runs_without_a_webhook_secret() {
    let tg = FakeTelegram::start().await;
    let database = TestDatabase::create(Backend::Sqlite).await;
    let vars = [("DATABASE_URL", database.url()), ("API_PORT", "0")];

    // Without --polling the secret is required.
    let out = kktbot(&tg, &["serve"], &vars).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("TELEGRAM_WEBHOOK_SECRET is required"), "{}", text(&out.stderr));

    let dir = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_kktbot"))
        .args(["serve", "--polling"])
        .current_dir(dir.path())
        .env_clear()
        .env("TELEGRAM_API_URL", tg.api_url())
        .env("TELEGRAM_BOT_TOKEN", tg.token())
        .env("LOG_LEVEL", "warn")
        .envs(vars.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("kktbot starts");
    tg.wait_for("deleteWebhook", 1, WAIT).await;
    let user = User::ru(5_300_000_040, "Иван");
    tg.push_update(updates::text(&user, "/help"));
    tg.wait_for("sendMessage", 1, WAIT).await;
    assert_eq!(tg.sent_texts_to(user.id).len(), 1);

    let pid = child.id().expect("running").to_string();
    let killed = std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait()).await.expect("stops on SIGTERM").unwrap();
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        use tokio::io::AsyncReadExt;
        pipe.read_to_string(&mut stderr).await.unwrap();
    }
    assert!(status.success(), "{status:?}: {stderr}");
}

integration_test!(the_new_commands_and_flags_have_help);
async fn the_new_commands_and_flags_have_help() {
    let tg = FakeTelegram::start().await;
    let help = text(&kktbot(&tg, &["--help"], &[]).await.stdout);
    assert!(help.contains("webhook"), "{help}");
    for (args, words) in [
        (&["serve", "--help"][..], &["--polling", "--no-register-webhook"][..]),
        (&["webhook", "--help"], &["set", "info", "delete"]),
        (&["webhook", "set", "--help"], &["--max-connections", "--drop-pending-updates", "--url", "[default: 40]"]),
        (&["webhook", "info", "--help"], &[]),
        (&["webhook", "delete", "--help"], &["--drop-pending-updates"]),
    ] {
        let out = kktbot(&tg, args, &[]).await;
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        let help = text(&out.stdout);
        for word in words {
            assert!(help.contains(word), "{args:?} lacks {word}:\n{help}");
        }
    }
    assert!(tg.calls().is_empty());
}
