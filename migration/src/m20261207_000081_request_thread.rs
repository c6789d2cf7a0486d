//! A conversation per request. `request_comments` is its thread, in order: the client's comments,
//! the staff's replies to the client, their questions, and internal notes that never reach the
//! client; a photo or document is kept as its Telegram file id. `request_deliveries` links a
//! request to the outbox rows that carried something of it to someone (the client's messages
//! about it, a comment forwarded to staff, a notice to its assignee): a reply in Telegram to any
//! of them belongs to that request, and a thread message's delivery status is its rows' status.
//! A delivered outbox row pruned by the retention leaves its delivery with no row (set null).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn fk(
    from: &'static str,
    col: &'static str,
    to: &'static str,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{from}_{col}"))
        .from(from, col)
        .to(to, "id")
        .on_delete(on_delete)
        .on_update(ForeignKeyAction::Cascade)
        .to_owned()
}

const INDEXES: [(&str, &str, &[&str]); 4] = [
    ("request_comments", "idx_request_comments_request", &["request_id", "id"]),
    ("request_deliveries", "idx_request_deliveries_request", &["request_id"]),
    ("request_deliveries", "idx_request_deliveries_comment", &["comment_id"]),
    ("request_deliveries", "idx_request_deliveries_outgoing", &["outgoing_message_id"]),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use ForeignKeyAction::{Cascade, SetNull};
        crate::create_table(
            m,
            Table::create()
                .table("request_comments")
                .col(pk_auto("id"))
                .col(integer("request_id"))
                // comment (the client's), reply (staff → client), question (staff ask the
                // client), note (internal).
                .col(string_len("kind", 16))
                .col(string_len("channel", 16))
                .col(string_len("author_kind", 16))
                .col(big_integer_null("author_id"))
                .col(string_len_null("author_name", 255))
                .col(text_null("body"))
                // photo or document, with its Telegram file id, name and type.
                .col(string_len_null("attachment_kind", 16))
                .col(string_len_null("attachment_file_id", 255))
                .col(string_len_null("attachment_name", 255))
                .col(string_len_null("attachment_mime", 128))
                .col(crate::instant(m, "created_at"))
                .foreign_key(&mut fk("request_comments", "request_id", "client_requests", Cascade))
                .to_owned(),
        )
        .await?;
        crate::create_table(
            m,
            Table::create()
                .table("request_deliveries")
                .col(pk_auto("id"))
                .col(integer("request_id"))
                .col(integer_null("comment_id"))
                .col(big_integer("chat_id"))
                // client (a message to the requester), comment (a client's comment to staff),
                // notice (to the assignee or the administrators).
                .col(string_len("purpose", 16))
                .col(big_integer_null("outgoing_message_id"))
                .col(crate::instant(m, "created_at"))
                .foreign_key(&mut fk("request_deliveries", "request_id", "client_requests", Cascade))
                .foreign_key(&mut fk("request_deliveries", "comment_id", "request_comments", Cascade))
                .foreign_key(&mut fk("request_deliveries", "outgoing_message_id", "outgoing_messages", SetNull))
                .to_owned(),
        )
        .await?;
        for (table, name, cols) in INDEXES {
            let mut index = Index::create();
            index.name(name).table(table);
            for col in cols {
                index.col(*col);
            }
            m.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in ["request_deliveries", "request_comments"] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
