//! Requests as staff browse them: lists with filters and a request with its audit trail, each
//! with the names a person reads (its type's and its client's).
//! Decisions go through [`super::requests::decide`], the same function the bot uses.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::assignment::{self, Assignee, AssigneeView};
use super::listing::{self, ListParams, Listed, check_range, day_start};
use crate::entities::client_request::{self, Kind, Status};
use crate::entities::{client, request_event, request_type};
use crate::error::{Error, Result};

/// A request with what a person needs to read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestView {
    pub request: client_request::Model,
    /// The request's type (none for link requests, or if the type was removed).
    pub request_type: Option<request_type::Model>,
    /// The name of the request's client (none when no client is attached).
    pub client_name: Option<String>,
    /// Who it is assigned to (none when no one is, or they no longer exist).
    pub assignee: Option<AssigneeView>,
}

/// Attaches the types, client names and assignees to some requests: at most four queries,
/// whatever the count (the types, clients and assignees the requests refer to, each fetched once).
pub async fn views(db: &impl ConnectionTrait, requests: Vec<client_request::Model>) -> Result<Vec<RequestView>> {
    let type_ids: BTreeSet<i32> = requests.iter().filter_map(|r| r.request_type_id).collect();
    let client_ids: BTreeSet<i32> = requests.iter().filter_map(|r| r.client_id).collect();
    let types: HashMap<i32, request_type::Model> = if type_ids.is_empty() {
        HashMap::new()
    } else {
        request_type::Entity::find()
            .filter(request_type::Column::Id.is_in(type_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|t| (t.id, t))
            .collect()
    };
    let client_names: HashMap<i32, String> = if client_ids.is_empty() {
        HashMap::new()
    } else {
        client::Entity::find()
            .select_only()
            .column(client::Column::Id)
            .column(client::Column::Name)
            .filter(client::Column::Id.is_in(client_ids))
            .into_tuple::<(i32, String)>()
            .all(db)
            .await?
            .into_iter()
            .collect()
    };
    let assignees = assignment::describe_all(db, requests.iter().filter_map(assignment::of)).await?;
    Ok(requests
        .into_iter()
        .map(|request| RequestView {
            request_type: request.request_type_id.and_then(|id| types.get(&id).cloned()),
            client_name: request.client_id.and_then(|id| client_names.get(&id).cloned()),
            assignee: assignment::of(&request).and_then(|a| assignees.get(&a).cloned()),
            request,
        })
        .collect())
}

/// One request with its type and client name.
pub async fn view(db: &impl ConnectionTrait, request: client_request::Model) -> Result<RequestView> {
    let mut views = views(db, vec![request]).await?;
    views.pop().ok_or(Error::NotFound("request"))
}

#[derive(Clone, Debug, Default)]
pub struct RequestFilter {
    pub status: Option<Status>,
    pub kind: Option<Kind>,
    pub request_type_id: Option<i32>,
    pub client_id: Option<i32>,
    /// Filed on or after this day (UTC).
    pub from: Option<NaiveDate>,
    /// Filed on or before this day (UTC).
    pub to: Option<NaiveDate>,
    pub assignee: Option<AssigneeFilter>,
}

/// Whose requests a list shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssigneeFilter {
    /// Assigned to this one.
    Is(Assignee),
    /// Assigned to no one.
    Nobody,
}

pub async fn list(
    db: &impl ConnectionTrait,
    params: &ListParams,
    filter: &RequestFilter,
) -> Result<Listed<RequestView>> {
    let query = list_query(params, filter)?;
    let listed = listing::fetch(db, query, params.page, params.per_page).await?;
    Ok(Listed { items: views(db, listed.items).await?, total: listed.total })
}

/// The requests [`list`] reads, in its order.
pub(crate) fn list_query(
    params: &ListParams,
    filter: &RequestFilter,
) -> Result<sea_orm::Select<client_request::Entity>> {
    let mut query = client_request::Entity::find();
    if let Some(q) = params.search() {
        let mut any = Condition::any().add(listing::matches(client_request::Column::Search, q));
        if let Ok(number) = q.trim_start_matches('№').trim_start_matches('#').parse::<i32>() {
            any = any.add(client_request::Column::Number.eq(number));
        }
        query = query.filter(any);
    }
    if let Some(status) = filter.status {
        query = query.filter(client_request::Column::Status.eq(status));
    }
    if let Some(kind) = filter.kind {
        query = query.filter(client_request::Column::Kind.eq(kind));
    }
    if let Some(id) = filter.request_type_id {
        query = query.filter(client_request::Column::RequestTypeId.eq(id));
    }
    if let Some(id) = filter.client_id {
        query = query.filter(client_request::Column::ClientId.eq(id));
    }
    match filter.assignee {
        Some(AssigneeFilter::Is(Assignee::User(id))) => {
            query = query.filter(client_request::Column::AssigneeUserId.eq(id));
        }
        Some(AssigneeFilter::Is(Assignee::Administrator(id))) => {
            query = query.filter(client_request::Column::AssigneeAdministratorId.eq(id));
        }
        Some(AssigneeFilter::Nobody) => {
            query = query
                .filter(client_request::Column::AssigneeUserId.is_null())
                .filter(client_request::Column::AssigneeAdministratorId.is_null());
        }
        None => {}
    }
    check_range(filter.from, filter.to)?;
    if let Some(from) = filter.from {
        query = query.filter(client_request::Column::CreatedAt.gte(day_start(from)));
    }
    if let Some(to) = filter.to {
        query = query.filter(client_request::Column::CreatedAt.lt(day_start(to) + Duration::days(1)));
    }
    listing::sorted(
        query,
        params.sort.as_deref(),
        &[
            ("id", client_request::Column::Id),
            ("number", client_request::Column::Number),
            ("status", client_request::Column::Status),
            ("created_at", client_request::Column::CreatedAt),
            ("decided_at", client_request::Column::DecidedAt),
            ("assigned_at", client_request::Column::AssignedAt),
        ],
        "-id",
        client_request::Column::Id,
    )
}

/// A request (with its type and client name) and its events, oldest first.
pub async fn detail(db: &impl ConnectionTrait, id: i32) -> Result<(RequestView, Vec<request_event::Model>)> {
    let request = client_request::Entity::find_by_id(id).one(db).await?.ok_or(Error::NotFound("request"))?;
    let events = request_event::Entity::find()
        .filter(request_event::Column::RequestId.eq(id))
        .order_by_asc(request_event::Column::Id)
        .all(db)
        .await?;
    Ok((view(db, request).await?, events))
}

/// The latest change of the request's status on record (assignments left out), if any.
pub async fn latest_change(db: &impl ConnectionTrait, request_id: i32) -> Result<Option<request_event::Model>> {
    Ok(request_event::Entity::find()
        .filter(request_event::Column::RequestId.eq(request_id))
        .filter(request_event::Column::Event.is_not_in(["assigned", "unassigned"]))
        .order_by_desc(request_event::Column::Id)
        .one(db)
        .await?)
}

/// Requests filed since `since`, by status: pending, approved, rejected, cancelled.
pub async fn count_by_status_since(db: &impl ConnectionTrait, since: DateTime<Utc>) -> Result<Vec<(Status, u64)>> {
    const COUNTED: [Status; 4] = [Status::Pending, Status::Approved, Status::Rejected, Status::Cancelled];
    let counts: Vec<(Status, i64)> = client_request::Entity::find()
        .filter(client_request::Column::Status.is_in(COUNTED))
        .filter(client_request::Column::CreatedAt.gte(since))
        .select_only()
        .column(client_request::Column::Status)
        .column_as(sea_orm::sea_query::Expr::cust("COUNT(*)"), "n")
        .group_by(client_request::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    let count = |status| counts.iter().find(|(s, _)| *s == status).map_or(0, |(_, n)| u64::try_from(*n).unwrap_or(0));
    Ok(COUNTED.into_iter().map(|status| (status, count(status))).collect())
}
