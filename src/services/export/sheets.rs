//! The tables of each export: columns and rows, read from the database.

use std::collections::HashMap;

use chrono::NaiveDate;
use sea_orm::{ConnectionTrait, EntityTrait, QueryOrder};

use super::{Cell, Column, Table};
use crate::entities::client_request::Status as RequestStatus;
use crate::entities::deadline::Status;
use crate::entities::{cash_register, client, client_request, notification_log, ofd_provider};
use crate::error::Result;
use crate::services::deadlines::DeadlineView;

pub const DEADLINES_HEADER: [&str; 9] =
    ["Клиент", "ИНН", "ККТ", "Заводской номер", "Тип срока", "Дата окончания", "Статус", "Осталось дней", "Примечание"];

fn columns(headers: &[&'static str], widths: &[f64]) -> Vec<Column> {
    headers.iter().zip(widths).map(|(header, width)| Column { header, width: *width }).collect()
}

fn status(status: Status) -> &'static str {
    match status {
        Status::Active => "активен",
        Status::Expired => "просрочен",
        Status::Closed => "закрыт",
    }
}

fn yes_no(value: bool) -> Cell {
    Cell::from(if value { "да" } else { "нет" })
}

pub fn deadlines(views: &[DeadlineView], today: NaiveDate) -> Table {
    let rows = views
        .iter()
        .map(|v| {
            vec![
                Cell::from(v.client.name.as_str()),
                Cell::from(v.client.inn.as_str()),
                Cell::from(v.register.as_ref().map(|r| r.model.clone())),
                Cell::from(v.register.as_ref().map(|r| r.serial_number.clone())),
                Cell::from(v.kind.name_ru.as_str()),
                Cell::Date(v.deadline.expiration_date),
                Cell::from(status(v.deadline.status)),
                Cell::Number(v.days_left(today)),
                Cell::from(v.deadline.notes.clone()),
            ]
        })
        .collect();
    Table {
        sheet: "Сроки",
        columns: columns(&DEADLINES_HEADER, &[32.0, 14.0, 18.0, 20.0, 22.0, 14.0, 12.0, 10.0, 30.0]),
        rows,
    }
}

const CLIENTS_HEADER: [&str; 14] = [
    "Клиент",
    "ИНН",
    "Контактное лицо",
    "Телефон",
    "Email",
    "Адрес",
    "Клиент активен",
    "Модель ККТ",
    "Заводской номер",
    "Регистрационный номер",
    "Номер ФН",
    "ОФД",
    "Адрес установки",
    "ККТ активна",
];

/// Every client with each of its cash registers (a client without one has one row).
pub async fn clients(db: &impl ConnectionTrait) -> Result<Table> {
    let clients =
        client::Entity::find().order_by_asc(client::Column::Name).order_by_asc(client::Column::Id).all(db).await?;
    let registers = cash_register::Entity::find().order_by_asc(cash_register::Column::Id).all(db).await?;
    clients_with(db, &clients, registers).await
}

/// These clients with their cash registers (`registers`: theirs, in id order, and maybe others).
pub async fn clients_with(
    db: &impl ConnectionTrait,
    clients: &[client::Model],
    registers: Vec<cash_register::Model>,
) -> Result<Table> {
    let mut by_client: HashMap<i32, Vec<cash_register::Model>> = HashMap::new();
    for r in registers {
        by_client.entry(r.client_id).or_default().push(r);
    }
    let ofds: HashMap<i32, String> =
        ofd_provider::Entity::find().all(db).await?.into_iter().map(|o| (o.id, o.name)).collect();
    let mut rows = Vec::new();
    for c in clients {
        let own = by_client.remove(&c.id).unwrap_or_default();
        let client_cells = || {
            vec![
                Cell::from(c.name.as_str()),
                Cell::from(c.inn.as_str()),
                Cell::from(c.contact_person.clone()),
                Cell::from(c.phone.clone()),
                Cell::from(c.email.clone()),
                Cell::from(c.address.clone()),
                yes_no(c.is_active),
            ]
        };
        if own.is_empty() {
            let mut row = client_cells();
            row.extend(std::iter::repeat_n(Cell::Empty, 7));
            rows.push(row);
        }
        for r in own {
            let mut row = client_cells();
            row.extend([
                Cell::from(r.model),
                Cell::from(r.serial_number),
                Cell::from(r.registration_number),
                Cell::from(r.fiscal_drive_number),
                Cell::from(r.ofd_provider_id.and_then(|id| ofds.get(&id).cloned())),
                Cell::from(r.address),
                yes_no(r.is_active),
            ]);
            rows.push(row);
        }
    }
    Ok(Table {
        sheet: "Клиенты",
        columns: columns(
            &CLIENTS_HEADER,
            &[32.0, 14.0, 22.0, 16.0, 24.0, 36.0, 10.0, 18.0, 20.0, 20.0, 20.0, 20.0, 36.0, 10.0],
        ),
        rows,
    })
}

fn request_status(status: RequestStatus) -> &'static str {
    match status {
        RequestStatus::Pending => "на рассмотрении",
        RequestStatus::Approved => "одобрена",
        RequestStatus::Rejected => "отклонена",
        RequestStatus::Cancelled => "отозвана",
        RequestStatus::InProgress => "в работе",
        RequestStatus::WaitingForClient => "ждёт ответа клиента",
        RequestStatus::Done => "выполнена",
    }
}

const REQUESTS_HEADER: [&str; 12] = [
    "Номер",
    "Подана",
    "Вид",
    "Тип",
    "Клиент",
    "ИНН",
    "Заявитель",
    "Описание",
    "Статус",
    "Решение принял",
    "Дата решения",
    "Причина",
];

/// Every request, by number.
pub async fn requests(db: &impl ConnectionTrait) -> Result<Table> {
    let all = client_request::Entity::find().order_by_asc(client_request::Column::Number).all(db).await?;
    requests_of(db, all).await
}

/// These requests.
pub async fn requests_of(db: &impl ConnectionTrait, requests: Vec<client_request::Model>) -> Result<Table> {
    let views = crate::services::request_queries::views(db, requests).await?;
    let rows = views
        .into_iter()
        .map(|v| {
            let r = v.request;
            vec![
                Cell::Number(i64::from(r.number)),
                Cell::DateTime(r.created_at),
                Cell::from(match r.kind {
                    client_request::Kind::Service => "заявка",
                    client_request::Kind::Link => "привязка",
                }),
                Cell::from(v.request_type.map(|t| t.name_ru)),
                Cell::from(v.client_name),
                Cell::from(r.inn),
                Cell::from(r.requester_name),
                Cell::from(r.description),
                Cell::from(request_status(r.status)),
                Cell::from(r.decided_by),
                Cell::from(r.decided_at),
                Cell::from(r.reason),
            ]
        })
        .collect();
    Ok(Table {
        sheet: "Заявки",
        columns: columns(&REQUESTS_HEADER, &[8.0, 18.0, 10.0, 22.0, 30.0, 14.0, 22.0, 50.0, 16.0, 20.0, 18.0, 30.0]),
        rows,
    })
}

const REMINDERS_HEADER: [&str; 10] = [
    "Создано",
    "Клиент",
    "Тип срока",
    "Дата окончания",
    "Контакт",
    "За дней",
    "Статус",
    "Попыток",
    "Отправлено",
    "Ошибка",
];

fn reminder_status(status: &str) -> &str {
    match status {
        "pending" => "ожидает",
        "retrying" => "повтор",
        "sent" => "отправлено",
        "failed" => "не доставлено",
        other => other,
    }
}

/// The whole reminder log, oldest first.
pub async fn reminders(db: &impl ConnectionTrait) -> Result<Table> {
    let all = notification_log::Entity::find().order_by_asc(notification_log::Column::Id).all(db).await?;
    reminders_of(db, all).await
}

/// These rows of the reminder log.
pub async fn reminders_of(db: &impl ConnectionTrait, logs: Vec<notification_log::Model>) -> Result<Table> {
    let views = crate::services::reminder_log::views(db, logs).await?;
    let rows = views
        .into_iter()
        .map(|v| {
            let n = v.log;
            vec![
                Cell::DateTime(n.created_at),
                Cell::from(v.client.map(|(_, name)| name)),
                Cell::from(v.deadline_type.map(|t| t.name_ru)),
                Cell::Date(n.expiration_date),
                Cell::from(v.contact_name),
                Cell::Number(i64::from(n.days_before)),
                Cell::from(reminder_status(&n.status)),
                Cell::Number(i64::from(n.attempts)),
                Cell::from(n.sent_at),
                Cell::from(n.last_error),
            ]
        })
        .collect();
    Ok(Table {
        sheet: "Напоминания",
        columns: columns(&REMINDERS_HEADER, &[18.0, 30.0, 22.0, 14.0, 22.0, 8.0, 14.0, 8.0, 18.0, 40.0]),
        rows,
    })
}
