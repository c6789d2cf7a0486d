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

/// The longest `language_code` stored (the column's width). Telegram sends IETF language tags
/// such as `en` or `pt-br`; a longer one is cut, which still starts with its language.
pub const LANGUAGE_CODE_MAX: usize = 16;

impl Profile {
    /// The profile as it is stored: a `language_code` past [`LANGUAGE_CODE_MAX`] characters cut.
    pub fn storable(mut self) -> Self {
        if let Some(code) = &mut self.language_code
            && let Some((end, _)) = code.char_indices().nth(LANGUAGE_CODE_MAX)
        {
            code.truncate(end);
        }
        self
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_language_code_is_cut_to_the_column() {
        let profile = |code: &str| Profile { language_code: Some(code.into()), ..Profile::default() }.storable();
        assert_eq!(profile("en-GB-x-abcdefghijk").language_code.as_deref(), Some("en-GB-x-abcdefgh"));
        assert_eq!(profile("ру-ЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖ").language_code.unwrap().chars().count(), LANGUAGE_CODE_MAX);
        assert_eq!(profile("pt-br").language_code.as_deref(), Some("pt-br"));
    }
}
