//! Telegram's errors: 429 waited out, 5xx retried with backoff until the attempts run out, network
//! errors recorded without the token, 403 and 400 failed at once (a blocked user marked).

use super::*;

backend_test!(waits_out_retry_after, threads: 4);
async fn waits_out_retry_after(backend: Backend) {
    let (_database, db) = TestDatabase::migrated(backend).await;
    let tg = FakeTelegram::start().await;
    tg.fail_next("sendMessage", Fault::RetryAfter(2), 1);
    let sender = Running::start(sender(&db, &tg, config()));
    let id = enqueue(&db, Outgoing::text(USER, "Напоминание")).await;
    sender.handle.wake();

    let sent = tg.wait_for("sendMessage", 1, Duration::from_secs(10)).await;
    sender.settled().await;
    let calls = tg.calls_to("sendMessage");
    assert_eq!(calls.len(), 2, "one 429, then the delivery");
    assert_eq!(calls[0].response["error_code"], 429);
    let waited = sent[0].at.duration_since(calls[0].at);
    assert!(waited >= Duration::from_secs(2), "sent again after {waited:?}, before retry_after ran out");
    let row = row(&db, id).await;
    assert_eq!(row.status, Status::Sent);
    assert_eq!(row.attempts, 1, "a 429 is not a failed attempt");
    sender.stop().await;
}

backend_test!(retries_server_errors_with_backoff, threads: 4);
async fn retries_server_errors_with_backoff(backend: Backend) {
    let (_database, db) = TestDatabase::migrated(backend).await;
    let tg = FakeTelegram::start().await;
    tg.fail_next("sendMessage", Fault::ServerError, 1);
    // The default backoff: the first retry comes after 0.5–1 s.
    let sender = Running::start(sender(&db, &tg, config()));
    let id = enqueue(&db, Outgoing::text(USER, "Заявка принята")).await;
    sender.handle.wake();

    let sent = tg.wait_for("sendMessage", 1, Duration::from_secs(10)).await;
    sender.settled().await;
    let calls = tg.calls_to("sendMessage");
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].response["error_code"], 500);
    let waited = sent[0].at.duration_since(calls[0].at);
    assert!(waited >= Duration::from_millis(500), "retried after {waited:?}, without backoff");
    let row = row(&db, id).await;
    assert_eq!((row.status, row.attempts), (Status::Sent, 2));
    assert_eq!(row.telegram_message_id, Some(message_id(&sent[0])));
    sender.stop().await;
}

backend_test!(gives_up_after_max_attempts, threads: 4);
async fn gives_up_after_max_attempts(backend: Backend) {
    let (_database, db) = TestDatabase::migrated(backend).await;
    let tg = FakeTelegram::start().await;
    tg.fail_next("sendMessage", Fault::ServerError, 3);
    let backoff = Backoff { first: Duration::from_millis(50), cap: Duration::from_millis(200) };
    let sender = Running::start(sender(&db, &tg, config()).with_backoff(backoff));
    let doomed = enqueue(&db, Outgoing::text(USER, "первое")).await;
    let next = enqueue(&db, Outgoing::text(USER, "второе")).await;
    sender.handle.wake();

    // The chat's second message goes only once the first is settled: given up.
    tg.wait_for("sendMessage", 1, Duration::from_secs(15)).await;
    sender.settled().await;
    let doomed = row(&db, doomed).await;
    assert_eq!((doomed.status, doomed.attempts), (Status::Failed, 3), "{doomed:?}");
    let error = doomed.last_error.expect("the error");
    assert!(error.contains("500") && error.contains("Internal Server Error"), "{error}");
    assert_eq!(row(&db, next).await.status, Status::Sent);
    assert_eq!(tg.calls_to("sendMessage").len(), 4, "three attempts, then the next message");
    assert_eq!(tg.sent_texts_to(USER), ["второе"]);
    sender.stop().await;
}

backend_test!(records_network_errors_without_the_token, threads: 4);
async fn records_network_errors_without_the_token(backend: Backend) {
    let (_database, db) = TestDatabase::migrated(backend).await;
    let tg = FakeTelegram::start().await;
    // A port where nothing listens: every connection is refused.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let api = BotApi::new(&format!("http://{closed}").parse().unwrap(), &Secret::new(tg.token()));
    let config = SenderConfig { max_attempts: 1, ..config() };
    let sender = Running::start(Sender::new(db.clone(), api, config));
    let id = enqueue(&db, Outgoing::text(USER, "не дойдёт")).await;
    sender.settled().await;

    let row = row(&db, id).await;
    assert_eq!((row.status, row.attempts), (Status::Failed, 1));
    let error = row.last_error.expect("the error");
    assert!(error.starts_with("network error"), "{error}");
    let secret = tg.token().split(':').nth(1).expect("the token's secret half");
    assert!(!error.contains(secret), "{error}");
    sender.stop().await;
}

backend_test!(fails_blocked_chats_and_marks_the_user, threads: 4);
async fn fails_blocked_chats_and_marks_the_user(backend: Backend) {
    let (_database, db) = TestDatabase::migrated(backend).await;
    let tg = FakeTelegram::start().await;
    tg.block_chat(USER);
    tg.block_chat(SUPERGROUP);
    let sender = Running::start(sender(&db, &tg, config()));
    let to_user = enqueue(&db, Outgoing::text(USER, "Заявка №7 закрыта")).await;
    let to_group = enqueue(&db, Outgoing::text(SUPERGROUP, "Новая заявка")).await;
    sender.settled().await;

    let user_row = row(&db, to_user).await;
    assert_eq!((user_row.status, user_row.attempts), (Status::Failed, 1));
    assert!(user_row.last_error.as_deref().unwrap_or_default().contains("bot was blocked by the user"), "{user_row:?}");
    let user = telegram_users::find(&db, USER).await.unwrap().expect("the user is recorded");
    assert!(user.is_blocked);
    let group_row = row(&db, to_group).await;
    assert_eq!(group_row.status, Status::Failed);
    assert!(group_row.last_error.as_deref().unwrap_or_default().starts_with("403"), "{group_row:?}");
    assert!(telegram_users::find(&db, SUPERGROUP).await.unwrap().is_none(), "a group is no user");
    assert_eq!(tg.calls().len(), 2, "403 is not retried");
    sender.stop().await;
}

backend_test!(fails_client_errors_at_once, threads: 4);
async fn fails_client_errors_at_once(backend: Backend) {
    let (_database, db) = TestDatabase::migrated(backend).await;
    let tg = FakeTelegram::start().await;
    let sender = Running::start(sender(&db, &tg, config()));
    let empty = enqueue(&db, Outgoing::text(USER, "")).await;
    let bad_edit = enqueue(
        &db,
        Outgoing::EditMessageText {
            chat_id: OTHER_USER,
            message: MessageRef::Telegram(999),
            text: "x".into(),
            reply_markup: None,
        },
    )
    .await;
    sender.settled().await;

    let empty = row(&db, empty).await;
    assert_eq!((empty.status, empty.attempts), (Status::Failed, 1));
    assert_eq!(empty.last_error.as_deref(), Some("400 Bad Request: message text is empty"));
    let bad_edit = row(&db, bad_edit).await;
    assert_eq!(bad_edit.status, Status::Failed);
    assert_eq!(bad_edit.last_error.as_deref(), Some("400 Bad Request: message to edit not found"));
    assert_eq!(tg.calls().len(), 2, "4xx is not retried");
    sender.stop().await;
}
