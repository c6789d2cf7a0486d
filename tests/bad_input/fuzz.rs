//! The webhook under arbitrary input (a proptest property test, with the database up): real
//! updates (`tests/fixtures/telegram/updates/*.json`) with any field replaced by any JSON value,
//! truncated, with bytes flipped (invalid UTF-8), deeply nested, with huge numbers, NUL bytes and
//! wrong content types. Every answer is 200 or 400 — never a 5xx, never a dropped connection — and
//! without the secret nothing has any effect.
//!
//! `KKTBOT_FUZZ_CASES` sets the cases of each property (by default 2,000 mutated updates, 1,000
//! broken bodies and 300 posts without the secret per backend: about half a minute each).

use std::time::Instant;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::Value;
use tokio::runtime::Handle;

use super::app;
use crate::support::updates;
use crate::support::{Backend, TestApp, WEBHOOK_SECRET, backend_test, count_rows};

fn cases(default: u32) -> u32 {
    std::env::var("KKTBOT_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Every recorded update.
fn fixtures() -> Vec<Value> {
    let dir = format!("{}/tests/fixtures/telegram/updates", env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().trim_end_matches(".json").to_string())
        .collect();
    names.sort();
    names.iter().map(|n| updates::sample(n)).collect()
}

/// The JSON pointers of every value inside `value` (the root excluded).
fn pointers(value: &Value, prefix: &str, out: &mut Vec<String>) {
    let children: Vec<(String, &Value)> = match value {
        Value::Object(map) => map.iter().map(|(k, v)| (k.replace('~', "~0").replace('/', "~1"), v)).collect(),
        Value::Array(items) => items.iter().enumerate().map(|(i, v)| (i.to_string(), v)).collect(),
        _ => return,
    };
    for (key, child) in children {
        let pointer = format!("{prefix}/{key}");
        out.push(pointer.clone());
        pointers(child, &pointer, out);
    }
}

/// Any JSON value: scalars of every kind (texts with NUL, commands, long texts), and arrays and
/// objects of them.
fn json_value() -> impl Strategy<Value = Value> {
    let text = prop_oneof![
        ".{0,24}",
        Just("\u{0}".to_string()),
        Just("Nu\u{0}l".to_string()),
        Just("/start".to_string()),
        Just("/request".to_string()),
        Just("en-GB-x-abcdefghijk".to_string()),
        Just("ж".repeat(5000)),
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("a finite number", |f| serde_json::Number::from_f64(f).map(Value::Number)),
        text.prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,10}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A real update with one of its values replaced by any JSON value.
fn mutated_update() -> impl Strategy<Value = Value> {
    let samples = fixtures();
    let paths: Vec<Vec<String>> = samples
        .iter()
        .map(|s| {
            let mut out = Vec::new();
            pointers(s, "", &mut out);
            out
        })
        .collect();
    (0..samples.len(), any::<prop::sample::Index>(), json_value()).prop_map(move |(i, at, value)| {
        let mut update = samples[i].clone();
        update["update_id"] = Value::from(updates::next_id());
        let pointer = &paths[i][at.index(paths[i].len())];
        if let Some(slot) = update.pointer_mut(pointer) {
            *slot = value;
        }
        update
    })
}

/// Bytes that are not quite an update: a real one cut short, with a byte changed (often invalid
/// UTF-8), with a number far past 64 bits, with a raw NUL; or JSON nested past any depth.
fn broken_body() -> impl Strategy<Value = Vec<u8>> {
    let samples: Vec<Vec<u8>> = fixtures().iter().map(|s| serde_json::to_vec(s).unwrap()).collect();
    let count = samples.len();
    let pick = move |i: usize| samples[i % count].clone();
    let (p1, p2, p3, p4) = (pick.clone(), pick.clone(), pick.clone(), pick);
    prop_oneof![
        (0..count, any::<prop::sample::Index>()).prop_map(move |(i, at)| {
            let mut body = p1(i);
            body.truncate(at.index(body.len()));
            body
        }),
        (0..count, any::<prop::sample::Index>(), any::<u8>()).prop_map(move |(i, at, byte)| {
            let mut body = p2(i);
            let at = at.index(body.len());
            body[at] = byte;
            body
        }),
        (0..count, prop_oneof![Just("123456789012345678901234567890"), Just("-1e400"), Just("1e400")]).prop_map(
            move |(i, huge)| {
                let text = String::from_utf8(p3(i)).unwrap();
                let at = text.find("\"update_id\":").map_or(0, |at| at + "\"update_id\":".len());
                let end = text[at..].find([',', '}']).map_or(text.len(), |e| at + e);
                format!("{}{huge}{}", &text[..at], &text[end..]).into_bytes()
            }
        ),
        (0..count, any::<prop::sample::Index>()).prop_map(move |(i, at)| {
            let mut body = p4(i);
            let at = at.index(body.len());
            body.insert(at, 0);
            body
        }),
        (1usize..100_000).prop_map(|depth| {
            let mut body = b"{\"update_id\":1,\"message\":".to_vec();
            body.extend(std::iter::repeat_n(b'[', depth));
            body.extend(std::iter::repeat_n(b']', depth));
            body.push(b'}');
            body
        }),
    ]
}

/// Posts a body to the webhook; the status.
async fn post(app: &TestApp, body: Vec<u8>, content_type: Option<&str>, secret: Option<&str>) -> u16 {
    let mut req = app.http.post(app.url("/webhook/telegram")).body(body);
    if let Some(kind) = content_type {
        req = req.header("content-type", kind);
    }
    if let Some(secret) = secret {
        req = req.header("X-Telegram-Bot-Api-Secret-Token", secret);
    }
    req.send().await.map(|res| res.status().as_u16()).map_err(|e| format!("no answer: {e}")).unwrap()
}

/// Runs a property on a blocking section of the test's multi-threaded runtime; the statuses seen.
fn check<T: std::fmt::Debug>(
    what: &str,
    cases: u32,
    strategy: impl Strategy<Value = T>,
    property: impl Fn(T) -> Result<u16, TestCaseError>,
) -> Vec<u16> {
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let seen = std::cell::RefCell::new(Vec::new());
    let started = Instant::now();
    let result = tokio::task::block_in_place(|| {
        runner.run(&strategy, |case| {
            let status = property(case)?;
            seen.borrow_mut().push(status);
            Ok(())
        })
    });
    let mut seen = seen.into_inner();
    if let Err(e) = result {
        panic!("{what}: {e}");
    }
    seen.sort_unstable();
    let mut counts: Vec<(u16, usize)> = Vec::new();
    for s in &seen {
        match counts.last_mut() {
            Some((status, n)) if status == s => *n += 1,
            _ => counts.push((*s, 1)),
        }
    }
    println!("fuzz {what}: {} cases in {:.1?}, statuses {counts:?}", seen.len(), started.elapsed());
    seen
}

const CONTENT_TYPES: [Option<&str>; 4] =
    [Some("application/json"), Some("text/plain"), Some("application/x-www-form-urlencoded"), None];

backend_test!(the_webhook_answers_any_input_with_200_or_400, threads: 4);
async fn the_webhook_answers_any_input_with_200_or_400(backend: Backend) {
    let app = app(backend).await;
    let handle = Handle::current();
    let allowed = |status: u16| {
        if status == 200 || status == 400 { Ok(status) } else { Err(TestCaseError::fail(format!("answered {status}"))) }
    };

    check("mutated updates", cases(2000), (mutated_update(), 0..CONTENT_TYPES.len()), |(update, kind)| {
        let body = serde_json::to_vec(&update).unwrap();
        allowed(handle.block_on(post(&app, body, CONTENT_TYPES[kind], Some(WEBHOOK_SECRET))))
    });
    check("broken bodies", cases(1000), broken_body(), |body| {
        allowed(handle.block_on(post(&app, body, Some("application/json"), Some(WEBHOOK_SECRET))))
    });
    // Without the secret, nothing has an effect.
    let before = (count_rows(app.db(), "processed_updates").await, count_rows(app.db(), "outgoing_messages").await);
    let secrets = [None, Some(""), Some("wrong"), Some(&WEBHOOK_SECRET[..WEBHOOK_SECRET.len() - 1])];
    check("without the secret", cases(300), (mutated_update(), 0..secrets.len()), |(update, secret)| {
        let status = handle.block_on(post(&app, serde_json::to_vec(&update).unwrap(), None, secrets[secret]));
        if status == 401 { Ok(status) } else { Err(TestCaseError::fail(format!("answered {status}"))) }
    });
    let after = (count_rows(app.db(), "processed_updates").await, count_rows(app.db(), "outgoing_messages").await);
    assert_eq!(before, after, "no update without the secret was recorded or answered");
    let health = app.http.get(app.url("/health")).send().await.unwrap().status();
    assert_eq!(health, 200, "the server is well after it all");
    app.shutdown().await;
}
