//! Filing a request: the whole dialog with text and photo, every wrong input, cancel at every step.

use super::*;

// ================================================================== 1. filing and approval

backend_test!(filing_and_approval);
async fn filing_and_approval(backend: Backend) {
    let app = bot_app(backend).await;
    let client = User::ru(7_100_000_001, "Иван");

    // /request: the active types from the database, in their order, then Cancel.
    let keyboard = start_request(&app, &client).await;
    assert_eq!(text(&keyboard), "Выберите тип заявки:");
    let types = active_types(&app).await;
    assert_eq!(types.iter().map(|t| t.name_ru.as_str()).collect::<Vec<_>>(), TYPES_RU);
    let mut expected: Vec<Vec<(String, String)>> =
        types.iter().map(|t| vec![pair(&t.name_ru, &format!("v1:rt:{}", t.id))]).collect();
    expected.push(vec![pair("Отменить", "v1:cx")]);
    assert_eq!(button_rows(&keyboard), expected);

    // A type → the description is asked, with Cancel.
    let tap = updates::callback(&client, &format!("v1:rt:{}", types[0].id), message_id(&keyboard));
    send(&app, &tap).await;
    assert_eq!(answer_to(&app, &tap), None);
    let ask = last_message(&app, client.id);
    assert_eq!(
        text(&ask),
        "Тип: Замена ФН. Опишите, что нужно сделать (до 2000 символов). Можно отправить фото с подписью."
    );
    assert_eq!(buttons(&ask), [pair("Отменить", "v1:cx")]);

    // The description → a summary with Submit / Cancel; nothing is filed yet.
    send(&app, &updates::text(&client, "Не печатает чек, ошибка ФН")).await;
    let summary = last_message(&app, client.id);
    assert_eq!(text(&summary), "Проверьте заявку:\nТип: Замена ФН\nОписание: Не печатает чек, ошибка ФН");
    let summary_buttons = buttons(&summary);
    assert_eq!(summary_buttons.len(), 2);
    assert_eq!(summary_buttons[0].0, "Отправить");
    assert!(summary_buttons[0].1.starts_with("v1:sub:") && summary_buttons[0].1.len() <= 64);
    assert_eq!(summary_buttons[1], pair("Отменить", "v1:cx"));
    assert_eq!(count_rows(app.db(), "client_requests").await, 0);
    assert!(app.tg().sent_texts_to(ADMIN1).is_empty());

    // Submit → pending request №1, the client told its number.
    let submit = submit_tap(&client, &summary);
    send(&app, &submit).await;
    assert_eq!(answer_to(&app, &submit), None);
    assert_eq!(last_text(&app, client.id), "Заявка №1 принята. Мы сообщим о решении.");
    let requests = all_requests(&app).await;
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.number, 1);
    assert_eq!(r.status, client_request::Status::Pending);
    assert_eq!(r.kind, client_request::Kind::Service);
    assert_eq!(r.request_type_id, Some(types[0].id));
    assert_eq!(r.description, "Не печатает чек, ошибка ФН");
    assert_eq!(r.photo_file_id, None);
    assert_eq!(r.requester_telegram_id, client.id);
    assert_eq!(r.requester_name.as_deref(), Some("Иван"));
    assert_eq!(r.requester_username.as_deref(), Some("user7100000001"));
    assert_eq!((r.decided_by.as_deref(), r.decided_at, r.reason.as_deref()), (None, None, None));

    // Each administrator got a copy with ✅/❌; kktbot remembers both.
    assert_eq!(count_rows(app.db(), "request_messages").await, 2);
    let copies = copies(&app, r.id).await;
    let mut chats: Vec<i64> = copies.iter().map(|(chat, _)| *chat).collect();
    chats.sort_unstable();
    assert_eq!(chats, ADMINS);
    for (chat, message) in &copies {
        let copy = sent_message(&app, *chat, *message);
        assert_eq!(
            text(&copy),
            "Заявка №1 — Замена ФН\nОт: Иван (@user7100000001)\nКлиент: не указан\n\nНе печатает чек, ошибка ФН"
        );
        assert_eq!(
            button_rows(&copy),
            [vec![pair("✅ Одобрить", &format!("v1:ap:{}", r.id)), pair("❌ Отклонить", &format!("v1:rj:{}", r.id))]]
        );
        assert!(sent(&app, "sendPhoto", *chat).is_empty());
    }
    if let Some(redis) = &app.redis {
        assert!(redis.keys().iter().all(|k| !k.contains("dialog:")), "the dialog is gone: {:?}", redis.keys());
    }

    // Olga approves with her button.
    let approve = updates::callback(&olga(), &format!("v1:ap:{}", r.id), copy_in(&app, r.id, ADMIN1).await);
    send(&app, &approve).await;
    assert_eq!(answer_to(&app, &approve).as_deref(), Some("Готово: заявка №1 — одобрена."));
    assert_eq!(decision_messages(&app, &client), ["Заявка №1 одобрена."]);
    assert_eq!(app.tg().sent_texts_to(client.id).len(), 5, "type keyboard, prompt, summary, received, approved");
    let r = request(&app, r.id).await;
    assert_eq!(r.status, client_request::Status::Approved);
    assert_eq!(r.decided_by.as_deref(), Some("Ольга"));
    assert_eq!(r.decided_by_administrator_id, Some(administrator_id(&app, ADMIN1).await));
    assert_eq!(r.reason, None);
    let decided_at = r.decided_at.expect("decided_at is set");
    assert!((Utc::now() - decided_at).num_seconds().abs() < 60);
    // Both copies show who decided and when (in the configured time zone), without buttons.
    let when = decided_at.with_timezone(&chrono_tz::Europe::Moscow).format("%d.%m.%Y %H:%M").to_string();
    assert_copies_edited(&app, r.id, &[&format!("✅ Одобрена: Ольга, {when}")]).await;

    let trail = events(&app, r.id).await;
    assert_eq!(event_names(&trail), ["filed", "approved"]);
    assert_all_through_outbox(&app).await;
    app.shutdown().await;
}

integration_test!(filing_with_a_photo_and_caption);
async fn filing_with_a_photo_and_caption() {
    let app = bot_app(Backend::Sqlite).await;
    let client = User::ru(7_100_000_002, "Иван");
    choose_type(&app, &client, 1).await;
    send(&app, &updates::photo(&client, Some("Фото ошибки на дисплее"))).await;
    let summary = last_message(&app, client.id);
    assert_eq!(
        text(&summary),
        "Проверьте заявку:\nТип: Регистрация ККТ\nОписание: Фото ошибки на дисплее\nФото приложено."
    );
    send(&app, &submit_tap(&client, &summary)).await;
    assert_eq!(last_text(&app, client.id), "Заявка №1 принята. Мы сообщим о решении.");

    let r = latest_request_of(&app, &client).await;
    assert_eq!(r.description, "Фото ошибки на дисплее");
    assert_eq!(r.photo_file_id.as_deref(), Some("AgACAgIAAxkBAAMUZ0large"), "the largest size is kept");
    for admin in ADMINS {
        // The photo (largest size), then the copy with the buttons.
        let photos: Vec<Call> =
            app.tg().calls_to("sendPhoto").into_iter().filter(|c| c.ok && chat_of(c) == Some(admin)).collect();
        assert_eq!(photos.len(), 1);
        assert_eq!(photos[0].params["photo"], "AgACAgIAAxkBAAMUZ0large");
        assert_eq!(photos[0].params["caption"], "Фото к заявке №1");
        let copy = sent_message(&app, admin, copy_in(&app, r.id, admin).await);
        assert_eq!(
            text(&copy),
            "Заявка №1 — Регистрация ККТ\nОт: Иван (@user7100000002)\nКлиент: не указан\n\nФото ошибки на дисплее"
        );
        assert_eq!(buttons(&copy).len(), 2);
        assert!(
            photos[0].at <= app.tg().calls_to("sendMessage").iter().find(|c| chat_of(c) == Some(admin)).unwrap().at
        );
    }
    assert_eq!(count_rows(app.db(), "request_messages").await, 2);

    // After the decision the text copies are edited; the photos stay as they are.
    tap_copy(&app, &petr(), "ap", r.id).await;
    assert_copies_edited(&app, r.id, &["✅ Одобрена: Пётр, "]).await;
    assert!(app.tg().calls_to("editMessageCaption").is_empty());
    assert_all_through_outbox(&app).await;
    app.shutdown().await;
}

// ================================================================== 2. wrong input

integration_test!(every_wrong_description_gets_a_precise_hint_and_the_step_continues);
async fn every_wrong_description_gets_a_precise_hint_and_the_step_continues() {
    let app = bot_app(Backend::Sqlite).await;
    let client = User::ru(7_200_000_001, "Иван");
    choose_type(&app, &client, 0).await;

    let long = "я".repeat(2001);
    let blank_caption = updates::photo(&client, Some("   "));
    let long_caption = updates::photo(&client, Some(&long));
    let cases: Vec<(&str, Value, &str)> = vec![
        ("sticker", updates::sticker(&client), "Нужен текст или фото с подписью. Опишите, что нужно сделать."),
        (
            "photo without caption",
            updates::photo(&client, None),
            "Добавьте к фото подпись с описанием и отправьте снова.",
        ),
        ("blank text", updates::text(&client, " \n\t  "), "Описание не может быть пустым. Опишите, что нужно сделать."),
        ("blank caption", blank_caption, "Описание не может быть пустым. Опишите, что нужно сделать."),
        (
            "2001 characters",
            updates::text(&client, &long),
            "Описание слишком длинное: 2001 символов, а можно не больше 2000. Сократите и отправьте снова.",
        ),
        (
            "2001-character caption",
            long_caption,
            "Описание слишком длинное: 2001 символов, а можно не больше 2000. Сократите и отправьте снова.",
        ),
    ];
    for (what, update, hint) in cases {
        let before = messages_to(&app, client.id).len();
        send(&app, &update).await;
        let sent = messages_to(&app, client.id);
        assert_eq!(sent.len(), before + 1, "{what}: one hint");
        assert_eq!(text(&sent[before]), hint, "{what}");
        assert_eq!(buttons(&sent[before]), [pair("Отменить", "v1:cx")], "{what}: the hint offers Cancel");
        assert_eq!(count_rows(app.db(), "client_requests").await, 0, "{what}: nothing filed");
    }
    assert!(app.tg().sent_texts_to(ADMIN1).is_empty());

    // Still at the description step: exactly 2000 characters (spaces around are trimmed) go through.
    let longest = "я".repeat(2000);
    send(&app, &updates::text(&client, &format!("  {longest}\n"))).await;
    let summary = last_message(&app, client.id);
    assert_eq!(text(&summary), format!("Проверьте заявку:\nТип: Замена ФН\nОписание: {longest}"));
    send(&app, &submit_tap(&client, &summary)).await;
    let r = latest_request_of(&app, &client).await;
    assert_eq!(r.description, longest);
    assert_eq!(count_rows(app.db(), "client_requests").await, 1);
    app.shutdown().await;
}

integration_test!(wrong_input_at_the_type_and_summary_steps);
async fn wrong_input_at_the_type_and_summary_steps() {
    let app = bot_app(Backend::Sqlite).await;
    let client = User::ru(7_200_000_002, "Иван");

    // Choosing a type: text or a sticker shows the types again.
    let keyboard = start_request(&app, &client).await;
    for update in [updates::text(&client, "Замена ФН"), updates::sticker(&client)] {
        send(&app, &update).await;
        let again = last_message(&app, client.id);
        assert_eq!(text(&again), "Выберите тип заявки:");
        assert_eq!(button_rows(&again), button_rows(&keyboard));
    }
    // A type that does not exist: a notice, and the step stays.
    let bogus = updates::callback(&client, "v1:rt:999999", message_id(&keyboard));
    send(&app, &bogus).await;
    assert_eq!(answer_to(&app, &bogus).as_deref(), Some(OUTDATED));
    let data = buttons(&keyboard)[2].1.clone();
    send(&app, &updates::callback(&client, &data, message_id(&keyboard))).await;
    assert!(last_text(&app, client.id).starts_with("Тип: Продление ОФД."));

    // The type keyboard tapped again at the description step changes the type.
    let other = updates::callback(&client, &buttons(&keyboard)[0].1, message_id(&keyboard));
    send(&app, &other).await;
    assert!(last_text(&app, client.id).starts_with("Тип: Замена ФН."));
    send(&app, &updates::callback(&client, &data, message_id(&keyboard))).await;
    assert!(last_text(&app, client.id).starts_with("Тип: Продление ОФД."));
    send(&app, &updates::text(&client, "Продлить ОФД на год")).await;
    let summary = last_message(&app, client.id);
    assert_eq!(text(&summary), "Проверьте заявку:\nТип: Продление ОФД\nОписание: Продлить ОФД на год");

    // At the summary: more text or a sticker asks for a button; the description is not replaced.
    for update in [updates::text(&client, "и ещё кое-что"), updates::sticker(&client), updates::photo(&client, None)]
    {
        send(&app, &update).await;
        assert_eq!(last_text(&app, client.id), "Нажмите «Отправить» или «Отменить» под сводкой заявки.");
    }
    // A Submit with a key that is not this summary's files nothing.
    let forged = updates::callback(&client, "v1:sub:AAAAAAAAAAAAAAAA", message_id(&summary));
    send(&app, &forged).await;
    assert_eq!(answer_to(&app, &forged).as_deref(), Some(DIALOG_EXPIRED));
    assert_eq!(count_rows(app.db(), "client_requests").await, 0);

    send(&app, &submit_tap(&client, &summary)).await;
    let r = latest_request_of(&app, &client).await;
    assert_eq!(r.description, "Продлить ОФД на год");
    assert_eq!(last_text(&app, client.id), "Заявка №1 принята. Мы сообщим о решении.");
    app.shutdown().await;
}

// ================================================================== 3. cancel at every step

backend_test!(cancel_at_every_step);
async fn cancel_at_every_step(backend: Backend) {
    let app = bot_app(backend).await;
    let mut next_user = 7_300_000_000;
    for step in ["type", "description", "summary"] {
        for by_button in [false, true] {
            next_user += 1;
            let client = User::ru(next_user, "Иван");
            let case = format!("{step}, {}", if by_button { "button" } else { "/cancel" });
            let shown = match step {
                "type" => start_request(&app, &client).await,
                "description" => choose_type(&app, &client, 0).await,
                _ => compose(&app, &client, 0, "Замена ФН срочно").await,
            };
            if by_button {
                let cancel = updates::callback(&client, "v1:cx", message_id(&shown));
                send(&app, &cancel).await;
                assert_eq!(answer_to(&app, &cancel), None, "{case}");
                assert_eq!(last_text(&app, client.id), "Заявка не отправлена.", "{case}");
            } else {
                send(&app, &updates::text(&client, "/cancel")).await;
                assert_eq!(last_text(&app, client.id), "Действие отменено.", "{case}");
            }
            // The dialog is gone: text is no description, Submit files nothing, nothing to cancel.
            send(&app, &updates::text(&client, "Замена ФН срочно")).await;
            assert_eq!(last_text(&app, client.id), UNKNOWN_INPUT, "{case}");
            if step == "summary" {
                let late = submit_tap(&client, &shown);
                send(&app, &late).await;
                assert_eq!(answer_to(&app, &late).as_deref(), Some(DIALOG_EXPIRED), "{case}");
            }
            let again = updates::callback(&client, "v1:cx", message_id(&shown));
            send(&app, &again).await;
            assert_eq!(
                answer_to(&app, &again).as_deref(),
                Some("Сейчас нечего отменять. /help — список команд."),
                "{case}"
            );
            send(&app, &updates::text(&client, "/cancel")).await;
            assert_eq!(last_text(&app, client.id), "Сейчас нечего отменять. /help — список команд.", "{case}");
            if let Some(redis) = &app.redis {
                let key = format!("dialog:{}", client.id);
                assert!(redis.keys().iter().all(|k| !k.ends_with(&key)), "{case}: {:?}", redis.keys());
            }
        }
    }
    assert_eq!(count_rows(app.db(), "client_requests").await, 0);
    assert_eq!(count_rows(app.db(), "request_messages").await, 0);
    assert!(app.tg().sent_texts_to(ADMIN1).is_empty() && app.tg().sent_texts_to(ADMIN2).is_empty());
    app.shutdown().await;
}
