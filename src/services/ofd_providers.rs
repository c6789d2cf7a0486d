//! OFD providers (операторы фискальных данных): management for the REST API.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryTrait, Set,
};

use super::listing::{self, ListParams, Listed};
use super::rows;
use crate::entities::ofd_provider;
pub use crate::entities::ofd_provider::Model as OfdProvider;
use crate::error::{FieldError, Result};

/// An OFD provider as staff enter it.
#[derive(Clone, Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct OfdProviderInput {
    /// Unique.
    #[schema(max_length = 255)]
    pub name: String,
    /// The provider's ИНН, if given: 10 or 12 digits with valid check digits.
    #[schema(max_length = 14, pattern = r"^\s*([0-9]{10}|[0-9]{12})?\s*$")]
    pub inn: Option<String>,
    #[schema(max_length = 255)]
    pub website: Option<String>,
    /// Default true.
    pub is_active: Option<bool>,
}

const DUPLICATE_NAME: &str = "an OFD provider with this name already exists";

pub async fn list(
    db: &impl ConnectionTrait,
    params: &ListParams,
    is_active: Option<bool>,
) -> Result<Listed<ofd_provider::Model>> {
    use ofd_provider::Column as C;
    let query = ofd_provider::Entity::find().apply_if(is_active, |q, active| q.filter(C::IsActive.eq(active)));
    let sorts = [("id", C::Id), ("name", C::Name), ("created_at", C::CreatedAt)];
    listing::page(db, query, params, C::Search, &sorts, "name", C::Id).await
}

pub async fn get(db: &impl ConnectionTrait, id: i32) -> Result<ofd_provider::Model> {
    rows::get::<ofd_provider::Entity>(db, id, "OFD provider").await
}

async fn clean(
    db: &impl ConnectionTrait,
    input: &OfdProviderInput,
    id: Option<i32>,
) -> Result<(String, Option<String>, Option<String>)> {
    let mut errors = Vec::new();
    let name = listing::required(&mut errors, "name", &input.name, 255);
    let inn = listing::optional(&mut errors, "inn", input.inn.as_deref(), 12);
    if inn.as_deref().is_some_and(|i| !super::inn::is_valid(i)) {
        errors.push(FieldError::new("inn", "must be 10 or 12 digits with valid check digits"));
    }
    let website = listing::optional(&mut errors, "website", input.website.as_deref(), 255);
    listing::check(errors)?;
    let same = ofd_provider::Entity::find().filter(ofd_provider::Column::Name.eq(name.as_str()));
    rows::refuse_duplicate(db, same, ofd_provider::Column::Id, id, DUPLICATE_NAME).await?;
    Ok((name, inn, website))
}

pub async fn create(db: &impl ConnectionTrait, input: &OfdProviderInput) -> Result<ofd_provider::Model> {
    let (name, inn, website) = clean(db, input, None).await?;
    ofd_provider::ActiveModel {
        name: Set(name),
        inn: Set(inn),
        website: Set(website),
        is_active: Set(input.is_active.unwrap_or(true)),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(|e| listing::unique_or(e, DUPLICATE_NAME))
}

pub async fn update(db: &impl ConnectionTrait, id: i32, input: &OfdProviderInput) -> Result<ofd_provider::Model> {
    let current = get(db, id).await?;
    let (name, inn, website) = clean(db, input, Some(id)).await?;
    let mut row = current.into_active_model();
    row.name = Set(name);
    row.inn = Set(inn);
    row.website = Set(website);
    if let Some(active) = input.is_active {
        row.is_active = Set(active);
    }
    row.update(db).await.map_err(|e| listing::unique_or(e, DUPLICATE_NAME))
}

/// Deletes a provider; its cash registers keep working without one.
pub async fn delete(db: &impl ConnectionTrait, id: i32) -> Result<()> {
    rows::delete::<ofd_provider::Entity>(db, id, "OFD provider").await
}
