//! Kinds of service deadlines: management for the REST API.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter,
    QueryTrait, Set,
};

use super::listing::{self, ListParams, Listed};
use super::rows;
pub use crate::entities::deadline_type::Model as DeadlineType;
use crate::entities::{deadline, deadline_type};
use crate::error::{Error, FieldError, Result};

/// A deadline type as staff enter it.
#[derive(Clone, Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct DeadlineTypeInput {
    /// Unique: lowercase latin letters, digits and `_`.
    #[schema(max_length = 32, pattern = r"^\s*[a-z0-9_]*\s*$")]
    pub code: String,
    #[schema(max_length = 255)]
    pub name_ru: String,
    #[schema(max_length = 255)]
    pub name_en: String,
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    /// Default true.
    pub is_active: Option<bool>,
}

const DUPLICATE_CODE: &str = "a deadline type with this code already exists";

pub async fn list(
    db: &impl ConnectionTrait,
    params: &ListParams,
    is_active: Option<bool>,
) -> Result<Listed<deadline_type::Model>> {
    use deadline_type::Column as C;
    let query = deadline_type::Entity::find().apply_if(is_active, |q, active| q.filter(C::IsActive.eq(active)));
    let sorts = [("id", C::Id), ("code", C::Code), ("name_ru", C::NameRu), ("name_en", C::NameEn)];
    listing::page(db, query, params, C::Search, &sorts, "id", C::Id).await
}

pub async fn get(db: &impl ConnectionTrait, id: i32) -> Result<deadline_type::Model> {
    rows::get::<deadline_type::Entity>(db, id, "deadline type").await
}

struct Clean {
    code: String,
    name_ru: String,
    name_en: String,
    description: Option<String>,
}

async fn clean(db: &impl ConnectionTrait, input: &DeadlineTypeInput, id: Option<i32>) -> Result<Clean> {
    let mut errors = Vec::new();
    let code = listing::required(&mut errors, "code", &input.code, 32);
    if !code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
        errors.push(FieldError::new("code", "may hold only lowercase latin letters, digits and _"));
    }
    let name_ru = listing::required(&mut errors, "name_ru", &input.name_ru, 255);
    let name_en = listing::required(&mut errors, "name_en", &input.name_en, 255);
    let description = listing::optional(&mut errors, "description", input.description.as_deref(), 2000);
    listing::check(errors)?;
    let same = deadline_type::Entity::find().filter(deadline_type::Column::Code.eq(code.as_str()));
    rows::refuse_duplicate(db, same, deadline_type::Column::Id, id, DUPLICATE_CODE).await?;
    Ok(Clean { code, name_ru, name_en, description })
}

pub async fn create(db: &impl ConnectionTrait, input: &DeadlineTypeInput) -> Result<deadline_type::Model> {
    let c = clean(db, input, None).await?;
    deadline_type::ActiveModel {
        code: Set(c.code),
        name_ru: Set(c.name_ru),
        name_en: Set(c.name_en),
        description: Set(c.description),
        is_active: Set(input.is_active.unwrap_or(true)),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(|e| listing::unique_or(e, DUPLICATE_CODE))
}

pub async fn update(db: &impl ConnectionTrait, id: i32, input: &DeadlineTypeInput) -> Result<deadline_type::Model> {
    let current = get(db, id).await?;
    let c = clean(db, input, Some(id)).await?;
    let mut row = current.into_active_model();
    row.code = Set(c.code);
    row.name_ru = Set(c.name_ru);
    row.name_en = Set(c.name_en);
    row.description = Set(c.description);
    if let Some(active) = input.is_active {
        row.is_active = Set(active);
    }
    row.update(db).await.map_err(|e| listing::unique_or(e, DUPLICATE_CODE))
}

/// Deletes a type no deadline uses; otherwise 409 — deactivate it instead.
pub async fn delete(db: &impl ConnectionTrait, id: i32) -> Result<()> {
    get(db, id).await?;
    let used = deadline::Entity::find().filter(deadline::Column::DeadlineTypeId.eq(id)).count(db).await?;
    if used > 0 {
        return Err(Error::Conflict(format!("{used} deadline(s) have this type; deactivate it instead")));
    }
    rows::delete::<deadline_type::Entity>(db, id, "deadline type").await
}
