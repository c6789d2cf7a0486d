//! Operations: one leader for background work ([`leader`]) and metrics ([`metrics`]).

pub mod leader;
pub mod metrics;
