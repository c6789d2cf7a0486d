//! The Telegram adapter's outgoing side: the sender that delivers the outbox (`crate::outbox`)
//! under Telegram's limits, with its Bot API client and retry policy; webhook registration and
//! polling.

pub mod api;
mod call;
pub mod limits;
pub mod polling;
mod retry;
pub mod sender;
pub mod setup;
