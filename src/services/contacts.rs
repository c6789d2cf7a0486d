//! A client's contacts: the Telegram users who speak for it and get its reminders.

use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, Set,
};

use super::listing::{self, ListParams, Listed};
pub use crate::entities::contact::Model as Contact;
use crate::entities::{client, contact};
use crate::error::{Error, FieldError, Result};

/// The active client a Telegram user is an active contact of (the earliest link if several).
pub async fn linked_client(db: &impl ConnectionTrait, telegram_id: i64) -> Result<Option<client::Model>> {
    let found = contact::Entity::find()
        .filter(contact::Column::TelegramId.eq(telegram_id))
        .filter(contact::Column::IsActive.eq(true))
        .order_by_asc(contact::Column::Id)
        .find_also_related(client::Entity)
        .all(db)
        .await?;
    Ok(found.into_iter().filter_map(|(_, c)| c).find(|c| c.is_active))
}

/// Makes a Telegram user an active contact of a client (re-activating an old link).
pub async fn link(db: &impl ConnectionTrait, client_id: i32, telegram_id: i64, name: Option<String>) -> Result<()> {
    let now = Utc::now();
    let mut row = contact::ActiveModel {
        client_id: Set(client_id),
        telegram_id: Set(telegram_id),
        name: Set(name),
        notify: Set(true),
        is_active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    row.refresh_search(true)?;
    contact::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([contact::Column::ClientId, contact::Column::TelegramId])
                .update_columns([contact::Column::IsActive, contact::Column::UpdatedAt])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// A client's contacts, oldest first.
pub async fn of_client(db: &impl ConnectionTrait, client_id: i32) -> Result<Vec<contact::Model>> {
    Ok(contact::Entity::find()
        .filter(contact::Column::ClientId.eq(client_id))
        .order_by_asc(contact::Column::Id)
        .all(db)
        .await?)
}

/// A contact as staff enter it.
#[derive(Clone, Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct ContactInput {
    #[schema(minimum = 1, maximum = 2147483647)]
    pub client_id: i32,
    #[schema(minimum = 1, maximum = 4503599627370495_i64)]
    pub telegram_id: i64,
    #[schema(max_length = 255)]
    pub name: Option<String>,
    /// Default true.
    pub notify: Option<bool>,
    /// Default true.
    pub is_active: Option<bool>,
}

const DUPLICATE_CONTACT: &str = "this Telegram user is already a contact of this client";

#[derive(Clone, Debug, Default)]
pub struct ContactFilter {
    pub client_id: Option<i32>,
    pub telegram_id: Option<i64>,
    pub is_active: Option<bool>,
}

pub async fn list(
    db: &impl ConnectionTrait,
    params: &ListParams,
    filter: &ContactFilter,
) -> Result<Listed<contact::Model>> {
    let mut query = contact::Entity::find();
    if let Some(q) = params.search() {
        query = query.filter(listing::matches(contact::Column::Search, q));
    }
    if let Some(id) = filter.client_id {
        query = query.filter(contact::Column::ClientId.eq(id));
    }
    if let Some(id) = filter.telegram_id {
        query = query.filter(contact::Column::TelegramId.eq(id));
    }
    if let Some(active) = filter.is_active {
        query = query.filter(contact::Column::IsActive.eq(active));
    }
    let query = listing::sorted(
        query,
        params.sort.as_deref(),
        &[
            ("id", contact::Column::Id),
            ("name", contact::Column::Name),
            ("client_id", contact::Column::ClientId),
            ("telegram_id", contact::Column::TelegramId),
            ("created_at", contact::Column::CreatedAt),
        ],
        "id",
        contact::Column::Id,
    )?;
    listing::fetch(db, query, params.page, params.per_page).await
}

pub async fn get(db: &impl ConnectionTrait, id: i32) -> Result<contact::Model> {
    contact::Entity::find_by_id(id).one(db).await?.ok_or(Error::NotFound("contact"))
}

async fn check(db: &impl ConnectionTrait, input: &ContactInput, id: Option<i32>) -> Result<Option<String>> {
    let mut errors = Vec::new();
    let name = listing::optional(&mut errors, "name", input.name.as_deref(), 255);
    if input.telegram_id <= 0 {
        errors.push(FieldError::new("telegram_id", "must be a Telegram user id"));
    }
    if super::clients::get(db, input.client_id).await?.is_none() {
        errors.push(FieldError::new("client_id", "no such client"));
    }
    listing::check(errors)?;
    let duplicate = contact::Entity::find()
        .filter(contact::Column::ClientId.eq(input.client_id))
        .filter(contact::Column::TelegramId.eq(input.telegram_id))
        .one(db)
        .await?;
    if duplicate.is_some_and(|d| Some(d.id) != id) {
        return Err(Error::Conflict(DUPLICATE_CONTACT.into()));
    }
    Ok(name)
}

pub async fn create(db: &impl ConnectionTrait, input: &ContactInput) -> Result<contact::Model> {
    let name = check(db, input, None).await?;
    let now = Utc::now();
    contact::ActiveModel {
        client_id: Set(input.client_id),
        telegram_id: Set(input.telegram_id),
        name: Set(name),
        notify: Set(input.notify.unwrap_or(true)),
        is_active: Set(input.is_active.unwrap_or(true)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(|e| listing::unique_or(e, DUPLICATE_CONTACT))
}

pub async fn update(db: &impl ConnectionTrait, id: i32, input: &ContactInput) -> Result<contact::Model> {
    let current = get(db, id).await?;
    let name = check(db, input, Some(id)).await?;
    let mut row = current.into_active_model();
    row.client_id = Set(input.client_id);
    row.telegram_id = Set(input.telegram_id);
    row.name = Set(name);
    if let Some(notify) = input.notify {
        row.notify = Set(notify);
    }
    if let Some(active) = input.is_active {
        row.is_active = Set(active);
    }
    row.updated_at = Set(Utc::now());
    row.update(db).await.map_err(|e| listing::unique_or(e, DUPLICATE_CONTACT))
}

/// Deletes a contact (and its reminder log).
pub async fn delete(db: &impl ConnectionTrait, id: i32) -> Result<()> {
    get(db, id).await?;
    contact::Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}
