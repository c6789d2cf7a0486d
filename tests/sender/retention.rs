//! The outbox's retention: delivered rows past it pruned, failed, pending and open requests' copies
//! kept.

use super::*;

backend_test!(delivered_rows_past_their_retention_are_pruned, threads: 4);
async fn delivered_rows_past_their_retention_are_pruned(backend: Backend) {
    use chrono::{TimeDelta, Utc};
    use kktbot::entities::{client_request, request_message};
    use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, QueryFilter};

    let (_database, db) = TestDatabase::migrated(backend).await;
    let old = Utc::now() - TimeDelta::days(40);
    let mark = async |id: i64, status: Status, sent: bool| {
        outgoing_message::Entity::update_many()
            .col_expr(outgoing_message::Column::Status, sea_orm::sea_query::Expr::value(status))
            .col_expr(outgoing_message::Column::CreatedAt, sea_orm::sea_query::Expr::value(old))
            .col_expr(outgoing_message::Column::SentAt, sea_orm::sea_query::Expr::value(sent.then_some(old)))
            .filter(outgoing_message::Column::Id.eq(id))
            .exec(&db)
            .await
            .unwrap();
    };
    let old_sent = enqueue(&db, Outgoing::text(USER, "давно доставлено")).await;
    mark(old_sent, Status::Sent, true).await;
    let old_failed = enqueue(&db, Outgoing::text(USER, "давно не дошло")).await;
    mark(old_failed, Status::Failed, false).await;
    let old_pending = enqueue(&db, Outgoing::text(USER, "давно ждёт")).await;
    mark(old_pending, Status::Pending, false).await;
    let recent = enqueue(&db, Outgoing::text(USER, "вчера")).await;
    outgoing_message::Entity::update_many()
        .col_expr(outgoing_message::Column::Status, sea_orm::sea_query::Expr::value(Status::Sent))
        .col_expr(
            outgoing_message::Column::SentAt,
            sea_orm::sea_query::Expr::value(Some(Utc::now() - TimeDelta::days(1))),
        )
        .filter(outgoing_message::Column::Id.eq(recent))
        .exec(&db)
        .await
        .unwrap();
    // Administrators' copies of open requests (their edits need them), and of a closed one.
    let mut copies = Vec::new();
    for (number, status) in [
        (1, client_request::Status::Pending),
        (2, client_request::Status::InProgress),
        (3, client_request::Status::Done),
    ] {
        let request = client_request::ActiveModel {
            number: Set(number),
            kind: Set(client_request::Kind::Service),
            description: Set("Касса не печатает".into()),
            requester_telegram_id: Set(OTHER_USER),
            status: Set(status),
            created_at: Set(old),
            updated_at: Set(old),
            ..Default::default()
        }
        .insert(&db)
        .await
        .unwrap();
        let copy = enqueue(&db, Outgoing::with_keyboard(USER, format!("Заявка №{number}"), keyboard("v1:ap:1"))).await;
        mark(copy, Status::Sent, true).await;
        request_message::ActiveModel {
            request_id: Set(request.id),
            chat_id: Set(USER),
            outgoing_message_id: Set(copy),
            created_at: Set(old),
            ..Default::default()
        }
        .insert(&db)
        .await
        .unwrap();
        copies.push(copy);
    }

    let cutoff = Utc::now() - TimeDelta::days(30);
    assert_eq!(outbox::retention::prune_sent(&db, cutoff).await.unwrap(), 2);
    let left: Vec<i64> = outgoing_message::Entity::find().all(&db).await.unwrap().into_iter().map(|r| r.id).collect();
    assert_eq!(
        left,
        [old_failed, old_pending, recent, copies[0], copies[1]],
        "delivered rows past the retention are gone"
    );
    assert_eq!(outbox::retention::prune_sent(&db, cutoff).await.unwrap(), 0);
}
