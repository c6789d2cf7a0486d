//! Partial indexes for the sender's bounded outbox scan. They hold pending rows only, so a row
//! leaves them once sent and a scan never walks through the outbox's history:
//! - pending answers to callback queries, in id order;
//! - pending chat messages, in id order (the candidates for each chat's FIFO head);
//! - pending chat messages by chat (whether a chat has an older one pending).
//!
//! The sender's queries repeat these predicates as literals, so both databases can use them; on
//! SQLite they also name their index (`INDEXED BY`), which its planner would otherwise pass over.
//!
//! MySQL has no partial indexes: there the same names are plain indexes that lead with the
//! status (and the method, or the chat), so a scan reads the pending rows in id order too.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: [(&str, &str); 3] = [
    ("idx_outgoing_messages_pending_answers", "(id) WHERE status = 'pending' AND method = 'answerCallbackQuery'"),
    ("idx_outgoing_messages_pending_messages", "(id) WHERE status = 'pending' AND method <> 'answerCallbackQuery'"),
    (
        "idx_outgoing_messages_pending_by_chat",
        "(chat_id, id) WHERE status = 'pending' AND method <> 'answerCallbackQuery'",
    ),
];

/// The indexes of [`INDEXES`] on MySQL.
const MYSQL_INDEXES: [(&str, &str); 3] = [
    ("idx_outgoing_messages_pending_answers", "(status, method, id)"),
    ("idx_outgoing_messages_pending_messages", "(status, id)"),
    ("idx_outgoing_messages_pending_by_chat", "(status, chat_id, id)"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Raw SQL: the schema builder has no partial indexes; this syntax is the same on
        // SQLite and PostgreSQL.
        let indexes = if m.get_database_backend() == DbBackend::MySql { MYSQL_INDEXES } else { INDEXES };
        for (name, definition) in indexes {
            m.get_connection()
                .execute_unprepared(&format!("CREATE INDEX {name} ON outgoing_messages {definition}"))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (name, _) in INDEXES {
            m.drop_index(Index::drop().name(name).table("outgoing_messages").to_owned()).await?;
        }
        Ok(())
    }
}
