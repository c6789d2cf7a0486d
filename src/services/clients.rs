//! Clients (companies) and their Telegram contacts.

use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use crate::entities::{client, contact};
use crate::error::Result;

pub async fn find_by_inn(db: &impl ConnectionTrait, inn: &str) -> Result<Option<client::Model>> {
    Ok(client::Entity::find().filter(client::Column::Inn.eq(inn)).one(db).await?)
}

pub async fn get(db: &impl ConnectionTrait, id: i32) -> Result<Option<client::Model>> {
    Ok(client::Entity::find_by_id(id).one(db).await?)
}

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
pub async fn link_contact(
    db: &impl ConnectionTrait,
    client_id: i32,
    telegram_id: i64,
    name: Option<String>,
) -> Result<()> {
    let now = Utc::now();
    let row = contact::ActiveModel {
        client_id: Set(client_id),
        telegram_id: Set(telegram_id),
        name: Set(name),
        notify: Set(true),
        is_active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
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
