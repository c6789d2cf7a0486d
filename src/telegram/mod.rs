//! Talking to Telegram: the Bot API client ([`api`]) and the sender that delivers the outbox
//! (`crate::outbox`) under Telegram's limits ([`sender`], [`limits`]), with its retry policy;
//! and the webhook's registration ([`setup`]). Updates coming in are [`crate::inbound`]'s.

pub mod api;
mod call;
pub mod limits;
mod retry;
pub mod sender;
pub mod setup;
