//! Retention: delivered rows are kept for a while (what a reply replies to, the dashboard's
//! history) and then deleted in the background; failed and pending rows are never pruned.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, DbErr};

/// Rows deleted per statement, so a large first prune does not hold locks for long.
const BATCH: u64 = 1000;

/// Deletes the rows sent before `cutoff`, except an administrator's copy of a request still
/// open (its edits after each change need the row) and the forum topic of one (its later
/// messages go there). Returns how many.
pub async fn prune_sent(db: &impl ConnectionTrait, cutoff: DateTime<Utc>) -> Result<u64, DbErr> {
    let backend = db.get_database_backend();
    let batch = "SELECT o.id FROM outgoing_messages o WHERE o.status = 'sent' AND o.sent_at < $1 \
             AND NOT EXISTS (SELECT 1 FROM request_messages rm \
               JOIN client_requests r ON r.id = rm.request_id \
               WHERE rm.outgoing_message_id = o.id AND r.status NOT IN ('done', 'rejected', 'cancelled')) \
             AND NOT EXISTS (SELECT 1 FROM request_topics rt \
               JOIN client_requests r ON r.id = rt.request_id \
               WHERE rt.outgoing_message_id = o.id AND r.status NOT IN ('done', 'rejected', 'cancelled')) \
           ORDER BY o.id LIMIT $2";
    // MySQL neither reads the table a DELETE deletes from in its subquery nor takes a LIMIT in an
    // IN subquery: there the batch is a derived table, read in full before the delete.
    let sql = if backend == DbBackend::MySql {
        format!("DELETE FROM outgoing_messages WHERE id IN (SELECT id FROM ({batch}) AS batch)")
    } else {
        format!("DELETE FROM outgoing_messages WHERE id IN ({batch})")
    };
    let mut deleted = 0;
    loop {
        let done =
            db.execute_raw(crate::sql::statement(backend, &sql, [cutoff.into(), BATCH.into()])).await?.rows_affected();
        deleted += done;
        if done < BATCH {
            return Ok(deleted);
        }
    }
}
