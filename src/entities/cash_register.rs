use sea_orm::entity::prelude::*;

/// A cash register (ККТ) of a client.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "cash_registers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub client_id: i32,
    pub model: String,
    #[sea_orm(unique)]
    pub serial_number: String,
    pub registration_number: Option<String>,
    pub fiscal_drive_number: Option<String>,
    pub ofd_provider_id: Option<i32>,
    pub address: Option<String>,
    pub is_active: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// The searched fields, lower-cased, one per line (model, serial_number, registration_number, fiscal_drive_number): see `entities::search`.
    #[serde(skip)]
    pub search: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(belongs_to = "super::client::Entity", from = "Column::ClientId", to = "super::client::Column::Id")]
    Client,
    #[sea_orm(
        belongs_to = "super::ofd_provider::Entity",
        from = "Column::OfdProviderId",
        to = "super::ofd_provider::Column::Id"
    )]
    OfdProvider,
}

impl Related<super::client::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Client.def()
    }
}

impl Related<super::ofd_provider::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::OfdProvider.def()
    }
}

super::search::searched!(model, serial_number, registration_number, fiscal_drive_number);
