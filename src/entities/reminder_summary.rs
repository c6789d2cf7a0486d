use sea_orm::entity::prelude::*;

/// The administrators' daily summary sent to one chat for one day (in NOTIFICATION_TIMEZONE).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reminder_summaries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub summary_date: Date,
    pub chat_id: i64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
