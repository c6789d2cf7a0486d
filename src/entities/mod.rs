//! SeaORM entities: one module per table created by the `migration` crate.

pub mod administrator;
pub mod audit_log;
pub mod cash_register;
pub mod client;
pub mod client_request;
pub mod contact;
pub mod deadline;
pub mod deadline_type;
pub mod failed_update;
pub mod invite;
pub mod notification_log;
pub mod ofd_provider;
pub mod outgoing_message;
pub mod processed_update;
pub mod reminder_summary;
pub mod request_comment;
pub mod request_delivery;
pub mod request_event;
pub mod request_message;
pub mod request_topic;
pub mod request_type;
pub mod search;
pub mod telegram_user;
pub mod user;
