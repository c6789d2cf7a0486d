use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// The outbox: a Bot API call caused by a state change, stored in the same transaction.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outgoing_messages")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub chat_id: i64,
    pub method: String,
    pub payload: Json,
    pub status: Status,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    pub last_error: Option<String>,
    pub telegram_message_id: Option<i64>,
    pub created_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
    /// This message's own limit of attempts (the sender's default when absent).
    pub max_attempts: Option<i32>,
    /// This message's own fixed delay between attempts (the sender's backoff when absent).
    pub retry_delay_seconds: Option<i32>,
    /// The sender's term that holds this row for an attempt (`outbox::store`); empty when none.
    pub claimed_by: Option<i64>,
    /// For an edit of a message sent through the outbox: that message's row.
    pub edit_of: Option<i64>,
    /// When the row failed for good (status `failed`).
    pub failed_at: Option<DateTimeUtc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[sea_orm(string_value = "pending")]
    Pending,
    #[sea_orm(string_value = "sent")]
    Sent,
    #[sea_orm(string_value = "failed")]
    Failed,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
