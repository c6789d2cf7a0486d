//! The outgoing side of Telegram: the outbox and the sender that delivers it under Telegram's
//! limits.

pub mod api;
pub mod limits;
pub mod outbox;
pub mod polling;
pub mod sender;
pub mod setup;
