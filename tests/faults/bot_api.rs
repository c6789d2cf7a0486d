//! The Bot API failing while updates flow: 429 with `retry_after`, 5xx, connections refused for a
//! while, an answer slower than kktbot's client timeout (30 s). Every update is acknowledged (its
//! answer committed to the outbox), and every committed message is delivered exactly once
//! afterwards, with Telegram's flood limits kept (the fake counts every breach).

use std::time::{Duration, Instant};

use kktbot::entities::outgoing_message;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::load::{Load, statuses};
use crate::support::telegram::Fault;
use crate::support::updates::{self, User};
use crate::support::{Backend, TestApp, backend_test};

const USERS: u64 = 24;

#[derive(Clone, Copy, Debug)]
enum Failure {
    /// The first 3 sends answered 429 with retry_after 2.
    FloodWait,
    /// The first 10 sends answered 500.
    ServerErrors,
    /// The Bot API unreachable (connections refused) for 3 s.
    Unreachable,
    /// The first send answered after 10 minutes: kktbot gives up at its client timeout.
    TooSlow,
}

backend_test!(bot_api_answers_429_with_retry_after, threads: 2);
async fn bot_api_answers_429_with_retry_after(backend: Backend) {
    bot_api_fails(backend, Failure::FloodWait).await;
}

backend_test!(bot_api_answers_5xx, threads: 2);
async fn bot_api_answers_5xx(backend: Backend) {
    bot_api_fails(backend, Failure::ServerErrors).await;
}

backend_test!(bot_api_refuses_connections_for_a_while, threads: 2);
async fn bot_api_refuses_connections_for_a_while(backend: Backend) {
    bot_api_fails(backend, Failure::Unreachable).await;
}

backend_test!(bot_api_answers_slower_than_the_client_timeout, threads: 2);
async fn bot_api_answers_slower_than_the_client_timeout(backend: Backend) {
    bot_api_fails(backend, Failure::TooSlow).await;
}

async fn bot_api_fails(backend: Backend, failure: Failure) {
    let builder = TestApp::builder().backend(backend).telegram();
    let app = if backend.uses_redis() { builder.redis() } else { builder }.spawn().await;
    let tg = app.tg();
    match failure {
        Failure::FloodWait => tg.fail_next("sendMessage", Fault::RetryAfter(2), 3),
        Failure::ServerErrors => tg.fail_next("sendMessage", Fault::ServerError, 10),
        Failure::Unreachable => tg.go_offline().await,
        Failure::TooSlow => tg.fail_next("sendMessage", Fault::Slow(Duration::from_secs(600)), 1),
    }
    let started = Instant::now();
    let user = |n: u64| User::ru(5_500_000_000 + n as i64, "Клиент");
    let load = Load::start(&app, 4, USERS, Duration::from_millis(20), move |n| updates::text(&user(n), "/help"));
    let back = match failure {
        Failure::Unreachable => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            tg.come_back().await;
            Some(Instant::now())
        }
        _ => None,
    };
    let load = load.finish().await;
    assert_eq!(load.len() as u64, USERS);
    assert!(load.iter().all(|d| d.status == 200), "every update acknowledged: {}", statuses(&load));

    tg.wait_for("sendMessage", USERS as usize, Duration::from_secs(90)).await;
    app.settle().await;
    let delivered_in = started.elapsed();
    for n in 0..USERS {
        assert_eq!(tg.sent_texts_to(user(n).id).len(), 1, "user {n}: one answer, delivered once");
    }
    let sent = outgoing_message::Entity::find()
        .filter(outgoing_message::Column::Status.eq(outgoing_message::Status::Sent))
        .count(app.db())
        .await
        .unwrap();
    assert_eq!(sent, USERS, "every committed message is marked sent");
    assert_eq!(tg.rate_violations(), Vec::<String>::new(), "Telegram's limits kept");

    let calls = tg.calls_to("sendMessage");
    let failed: Vec<_> = calls.iter().filter(|c| !c.ok).collect();
    let ok: Vec<_> = calls.iter().filter(|c| c.ok).collect();
    match failure {
        Failure::FloodWait => {
            assert_eq!(failed.len(), 3);
            // Nothing at all is sent while Telegram asked to wait.
            for flood in &failed {
                let wait = Duration::from_secs(flood.response["parameters"]["retry_after"].as_u64().unwrap());
                let too_early: Vec<_> = ok
                    .iter()
                    .filter(|c| c.at > flood.at && c.at < flood.at + wait - Duration::from_millis(50))
                    .collect();
                assert!(too_early.is_empty(), "{} send(s) within the retry_after of a 429", too_early.len());
            }
        }
        Failure::ServerErrors => assert_eq!(failed.len(), 10),
        Failure::Unreachable => {
            let back = back.unwrap();
            assert!(ok.iter().all(|c| c.at >= back), "nothing reached the fake while it was offline");
            assert!(failed.is_empty());
        }
        Failure::TooSlow => {
            assert!(failed.is_empty());
            assert!(delivered_in >= Duration::from_secs(30), "the slow send was given up at the client timeout");
        }
    }
    eprintln!(
        "bot API fault {failure:?} ({backend:?}): {USERS} updates ({}), {} sendMessage calls ({} failed), \
         all {USERS} delivered once in {delivered_in:.1?}, 0 limit violations",
        statuses(&load),
        calls.len(),
        failed.len(),
    );
    app.shutdown().await;
}
