//! kktbot's integration tests: the real server on a random port, on SQLite and PostgreSQL (+
//! Redis), against a fake Telegram Bot API. Support code is in `support/`, then a file per area.

mod support;

mod cli;
mod fake_telegram_selftest;
mod health;
mod schema;
