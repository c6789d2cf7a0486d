//! kktbot's integration tests: the real server on a random port, on SQLite and PostgreSQL (+
//! Redis), against a fake Telegram Bot API. Support code is in `support/`, then a file per area.

mod support;

mod cli;
mod dialog_storage;
mod fake_telegram_selftest;
mod health;
mod reminders;
mod requests;
mod schema;
mod sender;
mod telegram_setup;
mod webhook;
