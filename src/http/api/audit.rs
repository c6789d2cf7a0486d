//! `GET /api/audit`: the audit log of staff actions (admin role), and [`Origin`], the extractor
//! that tells the log where a request came from.

use axum::extract::{FromRequestParts, State};
use axum::http::header;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};
use std::convert::Infallible;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{ApiJson, ApiQuery, Page, PageParams};
use super::jwt::{CurrentUser, RequireAdmin};
use super::params::date_range;
use crate::http::security::ClientInfo;
use crate::http::{ApiError, AppState};
use crate::services::audit::{self, Actor, AuditFilter};
use crate::services::listing::day_start;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

/// Where a request came from: the client's IP (see [`ClientInfo`]) and its `User-Agent`.
#[derive(Clone, Debug)]
pub struct Origin(pub audit::Origin);

impl Origin {
    /// The audit actor of `user` acting through this request.
    pub fn of(&self, user: &CurrentUser) -> Actor {
        Actor::user(user.id, user.label(), self.0.clone())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Origin {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = parts.extensions.get::<ClientInfo>().map(|c| c.ip.to_string()).unwrap_or_default();
        let user_agent = parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_string);
        Ok(Origin(audit::Origin::Web { ip, user_agent }))
    }
}

/// One staff action.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditDto {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// `user` (dashboard), `administrator` (Telegram), `cli` or `anonymous` (a failed sign-in to
    /// an email with no account).
    pub actor_kind: String,
    /// The user's or administrator's id.
    pub actor_id: Option<i64>,
    /// The user's name or email, the administrator's name, or the email a failed sign-in tried.
    pub actor_name: String,
    /// `web`, `telegram` or `cli`.
    pub source: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// `login.succeeded`, `login.failed`, `logout`, `password.changed`, `password.reset`,
    /// `<entity>.created` / `.updated` / `.deactivated` / `.deleted` / `.renewed`,
    /// `request.approved`, `request.rejected`, `reminders.run`, `export`, …
    pub action: String,
    /// `user`, `administrator`, `client`, `contact`, `cash_register`, `deadline`, `request`, …
    pub entity: String,
    pub entity_id: Option<String>,
    /// The changed fields as `{"field": [before, after]}` (secrets never included), or details
    /// of the action.
    #[schema(value_type = Option<Object>)]
    pub changes: Option<serde_json::Value>,
}

impl From<audit::Record> for AuditDto {
    fn from(r: audit::Record) -> Self {
        Self {
            id: r.id,
            at: r.at,
            actor_kind: r.actor_kind,
            actor_id: r.actor_id,
            actor_name: r.actor_name,
            source: r.source,
            ip: r.ip,
            user_agent: r.user_agent,
            action: r.action,
            entity: r.entity,
            entity_id: r.entity_id,
            changes: r.changes,
        }
    }
}

/// Audit log filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Page number, from 1.
    pub page: Option<u64>,
    /// Items per page, 1–100 (default 20).
    pub per_page: Option<u64>,
    /// `user`, `administrator`, `cli` or `anonymous`.
    #[param(max_length = 16)]
    pub actor_kind: Option<String>,
    /// The acting user's or administrator's id.
    #[param(minimum = 1, maximum = 4503599627370495_i64)]
    pub actor_id: Option<i64>,
    /// `client`, `deadline`, `user`, …
    #[param(max_length = 32)]
    pub entity: Option<String>,
    #[param(max_length = 64)]
    pub entity_id: Option<String>,
    /// An action (`client.created`) or its first part (`client`, `login`).
    #[param(max_length = 64)]
    pub action: Option<String>,
    /// On or after this day (`YYYY-MM-DD`, UTC).
    #[param(max_length = 12, pattern = r"^\s*(19|2[0-9])[0-9]{2}-[0-9]{2}-[0-9]{2}\s*$", format = Date)]
    pub from: Option<String>,
    /// On or before this day (`YYYY-MM-DD`, UTC).
    #[param(max_length = 12, pattern = r"^\s*(19|2[0-9])[0-9]{2}-[0-9]{2}-[0-9]{2}\s*$", format = Date)]
    pub to: Option<String>,
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

#[utoipa::path(get, path = "/audit", tag = "audit", params(AuditQuery),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Page<AuditDto>, description = "Newest first"),
        (status = 401, body = super::openapi::ErrorBody, description = "Not signed in"),
        (status = 403, body = super::openapi::ErrorBody, description = "Not an admin"),
        (status = 422, body = super::openapi::ErrorBody, description = "Invalid parameters")))]
async fn list(
    _admin: RequireAdmin,
    State(db): State<DatabaseConnection>,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<ApiJson<Page<AuditDto>>, ApiError> {
    let (page, per_page) = PageParams { page: query.page, per_page: query.per_page }.validate()?;
    let (from, to) = date_range(query.from.as_deref(), query.to.as_deref())?;
    crate::services::listing::check_range(from, to)?;
    let filter = AuditFilter {
        actor_kind: non_empty(query.actor_kind),
        actor_id: query.actor_id,
        entity: non_empty(query.entity),
        entity_id: non_empty(query.entity_id),
        action: non_empty(query.action),
        from: from.map(day_start),
        to: to.map(|d| day_start(d + chrono::Duration::days(1))),
    };
    let listed = audit::list(&db, page, per_page, &filter).await?;
    let listed = listed.map(AuditDto::from);
    Ok(ApiJson(Page { items: listed.items, total: listed.total, page, per_page }))
}

/// Begins the transaction of an audited action (see [`audit::begin`]).
pub async fn begin(db: &DatabaseConnection) -> Result<sea_orm::DatabaseTransaction, ApiError> {
    Ok(audit::begin(db).await?)
}
