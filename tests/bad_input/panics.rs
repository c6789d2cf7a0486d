//! Input that used to panic a request handler (the connection dropped with no answer, and the
//! webhook's update would have come back forever).

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::{app, invalid_fields, lists};
use crate::staff::{admin_token, call};
use crate::support::updates::{self, User};
use crate::support::{Backend, backend_test, count_rows};

backend_test!(updates_no_handler_takes_are_acknowledged);
async fn updates_no_handler_takes_are_acknowledged(backend: Backend) {
    let app = app(backend).await;
    let user = User::ru(5_200_000_001, "Иван");
    // A message of the user, sent under each kind no handler of kktbot takes; and the recorded
    // channel and business updates as Telegram sends them.
    let message = updates::text(&user, "Не печатает чек")["message"].clone();
    let mut sent = 0;
    for kind in ["edited_message", "channel_post", "edited_channel_post", "business_message"] {
        let update = json!({"update_id": updates::next_id(), kind: message});
        let res = app.post_update(&update).await;
        assert_eq!(res.status(), 200, "{kind}: {}", res.text().await.unwrap_or_default());
        sent += 1;
    }
    for sample in ["edited_message", "channel_post", "edited_channel_post", "business_message"] {
        let mut update = updates::sample(sample);
        update["update_id"] = json!(updates::next_id());
        app.send_update(&update).await;
        sent += 1;
    }
    assert_eq!(count_rows(app.db(), "processed_updates").await, sent, "each one recorded once");
    assert_eq!(count_rows(app.db(), "outgoing_messages").await, 0, "no answer to any of them");
    // The user's dialog still goes on.
    app.send_update(&updates::text(&user, "/start")).await;
    app.settle().await;
    let texts = app.tg().sent_texts_to(user.id);
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert!(texts[0].starts_with("Здравствуйте, Иван!"), "{texts:?}");
    app.shutdown().await;
}

backend_test!(huge_page_numbers_are_refused_on_every_list);
async fn huge_page_numbers_are_refused_on_every_list(backend: Backend) {
    let app = app(backend).await;
    let token = admin_token(&app).await;
    for list in lists() {
        for query in ["page=18446744073709551615", "page=9223372036854775807&per_page=100", "page=1000001"] {
            let path = format!("{list}?{query}");
            let (status, body) = call(&app, &token, Method::GET, &path, None).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {body}");
            assert_eq!(invalid_fields(&body), ["page"], "{path}");
        }
        // The last page there may be is answered, empty.
        let path = format!("{list}?page=1000000&per_page=100");
        let (status, body) = call(&app, &token, Method::GET, &path, None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert_eq!(body["items"], json!([]), "{path}");
    }
    app.shutdown().await;
}

backend_test!(huge_day_counts_are_refused);
async fn huge_day_counts_are_refused(backend: Backend) {
    let app = app(backend).await;
    let token = admin_token(&app).await;
    for days in ["299860626", "4294967295", "3661"] {
        let path = format!("/api/deadlines?expiring_within={days}");
        let (status, body) = call(&app, &token, Method::GET, &path, None).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {body}");
        assert_eq!(invalid_fields(&body), ["expiring_within"], "{path}");
    }
    let (status, body) = call(&app, &token, Method::GET, "/api/deadlines?expiring_within=3660", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.shutdown().await;
}
