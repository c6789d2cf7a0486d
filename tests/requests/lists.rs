//! Both languages, /myrequests and /pending, and the audit trail.

use super::*;

// ================================================================== 8. languages

integration_test!(an_english_client_is_answered_in_english);
async fn an_english_client_is_answered_in_english() {
    let app = bot_app(Backend::Sqlite).await;
    let john = User::en(7_800_000_001, "John");
    // Пётр's Telegram is in English too; Ольга's in Russian.
    let peter = User::en(ADMIN2, "Peter");
    send(&app, &updates::text(&peter, "/help")).await;

    let keyboard = start_request(&app, &john).await;
    assert_eq!(text(&keyboard), "Choose the type of request:");
    let types = active_types(&app).await;
    let mut expected: Vec<(String, String)> =
        types.iter().map(|t| pair(&t.name_en, &format!("v1:rt:{}", t.id))).collect();
    expected.push(pair("Cancel", "v1:cx"));
    assert_eq!(buttons(&keyboard), expected);
    send(&app, &updates::callback(&john, &expected[0].1, message_id(&keyboard))).await;
    assert_eq!(
        last_text(&app, john.id),
        "Type: Fiscal drive replacement. Describe what needs to be done (up to 2000 characters). You may send a photo \
         with a caption."
    );
    send(&app, &updates::sticker(&john)).await;
    assert_eq!(last_text(&app, john.id), "Please send text or a photo with a caption. Describe what needs to be done.");
    send(&app, &updates::text(&john, "Receipt printer is broken")).await;
    let summary = last_message(&app, john.id);
    assert_eq!(
        text(&summary),
        "Please check your request:\nType: Fiscal drive replacement\nDescription: Receipt printer is broken"
    );
    assert_eq!(buttons(&summary)[0].0, "Submit");
    assert_eq!(buttons(&summary)[1], pair("Cancel", "v1:cx"));
    send(&app, &submit_tap(&john, &summary)).await;
    assert_eq!(last_text(&app, john.id), "Request #1 received. We will let you know the decision.");

    // Each administrator reads the copy in their own language.
    let r = latest_request_of(&app, &john).await;
    let ru_copy = sent_message(&app, ADMIN1, copy_in(&app, r.id, ADMIN1).await);
    assert_eq!(text(&ru_copy), "Заявка №1 — Замена ФН\nОт: John\nКлиент: не указан\n\nReceipt printer is broken");
    let en_copy = sent_message(&app, ADMIN2, copy_in(&app, r.id, ADMIN2).await);
    assert_eq!(
        text(&en_copy),
        "Request #1 — Fiscal drive replacement\nFrom: John\nClient: not given\n\nReceipt printer is broken"
    );
    assert_eq!(
        buttons(&en_copy),
        [pair("✅ Approve", &format!("v1:ap:{}", r.id)), pair("❌ Reject", &format!("v1:rj:{}", r.id))]
    );

    tap_copy(&app, &olga(), "ap", r.id).await;
    assert_eq!(decision_messages(&app, &john), ["Request #1 approved."]);
    let edited = edits_of(&app, ADMIN2, copy_in(&app, r.id, ADMIN2).await);
    assert!(edited[0].params["text"].as_str().unwrap().contains("✅ Approved: Ольга, "));

    // A rejection with a reason, from the English-speaking administrator.
    let r2 = file(&app, &john, 4, "Something else").await;
    tap_copy(&app, &peter, "rj", r2.id).await;
    assert_eq!(last_text(&app, ADMIN2), "Write the reason for rejecting request #2, or press “Skip”.");
    send(&app, &updates::text(&peter, "no serial number")).await;
    assert_eq!(last_text(&app, ADMIN2), "Done: request #2 is rejected.");
    assert_eq!(decision_messages(&app, &john).last().unwrap(), "Request #2 rejected. Reason: no serial number");
    app.shutdown().await;
}

integration_test!(lang_switches_the_language);
async fn lang_switches_the_language() {
    let app = bot_app(Backend::Sqlite).await;
    let ivan = User::ru(7_800_000_011, "Иван");
    send(&app, &updates::text(&ivan, "/lang")).await;
    let choice = last_message(&app, ivan.id);
    assert_eq!(text(&choice), "Выберите язык / Choose your language:");
    assert_eq!(buttons(&choice), [pair("Русский", "v1:lang:ru"), pair("English", "v1:lang:en")]);
    send(&app, &updates::callback(&ivan, "v1:lang:en", message_id(&choice))).await;
    assert_eq!(last_text(&app, ivan.id), "Done: the bot will write to you in English.");
    let stored = kktbot::entities::telegram_user::Entity::find()
        .filter(kktbot::entities::telegram_user::Column::TelegramId.eq(ivan.id))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.language.as_deref(), Some("en"));

    // The choice outlives Telegram's language_code ("ru") in every later update.
    let r = file(&app, &ivan, 0, "Замена ФН").await;
    assert_eq!(last_text(&app, ivan.id), "Request #1 received. We will let you know the decision.");
    tap_copy(&app, &olga(), "ap", r.id).await;
    assert_eq!(decision_messages(&app, &ivan), ["Request #1 approved."]);

    // And back.
    send(&app, &updates::text(&ivan, "/lang")).await;
    send(&app, &updates::callback(&ivan, "v1:lang:ru", message_id(&last_message(&app, ivan.id)))).await;
    assert_eq!(last_text(&app, ivan.id), "Готово: бот будет писать вам по-русски.");
    assert_eq!(text(&start_request(&app, &ivan).await), "Выберите тип заявки:");
    app.shutdown().await;
}

// ================================================================== 9. lists and the client's cancel

integration_test!(myrequests_shows_status_and_reason_and_cancels_a_pending_request);
async fn myrequests_shows_status_and_reason_and_cancels_a_pending_request() {
    let app = bot_app(Backend::Sqlite).await;
    let ivan = User::ru(7_900_000_001, "Иван");

    send(&app, &updates::text(&ivan, "/myrequests")).await;
    assert_eq!(last_text(&app, ivan.id), "У вас пока нет заявок. /request — подать заявку.");

    let first = file(&app, &ivan, 0, "Замена ФН").await;
    let second = file(&app, &ivan, 1, "Регистрация").await;
    let third = file(&app, &ivan, 2, "Продление").await;
    tap_copy(&app, &olga(), "ap", first.id).await;
    send(&app, &updates::text(&petr(), "/reject 2 нет ФН на складе")).await;

    send(&app, &updates::text(&ivan, "/myrequests")).await;
    let list = last_message(&app, ivan.id);
    let date = |r: &client_request::Model| {
        r.created_at.with_timezone(&chrono_tz::Europe::Moscow).format("%d.%m.%Y").to_string()
    };
    assert_eq!(
        text(&list),
        format!(
            "Ваши заявки:\n№3 · Продление ОФД · ждёт решения · {}\n№2 · Регистрация ККТ · отклонена · {}\n  причина: нет \
             ФН на складе\n№1 · Замена ФН · одобрена · {}",
            date(&third),
            date(&second),
            date(&first)
        )
    );
    // Pending and approved requests may be cancelled; the rejected one not.
    assert_eq!(
        buttons(&list),
        [pair("Отменить №3", &format!("v1:cr:{}", third.id)), pair("Отменить №1", &format!("v1:cr:{}", first.id))]
    );

    // Someone else's cancel button for this request is refused.
    let stranger = User::ru(7_900_000_002, "Пётр");
    let forged = updates::callback(&stranger, &format!("v1:cr:{}", third.id), 1);
    send(&app, &forged).await;
    assert_eq!(answer_to(&app, &forged).as_deref(), Some(OUTDATED));
    assert_eq!(request(&app, third.id).await.status, client_request::Status::Pending);

    let cancel = updates::callback(&ivan, &format!("v1:cr:{}", third.id), message_id(&list));
    send(&app, &cancel).await;
    assert_eq!(answer_to(&app, &cancel), None);
    assert_eq!(last_text(&app, ivan.id), "Заявка №3 отменена.");
    let r = request(&app, third.id).await;
    assert_eq!(r.status, client_request::Status::Cancelled);
    assert_eq!(r.decided_by, None);
    for edited in assert_copies_edited(&app, third.id, &["Отменена клиентом, "]).await {
        assert!(!edited.contains("Одобрена") && !edited.contains("Отклонена"), "{edited:?}");
    }
    assert!(decision_messages(&app, &ivan).iter().all(|t| !t.contains("№3")));

    // Cancelling again, or cancelling a rejected request, changes nothing.
    send(&app, &updates::callback(&ivan, &format!("v1:cr:{}", third.id), message_id(&list))).await;
    assert_eq!(last_text(&app, ivan.id), "Заявку №3 уже нельзя отменить: она отменена.");
    send(&app, &updates::callback(&ivan, &format!("v1:cr:{}", second.id), message_id(&list))).await;
    assert_eq!(last_text(&app, ivan.id), "Заявку №2 уже нельзя отменить: она отклонена.");
    assert_eq!(request(&app, second.id).await.status, client_request::Status::Rejected);

    // An administrator's button on the cancelled request: told it is cancelled, nothing else.
    let late = tap_copy(&app, &olga(), "ap", third.id).await;
    assert_eq!(answer_to(&app, &late).as_deref(), Some("Заявка №3 уже отменена: Иван."));
    assert_eq!(request(&app, third.id).await.status, client_request::Status::Cancelled);
    assert_eq!(event_names(&events(&app, third.id).await), ["filed", "cancelled"]);

    send(&app, &updates::text(&ivan, "/myrequests")).await;
    let list = last_message(&app, ivan.id);
    assert!(text(&list).contains("№3 · Продление ОФД · отменена · "), "{}", text(&list));
    assert_eq!(buttons(&list), [pair("Отменить №1", &format!("v1:cr:{}", first.id))], "only №1 is left to cancel");
    app.shutdown().await;
}

integration_test!(pending_lists_pending_requests_with_their_buttons_for_administrators_only);
async fn pending_lists_pending_requests_with_their_buttons_for_administrators_only() {
    let app = bot_app(Backend::Sqlite).await;
    let (ivan, anna) = (User::ru(7_900_000_011, "Иван"), User::ru(7_900_000_012, "Анна"));

    send(&app, &updates::text(&petr(), "/pending")).await;
    assert_eq!(last_text(&app, ADMIN2), "Заявок, ждущих решения, нет.");

    let first = file(&app, &ivan, 0, "Замена ФН").await;
    let second = file(&app, &anna, 1, "Регистрация").await;
    let third = file(&app, &ivan, 2, "Продление").await;
    tap_copy(&app, &olga(), "ap", first.id).await;

    send(&app, &updates::text(&ivan, "/pending")).await;
    assert_eq!(last_text(&app, ivan.id), NOT_ADMIN);

    let before = messages_to(&app, ADMIN2).len();
    send(&app, &updates::text(&petr(), "/pending")).await;
    let shown = &messages_to(&app, ADMIN2)[before..];
    assert_eq!(shown.len(), 3, "a header, then one copy per pending request");
    assert_eq!(text(&shown[0]), "Ждут решения: 2.");
    for (message, r) in shown[1..].iter().zip([&second, &third]) {
        assert!(text(message).starts_with(&format!("Заявка №{} — ", r.number)), "{}", text(message));
        assert_eq!(
            buttons(message),
            [pair("✅ Одобрить", &format!("v1:ap:{}", r.id)), pair("❌ Отклонить", &format!("v1:rj:{}", r.id))]
        );
    }
    // The listed copy is remembered like the first ones: deciding on it edits all three.
    assert_eq!(copies(&app, second.id).await.len(), 3);
    let approve = updates::callback(&petr(), &format!("v1:ap:{}", second.id), message_id(&shown[1]));
    send(&app, &approve).await;
    assert_eq!(answer_to(&app, &approve).as_deref(), Some("Готово: заявка №2 — одобрена."));
    assert_eq!(assert_copies_edited(&app, second.id, &["✅ Одобрена: Пётр, "]).await.len(), 3);
    assert_eq!(decision_messages(&app, &anna), ["Заявка №2 одобрена."]);
    app.shutdown().await;
}

// ================================================================== 10. audit trail

integration_test!(every_change_is_in_the_audit_trail);
async fn every_change_is_in_the_audit_trail() {
    let app = bot_app(Backend::Sqlite).await;
    let started = Utc::now() - chrono::Duration::seconds(1);
    let ivan = User::ru(7_950_000_001, "Иван");
    let approved = file(&app, &ivan, 0, "Замена ФН").await;
    let rejected = file(&app, &ivan, 1, "Регистрация").await;
    let cancelled = file(&app, &ivan, 2, "Продление").await;
    tap_copy(&app, &olga(), "ap", approved.id).await;
    send(&app, &updates::reply(&petr(), "Отклонить нет документов", copy_in(&app, rejected.id, ADMIN2).await)).await;
    send(&app, &updates::text(&ivan, "/myrequests")).await;
    send(&app, &updates::callback(&ivan, &format!("v1:cr:{}", cancelled.id), message_id(&last_message(&app, ivan.id))))
        .await;
    let (olga_id, petr_id) = (administrator_id(&app, ADMIN1).await, administrator_id(&app, ADMIN2).await);

    type Row<'a> = (&'a str, &'a str, &'a str, Option<i64>, Option<&'a str>, Option<&'a str>);
    let filed: Row = ("filed", "telegram", "client", Some(ivan.id), Some("Иван"), None);
    let expected: [(i32, Vec<Row>); 3] = [
        (
            approved.id,
            vec![filed, ("approved", "telegram", "administrator", Some(olga_id.into()), Some("Ольга"), None)],
        ),
        (
            rejected.id,
            vec![
                filed,
                ("rejected", "telegram", "administrator", Some(petr_id.into()), Some("Пётр"), Some("нет документов")),
            ],
        ),
        (cancelled.id, vec![filed, ("cancelled", "telegram", "client", Some(ivan.id), Some("Иван"), None)]),
    ];
    let now = Utc::now() + chrono::Duration::seconds(1);
    for (id, rows) in expected {
        let trail = events(&app, id).await;
        let got: Vec<Row> = trail
            .iter()
            .map(|e| {
                (
                    e.event.as_str(),
                    e.channel.as_str(),
                    e.actor_kind.as_str(),
                    e.actor_id,
                    e.actor_name.as_deref(),
                    e.details.as_deref(),
                )
            })
            .collect();
        assert_eq!(got, rows, "request {id}");
        assert!(trail.iter().all(|e| e.created_at >= started && e.created_at <= now));
        assert!(trail.windows(2).all(|w| w[0].created_at <= w[1].created_at));
    }
    assert_eq!(request_event::Entity::find().count(app.db()).await.unwrap(), 6);
    app.shutdown().await;
}
