//! Cash registers (ККТ) of clients: management for the REST API.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryTrait, Set,
};

use super::listing::{self, ListParams, Listed};
use super::rows;
pub use crate::entities::cash_register::Model as CashRegister;
use crate::entities::{cash_register, client, ofd_provider};
use crate::error::{FieldError, Result};

/// A cash register as staff enter it.
#[derive(Clone, Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct CashRegisterInput {
    #[schema(minimum = 1, maximum = 2147483647)]
    pub client_id: i32,
    #[schema(max_length = 255)]
    pub model: String,
    /// Unique among all cash registers.
    #[schema(max_length = 64)]
    pub serial_number: String,
    #[schema(max_length = 64)]
    pub registration_number: Option<String>,
    #[schema(max_length = 64)]
    pub fiscal_drive_number: Option<String>,
    #[schema(minimum = 1, maximum = 2147483647)]
    pub ofd_provider_id: Option<i32>,
    #[schema(max_length = 1000)]
    pub address: Option<String>,
    /// Default true.
    pub is_active: Option<bool>,
}

const DUPLICATE_SERIAL: &str = "a cash register with this serial number already exists";

#[derive(Clone, Debug, Default)]
pub struct CashRegisterFilter {
    pub client_id: Option<i32>,
    pub ofd_provider_id: Option<i32>,
    pub is_active: Option<bool>,
}

pub async fn list(
    db: &impl ConnectionTrait,
    params: &ListParams,
    filter: &CashRegisterFilter,
) -> Result<Listed<cash_register::Model>> {
    use cash_register::Column as C;
    let query = cash_register::Entity::find()
        .apply_if(filter.client_id, |q, id| q.filter(C::ClientId.eq(id)))
        .apply_if(filter.ofd_provider_id, |q, id| q.filter(C::OfdProviderId.eq(id)))
        .apply_if(filter.is_active, |q, active| q.filter(C::IsActive.eq(active)));
    let sorts = [
        ("id", C::Id),
        ("model", C::Model),
        ("serial_number", C::SerialNumber),
        ("client_id", C::ClientId),
        ("created_at", C::CreatedAt),
    ];
    listing::page(db, query, params, C::Search, &sorts, "id", C::Id).await
}

pub async fn get(db: &impl ConnectionTrait, id: i32) -> Result<cash_register::Model> {
    rows::get::<cash_register::Entity>(db, id, "cash register").await
}

struct Clean {
    model: String,
    serial_number: String,
    registration_number: Option<String>,
    fiscal_drive_number: Option<String>,
    address: Option<String>,
}

async fn clean(db: &impl ConnectionTrait, input: &CashRegisterInput, id: Option<i32>) -> Result<Clean> {
    let mut errors = Vec::new();
    let model = listing::required(&mut errors, "model", &input.model, 255);
    let serial_number = listing::required(&mut errors, "serial_number", &input.serial_number, 64);
    let registration_number =
        listing::optional(&mut errors, "registration_number", input.registration_number.as_deref(), 64);
    let fiscal_drive_number =
        listing::optional(&mut errors, "fiscal_drive_number", input.fiscal_drive_number.as_deref(), 64);
    let address = listing::optional(&mut errors, "address", input.address.as_deref(), 1000);
    if client::Entity::find_by_id(input.client_id).one(db).await?.is_none() {
        errors.push(FieldError::new("client_id", "no such client"));
    }
    if let Some(ofd) = input.ofd_provider_id
        && ofd_provider::Entity::find_by_id(ofd).one(db).await?.is_none()
    {
        errors.push(FieldError::new("ofd_provider_id", "no such OFD provider"));
    }
    listing::check(errors)?;
    let same = cash_register::Entity::find().filter(cash_register::Column::SerialNumber.eq(serial_number.as_str()));
    rows::refuse_duplicate(db, same, cash_register::Column::Id, id, DUPLICATE_SERIAL).await?;
    Ok(Clean { model, serial_number, registration_number, fiscal_drive_number, address })
}

pub async fn create(db: &impl ConnectionTrait, input: &CashRegisterInput) -> Result<cash_register::Model> {
    let c = clean(db, input, None).await?;
    let now = Utc::now();
    cash_register::ActiveModel {
        client_id: Set(input.client_id),
        model: Set(c.model),
        serial_number: Set(c.serial_number),
        registration_number: Set(c.registration_number),
        fiscal_drive_number: Set(c.fiscal_drive_number),
        ofd_provider_id: Set(input.ofd_provider_id),
        address: Set(c.address),
        is_active: Set(input.is_active.unwrap_or(true)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(|e| listing::unique_or(e, DUPLICATE_SERIAL))
}

pub async fn update(db: &impl ConnectionTrait, id: i32, input: &CashRegisterInput) -> Result<cash_register::Model> {
    let current = get(db, id).await?;
    let c = clean(db, input, Some(id)).await?;
    let mut row = current.into_active_model();
    row.client_id = Set(input.client_id);
    row.model = Set(c.model);
    row.serial_number = Set(c.serial_number);
    row.registration_number = Set(c.registration_number);
    row.fiscal_drive_number = Set(c.fiscal_drive_number);
    row.ofd_provider_id = Set(input.ofd_provider_id);
    row.address = Set(c.address);
    if let Some(active) = input.is_active {
        row.is_active = Set(active);
    }
    row.updated_at = Set(Utc::now());
    row.update(db).await.map_err(|e| listing::unique_or(e, DUPLICATE_SERIAL))
}

/// Deletes a cash register; its deadlines stay with the client (without a register).
pub async fn delete(db: &impl ConnectionTrait, id: i32) -> Result<()> {
    rows::delete::<cash_register::Entity>(db, id, "cash register").await
}

/// Active cash registers of active clients.
pub async fn count_active(db: &impl ConnectionTrait) -> Result<u64> {
    let parts: Vec<i64> = active_count_query().into_tuple().all(db).await?;
    Ok(u64::try_from(parts.iter().sum::<i64>()).unwrap_or(0))
}

/// What [`count_active`] reads, in one statement (one snapshot): the count of all active cash
/// registers and, negated, that of the inactive clients' — both off
/// `idx_cash_registers_active_client`, where joining each register to its client cost a lookup
/// per register.
pub(crate) fn active_count_query() -> sea_orm::Select<cash_register::Entity> {
    use sea_orm::sea_query::{Expr, UnionType};
    use sea_orm::{QuerySelect, QueryTrait};
    let active = || cash_register::Entity::find().filter(cash_register::Column::IsActive.eq(true)).select_only();
    let of_inactive_clients = active()
        .filter(cash_register::Column::ClientId.in_subquery(super::clients::inactive_ids()))
        .column_as(Expr::cust("-COUNT(*)"), "n")
        .into_query();
    let mut query = active().column_as(Expr::cust("COUNT(*)"), "n");
    QueryTrait::query(&mut query).union(UnionType::All, of_inactive_clients);
    query
}

/// A client's active cash registers.
pub async fn active_of_client(db: &impl ConnectionTrait, client_id: i32) -> Result<Vec<CashRegister>> {
    Ok(cash_register::Entity::find()
        .filter(cash_register::Column::ClientId.eq(client_id))
        .filter(cash_register::Column::IsActive.eq(true))
        .all(db)
        .await?)
}

impl super::audit::Audited for CashRegister {
    const ENTITY: &'static str = "cash_register";

    fn id(&self) -> i32 {
        self.id
    }

    fn is_active(&self) -> bool {
        self.is_active
    }
}
