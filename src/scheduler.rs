//! The daily reminder run: at NOTIFICATION_CHECK_TIME in NOTIFICATION_TIMEZONE (correct across
//! daylight-saving changes), plus a catch-up run at start when today's time has already passed
//! (runs are idempotent, so a catch-up never sends anything twice); and the service-level watch
//! ([`SlaWatch`]), a pass a minute.

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::clock::Clock;
use crate::config::NotificationConfig;
use crate::core::Core;
use crate::services::reminders::{self, ReminderMessages, RunReport};
use crate::services::requests::RequestEvents;
use crate::services::sla;

/// The instant a local date and time happen in `tz`; a time skipped by a clock change moves to
/// the first valid minute after it, an ambiguous one takes its first occurrence.
fn instant(tz: Tz, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let mut local = date.and_time(time);
    for _ in 0..180 {
        match tz.from_local_datetime(&local) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => return t.with_timezone(&Utc),
            LocalResult::None => local += Duration::minutes(1),
        }
    }
    Utc.from_utc_datetime(&local)
}

/// The next time the daily run is due after `now`.
pub fn next_run(now: DateTime<Utc>, tz: Tz, check_time: NaiveTime) -> DateTime<Utc> {
    let today = now.with_timezone(&tz).date_naive();
    let due_today = instant(tz, today, check_time);
    if due_today > now { due_today } else { instant(tz, today + Duration::days(1), check_time) }
}

pub struct Scheduler {
    pub core: Core,
    pub messages: Arc<dyn ReminderMessages>,
    pub config: NotificationConfig,
}

impl Scheduler {
    /// One run, in one write: committed, then the sender woken for the reminders it queued.
    async fn run_in_a_write(&self, today: NaiveDate) -> crate::error::Result<RunReport> {
        let write = self.core.begin().await?;
        let report = reminders::run(&write, self.messages.as_ref(), &self.config.days, today, None).await?;
        write.commit().await?;
        Ok(report)
    }

    async fn run_once(&self) {
        let today = reminders::local_date(Utc::now(), self.config.timezone);
        match self.run_in_a_write(today).await {
            Ok(report) => {
                tracing::info!(date = %report.date, queued = report.queued, expired = report.expired, "reminder run done");
                metrics::counter!("kktbot_reminders_queued_total").increment(report.queued);
            }
            Err(e) => {
                metrics::counter!("kktbot_reminder_runs_failed_total").increment(1);
                tracing::error!(error = %e, "reminder run failed; it is retried at the next run");
            }
        }
    }

    /// Runs until `stop` completes.
    pub async fn run(self, stop: impl Future<Output = ()>) {
        tokio::pin!(stop);
        let now = Utc::now();
        let today = now.with_timezone(&self.config.timezone).date_naive();
        if instant(self.config.timezone, today, self.config.check_time) <= now {
            self.run_once().await;
        }
        loop {
            let due = next_run(Utc::now(), self.config.timezone, self.config.check_time);
            let wait = (due - Utc::now()).to_std().unwrap_or_default();
            tracing::debug!(%due, "next reminder run");
            tokio::select! {
                () = &mut stop => return,
                () = tokio::time::sleep(wait) => self.run_once().await,
            }
        }
    }
}

/// The service-level watch: a pass of [`sla::watch`] at the clock's time every `every` (requests
/// past their decision time announced again, past their done time flagged, each once).
pub struct SlaWatch {
    pub core: Core,
    pub events: Arc<dyn RequestEvents>,
    pub defaults: sla::Defaults,
    pub clock: Clock,
    pub every: std::time::Duration,
}

impl SlaWatch {
    /// Runs until `stop` completes.
    pub async fn run(self, stop: impl Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            match sla::watch(&self.core.db, self.events.as_ref(), self.defaults, self.clock.now()).await {
                Ok(watched) if watched == sla::Watched::default() => {}
                Ok(watched) => {
                    tracing::info!(
                        announced = watched.announced,
                        flagged = watched.flagged,
                        "requests past their service levels"
                    );
                    // sla::watch commits a transaction per request itself.
                    self.core.sender().wake();
                }
                Err(e) => tracing::warn!(error = %e, "the service-level watch failed; it tries again at its next pass"),
            }
            tokio::select! {
                () = &mut stop => return,
                () = tokio::time::sleep(self.every) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::{Berlin, Moscow};

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn next_run_is_today_or_tomorrow_in_the_zone() {
        let nine = NaiveTime::from_hms_opt(9, 0, 0).unwrap();
        // 05:00 UTC is 08:00 in Moscow: due at 09:00 Moscow = 06:00 UTC today.
        assert_eq!(next_run(utc("2026-11-22T05:00:00Z"), Moscow, nine), utc("2026-11-22T06:00:00Z"));
        // 21:30 UTC is 00:30 Moscow of the 23rd: due at 09:00 Moscow on the 23rd.
        assert_eq!(next_run(utc("2026-11-22T21:30:00Z"), Moscow, nine), utc("2026-11-23T06:00:00Z"));
        // Exactly at the time: the next day.
        assert_eq!(next_run(utc("2026-11-22T06:00:00Z"), Moscow, nine), utc("2026-11-23T06:00:00Z"));
    }

    #[test]
    fn daylight_saving_changes_keep_the_local_time() {
        let nine = NaiveTime::from_hms_opt(9, 0, 0).unwrap();
        // Berlin moves to summer time on 2026-03-29: 09:00 is 07:00 UTC that day, 08:00 UTC before.
        assert_eq!(next_run(utc("2026-03-28T10:00:00Z"), Berlin, nine), utc("2026-03-29T07:00:00Z"));
        // A time inside the skipped hour (02:30) runs at 03:00 local.
        let half_two = NaiveTime::from_hms_opt(2, 30, 0).unwrap();
        assert_eq!(next_run(utc("2026-03-28T12:00:00Z"), Berlin, half_two), utc("2026-03-29T01:00:00Z"));
        // In autumn 02:30 happens twice: the first one counts.
        assert_eq!(next_run(utc("2026-10-24T12:00:00Z"), Berlin, half_two), utc("2026-10-25T00:30:00Z"));
    }
}
