//! kktbot's integration tests: the real server on a random port, on SQLite and PostgreSQL (+
//! Redis), against a fake Telegram Bot API. Support code is in `support/`, then a file per area.

mod support;

mod api_auth;
mod api_resources;
mod cli;
mod dashboard;
mod dialog_storage;
mod fake_telegram_selftest;
mod health;
mod ops;
mod reminders;
mod requests;
mod schema;
mod sender;
mod telegram_setup;
mod webhook;
