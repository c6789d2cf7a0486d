//! A request's owner: the technician it is assigned to, a dashboard user or a Telegram
//! administrator. The dashboard assigns anyone (or no one); taking the work (the lifecycle's
//! start, **Take** in Telegram) assigns whoever takes it. The assignee gets the request in Telegram
//! when they have a Telegram id, and the lists filter by assignee.

use std::collections::{BTreeSet, HashMap};

use chrono::Utc;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder};

use super::lifecycle::is_closed;
use super::requests::{Actor, Channel, RequestEvents, get, record_event};
use crate::entities::client_request;
use crate::entities::{administrator, telegram_user, user};
use crate::error::{Error, Result};

/// Who a request is assigned to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Assignee {
    /// A dashboard user (by id).
    User(i32),
    /// A Telegram administrator (by id).
    Administrator(i32),
}

impl Assignee {
    pub fn kind(self) -> &'static str {
        match self {
            Assignee::User(_) => "user",
            Assignee::Administrator(_) => "administrator",
        }
    }

    pub fn id(self) -> i32 {
        match self {
            Assignee::User(id) | Assignee::Administrator(id) => id,
        }
    }

    /// `user` or `administrator` with an id.
    pub fn parse(kind: &str, id: i32) -> Option<Assignee> {
        match kind {
            "user" => Some(Assignee::User(id)),
            "administrator" => Some(Assignee::Administrator(id)),
            _ => None,
        }
    }

    /// The assignee an actor is when they take the work themselves (a client never is).
    pub fn of_actor(actor: &Actor) -> Option<Assignee> {
        match actor {
            Actor::Administrator { id, .. } => Some(Assignee::Administrator(*id)),
            Actor::User { id, .. } => Some(Assignee::User(*id)),
            Actor::Client { .. } => None,
        }
    }
}

/// The request's assignee, if any.
pub fn of(request: &client_request::Model) -> Option<Assignee> {
    match (request.assignee_user_id, request.assignee_administrator_id) {
        (Some(id), _) => Some(Assignee::User(id)),
        (None, Some(id)) => Some(Assignee::Administrator(id)),
        (None, None) => None,
    }
}

/// An assignee as people read them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssigneeView {
    pub assignee: Assignee,
    pub name: String,
    /// Where the request reaches them in Telegram.
    pub telegram_id: Option<i64>,
    pub is_active: bool,
}

fn user_view(u: user::Model) -> AssigneeView {
    AssigneeView {
        assignee: Assignee::User(u.id),
        name: u.name.unwrap_or(u.email),
        telegram_id: u.telegram_id,
        is_active: u.is_active,
    }
}

/// An administrator by their name, else by the name their Telegram profile shows (as the bot
/// calls them), else by @username or id.
fn administrator_view(a: administrator::Model, profile: Option<&telegram_user::Model>) -> AssigneeView {
    let shown = profile.and_then(|p| {
        let name =
            [p.first_name.as_deref(), p.last_name.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ");
        (!name.is_empty()).then_some(name)
    });
    let name = a.name.or(shown).or(a.username.map(|u| format!("@{u}"))).unwrap_or_else(|| a.telegram_id.to_string());
    AssigneeView {
        assignee: Assignee::Administrator(a.id),
        name,
        telegram_id: Some(a.telegram_id),
        is_active: a.is_active,
    }
}

/// The assignees named, each fetched once (at most two queries, whatever the count).
pub async fn describe_all(
    db: &impl ConnectionTrait,
    assignees: impl IntoIterator<Item = Assignee>,
) -> Result<HashMap<Assignee, AssigneeView>> {
    let (mut users, mut administrators) = (BTreeSet::new(), BTreeSet::new());
    for assignee in assignees {
        match assignee {
            Assignee::User(id) => users.insert(id),
            Assignee::Administrator(id) => administrators.insert(id),
        };
    }
    let mut out = HashMap::new();
    if !users.is_empty() {
        for u in user::Entity::find().filter(user::Column::Id.is_in(users)).all(db).await? {
            let view = user_view(u);
            out.insert(view.assignee, view);
        }
    }
    if !administrators.is_empty() {
        let found =
            administrator::Entity::find().filter(administrator::Column::Id.is_in(administrators)).all(db).await?;
        for view in with_profiles(db, found).await? {
            out.insert(view.assignee, view);
        }
    }
    Ok(out)
}

/// Administrators as assignees, the profiles of those without a name fetched in one query.
async fn with_profiles(db: &impl ConnectionTrait, found: Vec<administrator::Model>) -> Result<Vec<AssigneeView>> {
    let nameless: Vec<i64> = found.iter().filter(|a| a.name.is_none()).map(|a| a.telegram_id).collect();
    let profiles: HashMap<i64, telegram_user::Model> = if nameless.is_empty() {
        HashMap::new()
    } else {
        telegram_user::Entity::find()
            .filter(telegram_user::Column::TelegramId.is_in(nameless))
            .all(db)
            .await?
            .into_iter()
            .map(|p| (p.telegram_id, p))
            .collect()
    };
    Ok(found
        .into_iter()
        .map(|a| {
            let p = profiles.get(&a.telegram_id);
            administrator_view(a, p)
        })
        .collect())
}

/// One assignee as people read them; none when they no longer exist.
pub async fn describe(db: &impl ConnectionTrait, assignee: Assignee) -> Result<Option<AssigneeView>> {
    Ok(describe_all(db, [assignee]).await?.remove(&assignee))
}

/// Who a request may be assigned to: the active dashboard users, then the active Telegram
/// administrators, each by name.
pub async fn candidates(db: &impl ConnectionTrait) -> Result<Vec<AssigneeView>> {
    let users = user::Entity::find().filter(user::Column::IsActive.eq(true)).order_by_asc(user::Column::Id).all(db);
    let mut out: Vec<AssigneeView> = users.await?.into_iter().map(user_view).collect();
    out.sort_by_key(|a| a.name.to_lowercase());
    let mut administrators = with_profiles(db, super::administrators::active(db).await?).await?;
    administrators.sort_by_key(|a| a.name.to_lowercase());
    out.extend(administrators);
    Ok(out)
}

/// What became of an assignment.
#[derive(Debug)]
pub enum Assigned {
    /// The request is now assigned so (or unassigned); the request as it is now.
    Done(client_request::Model),
    /// It already was: nothing changed, nothing sent.
    Unchanged(client_request::Model),
    /// The request is closed (done, rejected, cancelled), or its assignee or status changed
    /// since it was read: nothing changed.
    Refused(client_request::Model),
}

/// Assigns a request to `to` (none: to no one) on behalf of `actor`. The assignee must be an
/// active user or administrator; a closed request is refused. One conditional update on the
/// assignee and status read, so of two simultaneous assignments one stands and the other is
/// refused; recorded in the request's events, the new assignee told in
/// Telegram and every copy edited, in the same transaction.
pub async fn assign(
    txn: &DatabaseTransaction,
    events: &dyn RequestEvents,
    request_id: i32,
    to: Option<Assignee>,
    actor: &Actor,
    channel: Channel,
) -> Result<Assigned> {
    if matches!(actor, Actor::Client { .. }) {
        return Err(Error::invalid("actor", "a client cannot assign a request"));
    }
    let view = match to {
        Some(assignee) => {
            let view = describe(txn, assignee).await?.filter(|v| v.is_active).ok_or_else(|| {
                Error::invalid("assignee", format!("there is no active {} with id {}", assignee.kind(), assignee.id()))
            })?;
            Some(view)
        }
        None => None,
    };
    let request = get(txn, request_id).await?.ok_or(Error::NotFound("request"))?;
    if is_closed(request.status) {
        return Ok(Assigned::Refused(request));
    }
    let previous = of(&request);
    if previous == to {
        return Ok(Assigned::Unchanged(request));
    }
    if !set(txn, &request, to).await? {
        let now = get(txn, request_id).await?.ok_or(Error::NotFound("request"))?;
        return Ok(Assigned::Refused(now));
    }
    let request = get(txn, request_id).await?.ok_or(Error::NotFound("request"))?;
    let (event, details) = match &view {
        Some(view) => ("assigned", Some(view.name.clone())),
        None => ("unassigned", None),
    };
    record_event(txn, request.id, event, actor, channel, details).await?;
    events.request_assigned(txn, &request).await?;
    Ok(Assigned::Done(request))
}

/// Sets the assignee of `request` (as read) to `to` if it is still what was read and the request
/// is still open; whether it was set.
pub(super) async fn set(
    txn: &DatabaseTransaction,
    request: &client_request::Model,
    to: Option<Assignee>,
) -> Result<bool> {
    use client_request::Column;
    let (user_id, administrator_id) = match to {
        Some(Assignee::User(id)) => (Some(id), None),
        Some(Assignee::Administrator(id)) => (None, Some(id)),
        None => (None, None),
    };
    let mut update = client_request::Entity::update_many()
        .col_expr(Column::AssigneeUserId, user_id.into())
        .col_expr(Column::AssigneeAdministratorId, administrator_id.into())
        .col_expr(Column::AssignedAt, to.map(|_| Utc::now()).into())
        .col_expr(Column::UpdatedAt, Utc::now().into())
        .filter(Column::Id.eq(request.id))
        .filter(Column::Status.eq(request.status));
    update = match request.assignee_user_id {
        Some(id) => update.filter(Column::AssigneeUserId.eq(id)),
        None => update.filter(Column::AssigneeUserId.is_null()),
    };
    update = match request.assignee_administrator_id {
        Some(id) => update.filter(Column::AssigneeAdministratorId.eq(id)),
        None => update.filter(Column::AssigneeAdministratorId.is_null()),
    };
    Ok(update.exec(txn).await?.rows_affected == 1)
}

/// The open requests (not done, rejected or cancelled) assigned to someone, newest first.
pub async fn open_of(db: &impl ConnectionTrait, assignee: Assignee, limit: u64) -> Result<Vec<client_request::Model>> {
    use client_request::{Column, Status};
    use sea_orm::QuerySelect;
    let column = match assignee {
        Assignee::User(_) => Column::AssigneeUserId,
        Assignee::Administrator(_) => Column::AssigneeAdministratorId,
    };
    Ok(client_request::Entity::find()
        .filter(column.eq(assignee.id()))
        .filter(Column::Status.is_not_in([Status::Done, Status::Rejected, Status::Cancelled]))
        .order_by_desc(Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignees_parse_and_name_their_kind() {
        assert_eq!(Assignee::parse("user", 3), Some(Assignee::User(3)));
        assert_eq!(Assignee::parse("administrator", 4), Some(Assignee::Administrator(4)));
        assert_eq!(Assignee::parse("client", 4), None);
        assert_eq!(Assignee::Administrator(4).kind(), "administrator");
        let admin = Actor::Administrator { id: 7, telegram_id: 70, name: "Ольга".into() };
        assert_eq!(Assignee::of_actor(&admin), Some(Assignee::Administrator(7)));
        assert_eq!(Assignee::of_actor(&Actor::Client { telegram_id: 1, name: "Иван".into() }), None);
    }
}
