//! The whole schema: every table, key, constraint and index kktbot needs.

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

fn index(table: &'static str, name: &str, cols: &[&'static str], unique: bool) -> IndexCreateStatement {
    let mut stmt = Index::create();
    stmt.name(name).table(table);
    for col in cols {
        stmt.col(*col);
    }
    if unique {
        stmt.unique();
    }
    stmt.to_owned()
}

fn created_at(m: &SchemaManager) -> ColumnDef {
    crate::instant(m, "created_at")
}

fn updated_at(m: &SchemaManager) -> ColumnDef {
    crate::instant(m, "updated_at")
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use ForeignKeyAction::{Cascade, Restrict, SetNull};

        // Dashboard accounts.
        crate::create_table(
            m,
            Table::create()
                .table("users")
                .col(pk_auto("id"))
                .col(string_uniq("email"))
                .col(string("password_hash"))
                .col(string_null("name"))
                .col(string_len("role", 16))
                .col(boolean("is_active").default(true))
                .col(crate::instant_null(m, "last_login_at"))
                .col(created_at(m))
                .col(updated_at(m))
                .to_owned(),
        )
        .await?;

        // Telegram administrators: they receive requests and decide them.
        crate::create_table(
            m,
            Table::create()
                .table("administrators")
                .col(pk_auto("id"))
                .col(big_integer_uniq("telegram_id"))
                .col(string_null("name"))
                .col(string_null("username"))
                .col(boolean("is_active").default(true))
                .col(created_at(m))
                .col(updated_at(m))
                .to_owned(),
        )
        .await?;

        // Everyone who has written to the bot: language choice and whether they blocked it.
        crate::create_table(
            m,
            Table::create()
                .table("telegram_users")
                .col(pk_auto("id"))
                .col(big_integer_uniq("telegram_id"))
                .col(string_null("first_name"))
                .col(string_null("last_name"))
                .col(string_null("username"))
                .col(string_len_null("language_code", 16))
                .col(string_len_null("language", 8))
                .col(boolean("is_blocked").default(false))
                .col(created_at(m))
                .col(updated_at(m))
                .to_owned(),
        )
        .await?;

        crate::create_table(
            m,
            Table::create()
                .table("clients")
                .col(pk_auto("id"))
                .col(string("name"))
                .col(string_len_uniq("inn", 12))
                .col(string_null("contact_person"))
                .col(string_null("phone"))
                .col(string_null("email"))
                .col(string_null("address"))
                .col(text_null("notes"))
                .col(boolean("is_active").default(true))
                .col(created_at(m))
                .col(updated_at(m))
                .to_owned(),
        )
        .await?;
        m.create_index(index("clients", "idx_clients_name", &["name"], false)).await?;

        // A client's Telegram contacts: who gets the reminders.
        crate::create_table(
            m,
            Table::create()
                .table("contacts")
                .col(pk_auto("id"))
                .col(integer("client_id"))
                .col(big_integer("telegram_id"))
                .col(string_null("name"))
                .col(boolean("notify").default(true))
                .col(boolean("is_active").default(true))
                .col(created_at(m))
                .col(updated_at(m))
                .foreign_key(&mut fk("contacts", "client_id", "clients", Cascade))
                .to_owned(),
        )
        .await?;
        m.create_index(index("contacts", "uq_contacts_client_telegram", &["client_id", "telegram_id"], true)).await?;
        m.create_index(index("contacts", "idx_contacts_telegram_id", &["telegram_id"], false)).await?;

        crate::create_table(
            m,
            Table::create()
                .table("ofd_providers")
                .col(pk_auto("id"))
                .col(string_uniq("name"))
                .col(string_len_null("inn", 12))
                .col(string_null("website"))
                .col(boolean("is_active").default(true))
                .col(created_at(m))
                .to_owned(),
        )
        .await?;

        crate::create_table(
            m,
            Table::create()
                .table("cash_registers")
                .col(pk_auto("id"))
                .col(integer("client_id"))
                .col(string("model"))
                .col(string_uniq("serial_number"))
                .col(string_null("registration_number"))
                .col(string_null("fiscal_drive_number"))
                .col(integer_null("ofd_provider_id"))
                .col(string_null("address"))
                .col(boolean("is_active").default(true))
                .col(created_at(m))
                .col(updated_at(m))
                .foreign_key(&mut fk("cash_registers", "client_id", "clients", Restrict))
                .foreign_key(&mut fk("cash_registers", "ofd_provider_id", "ofd_providers", SetNull))
                .to_owned(),
        )
        .await?;
        m.create_index(index("cash_registers", "idx_cash_registers_client_id", &["client_id"], false)).await?;

        crate::create_table(
            m,
            Table::create()
                .table("deadline_types")
                .col(pk_auto("id"))
                .col(string_len_uniq("code", 32))
                .col(string("name_ru"))
                .col(string("name_en"))
                .col(text_null("description"))
                .col(boolean("is_active").default(true))
                .col(created_at(m))
                .to_owned(),
        )
        .await?;

        crate::create_table(
            m,
            Table::create()
                .table("deadlines")
                .col(pk_auto("id"))
                .col(integer("client_id"))
                .col(integer_null("cash_register_id"))
                .col(integer("deadline_type_id"))
                .col(date("expiration_date"))
                .col(string_len("status", 16).default("active"))
                .col(text_null("notes"))
                .col(created_at(m))
                .col(updated_at(m))
                .foreign_key(&mut fk("deadlines", "client_id", "clients", Restrict))
                .foreign_key(&mut fk("deadlines", "cash_register_id", "cash_registers", SetNull))
                .foreign_key(&mut fk("deadlines", "deadline_type_id", "deadline_types", Restrict))
                .to_owned(),
        )
        .await?;
        m.create_index(index("deadlines", "idx_deadlines_status_expiration", &["status", "expiration_date"], false))
            .await?;
        m.create_index(index("deadlines", "idx_deadlines_expiration_date", &["expiration_date"], false)).await?;
        m.create_index(index("deadlines", "idx_deadlines_client_id", &["client_id"], false)).await?;

        crate::create_table(
            m,
            Table::create()
                .table("request_types")
                .col(pk_auto("id"))
                .col(string_len_uniq("code", 32))
                .col(string("name_ru"))
                .col(string("name_en"))
                .col(integer("sort_order").default(0))
                .col(boolean("is_active").default(true))
                .to_owned(),
        )
        .await?;

        // Service requests and ИНН link requests ("kind"), decided by an administrator.
        crate::create_table(
            m,
            Table::create()
                .table("client_requests")
                .col(pk_auto("id"))
                .col(integer_uniq("number"))
                .col(string_len("kind", 16).default("service"))
                .col(integer_null("request_type_id"))
                .col(text("description"))
                .col(string_null("photo_file_id"))
                .col(big_integer("requester_telegram_id"))
                .col(string_null("requester_name"))
                .col(string_null("requester_username"))
                .col(integer_null("client_id"))
                .col(string_len_null("inn", 12))
                .col(string_len("status", 16).default("pending"))
                .col(string_null("decided_by"))
                .col(integer_null("decided_by_administrator_id"))
                .col(integer_null("decided_by_user_id"))
                .col(crate::instant_null(m, "decided_at"))
                .col(text_null("reason"))
                .col(string_null("submit_key").unique_key())
                .col(created_at(m))
                .col(updated_at(m))
                .foreign_key(&mut fk("client_requests", "request_type_id", "request_types", Restrict))
                .foreign_key(&mut fk("client_requests", "client_id", "clients", SetNull))
                .foreign_key(&mut fk("client_requests", "decided_by_administrator_id", "administrators", SetNull))
                .foreign_key(&mut fk("client_requests", "decided_by_user_id", "users", SetNull))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "client_requests",
            "idx_client_requests_status_created",
            &["status", "created_at"],
            false,
        ))
        .await?;
        m.create_index(index("client_requests", "idx_client_requests_requester", &["requester_telegram_id"], false))
            .await?;

        // Audit trail: one row per change of a request.
        crate::create_table(
            m,
            Table::create()
                .table("request_events")
                .col(pk_auto("id"))
                .col(integer("request_id"))
                .col(string_len("event", 16))
                .col(string_len("channel", 16))
                .col(string_len("actor_kind", 16))
                .col(big_integer_null("actor_id"))
                .col(string_null("actor_name"))
                .col(text_null("details"))
                .col(created_at(m))
                .foreign_key(&mut fk("request_events", "request_id", "client_requests", Cascade))
                .to_owned(),
        )
        .await?;
        m.create_index(index("request_events", "idx_request_events_request_id", &["request_id"], false)).await?;

        // Outbox: every message a state change causes, stored with that change.
        crate::create_table(
            m,
            Table::create()
                .table("outgoing_messages")
                .col(big_pk_auto("id"))
                .col(big_integer("chat_id"))
                .col(string_len("method", 32))
                .col(json("payload"))
                .col(string_len("status", 16).default("pending"))
                .col(integer("attempts").default(0))
                .col(crate::instant(m, "next_attempt_at"))
                .col(text_null("last_error"))
                .col(big_integer_null("telegram_message_id"))
                .col(created_at(m))
                .col(crate::instant_null(m, "sent_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("outgoing_messages", "idx_outgoing_messages_due", &["status", "next_attempt_at"], false))
            .await?;

        // Which copy of a request each administrator got, so every copy can be edited later.
        crate::create_table(
            m,
            Table::create()
                .table("request_messages")
                .col(pk_auto("id"))
                .col(integer("request_id"))
                .col(big_integer("chat_id"))
                .col(big_integer("outgoing_message_id"))
                .col(created_at(m))
                .foreign_key(&mut fk("request_messages", "request_id", "client_requests", Cascade))
                .foreign_key(&mut fk("request_messages", "outgoing_message_id", "outgoing_messages", Cascade))
                .to_owned(),
        )
        .await?;
        m.create_index(index("request_messages", "idx_request_messages_request_id", &["request_id"], false)).await?;

        crate::create_table(
            m,
            Table::create()
                .table("invites")
                .col(pk_auto("id"))
                .col(string_len_uniq("code", 64))
                .col(integer("client_id"))
                .col(integer_null("created_by_user_id"))
                .col(crate::instant(m, "expires_at"))
                .col(crate::instant_null(m, "used_at"))
                .col(big_integer_null("used_by_telegram_id"))
                .col(created_at(m))
                .foreign_key(&mut fk("invites", "client_id", "clients", Cascade))
                .foreign_key(&mut fk("invites", "created_by_user_id", "users", SetNull))
                .to_owned(),
        )
        .await?;

        // Reminder log: the unique row per deadline, contact, threshold and date is what makes
        // a reminder go out exactly once.
        crate::create_table(
            m,
            Table::create()
                .table("notification_logs")
                .col(big_pk_auto("id"))
                .col(integer("deadline_id"))
                .col(integer("contact_id"))
                .col(integer("days_before"))
                .col(date("expiration_date"))
                .col(string_len("status", 16).default("pending"))
                .col(integer("attempts").default(0))
                .col(text_null("last_error"))
                .col(big_integer_null("outgoing_message_id"))
                .col(created_at(m))
                .col(crate::instant_null(m, "sent_at"))
                .foreign_key(&mut fk("notification_logs", "deadline_id", "deadlines", Cascade))
                .foreign_key(&mut fk("notification_logs", "contact_id", "contacts", Cascade))
                .foreign_key(&mut fk("notification_logs", "outgoing_message_id", "outgoing_messages", SetNull))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "notification_logs",
            "uq_notification_logs_once",
            &["deadline_id", "contact_id", "days_before", "expiration_date"],
            true,
        ))
        .await?;
        m.create_index(index("notification_logs", "idx_notification_logs_created", &["created_at"], false)).await?;

        // Webhook de-duplication: an update_id is recorded in the same transaction as its effects.
        crate::create_table(
            m,
            Table::create()
                .table("processed_updates")
                .col(big_integer("update_id").primary_key())
                .col(string_len("kind", 32))
                .col(crate::instant(m, "processed_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("processed_updates", "idx_processed_updates_at", &["processed_at"], false)).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Tables of later migrations are dropped by their own `down` first.
        for table in crate::TABLES.iter().rev() {
            m.drop_table(Table::drop().table(*table).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
