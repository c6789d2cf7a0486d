//! Everyone who writes to the bot: profile, chosen language, and whether they blocked the bot.

use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::entities::telegram_user;
use crate::error::Result;

/// What Telegram tells about a user, independent of any Telegram library.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Profile {
    pub telegram_id: i64,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub username: Option<String>,
    pub language_code: Option<String>,
}

impl Profile {
    /// "First Last" as Telegram shows it.
    pub fn display_name(&self) -> String {
        let name =
            [self.first_name.as_deref(), self.last_name.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ");
        if name.is_empty() { self.telegram_id.to_string() } else { name }
    }
}

pub async fn find(db: &impl ConnectionTrait, telegram_id: i64) -> Result<Option<telegram_user::Model>> {
    Ok(telegram_user::Entity::find().filter(telegram_user::Column::TelegramId.eq(telegram_id)).one(db).await?)
}

/// Stores a user's chosen language (`ru` or `en`).
pub async fn set_language(db: &impl ConnectionTrait, telegram_id: i64, language: &str) -> Result<()> {
    telegram_user::Entity::update_many()
        .col_expr(telegram_user::Column::Language, language.into())
        .col_expr(telegram_user::Column::UpdatedAt, Utc::now().into())
        .filter(telegram_user::Column::TelegramId.eq(telegram_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Marks a user as having blocked the bot (or come back). A user never seen before is recorded.
pub async fn set_blocked(db: &impl ConnectionTrait, telegram_id: i64, blocked: bool) -> Result<()> {
    let now = Utc::now();
    let row = telegram_user::ActiveModel {
        telegram_id: Set(telegram_id),
        is_blocked: Set(blocked),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    use telegram_user::Column as C;
    telegram_user::Entity::insert(row)
        .on_conflict(OnConflict::column(C::TelegramId).update_columns([C::IsBlocked, C::UpdatedAt]).to_owned())
        .exec_without_returning(db)
        .await?;
    Ok(())
}
