//! The daily reminder run: overdue deadlines become `expired`; for every active deadline whose
//! days left have reached a threshold, each contact of the client who wants notifications gets
//! one reminder for that threshold. The unique notification log row (deadline, contact,
//! threshold, date) decides what is sent — not a check-then-insert — so repeated, restarted and
//! concurrent runs send nothing twice. A threshold missed while the server was down is sent
//! late, and only the nearest one. Each active administrator gets a summary once a day: a
//! unique row (day, chat) decides it the same way, so a catch-up at start, a new leader or a run
//! by hand later that day sends none again.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use super::deadlines::DeadlineView;
use crate::entities::deadline::{self, Status};
use crate::entities::{administrator, contact, notification_log, reminder_summary, telegram_user};
use crate::error::Result;

/// Days ahead the administrators' summary looks.
pub const SUMMARY_DAYS: i64 = 14;

/// The messages of a run; implemented by the Telegram adapter, called inside the run's
/// transaction. Each returns the outbox id of the queued message.
#[async_trait]
pub trait ReminderMessages: Send + Sync {
    async fn reminder(
        &self,
        txn: &DatabaseTransaction,
        chat_id: i64,
        deadline: &DeadlineView,
        days_left: i64,
    ) -> Result<i64>;
    async fn summary(&self, txn: &DatabaseTransaction, chat_id: i64, summary: &Summary) -> Result<i64>;
}

/// What the administrators are told after a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub date: NaiveDate,
    /// Active deadlines due within [`SUMMARY_DAYS`], soonest first.
    pub due_soon: Vec<DeadlineView>,
    /// Expired deadlines, oldest first.
    pub overdue: Vec<DeadlineView>,
    /// Reminders this run queued.
    pub queued: u64,
    /// Reminders delivered and failed over the last 24 hours.
    pub sent_last_day: u64,
    pub failed_last_day: u64,
}

/// The figures of one run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunReport {
    pub date: NaiveDate,
    pub expired: u64,
    pub queued: u64,
    pub due_soon: usize,
    pub overdue: usize,
    /// Administrators this run sent the day's summary to: 0 when each had it already today.
    pub summaries: u64,
}

/// The local date in the reminder time zone at an instant.
pub fn local_date(at: DateTime<Utc>, tz: Tz) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

/// The threshold a deadline `days_left` away is at: the smallest threshold not below it.
/// Thresholds passed earlier (missed while down) are not sent any more.
pub fn current_threshold(days_left: i64, thresholds: &[u32]) -> Option<u32> {
    if days_left < 0 {
        return None;
    }
    thresholds.iter().copied().filter(|t| i64::from(*t) >= days_left).min()
}

/// One reminder run for `today`, in the transaction `txn` (the caller commits it). A run
/// started by hand names who started it (`by`): its audit record is written in the run's
/// transaction.
pub async fn run(
    txn: &DatabaseTransaction,
    messages: &dyn ReminderMessages,
    thresholds: &[u32],
    today: NaiveDate,
    by: Option<&super::audit::Actor>,
) -> Result<RunReport> {
    let expired = deadline::Entity::update_many()
        .col_expr(deadline::Column::Status, Expr::value(Status::Expired))
        .col_expr(deadline::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(deadline::Column::Status.eq(Status::Active))
        .filter(deadline::Column::ExpirationDate.lt(today))
        .exec(txn)
        .await?
        .rows_affected;

    let horizon = thresholds.iter().copied().max().map_or(0, i64::from);
    let due = window(txn, today, today + Duration::days(horizon)).await?;
    let client_ids: Vec<i32> = due.iter().map(|v| v.client.id).collect::<HashSet<_>>().into_iter().collect();
    let recipients = recipients(txn, &client_ids).await?;

    let mut queued = 0;
    for view in &due {
        let days_left = view.days_left(today);
        let Some(threshold) = current_threshold(days_left, thresholds) else { continue };
        for contact in recipients.get(&view.client.id).into_iter().flatten() {
            let row = notification_log::Entity::insert(notification_log::ActiveModel {
                deadline_id: Set(view.deadline.id),
                contact_id: Set(contact.id),
                days_before: Set(threshold as i32),
                expiration_date: Set(view.deadline.expiration_date),
                status: Set("pending".into()),
                attempts: Set(0),
                created_at: Set(Utc::now()),
                ..Default::default()
            });
            let once = OnConflict::columns([
                notification_log::Column::DeadlineId,
                notification_log::Column::ContactId,
                notification_log::Column::DaysBefore,
                notification_log::Column::ExpirationDate,
            ])
            .do_nothing()
            .to_owned();
            let inserted = crate::sql::insert_new(txn, row, once).await?;
            if inserted == 0 {
                continue;
            }
            let outbox_id = messages.reminder(txn, contact.telegram_id, view, days_left).await?;
            notification_log::Entity::update_many()
                .col_expr(notification_log::Column::OutgoingMessageId, Expr::value(outbox_id))
                .filter(notification_log::Column::DeadlineId.eq(view.deadline.id))
                .filter(notification_log::Column::ContactId.eq(contact.id))
                .filter(notification_log::Column::DaysBefore.eq(threshold as i32))
                .filter(notification_log::Column::ExpirationDate.eq(view.deadline.expiration_date))
                .exec(txn)
                .await?;
            queued += 1;
        }
    }

    let summary = summary(txn, today, queued).await?;
    let summaries = send_summaries(txn, messages, &summary).await?;
    let report = RunReport {
        date: today,
        expired,
        queued,
        due_soon: summary.due_soon.len(),
        overdue: summary.overdue.len(),
        summaries,
    };
    if let Some(actor) = by {
        let details = serde_json::json!({
            "date": today, "expired": report.expired, "queued": report.queued,
            "due_soon": report.due_soon, "overdue": report.overdue, "summaries": report.summaries,
        });
        super::audit::record(
            txn,
            actor,
            super::audit::Entry::general("reminders.run", "reminders").with_details(details),
        )
        .await?;
    }
    Ok(report)
}

/// Queues the day's summary to every active administrator who has not had it that day; returns
/// how many got it. The row of (day, chat) is inserted first: a run that finds it sends nothing.
async fn send_summaries(txn: &DatabaseTransaction, messages: &dyn ReminderMessages, summary: &Summary) -> Result<u64> {
    let admins = administrator::Entity::find().filter(administrator::Column::IsActive.eq(true)).all(txn).await?;
    let mut sent = 0;
    for admin in admins {
        let row = reminder_summary::Entity::insert(reminder_summary::ActiveModel {
            summary_date: Set(summary.date),
            chat_id: Set(admin.telegram_id),
            created_at: Set(Utc::now()),
            ..Default::default()
        });
        let once = OnConflict::columns([reminder_summary::Column::SummaryDate, reminder_summary::Column::ChatId])
            .do_nothing()
            .to_owned();
        if crate::sql::insert_new(txn, row, once).await? == 0 {
            continue;
        }
        messages.summary(txn, admin.telegram_id, summary).await?;
        sent += 1;
    }
    Ok(sent)
}

/// Active deadlines of active clients expiring between `from` and `to`, inclusive.
async fn window(db: &impl ConnectionTrait, from: NaiveDate, to: NaiveDate) -> Result<Vec<DeadlineView>> {
    let rows = deadline::Entity::find()
        .filter(deadline::Column::Status.eq(Status::Active))
        .filter(deadline::Column::ExpirationDate.between(from, to))
        .order_by_asc(deadline::Column::ExpirationDate)
        .order_by_asc(deadline::Column::Id)
        .all(db)
        .await?;
    Ok(super::deadlines::views(db, rows).await?.into_iter().filter(|v| v.client.is_active).collect())
}

/// Per client: the active contacts who want reminders and have not blocked the bot.
async fn recipients(db: &impl ConnectionTrait, client_ids: &[i32]) -> Result<HashMap<i32, Vec<contact::Model>>> {
    let mut out: HashMap<i32, Vec<contact::Model>> = HashMap::new();
    for chunk in client_ids.chunks(500) {
        let contacts = contact::Entity::find()
            .filter(contact::Column::ClientId.is_in(chunk.iter().copied()))
            .filter(contact::Column::IsActive.eq(true))
            .filter(contact::Column::Notify.eq(true))
            .order_by_asc(contact::Column::Id)
            .all(db)
            .await?;
        let telegram_ids: Vec<i64> = contacts.iter().map(|c| c.telegram_id).collect();
        let blocked: HashSet<i64> = telegram_user::Entity::find()
            .select_only()
            .column(telegram_user::Column::TelegramId)
            .filter(telegram_user::Column::TelegramId.is_in(telegram_ids))
            .filter(telegram_user::Column::IsBlocked.eq(true))
            .into_tuple::<i64>()
            .all(db)
            .await?
            .into_iter()
            .collect();
        for c in contacts.into_iter().filter(|c| !blocked.contains(&c.telegram_id)) {
            out.entry(c.client_id).or_default().push(c);
        }
    }
    Ok(out)
}

async fn summary(db: &impl ConnectionTrait, today: NaiveDate, queued: u64) -> Result<Summary> {
    let due_soon = window(db, today, today + Duration::days(SUMMARY_DAYS)).await?;
    let overdue_rows = deadline::Entity::find()
        .filter(deadline::Column::Status.eq(Status::Expired))
        .order_by_asc(deadline::Column::ExpirationDate)
        .all(db)
        .await?;
    let overdue: Vec<DeadlineView> =
        super::deadlines::views(db, overdue_rows).await?.into_iter().filter(|v| v.client.is_active).collect();
    let since = Utc::now() - Duration::hours(24);
    let count = |status: &'static str| {
        notification_log::Entity::find()
            .filter(notification_log::Column::Status.eq(status))
            .filter(notification_log::Column::CreatedAt.gte(since))
            .count(db)
    };
    let sent_last_day = count("sent").await?;
    let failed_last_day = count("failed").await?;
    Ok(Summary { date: today, due_soon, overdue, queued, sent_last_day, failed_last_day })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_reached_threshold_is_the_one() {
        let t = [14, 7, 3];
        assert_eq!(current_threshold(20, &t), None);
        assert_eq!(current_threshold(14, &t), Some(14));
        assert_eq!(current_threshold(10, &t), Some(14));
        assert_eq!(current_threshold(7, &t), Some(7));
        assert_eq!(current_threshold(5, &t), Some(7), "14 was missed; only the nearest is sent");
        assert_eq!(current_threshold(3, &t), Some(3));
        assert_eq!(current_threshold(0, &t), Some(3));
        assert_eq!(current_threshold(-1, &t), None);
        assert_eq!(current_threshold(0, &[30, 0]), Some(0));
    }

    #[test]
    fn half_past_midnight_in_moscow_is_the_next_day() {
        // 00:30 in Moscow is 21:30 UTC of the previous day.
        let at = DateTime::parse_from_rfc3339("2026-03-09T21:30:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(local_date(at, chrono_tz::Europe::Moscow), NaiveDate::from_ymd_opt(2026, 3, 10).unwrap());
        assert_eq!(local_date(at, chrono_tz::UTC), NaiveDate::from_ymd_opt(2026, 3, 9).unwrap());
    }
}
