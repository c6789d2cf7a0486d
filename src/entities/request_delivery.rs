use sea_orm::entity::prelude::*;

/// An outbox row that carried something of a request to someone: a message to its client, a
/// client's comment to staff, a notice to its assignee. A reply in Telegram to that message
/// belongs to the request; a thread message's delivery status is its rows' status.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "request_deliveries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub request_id: i32,
    /// The thread message it carried, if any.
    pub comment_id: Option<i32>,
    pub chat_id: i64,
    /// `client`, `comment` or `notice`.
    pub purpose: String,
    /// None once the delivered row was pruned by the outbox retention.
    pub outgoing_message_id: Option<i64>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
