//! kktbot's integration tests: the real server on a random port, on SQLite and PostgreSQL (+
//! Redis), against a fake Telegram Bot API. Support code is in `support/` (the runner in
//! `support/harness.rs`), then a file per area.

mod support;

mod api_auth;
mod api_resources;
mod bad_input;
mod cli;
mod dashboard;
mod dashboard_files;
mod dialog_store;
mod fake_telegram_selftest;
mod health;
mod ops;
mod outbox_store;
mod query_plans;
mod reminders;
mod requests;
mod schema;
mod search;
mod sender;
mod staff;
mod structure;
mod telegram_setup;
mod webhook;

fn main() -> std::process::ExitCode {
    support::harness::main()
}
