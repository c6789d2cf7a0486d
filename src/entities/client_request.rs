use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A request filed in Telegram: a service request or a request to link a user to a client by ИНН.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "client_requests")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub number: i32,
    pub kind: Kind,
    pub request_type_id: Option<i32>,
    pub description: String,
    pub photo_file_id: Option<String>,
    pub requester_telegram_id: i64,
    pub requester_name: Option<String>,
    pub requester_username: Option<String>,
    pub client_id: Option<i32>,
    pub inn: Option<String>,
    pub status: Status,
    pub decided_by: Option<String>,
    pub decided_by_administrator_id: Option<i32>,
    pub decided_by_user_id: Option<i32>,
    pub decided_at: Option<DateTimeUtc>,
    pub reason: Option<String>,
    /// When the work on it last started (taken, or resumed after a question to the client).
    pub started_at: Option<DateTimeUtc>,
    pub done_at: Option<DateTimeUtc>,
    /// The dashboard user it is assigned to (at most one of the two assignee columns is set).
    pub assignee_user_id: Option<i32>,
    /// The Telegram administrator it is assigned to.
    pub assignee_administrator_id: Option<i32>,
    pub assigned_at: Option<DateTimeUtc>,
    /// When it was announced to the administrators again for waiting past its decision time.
    pub decision_sla_announced_at: Option<DateTimeUtc>,
    /// When it was flagged for not being done within its time.
    pub done_sla_flagged_at: Option<DateTimeUtc>,
    #[sea_orm(unique)]
    pub submit_key: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// The searched fields, lower-cased, one per line (description, requester_name, inn): see `entities::search`.
    pub search: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    #[sea_orm(string_value = "service")]
    Service,
    #[sea_orm(string_value = "link")]
    Link,
}

/// Where a request is in its lifecycle (see `services::lifecycle` for the transitions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "snake_case")]
pub enum Status {
    #[sea_orm(string_value = "pending")]
    Pending,
    #[sea_orm(string_value = "approved")]
    Approved,
    #[sea_orm(string_value = "rejected")]
    Rejected,
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
    #[sea_orm(string_value = "in_progress")]
    InProgress,
    /// Staff asked the client a question and wait for the answer.
    #[sea_orm(string_value = "waiting_for_client")]
    WaitingForClient,
    #[sea_orm(string_value = "done")]
    Done,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::request_type::Entity",
        from = "Column::RequestTypeId",
        to = "super::request_type::Column::Id"
    )]
    RequestType,
    #[sea_orm(belongs_to = "super::client::Entity", from = "Column::ClientId", to = "super::client::Column::Id")]
    Client,
    #[sea_orm(has_many = "super::request_event::Entity")]
    RequestEvent,
}

impl Related<super::request_type::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::RequestType.def()
    }
}

impl Related<super::client::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Client.def()
    }
}

impl Related<super::request_event::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::RequestEvent.def()
    }
}

super::search::searched!(description, requester_name, inn);
