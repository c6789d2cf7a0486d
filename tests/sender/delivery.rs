//! Delivery: each kind of row once with its message id, one chat's rows in order with edits of
//! outbox rows resolved, an edit of a queued message folded into it, and the wake path.

use super::*;

backend_test!(delivers_each_row_once_with_its_message_id, threads: 4);
async fn delivers_each_row_once_with_its_message_id(backend: Backend) {
    let (_database, db) = TestDatabase::migrated(backend).await;
    let tg = FakeTelegram::start().await;
    let sender = Running::start(sender(&db, &tg, config()));
    let text = enqueue(&db, Outgoing::with_keyboard(USER, "Заявка №42 принята", keyboard("v1:a:42"))).await;
    let photo = enqueue(&db, Outgoing::photo(OTHER_USER, "AgACAgIAAx0", Some("Чек".into()))).await;
    let document = enqueue(
        &db,
        Outgoing::SendDocument {
            chat_id: SUPERGROUP,
            file_name: "report.csv".into(),
            content: b"inn;name\n7701234567;OOO\n".to_vec(),
            caption: Some("Отчёт".into()),
        },
    )
    .await;
    sender.handle.wake();

    let texts = tg.wait_for("sendMessage", 1, Duration::from_secs(5)).await;
    let photos = tg.wait_for("sendPhoto", 1, Duration::from_secs(5)).await;
    let documents = tg.wait_for("sendDocument", 1, Duration::from_secs(5)).await;
    sender.settled().await;

    assert_eq!(
        texts[0].params["reply_markup"],
        json!({ "inline_keyboard": [[{ "text": "Принять", "callback_data": "v1:a:42" }]] })
    );
    assert_eq!(documents[0].files.len(), 1);
    assert_eq!(documents[0].files[0].file_name, "report.csv");
    assert_eq!(documents[0].files[0].bytes, b"inn;name\n7701234567;OOO\n");
    assert_eq!(documents[0].params["caption"], "Отчёт");
    for (id, call) in [(text, &texts[0]), (photo, &photos[0]), (document, &documents[0])] {
        let row = row(&db, id).await;
        assert_eq!(row.status, Status::Sent, "{row:?}");
        assert_eq!(row.telegram_message_id, Some(message_id(call)), "{row:?}");
        assert_eq!(row.attempts, 1);
        assert!(row.sent_at.is_some());
        assert_eq!(row.last_error, None);
    }
    assert_eq!(tg.calls().len(), 3, "each row is sent once");
    assert_eq!(tg.sent_texts_to(USER), ["Заявка №42 принята"]);
    sender.stop().await;
}

backend_test!(keeps_chat_order_and_resolves_edits_of_outbox_rows, threads: 4);
async fn keeps_chat_order_and_resolves_edits_of_outbox_rows(backend: Backend) {
    let (_database, db) = TestDatabase::migrated(backend).await;
    let tg = FakeTelegram::start().await;
    // First a message, and in another chat one Telegram refuses.
    let first = enqueue(&db, Outgoing::with_keyboard(USER, "Заявка №1", keyboard("v1:ap:1"))).await;
    let refused = enqueue(&db, Outgoing::text(OTHER_USER, "  ")).await;
    let before = Running::start(sender(&db, &tg, config()));
    tg.wait_for("sendMessage", 1, Duration::from_secs(10)).await;
    before.settled().await;
    before.stop().await;

    // Then, committed before the sender starts again: only the rules order the calls.
    let edit = enqueue(
        &db,
        Outgoing::EditMessageText {
            chat_id: USER,
            message: MessageRef::Outbox(first),
            text: "Заявка №1 одобрена".into(),
            reply_markup: Some(keyboard("v1:cl:1").into()),
        },
    )
    .await;
    let second = enqueue(&db, Outgoing::text(USER, "Заявка №2")).await;
    // Folded into the queued edit: one call takes the keyboard off as well.
    let unmark =
        Outgoing::EditMessageReplyMarkup { chat_id: USER, message: MessageRef::Outbox(first), reply_markup: None };
    assert_eq!(enqueue(&db, unmark).await, edit);
    let answer = enqueue(
        &db,
        Outgoing::AnswerCallbackQuery {
            chat_id: USER,
            callback_query_id: "4382bfdwdsb323b2d9".into(),
            text: Some("Готово".into()),
            show_alert: false,
        },
    )
    .await;
    let orphan = enqueue(
        &db,
        Outgoing::EditMessageText {
            chat_id: OTHER_USER,
            message: MessageRef::Outbox(refused),
            text: "изменено".into(),
            reply_markup: None,
        },
    )
    .await;

    let sender = Running::start(sender(&db, &tg, config()));
    tg.wait_for("sendMessage", 2, Duration::from_secs(10)).await;
    sender.settled().await;

    let calls: Vec<Call> = tg.calls().into_iter().filter(|call| call.method != "sendMessage" || call.ok).collect();
    let to_user: Vec<&str> =
        calls.iter().filter(|call| call.params["chat_id"] == json!(USER)).map(|call| call.method.as_str()).collect();
    assert_eq!(to_user, ["sendMessage", "editMessageText", "sendMessage"], "one chat's rows go in order");
    let position = |method: &str, n: usize| {
        calls.iter().enumerate().filter(|(_, call)| call.method == method).nth(n).map(|(i, _)| i).expect("the call")
    };
    assert!(
        position("answerCallbackQuery", 0) < position("sendMessage", 1),
        "the answer does not wait behind the chat's messages"
    );

    let telegram_id = row(&db, first).await.telegram_message_id.expect("the first message has its id");
    let edits = tg.calls_to("editMessageText");
    assert_eq!(edits[0].params["message_id"], json!(telegram_id), "the edit reached the outbox row's message");
    assert!(edits[0].ok);
    assert!(edits[0].params.get("reply_markup").is_none(), "{:?}", edits[0].params);
    for id in [first, edit, second, answer] {
        let row = row(&db, id).await;
        assert_eq!(row.status, Status::Sent, "{row:?}");
    }
    assert_eq!(row(&db, edit).await.telegram_message_id, Some(telegram_id));
    assert_eq!(row(&db, answer).await.telegram_message_id, None);

    let refused = row(&db, refused).await;
    assert_eq!(refused.status, Status::Failed);
    let orphan = row(&db, orphan).await;
    assert_eq!(orphan.status, Status::Failed);
    let error = orphan.last_error.expect("the reason");
    assert!(error.contains(&format!("outbox row {}", refused.id)) && error.contains("never delivered"), "{error}");
    assert_eq!(tg.calls().iter().filter(|call| call.params["chat_id"] == json!(OTHER_USER)).count(), 1);

    // The same content again: Telegram answers "message is not modified", which is success.
    let same = enqueue(
        &db,
        Outgoing::EditMessageText {
            chat_id: USER,
            message: MessageRef::Outbox(first),
            text: "Заявка №1 одобрена".into(),
            reply_markup: None,
        },
    )
    .await;
    sender.handle.wake();
    tg.wait_for_any("editMessageText", 2, Duration::from_secs(10)).await;
    sender.settled().await;
    assert!(!tg.calls_to("editMessageText")[1].ok, "Telegram said not modified");
    assert_eq!(row(&db, same).await.status, Status::Sent);
    sender.stop().await;
}

backend_test!(an_edit_of_a_queued_message_is_folded_into_it, threads: 4);
async fn an_edit_of_a_queued_message_is_folded_into_it(backend: Backend) {
    let (_database, db) = TestDatabase::migrated(backend).await;
    let tg = FakeTelegram::start().await;
    // Queued while no sender runs: the copy, then the decision's edits of it.
    let copy = enqueue(&db, Outgoing::with_keyboard(USER, "Заявка №5", keyboard("v1:ap:5"))).await;
    let edit = |text: &str| Outgoing::EditMessageText {
        chat_id: USER,
        message: MessageRef::Outbox(copy),
        text: text.into(),
        reply_markup: None,
    };
    assert_eq!(enqueue(&db, edit("Заявка №5 одобрена")).await, copy, "folded into the queued copy");
    let unmark =
        Outgoing::EditMessageReplyMarkup { chat_id: USER, message: MessageRef::Outbox(copy), reply_markup: None };
    assert_eq!(enqueue(&db, unmark).await, copy);
    assert_eq!(outgoing_message::Entity::find().all(&db).await.unwrap().len(), 1);

    let sender = Running::start(sender(&db, &tg, config()));
    tg.wait_for("sendMessage", 1, Duration::from_secs(5)).await;
    sender.settled().await;
    assert_eq!(tg.calls().len(), 1, "one message with the final text: {:?}", tg.calls());
    assert_eq!(tg.sent_texts_to(USER), ["Заявка №5 одобрена"]);
    assert!(tg.calls()[0].params.get("reply_markup").is_none());

    // Once the message is out, an edit of it is an edit.
    let later = enqueue(&db, edit("Заявка №5 закрыта")).await;
    assert_ne!(later, copy);
    assert_eq!(row(&db, later).await.edit_of, Some(copy));
    sender.handle.wake();
    let edits = tg.wait_for("editMessageText", 1, Duration::from_secs(5)).await;
    assert_eq!(edits[0].params["message_id"], json!(row(&db, copy).await.telegram_message_id.unwrap()));
    sender.stop().await;
}

backend_test!(a_wake_delivers_promptly, threads: 4);
async fn a_wake_delivers_promptly(backend: Backend) {
    let (_database, db) = TestDatabase::migrated(backend).await;
    let tg = FakeTelegram::start().await;
    // No safety re-check in this test's time: only a wake can make the sender look again.
    let sender = Running::start(sender(&db, &tg, config()).with_idle_recheck(Duration::from_secs(3600)));
    sender.settled().await;

    enqueue(&db, Outgoing::text(USER, "сразу")).await;
    sender.handle.wake();
    // Typically a few milliseconds; the bound leaves room for a loaded machine.
    tg.wait_for("sendMessage", 1, Duration::from_millis(900)).await;
    sender.stop().await;
}
