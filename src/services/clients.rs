//! Clients (companies): finding, searching and managing them. Their Telegram contacts are in
//! [`super::contacts`].

use chrono::Utc;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};

pub use crate::entities::client::Model as Client;
use crate::entities::{client, contact};
use crate::error::Result;

pub async fn find_by_inn(db: &impl ConnectionTrait, inn: &str) -> Result<Option<client::Model>> {
    Ok(client::Entity::find().filter(client::Column::Inn.eq(inn)).one(db).await?)
}

/// The client `id`, if there is one.
pub async fn find(db: &impl ConnectionTrait, id: i32) -> Result<Option<client::Model>> {
    Ok(client::Entity::find_by_id(id).one(db).await?)
}

/// The client `id`, or 404.
pub async fn get(db: &impl ConnectionTrait, id: i32) -> Result<client::Model> {
    super::rows::get::<client::Entity>(db, id, "client").await
}

/// Active clients whose name contains `query` (any case) or whose ИНН starts with it, by name.
/// Matching is done here, not in SQL, so Cyrillic case folding is the same on every database.
pub async fn search(db: &impl ConnectionTrait, query: &str, limit: usize) -> Result<Vec<client::Model>> {
    let needle = query.trim().to_lowercase();
    if needle.is_empty() {
        return Ok(Vec::new());
    }
    let all = client::Entity::find()
        .filter(client::Column::IsActive.eq(true))
        .order_by_asc(client::Column::Name)
        .all(db)
        .await?;
    Ok(all
        .into_iter()
        .filter(|c| c.inn.starts_with(&needle) || c.name.to_lowercase().contains(&needle))
        .take(limit)
        .collect())
}

// ------------------------------------------------------------------ management (REST API)

use sea_orm::{ActiveModelTrait, IntoActiveModel, PaginatorTrait, QueryTrait};

use super::listing::{self, ListParams, Listed};
use crate::entities::{cash_register, deadline};
use crate::error::{Error, FieldError};

/// A client as staff enter it.
#[derive(Clone, Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct ClientInput {
    #[schema(max_length = 255)]
    pub name: String,
    /// 10 or 12 digits with valid check digits.
    #[schema(max_length = 14, pattern = r"^\s*([0-9]{10}|[0-9]{12})\s*$")]
    pub inn: String,
    #[schema(max_length = 255)]
    pub contact_person: Option<String>,
    #[schema(max_length = 64, pattern = r"^[0-9+()\-.,;:/#*\sa-zA-Zа-яА-ЯёЁ]*$")]
    pub phone: Option<String>,
    #[schema(max_length = 255, pattern = r"(^\s*$)|@")]
    pub email: Option<String>,
    #[schema(max_length = 1000)]
    pub address: Option<String>,
    #[schema(max_length = 5000)]
    pub notes: Option<String>,
    /// Default true.
    pub is_active: Option<bool>,
}

struct CleanClient {
    name: String,
    inn: String,
    contact_person: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    address: Option<String>,
    notes: Option<String>,
}

fn clean_client(input: &ClientInput) -> Result<CleanClient> {
    let mut errors = Vec::new();
    let name = listing::required(&mut errors, "name", &input.name, 255);
    let inn = input.inn.trim().to_string();
    if !super::inn::is_valid(&inn) {
        errors.push(FieldError::new("inn", "must be 10 or 12 digits with valid check digits"));
    }
    let contact_person = listing::optional(&mut errors, "contact_person", input.contact_person.as_deref(), 255);
    let phone = listing::optional(&mut errors, "phone", input.phone.as_deref(), 64);
    let email = listing::optional(&mut errors, "email", input.email.as_deref(), 255);
    if email.as_deref().is_some_and(|e| !e.contains('@')) {
        errors.push(FieldError::new("email", "is not an email address"));
    }
    let address = listing::optional(&mut errors, "address", input.address.as_deref(), 1000);
    let notes = listing::optional(&mut errors, "notes", input.notes.as_deref(), 5000);
    listing::check(errors)?;
    Ok(CleanClient { name, inn, contact_person, phone, email, address, notes })
}

const DUPLICATE_INN: &str = "a client with this ИНН already exists";

/// 409 when a client other than `id` has this ИНН.
async fn refuse_duplicate_inn(db: &impl ConnectionTrait, inn: &str, id: Option<i32>) -> Result<()> {
    let same = client::Entity::find().filter(client::Column::Inn.eq(inn));
    super::rows::refuse_duplicate(db, same, client::Column::Id, id, DUPLICATE_INN).await
}

/// Filters of the client list.
#[derive(Clone, Debug, Default)]
pub struct ClientFilter {
    pub is_active: Option<bool>,
}

pub async fn list(
    db: &impl ConnectionTrait,
    params: &ListParams,
    filter: &ClientFilter,
) -> Result<Listed<client::Model>> {
    use client::Column as C;
    let query = client::Entity::find().apply_if(filter.is_active, |q, active| q.filter(C::IsActive.eq(active)));
    let sorts =
        [("id", C::Id), ("name", C::Name), ("inn", C::Inn), ("created_at", C::CreatedAt), ("updated_at", C::UpdatedAt)];
    listing::page(db, query, params, C::Search, &sorts, "name", C::Id).await
}

pub async fn create(db: &impl ConnectionTrait, input: &ClientInput) -> Result<client::Model> {
    let c = clean_client(input)?;
    refuse_duplicate_inn(db, &c.inn, None).await?;
    let now = Utc::now();
    client::ActiveModel {
        name: Set(c.name),
        inn: Set(c.inn),
        contact_person: Set(c.contact_person),
        phone: Set(c.phone),
        email: Set(c.email),
        address: Set(c.address),
        notes: Set(c.notes),
        is_active: Set(input.is_active.unwrap_or(true)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(|e| listing::unique_or(e, DUPLICATE_INN))
}

pub async fn update(db: &impl ConnectionTrait, id: i32, input: &ClientInput) -> Result<client::Model> {
    let current = get(db, id).await?;
    let c = clean_client(input)?;
    refuse_duplicate_inn(db, &c.inn, Some(id)).await?;
    let mut row = current.into_active_model();
    row.name = Set(c.name);
    row.inn = Set(c.inn);
    row.contact_person = Set(c.contact_person);
    row.phone = Set(c.phone);
    row.email = Set(c.email);
    row.address = Set(c.address);
    row.notes = Set(c.notes);
    if let Some(active) = input.is_active {
        row.is_active = Set(active);
    }
    row.updated_at = Set(Utc::now());
    row.update(db).await.map_err(|e| listing::unique_or(e, DUPLICATE_INN))
}

/// Deletes a client with no cash registers and no deadlines (its contacts and invites go with
/// it); otherwise 409 — deactivate it instead.
pub async fn delete(db: &impl ConnectionTrait, id: i32) -> Result<()> {
    get(db, id).await?;
    let registers = cash_register::Entity::find().filter(cash_register::Column::ClientId.eq(id)).count(db).await?;
    let deadlines = deadline::Entity::find().filter(deadline::Column::ClientId.eq(id)).count(db).await?;
    if registers > 0 || deadlines > 0 {
        return Err(Error::Conflict(format!(
            "the client still has {registers} cash register(s) and {deadlines} deadline(s); delete them or deactivate the client"
        )));
    }
    super::rows::delete::<client::Entity>(db, id, "client").await
}

/// A client with everything attached to it.
#[derive(Clone, Debug)]
pub struct ClientDetail {
    pub client: client::Model,
    pub cash_registers: Vec<cash_register::Model>,
    pub deadlines: Vec<super::deadlines::DeadlineView>,
    pub contacts: Vec<contact::Model>,
}

pub async fn detail(db: &impl ConnectionTrait, id: i32) -> Result<ClientDetail> {
    let client = get(db, id).await?;
    let cash_registers = cash_register::Entity::find()
        .filter(cash_register::Column::ClientId.eq(id))
        .order_by_asc(cash_register::Column::Id)
        .all(db)
        .await?;
    let rows = deadline::Entity::find()
        .filter(deadline::Column::ClientId.eq(id))
        .order_by_asc(deadline::Column::ExpirationDate)
        .order_by_asc(deadline::Column::Id)
        .all(db)
        .await?;
    let deadlines = super::deadlines::views(db, rows).await?;
    let contacts = super::contacts::of_client(db, id).await?;
    Ok(ClientDetail { client, cash_registers, deadlines, contacts })
}

/// Counts the clients (all, active).
pub async fn counts(db: &impl ConnectionTrait) -> Result<(u64, u64)> {
    let all = client::Entity::find().count(db).await?;
    let active = client::Entity::find().filter(client::Column::IsActive.eq(true)).count(db).await?;
    Ok((all, active))
}

/// The ids of the inactive clients (off `idx_clients_active`): the figures of active clients'
/// rows count all rows less theirs, so no counted row is joined to its client.
pub(crate) fn inactive_ids() -> sea_orm::sea_query::SelectStatement {
    use sea_orm::{QuerySelect, QueryTrait};
    client::Entity::find()
        .select_only()
        .column(client::Column::Id)
        .filter(client::Column::IsActive.eq(false))
        .into_query()
}

impl super::audit::Audited for Client {
    const ENTITY: &'static str = "client";

    fn id(&self) -> i32 {
        self.id
    }

    fn is_active(&self) -> bool {
        self.is_active
    }
}
