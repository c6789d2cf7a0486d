//! The dashboard's figures.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{Duration, NaiveDate, Utc};
use sea_orm::ConnectionTrait;
use tokio::sync::Mutex;

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

/// The figures as of `today` (the reminder time zone's date). Its five reads are independent
/// and run at once, each on a connection of its own from the pool (in a transaction, one after
/// another on its connection).
pub async fn collect(db: &impl ConnectionTrait, today: NaiveDate) -> Result<Stats> {
    let now = Utc::now();
    let chart_end = today + Duration::days(CHART_WEEKS * 7 - 1);
    let (clients, active_cash_registers, per_date, requests_30d, notifications) = tokio::try_join!(
        super::clients::counts(db),
        super::cash_registers::count_active(db),
        super::deadlines::open_per_date_of_active_clients(db, chart_end.max(today + Duration::days(30))),
        super::request_queries::count_by_status_since(db, now - Duration::days(30)),
        super::reminder_log::sent_and_failed_since(db, now - Duration::days(7)),
    )?;
    let (clients, active_clients) = clients;
    let (notifications_sent_7d, notifications_failed_7d) = notifications;
    let open_between = |from: NaiveDate, to: NaiveDate| -> u64 {
        per_date.iter().filter(|(d, _)| (from..=to).contains(d)).map(|(_, n)| n).sum()
    };
    let due_within = |days| open_between(today, today + Duration::days(days));
    let overdue = per_date.iter().filter(|(d, _)| *d < today).map(|(_, n)| n).sum();
    let weeks = (0..CHART_WEEKS)
        .map(|w| {
            let start = today + Duration::days(w * 7);
            (start, open_between(start, start + Duration::days(6)))
        })
        .collect();
    Ok(Stats {
        today,
        clients,
        active_clients,
        active_cash_registers,
        due_7: due_within(7),
        due_14: due_within(14),
        due_30: due_within(30),
        overdue,
        requests_30d,
        notifications_sent_7d,
        notifications_failed_7d,
        weeks,
    })
}

/// The figures shared by everyone who asks at the same time: at most one computation runs at a
/// time, and those who ask while it runs share the next one, so 50 dashboards asking at once cost
/// the database about two computations instead of 50. Figures are never older than the question:
/// an asker gets those of a computation that started after it asked.
#[derive(Clone, Default)]
pub struct SharedStats {
    inner: Arc<Coalesced<Stats>>,
}

impl SharedStats {
    /// The figures as of `today`, computed after this call began.
    pub async fn collect(&self, db: &impl ConnectionTrait, today: NaiveDate) -> Result<Stats> {
        self.inner.get(|stats| stats.today == today, || collect(db, today)).await
    }
}

/// One computation at a time, shared by those who asked before it started.
struct Coalesced<T> {
    /// How many have asked so far; each asker's number is its ticket.
    asked: AtomicU64,
    /// The last result, with the last ticket it answers (every asker up to it asked before its
    /// computation started); held while a computation runs.
    last: Mutex<Option<(u64, T)>>,
}

impl<T> Default for Coalesced<T> {
    fn default() -> Self {
        Self { asked: AtomicU64::new(0), last: Mutex::new(None) }
    }
}

impl<T: Clone> Coalesced<T> {
    async fn get<Fut>(&self, fits: impl Fn(&T) -> bool, compute: impl FnOnce() -> Fut) -> Result<T>
    where
        Fut: Future<Output = Result<T>>,
    {
        let ticket = self.asked.fetch_add(1, Ordering::SeqCst) + 1;
        let mut last = self.last.lock().await;
        if let Some((answers, value)) = last.as_ref()
            && *answers >= ticket
            && fits(value)
        {
            return Ok(value.clone());
        }
        let answers = self.asked.load(Ordering::SeqCst);
        let value = compute().await?;
        *last = Some((answers, value.clone()));
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::Database;

    use super::*;
    use crate::services::cash_registers::{self, CashRegisterInput};
    use crate::services::clients::{self, ClientInput};
    use crate::services::deadlines::{self, NewDeadline};

    fn client(name: &str, inn: &str, active: bool) -> ClientInput {
        ClientInput {
            name: name.into(),
            inn: inn.into(),
            contact_person: None,
            phone: None,
            email: None,
            address: None,
            notes: None,
            is_active: Some(active),
        }
    }

    fn register(client_id: i32, serial: &str, active: bool) -> CashRegisterInput {
        CashRegisterInput {
            client_id,
            model: "Атол 30Ф".into(),
            serial_number: serial.into(),
            registration_number: None,
            fiscal_drive_number: None,
            ofd_provider_id: None,
            address: None,
            is_active: Some(active),
        }
    }

    /// The deadlines and cash registers of an inactive client are left out of every figure, as
    /// are inactive registers of an active client.
    #[tokio::test]
    async fn an_inactive_clients_deadlines_and_registers_are_not_counted() {
        let db = Database::connect("sqlite::memory:").await.unwrap();
        crate::db::migrate_up(&db).await.unwrap();
        let today = Utc::now().date_naive();
        let active = clients::create(&db, &client("ООО Ромашка", "7707083893", true)).await.unwrap().id;
        let inactive = clients::create(&db, &client("ООО Лютик", "7736207543", false)).await.unwrap().id;
        for (client_id, serial, on) in [(active, "A1", true), (active, "A2", false), (inactive, "B1", true)] {
            cash_registers::create(&db, &register(client_id, serial, on)).await.unwrap();
        }
        for (client_id, days) in [(active, -3), (active, 5), (active, 20), (active, 40), (inactive, -3), (inactive, 5)]
        {
            let expiration_date = today + Duration::days(days);
            let new =
                NewDeadline { client_id, cash_register_id: None, deadline_type_id: 1, expiration_date, notes: None };
            deadlines::create(&db, new).await.unwrap();
        }
        let s = collect(&db, today).await.unwrap();
        assert_eq!((s.clients, s.active_clients, s.active_cash_registers), (2, 1, 1));
        assert_eq!((s.overdue, s.due_7, s.due_14, s.due_30), (1, 1, 1, 2));
        let weeks: Vec<u64> = s.weeks.iter().map(|(_, n)| *n).collect();
        assert_eq!(weeks, [1, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    }

    /// Twenty dashboards asking at once cost two computations: the one running when they asked
    /// and one more that they share. Each caller gets figures computed after it asked.
    #[tokio::test(start_paused = true)]
    async fn askers_at_the_same_time_share_a_computation_started_after_they_asked() {
        let shared = Arc::new(Coalesced::<u64>::default());
        let computations = Arc::new(AtomicU64::new(0));
        let ask = |shared: Arc<Coalesced<u64>>, computations: Arc<AtomicU64>| async move {
            let asked = computations.load(Ordering::SeqCst);
            let value = shared
                .get(
                    |_| true,
                    || async {
                        let n = computations.fetch_add(1, Ordering::SeqCst) + 1;
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        Ok(n)
                    },
                )
                .await
                .unwrap();
            (asked, value)
        };
        let first = tokio::spawn(ask(shared.clone(), computations.clone()));
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        let rest: Vec<_> = (0..19).map(|_| tokio::spawn(ask(shared.clone(), computations.clone()))).collect();
        assert_eq!(first.await.unwrap(), (0, 1));
        for asker in rest {
            // They asked while the first computation ran; they get the second, not the first.
            assert_eq!(asker.await.unwrap(), (1, 2));
        }
        assert_eq!(computations.load(Ordering::SeqCst), 2);
        // Asking again later computes again: a finished computation answers no one after it.
        assert_eq!(ask(shared.clone(), computations.clone()).await, (2, 3));
    }

    /// A result for another day (the question crossed midnight) is not handed out.
    #[tokio::test]
    async fn a_result_for_another_day_is_computed_again() {
        let shared = Coalesced::<u64>::default();
        shared.asked.store(5, Ordering::SeqCst);
        *shared.last.lock().await = Some((10, 7));
        assert_eq!(shared.get(|v| *v == 8, || async { Ok(8) }).await.unwrap(), 8);
        assert_eq!(shared.get(|v| *v == 8, || async { Ok(9) }).await.unwrap(), 9);
    }
}
