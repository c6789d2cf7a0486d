//! kktbot: one server that runs a Telegram bot and an admin dashboard for a cash register
//! (ККТ) service company.
//!
//! A map of the crate:
//! - [`cli`] parses the command line and runs a command; [`app`] builds and runs the server.
//! - [`config`] is the only reader of the environment; [`telemetry`] sets up logging with
//!   secrets masked.
//! - [`services`] is the domain (users, administrators, …): plain functions over the database,
//!   shared by every adapter; [`error`] is its error type.
//! - [`entities`] are the SeaORM entities of the tables the `migration` crate creates; [`db`]
//!   opens the database and migrates it.
//! - [`http`] is the axum adapter: router, state, health, the JSON error shape.
//! - [`redis_store`] is the Redis connection.

pub mod app;
pub mod bot;
pub mod cli;
pub mod config;
pub mod db;
pub mod entities;
pub mod error;
pub mod http;
pub mod ops;
pub mod outbox;
pub mod redis_store;
pub mod scheduler;
pub mod services;
pub mod telegram;
pub mod telemetry;
