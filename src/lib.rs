//! kktbot: one server that runs a Telegram bot and an admin dashboard for a cash register
//! (ККТ) service company.
//!
//! A map of the crate (ARCHITECTURE.md says how the parts fit):
//! - [`cli`] parses the command line and runs a command; [`app`] builds and runs the server:
//!   state, background tasks (sender, scheduler, pruning), shutdown; [`core`] is what every
//!   adapter shares, built once there: the database, the write gate, the sender's wake-up, the
//!   time zone, the Telegram notifier.
//! - [`config`] is the only reader of the environment; [`telemetry`] sets up logging with
//!   secrets masked; [`clock`] is the time service levels are reckoned by (tests move it).
//! - [`services`] is the domain (users, administrators, clients, contacts, requests and their
//!   copies and thread, deadlines, reminders and the reminder log, …): plain functions over the
//!   database, shared by every adapter, and the names of the domain's types; what the managed
//!   tables share (lists in `listing`, a row by id, duplicates and deletion in `rows`, their audit
//!   entries in `audit`) is there too; [`error`] is its error type.
//! - [`entities`] are the SeaORM entities of the tables the `migration` crate creates, used only
//!   by the services and the outbox; [`db`] opens the database, migrates it (under a lock across
//!   instances), queues SQLite's writers and copies one database into another (`db copy`);
//!   [`sql`] is what differs between the databases in hand-written SQL; [`redis_store`] is the
//!   Redis connection.
//! - [`outbox`]: every Bot API call a change causes, written as a row in the change's
//!   transaction and delivered later by the sender.
//! - Adapters, each importing only those after it: [`http`] (axum: router, REST API, dashboard,
//!   health, metrics) → [`inbound`] (updates coming in: the pipeline, the webhook, polling) →
//!   [`bot`] (the conversation: handler tree, handlers, dialogs and the dialog store, texts, the
//!   Telegram notifier) → [`telegram`] (Bot API client, the sender of the outbox and its limits
//!   and retries, webhook registration) → [`ops`] (leader election, metrics recorder).
//!   [`scheduler`] runs the daily reminders and the service-level watch.
//! - [`api_error`] is the one JSON error shape of every HTTP error answer.

pub mod api_error;
pub mod app;
pub mod bot;
pub mod cli;
pub mod clock;
pub mod config;
pub mod core;
pub mod db;
pub mod entities;
pub mod error;
pub mod http;
pub mod inbound;
pub mod ops;
pub mod outbox;
pub mod redis_store;
pub mod scheduler;
pub mod services;
pub mod sql;
pub mod telegram;
pub mod telemetry;
