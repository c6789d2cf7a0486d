//! Self-test of the fake Telegram Bot API in `support::telegram`: it must answer like Telegram does, for plain
//! HTTP clients and for teloxide alike.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Message, MessageId, UpdateKind};
use teloxide::{ApiError, RequestError};

use crate::support::integration_test;
use crate::support::telegram::{ANY_METHOD, FakeTelegram, Fault, load_response};

const USER: i64 = 5_123_456_789;
const SUPERGROUP: i64 = -1_001_234_567_890;

/// Posts `body` as JSON to `method` with the fake's token; returns the HTTP status and the body.
async fn call(tg: &FakeTelegram, method: &str, body: Value) -> (u16, Value) {
    call_as(tg, tg.token(), method, body).await
}

async fn call_as(tg: &FakeTelegram, token: &str, method: &str, body: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/bot{token}/{method}", tg.api_url()))
        .json(&body)
        .send()
        .await
        .expect("the fake answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

fn keyboard(data: &str) -> Value {
    json!({ "inline_keyboard": [[{ "text": "Принять", "callback_data": data }]] })
}

/// An update from `tests/fixtures/telegram/updates/`.
fn load_update(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/telegram/updates/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("the update file")).expect("JSON")
}

fn bot(tg: &FakeTelegram) -> Bot {
    Bot::new(tg.token()).set_api_url(tg.api_url().parse().expect("a valid URL"))
}

integration_test!(send_message_answers_a_message_teloxide_parses);
async fn send_message_answers_a_message_teloxide_parses() {
    let tg = FakeTelegram::start().await;
    let (status, body) = call(
        &tg,
        "sendMessage",
        json!({ "chat_id": USER, "text": "Заявка №42 принята", "reply_markup": keyboard("a:42") }),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["ok"], json!(true));
    let message: Message = serde_json::from_value(body["result"].clone()).expect("a teloxide Message");
    assert_eq!(message.text(), Some("Заявка №42 принята"));
    assert!(message.chat.is_private());
    assert_eq!(message.from.as_ref().map(|user| user.username.as_deref()), Some(Some("kkt_service_bot")));
    assert_eq!(body["result"]["reply_markup"], keyboard("a:42"));

    let (_, second) = call(&tg, "SendMessage", json!({ "chat_id": USER.to_string(), "text": "Ещё" })).await;
    assert_eq!(second["result"]["message_id"], json!(message.id.0 + 1));
    assert!(second["result"].get("reply_markup").is_none());
    let (_, group) = call(&tg, "sendMessage", json!({ "chat_id": SUPERGROUP, "text": "Всем" })).await;
    let group: Message = serde_json::from_value(group["result"].clone()).expect("a teloxide Message");
    assert!(group.chat.is_supergroup());
    assert_eq!(group.id, MessageId(1));

    let calls = tg.wait_for("sendMessage", 3, Duration::from_secs(1)).await;
    assert_eq!(calls[0].response, body);
    assert_eq!(calls[1].method, "sendMessage", "the canonical spelling is recorded");
    assert_eq!(tg.sent_texts_to(USER), ["Заявка №42 принята", "Ещё"]);
    tg.clear();
    assert!(tg.calls().is_empty());
}

integration_test!(send_photo_answers_a_photo_message);
async fn send_photo_answers_a_photo_message() {
    let tg = FakeTelegram::start().await;
    let photo =
        json!({ "chat_id": USER, "photo": "AgACAgIAAxkBAAIBQ2", "caption": "<i>Чек</i>", "parse_mode": "HTML" });
    let (status, body) = call(&tg, "sendPhoto", photo).await;
    assert_eq!(status, 200);
    let message: Message = serde_json::from_value(body["result"].clone()).expect("a teloxide Message");
    assert_eq!(message.caption(), Some("Чек"));
    assert!(
        message.photo().is_some_and(|sizes| sizes.last().is_some_and(|size| size.file.id.0 == "AgACAgIAAxkBAAIBQ2"))
    );
    assert_eq!(tg.sent_texts_to(USER), ["Чек"]);
    let (_, body) = call(&tg, "sendPhoto", json!({ "chat_id": USER, "caption": "Без фото" })).await;
    assert_eq!(body["description"], json!("Bad Request: there is no photo in the request"));
}

integration_test!(get_me_answers_the_bot);
async fn get_me_answers_the_bot() {
    let tg = FakeTelegram::start().await;
    let (status, body) = call(&tg, "getMe", json!({})).await;
    assert_eq!(status, 200);
    // The fake also has the fields newer Bot API versions add (teloxide needs `has_main_web_app`).
    let reference = load_response("getMe");
    for (field, value) in reference["result"].as_object().expect("a user object") {
        assert_eq!(&body["result"][field], value, "{field}");
    }
}

integration_test!(identical_edit_is_not_modified);
async fn identical_edit_is_not_modified() {
    let tg = FakeTelegram::start().await;
    let (_, sent) =
        call(&tg, "sendMessage", json!({ "chat_id": USER, "text": "Статус: новая", "reply_markup": keyboard("s:1") }))
            .await;
    let id = sent["result"]["message_id"].clone();

    let same = json!({ "chat_id": USER, "message_id": id, "text": "Статус: новая", "reply_markup": keyboard("s:1") });
    assert_eq!(call(&tg, "editMessageText", same).await, (400, load_response("error_400_not_modified")));
    let same_markup = json!({ "chat_id": USER, "message_id": id, "reply_markup": keyboard("s:1") });
    assert_eq!(call(&tg, "editMessageReplyMarkup", same_markup).await.0, 400);

    let (status, edited) =
        call(&tg, "editMessageText", json!({ "chat_id": USER, "message_id": id, "text": "Статус: в работе" })).await;
    assert_eq!(status, 200);
    assert_eq!(edited["result"]["text"], json!("Статус: в работе"));
    assert!(edited["result"].get("reply_markup").is_none(), "an edit without a keyboard removes it");
    assert!(edited["result"]["edit_date"].is_i64());
    let (status, edited) = call(
        &tg,
        "editMessageReplyMarkup",
        json!({ "chat_id": USER, "message_id": id, "reply_markup": keyboard("s:2") }),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(edited["result"]["reply_markup"], keyboard("s:2"));

    let (status, missing) =
        call(&tg, "editMessageText", json!({ "chat_id": USER, "message_id": 999, "text": "x" })).await;
    assert_eq!(status, 400);
    assert_eq!(missing["description"], json!("Bad Request: message to edit not found"));
    assert_eq!(tg.calls_to("editMessageText").iter().filter(|call| !call.ok).count(), 2);
}

integration_test!(retry_after_fault_answers_429_once);
async fn retry_after_fault_answers_429_once() {
    let tg = FakeTelegram::start().await;
    tg.fail_next("sendMessage", Fault::RetryAfter(7), 1);
    let send = json!({ "chat_id": USER, "text": "Привет" });
    assert_eq!(call(&tg, "sendMessage", send.clone()).await, (429, load_response("error_429_flood")));
    assert_eq!(call(&tg, "sendMessage", send).await.0, 200);
    let calls = tg.calls_to("sendMessage");
    assert!(!calls[0].ok && calls[1].ok);
}

integration_test!(other_faults_apply_in_order_and_persistently);
async fn other_faults_apply_in_order_and_persistently() {
    let tg = FakeTelegram::start().await;
    tg.fail_next(ANY_METHOD, Fault::ServerError, 1);
    tg.fail_next("getMe", Fault::Unauthorized, 1);
    tg.fail_next("getme", Fault::Slow(Duration::from_millis(300)), 1);
    let server_error = json!({ "ok": false, "error_code": 500, "description": "Internal Server Error" });
    assert_eq!(call(&tg, "getWebhookInfo", json!({})).await, (500, server_error.clone()));
    assert_eq!(call(&tg, "getMe", json!({})).await, (401, load_response("error_401_unauthorized")));
    let started = Instant::now();
    assert_eq!(call(&tg, "getMe", json!({})).await.0, 200);
    assert!(started.elapsed() >= Duration::from_millis(300), "a slow answer is delayed");
    assert_eq!(call(&tg, "getMe", json!({})).await.0, 200, "faults are used up");

    tg.set_all_fail(Some(Fault::ServerError));
    for _ in 0..2 {
        assert_eq!(call(&tg, "getMe", json!({})).await, (500, server_error.clone()));
    }
    tg.set_all_fail(None);
    assert_eq!(call(&tg, "getMe", json!({})).await.0, 200);
}

integration_test!(blocked_chat_answers_403);
async fn blocked_chat_answers_403() {
    let tg = FakeTelegram::start().await;
    tg.block_chat(USER);
    let send = json!({ "chat_id": USER, "text": "Напоминание" });
    assert_eq!(call(&tg, "sendMessage", send.clone()).await, (403, load_response("error_403_blocked")));
    assert_eq!(call(&tg, "sendMessage", json!({ "chat_id": USER + 1, "text": "Другому" })).await.0, 200);
    tg.unblock_chat(USER);
    assert_eq!(call(&tg, "sendMessage", send).await.0, 200);
    assert_eq!(tg.sent_texts_to(USER), ["Напоминание"], "the blocked send does not count");
}

integration_test!(wrong_token_answers_401_and_unknown_method_404);
async fn wrong_token_answers_401_and_unknown_method_404() {
    let tg = FakeTelegram::start().await;
    let wrong = "7000000001:AAWrongToken";
    assert_eq!(call_as(&tg, wrong, "getMe", json!({})).await, (401, load_response("error_401_unauthorized")));
    let not_found = json!({ "ok": false, "error_code": 404, "description": "Not Found" });
    assert_eq!(call(&tg, "sendTelepathy", json!({})).await, (404, not_found));
    let methods: Vec<(String, bool)> = tg.calls().into_iter().map(|call| (call.method, call.ok)).collect();
    assert_eq!(methods, [("getMe".to_owned(), false), ("sendTelepathy".to_owned(), false)]);
}

integration_test!(validates_like_telegram);
async fn validates_like_telegram() {
    let tg = FakeTelegram::start().await;
    let too_long = "я".repeat(4097);
    let (status, body) = call(&tg, "sendMessage", json!({ "chat_id": USER, "text": too_long })).await;
    assert_eq!((status, body), (400, load_response("error_400_message_too_long")));
    let longest = "я".repeat(4096);
    assert_eq!(call(&tg, "sendMessage", json!({ "chat_id": USER, "text": longest })).await.0, 200);

    let (_, body) = call(&tg, "sendMessage", json!({ "chat_id": USER, "text": "  " })).await;
    assert_eq!(body["description"], json!("Bad Request: message text is empty"));
    let data = "x".repeat(65);
    let (status, body) =
        call(&tg, "sendMessage", json!({ "chat_id": USER, "text": "Кнопки", "reply_markup": keyboard(&data) })).await;
    assert_eq!((status, body), (400, load_response("error_400_button_data_invalid")));
    let (status, body) = call(&tg, "sendMessage", json!({ "text": "Кому?" })).await;
    assert_eq!((status, body["description"].clone()), (400, json!("Bad Request: chat_id is empty")));

    let (status, body) =
        call(&tg, "sendMessage", json!({ "chat_id": USER, "text": "a < b", "parse_mode": "HTML" })).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["description"],
        json!("Bad Request: can't parse entities: Unsupported start tag \"\" at byte offset 2")
    );
    let html = json!({ "chat_id": USER + 1, "text": "<b>ООО &quot;Ромашка&quot;</b> &lt;3", "parse_mode": "HTML" });
    assert_eq!(call(&tg, "sendMessage", html).await.1["result"]["text"], json!("ООО \"Ромашка\" <3"));
    let (_, body) =
        call(&tg, "sendMessage", json!({ "chat_id": USER + 2, "text": "Готово.", "parse_mode": "MarkdownV2" })).await;
    assert!(body["description"].as_str().is_some_and(|d| d.contains("Character '.' is reserved")), "{body}");
    let markdown = json!({ "chat_id": USER + 3, "text": "*Готово*\\.", "parse_mode": "MarkdownV2" });
    assert_eq!(call(&tg, "sendMessage", markdown).await.1["result"]["text"], json!("Готово."));
}

integration_test!(form_and_query_parameters_are_decoded);
async fn form_and_query_parameters_are_decoded() {
    let tg = FakeTelegram::start().await;
    let url = format!("{}/bot{}/sendMessage?chat_id={USER}", tg.api_url(), tg.token());
    let markup = keyboard("f:1").to_string();
    let response = reqwest::Client::new()
        .post(url)
        .form(&[("text", "123"), ("reply_markup", markup.as_str())])
        .send()
        .await
        .expect("the fake answers");
    assert_eq!(response.status(), 200);
    let call = &tg.calls_to("sendMessage")[0];
    assert_eq!(call.params, json!({ "chat_id": USER, "text": "123", "reply_markup": keyboard("f:1") }));
}

integration_test!(get_updates_long_poll_returns_a_pushed_update);
async fn get_updates_long_poll_returns_a_pushed_update() {
    let tg = FakeTelegram::start().await;
    let started = Instant::now();
    let (polled, pushed) = tokio::join!(call(&tg, "getUpdates", json!({ "offset": 0, "timeout": 30 })), async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        tg.push_update(
            json!({ "message": { "message_id": 19, "chat": { "id": USER, "type": "private" }, "text": "Привет" } }),
        )
    });
    assert!(started.elapsed() < Duration::from_secs(1), "the poll ends when an update arrives");
    assert_eq!(polled.0, 200);
    assert_eq!(polled.1["result"][0]["update_id"], json!(pushed));
    assert_eq!(polled.1["result"][0]["message"]["text"], json!("Привет"));

    let (_, reply) = call(&tg, "sendMessage", json!({ "chat_id": USER, "text": "Здравствуйте" })).await;
    assert_eq!(reply["result"]["message_id"], json!(20), "the bot's message comes after the user's");

    let started = Instant::now();
    let (_, confirmed) = call(&tg, "getUpdates", json!({ "offset": pushed + 1, "timeout": 1 })).await;
    assert_eq!(confirmed["result"], json!([]));
    assert!(started.elapsed() >= Duration::from_secs(1), "an empty poll waits for its timeout");
}

integration_test!(webhook_and_commands_keep_state);
async fn webhook_and_commands_keep_state() {
    let tg = FakeTelegram::start().await;
    let (_, info) = call(&tg, "getWebhookInfo", json!({})).await;
    assert_eq!(info["result"], json!({ "url": "", "has_custom_certificate": false, "pending_update_count": 0 }));

    let url = "https://kkt.example.com/webhook/telegram";
    let allowed = json!(["message", "edited_message", "callback_query", "my_chat_member"]);
    let set = json!({ "url": url, "max_connections": 40, "allowed_updates": allowed, "secret_token": "s3cret_-" });
    assert_eq!(call(&tg, "setWebhook", set).await, (200, json!({ "ok": true, "result": true })));
    tg.push_update(json!({ "message": { "message_id": 1, "chat": { "id": USER, "type": "private" }, "text": "x" } }));
    let expected = json!({ "url": url, "has_custom_certificate": false, "pending_update_count": 1, "max_connections": 40, "allowed_updates": allowed });
    assert_eq!(call(&tg, "getWebhookInfo", json!({})).await.1["result"], expected);
    assert_eq!(call(&tg, "getUpdates", json!({})).await.0, 409);
    let (status, body) = call(&tg, "setWebhook", json!({ "url": "http://kkt.example.com/hook" })).await;
    assert_eq!(
        (status, body["description"].clone()),
        (400, json!("Bad Request: bad webhook: An HTTPS URL must be provided for webhook"))
    );

    assert_eq!(call(&tg, "deleteWebhook", json!({ "drop_pending_updates": true })).await.0, 200);
    assert_eq!(call(&tg, "getWebhookInfo", json!({})).await.1["result"]["url"], json!(""));
    assert_eq!(call(&tg, "getUpdates", json!({})).await.1["result"], json!([]));

    let commands = json!([{ "command": "start", "description": "Начать" }]);
    assert_eq!(call(&tg, "setMyCommands", json!({ "commands": commands })).await.0, 200);
    assert_eq!(call(&tg, "getMyCommands", json!({})).await.1["result"], commands);
    assert_eq!(call(&tg, "deleteMyCommands", json!({})).await.0, 200);
    assert_eq!(call(&tg, "getMyCommands", json!({})).await.1["result"], json!([]));
    let bad = json!({ "commands": [{ "command": "Start", "description": "Начать" }] });
    assert_eq!(call(&tg, "setMyCommands", bad).await.1["description"], json!("Bad Request: BOT_COMMAND_INVALID"));
}

integration_test!(multipart_send_document_is_recorded_with_its_bytes);
async fn multipart_send_document_is_recorded_with_its_bytes() {
    let tg = FakeTelegram::start().await;
    let csv = "id;status\n42;new\n".as_bytes();
    let message = bot(&tg)
        .send_document(ChatId(USER), InputFile::memory(csv).file_name("requests.csv"))
        .caption("Выгрузка")
        .await
        .expect("sendDocument succeeds");
    let document = message.document().expect("a document message");
    assert_eq!(document.file_name.as_deref(), Some("requests.csv"));
    assert_eq!(message.caption(), Some("Выгрузка"));

    let call = &tg.wait_for("sendDocument", 1, Duration::from_secs(1)).await[0];
    assert_eq!(call.params["chat_id"], json!(USER));
    assert_eq!(call.params["caption"], json!("Выгрузка"));
    assert_eq!(call.files.len(), 1);
    assert_eq!((call.files[0].field.as_str(), call.files[0].file_name.as_str()), ("document", "requests.csv"));
    assert_eq!(call.files[0].bytes, csv);
}

integration_test!(two_quick_sends_to_one_chat_violate_the_rate_limit);
async fn two_quick_sends_to_one_chat_violate_the_rate_limit() {
    let tg = FakeTelegram::start().await;
    for text in ["Первое", "Второе"] {
        assert_eq!(call(&tg, "sendMessage", json!({ "chat_id": USER, "text": text })).await.0, 200);
    }
    let violations = tg.rate_violations();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert!(violations[0].contains(&USER.to_string()), "{violations:?}");

    tg.enforce_rate_limits(true);
    let (status, body) = call(&tg, "sendMessage", json!({ "chat_id": USER, "text": "Третье" })).await;
    assert_eq!((status, body["parameters"]["retry_after"].clone()), (429, json!(1)));
    assert_eq!(tg.rate_violations().len(), 1, "a refused send is no violation");
}

integration_test!(sends_a_second_apart_do_not_violate_the_rate_limit);
async fn sends_a_second_apart_do_not_violate_the_rate_limit() {
    let tg = FakeTelegram::start().await;
    tg.enforce_rate_limits(true);
    assert_eq!(call(&tg, "sendMessage", json!({ "chat_id": USER, "text": "Первое" })).await.0, 200);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(call(&tg, "sendMessage", json!({ "chat_id": USER, "text": "Второе" })).await.0, 200);
    assert_eq!(tg.rate_violations(), Vec::<String>::new());
}

integration_test!(bursts_violate_the_overall_and_group_limits);
async fn bursts_violate_the_overall_and_group_limits() {
    let tg = FakeTelegram::start().await;
    for i in 0..21 {
        call(&tg, "sendMessage", json!({ "chat_id": SUPERGROUP, "text": format!("#{i}") })).await;
    }
    let violations = tg.rate_violations();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert!(violations[0].contains("per minute"), "{violations:?}");

    tg.clear();
    for i in 0..31 {
        call(&tg, "sendMessage", json!({ "chat_id": USER + i, "text": "Рассылка" })).await;
    }
    let violations = tg.rate_violations();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert!(violations[0].contains("31 sends within 1 s"), "{violations:?}");
}

integration_test!(teloxide_bot_talks_to_the_fake);
async fn teloxide_bot_talks_to_the_fake() {
    let tg = FakeTelegram::start().await;
    let bot = bot(&tg);
    let me = bot.get_me().await.expect("getMe succeeds");
    assert_eq!(me.username(), "kkt_service_bot");

    let markup = InlineKeyboardMarkup::new([[InlineKeyboardButton::callback("Принять", "a:42")]]);
    let sent =
        bot.send_message(ChatId(USER), "Заявка №42").reply_markup(markup.clone()).await.expect("sendMessage succeeds");
    assert_eq!(sent.reply_markup(), Some(&markup));
    let edited = bot.edit_message_text(ChatId(USER), sent.id, "Заявка №42 принята").await.expect("edit succeeds");
    assert_eq!(edited.text(), Some("Заявка №42 принята"));
    assert_eq!(edited.reply_markup(), None);

    let update_id = tg.push_update(load_update("callback_query"));
    let updates = bot.get_updates().offset(0).timeout(1).await.expect("getUpdates succeeds");
    assert_eq!(updates.len(), 1);
    assert_eq!(i64::from(updates[0].id.0), update_id);
    let UpdateKind::CallbackQuery(query) = &updates[0].kind else { panic!("a callback query: {:?}", updates[0]) };
    bot.answer_callback_query(query.id.clone()).await.expect("answerCallbackQuery succeeds");

    let again = bot.edit_message_text(ChatId(USER), sent.id, "Заявка №42 принята").await;
    assert!(matches!(again, Err(RequestError::Api(ApiError::MessageNotModified))), "{again:?}");
    tg.block_chat(USER);
    let blocked = bot.send_message(ChatId(USER), "Ещё").await;
    assert!(matches!(blocked, Err(RequestError::Api(ApiError::BotBlocked))), "{blocked:?}");
    tg.fail_next("sendMessage", Fault::RetryAfter(3), 1);
    let flood = bot.send_message(ChatId(USER + 1), "Ещё").await;
    assert!(matches!(flood, Err(RequestError::RetryAfter(secs)) if secs.seconds() == 3), "{flood:?}");
    assert_eq!(tg.sent_texts_to(USER), ["Заявка №42"]);
}
