//! Redelivered updates and double taps, and two administrators racing on fifty requests.

use super::*;

// ================================================================== 6. redelivered and double-tapped

backend_test!(redelivered_and_double_tapped_callbacks);
async fn redelivered_and_double_tapped_callbacks(backend: Backend) {
    let app = bot_app(backend).await;
    let client = User::ru(7_600_000_001, "Иван");

    // Submit tapped twice, one after the other: one request; the second tap is told its number.
    let summary = compose(&app, &client, 0, "Замена ФН").await;
    let (first, second) = (submit_tap(&client, &summary), submit_tap(&client, &summary));
    send(&app, &first).await;
    send(&app, &second).await;
    assert_eq!(count_rows(app.db(), "client_requests").await, 1);
    assert_eq!(answer_to(&app, &second).as_deref(), Some("Заявка №1 принята. Мы сообщим о решении."));
    let received = |app: &TestApp| {
        app.tg().sent_texts_to(client.id).into_iter().filter(|t| t.contains("принята")).collect::<Vec<_>>()
    };
    assert_eq!(received(&app), ["Заявка №1 принята. Мы сообщим о решении."]);
    // Telegram redelivering the first tap: nothing at all happens.
    let calls = app.tg().calls().len();
    send(&app, &first).await;
    assert_eq!(app.tg().calls().len(), calls);
    assert_eq!(count_rows(app.db(), "request_messages").await, 2);

    // Submit tapped twice at the same moment: still one request.
    let summary = compose(&app, &client, 1, "Регистрация").await;
    let taps: Vec<Value> = (0..4).map(|_| submit_tap(&client, &summary)).collect();
    post_all(&app, &taps).await;
    let requests = all_requests(&app).await;
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert_eq!(requests[1].number, 2);
    assert_eq!(count_rows(app.db(), "request_messages").await, 4, "two copies per request");
    let told: Vec<String> = received(&app).into_iter().filter(|t| t.contains("№2")).collect();
    assert_eq!(told, ["Заявка №2 принята. Мы сообщим о решении."], "told once, the other taps get a notice");
    for update in &taps {
        let answers = answers_to(&app, update);
        assert_eq!(answers.len(), 1, "every tap is answered once");
        if let Some(notice) = &answers[0] {
            assert_eq!(notice, "Заявка №2 принята. Мы сообщим о решении.");
        }
    }

    // The same Approve delivered again, also several times at once: one decision.
    let r = &requests[0];
    let approve = tap_copy(&app, &olga(), "ap", r.id).await;
    send(&app, &approve).await;
    post_all(&app, &[approve.clone(), approve.clone(), approve.clone()]).await;
    assert_eq!(answers_to(&app, &approve), [Some("Готово: заявка №1 — одобрена.".to_owned())]);
    assert_eq!(decision_messages(&app, &client), ["Заявка №1 одобрена."]);
    assert_eq!(event_names(&events(&app, r.id).await), ["filed", "approved"]);
    assert_copies_edited(&app, r.id, &["✅ Одобрена: Ольга, "]).await;
    assert_all_through_outbox(&app).await;
    app.shutdown().await;
}

// ================================================================== 7. the race

const RACE: usize = 50;

backend_test!(two_administrators_race_on_fifty_requests);
async fn two_administrators_race_on_fifty_requests(backend: Backend) {
    let app = bot_app(backend).await;
    let mut refused = 0;
    let clients: Vec<User> = (0..RACE as i64).map(|i| User::ru(7_700_000_000 + i, "Клиент")).collect();

    // Fifty clients file at once.
    refused += deliver_all(&app, &clients.iter().map(|u| updates::text(u, "/request")).collect::<Vec<_>>()).await;
    let taps: Vec<Value> = clients
        .iter()
        .map(|u| {
            let keyboard = last_message(&app, u.id);
            updates::callback(u, &buttons(&keyboard)[0].1, message_id(&keyboard))
        })
        .collect();
    refused += deliver_all(&app, &taps).await;
    refused +=
        deliver_all(&app, &clients.iter().map(|u| updates::text(u, &format!("Заявка {}", u.id))).collect::<Vec<_>>())
            .await;
    refused +=
        deliver_all(&app, &clients.iter().map(|u| submit_tap(u, &last_message(&app, u.id))).collect::<Vec<_>>()).await;
    let requests = all_requests(&app).await;
    assert_eq!(requests.len(), RACE);
    let mut numbers: Vec<i32> = requests.iter().map(|r| r.number).collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=RACE as i32).collect::<Vec<_>>(), "numbers are unique and dense");

    // For every request, Ольга approves and Пётр rejects (Skip: no reason) at the same moment.
    let mut decisions = Vec::new();
    for r in &requests {
        decisions.push(updates::callback(&olga(), &format!("v1:ap:{}", r.id), copy_in(&app, r.id, ADMIN1).await));
        decisions.push(updates::callback(&petr(), &format!("v1:sk:{}", r.id), copy_in(&app, r.id, ADMIN2).await));
    }
    refused += deliver_all(&app, &decisions).await;

    let (olga_id, petr_id) = (administrator_id(&app, ADMIN1).await, administrator_id(&app, ADMIN2).await);
    let mut done = 0;
    for (r, taps) in requests.iter().zip(decisions.chunks(2)) {
        let r = request(&app, r.id).await;
        let client = clients.iter().find(|c| c.id == r.requester_telegram_id).unwrap();
        let n = r.number;
        let (winner, winner_id, outcome, line) = match r.status {
            client_request::Status::Approved => ("Ольга", olga_id, "одобрена", "✅ Одобрена: Ольга, "),
            client_request::Status::Rejected => ("Пётр", petr_id, "отклонена", "❌ Отклонена: Пётр, "),
            other => panic!("request №{n} is {other:?}"),
        };
        assert_eq!(r.decided_by.as_deref(), Some(winner), "№{n}");
        assert_eq!(r.decided_by_administrator_id, Some(winner_id), "№{n}");
        assert_eq!(r.reason, None, "№{n}");
        // Exactly one decision in the trail, one message to the client, one edit per copy.
        let trail = events(&app, r.id).await;
        let decided: Vec<_> = trail.iter().filter(|e| e.event == "approved" || e.event == "rejected").collect();
        assert_eq!(decided.len(), 1, "№{n}: {trail:?}");
        assert_eq!(decided[0].actor_name.as_deref(), Some(winner), "№{n}");
        assert_eq!(decision_messages(&app, client), [format!("Заявка №{n} {outcome}.")], "№{n}");
        assert_eq!(app.tg().sent_texts_to(client.id).len(), 5, "№{n}");
        assert_copies_edited(&app, r.id, &[line]).await;
        // One administrator is told it is done, the other who was first.
        let notices: Vec<String> = taps.iter().map(|u| answer_to(&app, u).unwrap_or_default()).collect();
        let done_notice = format!("Готово: заявка №{n} — {outcome}.");
        let late_notice = format!("Заявка №{n} уже {outcome}: {winner}.");
        let (olga_notice, petr_notice) =
            if winner == "Ольга" { (done_notice, late_notice) } else { (late_notice, done_notice) };
        assert_eq!(notices, [olga_notice, petr_notice], "№{n}");
        done += 1;
    }
    assert_eq!(done, RACE);
    if refused > 0 {
        eprintln!("{backend:?}: {refused} update(s) answered 503 under load and were delivered again");
    }
    assert_eq!(app.tg().calls_to("editMessageText").iter().filter(|c| c.ok).count(), 2 * RACE);
    assert_all_through_outbox(&app).await;
    app.shutdown().await;
}
