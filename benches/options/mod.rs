//! The options the benchmarks share, read from the environment in one way: `BENCH_BACKEND`
//! (`sqlite`, `postgres` or `mysql` — MySQL or MariaDB —, and `all` where a benchmark runs
//! several), the numbers (`BENCH_SECONDS`, `BENCH_RUNS`, …) and lists (`BENCH_CLIENTS`, …), and
//! whether this is the real run (`--bench`) or the smoke run `cargo test --benches` makes. Each
//! benchmark uses the part it needs.
#![allow(dead_code)]

use std::str::FromStr;

use crate::support::Backend;

/// A smoke run: the executable was started without `--bench` (as `cargo test --benches` does).
pub fn smoke() -> bool {
    !std::env::args().any(|a| a == "--bench")
}

/// The value of `name`, parsed, or `default` when it is unset or empty; a value that does not
/// parse stops the benchmark, naming it.
pub fn env_or<T: FromStr>(name: &str, default: T) -> T
where
    T::Err: std::fmt::Display,
{
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v.trim().parse().unwrap_or_else(|e| panic!("{name}={v}: {e}")),
        _ => default,
    }
}

/// The comma-separated items of `name`, trimmed, or of `default`.
pub fn list(name: &str, default: &str) -> Vec<String> {
    env_or(name, default.to_string()).split(',').map(|s| s.trim().to_string()).collect()
}

/// The numbers of the list `name`, or of `default`.
pub fn numbers<T: FromStr>(name: &str, default: &str) -> Vec<T>
where
    T::Err: std::fmt::Display,
{
    list(name, default).iter().map(|n| n.parse().unwrap_or_else(|e| panic!("{name}: {n}: {e}"))).collect()
}

/// `BENCH_BACKEND` naming one database: `full` by default, SQLite in a smoke run.
pub fn backend(full: &str) -> Backend {
    match backends_named(&env_or("BENCH_BACKEND", if smoke() { "sqlite" } else { full }.to_string())).as_slice() {
        [one] => *one,
        _ => panic!("BENCH_BACKEND: this benchmark runs on one database (sqlite, postgres or mysql)"),
    }
}

/// `BENCH_BACKEND` naming one database or `all`: `full` by default, SQLite in a smoke run.
pub fn backends(full: &str) -> Vec<Backend> {
    backends_named(&env_or("BENCH_BACKEND", if smoke() { "sqlite" } else { full }.to_string()))
}

fn backends_named(name: &str) -> Vec<Backend> {
    match name {
        "sqlite" => vec![Backend::Sqlite],
        "postgres" | "pg" => vec![Backend::Postgres],
        "mysql" | "mariadb" => vec![Backend::MySql],
        "all" => Backend::ALL.to_vec(),
        other => panic!("BENCH_BACKEND={other}: expected sqlite, postgres, mysql (MySQL or MariaDB) or all"),
    }
}

/// The database's name in a report.
pub fn database_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "SQLite",
        Backend::Postgres => "PostgreSQL",
        Backend::MySql => "MariaDB",
    }
}
