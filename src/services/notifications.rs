//! The reminder log (`notification_logs`) as staff read it.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};

use super::listing::{self, ListParams, Listed};
use crate::entities::notification_log;
use crate::error::{Error, Result};

/// The statuses a reminder goes through.
pub const STATUSES: [&str; 4] = ["pending", "retrying", "sent", "failed"];

#[derive(Clone, Debug, Default)]
pub struct NotificationFilter {
    pub status: Option<String>,
    pub deadline_id: Option<i32>,
    pub contact_id: Option<i32>,
    /// Created on or after this day (UTC).
    pub from: Option<NaiveDate>,
    /// Created on or before this day (UTC).
    pub to: Option<NaiveDate>,
}

/// The start of a UTC day.
pub fn day_start(date: NaiveDate) -> DateTime<Utc> {
    date.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
}

/// Checks a `from`/`to` pair.
pub fn check_range(from: Option<NaiveDate>, to: Option<NaiveDate>) -> Result<()> {
    match (from, to) {
        (Some(f), Some(t)) if f > t => Err(Error::invalid("to", "must not be before from")),
        _ => Ok(()),
    }
}

pub async fn list(
    db: &impl ConnectionTrait,
    params: &ListParams,
    filter: &NotificationFilter,
) -> Result<Listed<notification_log::Model>> {
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
    let query = listing::sorted(
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
    )?;
    listing::fetch(db, query, params.page, params.per_page).await
}

/// Reminders delivered and failed since `since`.
pub async fn sent_and_failed_since(db: &impl ConnectionTrait, since: DateTime<Utc>) -> Result<(u64, u64)> {
    let sent = notification_log::Entity::find()
        .filter(notification_log::Column::Status.eq("sent"))
        .filter(notification_log::Column::SentAt.gte(since))
        .count(db)
        .await?;
    let failed = notification_log::Entity::find()
        .filter(notification_log::Column::Status.eq("failed"))
        .filter(notification_log::Column::CreatedAt.gte(since))
        .count(db)
        .await?;
    Ok((sent, failed))
}
