//! The house's structure, checked on the source itself (ARCHITECTURE.md draws it):
//! - the adapters import each other in one direction only: `http` → `inbound` → `bot` →
//!   `telegram` → `ops` (a module may name only those after it);
//! - adapters (those five, `cli`, `scheduler`, `app`) neither use `crate::entities` nor run SQL
//!   of their own: that is the services' (`src/services/`) and the outbox's (`src/outbox/`) work,
//!   and the database's own plumbing (`src/db.rs`, `src/db/`: connecting, the migrations' lock,
//!   `db copy`);
//! - no source file passes 500 lines, no test file 800.

use std::path::{Path, PathBuf};

use crate::support::integration_test;

/// The adapters, each importing only those after it.
const LAYERS: [&str; 5] = ["http", "inbound", "bot", "telegram", "ops"];

/// Adapters besides [`LAYERS`] that must leave the database to the services.
const OTHER_ADAPTERS: [&str; 3] = ["cli", "scheduler", "app"];

/// What using the database directly looks like in a source line.
const DATABASE_MARKERS: [&str; 6] =
    ["crate::entities", "query_all_raw", "query_one_raw", "execute_raw", "execute_unprepared", "Statement::from_s"];

const SOURCE_LIMIT: usize = 500;
const TEST_LIMIT: usize = 800;

/// A source file: its path from the crate's root (`src/bot/lists.rs`) and its text.
struct Source {
    path: String,
    text: String,
}

/// The top-level module a file of `src/` belongs to (`src/bot/lists.rs` → `bot`, `src/cli.rs` →
/// `cli`).
fn module_of(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("src/")?;
    let first = rest.split('/').next()?;
    Some(first.strip_suffix(".rs").unwrap_or(first))
}

/// The lines of code, comments left out (`//`, `//!`, `///`; the sources use no block comments)
/// and unit tests too (from a `#[cfg(test)]` on): tests may set up a database as they need.
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line))
        .take_while(|(_, line)| line.trim() != "#[cfg(test)]")
        .filter(|(_, line)| !line.trim_start().starts_with("//"))
}

/// Whether a file holds tests only (`tests/…`, `benches/…`, a `tests.rs` module in `src/`).
fn is_test_file(path: &str) -> bool {
    path.starts_with("tests/") || path.starts_with("benches/") || path.ends_with("/tests.rs")
}

/// Every way `sources` break the rules, one line each.
fn violations(sources: &[Source]) -> Vec<String> {
    let mut found = Vec::new();
    for source in sources {
        let path = source.path.as_str();
        let module = module_of(path);

        if let Some(position) = module.and_then(|m| LAYERS.iter().position(|layer| *layer == m)) {
            for (number, line) in code_lines(&source.text) {
                for (other, name) in LAYERS.iter().enumerate() {
                    if other < position && mentions_module(line, name) {
                        found.push(format!(
                            "{path}:{number}: {} may not import {name} (the adapters go http → inbound → bot → telegram → ops)",
                            LAYERS[position]
                        ));
                    }
                }
            }
        }

        let adapter = module.is_some_and(|m| LAYERS.contains(&m) || OTHER_ADAPTERS.contains(&m)) && !is_test_file(path);
        if adapter {
            for (number, line) in code_lines(&source.text) {
                if let Some(marker) = DATABASE_MARKERS.iter().find(|marker| line.contains(*marker)) {
                    found.push(format!(
                        "{path}:{number}: an adapter uses the database directly ({marker}); call a service instead"
                    ));
                }
            }
        }

        let lines = source.text.lines().count();
        let limit = if is_test_file(path) { TEST_LIMIT } else { SOURCE_LIMIT };
        if lines > limit {
            found.push(format!("{path}: {lines} lines, more than {limit}; split it by what it holds"));
        }
    }
    found
}

/// Whether a line of code names `crate::{module}` (`crate::bot::…`, `crate::bot;`, `crate::{bot, …}`
/// is not used in the sources).
fn mentions_module(line: &str, module: &str) -> bool {
    let needle = format!("crate::{module}");
    line.match_indices(&needle).any(|(at, _)| {
        let after = &line[at + needle.len()..];
        !after.starts_with(|c: char| c.is_alphanumeric() || c == '_')
    })
}

/// The `.rs` files under `dir`, with paths relative to `root`.
fn read_sources(root: &Path, dir: &str, into: &mut Vec<Source>) {
    let mut pending: Vec<PathBuf> = vec![root.join(dir)];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
                into.push(Source { path: relative, text: std::fs::read_to_string(&path).unwrap() });
            }
        }
    }
}

integration_test!(the_source_keeps_to_the_layers_and_sizes);
async fn the_source_keeps_to_the_layers_and_sizes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut sources = Vec::new();
    for dir in ["src", "tests", "benches", "migration/src"] {
        read_sources(root, dir, &mut sources);
    }
    assert!(sources.iter().any(|s| s.path == "src/bot/tree.rs"), "the sources were not found");
    let found = violations(&sources);
    assert!(found.is_empty(), "the structure check found:\n{}", found.join("\n"));
}

integration_test!(a_planted_violation_of_each_rule_is_found);
async fn a_planted_violation_of_each_rule_is_found() {
    let planted = [
        Source { path: "src/telegram/planted.rs".into(), text: "use crate::bot::texts;\n".into() },
        Source { path: "src/http/api/planted.rs".into(), text: "use crate::entities::client;\n".into() },
        Source { path: "src/scheduler.rs".into(), text: "db.execute_unprepared(\"DELETE FROM x\").await;\n".into() },
        Source { path: "src/services/planted.rs".into(), text: "fn f() {}\n".repeat(SOURCE_LIMIT + 1) },
        Source { path: "tests/planted.rs".into(), text: "fn f() {}\n".repeat(TEST_LIMIT + 1) },
    ];
    let found = violations(&planted);
    assert_eq!(found.len(), planted.len(), "{found:#?}");
    assert!(found[0].contains("telegram may not import bot"), "{}", found[0]);
    assert!(found[1].contains("crate::entities"), "{}", found[1]);
    assert!(found[2].contains("execute_unprepared"), "{}", found[2]);
    assert!(found[3].contains("more than 500"), "{}", found[3]);
    assert!(found[4].contains("more than 800"), "{}", found[4]);

    let allowed = [
        Source {
            path: "src/bot/planted.rs".into(),
            text: "use crate::telegram::api;\nuse crate::ops::leader;\n".into(),
        },
        Source { path: "src/services/planted.rs".into(), text: "use crate::entities::client;\n".into() },
        Source { path: "src/outbox/planted.rs".into(), text: "db.execute_unprepared(\"x\");\n".into() },
        Source { path: "src/db/planted.rs".into(), text: "db.query_all_raw(statement);\n".into() },
        Source { path: "src/telegram/planted.rs".into(), text: "//! see [`crate::bot::menu`]\n".into() },
        Source { path: "src/http/planted.rs".into(), text: "use crate::http_client;\n".into() },
        Source { path: "src/bot/tree/tests.rs".into(), text: "db.execute_unprepared(\"x\");\n".into() },
        Source {
            path: "src/bot/planted.rs".into(),
            text: "fn f() {}\n#[cfg(test)]\nuse crate::entities::client;\n".into(),
        },
    ];
    let found = violations(&allowed);
    assert!(found.is_empty(), "{found:#?}");
}
