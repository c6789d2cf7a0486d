//! The fault suite: the real server (SQLite, and PostgreSQL + Redis) under a steady load of
//! Telegram updates while what it depends on fails — Redis stopped, PostgreSQL stopped, the Bot
//! API answering 429, 5xx, refusing connections or too slowly — and what Telegram and the users
//! see meanwhile and afterwards. Each case runs on servers of its own (a private `redis-server`,
//! a private PostgreSQL cluster, the fake Bot API); a machine without them reports the case as
//! ignored, and `CI=true` fails it instead. The figures are in docs/reliability.md.

#[path = "../support/mod.rs"]
mod support;

mod bot_api;
mod load;
mod postgres;
mod redis;

fn main() -> std::process::ExitCode {
    support::harness::main()
}
