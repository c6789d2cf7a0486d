//! The command line: `kktbot serve` (the default), `migrate`, `check-config`, `user create|reset-password`,
//! `admin add`, `webhook set|info|delete`, `notify run`, `db copy`, `import FILE`. Every command
//! exits non-zero with a one-line reason on failure.

mod import;

use std::io::BufRead;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use migration::{Migrator, MigratorTrait};
use sea_orm_migration::migrator::MigrationStatus;

use crate::app::{Application, ServeOptions};
use crate::bot::notifier::TelegramNotifier;
use crate::config::Config;
use crate::core::Core;
use crate::outbox::RetryPolicy;
use crate::services::reminders;
use crate::services::users::Role;
use crate::services::{administrators, audit, passwords, users};
use crate::telegram::api::{ApiError, BotApi};
use crate::telegram::sender::SenderHandle;
use crate::telegram::setup::{self, WebhookRegistration};

#[derive(Parser, Debug)]
#[command(
    name = "kktbot",
    version,
    about = "Telegram bot and admin dashboard for a cash register (ККТ) service company"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server: webhook, REST API, dashboard (the default command).
    Serve(ServeArgs),
    /// Apply, undo or list database migrations.
    #[command(subcommand)]
    Migrate(MigrateCommand),
    /// Validate the configuration and print every problem found.
    CheckConfig,
    /// Manage dashboard accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage Telegram administrators.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Register, inspect or remove the Telegram webhook.
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// Deadline reminders.
    #[command(subcommand)]
    Notify(NotifyCommand),
    /// Database tools.
    #[command(subcommand)]
    Db(DbCommand),
    /// Import clients, contacts, cash registers and deadlines from an XLSX or CSV file: a
    /// preview of every row first, then the import in one transaction once confirmed.
    Import(import::ImportArgs),
}

#[derive(Subcommand, Debug)]
enum DbCommand {
    /// Copy every table from one database (the embedded SQLite) into PostgreSQL, keeping ids,
    /// then verify row counts and per-table checksums; exits non-zero on any mismatch.
    Copy {
        /// The source database URL (sqlite://…); must be fully migrated.
        #[arg(long)]
        from: String,
        /// The target PostgreSQL URL (postgres://…); its schema is brought up to date.
        #[arg(long)]
        to: String,
        /// Replace the contents of a target that already holds data.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand, Debug)]
enum NotifyCommand {
    /// Run one reminder pass now: overdue deadlines become expired, due reminders and the
    /// administrators' summary are queued (the running server delivers them). Safe to repeat:
    /// nothing is sent twice.
    Run {
        /// The day to run for, as YYYY-MM-DD (default: today in NOTIFICATION_TIMEZONE); for tests
        /// and catching up.
        #[arg(long)]
        today: Option<chrono::NaiveDate>,
    },
}

#[derive(Args, Debug, Default)]
struct ServeArgs {
    /// Do not apply pending migrations at start.
    #[arg(long)]
    no_migrate: bool,
    /// Receive updates by long-polling getUpdates instead of the webhook (local development
    /// without a public URL); removes the webhook; TELEGRAM_WEBHOOK_SECRET is not needed.
    #[arg(long)]
    polling: bool,
    /// Do not register WEBHOOK_URL with Telegram at start (it is registered by default when set).
    #[arg(long)]
    no_register_webhook: bool,
    /// Do not run the daily reminder run nor the service-level watch on this instance.
    #[arg(long)]
    no_scheduler: bool,
}

#[derive(Subcommand, Debug)]
enum WebhookCommand {
    /// Register WEBHOOK_URL with Telegram (setWebhook) with TELEGRAM_WEBHOOK_SECRET as its secret
    /// token and the update kinds kktbot handles.
    Set {
        /// How many connections Telegram may open at once to deliver updates (1–100).
        #[arg(long, default_value_t = crate::telegram::setup::DEFAULT_MAX_CONNECTIONS,
              value_parser = clap::value_parser!(u8).range(1..=100))]
        max_connections: u8,
        /// Make Telegram forget the updates it has not delivered yet.
        #[arg(long)]
        drop_pending_updates: bool,
        /// The URL to register instead of WEBHOOK_URL (https, port 443, 80, 88 or 8443).
        #[arg(long)]
        url: Option<String>,
    },
    /// Print what Telegram knows of the webhook (getWebhookInfo): URL, pending updates, last error.
    Info,
    /// Remove the webhook (deleteWebhook); updates then wait for getUpdates.
    Delete {
        /// Make Telegram forget the updates it has not delivered yet.
        #[arg(long)]
        drop_pending_updates: bool,
    },
}

#[derive(Subcommand, Debug)]
enum MigrateCommand {
    /// Apply all pending migrations.
    Up,
    /// Undo applied migrations (the latest one by default).
    Down {
        /// How many migrations to undo.
        #[arg(long, default_value_t = 1, conflicts_with = "all")]
        steps: u32,
        /// Undo every migration (drops every table).
        #[arg(long)]
        all: bool,
    },
    /// List migrations and whether each is applied.
    Status,
}

#[derive(Subcommand, Debug)]
enum UserCommand {
    /// Create a dashboard account. The password is read from standard input with
    /// --password-stdin, otherwise a random one is generated and printed once.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, value_enum, default_value_t = RoleArg::Operator)]
        role: RoleArg,
        #[arg(long)]
        name: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Reset a dashboard account's password to a one-time password, printed once; the user must
    /// choose a new one at the next sign-in, and every session of theirs ends now.
    ResetPassword {
        #[arg(long)]
        email: String,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum RoleArg {
    Admin,
    Operator,
}

#[derive(Subcommand, Debug)]
enum AdminCommand {
    /// Make a Telegram user an administrator (receives requests, decides them).
    Add {
        /// The user's numeric Telegram id.
        telegram_id: i64,
        #[arg(long)]
        name: Option<String>,
    },
}

/// Parses the command line and runs the command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(errors) => {
            if matches!(cli.command, Some(Command::CheckConfig)) {
                println!("{errors}");
            } else {
                eprintln!("kktbot: invalid configuration:\n{errors}");
            }
            return ExitCode::FAILURE;
        }
    };
    crate::telemetry::init(&config.log, config.secrets());
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("kktbot: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command.unwrap_or(Command::Serve(ServeArgs::default())), config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => {
            eprintln!("kktbot: {reason}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> Result<(), String> {
    match command {
        Command::Serve(args) => {
            let options = ServeOptions {
                migrate: !args.no_migrate,
                polling: args.polling,
                register_webhook: !args.no_register_webhook,
                scheduler: !args.no_scheduler,
                sla_watch: ServeOptions::default().sla_watch.filter(|_| !args.no_scheduler),
                ..ServeOptions::default()
            };
            let app = Application::build(config, options).await.map_err(|e| e.to_string())?;
            if let Some((email, password)) = app.initial_admin() {
                println!(
                    "Created the first dashboard administrator.\n  email:    {email}\n  password: {password}\nThis password is shown only once: log in and change it."
                );
            }
            println!("Dashboard: http://{}/", app.local_addr());
            app.run(crate::app::shutdown_signal()).await.map_err(|e| format!("server error: {e}"))
        }
        Command::Db(DbCommand::Copy { from, to, force }) => {
            let (from, to) = (crate::config::DatabaseUrl::new(&from), crate::config::DatabaseUrl::new(&to));
            println!("copying {} → {}", from.redacted(), to.redacted());
            let report = crate::db::copy::copy(&from, &to, force, &mut |line| println!("{line}"))
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "{:<20} {:>10} {:>10}  {:<16}  {:<16}  result",
                "table", "source", "target", "source sum", "target sum"
            );
            let mut bad = 0;
            for t in &report {
                let ok = t.matches();
                bad += usize::from(!ok);
                println!(
                    "{:<20} {:>10} {:>10}  {:<16}  {:<16}  {}",
                    t.table,
                    t.source_rows,
                    t.target_rows,
                    t.source_checksum,
                    t.target_checksum,
                    if ok { "ok" } else { "MISMATCH" }
                );
            }
            if bad > 0 {
                return Err(format!("verification failed: {bad} table(s) differ"));
            }
            println!("verified: {} tables, row counts and checksums match", report.len());
            Ok(())
        }
        Command::CheckConfig => {
            println!("configuration is valid");
            println!("database: {}", config.database_url.redacted());
            println!(
                "redis: {}",
                config.redis_url.as_ref().map_or("disabled (in-process dialog store)".into(), |u| u.redacted())
            );
            println!(
                "telegram bot: {}",
                if config.telegram.bot_token.is_some() { "on" } else { "off (TELEGRAM_BOT_TOKEN not set)" }
            );
            println!("listen: {}", config.listen);
            Ok(())
        }
        Command::Notify(NotifyCommand::Run { today }) => {
            let db = crate::db::connect(&config.database_url).await.map_err(|e| format!("database: {e}"))?;
            let n = &config.notifications;
            let today = today.unwrap_or_else(|| reminders::local_date(chrono::Utc::now(), n.timezone));
            let texts = std::sync::Arc::new(crate::bot::texts::Texts::new());
            let retry = RetryPolicy { max_attempts: n.retry_attempts, delay: n.retry_interval };
            let notifier = std::sync::Arc::new(TelegramNotifier::new(texts, n.timezone).with_reminder_retry(retry));
            // No sender runs in this process: the server's delivers what the run queues.
            let core = Core::new(db, SenderHandle::new(), n.timezone, notifier);
            println!("reminder run for {today} (thresholds {:?} days)…", n.days);
            let write = core.begin().await.map_err(describe)?;
            let report = reminders::run(&write, core.notifier.as_ref(), &n.days, today, Some(&audit::Actor::cli()))
                .await
                .map_err(describe)?;
            write.commit().await.map_err(describe)?;
            println!(
                "done: {} reminder(s) queued, {} deadline(s) marked expired, {} due within {} days, {} overdue",
                report.queued,
                report.expired,
                report.due_soon,
                reminders::SUMMARY_DAYS,
                report.overdue
            );
            if report.summaries > 0 {
                println!("administrators' summary queued for {} administrator(s)", report.summaries);
            } else {
                println!(
                    "administrators' summary not sent: it goes once a day, and each active administrator has had today's"
                );
            }
            if config.telegram.bot_token.is_none() {
                println!("note: TELEGRAM_BOT_TOKEN is not set, so no server delivers the queued messages");
            }
            Ok(())
        }
        Command::Migrate(cmd) => {
            let db = crate::db::connect(&config.database_url).await.map_err(|e| format!("database: {e}"))?;
            match cmd {
                MigrateCommand::Up => {
                    let applied =
                        crate::db::migrate_exclusively(&db).await.map_err(|e| format!("migration failed: {e}"))?;
                    println!("applied {applied} migration(s)");
                }
                MigrateCommand::Down { steps, all } => {
                    let applied = Migrator::get_applied_migrations(&db).await.map_err(|e| e.to_string())?.len();
                    let steps = if all { None } else { Some(steps) };
                    Migrator::down(&db, steps).await.map_err(|e| format!("migration failed: {e}"))?;
                    let undone = steps.map_or(applied, |s| applied.min(s as usize));
                    println!("undid {undone} migration(s)");
                }
                MigrateCommand::Status => {
                    for m in Migrator::get_migration_with_status(&db).await.map_err(|e| e.to_string())? {
                        let status = match m.status() {
                            MigrationStatus::Applied => "applied",
                            MigrationStatus::Pending => "pending",
                        };
                        println!("{status:8} {}", m.name());
                    }
                }
            }
            Ok(())
        }
        Command::User(UserCommand::Create { email, role, name, password_stdin }) => {
            let (password, generated) = if password_stdin {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line).map_err(|e| format!("cannot read the password: {e}"))?;
                (line.trim_end_matches(['\r', '\n']).to_string(), false)
            } else {
                (passwords::generate_password(), true)
            };
            let db = crate::db::connect(&config.database_url).await.map_err(|e| format!("database: {e}"))?;
            let role = match role {
                RoleArg::Admin => Role::Admin,
                RoleArg::Operator => Role::Operator,
            };
            let txn = audit::begin(&db).await.map_err(describe)?;
            let user = users::create(&txn, users::NewUser { email, password: password.clone(), name, role })
                .await
                .map_err(describe)?;
            let entry = audit::Entry::created("user.created", "user", user.id, &user);
            audit::commit(txn, &audit::Actor::cli(), entry).await.map_err(describe)?;
            println!("created {} ({:?}, id {})", user.email, user.role, user.id);
            if generated {
                println!("password: {password}\nThis password is shown only once.");
            }
            Ok(())
        }
        Command::User(UserCommand::ResetPassword { email }) => {
            let db = crate::db::connect(&config.database_url).await.map_err(|e| format!("database: {e}"))?;
            let user = passwords::find_by_email(&db, &email).await.map_err(describe)?;
            let txn = audit::begin(&db).await.map_err(describe)?;
            let (user, password) = passwords::reset_password(&txn, None, user.id).await.map_err(describe)?;
            audit::commit(txn, &audit::Actor::cli(), audit::Entry::new("password.reset", "user", user.id))
                .await
                .map_err(describe)?;
            println!(
                "reset the password of {}; every session of theirs has ended\none-time password: {password}\n\
                 It is shown only once; it must be changed at the next sign-in.",
                user.email
            );
            Ok(())
        }
        Command::Webhook(cmd) => webhook(cmd, &config).await,
        Command::Import(args) => import::run(args, &config).await,
        Command::Admin(AdminCommand::Add { telegram_id, name }) => {
            let db = crate::db::connect(&config.database_url).await.map_err(|e| format!("database: {e}"))?;
            let txn = audit::begin(&db).await.map_err(describe)?;
            let all = administrators::all(&txn).await.map_err(describe)?;
            let before = all.into_iter().find(|a| a.telegram_id == telegram_id);
            let admin = administrators::add(&txn, telegram_id, name).await.map_err(describe)?;
            let entry = match &before {
                None => Some(audit::Entry::created("administrator.created", "administrator", admin.id, &admin)),
                Some(b) if b.is_active != admin.is_active || b.name != admin.name => {
                    Some(audit::Entry::changed("administrator.updated", "administrator", admin.id, b, &admin))
                }
                // Already an active administrator by that name: nothing changed, nothing to record.
                Some(_) => None,
            };
            match entry {
                Some(entry) => audit::commit(txn, &audit::Actor::cli(), entry).await.map_err(describe)?,
                None => txn.commit().await.map_err(|e| format!("database: {e}"))?,
            }
            println!("Telegram user {} is an active administrator", admin.telegram_id);
            Ok(())
        }
    }
}

/// `kktbot webhook …`: every check is made before anything is sent.
async fn webhook(command: WebhookCommand, config: &Config) -> Result<(), String> {
    let telegram = &config.telegram;
    let api = || {
        let token = telegram.bot_token.as_ref().ok_or("TELEGRAM_BOT_TOKEN is not set")?;
        Ok::<_, String>(BotApi::new(&telegram.api_url, token))
    };
    let failed = |e: ApiError| format!("Telegram answered: {e}");
    match command {
        WebhookCommand::Set { max_connections, drop_pending_updates, url } => {
            let url = url.or_else(|| telegram.webhook_url.as_ref().map(ToString::to_string));
            let registration = WebhookRegistration::new(
                url.as_deref(),
                telegram.webhook_secret.as_ref(),
                max_connections,
                drop_pending_updates,
            )
            .map_err(|e| e.to_string())?;
            let api = api()?;
            if let Some(warning) = registration.path_warning() {
                eprintln!("{warning}");
            }
            registration.register(&api).await.map_err(failed)?;
            println!("{}", registration.describe());
        }
        WebhookCommand::Info => {
            let info = setup::webhook_info(&api()?).await.map_err(failed)?;
            print!("{}", info.describe());
        }
        WebhookCommand::Delete { drop_pending_updates } => {
            setup::delete_webhook(&api()?, drop_pending_updates).await.map_err(failed)?;
            println!("webhook deleted{}", if drop_pending_updates { "; pending updates dropped" } else { "" });
        }
    }
    Ok(())
}

/// One line describing a domain error, field by field for validation errors.
fn describe(err: crate::error::Error) -> String {
    match err {
        crate::error::Error::Validation(fields) => {
            fields.iter().map(|f| format!("{}: {}", f.field, f.message)).collect::<Vec<_>>().join("; ")
        }
        other => other.to_string(),
    }
}
