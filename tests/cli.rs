//! The command line: help, configuration errors, `user create`, `admin add`, `migrate`.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use kktbot::entities::{administrator, audit_log, user};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::support::integration_test;
use crate::support::{Backend, TestDatabase};

/// Runs the kktbot binary in an empty directory with only the given variables set.
pub(crate) fn kktbot(args: &[&str], vars: &[(&str, &str)], stdin: Option<&str>) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kktbot"));
    cmd.args(args).current_dir(dir.path()).env_clear().envs(vars.iter().copied()).env("LOG_LEVEL", "warn");
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("kktbot runs");
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    child.wait_with_output().unwrap()
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

integration_test!(help_lists_every_command_and_each_has_help);
async fn help_lists_every_command_and_each_has_help() {
    let out = kktbot(&["--help"], &[], None);
    assert!(out.status.success());
    let help = text(&out.stdout);
    for command in ["serve", "migrate", "check-config", "user", "admin", "import"] {
        assert!(help.contains(command), "{command} missing from --help:\n{help}");
    }
    for args in [
        &["serve", "--help"][..],
        &["migrate", "--help"],
        &["migrate", "down", "--help"],
        &["check-config", "--help"],
        &["user", "create", "--help"],
        &["user", "reset-password", "--help"],
        &["admin", "add", "--help"],
        &["import", "--help"],
    ] {
        let out = kktbot(args, &[], None);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        assert!(text(&out.stdout).contains("Usage: kktbot"), "{args:?}");
    }
}

integration_test!(check_config_reports_each_invalid_variable_on_its_own_line);
async fn check_config_reports_each_invalid_variable_on_its_own_line() {
    let out = kktbot(
        &["check-config"],
        &[
            ("WEBHOOK_URL", "http://example.com/webhook"),
            ("ADMIN_TELEGRAM_IDS", "12,x"),
            ("NOTIFICATION_TIMEZONE", "Nowhere/City"),
            ("JWT_SECRET_KEY", "too-short"),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    assert!(lines[0].starts_with("WEBHOOK_URL: must be an https URL"), "{stdout}");
    assert!(lines[1].starts_with("ADMIN_TELEGRAM_IDS: "), "{stdout}");
    assert!(lines[2].starts_with("JWT_SECRET_KEY: "), "{stdout}");
    assert!(lines[3].starts_with("NOTIFICATION_TIMEZONE: "), "{stdout}");
    assert!(!stdout.contains("too-short"), "the secret is not echoed");

    let ok = kktbot(&["check-config"], &[], None);
    assert!(ok.status.success());
    assert!(text(&ok.stdout).contains("configuration is valid"));
}

integration_test!(serve_refuses_to_start_on_invalid_configuration);
async fn serve_refuses_to_start_on_invalid_configuration() {
    let out = kktbot(&["serve"], &[("API_PORT", "http"), ("LOG_FORMAT", "xml")], None);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("API_PORT: must be a port number"), "{stderr}");
    assert!(stderr.contains("LOG_FORMAT: must be json or pretty"), "{stderr}");
}

integration_test!(user_create_stores_an_argon2_hash_never_the_password);
async fn user_create_stores_an_argon2_hash_never_the_password() {
    let test_db = TestDatabase::create(Backend::Sqlite).await;
    let vars = [("DATABASE_URL", test_db.url())];
    assert!(kktbot(&["migrate", "up"], &vars, None).status.success());

    let password = "Very-Secret-Passw0rd";
    let out = kktbot(
        &["user", "create", "--email", "Operator@Example.com", "--role", "operator", "--password-stdin"],
        &vars,
        Some(&format!("{password}\n")),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!text(&out.stdout).contains(password));

    let db = test_db.connect().await;
    let row =
        user::Entity::find().filter(user::Column::Email.eq("operator@example.com")).one(&db).await.unwrap().unwrap();
    assert_eq!(row.role, user::Role::Operator);
    assert!(row.password_hash.starts_with("$argon2id$"), "{}", row.password_hash);
    assert!(!row.password_hash.contains(password));
    assert!(kktbot::services::passwords::verify_password(password.into(), row.password_hash.clone()).await);

    // The same email again is refused with a one-line reason and a non-zero exit code.
    let again = kktbot(
        &["user", "create", "--email", "operator@example.com", "--password-stdin"],
        &vars,
        Some("another-passw0rd\n"),
    );
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(text(&again.stderr).trim(), "kktbot: a user with this email already exists");

    // A weak password and a bad email are both named.
    let bad = kktbot(&["user", "create", "--email", "nobody", "--password-stdin"], &vars, Some("short\n"));
    assert_eq!(bad.status.code(), Some(1));
    let reason = text(&bad.stderr);
    assert!(reason.contains("email:") && reason.contains("password:"), "{reason}");

    // Without --password-stdin a random password is generated and printed once.
    let generated = kktbot(&["user", "create", "--email", "admin2@example.com", "--role", "admin"], &vars, None);
    assert!(generated.status.success());
    assert!(text(&generated.stdout).contains("password: "));
    let _ = db.close().await;
}

integration_test!(user_reset_password_prints_a_one_time_password_that_must_be_changed);
async fn user_reset_password_prints_a_one_time_password_that_must_be_changed() {
    let test_db = TestDatabase::create(Backend::Sqlite).await;
    let vars = [("DATABASE_URL", test_db.url())];
    assert!(kktbot(&["migrate", "up"], &vars, None).status.success());
    let created =
        kktbot(&["user", "create", "--email", "ops@example.com", "--password-stdin"], &vars, Some("old-password-1\n"));
    assert!(created.status.success(), "{}", text(&created.stderr));

    let out = kktbot(&["user", "reset-password", "--email", "OPS@example.com"], &vars, None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let password = stdout
        .lines()
        .find_map(|l| l.strip_prefix("one-time password: "))
        .unwrap_or_else(|| panic!("the password is printed: {stdout}"))
        .to_string();
    let db = test_db.connect().await;
    let row = user::Entity::find().filter(user::Column::Email.eq("ops@example.com")).one(&db).await.unwrap().unwrap();
    assert!(row.must_change_password, "it must be changed at the next sign-in");
    assert_eq!(row.token_version, 1, "every session ended");
    assert!(kktbot::services::passwords::verify_password(password, row.password_hash.clone()).await);
    assert!(!kktbot::services::passwords::verify_password("old-password-1".into(), row.password_hash).await);
    let records = audit_log::Entity::find().order_by_asc(audit_log::Column::Id).all(&db).await.unwrap();
    let done: Vec<_> = records.iter().map(|r| (r.actor_kind.as_str(), r.source.as_str(), r.action.as_str())).collect();
    assert_eq!(done, [("cli", "cli", "user.created"), ("cli", "cli", "password.reset")], "both are in the audit log");
    assert!(records.iter().all(|r| r.entity_id == Some(row.id.to_string())));

    let unknown = kktbot(&["user", "reset-password", "--email", "nobody@example.com"], &vars, None);
    assert_eq!(unknown.status.code(), Some(1));
    assert_eq!(text(&unknown.stderr).trim(), "kktbot: user not found");
    let _ = db.close().await;
}

integration_test!(admin_add_makes_an_active_administrator_idempotently);
async fn admin_add_makes_an_active_administrator_idempotently() {
    let test_db = TestDatabase::create(Backend::Sqlite).await;
    let vars = [("DATABASE_URL", test_db.url())];
    assert!(kktbot(&["migrate", "up"], &vars, None).status.success());
    for _ in 0..2 {
        let out = kktbot(&["admin", "add", "5123456789", "--name", "Иван"], &vars, None);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let bad = kktbot(&["admin", "add", "-5"], &vars, None);
    assert!(!bad.status.success());

    let db = test_db.connect().await;
    let admins = administrator::Entity::find().all(&db).await.unwrap();
    assert_eq!(admins.len(), 1);
    assert_eq!(admins[0].telegram_id, 5_123_456_789);
    assert_eq!(admins[0].name.as_deref(), Some("Иван"));
    assert!(kktbot::services::administrators::is_active(&db, 5_123_456_789).await.unwrap());
    let records = audit_log::Entity::find().all(&db).await.unwrap();
    assert_eq!(records.len(), 1, "the second, idempotent add changed nothing and is not recorded");
    assert_eq!((records[0].actor_kind.as_str(), records[0].action.as_str()), ("cli", "administrator.created"));
    let _ = db.close().await;
}

integration_test!(migrate_status_down_and_up_from_the_command_line);
async fn migrate_status_down_and_up_from_the_command_line() {
    let test_db = TestDatabase::create(Backend::Sqlite).await;
    let vars = [("DATABASE_URL", test_db.url())];
    let status = kktbot(&["migrate", "status"], &vars, None);
    assert!(text(&status.stdout).lines().all(|l| l.starts_with("pending")), "{}", text(&status.stdout));
    let all = <migration::Migrator as migration::MigratorTrait>::migrations().len();
    assert!(all >= 2);
    let up = text(&kktbot(&["migrate", "up"], &vars, None).stdout);
    assert_eq!(up.trim(), format!("applied {all} migration(s)"));
    assert_eq!(text(&kktbot(&["migrate", "down"], &vars, None).stdout).trim(), "undid 1 migration(s)");
    let down = text(&kktbot(&["migrate", "down", "--all"], &vars, None).stdout);
    assert_eq!(down.trim(), format!("undid {} migration(s)", all - 1));
    let status = kktbot(&["migrate", "status"], &vars, None);
    assert_eq!(text(&status.stdout).lines().filter(|l| l.starts_with("pending")).count(), all);
}

integration_test!(first_start_creates_one_administrator_and_admin_ids_are_synced);
async fn first_start_creates_one_administrator_and_admin_ids_are_synced() {
    let app = crate::support::TestApp::builder().env("ADMIN_TELEGRAM_IDS", "111,222").spawn().await;
    let (email, password) = app.initial_admin.clone().expect("a first start creates an administrator");
    let row = user::Entity::find().one(app.db()).await.unwrap().unwrap();
    assert_eq!(row.email, email);
    assert_eq!(row.role, user::Role::Admin);
    assert!(kktbot::services::passwords::verify_password(password, row.password_hash).await);
    assert_eq!(administrator::Entity::find().all(app.db()).await.unwrap().len(), 2);

    // A second start on the same database creates nobody.
    let again = kktbot::services::users::ensure_initial_admin(app.db()).await.unwrap();
    assert!(again.is_none());
    app.shutdown().await;
}
