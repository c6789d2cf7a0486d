//! The REST API under `/api`: JSON in and out, JWT authentication, one error shape.
//!
//! Every resource module has `pub fn router() -> OpenApiRouter<AppState>` whose routes are added
//! with `utoipa_axum::routes!` (never a plain `.route`), so each route is in the OpenAPI
//! document; `router()` below merges them, one `.merge(...)` line per module.

pub mod administrators;
pub mod audit;
pub mod auth;
pub mod bounds;
pub mod cash_registers;
pub mod clients;
pub mod contacts;
pub mod deadline_types;
pub mod deadlines;
pub mod export;
pub mod extract;
pub mod failed_updates;
pub mod import;
pub mod invites;
pub mod jwt;
pub mod ofd_providers;
pub mod openapi;
pub mod outbox;
pub mod params;
pub mod reminder_log;
pub mod request_actions;
pub mod request_thread;
pub mod requests;
pub mod sla;
pub mod stats;
pub mod users;

use utoipa_axum::router::OpenApiRouter;

use crate::http::AppState;

/// The API's routes, relative to `/api`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(openapi::router())
        .merge(auth::router())
        .merge(users::router())
        .merge(administrators::router())
        .merge(audit::router())
        .merge(cash_registers::router())
        .merge(clients::router())
        .merge(contacts::router())
        .merge(deadline_types::router())
        .merge(deadlines::router())
        .merge(export::router())
        .merge(failed_updates::router())
        .merge(import::router())
        .merge(invites::router())
        .merge(reminder_log::router())
        .merge(ofd_providers::router())
        .merge(outbox::router())
        .merge(requests::router())
        .merge(request_actions::router())
        .merge(request_thread::router())
        .merge(sla::router())
        .merge(stats::router())
}
