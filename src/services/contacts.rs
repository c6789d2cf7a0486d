//! A client's contacts: the Telegram users who speak for it and get its reminders.

use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QueryTrait,
    Set,
};

use super::listing::{self, ListParams, Listed};
use super::rows;
pub use crate::entities::contact::Model as Contact;
use crate::entities::{client, contact};
use crate::error::{FieldError, Result};

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
    use contact::Column as C;
    let query = contact::Entity::find()
        .apply_if(filter.client_id, |q, id| q.filter(C::ClientId.eq(id)))
        .apply_if(filter.telegram_id, |q, id| q.filter(C::TelegramId.eq(id)))
        .apply_if(filter.is_active, |q, active| q.filter(C::IsActive.eq(active)));
    let sorts = [
        ("id", C::Id),
        ("name", C::Name),
        ("client_id", C::ClientId),
        ("telegram_id", C::TelegramId),
        ("created_at", C::CreatedAt),
    ];
    listing::page(db, query, params, C::Search, &sorts, "id", C::Id).await
}

pub async fn get(db: &impl ConnectionTrait, id: i32) -> Result<contact::Model> {
    rows::get::<contact::Entity>(db, id, "contact").await
}

async fn check(db: &impl ConnectionTrait, input: &ContactInput, id: Option<i32>) -> Result<Option<String>> {
    let mut errors = Vec::new();
    let name = listing::optional(&mut errors, "name", input.name.as_deref(), 255);
    if input.telegram_id <= 0 {
        errors.push(FieldError::new("telegram_id", "must be a Telegram user id"));
    }
    if super::clients::find(db, input.client_id).await?.is_none() {
        errors.push(FieldError::new("client_id", "no such client"));
    }
    listing::check(errors)?;
    let same = contact::Entity::find()
        .filter(contact::Column::ClientId.eq(input.client_id))
        .filter(contact::Column::TelegramId.eq(input.telegram_id));
    rows::refuse_duplicate(db, same, contact::Column::Id, id, DUPLICATE_CONTACT).await?;
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
    rows::delete::<contact::Entity>(db, id, "contact").await
}

impl super::audit::Audited for Contact {
    const ENTITY: &'static str = "contact";

    fn id(&self) -> i32 {
        self.id
    }

    fn is_active(&self) -> bool {
        self.is_active
    }
}
