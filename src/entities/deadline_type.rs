use sea_orm::entity::prelude::*;

/// A kind of service deadline: ФН, ОФД, registration, maintenance.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "deadline_types")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub code: String,
    pub name_ru: String,
    pub name_en: String,
    pub description: Option<String>,
    pub is_active: bool,
    pub created_at: DateTimeUtc,
    /// The searched fields, lower-cased, one per line (code, name_ru, name_en): see `entities::search`.
    pub search: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

super::search::searched!(code, name_ru, name_en);
