//! The outbox as the sender's term claims and records it, on every backend: one claim takes the
//! due answers and chat heads up to its limits (each chat's FIFO head only, a claimed row not
//! again), and one batch writes each outcome to its own row (its own Telegram id), skipping a
//! row that is no longer this claim's.

use kktbot::db::WriteGate;
use kktbot::entities::outgoing_message::{self, Status};
use kktbot::outbox::{self, Outcome, Outgoing, Record, Store};
use kktbot::telegram::sender::LEASE;
use sea_orm::{DatabaseConnection, EntityTrait};

use crate::support::{Backend, TestDatabase, backend_test};

const ALICE: i64 = 5_400_000_001;
const BOB: i64 = 5_400_000_002;

async fn enqueue(db: &DatabaseConnection, message: Outgoing) -> i64 {
    outbox::enqueue(db, message).await.expect("enqueue")
}

fn answer(chat_id: i64, query: &str) -> Outgoing {
    Outgoing::AnswerCallbackQuery { chat_id, callback_query_id: query.into(), text: None, show_alert: false }
}

fn ids(rows: &[outgoing_message::Model]) -> Vec<i64> {
    rows.iter().map(|row| row.id).collect()
}

fn sent(row: &outgoing_message::Model, message_id: i64) -> Record {
    Record {
        id: row.id,
        chat_id: row.chat_id,
        attempts: row.attempts,
        outcome: Outcome::Sent { message_id: Some(message_id), note: None },
    }
}

backend_test!(one_claim_takes_the_chat_heads_and_answers_due_up_to_its_limits);
async fn one_claim_takes_the_chat_heads_and_answers_due_up_to_its_limits(backend: Backend) {
    let (_database, db) = TestDatabase::migrated(backend).await;
    let (store, _) = Store::begin_term(db.clone(), WriteGate::for_database(&db)).await.unwrap();
    let alice_1 = enqueue(&db, Outgoing::text(ALICE, "первое")).await;
    let alice_2 = enqueue(&db, Outgoing::text(ALICE, "второе")).await;
    let bob_1 = enqueue(&db, Outgoing::text(BOB, "Бобу")).await;
    let answers = [enqueue(&db, answer(ALICE, "q1")).await, enqueue(&db, answer(BOB, "q2")).await];

    let first = store.claim_due(1, 10, LEASE).await.unwrap();
    assert_eq!(ids(&first.answers), [answers[0]], "answers up to their limit, oldest first");
    assert_eq!(ids(&first.chat_heads), [alice_1, bob_1], "each chat's head, oldest first");
    for row in first.answers.iter().chain(&first.chat_heads) {
        assert_eq!((row.attempts, row.claimed_by), (1, Some(store.term())), "{row:?}");
    }
    let second = store.claim_due(10, 10, LEASE).await.unwrap();
    assert_eq!(ids(&second.answers), [answers[1]]);
    assert!(second.chat_heads.is_empty(), "Alice's second waits for her first: {:?}", second.chat_heads);

    let written = store.record(&[sent(&first.chat_heads[0], 101)]).await.unwrap();
    assert_eq!(written, [true]);
    let third = store.claim_due(10, 10, LEASE).await.unwrap();
    assert_eq!(ids(&third.chat_heads), [alice_2], "her next message once the first is sent");
}

backend_test!(a_batch_writes_each_outcome_to_its_own_row);
async fn a_batch_writes_each_outcome_to_its_own_row(backend: Backend) {
    let (_database, db) = TestDatabase::migrated(backend).await;
    let writes = WriteGate::for_database(&db);
    let (old, _) = Store::begin_term(db.clone(), writes.clone()).await.unwrap();
    let (store, _) = Store::begin_term(db.clone(), writes).await.unwrap();
    for (i, text) in ["раз", "два", "три", "четыре"].iter().enumerate() {
        enqueue(&db, Outgoing::text(ALICE + i as i64 * 10, *text)).await;
    }
    let rows = store.claim_due(0, 10, LEASE).await.unwrap().chat_heads;
    let [one, two, three, four] = rows.as_slice() else { panic!("four claimed: {rows:?}") };

    // An ended term's outcomes are not written.
    assert_eq!(old.record(&[sent(one, 1), sent(two, 2)]).await.unwrap(), [false, false]);
    let mut stale = sent(two, 202);
    stale.attempts += 1;
    let retry = Outcome::Retry { at: chrono::Utc::now(), attempts: 0, error: "502".into() };
    let batch = [
        sent(one, 201),
        stale,
        sent(three, 203),
        Record { id: four.id, chat_id: four.chat_id, attempts: four.attempts, outcome: retry },
    ];
    assert_eq!(store.record(&batch).await.unwrap(), [true, false, true, true]);

    let now = outgoing_message::Entity::find().all(&db).await.unwrap();
    let by_id = |id: i64| now.iter().find(|row| row.id == id).expect("the row").clone();
    for (row, message_id) in [(one, 201), (three, 203)] {
        let row = by_id(row.id);
        assert_eq!((row.status, row.telegram_message_id), (Status::Sent, Some(message_id)), "{row:?}");
    }
    let two = by_id(two.id);
    assert_eq!((two.status, two.claimed_by, two.telegram_message_id), (Status::Pending, Some(store.term()), None));
    let four = by_id(four.id);
    assert_eq!((four.status, four.attempts, four.claimed_by), (Status::Pending, 0, None));
    assert_eq!(four.last_error.as_deref(), Some("502"));
}
