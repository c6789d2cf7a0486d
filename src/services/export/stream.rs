//! CSV exports written as they are read: [`PAGE`] rows at a time, each page read after the last
//! row of the one before (keyset pagination, in the export's order), turned into CSV and handed
//! on before the next is read. The server holds one page, whatever the size of the table, and
//! the first bytes leave at once. (XLSX is a zip archive written whole: it is built in memory.)
//!
//! The pages are read one after another, each in its own statement: a row changed during a long
//! export may show as it was or as it is, as in any export read while the company works.

use chrono::NaiveDate;
use futures::Stream;
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::{Dataset, Table, sheets, write};
use crate::entities::{cash_register, client, client_request, deadline, notification_log};
use crate::error::Result;

/// Rows read at a time.
pub const PAGE: u64 = 1000;

/// Where the next page starts: after this row, in the export's order.
#[derive(Clone, Debug)]
enum After {
    Start,
    /// (expiration date, id)
    Deadline(NaiveDate, i32),
    /// (name, id)
    Client(String, i32),
    /// The request number.
    Request(i32),
    /// The reminder log's id.
    Reminder(i64),
    End,
}

/// The CSV file of `dataset` as of `today`, a page at a time: the byte order mark and the header
/// first, then each page's rows.
pub fn csv(db: DatabaseConnection, dataset: Dataset, today: NaiveDate) -> impl Stream<Item = Result<Vec<u8>>> + Send {
    futures::stream::try_unfold((After::Start, db), move |(after, db)| async move {
        if matches!(after, After::End) {
            return Ok(None);
        }
        let first = matches!(after, After::Start);
        let (table, next) = page(&db, dataset, today, after).await?;
        Ok(Some((write::csv_part(&table, first), (next, db))))
    })
}

/// The page after `after` and where the next one starts.
async fn page(db: &impl ConnectionTrait, dataset: Dataset, today: NaiveDate, after: After) -> Result<(Table, After)> {
    let full = |n: usize| n as u64 == PAGE;
    match dataset {
        Dataset::Deadlines => {
            use deadline::Column::{ExpirationDate, Id};
            let mut query = deadline::Entity::find();
            if let After::Deadline(date, id) = after {
                query = query
                    .filter(ExpirationDate.gte(date))
                    .filter(Condition::any().add(ExpirationDate.gt(date)).add(Id.gt(id)));
            }
            let rows = query.order_by_asc(ExpirationDate).order_by_asc(Id).limit(PAGE).all(db).await?;
            let next = match rows.last() {
                Some(last) if full(rows.len()) => After::Deadline(last.expiration_date, last.id),
                _ => After::End,
            };
            let views = crate::services::deadlines::views(db, rows).await?;
            Ok((sheets::deadlines(&views, today), next))
        }
        Dataset::Clients => {
            use client::Column::{Id, Name};
            let mut query = client::Entity::find();
            if let After::Client(name, id) = after {
                query = query
                    .filter(Name.gte(name.as_str()))
                    .filter(Condition::any().add(Name.gt(name.as_str())).add(Id.gt(id)));
            }
            let clients = query.order_by_asc(Name).order_by_asc(Id).limit(PAGE).all(db).await?;
            let next = match clients.last() {
                Some(last) if full(clients.len()) => After::Client(last.name.clone(), last.id),
                _ => After::End,
            };
            let registers = cash_register::Entity::find()
                .filter(cash_register::Column::ClientId.is_in(clients.iter().map(|c| c.id)))
                .order_by_asc(cash_register::Column::Id)
                .all(db)
                .await?;
            Ok((sheets::clients_with(db, &clients, registers).await?, next))
        }
        Dataset::Requests => {
            use client_request::Column::Number;
            let mut query = client_request::Entity::find();
            if let After::Request(number) = after {
                query = query.filter(Number.gt(number));
            }
            let rows = query.order_by_asc(Number).limit(PAGE).all(db).await?;
            let next = match rows.last() {
                Some(last) if full(rows.len()) => After::Request(last.number),
                _ => After::End,
            };
            Ok((sheets::requests_of(db, rows).await?, next))
        }
        Dataset::Reminders => {
            use notification_log::Column::Id;
            let mut query = notification_log::Entity::find();
            if let After::Reminder(id) = after {
                query = query.filter(Id.gt(id));
            }
            let rows = query.order_by_asc(Id).limit(PAGE).all(db).await?;
            let next = match rows.last() {
                Some(last) if full(rows.len()) => After::Reminder(last.id),
                _ => After::End,
            };
            Ok((sheets::reminders_of(db, rows).await?, next))
        }
    }
}

/// The rows an export of `dataset` holds now (clients: a row per cash register, and one for
/// each client without any), counted without reading them.
pub async fn count(db: &impl ConnectionTrait, dataset: Dataset) -> Result<u64> {
    Ok(match dataset {
        Dataset::Deadlines => deadline::Entity::find().count(db).await?,
        Dataset::Requests => client_request::Entity::find().count(db).await?,
        Dataset::Reminders => notification_log::Entity::find().count(db).await?,
        Dataset::Clients => {
            let clients = client::Entity::find().count(db).await?;
            let registers = cash_register::Entity::find().count(db).await?;
            let with_registers: Option<i64> = cash_register::Entity::find()
                .select_only()
                .expr(Func::count_distinct(Expr::col(cash_register::Column::ClientId)))
                .into_tuple()
                .one(db)
                .await?;
            registers + clients.saturating_sub(with_registers.unwrap_or(0) as u64)
        }
    })
}
