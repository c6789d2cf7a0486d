//! Telegram's pace: flood limits held over many chats, a slow chat not holding up others, answers
//! not waiting behind sends.

use super::*;

backend_test!(holds_flood_limits_over_many_chats, threads: 4);
async fn holds_flood_limits_over_many_chats(backend: Backend) {
    let (_database, db) = TestDatabase::migrated(backend).await;
    let tg = FakeTelegram::start().await;
    let sender = Running::start(sender(&db, &tg, config()));
    let txn = db.begin().await.unwrap();
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(outbox::enqueue(&txn, Outgoing::text(USER, format!("подряд {i}"))).await.unwrap());
    }
    for i in 0..2 {
        ids.push(outbox::enqueue(&txn, Outgoing::text(SUPERGROUP, format!("в группу {i}"))).await.unwrap());
    }
    for i in 0..200 {
        ids.push(outbox::enqueue(&txn, Outgoing::text(6_000_000_000 + i, format!("рассылка {i}"))).await.unwrap());
    }
    txn.commit().await.unwrap();
    sender.handle.wake();

    tg.wait_for("sendMessage", ids.len(), Duration::from_secs(30)).await;
    sender.settled().await;
    assert_eq!(tg.rate_violations(), Vec::<String>::new());
    assert_eq!(tg.calls().len(), ids.len(), "each row once, no 429");
    let texts = tg.sent_texts_to(USER);
    assert_eq!(texts, (0..5).map(|i| format!("подряд {i}")).collect::<Vec<_>>());
    for id in ids {
        assert_eq!(row(&db, id).await.status, Status::Sent);
    }
    sender.stop().await;
}

backend_test!(slow_chat_does_not_hold_up_others, threads: 4);
async fn slow_chat_does_not_hold_up_others(backend: Backend) {
    let (_database, db) = TestDatabase::migrated(backend).await;
    let tg = FakeTelegram::start().await;
    tg.fail_next("sendMessage", Fault::Slow(Duration::from_secs(3)), 1);
    let sender = Running::start(sender(&db, &tg, config()));
    enqueue(&db, Outgoing::text(USER, "один")).await;
    enqueue(&db, Outgoing::text(OTHER_USER, "другой")).await;
    sender.handle.wake();
    // Whichever call comes first is answered after 3 s; the other chat's is not held behind it.
    let first = tg.wait_for("sendMessage", 1, Duration::from_secs(2)).await;
    let sent = tg.wait_for("sendMessage", 2, Duration::from_secs(10)).await;
    sender.settled().await;
    assert_ne!(first[0].params["chat_id"], sent[1].params["chat_id"]);
    assert_eq!(tg.calls().len(), 2);
    sender.stop().await;
}

backend_test!(answers_do_not_wait_behind_sends, threads: 4);
async fn answers_do_not_wait_behind_sends(backend: Backend) {
    let (_database, db) = TestDatabase::migrated(backend).await;
    let tg = FakeTelegram::start().await;
    tg.fail_next("sendMessage", Fault::RetryAfter(30), 1);
    // 16 delivery slots for messages.
    let config = SenderConfig { global_per_second: 8, ..config() };
    let sender = Running::start(sender(&db, &tg, config));
    let flooded = enqueue(&db, Outgoing::text(USER, "первое")).await;
    sender.handle.wake();
    row_when(&db, flooded, |row| row.last_error.is_some()).await;
    // Messages are paused for 30 s: these claim every message slot and wait.
    let mut waiting = Vec::new();
    for i in 0..20 {
        waiting.push(enqueue(&db, Outgoing::text(8_000_000_000 + i, format!("ждёт {i}"))).await);
    }
    sender.handle.wake();
    for id in &waiting[..16] {
        row_when(&db, *id, |row| row.attempts == 1).await;
    }
    let answered = std::time::Instant::now();
    enqueue(
        &db,
        Outgoing::AnswerCallbackQuery {
            chat_id: USER,
            callback_query_id: "4382bfdwdsb323b2d9".into(),
            text: Some("Принято".into()),
            show_alert: false,
        },
    )
    .await;
    sender.handle.wake();
    tg.wait_for("answerCallbackQuery", 1, Duration::from_secs(3)).await;
    assert!(answered.elapsed() < Duration::from_secs(3), "{:?}", answered.elapsed());
    assert_eq!(tg.calls_to("sendMessage").len(), 1, "the messages still wait out the 429");
    sender.stop().await;
}
