//! Reference data: request types, deadline types and the common OFD providers.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const REQUEST_TYPES: &[(&str, &str, &str)] = &[
    ("fn_replacement", "Замена ФН", "Fiscal drive replacement"),
    ("registration", "Регистрация ККТ", "Cash register registration"),
    ("ofd_renewal", "Продление ОФД", "OFD renewal"),
    ("maintenance", "Ремонт / обслуживание", "Repair / maintenance"),
    ("other", "Другое", "Other"),
];

const DEADLINE_TYPES: &[(&str, &str, &str, &str)] = &[
    ("fn", "ФН", "Fiscal drive", "Срок действия фискального накопителя"),
    ("ofd", "ОФД", "OFD subscription", "Договор с оператором фискальных данных"),
    ("registration", "Регистрация", "Registration", "Регистрация ККТ в ФНС"),
    ("maintenance", "Техобслуживание", "Maintenance", "Плановое техническое обслуживание"),
];

const OFD_PROVIDERS: &[&str] = &["Первый ОФД", "Платформа ОФД", "Такском", "ОФД.ру", "Контур.ОФД", "СБИС ОФД"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let mut insert = Query::insert();
        insert.into_table("request_types").columns(["code", "name_ru", "name_en", "sort_order", "is_active"]);
        for (order, (code, ru, en)) in REQUEST_TYPES.iter().enumerate() {
            insert.values_panic([(*code).into(), (*ru).into(), (*en).into(), (order as i32 + 1).into(), true.into()]);
        }
        m.exec_stmt(insert).await?;

        let mut insert = Query::insert();
        insert.into_table("deadline_types").columns([
            "code",
            "name_ru",
            "name_en",
            "description",
            "is_active",
            "created_at",
        ]);
        for (code, ru, en, description) in DEADLINE_TYPES {
            insert.values_panic([
                (*code).into(),
                (*ru).into(),
                (*en).into(),
                (*description).into(),
                true.into(),
                Expr::current_timestamp(),
            ]);
        }
        m.exec_stmt(insert).await?;

        let mut insert = Query::insert();
        insert.into_table("ofd_providers").columns(["name", "is_active", "created_at"]);
        for name in OFD_PROVIDERS {
            insert.values_panic([(*name).into(), true.into(), Expr::current_timestamp()]);
        }
        m.exec_stmt(insert).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in ["ofd_providers", "deadline_types", "request_types"] {
            m.exec_stmt(Query::delete().from_table(table).to_owned()).await?;
        }
        Ok(())
    }
}
