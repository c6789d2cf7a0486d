//! Requests as staff browse them: lists with filters and a request with its audit trail.
//! Decisions go through [`super::requests::decide`], the same function the bot uses.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};

use super::listing::{self, ListParams, Listed};
use super::notifications::{check_range, day_start};
use crate::entities::client_request::{self, Kind, Status};
use crate::entities::request_event;
use crate::error::{Error, Result};

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
}

pub async fn list(
    db: &impl ConnectionTrait,
    params: &ListParams,
    filter: &RequestFilter,
) -> Result<Listed<client_request::Model>> {
    let mut query = client_request::Entity::find();
    if let Some(q) = params.search() {
        let mut any = Condition::any()
            .add(listing::contains(client_request::Column::Description, q))
            .add(listing::contains(client_request::Column::RequesterName, q))
            .add(listing::contains(client_request::Column::Inn, q));
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
    check_range(filter.from, filter.to)?;
    if let Some(from) = filter.from {
        query = query.filter(client_request::Column::CreatedAt.gte(day_start(from)));
    }
    if let Some(to) = filter.to {
        query = query.filter(client_request::Column::CreatedAt.lt(day_start(to) + Duration::days(1)));
    }
    let query = listing::sorted(
        query,
        params.sort.as_deref(),
        &[
            ("id", client_request::Column::Id),
            ("number", client_request::Column::Number),
            ("status", client_request::Column::Status),
            ("created_at", client_request::Column::CreatedAt),
            ("decided_at", client_request::Column::DecidedAt),
        ],
        "-id",
        client_request::Column::Id,
    )?;
    listing::fetch(db, query, params.page, params.per_page).await
}

/// A request and its events, oldest first.
pub async fn detail(db: &impl ConnectionTrait, id: i32) -> Result<(client_request::Model, Vec<request_event::Model>)> {
    let request = client_request::Entity::find_by_id(id).one(db).await?.ok_or(Error::NotFound("request"))?;
    let events = request_event::Entity::find()
        .filter(request_event::Column::RequestId.eq(id))
        .order_by_asc(request_event::Column::Id)
        .all(db)
        .await?;
    Ok((request, events))
}

/// Requests filed since `since`, by status.
pub async fn count_by_status_since(db: &impl ConnectionTrait, since: DateTime<Utc>) -> Result<Vec<(Status, u64)>> {
    let mut out = Vec::new();
    for status in [Status::Pending, Status::Approved, Status::Rejected, Status::Cancelled] {
        let n = client_request::Entity::find()
            .filter(client_request::Column::Status.eq(status))
            .filter(client_request::Column::CreatedAt.gte(since))
            .count(db)
            .await?;
        out.push((status, n));
    }
    Ok(out)
}
