//! The outgoing side of Telegram: the outbox and the sender that delivers it under Telegram's
//! limits.

pub mod outbox;
