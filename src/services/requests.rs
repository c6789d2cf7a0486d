//! Requests and their decisions: the same functions serve Telegram and the REST API, so a
//! decision has the same effects wherever it is made. Messages caused by a change (the
//! administrators' copies, the client's answer, the edits after a decision) are written through
//! [`RequestEvents`] in the same transaction as the change.

use async_trait::async_trait;
use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, Statement,
};

use crate::entities::client_request;
pub use crate::entities::client_request::{Kind, Model as Request, Status};
pub use crate::entities::request_event::Model as RequestEvent;
pub use crate::entities::request_type::Model as RequestType;
use crate::entities::{request_comment, request_event, request_type};
use crate::error::{Error, Result};
use crate::services::lifecycle::{Action, Change, target};
use crate::services::telegram_users::Profile;

/// Longest description a client may send.
pub const MAX_DESCRIPTION_CHARS: usize = 2000;

/// Through which door a change came.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    Telegram,
    Api,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Telegram => "telegram",
            Channel::Api => "api",
        }
    }
}

/// Who made a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// The Telegram user who filed the request.
    Client { telegram_id: i64, name: String },
    /// A Telegram administrator.
    Administrator { id: i32, telegram_id: i64, name: String },
    /// A dashboard user; `admin` with the admin role.
    User { id: i32, name: String, admin: bool },
}

impl Actor {
    pub fn name(&self) -> &str {
        match self {
            Actor::Client { name, .. } | Actor::Administrator { name, .. } | Actor::User { name, .. } => name,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Actor::Client { .. } => "client",
            Actor::Administrator { .. } => "administrator",
            Actor::User { .. } => "user",
        }
    }

    pub fn id(&self) -> i64 {
        match self {
            Actor::Client { telegram_id, .. } => *telegram_id,
            Actor::Administrator { id, .. } | Actor::User { id, .. } => i64::from(*id),
        }
    }
}

/// The messages a change of a request causes; implemented by the Telegram adapter, called by
/// this service inside the change's transaction.
#[async_trait]
pub trait RequestEvents: Send + Sync {
    /// A new request: every active administrator gets a copy with decision buttons.
    async fn request_filed(&self, txn: &DatabaseTransaction, request: &client_request::Model) -> Result<()>;
    /// A decision: the client is told, every administrator's copy is edited.
    async fn request_decided(&self, txn: &DatabaseTransaction, request: &client_request::Model) -> Result<()>;
    /// A transition after filing other than a decision (work started, a question, done, a
    /// cancel, a reopen): the client is told (unless they made it), every copy is edited.
    async fn request_changed(
        &self,
        txn: &DatabaseTransaction,
        request: &client_request::Model,
        change: &Change,
    ) -> Result<()>;
    /// The request was assigned to someone else (or to no one): the new assignee is told in
    /// Telegram, every copy is edited.
    async fn request_assigned(&self, txn: &DatabaseTransaction, request: &client_request::Model) -> Result<()>;
    /// A new message in the request's thread: a client's comment reaches the assignee (all the
    /// administrators when there is none), a reply reaches the client, a note nobody. (A
    /// question reaches the client through [`Self::request_changed`].)
    async fn thread_message(
        &self,
        txn: &DatabaseTransaction,
        request: &client_request::Model,
        message: &request_comment::Model,
    ) -> Result<()>;
    /// The request still waits for its decision `hours` after filing: announced once more to
    /// the administrators.
    async fn decision_overdue(
        &self,
        txn: &DatabaseTransaction,
        request: &client_request::Model,
        hours: u32,
    ) -> Result<()>;
    /// The request is still not done `hours` after filing: its copies are flagged.
    async fn done_overdue(&self, txn: &DatabaseTransaction, request: &client_request::Model, hours: u32) -> Result<()>;
}

/// A service request as the client composed it.
pub struct NewServiceRequest {
    pub request_type_id: i32,
    pub description: String,
    pub photo_file_id: Option<String>,
    pub requester: Profile,
    /// Unique per composed request: a second Submit of the same composition files nothing new.
    pub submit_key: String,
}

pub enum Filed {
    New(client_request::Model),
    /// This composition was already submitted.
    Existing(client_request::Model),
}

/// Checks a description: 1 to 2000 characters once trimmed.
pub fn validate_description(text: &str) -> Result<String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Error::invalid("description", "is empty"));
    }
    let length = text.chars().count();
    if length > MAX_DESCRIPTION_CHARS {
        return Err(Error::invalid("description", format!("has {length} characters; at most {MAX_DESCRIPTION_CHARS}")));
    }
    Ok(text.to_string())
}

pub async fn active_types(db: &impl ConnectionTrait) -> Result<Vec<request_type::Model>> {
    Ok(request_type::Entity::find()
        .filter(request_type::Column::IsActive.eq(true))
        .order_by_asc(request_type::Column::SortOrder)
        .order_by_asc(request_type::Column::Id)
        .all(db)
        .await?)
}

pub async fn get_type(db: &impl ConnectionTrait, id: i32) -> Result<Option<request_type::Model>> {
    Ok(request_type::Entity::find_by_id(id).one(db).await?)
}

pub async fn get(db: &impl ConnectionTrait, id: i32) -> Result<Option<client_request::Model>> {
    Ok(client_request::Entity::find_by_id(id).one(db).await?)
}

/// The request `requester_telegram_id` filed with this Submit key, if any.
pub async fn by_submit_key(
    db: &impl ConnectionTrait,
    requester_telegram_id: i64,
    key: &str,
) -> Result<Option<Request>> {
    Ok(client_request::Entity::find()
        .filter(client_request::Column::SubmitKey.eq(key))
        .filter(client_request::Column::RequesterTelegramId.eq(requester_telegram_id))
        .one(db)
        .await?)
}

pub async fn find_by_number(db: &impl ConnectionTrait, number: i32) -> Result<Option<client_request::Model>> {
    Ok(client_request::Entity::find().filter(client_request::Column::Number.eq(number)).one(db).await?)
}

/// The next human-facing number. On PostgreSQL request creation is serialised with a
/// transaction-level advisory lock, on MySQL with the lock of the `request_numbering` row (both
/// held until the filing commits or rolls back); SQLite serialises writers already.
async fn next_number(txn: &DatabaseTransaction) -> Result<i32> {
    match txn.get_database_backend() {
        DbBackend::Postgres => {
            txn.execute_raw(Statement::from_string(DbBackend::Postgres, "SELECT pg_advisory_xact_lock(4242002)"))
                .await?;
        }
        DbBackend::MySql => {
            txn.query_one_raw(Statement::from_string(
                DbBackend::MySql,
                "SELECT id FROM request_numbering WHERE id = 1 FOR UPDATE",
            ))
            .await?;
        }
        _ => {}
    }
    let max: Option<i32> = client_request::Entity::find()
        .select_only()
        .column_as(client_request::Column::Number.max(), "max")
        .into_tuple()
        .one(txn)
        .await?
        .flatten();
    Ok(max.unwrap_or(0) + 1)
}

pub(super) async fn record_event(
    db: &impl ConnectionTrait,
    request_id: i32,
    event: &str,
    actor: &Actor,
    channel: Channel,
    details: Option<String>,
) -> Result<()> {
    request_event::ActiveModel {
        request_id: Set(request_id),
        event: Set(event.into()),
        channel: Set(channel.as_str().into()),
        actor_kind: Set(actor.kind().into()),
        actor_id: Set(Some(actor.id())),
        actor_name: Set(Some(actor.name().to_string())),
        details: Set(details),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

fn client_actor(profile: &Profile) -> Actor {
    Actor::Client { telegram_id: profile.telegram_id, name: profile.display_name() }
}

async fn insert(
    txn: &DatabaseTransaction,
    events: &dyn RequestEvents,
    mut row: client_request::ActiveModel,
    requester: &Profile,
    submit_key: Option<String>,
) -> Result<Filed> {
    let now = Utc::now();
    row.number = Set(next_number(txn).await?);
    row.requester_telegram_id = Set(requester.telegram_id);
    row.requester_name = Set(Some(requester.display_name()));
    row.requester_username = Set(requester.username.clone());
    row.status = Set(Status::Pending);
    row.submit_key = Set(submit_key.clone());
    row.created_at = Set(now);
    row.updated_at = Set(now);
    row.refresh_search(true)?;
    let inserted = crate::sql::insert_new(
        txn,
        client_request::Entity::insert(row),
        OnConflict::column(client_request::Column::SubmitKey).do_nothing().to_owned(),
    )
    .await?;
    let find = client_request::Entity::find();
    let find = match &submit_key {
        Some(key) => find.filter(client_request::Column::SubmitKey.eq(key.as_str())),
        None => find.order_by_desc(client_request::Column::Id),
    };
    let request = find.one(txn).await?.ok_or(Error::NotFound("request"))?;
    if inserted == 0 {
        return Ok(Filed::Existing(request));
    }
    record_event(txn, request.id, "filed", &client_actor(requester), Channel::Telegram, None).await?;
    events.request_filed(txn, &request).await?;
    Ok(Filed::New(request))
}

/// Files a service request (once per `submit_key`) and sends it to every administrator.
pub async fn file_service_request(
    txn: &DatabaseTransaction,
    events: &dyn RequestEvents,
    new: NewServiceRequest,
) -> Result<Filed> {
    let description = validate_description(&new.description)?;
    let client = super::contacts::linked_client(txn, new.requester.telegram_id).await?;
    let row = client_request::ActiveModel {
        kind: Set(Kind::Service),
        request_type_id: Set(Some(new.request_type_id)),
        description: Set(description),
        photo_file_id: Set(new.photo_file_id),
        client_id: Set(client.map(|c| c.id)),
        inn: Set(None),
        ..Default::default()
    };
    insert(txn, events, row, &new.requester, Some(new.submit_key)).await
}

/// Files a request to link the user to the client with this ИНН (already validated), unless
/// one from this user for this ИНН is pending: then that one is returned.
pub async fn file_link_request(
    txn: &DatabaseTransaction,
    events: &dyn RequestEvents,
    requester: &Profile,
    inn: &str,
) -> Result<Filed> {
    let pending = client_request::Entity::find()
        .filter(client_request::Column::Kind.eq(Kind::Link))
        .filter(client_request::Column::Status.eq(Status::Pending))
        .filter(client_request::Column::RequesterTelegramId.eq(requester.telegram_id))
        .filter(client_request::Column::Inn.eq(inn))
        .one(txn)
        .await?;
    if let Some(existing) = pending {
        return Ok(Filed::Existing(existing));
    }
    let client = super::clients::find_by_inn(txn, inn).await?;
    let row = client_request::ActiveModel {
        kind: Set(Kind::Link),
        request_type_id: Set(None),
        description: Set(format!("ИНН {inn}")),
        photo_file_id: Set(None),
        client_id: Set(client.map(|c| c.id)),
        inn: Set(Some(inn.to_string())),
        ..Default::default()
    };
    insert(txn, events, row, requester, None).await
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject { reason: Option<String> },
}

#[derive(Debug)]
pub enum Decided {
    /// This decision stands.
    Done(client_request::Model),
    /// Someone decided (or the client cancelled) first; nothing changed.
    AlreadyDecided(client_request::Model),
    /// A link request whose ИНН matches no client cannot be approved.
    LinkClientMissing(client_request::Model),
}

/// Decides a request if, and only if, it is still pending (one conditional update: of two
/// simultaneous decisions exactly one stands). The client is told and every administrator's
/// copy edited, in the same transaction.
pub async fn decide(
    txn: &DatabaseTransaction,
    events: &dyn RequestEvents,
    request_id: i32,
    decision: Decision,
    actor: &Actor,
    channel: Channel,
) -> Result<Decided> {
    let request = get(txn, request_id).await?.ok_or(Error::NotFound("request"))?;
    let action = if decision == Decision::Approve { Action::Approve } else { Action::Reject };
    if target(request.kind, request.status, action).is_none() {
        return Ok(Decided::AlreadyDecided(request));
    }
    let link_client = match (&decision, request.kind) {
        (Decision::Approve, Kind::Link) => {
            let inn = request.inn.clone().unwrap_or_default();
            match super::clients::find_by_inn(txn, &inn).await?.filter(|c| c.is_active) {
                Some(client) => Some(client),
                None => return Ok(Decided::LinkClientMissing(request)),
            }
        }
        _ => None,
    };
    let (status, reason) = match &decision {
        Decision::Approve => (Status::Approved, None),
        Decision::Reject { reason } => {
            (Status::Rejected, reason.as_deref().map(str::trim).filter(|r| !r.is_empty()).map(str::to_string))
        }
    };
    let now = Utc::now();
    let (admin_id, user_id) = match actor {
        Actor::Administrator { id, .. } => (Some(*id), None),
        Actor::User { id, .. } => (None, Some(*id)),
        Actor::Client { .. } => return Err(Error::invalid("actor", "a client cannot decide a request")),
    };
    let updated = client_request::Entity::update_many()
        .col_expr(client_request::Column::Status, status.into())
        .col_expr(client_request::Column::DecidedBy, Some(actor.name().to_string()).into())
        .col_expr(client_request::Column::DecidedByAdministratorId, admin_id.into())
        .col_expr(client_request::Column::DecidedByUserId, user_id.into())
        .col_expr(client_request::Column::DecidedAt, Some(now).into())
        .col_expr(client_request::Column::Reason, reason.clone().into())
        .col_expr(client_request::Column::UpdatedAt, now.into())
        .filter(client_request::Column::Id.eq(request_id))
        .filter(client_request::Column::Status.eq(Status::Pending))
        .exec(txn)
        .await?;
    let request = get(txn, request_id).await?.ok_or(Error::NotFound("request"))?;
    if updated.rows_affected == 0 {
        return Ok(Decided::AlreadyDecided(request));
    }
    if let Some(client) = link_client {
        super::contacts::link(txn, client.id, request.requester_telegram_id, request.requester_name.clone()).await?;
        client_request::Entity::update_many()
            .col_expr(client_request::Column::ClientId, Some(client.id).into())
            .filter(client_request::Column::Id.eq(request_id))
            .exec(txn)
            .await?;
    }
    let event = if status == Status::Approved { "approved" } else { "rejected" };
    record_event(txn, request_id, event, actor, channel, reason).await?;
    let request = get(txn, request_id).await?.ok_or(Error::NotFound("request"))?;
    events.request_decided(txn, &request).await?;
    Ok(Decided::Done(request))
}

/// A requester's latest requests, newest first.
pub async fn of_requester(
    db: &impl ConnectionTrait,
    telegram_id: i64,
    limit: u64,
) -> Result<Vec<client_request::Model>> {
    Ok(client_request::Entity::find()
        .filter(client_request::Column::RequesterTelegramId.eq(telegram_id))
        .order_by_desc(client_request::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// Pending requests, oldest first.
pub async fn pending(db: &impl ConnectionTrait, limit: u64) -> Result<Vec<client_request::Model>> {
    Ok(client_request::Entity::find()
        .filter(client_request::Column::Status.eq(Status::Pending))
        .order_by_asc(client_request::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_are_bounded() {
        assert_eq!(validate_description("  замена ФН  ").unwrap(), "замена ФН");
        assert!(validate_description("   ").is_err());
        assert!(validate_description(&"я".repeat(2000)).is_ok());
        assert!(validate_description(&"я".repeat(2001)).is_err());
    }
}
