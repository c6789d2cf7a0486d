use sea_orm::entity::prelude::*;

/// An OFD (оператор фискальных данных) a cash register sends its receipts through.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ofd_providers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub name: String,
    pub inn: Option<String>,
    pub website: Option<String>,
    pub is_active: bool,
    pub created_at: DateTimeUtc,
    /// The searched fields, lower-cased, one per line (name, inn): see `entities::search`.
    pub search: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

super::search::searched!(name, inn);
