//! What staff do to a request from the dashboard: decide it (`/approve`, `/reject`), work it
//! (`/transitions`: start, ask the client, done, reopen) and assign it (`/assignee`). Each goes through the service the bot
//! uses ([`requests::decide`], [`lifecycle::transition`]), so the administrators' copies are
//! edited and the client is told exactly as after a tap, and each is audited in its own
//! transaction.

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use sea_orm::DatabaseConnection;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::audit::Origin;
use super::extract::{ApiJson, OptionalJson};
use super::jwt::CurrentUser;
use super::requests::{AssigneeDto, RequestDto, SlaNow, status_name};
use crate::core::{Core, Write};
use crate::error::Error;
use crate::http::{ApiError, AppState};
use crate::services::assignment::{self, Assigned, Assignee};
use crate::services::audit::{self, Entry};
use crate::services::lifecycle::{self, Action, Transitioned};
use crate::services::request_queries;
use crate::services::requests::{self, Actor, Channel, Decided, Decision, Request, Status};
use crate::services::users::Role;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(approve))
        .routes(routes!(reject))
        .routes(routes!(transition))
        .routes(routes!(assign, unassign))
        .routes(routes!(assignees))
}

/// The reason of a rejection.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct RejectInput {
    /// Shown to the client.
    #[schema(max_length = 1000)]
    pub reason: Option<String>,
}

pub(crate) fn actor(user: &CurrentUser) -> Actor {
    Actor::User { id: user.id, name: user.label(), admin: user.role == Role::Admin }
}

/// 409 for a request whose status does not allow the action; the details say its status and
/// what applies now.
fn refused(request: &Request, what: &str) -> ApiError {
    let by = request.decided_by.as_deref().map(|b| format!(" (decided by {b})")).unwrap_or_default();
    let mut err = ApiError::from(Error::Conflict(format!(
        "request №{} is {}{by}: {what} does not apply to it now",
        request.number,
        status_name(request.status)
    )));
    err.details = serde_json::json!({
        "status": status_name(request.status),
        "actions": lifecycle::staff_actions(request.kind, request.status).into_iter().map(Action::name).collect::<Vec<_>>(),
        "decided_by": request.decided_by,
        "decided_at": request.decided_at,
    });
    err
}

/// What every change of a request needs: who, from where, the core (its write and the
/// notifier), and the time for its service levels.
pub(crate) struct Change {
    pub user: CurrentUser,
    pub origin: Origin,
    pub core: Core,
    pub at: SlaNow,
}

impl FromRequestParts<AppState> for Change {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Change {
            user: CurrentUser::from_request_parts(parts, state).await?,
            origin: Origin::from_request_parts(parts, state).await.unwrap_or_else(|never| match never {}),
            core: state.core.clone(),
            at: SlaNow { defaults: state.config.sla, now: state.clock.now() },
        })
    }
}

impl Change {
    /// Commits the change with its audit record (the commit wakes the sender) and answers the
    /// request.
    async fn commit(self, write: Write, request: Request, entry: Entry) -> Result<ApiJson<RequestDto>, ApiError> {
        let view = request_queries::view(&write, request).await?;
        audit::record(&write, &self.origin.of(&self.user), entry).await?;
        write.commit().await?;
        Ok(ApiJson(RequestDto::new(view, self.at)))
    }
}

async fn decide(change: Change, id: i32, decision: Decision) -> Result<ApiJson<RequestDto>, ApiError> {
    if let Decision::Reject { reason: Some(reason) } = &decision
        && reason.chars().count() > 1000
    {
        return Err(Error::invalid("reason", "must be at most 1000 characters").into());
    }
    let what = if decision == Decision::Approve { "approve" } else { "reject" };
    let write = change.core.begin().await?;
    let notifier = change.core.notifier.as_ref();
    let outcome = requests::decide(&write, notifier, id, decision, &actor(&change.user), Channel::Api).await?;
    match outcome {
        Decided::Done(request) => {
            let action = if request.status == Status::Approved { "request.approved" } else { "request.rejected" };
            let entry = Entry::new(action, "request", request.id).with_details(serde_json::json!({
                "number": request.number,
                "status": status_name(request.status),
                "reason": request.reason,
            }));
            change.commit(write, request, entry).await
        }
        Decided::AlreadyDecided(request) => Err(refused(&request, what)),
        Decided::LinkClientMissing(request) => Err(Error::Conflict(format!(
            "no active client has ИНН {}; create the client first",
            request.inn.unwrap_or_default()
        ))
        .into()),
    }
}

#[utoipa::path(post, path = "/requests/{id}/approve", tag = "requests", params(("id" = i32, Path)),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = RequestDto), (status = 401, body = super::openapi::ErrorBody, description = "Not signed in"),
        (status = 404, body = super::openapi::ErrorBody, description = "No such request"),
        (status = 409, body = super::openapi::ErrorBody, description = "Already decided (details say by whom), or a link request without a client")))]
async fn approve(change: Change, Path(id): Path<i32>) -> Result<ApiJson<RequestDto>, ApiError> {
    decide(change, id, Decision::Approve).await
}

#[utoipa::path(post, path = "/requests/{id}/reject", tag = "requests", params(("id" = i32, Path)),
    request_body(content = RejectInput, description = "Optional; the body may be empty"),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = RequestDto), (status = 401, body = super::openapi::ErrorBody, description = "Not signed in"),
        (status = 404, body = super::openapi::ErrorBody, description = "No such request"),
        (status = 409, body = super::openapi::ErrorBody, description = "Already decided (details say by whom)"),
        (status = 422, body = super::openapi::ErrorBody, description = "The reason is too long")))]
async fn reject(
    change: Change,
    Path(id): Path<i32>,
    OptionalJson(input): OptionalJson<RejectInput>,
) -> Result<ApiJson<RequestDto>, ApiError> {
    decide(change, id, Decision::Reject { reason: input.reason }).await
}

/// A change of a request's work.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionInput {
    /// `start` (take the approved request, or resume after a question), `ask_client` (the
    /// request waits for the client's answer), `done`, or `reopen` (a closed request; admin
    /// role): done → in_progress, rejected or cancelled → pending.
    #[schema(max_length = 16)]
    pub action: String,
    /// The question to the client (required for `ask_client`, sent to them), or a comment on a
    /// reopen; at most 1000 characters.
    #[schema(max_length = 1000)]
    pub comment: Option<String>,
}

#[utoipa::path(post, path = "/requests/{id}/transitions", tag = "requests", params(("id" = i32, Path)),
    request_body = TransitionInput,
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = RequestDto, description = "The request after the change"),
        (status = 401, body = super::openapi::ErrorBody, description = "Not signed in"),
        (status = 403, body = super::openapi::ErrorBody, description = "A reopen without the admin role"),
        (status = 404, body = super::openapi::ErrorBody, description = "No such request"),
        (status = 409, body = super::openapi::ErrorBody, description = "The request's status does not allow the action now (details give the status and the actions that apply)"),
        (status = 422, body = super::openapi::ErrorBody, description = "An unknown action, a decision (use /approve or /reject), an action a link request never takes, or a missing or too long comment")))]
async fn transition(
    change: Change,
    Path(id): Path<i32>,
    ApiJson(input): ApiJson<TransitionInput>,
) -> Result<ApiJson<RequestDto>, ApiError> {
    let action = Action::parse(&input.action)
        .filter(|a| matches!(a, Action::Start | Action::AskClient | Action::Done | Action::Reopen))
        .ok_or_else(|| Error::invalid("action", "must be one of start, ask_client, done, reopen"))?;
    let write = change.core.begin().await?;
    let before = requests::get(&write, id).await?.ok_or(Error::NotFound("request"))?.status;
    let actor = actor(&change.user);
    let notifier = change.core.notifier.as_ref();
    let outcome = lifecycle::transition(&write, notifier, id, action, &actor, Channel::Api, input.comment).await?;
    match outcome {
        Transitioned::Done(request) => {
            let name = match action {
                Action::Start => "request.started",
                Action::AskClient => "request.asked_client",
                Action::Done => "request.done",
                _ => "request.reopened",
            };
            let entry = Entry::new(name, "request", request.id).with_details(serde_json::json!({
                "number": request.number,
                "status": [status_name(before), status_name(request.status)],
            }));
            change.commit(write, request, entry).await
        }
        Transitioned::Refused(request) => Err(refused(&request, action.name())),
    }
}

/// Who to assign a request to.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignInput {
    /// `user` (a dashboard user) or `administrator` (a Telegram administrator).
    #[schema(max_length = 16)]
    pub kind: String,
    /// The user's or administrator's id.
    #[schema(minimum = 1, maximum = 2147483647)]
    pub id: i64,
}

/// Assigns a request to a dashboard user or a Telegram administrator (any staff may). The
/// assignee gets the request in Telegram when they have a Telegram id; every administrator's copy
/// shows them. Audited as `request.assigned`.
#[utoipa::path(put, path = "/requests/{id}/assignee", tag = "requests", params(("id" = i32, Path)),
    request_body = AssignInput,
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = RequestDto, description = "The request as assigned (unchanged if it already was)"),
        (status = 401, body = super::openapi::ErrorBody, description = "Not signed in"),
        (status = 404, body = super::openapi::ErrorBody, description = "No such request"),
        (status = 409, body = super::openapi::ErrorBody, description = "The request is closed (done, rejected, cancelled), or changed meanwhile"),
        (status = 422, body = super::openapi::ErrorBody, description = "An unknown kind, or no active user or administrator with that id")))]
async fn assign(
    change: Change,
    Path(id): Path<i32>,
    ApiJson(input): ApiJson<AssignInput>,
) -> Result<ApiJson<RequestDto>, ApiError> {
    let target = i32::try_from(input.id)
        .ok()
        .filter(|id| *id > 0)
        .and_then(|id| Assignee::parse(&input.kind, id))
        .ok_or_else(|| Error::invalid("kind", "must be user or administrator, with the id of an active one"))?;
    set_assignee(change, id, Some(target)).await
}

/// Takes a request off whoever it is assigned to. Audited as `request.unassigned`.
#[utoipa::path(delete, path = "/requests/{id}/assignee", tag = "requests", params(("id" = i32, Path)),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = RequestDto, description = "The request, assigned to no one"),
        (status = 401, body = super::openapi::ErrorBody, description = "Not signed in"),
        (status = 404, body = super::openapi::ErrorBody, description = "No such request"),
        (status = 409, body = super::openapi::ErrorBody, description = "The request is closed, or changed meanwhile")))]
async fn unassign(change: Change, Path(id): Path<i32>) -> Result<ApiJson<RequestDto>, ApiError> {
    set_assignee(change, id, None).await
}

async fn set_assignee(change: Change, id: i32, to: Option<Assignee>) -> Result<ApiJson<RequestDto>, ApiError> {
    let write = change.core.begin().await?;
    let before = requests::get(&write, id).await?.ok_or(Error::NotFound("request"))?;
    let actor = actor(&change.user);
    match assignment::assign(&write, change.core.notifier.as_ref(), id, to, &actor, Channel::Api).await? {
        Assigned::Done(request) => {
            let name = |r: &Request| assignment::of(r).map(|a| format!("{}:{}", a.kind(), a.id()));
            let action = if to.is_some() { "request.assigned" } else { "request.unassigned" };
            let entry = Entry::new(action, "request", request.id).with_details(serde_json::json!({
                "number": request.number,
                "assignee": [name(&before), name(&request)],
            }));
            change.commit(write, request, entry).await
        }
        Assigned::Unchanged(request) => {
            let view = request_queries::view(&write, request).await?;
            write.rollback().await?;
            Ok(ApiJson(RequestDto::new(view, change.at)))
        }
        Assigned::Refused(request) => Err(Error::Conflict(format!(
            "request №{} is {}: its assignee does not change now",
            request.number,
            status_name(request.status)
        ))
        .into()),
    }
}

/// Who requests may be assigned to: the active dashboard users, then the active Telegram
/// administrators, each by name.
#[utoipa::path(get, path = "/assignees", tag = "requests",
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Vec<AssigneeDto>),
        (status = 401, body = super::openapi::ErrorBody, description = "Not signed in")))]
async fn assignees(
    _user: CurrentUser,
    State(db): State<DatabaseConnection>,
) -> Result<ApiJson<Vec<AssigneeDto>>, ApiError> {
    Ok(ApiJson(assignment::candidates(&db).await?.into_iter().map(Into::into).collect()))
}
