//! Processed Telegram update ids (webhook de-duplication) and their retention, and the first
//! statement of every update's transaction: record the update_id, refresh the sender's profile
//! and find out whether they are an active administrator.

use chrono::Utc;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult, QueryFilter, QueryResult, Statement,
};

use crate::entities::{processed_update, telegram_user};
use crate::error::Result;
use crate::services::requests::Actor;
use crate::services::telegram_users::Profile;
use crate::sql;

/// The user an update is from, as stored after the update was recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Visitor {
    pub user: telegram_user::Model,
    /// Set when the user is an active administrator.
    pub admin: Option<Actor>,
}

/// What recording an update found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Arrival {
    /// This update_id was recorded before: its effects are already committed.
    Duplicate,
    /// Recorded now; the sender, when the update has one.
    New(Option<Visitor>),
}

/// Records `update_id` in `txn` and, for an update with a sender, stores their profile and reads
/// it back with their administrator status.
///
/// The profile row is written, and so locked until the update's transaction ends, only when it
/// is new or changed: an administrator deciding many requests at once, or a client whose
/// updates overlap, would otherwise have each update wait for the one before to commit.
///
/// Not locking has one cost: an update that finds the profile unchanged does not wait for
/// another transaction writing the same row. If that one marks the user as having blocked the
/// bot while an update from them is being recorded, the user stays marked until their next
/// update, which unblocks them as any update does.
///
/// On PostgreSQL all of that is one statement, so an update costs one round trip before its
/// handlers run. On SQLite and MySQL it is two (four when the profile is new or changed); the
/// first one writes, so on SQLite the transaction takes the write lock at once.
pub async fn record(
    txn: &impl ConnectionTrait,
    update_id: i64,
    kind: &str,
    profile: Option<&Profile>,
) -> Result<Arrival> {
    let backend = txn.get_database_backend();
    let now = Utc::now();
    let Some(profile) = profile else {
        let recorded = insert_update(txn, update_id, kind, now).await?;
        return Ok(if recorded { Arrival::New(None) } else { Arrival::Duplicate });
    };
    if backend == DbBackend::Postgres {
        let values = [
            update_id.into(),
            kind.into(),
            now.into(),
            profile.telegram_id.into(),
            profile.first_name.clone().into(),
            profile.last_name.clone().into(),
            profile.username.clone().into(),
            profile.language_code.clone().into(),
        ];
        let stmt = Statement::from_sql_and_values(backend, RECORD_PG, values);
        let row = txn.query_one_raw(stmt).await?.ok_or_else(|| DbErr::RecordNotFound("update record".into()))?;
        if !row.try_get::<bool>("", "recorded")? {
            return Ok(Arrival::Duplicate);
        }
        if let Some(visitor) = visitor_from(&row, profile)? {
            return Ok(Arrival::New(Some(visitor)));
        }
        // A first update of this user raced another one that inserted the user after this
        // statement's snapshot was taken: the row is committed now; read it as the other
        // databases do.
    } else if !insert_update(txn, update_id, kind, now).await? {
        return Ok(Arrival::Duplicate);
    }
    if let Some(visitor) = read_visitor(txn, profile).await?
        && !changed(&visitor.user, profile)
    {
        return Ok(Arrival::New(Some(visitor)));
    }
    let values = [
        profile.telegram_id.into(),
        profile.first_name.clone().into(),
        profile.last_name.clone().into(),
        profile.username.clone().into(),
        profile.language_code.clone().into(),
        now.into(),
    ];
    let upsert = if backend == DbBackend::MySql { UPSERT_USER_MYSQL } else { UPSERT_USER };
    txn.execute_raw(sql::statement(backend, upsert, values)).await?;
    // Every statement reads what is committed before it (PostgreSQL, and kktbot's MySQL
    // connections: `db::connect`), so this sees the row also when another update inserted it
    // after this transaction's first read.
    let visitor = read_visitor(txn, profile).await?;
    Ok(Arrival::New(Some(visitor.ok_or_else(|| DbErr::RecordNotFound("telegram user".into()))?)))
}

/// Whether storing `profile` would change the stored `user` (a user who had blocked the bot and
/// writes again is unblocked).
fn changed(user: &telegram_user::Model, profile: &Profile) -> bool {
    user.is_blocked
        || user.first_name != profile.first_name
        || user.last_name != profile.last_name
        || user.username != profile.username
        || user.language_code != profile.language_code
}

/// The stored user with their administrator status, from a row of [`READ_VISITOR`] or
/// [`RECORD_PG`]; `None` when the row has no user.
fn visitor_from(row: &QueryResult, profile: &Profile) -> Result<Option<Visitor>> {
    if row.try_get::<Option<i32>>("", "id")?.is_none() {
        return Ok(None);
    }
    let user = telegram_user::Model::from_query_result(row, "")?;
    let admin = row.try_get::<Option<i32>>("", "admin_id")?.map(|id| -> Result<Actor> {
        Ok(Actor::Administrator {
            id,
            telegram_id: profile.telegram_id,
            name: row.try_get::<Option<String>>("", "admin_name")?.unwrap_or_else(|| profile.display_name()),
        })
    });
    Ok(Some(Visitor { user, admin: admin.transpose()? }))
}

/// The stored user with their administrator status, if stored.
async fn read_visitor(db: &impl ConnectionTrait, profile: &Profile) -> Result<Option<Visitor>> {
    let stmt = sql::statement(db.get_database_backend(), READ_VISITOR, [profile.telegram_id.into()]);
    match db.query_one_raw(stmt).await? {
        Some(row) => visitor_from(&row, profile),
        None => Ok(None),
    }
}

macro_rules! user_columns {
    ($t:literal) => {
        concat!(
            $t,
            ".id, ",
            $t,
            ".telegram_id, ",
            $t,
            ".first_name, ",
            $t,
            ".last_name, ",
            $t,
            ".username, ",
            $t,
            ".language_code, ",
            $t,
            ".language, ",
            $t,
            ".is_blocked, ",
            $t,
            ".created_at, ",
            $t,
            ".updated_at"
        )
    };
}

/// `$1` update_id, `$2` kind, `$3` now.
macro_rules! insert_update {
    () => {
        "INSERT INTO processed_updates (update_id, kind, processed_at) VALUES ($1, $2, $3) \
         ON CONFLICT (update_id) DO NOTHING"
    };
}
const INSERT_UPDATE: &str = insert_update!();

/// Stores a new or changed profile (the condition holds a racing update that stored the same one
/// already). `$1` telegram_id, `$2`–`$5` first name, last name, username, language code, `$6` now.
const UPSERT_USER: &str = "INSERT INTO telegram_users (telegram_id, first_name, last_name, username, language_code, \
     is_blocked, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, FALSE, $6, $6) \
     ON CONFLICT (telegram_id) DO UPDATE SET \
           first_name = excluded.first_name, last_name = excluded.last_name, username = excluded.username, \
           language_code = excluded.language_code, is_blocked = FALSE, updated_at = excluded.updated_at \
         WHERE telegram_users.is_blocked \
           OR telegram_users.first_name IS DISTINCT FROM excluded.first_name \
           OR telegram_users.last_name IS DISTINCT FROM excluded.last_name \
           OR telegram_users.username IS DISTINCT FROM excluded.username \
           OR telegram_users.language_code IS DISTINCT FROM excluded.language_code";

/// [`UPSERT_USER`] on MySQL, which has no condition on an upsert: `updated_at` moves only when
/// something changed. MySQL assigns left to right, each assignment seeing the ones before, so
/// `updated_at` is decided before the columns it compares are written.
const UPSERT_USER_MYSQL: &str = "INSERT INTO telegram_users (telegram_id, first_name, last_name, username, \
     language_code, is_blocked, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, FALSE, $6, $6) \
     ON DUPLICATE KEY UPDATE \
       updated_at = IF(is_blocked OR NOT (first_name <=> VALUES(first_name)) \
         OR NOT (last_name <=> VALUES(last_name)) OR NOT (username <=> VALUES(username)) \
         OR NOT (language_code <=> VALUES(language_code)), VALUES(updated_at), updated_at), \
       is_blocked = FALSE, first_name = VALUES(first_name), last_name = VALUES(last_name), \
       username = VALUES(username), language_code = VALUES(language_code)";

/// `$1` telegram_id.
const READ_VISITOR: &str = concat!(
    "SELECT ",
    user_columns!("u"),
    ", a.id AS admin_id, a.name AS admin_name FROM telegram_users u \
     LEFT JOIN administrators a ON a.telegram_id = u.telegram_id AND a.is_active \
     WHERE u.telegram_id = $1"
);

/// All of [`record`] in one PostgreSQL statement: `pu` records the update; only if it did, `ins`
/// inserts a new user and `upd` updates a changed one (each returning the row it wrote); `u` is
/// that row or else the stored one. Neither locks an unchanged user's row: `ON CONFLICT DO
/// UPDATE … WHERE` would, even when its condition is false. `$1` update_id, `$2` kind, `$3` now,
/// `$4` telegram_id, `$5`–`$8` first name, last name, username, language code.
const RECORD_PG: &str = concat!(
    "WITH pu AS (",
    insert_update!(),
    " RETURNING update_id), \
     ins AS (INSERT INTO telegram_users (telegram_id, first_name, last_name, username, language_code, is_blocked, \
       created_at, updated_at) SELECT $4, $5, $6, $7, $8, FALSE, $3, $3 FROM pu \
       ON CONFLICT (telegram_id) DO NOTHING RETURNING ",
    user_columns!("telegram_users"),
    "), upd AS (UPDATE telegram_users SET first_name = $5, last_name = $6, username = $7, language_code = $8, \
       is_blocked = FALSE, updated_at = $3 \
       WHERE telegram_id = $4 AND EXISTS (SELECT 1 FROM pu) AND (is_blocked \
         OR first_name IS DISTINCT FROM $5 OR last_name IS DISTINCT FROM $6 \
         OR username IS DISTINCT FROM $7 OR language_code IS DISTINCT FROM $8) \
       RETURNING ",
    user_columns!("telegram_users"),
    "), u AS (SELECT * FROM ins UNION ALL SELECT * FROM upd UNION ALL SELECT ",
    user_columns!("t"),
    " FROM telegram_users t WHERE t.telegram_id = $4 \
       AND NOT EXISTS (SELECT 1 FROM ins) AND NOT EXISTS (SELECT 1 FROM upd)) \
     SELECT EXISTS (SELECT 1 FROM pu) AS recorded, ",
    user_columns!("u"),
    ", a.id AS admin_id, a.name AS admin_name \
     FROM (SELECT 1) AS one LEFT JOIN u ON TRUE \
     LEFT JOIN administrators a ON a.telegram_id = $4 AND a.is_active"
);

/// Records `update_id` as processed without anything else (an update given up on); false when
/// it was recorded before.
pub async fn mark(db: &impl ConnectionTrait, update_id: i64, kind: &str) -> Result<bool> {
    Ok(insert_update(db, update_id, kind, Utc::now()).await?)
}

/// Records `update_id`; false when it was recorded before.
async fn insert_update(
    db: &impl ConnectionTrait,
    update_id: i64,
    kind: &str,
    now: chrono::DateTime<Utc>,
) -> std::result::Result<bool, DbErr> {
    let backend = db.get_database_backend();
    let values = [update_id.into(), kind.into(), now.into()];
    if backend == DbBackend::MySql {
        let insert = "INSERT INTO processed_updates (update_id, kind, processed_at) VALUES ($1, $2, $3)";
        return sql::execute_insert_new(db, sql::statement(backend, insert, values)).await;
    }
    let stmt = Statement::from_sql_and_values(backend, INSERT_UPDATE, values);
    Ok(db.execute_raw(stmt).await?.rows_affected() > 0)
}

/// Deletes the ids processed more than `retention` ago; returns how many.
pub async fn prune(db: &impl ConnectionTrait, retention: chrono::Duration) -> Result<u64> {
    let cutoff = Utc::now() - retention;
    let deleted = processed_update::Entity::delete_many()
        .filter(processed_update::Column::ProcessedAt.lt(cutoff))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected)
}
