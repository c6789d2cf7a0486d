//! Telegram administrators: the people who receive requests and decide them.

use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::entities::administrator;
use crate::error::{Error, Result};

/// Makes a Telegram user an active administrator (re-activating one that was deactivated).
/// The name is kept when none is given.
pub async fn add(db: &impl ConnectionTrait, telegram_id: i64, name: Option<String>) -> Result<administrator::Model> {
    if telegram_id <= 0 {
        return Err(Error::invalid("telegram_id", "must be a positive Telegram user id"));
    }
    let now = Utc::now();
    let mut update = vec![administrator::Column::IsActive, administrator::Column::UpdatedAt];
    if name.is_some() {
        update.push(administrator::Column::Name);
    }
    let row = administrator::ActiveModel {
        telegram_id: Set(telegram_id),
        name: Set(name),
        username: Set(None),
        is_active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    administrator::Entity::insert(row)
        .on_conflict(OnConflict::column(administrator::Column::TelegramId).update_columns(update).to_owned())
        .exec_without_returning(db)
        .await?;
    administrator::Entity::find()
        .filter(administrator::Column::TelegramId.eq(telegram_id))
        .one(db)
        .await?
        .ok_or(Error::NotFound("administrator"))
}

/// Whether this Telegram user is an active administrator.
pub async fn is_active(db: &impl ConnectionTrait, telegram_id: i64) -> Result<bool> {
    let found = administrator::Entity::find()
        .filter(administrator::Column::TelegramId.eq(telegram_id))
        .filter(administrator::Column::IsActive.eq(true))
        .one(db)
        .await?;
    Ok(found.is_some())
}
