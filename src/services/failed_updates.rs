//! Dead letters: Telegram updates that failed because of their own content. Such an update is
//! recorded as processed (Telegram is answered 200 and does not deliver it again) and kept with
//! its error and body for an administrator (`GET /api/failed-updates`, the dashboard).

use chrono::Utc;
use sea_orm::{ConnectionTrait, EntityTrait, QueryFilter, Set};

use super::listing::{self, ListParams, Listed};
use crate::entities::failed_update;
pub use crate::entities::failed_update::Model as FailedUpdate;
use crate::error::Result;

/// The longest body kept, in bytes.
pub const MAX_BODY: usize = 64 * 1024;

/// An update that failed, and why.
#[derive(Clone, Debug)]
pub struct Failure<'a> {
    pub update_id: i64,
    pub kind: &'a str,
    pub telegram_id: Option<i64>,
    pub chat_id: Option<i64>,
    pub error: &'a str,
    /// The update as received.
    pub body: &'a [u8],
}

/// Records the update as processed and keeps it as a dead letter, in `db`'s transaction; false
/// when the update_id was processed already (another delivery of it got there first).
pub async fn record(db: &impl ConnectionTrait, failure: &Failure<'_>) -> Result<bool> {
    if !super::processed_updates::mark(db, failure.update_id, failure.kind).await? {
        return Ok(false);
    }
    let row = failed_update::ActiveModel {
        update_id: Set(failure.update_id),
        kind: Set(failure.kind.to_string()),
        telegram_id: Set(failure.telegram_id),
        chat_id: Set(failure.chat_id),
        error: Set(storable(failure.error.as_bytes())),
        body: Set(storable(failure.body)),
        failed_at: Set(Utc::now()),
    };
    failed_update::Entity::insert(row).exec_without_returning(db).await?;
    Ok(true)
}

/// Text every database stores: valid UTF-8, no NUL, at most [`MAX_BODY`] bytes (cut at a
/// character boundary).
fn storable(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes).replace('\0', "\u{FFFD}");
    if text.len() <= MAX_BODY {
        return text;
    }
    let end = (0..=MAX_BODY).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
    text[..end].to_string()
}

/// Dead letters, newest first unless sorted otherwise; `q` matches the error or the kind.
pub async fn list(db: &impl ConnectionTrait, params: &ListParams) -> Result<Listed<failed_update::Model>> {
    use failed_update::Column as C;
    let mut query = failed_update::Entity::find();
    if let Some(q) = params.search() {
        query = query
            .filter(sea_orm::Condition::any().add(listing::contains(C::Error, q)).add(listing::contains(C::Kind, q)));
    }
    let allowed = [("failed_at", C::FailedAt), ("update_id", C::UpdateId), ("kind", C::Kind)];
    let query = listing::sorted(query, params.sort.as_deref(), &allowed, "-failed_at", C::UpdateId)?;
    listing::fetch(db, query, params.page, params.per_page).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_text_has_no_nul_and_is_cut_at_a_character() {
        assert_eq!(storable(b"Nu\0l"), "Nu\u{FFFD}l");
        assert_eq!(storable(b"\xff ok"), "\u{FFFD} ok");
        let long = "ж".repeat(MAX_BODY);
        let kept = storable(long.as_bytes());
        assert_eq!(kept.len(), MAX_BODY);
        assert!(kept.chars().all(|c| c == 'ж'));
    }
}
