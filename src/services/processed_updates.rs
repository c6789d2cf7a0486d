//! Processed Telegram update ids (webhook de-duplication) and their retention.

use chrono::Utc;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::entities::processed_update;
use crate::error::Result;

/// Deletes the ids processed more than `retention` ago; returns how many.
pub async fn prune(db: &impl ConnectionTrait, retention: chrono::Duration) -> Result<u64> {
    let cutoff = Utc::now() - retention;
    let deleted = processed_update::Entity::delete_many()
        .filter(processed_update::Column::ProcessedAt.lt(cutoff))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected)
}
