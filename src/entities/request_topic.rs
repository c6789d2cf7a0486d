use sea_orm::entity::prelude::*;

/// The forum topic of a request in the administrators' group: the outbox row that creates it
/// and, once Telegram gave it, its `message_thread_id`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "request_topics")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub request_id: i32,
    pub chat_id: i64,
    pub outgoing_message_id: Option<i64>,
    pub message_thread_id: Option<i32>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
