use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A service deadline of a client (optionally of one of its cash registers).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "deadlines")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub client_id: i32,
    pub cash_register_id: Option<i32>,
    pub deadline_type_id: i32,
    pub expiration_date: Date,
    pub status: Status,
    pub notes: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// The searched fields, lower-cased, one per line (notes): see `entities::search`.
    #[serde(skip)]
    pub search: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[sea_orm(string_value = "active")]
    Active,
    #[sea_orm(string_value = "expired")]
    Expired,
    #[sea_orm(string_value = "closed")]
    Closed,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(belongs_to = "super::client::Entity", from = "Column::ClientId", to = "super::client::Column::Id")]
    Client,
    #[sea_orm(
        belongs_to = "super::cash_register::Entity",
        from = "Column::CashRegisterId",
        to = "super::cash_register::Column::Id"
    )]
    CashRegister,
    #[sea_orm(
        belongs_to = "super::deadline_type::Entity",
        from = "Column::DeadlineTypeId",
        to = "super::deadline_type::Column::Id"
    )]
    DeadlineType,
}

impl Related<super::client::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Client.def()
    }
}

impl Related<super::cash_register::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::CashRegister.def()
    }
}

impl Related<super::deadline_type::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::DeadlineType.def()
    }
}

super::search::searched!(notes);
