//! Operations: one leader for background work ([`leader`]), the SQLite → PostgreSQL copy
//! ([`dbcopy`]) and metrics ([`metrics`]).

pub mod dbcopy;
pub mod leader;
pub mod metrics;
