//! The reminder run on every database: each threshold once, catch-up sends only the nearest
//! missed threshold, concurrent runs send nothing twice, blocked contacts are skipped, renewal
//! re-arms, failed sends are retried and logged, the administrators' summary once a day.

use std::time::Duration;

use chrono::{NaiveDate, Utc};
use kktbot::entities::{client, contact, deadline, deadline_type, notification_log};
use kktbot::services::deadlines::{self, NewDeadline};
use kktbot::services::reminders::{self, RunReport};
use kktbot::services::telegram_users;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

use crate::support::seed::{client_with_deadline, date};
use crate::support::telegram::Fault;
use crate::support::{Backend, TestApp, TestDatabase, count_rows};
use serde_json::json;

const ADMIN: i64 = 900_000_001;

async fn app(backend: Backend, days: &str) -> TestApp {
    TestApp::builder()
        .backend(backend)
        .telegram()
        .env("ADMIN_TELEGRAM_IDS", &ADMIN.to_string())
        .env("NOTIFICATION_DAYS", days)
        // Reminders are retried quickly here; production waits 5 minutes.
        .env("NOTIFICATION_RETRY_ATTEMPTS", "3")
        .spawn()
        .await
}

/// A run as the scheduler makes it: in one write, committed, then the sender woken.
async fn run(app: &TestApp, days: &[u32], today: NaiveDate) -> RunReport {
    let core = &app.state.core;
    let write = core.begin().await.unwrap();
    let report = reminders::run(&write, core.notifier.as_ref(), days, today, None).await.unwrap();
    write.commit().await.unwrap();
    report
}

backend_test!(thresholds_fire_once);
async fn thresholds_fire_once(backend: Backend) {
    let app = app(backend, "14,7,3").await;
    let expires = date("2027-03-01");
    client_with_deadline(app.db(), "7707083893", &[5_300_000_001], expires).await;
    let days = [14, 7, 3];
    let mut expected = Vec::new();
    for (today, fires) in [
        ("2027-02-10", false), // 19 days: nothing yet
        ("2027-02-15", true),  // 14
        ("2027-02-15", false), // the same day again
        ("2027-02-16", false), // 13: still the 14-day threshold, already sent
        ("2027-02-22", true),  // 7
        ("2027-02-25", false), // 4
        ("2027-02-26", true),  // 3
        ("2027-02-28", false), // 1
        ("2027-03-01", false), // due today: the 3-day reminder was the last
    ] {
        let report = run(&app, &days, date(today)).await;
        assert_eq!(report.queued, u64::from(fires), "run on {today}");
        if fires {
            expected.push(today);
        }
    }
    app.settle().await;
    let texts = app.tg().sent_texts_to(5_300_000_001);
    assert_eq!(texts.len(), 3, "{texts:?}");
    assert!(texts[0].contains("осталось 14 дней") && texts[0].contains("01.03.2027"), "{}", texts[0]);
    assert!(texts[1].contains("осталось 7 дней"));
    assert!(texts[2].contains("осталось 3 дня"));
    assert!(texts[0].contains("АТОЛ 30Ф"));
    let logs = notification_log::Entity::find().all(app.db()).await.unwrap();
    assert_eq!(logs.len(), 3);
    assert!(logs.iter().all(|l| l.status == "sent" && l.attempts == 1 && l.sent_at.is_some()), "{logs:?}");
    // Overdue afterwards: the deadline becomes expired.
    let report = run(&app, &days, date("2027-03-02")).await;
    assert_eq!(report.expired, 1);
    app.shutdown().await;
}

backend_test!(a_custom_threshold_list);
async fn a_custom_threshold_list(backend: Backend) {
    let app = app(backend, "30,1").await;
    client_with_deadline(app.db(), "7736207543", &[5_300_000_002], date("2027-05-31")).await;
    let mut queued = Vec::new();
    for today in ["2027-05-01", "2027-05-02", "2027-05-30", "2027-05-31"] {
        queued.push(run(&app, &[30, 1], date(today)).await.queued);
    }
    assert_eq!(queued, [1, 0, 1, 0]);
    app.shutdown().await;
}

backend_test!(catch_up_sends_only_the_nearest);
async fn catch_up_sends_only_the_nearest(backend: Backend) {
    let app = app(backend, "14,7,3").await;
    client_with_deadline(app.db(), "7707083893", &[5_300_000_003], date("2027-03-01")).await;
    // The server was down from 14 days before until 5 days before.
    let report = run(&app, &[14, 7, 3], date("2027-02-24")).await;
    assert_eq!(report.queued, 1);
    let log = notification_log::Entity::find().one(app.db()).await.unwrap().unwrap();
    assert_eq!(log.days_before, 7, "only the nearest missed threshold");
    app.settle().await;
    assert_eq!(app.tg().sent_texts_to(5_300_000_003).len(), 1);
    app.shutdown().await;
}

backend_test!(concurrent_runs_send_nothing_twice);
async fn concurrent_runs_send_nothing_twice(backend: Backend) {
    let app = app(backend, "14,7,3").await;
    let contacts: Vec<i64> = (0..5).map(|i| 5_300_001_000 + i).collect();
    for i in 0..10 {
        let inn = [
            "7707083893",
            "7736207543",
            "7702070139",
            "7728168971",
            "7710140679",
            "7830002293",
            "5408131553",
            "6663003127",
            "7812014560",
            "7704217370",
        ][i];
        client_with_deadline(app.db(), inn, &contacts, date("2027-03-08")).await;
    }
    let runs = (0..4).map(|_| run(&app, &[14, 7, 3], date("2027-03-01")));
    let reports: Vec<RunReport> = futures::future::join_all(runs).await;
    assert_eq!(reports.iter().map(|r| r.queued).sum::<u64>(), 50, "10 deadlines × 5 contacts, once in all");
    assert_eq!(reports.iter().map(|r| r.summaries).sum::<u64>(), 1, "one summary for the administrator");
    assert_eq!(count_rows(app.db(), "notification_logs").await, 50);
    app.shutdown().await;
}

backend_test!(blocked_and_silent_contacts_are_skipped);
async fn blocked_and_silent_contacts_are_skipped(backend: Backend) {
    let app = app(backend, "14,7,3").await;
    let d = client_with_deadline(
        app.db(),
        "7707083893",
        &[5_300_000_010, 5_300_000_011, 5_300_000_012],
        date("2027-03-01"),
    )
    .await;
    telegram_users::set_blocked(app.db(), 5_300_000_010, true).await.unwrap();
    let quiet = contact::Entity::find()
        .filter(contact::Column::TelegramId.eq(5_300_000_011_i64))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    let mut quiet: contact::ActiveModel = quiet.into();
    quiet.notify = Set(false);
    quiet.update(app.db()).await.unwrap();
    let report = run(&app, &[14, 7, 3], date("2027-02-15")).await;
    assert_eq!(report.queued, 1);
    let log = notification_log::Entity::find().one(app.db()).await.unwrap().unwrap();
    assert_eq!(log.deadline_id, d.id);
    app.settle().await;
    assert_eq!(app.tg().sent_texts_to(5_300_000_012).len(), 1);
    assert!(app.tg().sent_texts_to(5_300_000_010).is_empty());
    app.shutdown().await;
}

backend_test!(renewal_re_arms_the_reminders);
async fn renewal_re_arms_the_reminders(backend: Backend) {
    let app = app(backend, "14,7,3").await;
    let d = client_with_deadline(app.db(), "7707083893", &[5_300_000_020], date("2027-03-01")).await;
    assert_eq!(run(&app, &[14, 7, 3], date("2027-02-26")).await.queued, 1);
    let renewed = deadlines::renew(app.db(), d.id, date("2028-03-01")).await.unwrap();
    assert_eq!(renewed.status, deadline::Status::Active);
    assert!(deadlines::renew(app.db(), d.id, date("2027-01-01")).await.is_err(), "an earlier date is refused");
    assert_eq!(run(&app, &[14, 7, 3], date("2027-02-27")).await.queued, 0);
    assert_eq!(run(&app, &[14, 7, 3], date("2028-02-16")).await.queued, 1, "the new date has its own reminders");
    app.shutdown().await;
}

integration_test!(failed_sends_are_retried_and_every_attempt_is_logged);
async fn failed_sends_are_retried_and_every_attempt_is_logged() {
    let app = app(Backend::Sqlite, "14,7,3").await;
    client_with_deadline(app.db(), "7707083893", &[5_300_000_030], date("2027-03-01")).await;
    // The policy here: 3 attempts; the retry interval is a minute at least, so make the test
    // observe the first failure and the recorded retry, then a permanent failure via 400.
    // Only the reminder's chat fails: the administrators' summary may go first.
    app.tg().fail_next_to("sendMessage", 5_300_000_030, Fault::ServerError, 1);
    run(&app, &[14, 7, 3], date("2027-02-15")).await;
    app.tg().wait_for_any("sendMessage", 1, Duration::from_secs(10)).await;
    app.settle().await;
    let log = notification_log::Entity::find().one(app.db()).await.unwrap().unwrap();
    assert_eq!(log.status, "retrying");
    assert_eq!(log.attempts, 1);
    assert!(log.last_error.as_deref().unwrap_or_default().contains("Internal Server Error"), "{log:?}");
    let row = kktbot::entities::outgoing_message::Entity::find_by_id(log.outgoing_message_id.unwrap())
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.max_attempts, Some(3));
    assert_eq!(row.retry_delay_seconds, Some(300));
    let wait = row.next_attempt_at - Utc::now();
    assert!(wait > chrono::Duration::minutes(4), "the retry is five minutes later: {wait}");
    app.shutdown().await;
}

integration_test!(a_reminder_failing_every_time_is_given_up_after_three_attempts);
async fn a_reminder_failing_every_time_is_given_up_after_three_attempts() {
    let app = TestApp::builder()
        .telegram()
        .env("NOTIFICATION_RETRY_ATTEMPTS", "3")
        .env("NOTIFICATION_RETRY_MINUTES", "0.01")
        .spawn()
        .await;
    client_with_deadline(app.db(), "7707083893", &[5_300_000_031], date("2027-03-01")).await;
    app.tg().fail_next_to("sendMessage", 5_300_000_031, Fault::ServerError, 10);
    run(&app, &[14, 7, 3], date("2027-02-15")).await;
    app.tg().wait_for_any("sendMessage", 3, Duration::from_secs(20)).await;
    // The third failure is recorded, and no fourth attempt follows.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let log = loop {
        let log = notification_log::Entity::find().one(app.db()).await.unwrap().unwrap();
        if log.status == "failed" || std::time::Instant::now() > deadline {
            break log;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!((log.status.as_str(), log.attempts), ("failed", 3), "{log:?}");
    assert!(log.last_error.as_deref().unwrap_or_default().contains("Internal Server Error"));
    app.settle().await;
    assert_eq!(app.tg().calls_to("sendMessage").len(), 3, "three attempts, no more");
    app.shutdown().await;
}

backend_test!(administrators_get_a_summary_with_the_right_figures);
async fn administrators_get_a_summary_with_the_right_figures(backend: Backend) {
    let app = app(backend, "14,7,3").await;
    client_with_deadline(app.db(), "7707083893", &[5_300_000_040], date("2027-02-20")).await; // 5 days: due soon, reminded
    client_with_deadline(app.db(), "7736207543", &[5_300_000_041], date("2027-02-28")).await; // 13 days: due soon
    client_with_deadline(app.db(), "7702070139", &[5_300_000_042], date("2027-02-10")).await; // overdue
    client_with_deadline(app.db(), "7728168971", &[5_300_000_043], date("2027-06-01")).await; // far away
    let report = run(&app, &[14, 7, 3], date("2027-02-15")).await;
    assert_eq!((report.queued, report.due_soon, report.overdue, report.expired), (2, 2, 1, 1));
    app.settle().await;
    let summary = app.tg().sent_texts_to(ADMIN);
    assert_eq!(summary.len(), 1, "{summary:?}");
    let text = &summary[0];
    assert!(text.starts_with("Сводка по срокам на 15.02.2027"), "{text}");
    assert!(text.contains("Истекают в ближайшие 14 дней: 2"), "{text}");
    assert!(text.contains("Просрочено: 1"), "{text}");
    assert!(text.contains("Напоминаний поставлено в очередь: 2"), "{text}");
    assert!(text.contains("20.02.2027 · ООО «Клиент 7707083893» · ФН"), "{text}");
    assert!(!text.contains("7728168971"), "{text}");
    app.shutdown().await;
}

backend_test!(the_summary_goes_once_a_day_across_restarts_and_runs_by_hand);
/// The catch-up run at start, a restart later that day (a new leader starts the same way), a run
/// from the API and one from the command line: the administrators' summary goes out once that
/// day, and the runs by hand say they sent none. The next day's run sends the next one.
async fn the_summary_goes_once_a_day_across_restarts_and_runs_by_hand(backend: Backend) {
    let builder = || {
        crate::staff::builder(backend)
            .scheduler()
            .env("ADMIN_TELEGRAM_IDS", &ADMIN.to_string())
            // Already passed today: every start runs the day's catch-up.
            .env("NOTIFICATION_CHECK_TIME", "00:00")
    };
    let (first, second) = (5_300_000_300, 5_300_000_301);
    let today = reminders::local_date(Utc::now(), chrono_tz::Europe::Moscow);
    let test_db = TestDatabase::create(backend).await;
    let url = test_db.url().to_string();
    {
        let db = test_db.connect().await;
        <migration::Migrator as migration::MigratorTrait>::up(&db, None).await.unwrap();
        client_with_deadline(&db, "7707083893", &[first], today + chrono::Duration::days(14)).await;
        let _ = db.close().await;
    }
    let app = builder().database(test_db).telegram().spawn().await;
    app.tg().wait_for("sendMessage", 2, Duration::from_secs(20)).await;
    app.settle().await;
    assert_eq!(app.tg().sent_texts_to(first).len(), 1, "the catch-up's reminder");
    assert_eq!(app.tg().sent_texts_to(ADMIN).len(), 1, "the catch-up's summary");

    let admin = crate::staff::admin_token(&app).await;
    let report = crate::staff::ok(&app, &admin, reqwest::Method::POST, "/api/notifications/run", None).await;
    assert_eq!((&report["summary_sent"], &report["summaries"]), (&json!(false), &json!(0)), "{report}");

    // A restart: its catch-up reminds the contact of a deadline added meanwhile, and nobody else.
    client_with_deadline(app.db(), "7736207543", &[second], today + chrono::Duration::days(7)).await;
    let (test_db, fake) = app.crash().await;
    let app = builder().database(test_db).fake_telegram(fake.unwrap()).spawn().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while app.tg().sent_texts_to(second).is_empty() {
        assert!(std::time::Instant::now() < deadline, "the restart's catch-up ran");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.settle().await;

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kktbot"))
        .args(["notify", "run"])
        .env_clear()
        .env("DATABASE_URL", &url)
        .env("LOG_LEVEL", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("administrators' summary not sent"), "{stdout}");
    app.settle().await;
    let summaries = app.tg().sent_texts_to(ADMIN);
    assert_eq!(summaries.len(), 1, "one summary today: {summaries:?}");
    assert_eq!(count_rows(app.db(), "reminder_summaries").await, 1);

    let tomorrow = run(&app, &[14, 7, 3], today + chrono::Duration::days(1)).await;
    assert_eq!(tomorrow.summaries, 1, "the next day has its own");
    app.settle().await;
    assert_eq!(app.tg().sent_texts_to(ADMIN).len(), 2);
    app.shutdown().await;
}

// ---------------------------------------------------------------- bot commands

use crate::support::updates::{self, User};
use crate::support::{backend_test, integration_test};

async fn linked_client_app() -> (TestApp, User, User) {
    let app = app(Backend::Sqlite, "14,7,3").await;
    let contact = User::ru(5_300_000_100, "Иван");
    let admin = User::ru(ADMIN, "Ольга");
    (app, contact, admin)
}

integration_test!(list_and_today_show_a_contacts_deadlines_soonest_first);
async fn list_and_today_show_a_contacts_deadlines_soonest_first() {
    let (app, contact, admin) = linked_client_app().await;
    let today = reminders::local_date(Utc::now(), chrono_tz::Europe::Moscow);
    client_with_deadline(app.db(), "7707083893", &[contact.id], today + chrono::Duration::days(40)).await;
    let c = client::Entity::find().one(app.db()).await.unwrap().unwrap();
    let ofd = deadline_type::Entity::find()
        .filter(deadline_type::Column::Code.eq("ofd"))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    for days in [0, 5] {
        deadlines::create(
            app.db(),
            NewDeadline {
                client_id: c.id,
                cash_register_id: None,
                deadline_type_id: ofd.id,
                expiration_date: today + chrono::Duration::days(days),
                notes: None,
            },
        )
        .await
        .unwrap();
    }
    app.send_update(&updates::text(&contact, "/list")).await;
    app.send_update(&updates::text(&contact, "/today")).await;
    app.send_update(&updates::text(&admin, "/today")).await;
    let stranger = User::ru(5_300_000_199, "Пётр");
    app.send_update(&updates::text(&stranger, "/list")).await;
    app.settle().await;
    let texts = app.tg().sent_texts_to(contact.id);
    let list = &texts[0];
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 4, "{list}");
    assert!(lines[0].starts_with("Сроки «ООО «Клиент 7707083893»»"), "{list}");
    assert!(lines[1].starts_with("⚠️ ") && lines[1].contains("сегодня"), "{list}");
    assert!(lines[2].starts_with("⚠️ ") && lines[2].contains("осталось 5 дней"), "{list}");
    assert!(
        !lines[3].starts_with("⚠️") && lines[3].contains("АТОЛ 30Ф") && lines[3].contains("осталось 40 дней"),
        "{list}"
    );
    assert!(texts[1].starts_with("Сроки на сегодня") && texts[1].lines().count() == 2, "{}", texts[1]);
    let admin_today = &app.tg().sent_texts_to(admin.id)[0];
    assert!(admin_today.contains("ООО «Клиент 7707083893»"), "administrators see every client: {admin_today}");
    assert!(app.tg().sent_texts_to(stranger.id)[0].starts_with("Вы не подключены"));
    app.shutdown().await;
}

integration_test!(long_lists_are_complete_across_messages);
async fn long_lists_are_complete_across_messages() {
    let (app, contact, _) = linked_client_app().await;
    let today = reminders::local_date(Utc::now(), chrono_tz::Europe::Moscow);
    client_with_deadline(app.db(), "7707083893", &[contact.id], today + chrono::Duration::days(400)).await;
    let c = client::Entity::find().one(app.db()).await.unwrap().unwrap();
    let kind = deadline_type::Entity::find().one(app.db()).await.unwrap().unwrap();
    for days in 0..300 {
        deadlines::create(
            app.db(),
            NewDeadline {
                client_id: c.id,
                cash_register_id: None,
                deadline_type_id: kind.id,
                expiration_date: today + chrono::Duration::days(days),
                notes: None,
            },
        )
        .await
        .unwrap();
    }
    app.send_update(&updates::text(&contact, "/list")).await;
    app.settle().await;
    let texts = app.tg().sent_texts_to(contact.id);
    assert!(texts.len() > 1, "split into several messages");
    assert!(texts.iter().all(|t| t.chars().count() <= 4096));
    let lines: usize = texts.iter().map(|t| t.lines().count()).sum();
    assert_eq!(lines, 1 + 301, "header and every deadline, none cut off");
    app.shutdown().await;
}

integration_test!(search_and_export_for_administrators);
async fn search_and_export_for_administrators() {
    let (app, contact, admin) = linked_client_app().await;
    client_with_deadline(app.db(), "7707083893", &[contact.id], date("2027-03-01")).await;
    client_with_deadline(app.db(), "7736207543", &[], date("2027-04-01")).await;
    // A note with the separator and quotes survives the round trip.
    let d = deadline::Entity::find().one(app.db()).await.unwrap().unwrap();
    let mut noted: deadline::ActiveModel = d.into();
    noted.notes = Set(Some("замена; \"срочно\"".into()));
    noted.update(app.db()).await.unwrap();

    app.send_update(&updates::text(&admin, "/search клиент 7736")).await;
    app.send_update(&updates::text(&admin, "/search 7736")).await;
    app.send_update(&updates::text(&admin, "/export")).await;
    app.send_update(&updates::text(&contact, "/export")).await;
    app.settle().await;
    // The administrator picks a dataset and a format; a forged button is refused to a contact.
    let offer = crate::support::chat::last_message(&app, admin.id);
    let buttons = crate::support::chat::buttons(&offer);
    assert_eq!(buttons.len(), 8, "four datasets in two formats: {buttons:?}");
    assert!(buttons.contains(&("Сроки · CSV".to_string(), "v1:ex:deadlines.csv".to_string())), "{buttons:?}");
    let message = crate::support::chat::message_id(&offer);
    app.send_update(&updates::callback(&admin, "v1:ex:deadlines.csv", message)).await;
    app.send_update(&updates::callback(&admin, "v1:ex:clients.xlsx", message)).await;
    app.send_update(&updates::callback(&contact, "v1:ex:deadlines.csv", message)).await;
    app.settle().await;
    let texts = app.tg().sent_texts_to(admin.id);
    assert!(
        texts[0].starts_with("По запросу «клиент 7736» ничего не найдено") || texts[0].contains("7736207543"),
        "{}",
        texts[0]
    );
    assert!(texts[1].starts_with("ООО «Клиент 7736207543» (ИНН 7736207543)"), "{}", texts[1]);
    assert!(texts[1].contains("АТОЛ 30Ф № SN-7736207543") && texts[1].contains("01.04.2027"), "{}", texts[1]);
    assert!(app.tg().sent_texts_to(contact.id)[0].contains("только администраторам"));

    let docs = app.tg().calls_to("sendDocument");
    assert_eq!(docs.len(), 2, "the contact got no file");
    assert!(docs[1].files[0].file_name.starts_with("clients-") && docs[1].files[0].file_name.ends_with(".xlsx"));
    assert!(docs[1].files[0].bytes.starts_with(b"PK"), "an XLSX (zip) file");
    let records: Vec<String> = kktbot::entities::audit_log::Entity::find()
        .all(app.db())
        .await
        .unwrap()
        .into_iter()
        .map(|r| format!("{} {} {}", r.actor_kind, r.source, r.changes.unwrap()["dataset"]))
        .collect();
    assert_eq!(records, ["administrator telegram \"deadlines\"", "administrator telegram \"clients\""]);
    let file = &docs[0].files[0];
    assert!(file.file_name.ends_with(".csv"));
    let text = String::from_utf8(file.bytes.clone()).unwrap();
    let text = text.strip_prefix('\u{feff}').expect("UTF-8 with a byte order mark");
    let rows: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(rows[0], kktbot::services::export::HEADER.join(";"));
    assert_eq!(rows.len(), 3);
    assert!(
        rows[1].starts_with("ООО «Клиент 7707083893»;7707083893;АТОЛ 30Ф;SN-7707083893;ФН;01.03.2027;"),
        "{}",
        rows[1]
    );
    assert!(rows[1].ends_with(";\"замена; \"\"срочно\"\"\""), "{}", rows[1]);
    app.shutdown().await;
}

integration_test!(notify_run_from_the_command_line);
async fn notify_run_from_the_command_line() {
    let test_db = crate::support::TestDatabase::create(Backend::Sqlite).await;
    let db = test_db.connect().await;
    <migration::Migrator as migration::MigratorTrait>::up(&db, None).await.unwrap();
    client_with_deadline(&db, "7707083893", &[5_300_000_200], date("2027-03-01")).await;
    let run = |today: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_kktbot"))
            .args(["notify", "run", "--today", today])
            .env_clear()
            .env("DATABASE_URL", test_db.url())
            .env("LOG_LEVEL", "warn")
            .output()
            .unwrap()
    };
    let out = run("2027-02-15");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("done: 1 reminder(s) queued"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("administrators' summary not sent"), "no administrator");
    let again = run("2027-02-15");
    assert!(String::from_utf8_lossy(&again.stdout).contains("done: 0 reminder(s) queued"));
    assert_eq!(count_rows(&db, "notification_logs").await, 1);
    let bad = run("15.02.2027");
    assert!(!bad.status.success());
    let _ = db.close().await;
}

backend_test!(the_log_names_client_type_and_contact);
/// The reminder log as staff read it names the client, the deadline type and the contact, for a
/// whole page at once.
async fn the_log_names_client_type_and_contact(backend: Backend) {
    use kktbot::services::listing::ListParams;
    use kktbot::services::reminder_log::{self, ReminderFilter};

    let app = app(backend, "14,7,3").await;
    let first = client_with_deadline(app.db(), "7707083893", &[5_300_000_040], date("2027-03-01")).await;
    let second =
        client_with_deadline(app.db(), "500100732259", &[5_300_000_041, 5_300_000_042], date("2027-03-01")).await;
    assert_eq!(run(&app, &[14, 7, 3], date("2027-02-15")).await.queued, 3);
    let params = ListParams::new(1, 50, Some("id".into()), None);
    let listed = reminder_log::list(app.db(), &params, &ReminderFilter::default()).await.unwrap();
    assert_eq!(listed.total, 3);
    let seen: Vec<_> = listed
        .items
        .iter()
        .map(|v| {
            let client = v.client.clone().expect("the deadline's client");
            let kind = v.deadline_type.as_ref().expect("the deadline's type");
            (v.log.deadline_id, client, kind.code.as_str(), kind.name_en.as_str(), v.contact_name.as_deref())
        })
        .collect();
    let named = |d: &deadline::Model, inn: &str| (d.id, (d.client_id, format!("ООО «Клиент {inn}»")));
    let expected: Vec<_> =
        [named(&first, "7707083893"), named(&second, "500100732259"), named(&second, "500100732259")]
            .into_iter()
            .map(|(id, client)| (id, client, "fn", "Fiscal drive", Some("Контакт")))
            .collect();
    assert_eq!(seen, expected);
    app.shutdown().await;
}
