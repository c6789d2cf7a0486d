//! The steps the services of the tables staff manage share (clients, contacts, cash registers,
//! OFD providers, deadline types, deadlines, administrators, users): one row by id or 404, a
//! unique value held by another row refused with 409, a row deleted. Their lists are
//! [`super::listing::page`], but for the administrators' (whose search also matches a Telegram
//! id: `listing::sorted` and `listing::fetch`).

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PrimaryKeyTrait, QueryFilter, Select};

use crate::error::{Error, Result};

/// The row `id` of `E`, or 404 naming `what` (`"contact"`).
pub async fn get<E>(db: &impl ConnectionTrait, id: i32, what: &'static str) -> Result<E::Model>
where
    E: EntityTrait,
    <E::PrimaryKey as PrimaryKeyTrait>::ValueType: From<i32>,
{
    E::find_by_id(id).one(db).await?.ok_or(Error::NotFound(what))
}

/// 409 with `message` when `same`, the rows holding a value that must be unique, holds a row
/// other than `id` (the row being changed; none for a new one). `id_column` is `E`'s id.
pub async fn refuse_duplicate<E: EntityTrait>(
    db: &impl ConnectionTrait,
    same: Select<E>,
    id_column: E::Column,
    id: Option<i32>,
    message: &str,
) -> Result<()> {
    let others = match id {
        Some(id) => same.filter(id_column.ne(id)),
        None => same,
    };
    match others.one(db).await? {
        Some(_) => Err(Error::Conflict(message.to_string())),
        None => Ok(()),
    }
}

/// Deletes the row `id` of `E`, or 404 naming `what` when there is none.
pub async fn delete<E>(db: &impl ConnectionTrait, id: i32, what: &'static str) -> Result<()>
where
    E: EntityTrait,
    <E::PrimaryKey as PrimaryKeyTrait>::ValueType: From<i32>,
{
    match E::delete_by_id(id).exec(db).await?.rows_affected {
        0 => Err(Error::NotFound(what)),
        _ => Ok(()),
    }
}
