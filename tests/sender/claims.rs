//! Claims and restarts: rows left from before a restart delivered once, claims owned by the
//! sender's term (fenced, and taken over at once after a crash), rows released on shutdown.

use super::*;

backend_test!(delivers_rows_left_from_before_a_restart_once, threads: 4);
async fn delivers_rows_left_from_before_a_restart_once(backend: Backend) {
    let (_database, db) = TestDatabase::migrated(backend).await;
    let tg = FakeTelegram::start().await;
    // Committed while no sender ran (the process died before delivering them).
    let ids = [
        enqueue(&db, Outgoing::text(USER, "до перезапуска 1")).await,
        enqueue(&db, Outgoing::text(OTHER_USER, "до перезапуска 2")).await,
        enqueue(&db, Outgoing::text(USER, "до перезапуска 3")).await,
    ];
    let first = Running::start(sender(&db, &tg, config()));
    tg.wait_for("sendMessage", 3, Duration::from_secs(10)).await;
    first.stop().await;
    for id in ids {
        assert_eq!(row(&db, id).await.status, Status::Sent);
    }

    let second = Running::start(sender(&db, &tg, config()));
    second.settled().await;
    assert_eq!(tg.calls().len(), 3, "nothing is sent again after a restart");
    assert_eq!(tg.sent_texts_to(USER), ["до перезапуска 1", "до перезапуска 3"]);
    second.stop().await;
}

backend_test!(only_the_latest_senders_term_claims_rows, threads: 4);
async fn only_the_latest_senders_term_claims_rows(backend: Backend) {
    let (_database, db) = TestDatabase::migrated(backend).await;
    let tg = FakeTelegram::start().await;
    // Three senders, each begun its term before any row is queued: the last one's is current.
    let mut senders = Vec::new();
    for _ in 0..3 {
        let sender = Running::start(sender(&db, &tg, config()));
        sender.settled().await;
        senders.push(sender);
    }
    let txn = db.begin().await.unwrap();
    let mut ids = Vec::new();
    for i in 0..40 {
        ids.push(outbox::enqueue(&txn, Outgoing::text(7_000_000_000 + i, format!("гонка {i}"))).await.unwrap());
    }
    txn.commit().await.unwrap();
    for sender in &senders {
        sender.handle.wake();
    }

    tg.wait_for("sendMessage", ids.len(), Duration::from_secs(15)).await;
    for sender in &senders {
        sender.settled().await;
    }
    assert_eq!(tg.calls_to("sendMessage").len(), ids.len(), "no row is sent twice");
    let mut owners = Vec::new();
    for id in ids {
        let row = row(&db, id).await;
        assert_eq!((row.status, row.attempts), (Status::Sent, 1), "{row:?}");
        owners.push(row.claimed_by.expect("the term that sent it"));
    }
    owners.dedup();
    assert_eq!(owners.len(), 1, "senders of earlier terms claimed rows: {owners:?}");
    for sender in senders {
        sender.stop().await;
    }
}

backend_test!(a_claim_belongs_to_its_term, threads: 4);
async fn a_claim_belongs_to_its_term(backend: Backend) {
    let (_database, db) = TestDatabase::migrated(backend).await;
    let writes = WriteGate::for_database(&db);
    let (ended, _) = Store::begin_term(db.clone(), writes.clone()).await.unwrap();
    let id = enqueue(&db, Outgoing::text(USER, "чья заявка")).await;
    let (current, taken) = Store::begin_term(db.clone(), writes.clone()).await.unwrap();
    assert!(current.term() > ended.term());
    assert_eq!(taken, 0, "nothing was claimed");

    let claim = async |store: &Store| store.claim_due(10, 10, LEASE).await.unwrap().chat_heads;
    assert!(claim(&ended).await.is_empty(), "a term that has ended claims nothing");
    let due = claim(&current).await.pop().expect("claimed by the current term");
    assert_eq!((due.id, due.claimed_by, due.attempts), (id, Some(current.term()), 1));
    assert!(due.next_attempt_at > chrono::Utc::now() + chrono::TimeDelta::seconds(60), "{due:?}");
    assert!(claim(&current).await.is_empty(), "a claimed row is not claimed again");

    // The next term takes the claim over: due at once, the attempt still counted.
    let (next, taken) = Store::begin_term(db.clone(), writes).await.unwrap();
    assert_eq!(taken, 1);
    let taken_over = row(&db, id).await;
    assert_eq!((taken_over.status, taken_over.claimed_by, taken_over.attempts), (Status::Pending, None, 1));
    assert!(taken_over.next_attempt_at <= chrono::Utc::now(), "{taken_over:?}");
    // The outcome of the claim taken over is not written.
    let sent =
        |attempts| Record { id, chat_id: USER, attempts, outcome: Outcome::Sent { message_id: Some(1), note: None } };
    assert_eq!(current.record(&[sent(1)]).await.unwrap(), [false]);
    assert_eq!(claim(&next).await.len(), 1);
    assert_eq!(next.record(&[sent(2)]).await.unwrap(), [true]);
    assert_eq!(row(&db, id).await.status, Status::Sent);
}

backend_test!(a_restarted_sender_takes_over_the_claims_of_a_killed_one_at_once, threads: 4);
async fn a_restarted_sender_takes_over_the_claims_of_a_killed_one_at_once(backend: Backend) {
    let (_database, db) = TestDatabase::migrated(backend).await;
    let tg = FakeTelegram::start().await;
    tg.fail_next("sendMessage", Fault::RetryAfter(30), 1);
    let killed = Running::start(sender(&db, &tg, config()));
    let flooded = enqueue(&db, Outgoing::text(USER, "первое")).await;
    killed.handle.wake();
    row_when(&db, flooded, |row| row.last_error.is_some()).await;
    // All sending is paused for 30 s: this one is claimed and waits when the process dies.
    let claimed = enqueue(&db, Outgoing::text(OTHER_USER, "второе")).await;
    killed.handle.wake();
    row_when(&db, claimed, |row| row.attempts == 1).await;
    killed.kill().await;
    let left = row(&db, claimed).await;
    assert!(left.claimed_by.is_some(), "{left:?}");
    assert!(left.next_attempt_at > chrono::Utc::now() + chrono::TimeDelta::seconds(60), "leased: {left:?}");

    let restarted = std::time::Instant::now();
    let restart = Running::start(sender(&db, &tg, config()));
    let sent = tg.wait_for("sendMessage", 1, Duration::from_secs(3)).await;
    assert!(restarted.elapsed() < Duration::from_secs(3), "{:?}", restarted.elapsed());
    assert_eq!(sent[0].params["chat_id"], json!(OTHER_USER));
    restart.settled().await;
    let delivered = row(&db, claimed).await;
    assert_eq!((delivered.status, delivered.attempts), (Status::Sent, 2), "{delivered:?}");
    // A row waiting for its retry has no owner: it keeps its time.
    let flooded = row(&db, flooded).await;
    assert_eq!((flooded.status, flooded.claimed_by), (Status::Pending, None));
    assert!(flooded.next_attempt_at > chrono::Utc::now() + chrono::TimeDelta::seconds(20), "{flooded:?}");
    assert_eq!(tg.calls_to("sendMessage").len(), 2, "the 429, then the row taken over");
    restart.stop().await;
}

backend_test!(shutdown_releases_rows_waiting_to_be_sent, threads: 4);
async fn shutdown_releases_rows_waiting_to_be_sent(backend: Backend) {
    let (_database, db) = TestDatabase::migrated(backend).await;
    let tg = FakeTelegram::start().await;
    tg.fail_next("sendMessage", Fault::RetryAfter(30), 1);
    let sender = Running::start(sender(&db, &tg, config()));
    let flooded = enqueue(&db, Outgoing::text(USER, "первое")).await;
    sender.handle.wake();
    row_when(&db, flooded, |row| row.last_error.is_some()).await;
    // All sending is paused for 30 s: this one is claimed and waits.
    let waiting = enqueue(&db, Outgoing::text(OTHER_USER, "второе")).await;
    sender.handle.wake();
    row_when(&db, waiting, |row| row.attempts == 1).await;

    let stopping = std::time::Instant::now();
    sender.stop().await;
    assert!(stopping.elapsed() < Duration::from_secs(5), "the stop did not wait out the pause");
    let released = row(&db, waiting).await;
    assert_eq!(
        (released.status, released.attempts, released.claimed_by),
        (Status::Pending, 0, None),
        "released, the attempt not counted"
    );
    assert!(released.next_attempt_at <= chrono::Utc::now(), "due again at once: {released:?}");
    let flooded = row(&db, flooded).await;
    assert_eq!((flooded.status, flooded.attempts), (Status::Pending, 0));
    assert!(flooded.next_attempt_at > chrono::Utc::now() + chrono::TimeDelta::seconds(20), "{flooded:?}");
    assert_eq!(tg.calls().len(), 1);
}
