//! The dashboard's figures.

use chrono::{Duration, NaiveDate, Utc};
use sea_orm::ConnectionTrait;

use crate::entities::client_request::Status;
use crate::error::Result;

/// Weeks ahead the deadline chart shows.
pub const CHART_WEEKS: i64 = 12;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stats {
    pub today: NaiveDate,
    pub clients: u64,
    pub active_clients: u64,
    pub active_cash_registers: u64,
    pub due_7: u64,
    pub due_14: u64,
    pub due_30: u64,
    pub overdue: u64,
    /// Requests filed over the last 30 days, by status.
    pub requests_30d: Vec<(Status, u64)>,
    pub notifications_sent_7d: u64,
    pub notifications_failed_7d: u64,
    /// Open deadlines per week for the next [`CHART_WEEKS`] weeks: (first day of the week, count).
    pub weeks: Vec<(NaiveDate, u64)>,
}

/// The figures as of `today` (the reminder time zone's date).
pub async fn collect(db: &impl ConnectionTrait, today: NaiveDate) -> Result<Stats> {
    let (clients, active_clients) = super::clients::counts(db).await?;
    let active_cash_registers = super::cash_registers::count_active(db).await?;
    let due_7 = super::deadlines::count_due_within(db, today, 7).await?;
    let due_14 = super::deadlines::count_due_within(db, today, 14).await?;
    let due_30 = super::deadlines::count_due_within(db, today, 30).await?;
    let overdue = super::deadlines::count_overdue(db, today).await?;
    let now = Utc::now();
    let requests_30d = super::request_queries::count_by_status_since(db, now - Duration::days(30)).await?;
    let (notifications_sent_7d, notifications_failed_7d) =
        super::reminder_log::sent_and_failed_since(db, now - Duration::days(7)).await?;
    let end = today + Duration::days(CHART_WEEKS * 7 - 1);
    let dates = super::deadlines::open_counts_between(db, today, end).await?;
    let weeks = (0..CHART_WEEKS)
        .map(|w| {
            let start = today + Duration::days(w * 7);
            let in_week = dates.iter().filter(|(d, _)| *d >= start && (*d - start).num_days() < 7);
            (start, in_week.map(|(_, n)| *n as u64).sum())
        })
        .collect();
    Ok(Stats {
        today,
        clients,
        active_clients,
        active_cash_registers,
        due_7,
        due_14,
        due_30,
        overdue,
        requests_30d,
        notifications_sent_7d,
        notifications_failed_7d,
        weeks,
    })
}
