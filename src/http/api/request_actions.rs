//! What staff do to a request from the dashboard: decide it (`/approve`, `/reject`) and work it
//! (`/transitions`: start, ask the client, done, reopen). Each goes through the service the bot
//! uses ([`requests::decide`], [`lifecycle::transition`]), so the administrators' copies are
//! edited and the client is told exactly as after a tap, and each is audited in its own
//! transaction.

use std::sync::Arc;

use async_trait::async_trait;
use axum::extract::{Path, State};
use sea_orm::{DatabaseConnection, DatabaseTransaction};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::audit::{Origin, begin};
use super::extract::ApiJson;
use super::jwt::CurrentUser;
use super::requests::{RequestDto, status_name};
use crate::entities::client_request::{self, Status};
use crate::entities::user::Role;
use crate::error::Error;
use crate::http::{ApiError, AppState};
use crate::inbound::Inbound;
use crate::services::audit::{self, Entry};
use crate::services::lifecycle::{self, Action, Change, Transitioned};
use crate::services::request_queries;
use crate::services::requests::{self, Actor, Channel, Decided, Decision, RequestEvents};
use crate::telegram::sender::SenderHandle;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(approve)).routes(routes!(reject)).routes(routes!(transition))
}

/// The reason of a rejection.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct RejectInput {
    /// Shown to the client.
    pub reason: Option<String>,
}

/// With the bot off nothing is sent: the change is only recorded.
struct Silent;

#[async_trait]
impl RequestEvents for Silent {
    async fn request_filed(&self, _: &DatabaseTransaction, _: &client_request::Model) -> crate::error::Result<()> {
        Ok(())
    }
    async fn request_decided(&self, _: &DatabaseTransaction, _: &client_request::Model) -> crate::error::Result<()> {
        Ok(())
    }
    async fn request_changed(
        &self,
        _: &DatabaseTransaction,
        _: &client_request::Model,
        _: &Change,
    ) -> crate::error::Result<()> {
        Ok(())
    }
}

fn notifier(inbound: &Option<Arc<Inbound>>) -> Arc<dyn RequestEvents> {
    match inbound {
        Some(inbound) => inbound.notifier(),
        None => Arc::new(Silent),
    }
}

fn actor(user: &CurrentUser) -> Actor {
    Actor::User { id: user.id, name: user.label(), admin: user.role == Role::Admin }
}

/// 409 for a request whose status does not allow the action; the details say its status and
/// what applies now.
fn refused(request: &client_request::Model, what: &str) -> ApiError {
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

async fn decide(
    user: CurrentUser,
    origin: Origin,
    db: DatabaseConnection,
    inbound: Option<Arc<Inbound>>,
    sender: Option<SenderHandle>,
    id: i32,
    decision: Decision,
) -> Result<ApiJson<RequestDto>, ApiError> {
    if let Decision::Reject { reason: Some(reason) } = &decision
        && reason.chars().count() > 1000
    {
        return Err(Error::invalid("reason", "must be at most 1000 characters").into());
    }
    let what = if decision == Decision::Approve { "approve" } else { "reject" };
    let notifier = notifier(&inbound);
    let txn = begin(&db).await?;
    let outcome = requests::decide(&txn, notifier.as_ref(), id, decision, &actor(&user), Channel::Api).await?;
    match outcome {
        Decided::Done(request) => {
            let action = if request.status == Status::Approved { "request.approved" } else { "request.rejected" };
            let entry = Entry::new(action, "request", request.id).with_details(serde_json::json!({
                "number": request.number,
                "status": status_name(request.status),
                "reason": request.reason,
            }));
            let view = request_queries::view(&txn, request).await?;
            audit::commit(txn, &origin.of(&user), entry).await?;
            if let Some(sender) = &sender {
                sender.wake();
            }
            Ok(ApiJson(view.into()))
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
async fn approve(
    user: CurrentUser,
    origin: Origin,
    State(db): State<DatabaseConnection>,
    State(inbound): State<Option<Arc<Inbound>>>,
    State(sender): State<Option<SenderHandle>>,
    Path(id): Path<i32>,
) -> Result<ApiJson<RequestDto>, ApiError> {
    decide(user, origin, db, inbound, sender, id, Decision::Approve).await
}

#[utoipa::path(post, path = "/requests/{id}/reject", tag = "requests", params(("id" = i32, Path)),
    request_body(content = RejectInput, description = "Optional; the body may be empty"),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = RequestDto), (status = 401, body = super::openapi::ErrorBody, description = "Not signed in"),
        (status = 404, body = super::openapi::ErrorBody, description = "No such request"),
        (status = 409, body = super::openapi::ErrorBody, description = "Already decided (details say by whom)"),
        (status = 422, body = super::openapi::ErrorBody, description = "The reason is too long")))]
async fn reject(
    user: CurrentUser,
    origin: Origin,
    State(db): State<DatabaseConnection>,
    State(inbound): State<Option<Arc<Inbound>>>,
    State(sender): State<Option<SenderHandle>>,
    Path(id): Path<i32>,
    body: axum::body::Bytes,
) -> Result<ApiJson<RequestDto>, ApiError> {
    let input: RejectInput = if body.iter().all(u8::is_ascii_whitespace) {
        RejectInput::default()
    } else {
        let invalid = |e: serde_json::Error| ApiError::from(Error::invalid("reason", e.to_string()));
        let value: serde_json::Value = serde_json::from_slice(&body).map_err(invalid)?;
        super::extract::refuse_nul(&value)?;
        serde_json::from_value(value).map_err(invalid)?
    };
    decide(user, origin, db, inbound, sender, id, Decision::Reject { reason: input.reason }).await
}

/// A change of a request's work.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionInput {
    /// `start` (take the approved request, or resume after a question), `ask_client` (the
    /// request waits for the client's answer), `done`, or `reopen` (a closed request; admin
    /// role): done → in_progress, rejected or cancelled → pending.
    pub action: String,
    /// The question to the client (required for `ask_client`, sent to them), or a comment on a
    /// reopen; at most 1000 characters.
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
    user: CurrentUser,
    origin: Origin,
    State(db): State<DatabaseConnection>,
    State(inbound): State<Option<Arc<Inbound>>>,
    State(sender): State<Option<SenderHandle>>,
    Path(id): Path<i32>,
    ApiJson(input): ApiJson<TransitionInput>,
) -> Result<ApiJson<RequestDto>, ApiError> {
    let action = Action::parse(&input.action)
        .filter(|a| matches!(a, Action::Start | Action::AskClient | Action::Done | Action::Reopen))
        .ok_or_else(|| Error::invalid("action", "must be one of start, ask_client, done, reopen"))?;
    let notifier = notifier(&inbound);
    let txn = begin(&db).await?;
    let before = requests::get(&txn, id).await?.ok_or(Error::NotFound("request"))?.status;
    let outcome =
        lifecycle::transition(&txn, notifier.as_ref(), id, action, &actor(&user), Channel::Api, input.comment).await?;
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
            let view = request_queries::view(&txn, request).await?;
            audit::commit(txn, &origin.of(&user), entry).await?;
            if let Some(sender) = &sender {
                sender.wake();
            }
            Ok(ApiJson(view.into()))
        }
        Transitioned::Refused(request) => Err(refused(&request, action.name())),
    }
}
