use sea_orm::entity::prelude::*;

/// One staff action: who, from where, when, what, and the changed fields before → after.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub at: DateTimeUtc,
    /// `user`, `administrator`, `cli` or `anonymous` (a failed sign-in to no known account).
    pub actor_kind: String,
    pub actor_id: Option<i64>,
    pub actor_name: String,
    /// `web`, `telegram` or `cli`.
    pub source: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub action: String,
    pub entity: String,
    pub entity_id: Option<String>,
    pub changes: Option<Json>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
