use sea_orm::entity::prelude::*;

/// A kind of service request a client can file (Замена ФН, Регистрация ККТ, …).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "request_types")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub code: String,
    pub name_ru: String,
    pub name_en: String,
    pub sort_order: i32,
    pub is_active: bool,
    /// Hours from filing to a decision; none: the configured default.
    pub decision_sla_hours: Option<i32>,
    /// Hours from filing to done; none: the configured default.
    pub done_sla_hours: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
