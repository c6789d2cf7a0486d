//! Rows a test starts from, written through the same services the server uses where one exists.

use chrono::{NaiveDate, Utc};
use kktbot::entities::{cash_register, client, deadline, deadline_type};
use kktbot::services::deadlines::{self, NewDeadline};
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};

/// A client «ООО «Клиент {inn}»» with one cash register (АТОЛ 30Ф № SN-{inn}), the Telegram
/// users `contacts` linked as its contacts, and a fiscal drive (ФН) deadline on `expires`.
pub async fn client_with_deadline(
    db: &DatabaseConnection,
    inn: &str,
    contacts: &[i64],
    expires: NaiveDate,
) -> deadline::Model {
    let now = Utc::now();
    let c = client::ActiveModel {
        name: Set(format!("ООО «Клиент {inn}»")),
        inn: Set(inn.into()),
        is_active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    let register = cash_register::ActiveModel {
        client_id: Set(c.id),
        model: Set("АТОЛ 30Ф".into()),
        serial_number: Set(format!("SN-{inn}")),
        is_active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    for telegram_id in contacts {
        kktbot::services::contacts::link(db, c.id, *telegram_id, Some("Контакт".into())).await.unwrap();
    }
    deadlines::create(
        db,
        NewDeadline {
            client_id: c.id,
            cash_register_id: Some(register.id),
            deadline_type_id: deadline_type_id(db, "fn").await,
            expiration_date: expires,
            notes: None,
        },
    )
    .await
    .unwrap()
}

/// The id of the deadline type with `code` (`fn`, `ofd`, …).
pub async fn deadline_type_id(db: &DatabaseConnection, code: &str) -> i32 {
    deadline_type::Entity::find()
        .filter(deadline_type::Column::Code.eq(code))
        .one(db)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no deadline type {code}"))
        .id
}

/// A date written `YYYY-MM-DD`.
pub fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// The date `days` from today, as the API takes it (`YYYY-MM-DD`). Tests run with the default
/// NOTIFICATION_TIMEZONE; a day's margin keeps them clear of midnight.
pub fn date_in(days: i64) -> String {
    (Utc::now().date_naive() + chrono::Duration::days(days)).format("%Y-%m-%d").to_string()
}
