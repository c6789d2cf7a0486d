//! The command line: `kktbot serve` (the default), `migrate`, `check-config`, `user create`,
//! `admin add`. Every command exits non-zero with a one-line reason on failure.

use std::io::BufRead;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use migration::{Migrator, MigratorTrait};
use sea_orm_migration::migrator::MigrationStatus;

use crate::app::{Application, ServeOptions};
use crate::config::Config;
use crate::entities::user::Role;
use crate::services::{administrators, users};

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
}

#[derive(Args, Debug, Default)]
struct ServeArgs {
    /// Do not apply pending migrations at start.
    #[arg(long)]
    no_migrate: bool,
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
            let app = Application::build(config, ServeOptions { migrate: !args.no_migrate })
                .await
                .map_err(|e| e.to_string())?;
            if let Some((email, password)) = app.initial_admin() {
                println!(
                    "Created the first dashboard administrator.\n  email:    {email}\n  password: {password}\nThis password is shown only once: log in and change it."
                );
            }
            println!("Dashboard: http://{}/", app.local_addr());
            app.run(crate::app::shutdown_signal()).await.map_err(|e| format!("server error: {e}"))
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
        Command::Migrate(cmd) => {
            let db = crate::db::connect(&config.database_url).await.map_err(|e| format!("database: {e}"))?;
            match cmd {
                MigrateCommand::Up => {
                    let applied =
                        crate::app::migrate_exclusively(&db).await.map_err(|e| format!("migration failed: {e}"))?;
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
                (users::generate_password(), true)
            };
            let db = crate::db::connect(&config.database_url).await.map_err(|e| format!("database: {e}"))?;
            let role = match role {
                RoleArg::Admin => Role::Admin,
                RoleArg::Operator => Role::Operator,
            };
            let user = users::create(&db, users::NewUser { email, password: password.clone(), name, role })
                .await
                .map_err(describe)?;
            println!("created {} ({:?}, id {})", user.email, user.role, user.id);
            if generated {
                println!("password: {password}\nThis password is shown only once.");
            }
            Ok(())
        }
        Command::Admin(AdminCommand::Add { telegram_id, name }) => {
            let db = crate::db::connect(&config.database_url).await.map_err(|e| format!("database: {e}"))?;
            let admin = administrators::add(&db, telegram_id, name).await.map_err(describe)?;
            println!("Telegram user {} is an active administrator", admin.telegram_id);
            Ok(())
        }
    }
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
