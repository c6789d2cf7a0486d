//! What the capacity and crash benchmarks share: the conversation driver, the lean fake Bot
//! API, the minimal durable bot (the ceiling) and the bot processes.

// Each benchmark uses a different part of it.
#![allow(dead_code)]

pub mod driver;
pub mod fake;
pub mod minimal;
pub mod process;
