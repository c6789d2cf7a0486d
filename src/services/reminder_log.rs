//! The reminder log (`notification_logs`): one row per reminder sent to a contact, as staff read
//! it. (The sender keeps each row's status in step with its outbox message.)

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect};

use super::listing::{self, ListParams, Listed, check_range, day_start};
use crate::entities::{client, contact, deadline, deadline_type, notification_log};
use crate::error::{Error, Result};

/// A reminder with what a person needs to read it: whose deadline of which kind, and to whom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReminderView {
    pub log: notification_log::Model,
    /// The deadline's client (none if the deadline was deleted).
    pub client: Option<(i32, String)>,
    /// The deadline's type (none if the deadline was deleted).
    pub deadline_type: Option<deadline_type::Model>,
    /// The contact's name, when one is stored.
    pub contact_name: Option<String>,
}

/// Attaches the client, deadline type and contact name to some reminders: four queries at most,
/// whatever the count.
pub async fn views(db: &impl ConnectionTrait, logs: Vec<notification_log::Model>) -> Result<Vec<ReminderView>> {
    let deadline_ids: BTreeSet<i32> = logs.iter().map(|l| l.deadline_id).collect();
    let contact_ids: BTreeSet<i32> = logs.iter().map(|l| l.contact_id).collect();
    if logs.is_empty() {
        return Ok(Vec::new());
    }
    let deadlines: HashMap<i32, (i32, i32)> = deadline::Entity::find()
        .select_only()
        .columns([deadline::Column::Id, deadline::Column::ClientId, deadline::Column::DeadlineTypeId])
        .filter(deadline::Column::Id.is_in(deadline_ids))
        .into_tuple::<(i32, i32, i32)>()
        .all(db)
        .await?
        .into_iter()
        .map(|(id, client_id, type_id)| (id, (client_id, type_id)))
        .collect();
    let client_ids: BTreeSet<i32> = deadlines.values().map(|(client_id, _)| *client_id).collect();
    let clients: HashMap<i32, String> = client::Entity::find()
        .select_only()
        .columns([client::Column::Id, client::Column::Name])
        .filter(client::Column::Id.is_in(client_ids))
        .into_tuple::<(i32, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    // Deadline types are few: read them all.
    let types: HashMap<i32, deadline_type::Model> =
        deadline_type::Entity::find().all(db).await?.into_iter().map(|t| (t.id, t)).collect();
    let contacts: HashMap<i32, Option<String>> = contact::Entity::find()
        .select_only()
        .columns([contact::Column::Id, contact::Column::Name])
        .filter(contact::Column::Id.is_in(contact_ids))
        .into_tuple::<(i32, Option<String>)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    Ok(logs
        .into_iter()
        .map(|log| {
            let of_deadline = deadlines.get(&log.deadline_id);
            ReminderView {
                client: of_deadline.and_then(|(id, _)| clients.get(id).map(|name| (*id, name.clone()))),
                deadline_type: of_deadline.and_then(|(_, type_id)| types.get(type_id).cloned()),
                contact_name: contacts.get(&log.contact_id).cloned().flatten(),
                log,
            }
        })
        .collect())
}

/// The statuses a reminder goes through.
pub const STATUSES: [&str; 4] = ["pending", "retrying", "sent", "failed"];

#[derive(Clone, Debug, Default)]
pub struct ReminderFilter {
    pub status: Option<String>,
    pub deadline_id: Option<i32>,
    pub contact_id: Option<i32>,
    /// Created on or after this day (UTC).
    pub from: Option<NaiveDate>,
    /// Created on or before this day (UTC).
    pub to: Option<NaiveDate>,
}

pub async fn list(
    db: &impl ConnectionTrait,
    params: &ListParams,
    filter: &ReminderFilter,
) -> Result<Listed<ReminderView>> {
    let query = list_query(params, filter)?;
    let listed = listing::fetch(db, query, params.page, params.per_page).await?;
    Ok(Listed { items: views(db, listed.items).await?, total: listed.total })
}

/// The reminders [`list`] reads, in its order.
pub(crate) fn list_query(
    params: &ListParams,
    filter: &ReminderFilter,
) -> Result<sea_orm::Select<notification_log::Entity>> {
    let mut query = notification_log::Entity::find();
    if let Some(status) = filter.status.as_deref() {
        if !STATUSES.contains(&status) {
            return Err(Error::invalid("status", format!("must be one of {}", STATUSES.join(", "))));
        }
        query = query.filter(notification_log::Column::Status.eq(status));
    }
    if let Some(id) = filter.deadline_id {
        query = query.filter(notification_log::Column::DeadlineId.eq(id));
    }
    if let Some(id) = filter.contact_id {
        query = query.filter(notification_log::Column::ContactId.eq(id));
    }
    check_range(filter.from, filter.to)?;
    if let Some(from) = filter.from {
        query = query.filter(notification_log::Column::CreatedAt.gte(day_start(from)));
    }
    if let Some(to) = filter.to {
        query = query.filter(notification_log::Column::CreatedAt.lt(day_start(to) + Duration::days(1)));
    }
    listing::sorted(
        query,
        params.sort.as_deref(),
        &[
            ("id", notification_log::Column::Id),
            ("created_at", notification_log::Column::CreatedAt),
            ("sent_at", notification_log::Column::SentAt),
            ("expiration_date", notification_log::Column::ExpirationDate),
            ("status", notification_log::Column::Status),
        ],
        "-id",
        notification_log::Column::Id,
    )
}

/// Reminders delivered since `since`.
pub(crate) fn sent_since(since: DateTime<Utc>) -> sea_orm::Select<notification_log::Entity> {
    notification_log::Entity::find()
        .filter(notification_log::Column::Status.eq("sent"))
        .filter(notification_log::Column::SentAt.gte(since))
}

/// Reminders delivered and failed since `since`.
pub async fn sent_and_failed_since(db: &impl ConnectionTrait, since: DateTime<Utc>) -> Result<(u64, u64)> {
    let sent = sent_since(since).count(db).await?;
    let failed = notification_log::Entity::find()
        .filter(notification_log::Column::Status.eq("failed"))
        .filter(notification_log::Column::CreatedAt.gte(since))
        .count(db)
        .await?;
    Ok((sent, failed))
}
