use sea_orm::entity::prelude::*;

/// A Telegram update that failed because of its own content: recorded as processed (so it is
/// not delivered again) and kept with its error for an administrator.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "failed_updates")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub update_id: i64,
    pub kind: String,
    pub telegram_id: Option<i64>,
    pub chat_id: Option<i64>,
    pub error: String,
    /// The update as received (JSON), cut at [`crate::services::failed_updates::MAX_BODY`].
    pub body: String,
    pub failed_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
