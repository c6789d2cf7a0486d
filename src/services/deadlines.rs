//! Service deadlines of clients and their cash registers: listing by urgency, creation and
//! renewal (a new date re-arms the reminders, since reminder logs are keyed by the date).

use chrono::{NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, Set,
};

use crate::entities::deadline;
pub use crate::entities::deadline::{Model as Deadline, Status};
use crate::entities::{cash_register, client, deadline_type};
use crate::error::{Error, FieldError, Result};

/// A deadline with what a person needs to read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadlineView {
    pub deadline: deadline::Model,
    pub client: client::Model,
    pub kind: deadline_type::Model,
    pub register: Option<cash_register::Model>,
}

impl DeadlineView {
    /// Days from `today` to the expiration date (negative when overdue).
    pub fn days_left(&self, today: NaiveDate) -> i64 {
        (self.deadline.expiration_date - today).num_days()
    }
}

/// Loads the clients, types and cash registers of some deadlines (three queries, any count).
pub(crate) async fn views(db: &impl ConnectionTrait, deadlines: Vec<deadline::Model>) -> Result<Vec<DeadlineView>> {
    use std::collections::HashMap;
    let client_ids: Vec<i32> = deadlines.iter().map(|d| d.client_id).collect();
    let register_ids: Vec<i32> = deadlines.iter().filter_map(|d| d.cash_register_id).collect();
    let clients: HashMap<i32, client::Model> = client::Entity::find()
        .filter(client::Column::Id.is_in(client_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let kinds: HashMap<i32, deadline_type::Model> =
        deadline_type::Entity::find().all(db).await?.into_iter().map(|t| (t.id, t)).collect();
    let registers: HashMap<i32, cash_register::Model> = if register_ids.is_empty() {
        HashMap::new()
    } else {
        cash_register::Entity::find()
            .filter(cash_register::Column::Id.is_in(register_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|r| (r.id, r))
            .collect()
    };
    Ok(deadlines
        .into_iter()
        .filter_map(|d| {
            let client = clients.get(&d.client_id)?.clone();
            let kind = kinds.get(&d.deadline_type_id)?.clone();
            let register = d.cash_register_id.and_then(|id| registers.get(&id).cloned());
            Some(DeadlineView { deadline: d, client, kind, register })
        })
        .collect())
}

/// A client's open deadlines (active and expired), soonest first.
pub async fn of_client(db: &impl ConnectionTrait, client_id: i32) -> Result<Vec<DeadlineView>> {
    let rows = deadline::Entity::find()
        .filter(deadline::Column::ClientId.eq(client_id))
        .filter(deadline::Column::Status.is_in([Status::Active, Status::Expired]))
        .order_by_asc(deadline::Column::ExpirationDate)
        .order_by_asc(deadline::Column::Id)
        .all(db)
        .await?;
    views(db, rows).await
}

/// Open deadlines expiring on `date`, of one client or of all active clients.
pub async fn due_on(db: &impl ConnectionTrait, date: NaiveDate, client_id: Option<i32>) -> Result<Vec<DeadlineView>> {
    let mut query = deadline::Entity::find()
        .filter(deadline::Column::ExpirationDate.eq(date))
        .filter(deadline::Column::Status.is_in([Status::Active, Status::Expired]));
    if let Some(id) = client_id {
        query = query.filter(deadline::Column::ClientId.eq(id));
    }
    let rows = query.order_by_asc(deadline::Column::ClientId).order_by_asc(deadline::Column::Id).all(db).await?;
    Ok(views(db, rows).await?.into_iter().filter(|v| v.client.is_active).collect())
}

/// Every deadline with its client, type and register, ordered by date (for exports).
pub async fn all(db: &impl ConnectionTrait) -> Result<Vec<DeadlineView>> {
    let rows = deadline::Entity::find()
        .order_by_asc(deadline::Column::ExpirationDate)
        .order_by_asc(deadline::Column::Id)
        .all(db)
        .await?;
    views(db, rows).await
}

pub struct NewDeadline {
    pub client_id: i32,
    pub cash_register_id: Option<i32>,
    pub deadline_type_id: i32,
    pub expiration_date: NaiveDate,
    pub notes: Option<String>,
}

/// 422 unless the client, the type and the register of `new` exist and the register is the
/// client's.
async fn check_references(db: &impl ConnectionTrait, new: &NewDeadline) -> Result<()> {
    let mut errors = Vec::new();
    if client::Entity::find_by_id(new.client_id).one(db).await?.is_none() {
        errors.push(FieldError::new("client_id", "no such client"));
    }
    if deadline_type::Entity::find_by_id(new.deadline_type_id).one(db).await?.is_none() {
        errors.push(FieldError::new("deadline_type_id", "no such deadline type"));
    }
    if let Some(register_id) = new.cash_register_id {
        match cash_register::Entity::find_by_id(register_id).one(db).await? {
            Some(r) if r.client_id == new.client_id => {}
            Some(_) => errors.push(FieldError::new("cash_register_id", "belongs to another client")),
            None => errors.push(FieldError::new("cash_register_id", "no such cash register")),
        }
    }
    listing::check(errors)
}

/// Creates an active deadline, checking that the client, type and register exist and belong
/// together.
pub async fn create(db: &impl ConnectionTrait, new: NewDeadline) -> Result<deadline::Model> {
    check_references(db, &new).await?;
    let now = Utc::now();
    Ok(deadline::ActiveModel {
        client_id: Set(new.client_id),
        cash_register_id: Set(new.cash_register_id),
        deadline_type_id: Set(new.deadline_type_id),
        expiration_date: Set(new.expiration_date),
        status: Set(Status::Active),
        notes: Set(new.notes),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

/// Renews a deadline: a new, later date and status active again. Reminders are keyed by the
/// date, so the new date gets its own 14/7/3-day reminders.
pub async fn renew(db: &impl ConnectionTrait, id: i32, new_date: NaiveDate) -> Result<deadline::Model> {
    let current = get(db, id).await?;
    if new_date <= current.expiration_date {
        return Err(Error::invalid("expiration_date", "must be later than the current date"));
    }
    let mut row = current.into_active_model();
    row.expiration_date = Set(new_date);
    row.status = Set(Status::Active);
    row.updated_at = Set(Utc::now());
    Ok(row.update(db).await?)
}

// ------------------------------------------------------------------ management (REST API)

use super::listing::{self, ListParams, Listed};

/// The widest `expiring_within` window, in days (ten years).
pub const MAX_EXPIRING_WITHIN: u32 = 3660;

/// Filters of the deadline list. Dates are compared with `today` (the reminder time zone's).
#[derive(Clone, Debug, Default)]
pub struct DeadlineFilter {
    pub client_id: Option<i32>,
    pub cash_register_id: Option<i32>,
    pub status: Option<Status>,
    pub deadline_type_id: Option<i32>,
    /// Open deadlines expiring from today to today + N days.
    pub expiring_within: Option<u32>,
    /// `true`: open deadlines already past; `false`: the others.
    pub overdue: Option<bool>,
}

const OPEN: [Status; 2] = [Status::Active, Status::Expired];

pub async fn list(
    db: &impl ConnectionTrait,
    params: &ListParams,
    filter: &DeadlineFilter,
    today: NaiveDate,
) -> Result<Listed<DeadlineView>> {
    let query = list_query(params, filter, today)?;
    let page = listing::fetch(db, query, params.page, params.per_page).await?;
    Ok(Listed { items: views(db, page.items).await?, total: page.total })
}

/// The deadlines [`list`] reads, in its order.
pub(crate) fn list_query(
    params: &ListParams,
    filter: &DeadlineFilter,
    today: NaiveDate,
) -> Result<sea_orm::Select<deadline::Entity>> {
    let mut query = deadline::Entity::find();
    if let Some(q) = params.search() {
        query = query.filter(listing::matches(deadline::Column::Search, q));
    }
    if let Some(id) = filter.client_id {
        query = query.filter(deadline::Column::ClientId.eq(id));
    }
    if let Some(id) = filter.cash_register_id {
        query = query.filter(deadline::Column::CashRegisterId.eq(id));
    }
    if let Some(status) = filter.status {
        query = query.filter(deadline::Column::Status.eq(status));
    }
    if let Some(id) = filter.deadline_type_id {
        query = query.filter(deadline::Column::DeadlineTypeId.eq(id));
    }
    if let Some(days) = filter.expiring_within {
        if days > MAX_EXPIRING_WITHIN {
            return Err(Error::invalid("expiring_within", format!("must be from 0 to {MAX_EXPIRING_WITHIN} days")));
        }
        let last = today
            .checked_add_days(chrono::Days::new(u64::from(days)))
            .ok_or_else(|| Error::invalid("expiring_within", "reaches past the last date kktbot stores"))?;
        query = query
            .filter(deadline::Column::Status.is_in(OPEN))
            .filter(deadline::Column::ExpirationDate.gte(today))
            .filter(deadline::Column::ExpirationDate.lte(last));
    }
    match filter.overdue {
        Some(true) => {
            query =
                query.filter(deadline::Column::Status.is_in(OPEN)).filter(deadline::Column::ExpirationDate.lt(today));
        }
        Some(false) => {
            query = query.filter(
                sea_orm::Condition::any()
                    .add(deadline::Column::Status.eq(Status::Closed))
                    .add(deadline::Column::ExpirationDate.gte(today)),
            );
        }
        None => {}
    }
    listing::sorted(
        query,
        params.sort.as_deref(),
        &[
            ("id", deadline::Column::Id),
            ("expiration_date", deadline::Column::ExpirationDate),
            ("client_id", deadline::Column::ClientId),
            ("status", deadline::Column::Status),
            ("created_at", deadline::Column::CreatedAt),
        ],
        "expiration_date",
        deadline::Column::Id,
    )
}

pub async fn get_view(db: &impl ConnectionTrait, id: i32) -> Result<DeadlineView> {
    let row = get(db, id).await?;
    views(db, vec![row]).await?.pop().ok_or(Error::NotFound("deadline"))
}

/// Changes a deadline (its client, register, type, date, status and notes).
pub async fn update(
    db: &impl ConnectionTrait,
    id: i32,
    new: NewDeadline,
    status: Option<Status>,
) -> Result<deadline::Model> {
    let current = get(db, id).await?;
    check_references(db, &new).await?;
    let mut row = current.into_active_model();
    row.client_id = Set(new.client_id);
    row.cash_register_id = Set(new.cash_register_id);
    row.deadline_type_id = Set(new.deadline_type_id);
    row.expiration_date = Set(new.expiration_date);
    row.notes = Set(new.notes);
    if let Some(status) = status {
        row.status = Set(status);
    }
    row.updated_at = Set(Utc::now());
    Ok(row.update(db).await?)
}

/// Deletes a deadline and its reminder log.
pub async fn delete(db: &impl ConnectionTrait, id: i32) -> Result<()> {
    super::rows::delete::<deadline::Entity>(db, id, "deadline").await
}

/// The deadline `id`, or 404.
async fn get(db: &impl ConnectionTrait, id: i32) -> Result<deadline::Model> {
    super::rows::get::<deadline::Entity>(db, id, "deadline").await
}

/// Open deadlines of active clients expiring on or before `last` (overdue ones included),
/// counted per expiration date, dates in order.
pub async fn open_per_date_of_active_clients(
    db: &impl ConnectionTrait,
    last: NaiveDate,
) -> Result<Vec<(NaiveDate, u64)>> {
    let parts: Vec<(NaiveDate, i64)> = open_per_date_query(last).into_tuple().all(db).await?;
    let mut per_date = std::collections::BTreeMap::<NaiveDate, i64>::new();
    for (date, n) in parts {
        *per_date.entry(date).or_default() += n;
    }
    Ok(per_date.into_iter().filter_map(|(date, n)| Some((date, u64::try_from(n).ok().filter(|n| *n > 0)?))).collect())
}

/// What [`open_per_date_of_active_clients`] reads, in one statement (one snapshot): every
/// client's open deadlines per date and, negated, the inactive clients' (few), each part off an
/// index holding every column it reads (`idx_deadlines_status_expiration_client`, or client by
/// client `idx_deadlines_client_status_expiration`), where joining each deadline to its
/// client cost a lookup per deadline.
pub(crate) fn open_per_date_query(last: NaiveDate) -> sea_orm::Select<deadline::Entity> {
    use sea_orm::sea_query::{Expr, UnionType};
    use sea_orm::{QuerySelect, QueryTrait};
    let open = || {
        deadline::Entity::find()
            .filter(deadline::Column::Status.is_in(OPEN))
            .filter(deadline::Column::ExpirationDate.lte(last))
            .select_only()
            .column(deadline::Column::ExpirationDate)
            .group_by(deadline::Column::ExpirationDate)
    };
    let of_inactive_clients = open()
        .filter(deadline::Column::ClientId.in_subquery(super::clients::inactive_ids()))
        .column_as(Expr::cust("-COUNT(*)"), "n")
        .into_query();
    let mut query = open().column_as(Expr::cust("COUNT(*)"), "n");
    QueryTrait::query(&mut query).union(UnionType::All, of_inactive_clients);
    query
}
