//! The fake's methods: what each one answers and remembers, and the flood limits it checks.

use super::*;

impl FakeState {
    /// Takes the fault for this call, if any: the persistent one first, then the oldest matching queued one.
    pub(super) fn take_fault(&mut self, method: &str, chat_id: Option<i64>) -> Option<Fault> {
        if let Some(fault) = &self.all_fail {
            return Some(fault.clone());
        }
        let index = self.faults.iter().position(|queued| {
            (queued.method == ANY_METHOD || queued.method.eq_ignore_ascii_case(method))
                && queued.chat_id.is_none_or(|chat| Some(chat) == chat_id)
        })?;
        let queued = &mut self.faults[index];
        queued.remaining -= 1;
        let fault = queued.fault.clone();
        if queued.remaining == 0 {
            self.faults.remove(index);
        }
        Some(fault)
    }

    pub(super) fn record(
        &mut self,
        method: &str,
        params: Value,
        files: Vec<UploadedFile>,
        result: ApiResult,
    ) -> Response {
        let (status, response) = match result {
            Ok(result) => (StatusCode::OK, json!({ "ok": true, "result": result })),
            Err(error) => (error.status(), error.body()),
        };
        let ok = status == StatusCode::OK;
        self.calls.push(Call {
            method: method.to_owned(),
            params,
            at: Instant::now(),
            ok,
            response: response.clone(),
            files,
        });
        (status, axum::Json(response)).into_response()
    }

    pub(super) fn dispatch(&mut self, method: &str, params: &Value, files: &[UploadedFile]) -> ApiResult {
        match method {
            "getMe" => Ok(json!({
                "id": BOT_ID,
                "is_bot": true,
                "first_name": BOT_NAME,
                "username": BOT_USERNAME,
                "can_join_groups": true,
                "can_read_all_group_messages": false,
                "supports_inline_queries": false,
                "can_connect_to_business": false,
                "has_main_web_app": false,
            })),
            "sendMessage" => self.send_message(params),
            "sendPhoto" => self.send_file(params, files, "photo"),
            "sendDocument" => self.send_file(params, files, "document"),
            "sendChatAction" => self.target_chat(params).map(|_| json!(true)),
            "editMessageText" => self.edit_message_text(params),
            "editMessageReplyMarkup" => self.edit_reply_markup(params),
            "deleteMessage" => {
                let chat = self.target_chat(params)?;
                let id = int_param(params, "message_id")
                    .ok_or_else(|| ApiError::bad_request("message identifier is not specified"))?;
                self.messages.remove(&(chat, id));
                Ok(json!(true))
            }
            "answerCallbackQuery" => match params["callback_query_id"].as_str() {
                Some(id) if !id.is_empty() => Ok(json!(true)),
                _ => Err(ApiError::bad_request("query is too old and response timeout expired or query ID is invalid")),
            },
            "getFile" => {
                let id = params["file_id"].as_str().unwrap_or_default();
                let (path, bytes) = self.files.get(id).ok_or_else(|| ApiError::bad_request("invalid file_id"))?;
                Ok(json!({
                    "file_id": id,
                    "file_unique_id": format!("Unique{}", path.len()),
                    "file_size": bytes.len(),
                    "file_path": path,
                }))
            }
            "getChat" => {
                let chat = self.target_chat(params)?;
                Ok(self.chat_full_info(chat))
            }
            "createForumTopic" => self.create_forum_topic(params),
            "setWebhook" => self.set_webhook(params),
            "deleteWebhook" => {
                if params["drop_pending_updates"] == json!(true) {
                    self.updates.clear();
                }
                self.webhook = None;
                Ok(json!(true))
            }
            "getWebhookInfo" => Ok(self.webhook_info()),
            "setMyCommands" => self.set_my_commands(params),
            "getMyCommands" => Ok(self.commands.get(&commands_key(params)).cloned().unwrap_or_else(|| json!([]))),
            "deleteMyCommands" => {
                self.commands.remove(&commands_key(params));
                Ok(json!(true))
            }
            _ => Err(ApiError::not_found()),
        }
    }

    /// The chat a call addresses: 400 if missing, not a numeric id or unknown, 403 if blocked.
    pub(super) fn target_chat(&self, params: &Value) -> Result<i64, ApiError> {
        let chat = match &params["chat_id"] {
            Value::Null => return Err(ApiError::bad_request("chat_id is empty")),
            Value::String(s) if s.is_empty() => return Err(ApiError::bad_request("chat_id is empty")),
            _ => chat_param(params).filter(|&id| id != 0).ok_or_else(|| ApiError::bad_request("chat not found"))?,
        };
        if self.unknown_chats.contains(&chat) {
            return Err(ApiError::bad_request("chat not found"));
        }
        if self.blocked.contains(&chat) {
            let description = match chat_type(chat) {
                "private" => "Forbidden: bot was blocked by the user",
                "group" => "Forbidden: bot was kicked from the group chat",
                _ => "Forbidden: bot was kicked from the supergroup chat",
            };
            return Err(ApiError::new(403, description));
        }
        Ok(chat)
    }

    pub(super) fn send_message(&mut self, params: &Value) -> ApiResult {
        let chat = self.target_chat(params)?;
        let text = required_text(params, "message is too long")?;
        let markup = inline_markup(params)?;
        let thread = self.thread_of(chat, params)?;
        self.check_flood(chat)?;
        let mut content = Map::new();
        add_thread(&mut content, thread);
        content.insert("text".into(), json!(text));
        if let Some(entities) = params.get("entities") {
            content.insert("entities".into(), entities.clone());
        }
        if let Some(markup) = markup {
            content.insert("reply_markup".into(), markup);
        }
        Ok(self.new_message(chat, content, text_source(params, "text")))
    }

    /// `sendPhoto` / `sendDocument`: the file comes uploaded in the `kind` field or as a file id or URL.
    pub(super) fn send_file(&mut self, params: &Value, files: &[UploadedFile], kind: &str) -> ApiResult {
        let chat = self.target_chat(params)?;
        let upload = files.iter().find(|file| file.field == kind);
        let reference = params[kind].as_str().filter(|s| !s.is_empty());
        if upload.is_none() && reference.is_none() {
            return Err(ApiError::bad_request(format!("there is no {kind} in the request")));
        }
        let caption = match params["caption"].as_str() {
            Some(raw) => {
                visible_text(raw, params["parse_mode"].as_str(), MAX_CAPTION_CHARS, "message caption is too long")?
            }
            None => String::new(),
        };
        let markup = inline_markup(params)?;
        let thread = self.thread_of(chat, params)?;
        self.check_flood(chat)?;

        self.files_sent += 1;
        let n = self.files_sent;
        let file_id =
            reference.filter(|r| !r.contains("://")).map_or_else(|| format!("FakeFile{kind}{n:06}"), str::to_owned);
        let size = upload.map_or(0, |file| file.bytes.len());
        let file = if kind == "photo" {
            let photo_size = |suffix: &str, side: u32| {
                json!({
                    "file_id": format!("{file_id}{suffix}"),
                    "file_unique_id": format!("FakeUnique{n}{suffix}"),
                    "file_size": size,
                    "width": side,
                    "height": side,
                })
            };
            json!([photo_size("_s", 90), photo_size("", 800)])
        } else {
            let name = upload.map_or_else(
                || reference.and_then(|r| r.rsplit('/').next()).unwrap_or("document").to_owned(),
                |file| file.file_name.clone(),
            );
            json!({
                "file_name": name,
                "mime_type": mime_type(&name),
                "file_id": file_id,
                "file_unique_id": format!("FakeUnique{n}"),
                "file_size": size,
            })
        };
        let mut content = Map::new();
        add_thread(&mut content, thread);
        content.insert(kind.into(), file);
        if !caption.is_empty() {
            content.insert("caption".into(), json!(caption));
            if let Some(entities) = params.get("caption_entities") {
                content.insert("caption_entities".into(), entities.clone());
            }
        }
        if let Some(markup) = markup {
            content.insert("reply_markup".into(), markup);
        }
        Ok(self.new_message(chat, content, text_source(params, "caption")))
    }

    pub(super) fn edit_message_text(&mut self, params: &Value) -> ApiResult {
        if params.get("inline_message_id").is_some() {
            required_text(params, "MESSAGE_TOO_LONG")?;
            inline_markup(params)?;
            return Ok(json!(true));
        }
        let key = self.message_key(params)?;
        let text = required_text(params, "MESSAGE_TOO_LONG")?;
        let markup = inline_markup(params)?;
        let source = text_source(params, "text");
        let sent = self.messages.get_mut(&key).ok_or_else(|| ApiError::bad_request("message to edit not found"))?;
        if sent.message.get("text").is_none() {
            return Err(ApiError::bad_request("there is no text in the message to edit"));
        }
        if sent.source == source && sent.message.get("reply_markup") == markup.as_ref() {
            return Err(not_modified());
        }
        let message = sent.message.as_object_mut().expect("stored messages are objects");
        message.insert("text".into(), json!(text));
        match params.get("entities") {
            Some(entities) => message.insert("entities".into(), entities.clone()),
            None => message.remove("entities"),
        };
        set_markup(message, markup);
        message.insert("edit_date".into(), json!(unix_now()));
        sent.source = source;
        Ok(sent.message.clone())
    }

    pub(super) fn edit_reply_markup(&mut self, params: &Value) -> ApiResult {
        let markup = inline_markup(params)?;
        if params.get("inline_message_id").is_some() {
            return Ok(json!(true));
        }
        let key = self.message_key(params)?;
        let sent = self.messages.get_mut(&key).ok_or_else(|| ApiError::bad_request("message to edit not found"))?;
        if sent.message.get("reply_markup") == markup.as_ref() {
            return Err(not_modified());
        }
        let message = sent.message.as_object_mut().expect("stored messages are objects");
        set_markup(message, markup);
        message.insert("edit_date".into(), json!(unix_now()));
        Ok(sent.message.clone())
    }

    /// Chat and message id an edit addresses.
    pub(super) fn message_key(&self, params: &Value) -> Result<(i64, i64), ApiError> {
        let chat = self.target_chat(params)?;
        let id = int_param(params, "message_id")
            .ok_or_else(|| ApiError::bad_request("message identifier is not specified"))?;
        Ok((chat, id))
    }

    /// `getChat`: the chat as a ChatFullInfo (a forum says `is_forum`).
    pub(super) fn chat_full_info(&self, chat: i64) -> Value {
        let mut info = self.chat_object(chat);
        info["accent_color_id"] = json!(chat.rem_euclid(7));
        info["max_reaction_count"] = json!(11);
        info["accepted_gift_types"] = json!({
            "unlimited_gifts": false,
            "limited_gifts": false,
            "unique_gifts": false,
            "premium_subscription": false,
        });
        info
    }

    /// The chat as messages carry it.
    pub(super) fn chat_object(&self, chat: i64) -> Value {
        let mut object = chat_object(chat);
        if self.forums.contains(&chat) {
            object["is_forum"] = json!(true);
        }
        object
    }

    /// `createForumTopic`: a topic in a forum, opened by its "topic created" message, whose id is
    /// the topic's `message_thread_id`.
    pub(super) fn create_forum_topic(&mut self, params: &Value) -> ApiResult {
        let chat = self.target_chat(params)?;
        if !self.forums.contains(&chat) {
            return Err(ApiError::bad_request("the chat is not a forum"));
        }
        let name = params["name"].as_str().unwrap_or_default();
        if !(1..=128).contains(&name.chars().count()) {
            return Err(ApiError::bad_request("TOPIC_TITLE_EMPTY"));
        }
        self.check_flood(chat)?;
        let icon_color = 0x6F_B9_F0;
        let mut content = Map::new();
        content.insert("forum_topic_created".into(), json!({ "name": name, "icon_color": icon_color }));
        content.insert("is_topic_message".into(), json!(true));
        let message = self.new_message(chat, content, Value::Null);
        let thread = message["message_id"].as_i64().expect("a message has an id");
        if let Some(stored) = self.messages.get_mut(&(chat, thread)) {
            stored.message["message_thread_id"] = json!(thread);
        }
        self.topics.insert((chat, thread));
        Ok(json!({ "message_thread_id": thread, "name": name, "icon_color": icon_color }))
    }

    /// The topic a send names (`message_thread_id`): in a forum it must be one of its topics; in
    /// other chats Telegram ignores it.
    pub(super) fn thread_of(&self, chat: i64, params: &Value) -> Result<Option<i64>, ApiError> {
        let Some(thread) = int_param(params, "message_thread_id") else { return Ok(None) };
        if !self.forums.contains(&chat) {
            return Ok(None);
        }
        if !self.topics.contains(&(chat, thread)) {
            return Err(ApiError::bad_request("message thread not found"));
        }
        Ok(Some(thread))
    }

    /// Stores a message from the bot with the chat's next message id and returns it.
    pub(super) fn new_message(&mut self, chat: i64, content: Map<String, Value>, source: Value) -> Value {
        let chat_object = self.chat_object(chat);
        let last = self.last_message_id.entry(chat).or_default();
        *last += 1;
        let id = *last;
        let mut message = json!({
            "message_id": id,
            "from": { "id": BOT_ID, "is_bot": true, "first_name": BOT_NAME, "username": BOT_USERNAME },
            "chat": chat_object,
            "date": unix_now(),
        });
        message.as_object_mut().expect("a message is an object").extend(content);
        self.messages.insert((chat, id), SentMessage { message: message.clone(), source });
        message
    }

    /// With enforcement on, refuses a send to `chat` now that would breach a flood limit.
    pub(super) fn check_flood(&self, chat: i64) -> Result<(), ApiError> {
        if !self.enforce_rate_limits {
            return Ok(());
        }
        let mut sends = sends(&self.calls);
        sends.push(Delivery { chat, at: Instant::now() });
        if breaches_by_last(&sends).is_empty() { Ok(()) } else { Err(ApiError::flood(1)) }
    }

    pub(super) fn set_webhook(&mut self, params: &Value) -> ApiResult {
        let url = params["url"].as_str().unwrap_or_default();
        if url.is_empty() {
            self.webhook = None;
        } else {
            let parsed = url::Url::parse(url).map_err(|_| ApiError::bad_request("bad webhook: invalid URL"))?;
            if parsed.scheme() != "https" {
                return Err(ApiError::bad_request("bad webhook: An HTTPS URL must be provided for webhook"));
            }
            if !matches!(parsed.port_or_known_default(), Some(80 | 88 | 443 | 8443)) {
                return Err(ApiError::bad_request(
                    "bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443",
                ));
            }
            if let Some(secret) = params["secret_token"].as_str() {
                let allowed = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
                if secret.is_empty() || secret.len() > 256 || !secret.chars().all(allowed) {
                    return Err(ApiError::bad_request("secret token contains unallowed characters"));
                }
            }
            let max_connections = int_param(params, "max_connections").unwrap_or(40);
            if !(1..=100).contains(&max_connections) {
                return Err(ApiError::bad_request("bad webhook: max_connections must be between 1 and 100"));
            }
            let allowed_updates = params.get("allowed_updates").cloned();
            self.webhook = Some(Webhook { url: url.to_owned(), max_connections, allowed_updates });
        }
        if params["drop_pending_updates"] == json!(true) {
            self.updates.clear();
        }
        Ok(json!(true))
    }

    pub(super) fn webhook_info(&self) -> Value {
        let pending = self.updates.len();
        let Some(webhook) = &self.webhook else {
            return json!({ "url": "", "has_custom_certificate": false, "pending_update_count": pending });
        };
        let mut info = json!({
            "url": webhook.url,
            "has_custom_certificate": false,
            "pending_update_count": pending,
            "max_connections": webhook.max_connections,
        });
        if let Some(allowed) = &webhook.allowed_updates {
            info["allowed_updates"] = allowed.clone();
        }
        info
    }

    pub(super) fn set_my_commands(&mut self, params: &Value) -> ApiResult {
        let commands =
            params["commands"].as_array().ok_or_else(|| ApiError::bad_request("commands must be an array"))?;
        for command in commands {
            let name = command["command"].as_str().unwrap_or_default();
            let valid = (1..=32).contains(&name.len())
                && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !valid {
                return Err(ApiError::bad_request("BOT_COMMAND_INVALID"));
            }
            let description = command["description"].as_str().unwrap_or_default();
            if !(1..=256).contains(&description.chars().count()) {
                return Err(ApiError::bad_request("BOT_COMMAND_DESCRIPTION_INVALID"));
            }
        }
        self.commands.insert(commands_key(params), json!(commands));
        Ok(json!(true))
    }

    /// Forgets updates confirmed by `offset`; a negative offset keeps only the last `-offset` updates.
    pub(super) fn confirm_updates(&mut self, offset: i64) {
        if offset < 0 {
            let keep = usize::try_from(offset.unsigned_abs()).unwrap_or(usize::MAX);
            while self.updates.len() > keep {
                self.updates.pop_front();
            }
        } else {
            self.updates.retain(|update| update["update_id"].as_i64().is_some_and(|id| id >= offset));
        }
    }
}

/// A message in a forum topic carries the topic's id.
pub(super) fn add_thread(content: &mut Map<String, Value>, thread: Option<i64>) {
    if let Some(thread) = thread {
        content.insert("message_thread_id".into(), json!(thread));
        content.insert("is_topic_message".into(), json!(true));
    }
}

pub(super) fn not_modified() -> ApiError {
    ApiError::bad_request(
        "message is not modified: specified new message content and reply markup are exactly the same as a current \
         content and reply markup of the message",
    )
}

/// Sets or removes a message's keyboard: an edit without `reply_markup` removes it, as on Telegram.
pub(super) fn set_markup(message: &mut Map<String, Value>, markup: Option<Value>) {
    match markup {
        Some(markup) => message.insert("reply_markup".into(), markup),
        None => message.remove("reply_markup"),
    };
}

/// What an edit compares to decide "not modified": the raw text, its parse mode and entities.
pub(super) fn text_source(params: &Value, field: &str) -> Value {
    let parse_mode = params["parse_mode"].as_str().map(str::to_ascii_lowercase);
    let entities = if field == "text" { &params["entities"] } else { &params["caption_entities"] };
    json!([params[field], parse_mode, entities])
}

/// The visible text of the required `text` parameter, validated like Telegram.
pub(super) fn required_text(params: &Value, too_long: &str) -> Result<String, ApiError> {
    let raw = params["text"].as_str().unwrap_or_default();
    let text = visible_text(raw, params["parse_mode"].as_str(), MAX_TEXT_CHARS, too_long)?;
    if text.is_empty() {
        return Err(ApiError::bad_request("message text is empty"));
    }
    Ok(text)
}

/// Applies `parse_mode`, trims like Telegram and checks the length of what remains.
pub(super) fn visible_text(
    raw: &str,
    parse_mode: Option<&str>,
    max_chars: usize,
    too_long: &str,
) -> Result<String, ApiError> {
    let text = render(raw, parse_mode)?;
    let text = text.trim();
    if text.chars().count() > max_chars {
        return Err(ApiError::bad_request(too_long));
    }
    Ok(text.to_owned())
}

/// The inline keyboard to echo back, validated like Telegram; other keyboard kinds are accepted but not echoed.
pub(super) fn inline_markup(params: &Value) -> Result<Option<Value>, ApiError> {
    let Some(rows) = params.get("reply_markup").and_then(|markup| markup.get("inline_keyboard")) else {
        return Ok(None);
    };
    let cant_parse = || ApiError::bad_request("can't parse reply keyboard markup JSON object");
    let rows = rows.as_array().ok_or_else(cant_parse)?;
    for row in rows {
        for button in row.as_array().ok_or_else(cant_parse)? {
            if !button.is_object() || !button["text"].is_string() {
                return Err(cant_parse());
            }
            if !BUTTON_ACTIONS.iter().any(|action| button.get(action).is_some()) {
                return Err(ApiError::bad_request(
                    "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard",
                ));
            }
            if let Some(style) = button.get("style")
                && !matches!(style.as_str(), Some("danger" | "success" | "primary"))
            {
                return Err(ApiError::bad_request("can't parse inline keyboard button: unknown button style"));
            }
            if let Some(data) = button.get("callback_data") {
                let len = data.as_str().map_or(0, str::len);
                if !(1..=MAX_CALLBACK_DATA_BYTES).contains(&len) {
                    return Err(ApiError::bad_request("BUTTON_DATA_INVALID"));
                }
            }
            if let Some(url) = button.get("url") {
                let valid = url
                    .as_str()
                    .and_then(|url| url::Url::parse(url).ok())
                    .is_some_and(|url| matches!(url.scheme(), "http" | "https" | "tg"));
                if !valid {
                    return Err(ApiError::bad_request("BUTTON_URL_INVALID"));
                }
            }
        }
    }
    let has_buttons = rows.iter().any(|row| row.as_array().is_some_and(|row| !row.is_empty()));
    Ok(has_buttons.then(|| json!({ "inline_keyboard": rows })))
}

/// Key of a command list: its scope and language.
pub(super) fn commands_key(params: &Value) -> String {
    let scope = params.get("scope").cloned().unwrap_or_else(|| json!({ "type": "default" }));
    let language = params["language_code"].as_str().unwrap_or_default();
    format!("{scope}/{language}")
}

/// A successful send, for flood accounting.
pub(super) struct Delivery {
    chat: i64,
    at: Instant,
}

pub(super) fn sends(calls: &[Call]) -> Vec<Delivery> {
    calls
        .iter()
        .filter(|call| call.ok && SEND_METHODS.contains(&call.method.as_str()))
        .filter_map(|call| Some(Delivery { chat: chat_param(&call.params)?, at: call.at }))
        .collect()
}

/// Flood limits the last of `sends` breaches, given the ones before it.
pub(super) fn breaches_by_last(sends: &[Delivery]) -> Vec<String> {
    let Some((last, earlier)) = sends.split_last() else {
        return Vec::new();
    };
    let within = |window: Duration| earlier.iter().filter(move |send| last.at.duration_since(send.at) < window);
    let mut breaches = Vec::new();
    let in_second = within(Duration::from_secs(1)).count() + 1;
    if in_second > OVERALL_PER_SECOND {
        breaches.push(format!(
            "{in_second} sends within 1 s overall (Telegram allows {OVERALL_PER_SECOND}), the last to chat {}",
            last.chat
        ));
    }
    if chat_type(last.chat) == "private" {
        if let Some(previous) = earlier.iter().rev().find(|send| send.chat == last.chat) {
            let gap = last.at.duration_since(previous.at);
            if gap < PRIVATE_CHAT_GAP {
                breaches.push(format!(
                    "chat {}: two sends {} ms apart (Telegram allows 1 per second to a private chat)",
                    last.chat,
                    gap.as_millis()
                ));
            }
        }
    } else {
        let in_minute = within(Duration::from_secs(60)).filter(|send| send.chat == last.chat).count() + 1;
        if in_minute > GROUP_PER_MINUTE {
            breaches.push(format!(
                "chat {}: {in_minute} sends within 1 min (Telegram allows {GROUP_PER_MINUTE} per minute to a group)",
                last.chat
            ));
        }
    }
    breaches
}
