//! Folding an edit into the queued row it would change: while a message (or an earlier edit of
//! it) is still pending and unclaimed, an edit of it is written into that row instead of queued
//! after it, so the chat gets one message with the final text and its limit is spent once.
//!
//! The row folded into is the *last* pending row that shapes the message (the message itself,
//! or the latest queued edit of it), so an older queued edit never overrides a newer one. It
//! is read `FOR UPDATE` on PostgreSQL and MySQL and changed only if still pending and unclaimed; the
//! sender's claim returns the row as it is then (`RETURNING`), so a claim right after the fold
//! sends the folded text, and a row claimed first is not folded into (the edit is queued).

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter};

use super::{MessageRef, Outgoing};
use crate::entities::outgoing_message::{Column, Entity, Status};

/// The last pending row of chat `$1` that shapes the message of row `$2`; `$hint` as in the
/// sender's scans (`store::due_chat_heads`), `$lock` `FOR UPDATE` on PostgreSQL and MySQL.
macro_rules! last_shaping {
    ($hint:literal, $lock:literal) => {
        concat!(
            "SELECT * FROM outgoing_messages ",
            $hint,
            " WHERE status = 'pending' AND method <> 'answerCallbackQuery' AND chat_id = $1 \
               AND (id = $2 OR edit_of = $2) ORDER BY id DESC LIMIT 1",
            $lock
        )
    };
}

/// The outbox row an edit applies to, if it names one.
pub(super) fn edited_row(message: &Outgoing) -> Option<i64> {
    match message {
        Outgoing::EditMessageText { message: MessageRef::Outbox(id), .. }
        | Outgoing::EditMessageReplyMarkup { message: MessageRef::Outbox(id), .. } => Some(*id),
        _ => None,
    }
}

/// Folds `edit` (of outbox row `target`) into the last pending row that shapes that message,
/// if nobody holds that row and the two combine; returns the row folded into.
pub(super) async fn fold(db: &impl ConnectionTrait, target: i64, edit: &Outgoing) -> Result<Option<i64>, DbErr> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Sqlite => last_shaping!("INDEXED BY idx_outgoing_messages_pending_by_chat", ""),
        _ => last_shaping!("", " FOR UPDATE"),
    };
    let found = Entity::find()
        .from_raw_sql(crate::sql::statement(backend, sql, [edit.chat_id().into(), target.into()]))
        .one(db)
        .await?;
    let Some(row) = found.filter(|row| row.claimed_by.is_none()) else { return Ok(None) };
    let Ok(queued) = serde_json::from_value::<Outgoing>(row.payload.clone()) else { return Ok(None) };
    let Some(folded) = queued.folded(edit) else { return Ok(None) };
    let payload = serde_json::to_value(&folded).map_err(|e| DbErr::Custom(format!("outbox payload: {e}")))?;
    let written = Entity::update_many()
        .col_expr(Column::Method, Expr::value(folded.method()))
        .col_expr(Column::Payload, Expr::value(payload))
        .filter(Column::Id.eq(row.id))
        .filter(Column::Status.eq(Status::Pending))
        .filter(Column::ClaimedBy.is_null())
        .exec(db)
        .await?;
    Ok((written.rows_affected == 1).then_some(row.id))
}

impl Outgoing {
    /// This queued call with `edit` (of the message this call sends or edits) applied to it, if
    /// the two combine into one call: a text edit of a text message or of a queued edit, a
    /// keyboard edit of a message with a keyboard or of a queued edit.
    pub fn folded(&self, edit: &Outgoing) -> Option<Outgoing> {
        use Outgoing::*;
        match (self.clone(), edit.clone()) {
            (SendMessage { chat_id, topic, .. }, EditMessageText { text, reply_markup, .. }) => {
                Some(SendMessage { chat_id, text, reply_markup, topic })
            }
            (SendMessage { chat_id, text, topic, .. }, EditMessageReplyMarkup { reply_markup, .. }) => {
                Some(SendMessage { chat_id, text, reply_markup, topic })
            }
            (SendPhoto { chat_id, photo, caption, topic, .. }, EditMessageReplyMarkup { reply_markup, .. }) => {
                Some(SendPhoto { chat_id, photo, caption, reply_markup, topic })
            }
            (
                EditMessageText { chat_id, message, .. } | EditMessageReplyMarkup { chat_id, message, .. },
                EditMessageText { text, reply_markup, .. },
            ) => Some(EditMessageText { chat_id, message, text, reply_markup }),
            (EditMessageText { chat_id, message, text, .. }, EditMessageReplyMarkup { reply_markup, .. }) => {
                Some(EditMessageText { chat_id, message, text, reply_markup })
            }
            (EditMessageReplyMarkup { chat_id, message, .. }, EditMessageReplyMarkup { reply_markup, .. }) => {
                Some(EditMessageReplyMarkup { chat_id, message, reply_markup })
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

    use super::*;
    use crate::outbox::Keyboard;

    fn keyboard(data: &str) -> Keyboard {
        InlineKeyboardMarkup::new([[InlineKeyboardButton::callback("Одобрить", data)]]).into()
    }

    fn edit_text(text: &str) -> Outgoing {
        Outgoing::EditMessageText { chat_id: 7, message: MessageRef::Outbox(1), text: text.into(), reply_markup: None }
    }

    fn edit_keyboard(data: &str) -> Outgoing {
        Outgoing::EditMessageReplyMarkup {
            chat_id: 7,
            message: MessageRef::Outbox(1),
            reply_markup: Some(keyboard(data)),
        }
    }

    #[test]
    fn an_edit_folds_into_the_message_or_edit_it_changes() {
        let copy = Outgoing::with_keyboard(7, "Заявка №1", keyboard("v1:ap:1"));
        assert_eq!(copy.folded(&edit_text("Заявка №1 одобрена")), Some(Outgoing::text(7, "Заявка №1 одобрена")));
        assert_eq!(
            copy.folded(&edit_keyboard("v1:cl:1")),
            Some(Outgoing::with_keyboard(7, "Заявка №1", keyboard("v1:cl:1")))
        );
        let photo = Outgoing::SendPhoto {
            chat_id: 7,
            photo: "AgAC".into(),
            caption: Some("Чек".into()),
            reply_markup: None,
            topic: None,
        };
        assert_eq!(photo.folded(&edit_text("текст")), None, "a photo's caption is not its text");
        assert_eq!(
            photo.folded(&edit_keyboard("x")),
            Some(Outgoing::SendPhoto {
                chat_id: 7,
                photo: "AgAC".into(),
                caption: Some("Чек".into()),
                reply_markup: Some(keyboard("x")),
                topic: None
            })
        );
        let document =
            Outgoing::SendDocument { chat_id: 7, file_name: "a.csv".into(), content: vec![1], caption: None };
        assert_eq!(document.folded(&edit_keyboard("x")), None);
        assert_eq!(edit_keyboard("x").folded(&edit_text("итог")), Some(edit_text("итог")));
        assert_eq!(
            edit_text("итог").folded(&edit_keyboard("x")),
            Some(Outgoing::EditMessageText {
                chat_id: 7,
                message: MessageRef::Outbox(1),
                text: "итог".into(),
                reply_markup: Some(keyboard("x"))
            })
        );
        assert_eq!(edit_keyboard("x").folded(&edit_keyboard("y")), Some(edit_keyboard("y")));
        assert_eq!(Outgoing::text(7, "a").folded(&Outgoing::text(7, "b")), None, "only edits fold");
    }
}
