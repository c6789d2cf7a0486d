//! Lists for the REST API and the dashboard: a page of rows with the total count, a
//! whitelisted sort (`field` or `-field`) and a substring search.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, Order, PaginatorTrait, QueryFilter, QueryOrder, Select,
};

use crate::error::{Error, Result};

/// Which page, in which order, matching what.
#[derive(Clone, Debug, Default)]
pub struct ListParams {
    /// From 1.
    pub page: u64,
    pub per_page: u64,
    /// `field` ascending, `-field` descending.
    pub sort: Option<String>,
    /// Free-text search.
    pub q: Option<String>,
}

impl ListParams {
    pub fn new(page: u64, per_page: u64, sort: Option<String>, q: Option<String>) -> Self {
        Self { page, per_page, sort, q }
    }

    /// The search text, trimmed, if any.
    pub fn search(&self) -> Option<&str> {
        self.q.as_deref().map(str::trim).filter(|q| !q.is_empty())
    }
}

/// One page of rows and how many rows match in all.
#[derive(Clone, Debug)]
pub struct Listed<T> {
    pub items: Vec<T>,
    pub total: u64,
}

impl<T> Listed<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Listed<U> {
        Listed { items: self.items.into_iter().map(f).collect(), total: self.total }
    }
}

/// Orders `select` by `sort` (one of `allowed`, optionally prefixed with `-`), or by `default`;
/// ties are broken by `tie` (the primary key) so pages are stable. An unknown field is 422.
pub fn sorted<E: EntityTrait>(
    select: Select<E>,
    sort: Option<&str>,
    allowed: &[(&str, E::Column)],
    default: &str,
    tie: E::Column,
) -> Result<Select<E>> {
    let spec = sort.map(str::trim).filter(|s| !s.is_empty()).unwrap_or(default);
    let (name, order) = match spec.strip_prefix('-') {
        Some(name) => (name, Order::Desc),
        None => (spec, Order::Asc),
    };
    let Some((_, column)) = allowed.iter().find(|(n, _)| *n == name) else {
        let names: Vec<&str> = allowed.iter().map(|(n, _)| *n).collect();
        return Err(Error::invalid("sort", format!("must be one of {} (prefix - for descending)", names.join(", "))));
    };
    Ok(select.order_by(*column, order.clone()).order_by(tie, order))
}

/// One page of `select` as `params` ask it: the rows whose search text (the `search` column)
/// holds `q`, sorted by `sort` among `allowed` or by `default`, ties broken by `tie` (see
/// [`sorted`]).
pub async fn page<E, C>(
    db: &C,
    select: Select<E>,
    params: &ListParams,
    search: E::Column,
    allowed: &[(&str, E::Column)],
    default: &str,
    tie: E::Column,
) -> Result<Listed<E::Model>>
where
    E: EntityTrait,
    E::Model: Sync,
    C: ConnectionTrait,
{
    let select = match params.search() {
        Some(q) => select.filter(matches(search, q)),
        None => select,
    };
    let select = sorted(select, params.sort.as_deref(), allowed, default, tie)?;
    fetch(db, select, params.page, params.per_page).await
}

/// A `LIKE` pattern matching `text` anywhere, literally (its wildcards escaped).
pub fn substring(text: &str) -> LikeExpr {
    let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    LikeExpr::new(format!("%{escaped}%")).escape('\\')
}

/// Rows whose search text (the `search` column, see `entities::search`) holds `text`, case
/// folded by Unicode's rules on every database.
pub fn matches<C: ColumnTrait>(search: C, text: &str) -> SimpleExpr {
    Expr::col(search.as_column_ref()).like(substring(&crate::entities::search::fold(text)))
}

/// A literal substring match of machine-written text (errors, method names; no `search`
/// column): `column LIKE '%text%'` or `LOWER(column) LIKE '%lowercase text%'`, which folds ASCII
/// case on every database.
pub fn contains<C: ColumnTrait>(column: C, text: &str) -> Condition {
    Condition::any()
        .add(Expr::col(column.as_column_ref()).like(substring(text)))
        .add(Expr::expr(Func::lower(Expr::col(column.as_column_ref()))).like(substring(&text.to_lowercase())))
}

/// Highest page number a list is asked for.
pub const MAX_PAGE: u64 = 1_000_000;
/// Largest page size.
pub const MAX_PER_PAGE: u64 = 100;
/// Longest search text (`q`) of a list, in characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// Longest `sort` of a list (a column name, `-` for descending).
pub const MAX_SORT_CHARS: usize = 64;

/// The page index (from 0) and size a paginator is given for `page` (from 1) and `per_page`,
/// or 422 when they are out of bounds: the offset they make must stay far inside what SQL takes.
pub fn page_index(page: u64, per_page: u64) -> Result<(u64, u64)> {
    let mut errors = Vec::new();
    if !(1..=MAX_PAGE).contains(&page) {
        errors.push(crate::error::FieldError::new("page", format!("must be from 1 to {MAX_PAGE}")));
    }
    if !(1..=MAX_PER_PAGE).contains(&per_page) {
        errors.push(crate::error::FieldError::new("per_page", format!("must be from 1 to {MAX_PER_PAGE}")));
    }
    check(errors)?;
    Ok((page - 1, per_page))
}

/// Fetches one page (`page` from 1) and the total.
pub async fn fetch<E, C>(db: &C, select: Select<E>, page: u64, per_page: u64) -> Result<Listed<E::Model>>
where
    E: EntityTrait,
    E::Model: Sync,
    C: ConnectionTrait,
{
    let (index, size) = page_index(page, per_page)?;
    let paginator = select.paginate(db, size);
    let total = paginator.num_items().await?;
    let items = paginator.fetch_page(index).await?;
    Ok(Listed { items, total })
}

/// Turns a unique-constraint violation into a 409 with `message`, anything else into itself.
pub fn unique_or(err: sea_orm::DbErr, message: &str) -> Error {
    if super::is_unique_violation(&err) { Error::Conflict(message.to_string()) } else { Error::Database(err) }
}

/// A required text: trimmed, not empty, at most `max` characters.
pub fn required(errors: &mut Vec<crate::error::FieldError>, field: &str, value: &str, max: usize) -> String {
    let value = value.trim();
    if value.is_empty() {
        errors.push(crate::error::FieldError::new(field, "is required"));
    } else if value.chars().count() > max {
        errors.push(crate::error::FieldError::new(field, format!("must be at most {max} characters")));
    }
    value.to_string()
}

/// An optional text: trimmed, empty means none, at most `max` characters.
pub fn optional(
    errors: &mut Vec<crate::error::FieldError>,
    field: &str,
    value: Option<&str>,
    max: usize,
) -> Option<String> {
    let value = value.map(str::trim).filter(|v| !v.is_empty())?;
    if value.chars().count() > max {
        errors.push(crate::error::FieldError::new(field, format!("must be at most {max} characters")));
    }
    Some(value.to_string())
}

/// `Err(Validation)` when there are errors.
pub fn check(errors: Vec<crate::error::FieldError>) -> Result<()> {
    if errors.is_empty() { Ok(()) } else { Err(Error::Validation(errors)) }
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
