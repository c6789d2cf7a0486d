//! The audit log of staff actions: who (a dashboard user, a Telegram administrator, the command
//! line), from where (IP and user agent, Telegram, the command line), when, what (entity and id)
//! and a short before → after of the changed fields. Secrets (passwords, hashes, tokens) are
//! never written.
//!
//! [`record`] takes the action's own transaction, so an action and its record are committed
//! together or not at all; [`commit`] records and commits in one call.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, Set, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use serde::Serialize;
use serde_json::{Map, Value};

use super::listing::{self, Listed};
use crate::entities::audit_log;
pub use crate::entities::audit_log::Model as Record;
use crate::error::Result;

/// Who acted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Who {
    /// A dashboard user.
    User { id: i32, name: String },
    /// A Telegram administrator (`administrators.id`).
    Administrator { id: i32, name: String },
    /// Someone at the server's command line.
    Cli,
    /// Nobody known: a failed sign-in to an email that has no account (the email tried).
    Anonymous { account: String },
}

/// From where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    Web { ip: String, user_agent: Option<String> },
    Telegram,
    Cli,
}

/// Who acted and from where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub who: Who,
    pub origin: Origin,
}

impl Actor {
    pub fn user(id: i32, name: impl Into<String>, origin: Origin) -> Self {
        Self { who: Who::User { id, name: name.into() }, origin }
    }

    pub fn administrator(id: i32, name: impl Into<String>) -> Self {
        Self { who: Who::Administrator { id, name: name.into() }, origin: Origin::Telegram }
    }

    pub fn cli() -> Self {
        Self { who: Who::Cli, origin: Origin::Cli }
    }
}

/// A row staff create, change and delete (a client, a contact, a cash register, an
/// administrator, a dashboard user), as its audit entries name it: see [`Entry::creation`],
/// [`Entry::change`] and [`Entry::deletion`].
pub trait Audited: Serialize {
    /// The entity in the log (`client`), the first part of its actions (`client.created`).
    const ENTITY: &'static str;
    fn id(&self) -> i32;
    /// Whether it is active: a change that deactivates it is logged as `<entity>.deactivated`.
    fn is_active(&self) -> bool;
}

/// What was done: `action` (`client.created`, `login.failed`, …), the entity and its id, and
/// the changed fields as `{"field": [before, after]}`.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub action: Cow<'static, str>,
    pub entity: &'static str,
    pub entity_id: Option<String>,
    pub changes: Option<Value>,
}

impl Entry {
    /// An action on `entity` number `id`, with no field changes.
    pub fn new(action: &'static str, entity: &'static str, id: impl ToString) -> Self {
        Self { action: Cow::Borrowed(action), entity, entity_id: Some(id.to_string()), changes: None }
    }

    /// An action on no one row (an export, a reminder run).
    pub fn general(action: &'static str, entity: &'static str) -> Self {
        Self { action: Cow::Borrowed(action), entity, entity_id: None, changes: None }
    }

    /// A row created: its fields, as `[null, value]`.
    pub fn created(action: &'static str, entity: &'static str, id: impl ToString, after: &impl Serialize) -> Self {
        Self::new(action, entity, id).with_changes(diff(None, Some(&to_json(after))))
    }

    /// A row changed: the fields that differ.
    pub fn changed(
        action: &'static str,
        entity: &'static str,
        id: impl ToString,
        before: &impl Serialize,
        after: &impl Serialize,
    ) -> Self {
        Self::new(action, entity, id).with_changes(diff(Some(&to_json(before)), Some(&to_json(after))))
    }

    /// A row deleted: its fields, as `[value, null]`.
    pub fn deleted(action: &'static str, entity: &'static str, id: impl ToString, before: &impl Serialize) -> Self {
        Self::new(action, entity, id).with_changes(diff(Some(&to_json(before)), None))
    }

    /// A row staff created: `<entity>.created`, its fields.
    pub fn creation<T: Audited>(row: &T) -> Self {
        Self::of::<T>("created", row.id()).with_changes(diff(None, Some(&to_json(row))))
    }

    /// A row staff changed: `<entity>.deactivated` when the change deactivated it,
    /// `<entity>.updated` otherwise; the fields that differ.
    pub fn change<T: Audited>(before: &T, after: &T) -> Self {
        let verb = if before.is_active() && !after.is_active() { "deactivated" } else { "updated" };
        Self::of::<T>(verb, after.id()).with_changes(diff(Some(&to_json(before)), Some(&to_json(after))))
    }

    /// A row staff deleted: `<entity>.deleted`, its fields.
    pub fn deletion<T: Audited>(before: &T) -> Self {
        Self::of::<T>("deleted", before.id()).with_changes(diff(Some(&to_json(before)), None))
    }

    /// The action `<entity>.<verb>` on row `id` of `T`.
    fn of<T: Audited>(verb: &str, id: i32) -> Self {
        let action = Cow::Owned(format!("{}.{verb}", T::ENTITY));
        Self { action, entity: T::ENTITY, entity_id: Some(id.to_string()), changes: None }
    }

    /// Free-form details (figures of a run, the format of an export), secrets removed.
    pub fn with_details(self, details: Value) -> Self {
        let mut details = details;
        if let Value::Object(map) = &mut details {
            map.retain(|k, _| !is_secret(k));
            map.values_mut().for_each(shorten);
        }
        self.with_changes(Some(details))
    }

    fn with_changes(mut self, changes: Option<Value>) -> Self {
        self.changes = changes.filter(|c| c.as_object().is_none_or(|m| !m.is_empty()));
        self
    }
}

/// Longest text value kept in a change (longer ones end with `…`).
pub const MAX_VALUE_CHARS: usize = 120;

/// Fields never written: secrets, and bookkeeping that every change touches.
fn is_secret(field: &str) -> bool {
    ["password", "hash", "secret", "token"].iter().any(|s| field.contains(s))
}

const BOOKKEEPING: &[&str] = &["id", "created_at", "updated_at", "last_login_at"];

fn to_json(value: &impl Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

fn shorten(value: &mut Value) {
    if let Value::String(s) = value
        && s.chars().count() > MAX_VALUE_CHARS
    {
        *s = s.chars().take(MAX_VALUE_CHARS).chain(std::iter::once('…')).collect();
    }
}

/// `{"field": [before, after]}` for every field that differs, secrets and bookkeeping left out.
fn diff(before: Option<&Value>, after: Option<&Value>) -> Option<Value> {
    let empty = Map::new();
    let fields = |v: Option<&Value>| v.and_then(Value::as_object).unwrap_or(&empty).clone();
    let (before, after) = (fields(before), fields(after));
    let mut out = Map::new();
    for key in before.keys().chain(after.keys()) {
        if is_secret(key) || BOOKKEEPING.contains(&key.as_str()) || out.contains_key(key) {
            continue;
        }
        let mut old = before.get(key).cloned().unwrap_or(Value::Null);
        let mut new = after.get(key).cloned().unwrap_or(Value::Null);
        if old != new {
            shorten(&mut old);
            shorten(&mut new);
            out.insert(key.clone(), Value::Array(vec![old, new]));
        }
    }
    Some(Value::Object(out))
}

fn truncated(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// Writes the record of an action in the action's transaction.
pub async fn record(txn: &DatabaseTransaction, actor: &Actor, entry: Entry) -> Result<audit_log::Model> {
    let (kind, id, name) = match &actor.who {
        Who::User { id, name } => ("user", Some(i64::from(*id)), name.clone()),
        Who::Administrator { id, name } => ("administrator", Some(i64::from(*id)), name.clone()),
        Who::Cli => ("cli", None, "command line".to_string()),
        Who::Anonymous { account } => ("anonymous", None, account.clone()),
    };
    let (source, ip, user_agent) = match &actor.origin {
        Origin::Web { ip, user_agent } => ("web", Some(ip.clone()), user_agent.as_deref().map(|u| truncated(u, 255))),
        Origin::Telegram => ("telegram", None, None),
        Origin::Cli => ("cli", None, None),
    };
    let row = audit_log::ActiveModel {
        at: Set(Utc::now()),
        actor_kind: Set(kind.into()),
        actor_id: Set(id),
        actor_name: Set(truncated(&name, 255)),
        source: Set(source.into()),
        ip: Set(ip),
        user_agent: Set(user_agent),
        action: Set(entry.action.into()),
        entity: Set(entry.entity.into()),
        entity_id: Set(entry.entity_id),
        changes: Set(entry.changes),
        ..Default::default()
    };
    Ok(row.insert(txn).await?)
}

/// Records the action, then commits its transaction: one call, so the commit cannot happen
/// without the record.
pub async fn commit(txn: DatabaseTransaction, actor: &Actor, entry: Entry) -> Result<()> {
    record(&txn, actor, entry).await?;
    Ok(txn.commit().await?)
}

/// Begins the transaction of an action, which reads before it writes. On SQLite it takes the
/// write lock at once (`BEGIN IMMEDIATE`) and so waits its turn in the busy handler: a deferred
/// transaction whose snapshot another writer's commit has overtaken cannot become a writer and
/// fails at once. PostgreSQL ignores the mode.
pub async fn begin(db: &DatabaseConnection) -> Result<DatabaseTransaction> {
    let options =
        TransactionOptions { sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate), ..Default::default() };
    Ok(db.begin_with_options(options).await?)
}

/// Records an action that has no other writes (a sign-out, an export) in a transaction of its
/// own.
pub async fn record_alone(db: &DatabaseConnection, actor: &Actor, entry: Entry) -> Result<()> {
    commit(begin(db).await?, actor, entry).await
}

/// Filters of the audit log; all optional.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    /// `user`, `administrator`, `cli` or `anonymous`.
    pub actor_kind: Option<String>,
    pub actor_id: Option<i64>,
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    /// An action (`client.created`) or its first part (`client`).
    pub action: Option<String>,
    pub from: Option<DateTime<Utc>>,
    /// Before this instant.
    pub to: Option<DateTime<Utc>>,
}

/// One page of the log, newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    page: u64,
    per_page: u64,
    filter: &AuditFilter,
) -> Result<Listed<audit_log::Model>> {
    let mut query = audit_log::Entity::find();
    if let Some(kind) = &filter.actor_kind {
        query = query.filter(audit_log::Column::ActorKind.eq(kind.as_str()));
    }
    if let Some(id) = filter.actor_id {
        query = query.filter(audit_log::Column::ActorId.eq(id));
    }
    if let Some(entity) = &filter.entity {
        query = query.filter(audit_log::Column::Entity.eq(entity.as_str()));
    }
    if let Some(id) = &filter.entity_id {
        query = query.filter(audit_log::Column::EntityId.eq(id.as_str()));
    }
    if let Some(action) = &filter.action {
        query = query.filter(
            sea_orm::Condition::any()
                .add(audit_log::Column::Action.eq(action.as_str()))
                .add(audit_log::Column::Action.starts_with(format!("{action}."))),
        );
    }
    if let Some(from) = filter.from {
        query = query.filter(audit_log::Column::At.gte(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(audit_log::Column::At.lt(to));
    }
    let query = query.order_by_desc(audit_log::Column::Id);
    listing::fetch(db, query, page, per_page).await
}

/// Deletes the records older than `retention`; returns how many.
pub async fn prune(db: &impl ConnectionTrait, retention: chrono::Duration) -> Result<u64> {
    let cutoff = Utc::now() - retention;
    let deleted = audit_log::Entity::delete_many().filter(audit_log::Column::At.lt(cutoff)).exec(db).await?;
    Ok(deleted.rows_affected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_change_lists_only_the_fields_that_differ_and_never_a_secret() {
        let before = json!({"id": 1, "name": "Old", "inn": "7707083893", "password_hash": "$argon2id$a",
            "token_version": 1, "updated_at": "2026-01-01"});
        let after = json!({"id": 1, "name": "New", "inn": "7707083893", "password_hash": "$argon2id$b",
            "token_version": 2, "updated_at": "2026-01-02"});
        let entry = Entry::changed("client.updated", "client", 1, &before, &after);
        assert_eq!(entry.changes, Some(json!({"name": ["Old", "New"]})));
        assert_eq!(entry.entity_id.as_deref(), Some("1"));

        let created = Entry::created("user.created", "user", 5, &json!({"email": "a@b.c", "password_hash": "x"}));
        assert_eq!(created.changes, Some(json!({"email": [null, "a@b.c"]})));
        let deleted = Entry::deleted("contact.deleted", "contact", 5, &json!({"name": "A"}));
        assert_eq!(deleted.changes, Some(json!({"name": ["A", null]})));
    }

    #[test]
    fn long_values_are_shortened_and_an_empty_change_is_none() {
        let long = "я".repeat(500);
        let entry = Entry::changed("client.updated", "client", 1, &json!({"notes": ""}), &json!({"notes": long}));
        let kept = entry.changes.unwrap()["notes"][1].as_str().unwrap().to_string();
        assert_eq!(kept.chars().count(), MAX_VALUE_CHARS + 1);
        assert!(kept.ends_with('…'));
        let same = Entry::changed("client.updated", "client", 1, &json!({"a": 1}), &json!({"a": 1}));
        assert_eq!(same.changes, None);
        let details = Entry::general("export", "deadline").with_details(json!({"format": "csv", "token": "t"}));
        assert_eq!(details.changes, Some(json!({"format": "csv"})));
    }
}
