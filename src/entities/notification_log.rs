use sea_orm::entity::prelude::*;

/// One reminder: a deadline, a contact, a threshold (days before) and the date it was for.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notification_logs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub deadline_id: i32,
    pub contact_id: i32,
    pub days_before: i32,
    pub expiration_date: Date,
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub outgoing_message_id: Option<i64>,
    pub created_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
