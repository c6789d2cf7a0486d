//! Telegram administrators: the people who receive requests and decide them.

use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QueryTrait, Set,
};

use super::listing::{self, ListParams, Listed};
use crate::entities::administrator;
pub use crate::entities::administrator::Model as Administrator;
use crate::error::{Error, Result};

/// Makes a Telegram user an active administrator (re-activating one that was deactivated).
/// The name is kept when none is given.
pub async fn add(db: &impl ConnectionTrait, telegram_id: i64, name: Option<String>) -> Result<administrator::Model> {
    if telegram_id <= 0 {
        return Err(Error::invalid("telegram_id", "must be a positive Telegram user id"));
    }
    let now = Utc::now();
    let mut row = administrator::ActiveModel {
        telegram_id: Set(telegram_id),
        name: Set(name.clone()),
        username: Set(None),
        is_active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    row.refresh_search(true)?;
    let update = [administrator::Column::IsActive, administrator::Column::UpdatedAt];
    administrator::Entity::insert(row)
        .on_conflict(OnConflict::column(administrator::Column::TelegramId).update_columns(update).to_owned())
        .exec_without_returning(db)
        .await?;
    let found = administrator::Entity::find()
        .filter(administrator::Column::TelegramId.eq(telegram_id))
        .one(db)
        .await?
        .ok_or(Error::NotFound("administrator"))?;
    match name {
        // A new name for one that existed: an update, which rewrites its search text too.
        Some(name) if found.name.as_deref() != Some(name.as_str()) => {
            let mut row = found.into_active_model();
            row.name = Set(Some(name));
            Ok(row.update(db).await?)
        }
        _ => Ok(found),
    }
}

/// Whether this Telegram user is an active administrator.
pub async fn is_active(db: &impl ConnectionTrait, telegram_id: i64) -> Result<bool> {
    let found = administrator::Entity::find()
        .filter(administrator::Column::TelegramId.eq(telegram_id))
        .filter(administrator::Column::IsActive.eq(true))
        .one(db)
        .await?;
    Ok(found.is_some())
}

/// Every administrator, active or not, by id.
pub async fn all(db: &impl ConnectionTrait) -> Result<Vec<administrator::Model>> {
    Ok(administrator::Entity::find().order_by_asc(administrator::Column::Id).all(db).await?)
}

/// The active administrators, by id: who gets a copy of each new request.
pub async fn active(db: &impl ConnectionTrait) -> Result<Vec<administrator::Model>> {
    Ok(administrator::Entity::find()
        .filter(administrator::Column::IsActive.eq(true))
        .order_by_asc(administrator::Column::Id)
        .all(db)
        .await?)
}

pub async fn get(db: &impl ConnectionTrait, id: i32) -> Result<administrator::Model> {
    super::rows::get::<administrator::Entity>(db, id, "administrator").await
}

/// Longest administrator name.
pub const MAX_NAME_LEN: usize = 200;

fn clean_name(name: Option<String>) -> Result<Option<String>> {
    let name = name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    if name.as_ref().is_some_and(|n| n.chars().count() > MAX_NAME_LEN) {
        return Err(Error::invalid("name", format!("must be at most {MAX_NAME_LEN} characters")));
    }
    Ok(name)
}

/// Adds a new administrator; a Telegram id that is already one (active or not) is a conflict.
pub async fn create(db: &impl ConnectionTrait, telegram_id: i64, name: Option<String>) -> Result<administrator::Model> {
    if telegram_id <= 0 {
        return Err(Error::invalid("telegram_id", "must be a positive Telegram user id"));
    }
    let name = clean_name(name)?;
    let now = Utc::now();
    let row = administrator::ActiveModel {
        telegram_id: Set(telegram_id),
        name: Set(name),
        username: Set(None),
        is_active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    row.insert(db).await.map_err(|e| listing::unique_or(e, "an administrator with this telegram_id already exists"))
}

/// One page of administrators: `q` matches the name or the username (any case), or is a
/// Telegram id; the sort is `id`, `telegram_id`, `name` or `created_at` (default `id`).
pub async fn list(
    db: &impl ConnectionTrait,
    params: &ListParams,
    is_active: Option<bool>,
) -> Result<Listed<administrator::Model>> {
    use administrator::Column as C;
    let mut query = administrator::Entity::find().apply_if(is_active, |q, active| q.filter(C::IsActive.eq(active)));
    if let Some(q) = params.search() {
        let mut any = Condition::any().add(listing::matches(C::Search, q));
        if let Ok(id) = q.parse::<i64>() {
            any = any.add(C::TelegramId.eq(id));
        }
        query = query.filter(any);
    }
    let sorts = [("id", C::Id), ("telegram_id", C::TelegramId), ("name", C::Name), ("created_at", C::CreatedAt)];
    let query = listing::sorted(query, params.sort.as_deref(), &sorts, "id", C::Id)?;
    listing::fetch(db, query, params.page, params.per_page).await
}

/// Changes to an administrator; `None` leaves a field as it is (`Some(None)` clears the name).
#[derive(Clone, Debug, Default)]
pub struct AdministratorChanges {
    pub name: Option<Option<String>>,
    pub is_active: Option<bool>,
}

pub async fn update(db: &impl ConnectionTrait, id: i32, changes: AdministratorChanges) -> Result<administrator::Model> {
    let found = get(db, id).await?;
    let mut row = found.into_active_model();
    if let Some(name) = changes.name {
        row.name = Set(clean_name(name)?);
    }
    if let Some(active) = changes.is_active {
        row.is_active = Set(active);
    }
    row.updated_at = Set(Utc::now());
    Ok(row.update(db).await?)
}

/// Deactivates an administrator: they stop receiving requests.
pub async fn deactivate(db: &impl ConnectionTrait, id: i32) -> Result<administrator::Model> {
    update(db, id, AdministratorChanges { is_active: Some(false), ..Default::default() }).await
}

impl super::audit::Audited for Administrator {
    const ENTITY: &'static str = "administrator";

    fn id(&self) -> i32 {
        self.id
    }

    fn is_active(&self) -> bool {
        self.is_active
    }
}
