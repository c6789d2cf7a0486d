//! What the API's lists share: `page`/`per_page`/`sort`/`q` checked into the services' list
//! parameters, `from`/`to` dates, the page answered, and "today" (what days left count from).

use chrono::{Datelike, NaiveDate, Utc};

use super::extract::{Page, PageParams};
use crate::config::Config;
use crate::error::{Error, FieldError};
use crate::http::ApiError;
use crate::services::listing::{ListParams, Listed};

/// Today in the reminder time zone: what "days left" counts from.
pub fn today(config: &Config) -> NaiveDate {
    crate::services::reminders::local_date(Utc::now(), config.notifications.timezone)
}

/// A page of a service list as the API answers it.
pub fn page<T, U>(listed: Listed<T>, params: &ListParams, f: impl FnMut(T) -> U) -> Page<U> {
    let listed = listed.map(f);
    Page { items: listed.items, total: listed.total, page: params.page, per_page: params.per_page }
}

/// Checks `page`/`per_page` and builds the service's list parameters.
pub fn list_params(
    page: Option<u64>,
    per_page: Option<u64>,
    sort: Option<String>,
    q: Option<String>,
) -> Result<ListParams, ApiError> {
    let (page, per_page) = PageParams { page, per_page }.validate()?;
    Ok(ListParams::new(page, per_page, sort, q))
}

/// The years a date given to the API may fall in: cash registers, fiscal drives and their
/// deadlines are of this era, and a four-digit year is what `format: date` (RFC 3339) allows.
pub const YEARS: std::ops::RangeInclusive<i32> = 1900..=2999;

/// A `YYYY-MM-DD` date of a year in [`YEARS`], or a field error.
pub fn parse_date(errors: &mut Vec<FieldError>, field: &str, value: &str) -> Option<NaiveDate> {
    match NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d") {
        Ok(date) if YEARS.contains(&date.year()) => Some(date),
        _ => {
            let message = format!("must be a date as YYYY-MM-DD from {} to {}", YEARS.start(), YEARS.end());
            errors.push(FieldError::new(field, message));
            None
        }
    }
}

/// `from`/`to` query dates.
pub fn date_range(from: Option<&str>, to: Option<&str>) -> Result<(Option<NaiveDate>, Option<NaiveDate>), Error> {
    let mut errors = Vec::new();
    let from = from.and_then(|v| parse_date(&mut errors, "from", v));
    let to = to.and_then(|v| parse_date(&mut errors, "to", v));
    crate::services::listing::check(errors)?;
    Ok((from, to))
}
