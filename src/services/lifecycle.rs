//! A request's lifecycle after filing: which action applies to a request as it is now, and the
//! transitions after the decision (work started, a question to the client, done, a client's
//! cancel, an administrator's reopen). The decisions themselves (approve, reject) are
//! [`super::requests::decide`]; they follow the same table.
//!
//! ```text
//! pending ──approve──▶ approved ──start──▶ in_progress ──done──▶ done
//!    │  ╲                 │  ╲               ▲    │                │
//!  reject ╲cancel       ask  ╲cancel      start  ask             reopen → in_progress
//!    ▼      ▼             ▼    ▼              │    ▼
//! rejected  cancelled   waiting_for_client ───┘ (done from here too)
//! rejected, cancelled ──reopen──▶ pending
//! ```
//!
//! Every transition is one conditional update (`WHERE status = <the status it was read in>`),
//! so of two simultaneous actions on a request at most one stands, recorded in
//! `request_events` with who and where, its messages queued in the same transaction. Whoever
//! starts the work becomes the request's assignee; a question to the client is also a message of
//! the request's thread.

use chrono::Utc;
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter};

use super::requests::{Actor, Channel, RequestEvents, get, record_event};
use crate::entities::client_request::{self, Kind, Status};
use crate::entities::request_comment;
use crate::error::{Error, Result};
use crate::services::assignment::{self, Assignee};
use crate::services::telegram_users::Profile;
use crate::services::thread::{self, NewMessage};

/// Longest question or comment that goes with a transition.
pub const MAX_COMMENT_CHARS: usize = 1000;

/// What someone does to a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    Approve,
    Reject,
    /// The work starts (or resumes after the client answered).
    Start,
    /// Staff ask the client a question and wait for the answer.
    AskClient,
    Done,
    /// The client withdraws the request.
    Cancel,
    /// An administrator opens a closed request again.
    Reopen,
}

impl Action {
    pub const ALL: [Action; 7] = [
        Action::Approve,
        Action::Reject,
        Action::Start,
        Action::AskClient,
        Action::Done,
        Action::Cancel,
        Action::Reopen,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Action::Approve => "approve",
            Action::Reject => "reject",
            Action::Start => "start",
            Action::AskClient => "ask_client",
            Action::Done => "done",
            Action::Cancel => "cancel",
            Action::Reopen => "reopen",
        }
    }

    pub fn parse(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The event it is recorded as.
    fn event(self) -> &'static str {
        match self {
            Action::Approve => "approved",
            Action::Reject => "rejected",
            Action::Start => "started",
            Action::AskClient => "asked_client",
            Action::Done => "done",
            Action::Cancel => "cancelled",
            Action::Reopen => "reopened",
        }
    }
}

/// A request no action but a reopen changes.
pub fn is_closed(status: Status) -> bool {
    matches!(status, Status::Done | Status::Rejected | Status::Cancelled)
}

/// The status `action` moves a request of `kind` in `status` to; `None` when it does not apply
/// now. A link request is done once decided: it is never started, asked about or done.
pub fn target(kind: Kind, status: Status, action: Action) -> Option<Status> {
    use Status::*;
    match (action, status) {
        (Action::Approve, Pending) => Some(Approved),
        (Action::Reject, Pending) => Some(Rejected),
        (Action::Cancel, Pending) => Some(Cancelled),
        (Action::Reopen, Rejected | Cancelled) => Some(Pending),
        _ if kind == Kind::Link => None,
        (Action::Cancel, Approved) => Some(Cancelled),
        (Action::Start, Approved | WaitingForClient) => Some(InProgress),
        (Action::AskClient, Approved | InProgress) => Some(WaitingForClient),
        (Action::Done, InProgress | WaitingForClient) => Some(Done),
        (Action::Reopen, Done) => Some(InProgress),
        _ => None,
    }
}

/// The actions staff may take on a request of `kind` in `status` now (the client's cancel aside).
pub fn staff_actions(kind: Kind, status: Status) -> Vec<Action> {
    Action::ALL.into_iter().filter(|a| *a != Action::Cancel && target(kind, status, *a).is_some()).collect()
}

/// What changed, for the messages it causes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub action: Action,
    /// The status before.
    pub from: Status,
    /// The question to the client, or a comment on a reopen.
    pub comment: Option<String>,
    /// The question as a message of the request's thread (an `ask_client` only).
    pub question: Option<request_comment::Model>,
}

#[derive(Debug)]
pub enum Transitioned {
    /// The action stands; the request as it is now.
    Done(client_request::Model),
    /// The action does not apply to the request as it is now (its status is in the model):
    /// nothing changed.
    Refused(client_request::Model),
}

fn check_comment(action: Action, comment: Option<String>) -> Result<Option<String>> {
    let comment = comment.map(|c| c.trim().to_string()).filter(|c| !c.is_empty());
    if let Some(c) = &comment {
        let length = c.chars().count();
        if length > MAX_COMMENT_CHARS {
            return Err(Error::invalid("comment", format!("has {length} characters; at most {MAX_COMMENT_CHARS}")));
        }
    }
    if action == Action::AskClient && comment.is_none() {
        return Err(Error::invalid("comment", "the question to the client is empty"));
    }
    Ok(comment)
}

/// Applies a staff action after the decision (start, ask the client, done, reopen) if it applies
/// to the request as it is now. Refused, nothing changes; an action that never applies to this
/// kind of request, or a question without text, is invalid; a reopen by anyone but an
/// administrator is forbidden.
pub async fn transition(
    txn: &DatabaseTransaction,
    events: &dyn RequestEvents,
    request_id: i32,
    action: Action,
    actor: &Actor,
    channel: Channel,
    comment: Option<String>,
) -> Result<Transitioned> {
    match action {
        Action::Start | Action::AskClient | Action::Done | Action::Reopen => {}
        Action::Approve | Action::Reject | Action::Cancel => {
            return Err(Error::invalid("action", format!("{} is not a transition of work", action.name())));
        }
    }
    match actor {
        Actor::Client { .. } => return Err(Error::invalid("actor", "a client cannot work on a request")),
        Actor::User { admin: false, .. } if action == Action::Reopen => {
            return Err(Error::Forbidden("only an administrator may reopen a request".into()));
        }
        _ => {}
    }
    let comment = check_comment(action, comment)?;
    let request = get(txn, request_id).await?.ok_or(Error::NotFound("request"))?;
    if request.kind == Kind::Link && action != Action::Reopen {
        return Err(Error::invalid("action", "a link request is done once it is decided"));
    }
    apply(txn, events, request, action, actor, channel, comment).await
}

/// The requester withdraws their request while it is pending or approved.
pub async fn cancel_by_requester(
    txn: &DatabaseTransaction,
    events: &dyn RequestEvents,
    request_id: i32,
    requester: &Profile,
) -> Result<Transitioned> {
    let request = get(txn, request_id)
        .await?
        .filter(|r| r.requester_telegram_id == requester.telegram_id)
        .ok_or(Error::NotFound("request"))?;
    let actor = Actor::Client { telegram_id: requester.telegram_id, name: requester.display_name() };
    apply(txn, events, request, Action::Cancel, &actor, Channel::Telegram, None).await
}

async fn apply(
    txn: &DatabaseTransaction,
    events: &dyn RequestEvents,
    request: client_request::Model,
    action: Action,
    actor: &Actor,
    channel: Channel,
    comment: Option<String>,
) -> Result<Transitioned> {
    let Some(to) = target(request.kind, request.status, action) else { return Ok(Transitioned::Refused(request)) };
    let from = request.status;
    let now = Utc::now();
    let mut update = client_request::Entity::update_many()
        .col_expr(client_request::Column::Status, to.into())
        .col_expr(client_request::Column::UpdatedAt, now.into());
    if to == Status::InProgress && action == Action::Start {
        update = update.col_expr(client_request::Column::StartedAt, Some(now).into());
        // Whoever takes the work is its assignee.
        if let Some(taker) = Assignee::of_actor(actor).filter(|t| assignment::of(&request) != Some(*t)) {
            let (user_id, administrator_id) = match taker {
                Assignee::User(id) => (Some(id), None),
                Assignee::Administrator(id) => (None, Some(id)),
            };
            update = update
                .col_expr(client_request::Column::AssigneeUserId, user_id.into())
                .col_expr(client_request::Column::AssigneeAdministratorId, administrator_id.into())
                .col_expr(client_request::Column::AssignedAt, Some(now).into());
        }
    }
    match to {
        Status::Done => update = update.col_expr(client_request::Column::DoneAt, Some(now).into()),
        Status::InProgress if from == Status::Done => {
            update = update.col_expr(client_request::Column::DoneAt, Option::<chrono::DateTime<Utc>>::None.into());
        }
        // Reopened for a new decision: the old one is kept in the events only.
        Status::Pending => {
            update = update
                .col_expr(client_request::Column::DecidedBy, Option::<String>::None.into())
                .col_expr(client_request::Column::DecidedByAdministratorId, Option::<i32>::None.into())
                .col_expr(client_request::Column::DecidedByUserId, Option::<i32>::None.into())
                .col_expr(client_request::Column::DecidedAt, Option::<chrono::DateTime<Utc>>::None.into())
                .col_expr(client_request::Column::Reason, Option::<String>::None.into());
        }
        _ => {}
    }
    let updated = update
        .filter(client_request::Column::Id.eq(request.id))
        .filter(client_request::Column::Status.eq(from))
        .exec(txn)
        .await?;
    let request = get(txn, request.id).await?.ok_or(Error::NotFound("request"))?;
    if updated.rows_affected == 0 {
        return Ok(Transitioned::Refused(request));
    }
    record_event(txn, request.id, action.event(), actor, channel, comment.clone()).await?;
    let question = match (action, &comment) {
        (Action::AskClient, Some(text)) => {
            let new = NewMessage { kind: request_comment::Kind::Question, text: Some(text.clone()), attachment: None };
            Some(thread::insert(txn, request.id, actor, channel, new).await?)
        }
        _ => None,
    };
    events.request_changed(txn, &request, &Change { action, from, comment, question }).await?;
    Ok(Transitioned::Done(request))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::Iterable;

    #[test]
    fn a_service_request_is_worked_to_done() {
        let k = Kind::Service;
        assert_eq!(target(k, Status::Pending, Action::Approve), Some(Status::Approved));
        assert_eq!(target(k, Status::Approved, Action::Start), Some(Status::InProgress));
        assert_eq!(target(k, Status::InProgress, Action::AskClient), Some(Status::WaitingForClient));
        assert_eq!(target(k, Status::WaitingForClient, Action::Start), Some(Status::InProgress));
        assert_eq!(target(k, Status::InProgress, Action::Done), Some(Status::Done));
        assert_eq!(target(k, Status::Done, Action::Reopen), Some(Status::InProgress));
        assert_eq!(target(k, Status::Approved, Action::Cancel), Some(Status::Cancelled));
        assert_eq!(target(k, Status::Rejected, Action::Reopen), Some(Status::Pending));
        assert_eq!(target(k, Status::Cancelled, Action::Reopen), Some(Status::Pending));
    }

    #[test]
    fn no_done_before_approval_and_nothing_on_a_closed_request_but_a_reopen() {
        for kind in Kind::iter() {
            for action in [Action::Start, Action::Done, Action::AskClient] {
                assert_eq!(target(kind, Status::Pending, action), None, "{action:?} on a pending request");
            }
            for status in Status::iter().filter(|s| is_closed(*s)) {
                for action in Action::ALL.into_iter().filter(|a| *a != Action::Reopen) {
                    assert_eq!(target(kind, status, action), None, "{action:?} on a {status:?} request");
                }
            }
            for status in Status::iter().filter(|s| !is_closed(*s)) {
                assert_eq!(target(kind, status, Action::Reopen), None, "reopen of an open {status:?} request");
            }
            for status in [Status::InProgress, Status::WaitingForClient] {
                assert_eq!(target(kind, status, Action::Cancel), None, "the client cancels work under way");
            }
        }
    }

    #[test]
    fn a_link_request_is_only_decided() {
        let k = Kind::Link;
        assert_eq!(staff_actions(k, Status::Pending), [Action::Approve, Action::Reject]);
        assert_eq!(staff_actions(k, Status::Approved), []);
        assert_eq!(target(k, Status::Approved, Action::Cancel), None);
        assert_eq!(staff_actions(k, Status::Rejected), [Action::Reopen]);
    }

    #[test]
    fn staff_actions_follow_the_status() {
        let k = Kind::Service;
        assert_eq!(staff_actions(k, Status::Pending), [Action::Approve, Action::Reject]);
        assert_eq!(staff_actions(k, Status::Approved), [Action::Start, Action::AskClient]);
        assert_eq!(staff_actions(k, Status::InProgress), [Action::AskClient, Action::Done]);
        assert_eq!(staff_actions(k, Status::WaitingForClient), [Action::Start, Action::Done]);
        assert_eq!(staff_actions(k, Status::Done), [Action::Reopen]);
        for action in Action::ALL {
            assert_eq!(Action::parse(action.name()), Some(action));
        }
        assert_eq!(Action::parse("finish"), None);
    }
}
