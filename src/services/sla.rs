//! Service levels: per request type, the hours from filing to a decision and to done (the
//! configured defaults where a type sets none). A request still pending past its decision time is
//! announced to the administrators again, once; one not done within its time is flagged, once.
//! The figures per week (median and 90th percentile of the time to a decision and to done) and
//! the requests over their time now are computed here for the API and the dashboard.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use sea_orm::sea_query::ExprTrait;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};

use super::requests::RequestEvents;
use crate::entities::client_request::{self, Status};
use crate::entities::request_type;
use crate::error::{Error, Result};

/// The most hours a time may be set to (a year).
pub const MAX_HOURS: u32 = 8760;

/// The hours every request type has unless it sets its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Defaults {
    pub decision_hours: u32,
    pub done_hours: u32,
}

impl Default for Defaults {
    fn default() -> Self {
        Self { decision_hours: 4, done_hours: 72 }
    }
}

/// A request's times, in hours from filing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub decision_hours: u32,
    pub done_hours: u32,
}

/// The times of a request of this type (none: a link request, or its type removed).
pub fn limits(defaults: Defaults, request_type: Option<&request_type::Model>) -> Limits {
    let own = |hours: Option<i32>| hours.and_then(|h| u32::try_from(h).ok()).filter(|h| (1..=MAX_HOURS).contains(h));
    Limits {
        decision_hours: request_type.and_then(|t| own(t.decision_sla_hours)).unwrap_or(defaults.decision_hours),
        done_hours: request_type.and_then(|t| own(t.done_sla_hours)).unwrap_or(defaults.done_hours),
    }
}

/// Which time a request is past.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Over {
    /// Still pending past its decision time.
    Decision,
    /// Decided but not done past its done time.
    Done,
}

impl Over {
    pub fn as_str(self) -> &'static str {
        match self {
            Over::Decision => "decision",
            Over::Done => "done",
        }
    }
}

/// Where a request stands against its times now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Standing {
    pub decision_due: DateTime<Utc>,
    pub done_due: DateTime<Utc>,
    /// None when it is within its times, or closed.
    pub over: Option<Over>,
}

fn hours(h: u32) -> Duration {
    Duration::hours(i64::from(h))
}

pub fn standing(request: &client_request::Model, limits: Limits, now: DateTime<Utc>) -> Standing {
    let decision_due = request.created_at + hours(limits.decision_hours);
    let done_due = request.created_at + hours(limits.done_hours);
    let over = match request.status {
        Status::Pending if now > decision_due => Some(Over::Decision),
        Status::Approved | Status::InProgress | Status::WaitingForClient if now > done_due => Some(Over::Done),
        _ => None,
    };
    Standing { decision_due, done_due, over }
}

/// Every request type by id, for their times.
async fn types(db: &impl ConnectionTrait) -> Result<std::collections::HashMap<i32, request_type::Model>> {
    Ok(request_type::Entity::find().all(db).await?.into_iter().map(|t| (t.id, t)).collect())
}

const WORK: [Status; 3] = [Status::Approved, Status::InProgress, Status::WaitingForClient];

/// What one pass of [`watch`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Watched {
    /// Requests announced again for waiting past their decision time.
    pub announced: u64,
    /// Requests flagged for not being done within their time.
    pub flagged: u64,
}

/// One pass at `now`: every request still pending past its decision time and not yet announced
/// again is announced to the administrators, and every one decided but not done past its done
/// time and not yet flagged is flagged — each once, by a conditional update in its own
/// transaction with its messages, so two passes (or two instances) never announce twice.
pub async fn watch(
    db: &DatabaseConnection,
    events: &dyn RequestEvents,
    defaults: Defaults,
    now: DateTime<Utc>,
) -> Result<Watched> {
    use client_request::Column;
    let types = types(db).await?;
    let limits_of = |r: &client_request::Model| limits(defaults, r.request_type_id.and_then(|id| types.get(&id)));
    let mut watched = Watched::default();
    let pending = client_request::Entity::find()
        .filter(Column::Status.eq(Status::Pending))
        .filter(Column::DecisionSlaAnnouncedAt.is_null())
        .filter(Column::CreatedAt.lt(now - Duration::hours(1)))
        .order_by_asc(Column::Id)
        .all(db)
        .await?;
    for request in pending {
        let limits = limits_of(&request);
        if standing(&request, limits, now).over != Some(Over::Decision) {
            continue;
        }
        let txn = db.begin().await?;
        let marked = client_request::Entity::update_many()
            .col_expr(Column::DecisionSlaAnnouncedAt, Some(now).into())
            .filter(Column::Id.eq(request.id))
            .filter(Column::Status.eq(Status::Pending))
            .filter(Column::DecisionSlaAnnouncedAt.is_null())
            .exec(&txn)
            .await?;
        if marked.rows_affected == 1 {
            events.decision_overdue(&txn, &request, limits.decision_hours).await?;
            watched.announced += 1;
        }
        txn.commit().await?;
    }
    let working = client_request::Entity::find()
        .filter(Column::Status.is_in(WORK))
        .filter(Column::DoneSlaFlaggedAt.is_null())
        .filter(Column::CreatedAt.lt(now - Duration::hours(1)))
        .order_by_asc(Column::Id)
        .all(db)
        .await?;
    for request in working {
        let limits = limits_of(&request);
        if standing(&request, limits, now).over != Some(Over::Done) {
            continue;
        }
        let txn = db.begin().await?;
        let marked = client_request::Entity::update_many()
            .col_expr(Column::DoneSlaFlaggedAt, Some(now).into())
            .filter(Column::Id.eq(request.id))
            .filter(Column::Status.is_in(WORK))
            .filter(Column::DoneSlaFlaggedAt.is_null())
            .exec(&txn)
            .await?;
        if marked.rows_affected == 1 {
            let request = super::requests::get(&txn, request.id).await?.ok_or(Error::NotFound("request"))?;
            events.done_overdue(&txn, &request, limits.done_hours).await?;
            watched.flagged += 1;
        }
        txn.commit().await?;
    }
    Ok(watched)
}

/// The open requests past one of their times at `now`, oldest first, with where they stand.
pub async fn over(
    db: &impl ConnectionTrait,
    defaults: Defaults,
    now: DateTime<Utc>,
) -> Result<Vec<(client_request::Model, Standing)>> {
    use client_request::Column;
    let types = types(db).await?;
    let open = client_request::Entity::find()
        .filter(Column::Status.is_in([Status::Pending, Status::Approved, Status::InProgress, Status::WaitingForClient]))
        .filter(Column::CreatedAt.lt(now - Duration::hours(1)))
        .order_by_asc(Column::Id)
        .all(db)
        .await?;
    Ok(open
        .into_iter()
        .filter_map(|r| {
            let standing = standing(&r, limits(defaults, r.request_type_id.and_then(|id| types.get(&id))), now);
            standing.over.map(|_| (r, standing))
        })
        .collect())
}

/// One week's figures: how many requests were decided and done in it, and the median and 90th
/// percentile of their hours from filing.
#[derive(Clone, Debug, PartialEq)]
pub struct Week {
    /// Its Monday (weeks run Monday to Sunday in the time zone asked for).
    pub start: NaiveDate,
    pub decided: usize,
    pub decision_median_hours: Option<f64>,
    pub decision_p90_hours: Option<f64>,
    pub done: usize,
    pub done_median_hours: Option<f64>,
    pub done_p90_hours: Option<f64>,
}

/// The `q`-quantile (0–1) of sorted values, interpolated between the two nearest ranks.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let rank = q.clamp(0.0, 1.0) * last as f64;
    let (low, high) = (rank.floor() as usize, rank.ceil() as usize);
    let fraction = rank - low as f64;
    Some(sorted[low] + (sorted[high] - sorted[low]) * fraction)
}

fn rounded(value: Option<f64>) -> Option<f64> {
    value.map(|v| (v * 100.0).round() / 100.0)
}

/// The Monday starting the week `at` falls in, in `tz`.
fn monday(at: DateTime<Utc>, tz: Tz) -> NaiveDate {
    let local = at.with_timezone(&tz).date_naive();
    local - Duration::days(i64::from(local.weekday().num_days_from_monday()))
}

/// The last `weeks` weeks up to `now` (1–104), oldest first: decisions counted in the week they
/// were made, completions in the week they were done.
pub async fn weekly(db: &impl ConnectionTrait, weeks: u32, now: DateTime<Utc>, tz: Tz) -> Result<Vec<Week>> {
    use client_request::Column;
    if !(1..=104).contains(&weeks) {
        return Err(Error::invalid("weeks", "must be from 1 to 104"));
    }
    let last = monday(now, tz);
    let first = last - Duration::weeks(i64::from(weeks) - 1);
    let since = tz
        .from_local_datetime(&first.and_hms_opt(0, 0, 0).expect("midnight exists"))
        .earliest()
        .map_or_else(|| now - Duration::weeks(i64::from(weeks)), |t| t.with_timezone(&Utc));
    type Row = (DateTime<Utc>, Option<DateTime<Utc>>, Option<DateTime<Utc>>);
    let rows: Vec<Row> = client_request::Entity::find()
        .select_only()
        .columns([Column::CreatedAt, Column::DecidedAt, Column::DoneAt])
        .filter(Column::DecidedAt.gte(since).or(Column::DoneAt.gte(since)))
        .into_tuple()
        .all(db)
        .await?;
    let index = |at: DateTime<Utc>| {
        let week = monday(at, tz);
        (week >= first && week <= last).then(|| ((week - first).num_days() / 7) as usize)
    };
    let count = weeks as usize;
    let (mut decisions, mut dones) = (vec![Vec::new(); count], vec![Vec::new(); count]);
    let to_hours = |d: Duration| Ord::max(d.num_seconds(), 0) as f64 / 3600.0;
    for (created, decided, done) in rows {
        if let Some(decided) = decided
            && let Some(i) = index(decided)
        {
            decisions[i].push(to_hours(decided - created));
        }
        if let Some(done) = done
            && let Some(i) = index(done)
        {
            dones[i].push(to_hours(done - created));
        }
    }
    Ok((0..count)
        .map(|i| {
            decisions[i].sort_by(f64::total_cmp);
            dones[i].sort_by(f64::total_cmp);
            Week {
                start: first + Duration::weeks(i as i64),
                decided: decisions[i].len(),
                decision_median_hours: rounded(quantile(&decisions[i], 0.5)),
                decision_p90_hours: rounded(quantile(&decisions[i], 0.9)),
                done: dones[i].len(),
                done_median_hours: rounded(quantile(&dones[i], 0.5)),
                done_p90_hours: rounded(quantile(&dones[i], 0.9)),
            }
        })
        .collect())
}

/// The request types in the order clients see them.
pub async fn request_types(db: &impl ConnectionTrait) -> Result<Vec<request_type::Model>> {
    Ok(request_type::Entity::find()
        .order_by_asc(request_type::Column::SortOrder)
        .order_by_asc(request_type::Column::Id)
        .all(db)
        .await?)
}

/// Sets a request type's own times (none: the defaults again), each 1–[`MAX_HOURS`].
pub async fn set_type_hours(
    db: &impl ConnectionTrait,
    type_id: i32,
    decision_hours: Option<Option<u32>>,
    done_hours: Option<Option<u32>>,
) -> Result<request_type::Model> {
    use sea_orm::{ActiveModelTrait, IntoActiveModel, Set};
    let mut errors = Vec::new();
    for (field, value) in [("decision_sla_hours", decision_hours), ("done_sla_hours", done_hours)] {
        if let Some(Some(h)) = value
            && !(1..=MAX_HOURS).contains(&h)
        {
            errors.push(crate::error::FieldError::new(field, format!("must be from 1 to {MAX_HOURS} hours")));
        }
    }
    super::listing::check(errors)?;
    let found = request_type::Entity::find_by_id(type_id).one(db).await?.ok_or(Error::NotFound("request type"))?;
    let mut row = found.into_active_model();
    let stored = |h: Option<u32>| h.map(|h| h as i32);
    if let Some(h) = decision_hours {
        row.decision_sla_hours = Set(stored(h));
    }
    if let Some(h) = done_hours {
        row.done_sla_hours = Set(stored(h));
    }
    Ok(row.update(db).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_between_ranks() {
        assert_eq!(quantile(&[], 0.5), None);
        assert_eq!(quantile(&[3.0], 0.9), Some(3.0));
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0], 0.5), Some(2.5));
        let ten: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(rounded(quantile(&ten, 0.9)), Some(9.1));
        assert_eq!(quantile(&ten, 0.0), Some(1.0));
        assert_eq!(quantile(&ten, 1.0), Some(10.0));
    }

    #[test]
    fn a_type_sets_its_own_times_or_takes_the_defaults() {
        let defaults = Defaults { decision_hours: 4, done_hours: 72 };
        assert_eq!(limits(defaults, None), Limits { decision_hours: 4, done_hours: 72 });
        let fast = request_type::Model {
            id: 1,
            code: "fn_replacement".into(),
            name_ru: "Замена ФН".into(),
            name_en: "Fiscal drive replacement".into(),
            sort_order: 1,
            is_active: true,
            decision_sla_hours: Some(1),
            done_sla_hours: None,
        };
        assert_eq!(limits(defaults, Some(&fast)), Limits { decision_hours: 1, done_hours: 72 });
    }

    #[test]
    fn weeks_start_on_monday_in_the_zone() {
        let tz: Tz = "Europe/Moscow".parse().unwrap();
        // Sunday 22:00 UTC is Monday 01:00 in Moscow.
        let at = DateTime::parse_from_rfc3339("2026-11-29T22:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(monday(at, tz), NaiveDate::from_ymd_opt(2026, 11, 30).unwrap());
        assert_eq!(monday(at, chrono_tz::UTC), NaiveDate::from_ymd_opt(2026, 11, 23).unwrap());
    }
}
