//! Deciding: by button, by reply and by command, reasons, second decisions, forged and unknown
//! buttons, inactive administrators.

use super::*;

// ================================================================== 4. deciding

integration_test!(reject_by_button_asks_a_reason_then_tells_the_client);
async fn reject_by_button_asks_a_reason_then_tells_the_client() {
    let app = bot_app(Backend::Sqlite).await;
    let client = User::ru(7_400_000_001, "Иван");
    let r = file(&app, &client, 0, "Замена ФН").await;

    let reject = tap_copy(&app, &olga(), "rj", r.id).await;
    assert_eq!(answer_to(&app, &reject), None);
    let prompt = last_message(&app, ADMIN1);
    assert_eq!(text(&prompt), "Напишите причину отклонения заявки №1 или нажмите «Пропустить».");
    assert_eq!(buttons(&prompt), [pair("Пропустить", &format!("v1:sk:{}", r.id))]);
    assert_eq!(request(&app, r.id).await.status, client_request::Status::Pending, "nothing decided yet");
    assert!(decision_messages(&app, &client).is_empty());

    // Not a reason: asked again.
    send(&app, &updates::sticker(&olga())).await;
    assert_eq!(last_text(&app, ADMIN1), "Напишите причину отклонения заявки №1 или нажмите «Пропустить».");
    assert_eq!(request(&app, r.id).await.status, client_request::Status::Pending);

    send(&app, &updates::text(&olga(), "нет серийного номера")).await;
    assert_eq!(last_text(&app, ADMIN1), "Готово: заявка №1 — отклонена.");
    assert_eq!(decision_messages(&app, &client), ["Заявка №1 отклонена. Причина: нет серийного номера"]);
    let r = request(&app, r.id).await;
    assert_eq!(r.status, client_request::Status::Rejected);
    assert_eq!(r.reason.as_deref(), Some("нет серийного номера"));
    assert_eq!(r.decided_by.as_deref(), Some("Ольга"));
    assert_copies_edited(&app, r.id, &["❌ Отклонена: Ольга, ", "\nПричина: нет серийного номера"]).await;

    // The reason step is over: more text is not a second reason.
    send(&app, &updates::text(&olga(), "и ещё одна причина")).await;
    assert_eq!(last_text(&app, ADMIN1), UNKNOWN_INPUT);
    assert_eq!(request(&app, r.id).await.reason.as_deref(), Some("нет серийного номера"));
    assert_eq!(decision_messages(&app, &client).len(), 1);
    assert_all_through_outbox(&app).await;
    app.shutdown().await;
}

integration_test!(reject_by_button_then_skip_gives_no_reason);
async fn reject_by_button_then_skip_gives_no_reason() {
    let app = bot_app(Backend::Sqlite).await;
    let client = User::ru(7_400_000_002, "Иван");
    let r = file(&app, &client, 3, "Сломался принтер").await;

    // Leaving the reason step with /cancel decides nothing.
    tap_copy(&app, &petr(), "rj", r.id).await;
    send(&app, &updates::text(&petr(), "/cancel")).await;
    assert_eq!(last_text(&app, ADMIN2), "Действие отменено.");
    send(&app, &updates::text(&petr(), "не та заявка")).await;
    assert_eq!(last_text(&app, ADMIN2), UNKNOWN_INPUT);
    assert_eq!(request(&app, r.id).await.status, client_request::Status::Pending);
    assert!(decision_messages(&app, &client).is_empty());

    tap_copy(&app, &petr(), "rj", r.id).await;
    let prompt = last_message(&app, ADMIN2);
    let skip = updates::callback(&petr(), &buttons(&prompt)[0].1, message_id(&prompt));
    send(&app, &skip).await;
    assert_eq!(answer_to(&app, &skip).as_deref(), Some("Готово: заявка №1 — отклонена."));
    assert_eq!(decision_messages(&app, &client), ["Заявка №1 отклонена."]);
    let r = request(&app, r.id).await;
    assert_eq!(
        (r.status, r.reason.as_deref(), r.decided_by.as_deref()),
        (client_request::Status::Rejected, None, Some("Пётр"))
    );
    for edited in assert_copies_edited(&app, r.id, &["❌ Отклонена: Пётр, "]).await {
        assert!(!edited.contains("Причина"), "{edited:?}");
    }
    // The reason step is over for Пётр.
    send(&app, &updates::text(&petr(), "запоздалая причина")).await;
    assert_eq!(last_text(&app, ADMIN2), UNKNOWN_INPUT);
    assert_eq!(request(&app, r.id).await.reason, None);
    app.shutdown().await;
}

integration_test!(administrators_decide_by_replying_to_their_copy);
async fn administrators_decide_by_replying_to_their_copy() {
    let app = bot_app(Backend::Sqlite).await;
    let (ivan, anna, oleg) =
        (User::ru(7_400_000_011, "Иван"), User::ru(7_400_000_012, "Анна"), User::ru(7_400_000_013, "Олег"));
    let first = file(&app, &ivan, 0, "Замена ФН").await;
    let second = file(&app, &anna, 1, "Регистрация").await;
    let third = file(&app, &oleg, 2, "Продление").await;

    // A reply that is not a decision decides nothing: it goes to the client.
    send(&app, &updates::reply(&petr(), "спасибо", copy_in(&app, first.id, ADMIN2).await)).await;
    assert_eq!(last_text(&app, ADMIN2), "Ответ по заявке №1 отправлен клиенту.");
    assert_eq!(last_text(&app, ivan.id), "💬 Заявка №1 — ответ:\nспасибо");
    assert_eq!(request(&app, first.id).await.status, client_request::Status::Pending);

    send(&app, &updates::reply(&petr(), "Одобрить", copy_in(&app, first.id, ADMIN2).await)).await;
    assert_eq!(last_text(&app, ADMIN2), "Готово: заявка №1 — одобрена.");
    assert_eq!(decision_messages(&app, &ivan), ["Заявка №1 одобрена."]);
    let r = request(&app, first.id).await;
    assert_eq!((r.status, r.decided_by.as_deref()), (client_request::Status::Approved, Some("Пётр")));
    assert_copies_edited(&app, r.id, &["✅ Одобрена: Пётр, "]).await;

    send(&app, &updates::reply(&olga(), "Отклонить нет серийного номера", copy_in(&app, second.id, ADMIN1).await))
        .await;
    assert_eq!(last_text(&app, ADMIN1), "Готово: заявка №2 — отклонена.");
    assert_eq!(decision_messages(&app, &anna), ["Заявка №2 отклонена. Причина: нет серийного номера"]);
    let r = request(&app, second.id).await;
    assert_eq!(
        (r.status, r.reason.as_deref(), r.decided_by.as_deref()),
        (client_request::Status::Rejected, Some("нет серийного номера"), Some("Ольга"))
    );
    assert_copies_edited(&app, r.id, &["❌ Отклонена: Ольга, ", "Причина: нет серийного номера"]).await;

    // The English words work too, and a bare "Reject" has no reason.
    send(&app, &updates::reply(&olga(), "Reject", copy_in(&app, third.id, ADMIN1).await)).await;
    assert_eq!(decision_messages(&app, &oleg), ["Заявка №3 отклонена."]);
    assert_eq!(request(&app, third.id).await.reason, None);

    // "Одобрить" in reply to a message that is not a request copy decides nothing.
    let fourth = file(&app, &ivan, 4, "Другое").await;
    let not_a_copy = messages_to(&app, ADMIN1).into_iter().find(|m| text(m).starts_with("Готово")).unwrap();
    send(&app, &updates::reply(&olga(), "Одобрить", message_id(&not_a_copy))).await;
    assert_eq!(last_text(&app, ADMIN1), UNKNOWN_INPUT);
    assert_eq!(request(&app, fourth.id).await.status, client_request::Status::Pending);

    // A client cannot decide by replying.
    send(&app, &updates::reply(&ivan, "Одобрить", message_id(&last_message(&app, ivan.id)))).await;
    assert_eq!(request(&app, fourth.id).await.status, client_request::Status::Pending);
    app.shutdown().await;
}

integration_test!(administrators_decide_by_command);
async fn administrators_decide_by_command() {
    let app = bot_app(Backend::Sqlite).await;
    let (ivan, anna) = (User::ru(7_400_000_021, "Иван"), User::ru(7_400_000_022, "Анна"));
    let first = file(&app, &ivan, 0, "Замена ФН").await;
    let second = file(&app, &anna, 1, "Регистрация").await;

    send(&app, &updates::text(&olga(), "/approve 1")).await;
    assert_eq!(last_text(&app, ADMIN1), "Готово: заявка №1 — одобрена.");
    assert_eq!(decision_messages(&app, &ivan), ["Заявка №1 одобрена."]);
    assert_eq!(request(&app, first.id).await.decided_by.as_deref(), Some("Ольга"));
    assert_copies_edited(&app, first.id, &["✅ Одобрена: Ольга, "]).await;

    send(&app, &updates::text(&petr(), "/reject 2 нет ФН на складе")).await;
    assert_eq!(last_text(&app, ADMIN2), "Готово: заявка №2 — отклонена.");
    assert_eq!(decision_messages(&app, &anna), ["Заявка №2 отклонена. Причина: нет ФН на складе"]);
    let r = request(&app, second.id).await;
    assert_eq!((r.reason.as_deref(), r.decided_by.as_deref()), (Some("нет ФН на складе"), Some("Пётр")));
    assert_copies_edited(&app, second.id, &["❌ Отклонена: Пётр, ", "Причина: нет ФН на складе"]).await;

    // Bad arguments get a hint, never a decision.
    for (command, answer) in [
        ("/approve", "Использование: /approve N или /reject N причина."),
        ("/approve abc", "Использование: /approve N или /reject N причина."),
        ("/reject", "Использование: /approve N или /reject N причина."),
        ("/approve 99", "Заявки №99 нет."),
        ("/reject 99 причина", "Заявки №99 нет."),
    ] {
        send(&app, &updates::text(&olga(), command)).await;
        assert_eq!(last_text(&app, ADMIN1), answer, "{command}");
    }
    // Clients cannot use them.
    let third = file(&app, &ivan, 2, "Продление").await;
    for command in ["/approve 3", "/reject 3 нет"] {
        send(&app, &updates::text(&ivan, command)).await;
        assert_eq!(last_text(&app, ivan.id), NOT_ADMIN, "{command}");
    }
    assert_eq!(request(&app, third.id).await.status, client_request::Status::Pending);
    assert_eq!(event_names(&events(&app, third.id).await), ["filed"]);
    app.shutdown().await;
}

integration_test!(numbers_are_shown_and_ids_only_travel_in_buttons);
/// Request numbers are not database ids (numbers carried over from an older system, say): every
/// text shows the number, buttons carry the id, commands take the number.
async fn numbers_are_shown_and_ids_only_travel_in_buttons() {
    let app = bot_app(Backend::Sqlite).await;
    let now = Utc::now();
    client_request::ActiveModel {
        number: Set(41),
        kind: Set(client_request::Kind::Service),
        description: Set("перенесена из старой системы".into()),
        requester_telegram_id: Set(7_400_000_030),
        status: Set(client_request::Status::Approved),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(app.db())
    .await
    .unwrap();
    let client = User::ru(7_400_000_031, "Иван");
    let r = file(&app, &client, 0, "Замена ФН").await;
    assert_eq!(r.number, 42);
    assert_ne!(r.id, r.number);
    assert_eq!(last_text(&app, client.id), "Заявка №42 принята. Мы сообщим о решении.");
    let copy = sent_message(&app, ADMIN1, copy_in(&app, r.id, ADMIN1).await);
    assert!(text(&copy).starts_with("Заявка №42 — Замена ФН"));
    assert_eq!(buttons(&copy)[0].1, format!("v1:ap:{}", r.id));

    tap_copy(&app, &olga(), "rj", r.id).await;
    assert_eq!(last_text(&app, ADMIN1), "Напишите причину отклонения заявки №42 или нажмите «Пропустить».");
    // Asked again after something that is not a reason: still about №42.
    send(&app, &updates::sticker(&olga())).await;
    assert_eq!(last_text(&app, ADMIN1), "Напишите причину отклонения заявки №42 или нажмите «Пропустить».");
    send(&app, &updates::text(&olga(), "дубль")).await;
    assert_eq!(decision_messages(&app, &client), ["Заявка №42 отклонена. Причина: дубль"]);

    let next = file(&app, &client, 1, "Регистрация").await;
    assert_eq!(next.number, 43);
    send(&app, &updates::text(&petr(), &format!("/approve {}", next.id))).await;
    assert_eq!(last_text(&app, ADMIN2), format!("Заявки №{} нет.", next.id));
    send(&app, &updates::text(&petr(), "/approve 43")).await;
    assert_eq!(last_text(&app, ADMIN2), "Готово: заявка №43 — одобрена.");
    app.shutdown().await;
}

integration_test!(a_linked_contact_has_its_client_on_the_request);
async fn a_linked_contact_has_its_client_on_the_request() {
    let app = bot_app(Backend::Sqlite).await;
    // The company exists (added in the dashboard); the user links to it by sending its ИНН.
    let now = Utc::now();
    kktbot::entities::client::ActiveModel {
        name: Set("ООО Ромашка".into()),
        inn: Set("7707083893".into()),
        is_active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(app.db())
    .await
    .unwrap();
    let ivan = User::ru(7_400_000_041, "Иван");
    send(&app, &updates::text(&ivan, "7707083893")).await;
    assert_eq!(
        last_text(&app, ivan.id),
        "Запрос на подключение к организации с ИНН 7707083893 отправлен администраторам (заявка №1). Мы сообщим о \
         решении."
    );
    let link = latest_request_of(&app, &ivan).await;
    assert_eq!(link.kind, client_request::Kind::Link);
    let copy = sent_message(&app, ADMIN1, copy_in(&app, link.id, ADMIN1).await);
    assert_eq!(
        text(&copy),
        "Заявка №1 — подключение к организации\nОт: Иван (@user7400000041)\nИНН: 7707083893 (ООО Ромашка (ИНН \
         7707083893))"
    );
    // The same decision mechanism, copies and trail as service requests.
    tap_copy(&app, &olga(), "ap", link.id).await;
    assert_eq!(
        decision_messages(&app, &ivan),
        ["Заявка №1 одобрена: вы подключены к организации «ООО Ромашка» (ИНН 7707083893)."]
    );
    assert_copies_edited(&app, link.id, &["✅ Одобрена: Ольга, "]).await;
    assert_eq!(event_names(&events(&app, link.id).await), ["filed", "approved"]);

    // Now a contact: the service request carries the client, and the administrators see it.
    let r = file(&app, &ivan, 0, "Замена ФН").await;
    assert_eq!(r.number, 2);
    assert_eq!(r.client_id, request(&app, link.id).await.client_id);
    assert!(r.client_id.is_some());
    for admin in ADMINS {
        let copy = sent_message(&app, admin, copy_in(&app, r.id, admin).await);
        assert_eq!(
            text(&copy),
            "Заявка №2 — Замена ФН\nОт: Иван (@user7400000041)\nКлиент: ООО Ромашка (ИНН 7707083893)\n\nЗамена ФН"
        );
    }
    app.shutdown().await;
}

integration_test!(an_inactive_administrator_gets_no_copy_and_cannot_decide);
async fn an_inactive_administrator_gets_no_copy_and_cannot_decide() {
    let app = bot_app(Backend::Sqlite).await;
    let ivan = User::ru(7_400_000_051, "Иван");
    let first = file(&app, &ivan, 0, "Замена ФН").await;
    let old_copy = copy_in(&app, first.id, ADMIN2).await;

    let row = administrator::Entity::find()
        .filter(administrator::Column::TelegramId.eq(ADMIN2))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    let mut row: administrator::ActiveModel = row.into();
    row.is_active = Set(false);
    row.update(app.db()).await.unwrap();

    let second = file(&app, &ivan, 1, "Регистрация").await;
    assert_eq!(copies(&app, second.id).await.iter().map(|(chat, _)| *chat).collect::<Vec<_>>(), [ADMIN1]);

    let tap = updates::callback(&petr(), &format!("v1:ap:{}", first.id), old_copy);
    send(&app, &tap).await;
    assert_eq!(answer_to(&app, &tap).as_deref(), Some(NOT_ADMIN));
    for command in ["/approve 1", "/reject 2 нет", "/pending"] {
        send(&app, &updates::text(&petr(), command)).await;
        assert_eq!(last_text(&app, ADMIN2), NOT_ADMIN, "{command}");
    }
    send(&app, &updates::reply(&petr(), "Одобрить", old_copy)).await;
    assert_eq!(last_text(&app, ADMIN2), UNKNOWN_INPUT);
    for r in [&first, &second] {
        assert_eq!(request(&app, r.id).await.status, client_request::Status::Pending);
    }
    assert!(decision_messages(&app, &ivan).is_empty());
    app.shutdown().await;
}

// ================================================================== 5. second decisions, forged and unknown buttons

integration_test!(a_second_decision_changes_nothing_and_names_who_decided_first);
async fn a_second_decision_changes_nothing_and_names_who_decided_first() {
    let app = bot_app(Backend::Sqlite).await;
    let client = User::ru(7_500_000_001, "Иван");
    let r = file(&app, &client, 0, "Замена ФН").await;
    tap_copy(&app, &olga(), "ap", r.id).await;
    let decided = request(&app, r.id).await;
    let edits_before = app.tg().calls_to("editMessageText").len();
    const FIRST: &str = "Заявка №1 уже одобрена: Ольга.";

    // Пётр, every way; and Ольга again.
    for action in ["ap", "rj", "sk"] {
        let tap = tap_copy(&app, &petr(), action, r.id).await;
        assert_eq!(answer_to(&app, &tap).as_deref(), Some(FIRST), "{action}");
    }
    let again = tap_copy(&app, &olga(), "ap", r.id).await;
    assert_eq!(answer_to(&app, &again).as_deref(), Some(FIRST));
    send(&app, &updates::reply(&petr(), "Отклонить поздно", copy_in(&app, r.id, ADMIN2).await)).await;
    assert_eq!(last_text(&app, ADMIN2), FIRST);
    send(&app, &updates::text(&petr(), "/reject 1 поздно")).await;
    assert_eq!(last_text(&app, ADMIN2), FIRST);
    send(&app, &updates::text(&petr(), "/approve 1")).await;
    assert_eq!(last_text(&app, ADMIN2), FIRST);

    assert_eq!(request(&app, r.id).await, decided, "nothing changed");
    assert_eq!(event_names(&events(&app, r.id).await), ["filed", "approved"]);
    assert_eq!(decision_messages(&app, &client), ["Заявка №1 одобрена."]);
    assert_eq!(app.tg().calls_to("editMessageText").len(), edits_before, "no copy edited again");

    // Пётр pressed Reject and was writing a reason when Ольга approved: his reason changes nothing.
    let other = User::ru(7_500_000_002, "Анна");
    let r2 = file(&app, &other, 1, "Регистрация").await;
    tap_copy(&app, &petr(), "rj", r2.id).await;
    tap_copy(&app, &olga(), "ap", r2.id).await;
    send(&app, &updates::text(&petr(), "нет документов")).await;
    assert_eq!(last_text(&app, ADMIN2), "Заявка №2 уже одобрена: Ольга.");
    let r2 = request(&app, r2.id).await;
    assert_eq!((r2.status, r2.reason), (client_request::Status::Approved, None));
    assert_eq!(decision_messages(&app, &other), ["Заявка №2 одобрена."]);
    assert_eq!(event_names(&events(&app, r2.id).await), ["filed", "approved"]);
    app.shutdown().await;
}

integration_test!(a_forged_decision_button_from_a_non_administrator_changes_nothing);
async fn a_forged_decision_button_from_a_non_administrator_changes_nothing() {
    let app = bot_app(Backend::Sqlite).await;
    let client = User::ru(7_500_000_011, "Иван");
    let stranger = User::en(7_500_000_012, "Mallory");
    let r = file(&app, &client, 0, "Замена ФН").await;
    let calls_before = app.tg().calls_to("editMessageText").len();

    let own_message = message_id(&last_message(&app, client.id));
    for (user, action) in [(&client, "ap"), (&client, "rj"), (&client, "sk"), (&stranger, "ap")] {
        let forged = updates::callback(user, &format!("v1:{action}:{}", r.id), own_message);
        send(&app, &forged).await;
        let notice = answer_to(&app, &forged);
        let expected = if user.id == stranger.id { "This command is for administrators only." } else { NOT_ADMIN };
        assert_eq!(notice.as_deref(), Some(expected), "{action} from {}", user.first_name);
    }
    let r = request(&app, r.id).await;
    assert_eq!(r.status, client_request::Status::Pending);
    assert_eq!(r.decided_by, None);
    assert_eq!(event_names(&events(&app, r.id).await), ["filed"]);
    assert!(decision_messages(&app, &client).is_empty());
    assert_eq!(app.tg().calls_to("editMessageText").len(), calls_before);
    // No reason step was opened for the client either.
    send(&app, &updates::text(&client, "причина")).await;
    assert_eq!(last_text(&app, client.id), UNKNOWN_INPUT);
    app.shutdown().await;
}

integration_test!(unknown_or_malformed_callback_data_gets_a_short_notice);
async fn unknown_or_malformed_callback_data_gets_a_short_notice() {
    let app = bot_app(Backend::Sqlite).await;
    let client = User::ru(7_500_000_021, "Иван");
    file(&app, &client, 0, "Замена ФН").await;
    let long = format!("v1:ap:{}", "1".repeat(70));
    let mut no_data = updates::callback(&olga(), "v1:ap:1", 1);
    no_data["callback_query"].as_object_mut().unwrap().remove("data");
    no_data["callback_query"]["game_short_name"] = json!("game");

    let mut cases: Vec<Value> = [
        "garbage",
        "v2:ap:1",
        "v1:ap",
        "v1:ap:abc",
        "v1:ap:-1",
        "v1:ap:1:2",
        "v1:zz:1",
        "v1:lang:de",
        "v1:sub:short",
        "v1:rq:1:ok",
        "v1:ap:999999",
        "v1:rj:999999",
        "v1:sk:999999",
        "v1:cr:999999",
        long.as_str(),
        "' OR 1=1; --",
    ]
    .iter()
    .map(|data| updates::callback(&olga(), data, 1))
    .collect();
    cases.push(no_data);
    for update in &cases {
        let res = app.post_update(update).await;
        assert_eq!(res.status(), 200, "{}", update["callback_query"]["data"]);
    }
    app.settle().await;
    for update in &cases {
        assert_eq!(answer_to(&app, update).as_deref(), Some(OUTDATED), "{}", update["callback_query"]["data"]);
    }
    let r = latest_request_of(&app, &client).await;
    assert_eq!(r.status, client_request::Status::Pending);
    assert_eq!(count_rows(app.db(), "request_events").await, 1);
    app.shutdown().await;
}

backend_test!(a_decision_made_while_the_bot_is_off_reaches_the_client_once_it_is_on);
async fn a_decision_made_while_the_bot_is_off_reaches_the_client_once_it_is_on(backend: Backend) {
    let app = bot_app(backend).await;
    let ivan = User::ru(7_500_000_031, "Иван");
    let r = file(&app, &ivan, 0, "Замена ФН").await;
    app.settle().await;
    let (email, password) = app.initial_admin.clone().expect("the first start made an administrator");
    let (db, fake) = app.crash().await;
    let fake = fake.expect("the fake Bot API");
    let calls_before = fake.calls().len();

    // The bot is off (no TELEGRAM_BOT_TOKEN): the dashboard approves the request.
    let off = TestApp::builder().database(db).spawn().await;
    assert!(off.state.bot_api.is_none(), "the bot is off");
    let token = crate::staff::token(&off, &email, &password).await;
    let path = format!("/api/requests/{}/approve", r.id);
    let (status, answer) = crate::staff::call(&off, &token, reqwest::Method::POST, &path, None).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["status"], "approved", "{answer}");
    // The client's message waits in the outbox like any other; nothing reaches Telegram.
    let waiting = outgoing_message::Entity::find()
        .filter(outgoing_message::Column::ChatId.eq(ivan.id))
        .filter(outgoing_message::Column::Status.eq(outgoing_message::Status::Pending))
        .all(off.db())
        .await
        .unwrap();
    assert_eq!(waiting.len(), 1, "one message to the client is queued: {waiting:?}");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(fake.calls().len(), calls_before, "nothing is sent while the bot is off");
    let (db, _) = off.crash().await;

    // The bot is on again, on the same database: the client is told, once.
    let on = bot_builder(TestApp::builder().database(db).fake_telegram(fake), backend).spawn().await;
    on.settle().await;
    assert_eq!(decision_messages(&on, &ivan), ["Заявка №1 одобрена."]);
    assert_copies_edited(&on, r.id, &["✅ Одобрена: "]).await;
    assert_all_through_outbox(&on).await;
    // Settled means nothing more is due: a while later the client still has one message.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(decision_messages(&on, &ivan).len(), 1);
    on.shutdown().await;
}
