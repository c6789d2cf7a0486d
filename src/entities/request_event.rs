use sea_orm::entity::prelude::*;

/// One change of a request (filed, approved, rejected, cancelled): who, through which channel, when.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "request_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub request_id: i32,
    pub event: String,
    pub channel: String,
    pub actor_kind: String,
    pub actor_id: Option<i64>,
    pub actor_name: Option<String>,
    pub details: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::client_request::Entity",
        from = "Column::RequestId",
        to = "super::client_request::Column::Id"
    )]
    ClientRequest,
}

impl Related<super::client_request::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ClientRequest.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
