//! `/api/requests`: requests filed in Telegram, with their assignee, service levels, audit trail
//! and thread. What staff do to a request (decisions, work, reopen, assignment) is in
//! [`super::request_actions`]; its conversation in [`super::request_thread`].

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, Iterable};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{ApiJson, ApiQuery, Page};
use super::jwt::CurrentUser;
use super::params::{date_range, list_params, page};
use super::request_thread::ThreadMessageDto;
use crate::error::Error;
use crate::http::{ApiError, AppState};
use crate::services::assignment::{Assignee, AssigneeView};
use crate::services::request_queries::{self, AssigneeFilter, RequestFilter, RequestView};
use crate::services::requests::{Kind, RequestEvent, Status};
use crate::services::{lifecycle, sla, thread};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(get_one))
}

/// A request.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestDto {
    pub id: i32,
    /// The number the client sees (№N).
    pub number: i32,
    /// `service` or `link`.
    pub kind: String,
    pub request_type_id: Option<i32>,
    /// The request type's code (`fn_replacement`, …); null for link requests.
    pub request_type_code: Option<String>,
    /// The request type's name in Russian («Замена ФН», …); null for link requests.
    pub request_type_name_ru: Option<String>,
    /// The request type's name in English ("Fiscal drive replacement", …); null for link requests.
    pub request_type_name_en: Option<String>,
    pub description: String,
    pub photo_file_id: Option<String>,
    pub requester_telegram_id: i64,
    pub requester_name: Option<String>,
    pub requester_username: Option<String>,
    pub client_id: Option<i32>,
    /// The name of the client the request is attached to; null when none is.
    pub client_name: Option<String>,
    pub inn: Option<String>,
    /// `pending`, `approved`, `in_progress`, `waiting_for_client`, `done`, `rejected` or `cancelled`.
    pub status: String,
    /// What staff may do to it now: `approve`, `reject`, `start`, `ask_client`, `done`, `reopen`
    /// (`POST /requests/{id}/approve`, `/reject`, `/transitions`).
    pub actions: Vec<String>,
    pub decided_by: Option<String>,
    pub decided_by_administrator_id: Option<i32>,
    pub decided_by_user_id: Option<i32>,
    pub decided_at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
    /// When the work last started (taken, or resumed after a question to the client).
    pub started_at: Option<DateTime<Utc>>,
    pub done_at: Option<DateTime<Utc>>,
    /// Who it is assigned to; null when no one is.
    pub assignee: Option<AssigneeDto>,
    pub assigned_at: Option<DateTime<Utc>>,
    /// Where it stands against its service levels.
    pub sla: SlaDto,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A technician a request is (or may be) assigned to: a dashboard user or a Telegram administrator.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssigneeDto {
    /// `user` or `administrator`.
    pub kind: String,
    pub id: i32,
    pub name: String,
    /// Where requests reach them in Telegram; null for a user who gave none.
    pub telegram_id: Option<i64>,
}

impl From<AssigneeView> for AssigneeDto {
    fn from(v: AssigneeView) -> Self {
        Self { kind: v.assignee.kind().into(), id: v.assignee.id(), name: v.name, telegram_id: v.telegram_id }
    }
}

/// A request against its service levels (hours from filing to a decision and to done, per type).
#[derive(Debug, Serialize, ToSchema)]
pub struct SlaDto {
    /// When it should be decided by.
    pub decision_due_at: DateTime<Utc>,
    /// When it should be done by.
    pub done_due_at: DateTime<Utc>,
    /// `decision` (still pending past its decision time) or `done` (decided, not done past its
    /// done time); null when within its times or closed.
    pub over: Option<String>,
    /// When it was announced to the administrators again for waiting past its decision time.
    pub decision_announced_at: Option<DateTime<Utc>>,
    /// When it was flagged for not being done in time.
    pub done_flagged_at: Option<DateTime<Utc>>,
}

/// The service-level defaults and the time now, to tell where a request stands.
#[derive(Clone, Copy, Debug)]
pub struct SlaNow {
    pub defaults: sla::Defaults,
    pub now: DateTime<Utc>,
}

impl FromRequestParts<AppState> for SlaNow {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(_: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(SlaNow { defaults: state.config.sla, now: state.clock.now() })
    }
}

pub(crate) fn status_name(status: Status) -> &'static str {
    match status {
        Status::Pending => "pending",
        Status::Approved => "approved",
        Status::Rejected => "rejected",
        Status::Cancelled => "cancelled",
        Status::InProgress => "in_progress",
        Status::WaitingForClient => "waiting_for_client",
        Status::Done => "done",
    }
}

impl RequestDto {
    pub fn new(view: RequestView, at: SlaNow) -> Self {
        let RequestView { request: r, request_type, client_name, assignee } = view;
        let standing = sla::standing(&r, sla::limits(at.defaults, request_type.as_ref()), at.now);
        Self {
            id: r.id,
            number: r.number,
            kind: match r.kind {
                Kind::Service => "service".into(),
                Kind::Link => "link".into(),
            },
            request_type_id: r.request_type_id,
            request_type_code: request_type.as_ref().map(|t| t.code.clone()),
            request_type_name_ru: request_type.as_ref().map(|t| t.name_ru.clone()),
            request_type_name_en: request_type.map(|t| t.name_en),
            description: r.description,
            photo_file_id: r.photo_file_id,
            requester_telegram_id: r.requester_telegram_id,
            requester_name: r.requester_name,
            requester_username: r.requester_username,
            client_id: r.client_id,
            client_name,
            inn: r.inn,
            status: status_name(r.status).into(),
            actions: lifecycle::staff_actions(r.kind, r.status).into_iter().map(|a| a.name().to_string()).collect(),
            decided_by: r.decided_by,
            decided_by_administrator_id: r.decided_by_administrator_id,
            decided_by_user_id: r.decided_by_user_id,
            decided_at: r.decided_at,
            reason: r.reason,
            started_at: r.started_at,
            done_at: r.done_at,
            assignee: assignee.map(Into::into),
            assigned_at: r.assigned_at,
            sla: SlaDto {
                decision_due_at: standing.decision_due,
                done_due_at: standing.done_due,
                over: standing.over.map(|o| o.as_str().into()),
                decision_announced_at: r.decision_sla_announced_at,
                done_flagged_at: r.done_sla_flagged_at,
            },
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// One change of a request.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestEventDto {
    pub id: i32,
    /// `filed`, `approved`, `rejected`, `started`, `asked_client`, `done`, `cancelled`, `reopened`,
    /// `assigned` (details: to whom), `unassigned`.
    pub event: String,
    /// `telegram` or `api`.
    pub channel: String,
    /// `client`, `administrator` or `user`.
    pub actor_kind: String,
    pub actor_id: Option<i64>,
    pub actor_name: Option<String>,
    pub details: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<RequestEvent> for RequestEventDto {
    fn from(e: RequestEvent) -> Self {
        Self {
            id: e.id,
            event: e.event,
            channel: e.channel,
            actor_kind: e.actor_kind,
            actor_id: e.actor_id,
            actor_name: e.actor_name,
            details: e.details,
            created_at: e.created_at,
        }
    }
}

/// A request with its events and its thread, each oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestDetailDto {
    #[serde(flatten)]
    pub request: RequestDto,
    pub events: Vec<RequestEventDto>,
    /// The conversation: the client's comments, staff replies and questions, internal notes.
    pub thread: Vec<ThreadMessageDto>,
}

/// Request list parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RequestListQuery {
    pub page: Option<u64>,
    pub per_page: Option<u64>,
    /// `id`, `number`, `status`, `created_at`, `decided_at`, `assigned_at`; `-` for descending
    /// (default `-id`).
    pub sort: Option<String>,
    /// Part of the description, requester name or ИНН, or the number.
    pub q: Option<String>,
    /// `pending`, `approved`, `in_progress`, `waiting_for_client`, `done`, `rejected` or `cancelled`.
    #[param(max_length = 32)]
    pub status: Option<String>,
    /// `service` or `link`.
    #[param(max_length = 16)]
    pub kind: Option<String>,
    /// Request type id.
    #[param(minimum = 1, maximum = 2147483647)]
    pub type_id: Option<i32>,
    #[param(minimum = 1, maximum = 2147483647)]
    pub client_id: Option<i32>,
    /// Filed on or after this day (`YYYY-MM-DD`, UTC).
    #[param(max_length = 12, pattern = r"^\s*(19|2[0-9])[0-9]{2}-[0-9]{2}-[0-9]{2}\s*$", format = Date)]
    pub from: Option<String>,
    /// Filed on or before this day (`YYYY-MM-DD`, UTC).
    #[param(max_length = 12, pattern = r"^\s*(19|2[0-9])[0-9]{2}-[0-9]{2}-[0-9]{2}\s*$", format = Date)]
    pub to: Option<String>,
    /// Whose requests: `me` (the signed-in user), `none` (no one's), `user:N` or
    /// `administrator:N`.
    #[param(max_length = 32)]
    pub assignee: Option<String>,
}

/// `me`, `none`, `user:N` or `administrator:N`.
fn parse_assignee(value: &str, me: &CurrentUser) -> Result<AssigneeFilter, Error> {
    let invalid = || Error::invalid("assignee", "must be me, none, user:N or administrator:N");
    match value {
        "me" => Ok(AssigneeFilter::Is(Assignee::User(me.id))),
        "none" => Ok(AssigneeFilter::Nobody),
        _ => {
            let (kind, id) = value.split_once(':').ok_or_else(invalid)?;
            let id = id.parse::<i32>().ok().filter(|id| *id > 0).ok_or_else(invalid)?;
            Assignee::parse(kind, id).map(AssigneeFilter::Is).ok_or_else(invalid)
        }
    }
}

fn parse_status(value: &str) -> Result<Status, Error> {
    Status::iter().find(|s| status_name(*s) == value).ok_or_else(|| {
        let names: Vec<&str> = Status::iter().map(status_name).collect();
        Error::invalid("status", format!("must be one of {}", names.join(", ")))
    })
}

fn parse_kind(value: &str) -> Result<Kind, Error> {
    match value {
        "service" => Ok(Kind::Service),
        "link" => Ok(Kind::Link),
        _ => Err(Error::invalid("kind", "must be service or link")),
    }
}

#[utoipa::path(get, path = "/requests", tag = "requests", params(RequestListQuery),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Page<RequestDto>), (status = 401, body = super::openapi::ErrorBody, description = "Not signed in"),
        (status = 422, body = super::openapi::ErrorBody, description = "Invalid parameters")))]
async fn list(
    user: CurrentUser,
    State(db): State<DatabaseConnection>,
    at: SlaNow,
    ApiQuery(query): ApiQuery<RequestListQuery>,
) -> Result<ApiJson<Page<RequestDto>>, ApiError> {
    let params = list_params(query.page, query.per_page, query.sort, query.q)?;
    let (from, to) = date_range(query.from.as_deref(), query.to.as_deref())?;
    let filter = RequestFilter {
        status: query.status.as_deref().map(parse_status).transpose()?,
        kind: query.kind.as_deref().map(parse_kind).transpose()?,
        request_type_id: query.type_id,
        client_id: query.client_id,
        from,
        to,
        assignee: query.assignee.as_deref().map(|a| parse_assignee(a, &user)).transpose()?,
    };
    let listed = request_queries::list(&db, &params, &filter).await?;
    Ok(ApiJson(page(listed, &params, |view| RequestDto::new(view, at))))
}

#[utoipa::path(get, path = "/requests/{id}", tag = "requests", params(("id" = i32, Path)),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = RequestDetailDto), (status = 401, body = super::openapi::ErrorBody, description = "Not signed in"),
        (status = 404, body = super::openapi::ErrorBody, description = "No such request")))]
async fn get_one(
    _user: CurrentUser,
    State(db): State<DatabaseConnection>,
    at: SlaNow,
    Path(id): Path<i32>,
) -> Result<ApiJson<RequestDetailDto>, ApiError> {
    let (request, events) = request_queries::detail(&db, id).await?;
    let thread = thread::thread(&db, id).await?;
    Ok(ApiJson(RequestDetailDto {
        request: RequestDto::new(request, at),
        events: events.into_iter().map(Into::into).collect(),
        thread: thread.into_iter().map(Into::into).collect(),
    }))
}
