//! A small Telegram Bot API client: POSTs JSON (or multipart for uploads) to
//! `{TELEGRAM_API_URL}/bot{token}/{method}` and reads Telegram's answer envelope itself.
//!
//! Why not teloxide's `Bot`: teloxide-core's `RequestError` drops `error_code`, so a 500 cannot be
//! told from a 400, and the sender must retry the one and give up on the other. Results are still
//! read into teloxide's types (`Message`, `bool`).
//!
//! The bot token is part of every request URL and never leaves this module: errors are built
//! from URL-less reqwest errors and passed through a [`Redactor`] holding the token.

use std::fmt;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde::Deserialize;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use teloxide::types::Message;
use url::Url;

use crate::config::Secret;
use crate::telemetry::Redactor;

/// How long one Bot API call may take, connecting and reading the answer included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// What a 429 without `retry_after` is taken to mean.
const DEFAULT_RETRY_AFTER_SECS: u64 = 5;
/// How much of an unreadable answer an error quotes.
const QUOTE_CHARS: usize = 200;

/// Why a Bot API call did not succeed, sorted by what the caller should do about it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 429: flood control; nothing may be sent for this many seconds.
    #[error("429 Too Many Requests: retry after {0} s")]
    RetryAfter(u64),
    /// 403: the user blocked the bot, or the bot is no longer in the group. Telegram's description.
    #[error("403 {0}")]
    Blocked(String),
    /// 401: Telegram rejected the bot token (revoked or wrong). Nothing will go out until it is fixed.
    #[error("401 {0}")]
    Unauthorized(String),
    /// 5xx, or an answer that is not Telegram's JSON envelope (a proxy's error page, a cut body).
    #[error("server error (HTTP {status}): {description}")]
    Server { status: u16, description: String },
    /// The request did not get an answer: connection refused or reset, DNS, timeout.
    #[error("network error: {0}")]
    Network(String),
    /// Any other 4xx: the request itself is wrong and will fail the same way again.
    #[error("{code} {description}")]
    Client {
        code: u16,
        description: String,
        /// A group that became a supergroup: its new id.
        migrate_to_chat_id: Option<i64>,
    },
    /// Telegram answered `ok: true` (the call took effect) but its `result` is not what was asked
    /// for. `message_id` is read from the raw result when it has one.
    #[error("the call succeeded but its result could not be read: {detail}")]
    Decode { detail: String, message_id: Option<i32> },
}

impl ApiError {
    /// Telegram's "message is not modified" answer to an edit that changes nothing: the message
    /// already looks as asked, so the edit has in effect succeeded.
    pub fn is_not_modified(&self) -> bool {
        matches!(self, ApiError::Client { code: 400, description, .. } if description.contains("message is not modified"))
    }
}

/// Telegram's answer envelope.
#[derive(Debug, Deserialize)]
struct Envelope {
    ok: bool,
    #[serde(default)]
    result: Option<Value>,
    #[serde(default)]
    error_code: Option<u16>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    parameters: Option<Parameters>,
}

#[derive(Debug, Default, Deserialize)]
struct Parameters {
    #[serde(default)]
    retry_after: Option<u64>,
    #[serde(default)]
    migrate_to_chat_id: Option<i64>,
}

/// The most bytes a downloaded file may have (the Bot API serves files of up to 20 MB).
pub const MAX_FILE_BYTES: usize = 20 * 1024 * 1024;

/// A file downloaded from Telegram.
#[derive(Clone, Debug)]
pub struct Downloaded {
    pub bytes: Vec<u8>,
    /// Telegram's path of the file (`photos/file_0.jpg`): its name and extension.
    pub path: String,
}

/// A Bot API client for one bot. Cheap to clone (the HTTP client is shared).
#[derive(Clone)]
pub struct BotApi {
    client: reqwest::Client,
    /// `{api_url}/bot{token}/`: secret, never printed.
    endpoint: String,
    /// `{api_url}/file/bot{token}/`, where files are downloaded: secret, never printed.
    files: String,
    /// Where requests go, without the token, for `Debug`.
    api_url: String,
    redactor: Redactor,
}

impl fmt::Debug for BotApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BotApi").field("api_url", &self.api_url).field("token", &"[redacted]").finish()
    }
}

impl BotApi {
    /// A client for the bot with `token` at `api_url` (`TELEGRAM_API_URL`), with
    /// [`REQUEST_TIMEOUT`].
    ///
    /// Panics only if the TLS backend cannot be initialised, as `reqwest::Client::new` does.
    pub fn new(api_url: &Url, token: &Secret) -> Self {
        let api_url = api_url.as_str().trim_end_matches('/').to_string();
        let endpoint = format!("{api_url}/bot{}/", token.expose());
        let files = format!("{api_url}/file/bot{}/", token.expose());
        Self {
            client: http_client(REQUEST_TIMEOUT),
            endpoint,
            files,
            api_url,
            redactor: Redactor::new(vec![token.expose().into()]),
        }
    }

    /// The same client with another request timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.client = http_client(timeout);
        self
    }

    /// Calls `method` with `params` as a JSON body and reads the result as `T`.
    pub async fn call<T: DeserializeOwned>(&self, method: &str, params: &impl Serialize) -> Result<T, ApiError> {
        let request = self.client.post(format!("{}{method}", self.endpoint)).json(params);
        self.execute(request).await
    }

    /// Calls `method` with a `multipart/form-data` body (file uploads).
    pub async fn call_multipart<T: DeserializeOwned>(&self, method: &str, form: Form) -> Result<T, ApiError> {
        let request = self.client.post(format!("{}{method}", self.endpoint)).multipart(form);
        self.execute(request).await
    }

    /// `sendDocument` with the file's bytes uploaded.
    pub async fn send_document(
        &self,
        chat_id: i64,
        file_name: &str,
        content: Vec<u8>,
        caption: Option<&str>,
    ) -> Result<Message, ApiError> {
        let mut form = Form::new()
            .text("chat_id", chat_id.to_string())
            .part("document", Part::bytes(content).file_name(file_name.to_string()));
        if let Some(caption) = caption {
            form = form.text("caption", caption.to_string());
        }
        self.call_multipart("sendDocument", form).await
    }

    /// Downloads a file Telegram keeps, by its file id: `getFile`, then the file from
    /// `{api_url}/file/bot{token}/{file_path}` (the token stays in here). A file over
    /// [`MAX_FILE_BYTES`] is a client error, as Telegram's own refusal of a big file is.
    pub async fn download(&self, file_id: &str) -> Result<Downloaded, ApiError> {
        let file: teloxide::types::File = self.call("getFile", &serde_json::json!({ "file_id": file_id })).await?;
        let too_big = || ApiError::Client {
            code: 400,
            description: format!("file is too big (over {MAX_FILE_BYTES} bytes)"),
            migrate_to_chat_id: None,
        };
        if file.size as usize > MAX_FILE_BYTES {
            return Err(too_big());
        }
        let mut response =
            self.client.get(format!("{}{}", self.files, file.path)).send().await.map_err(|e| self.network_error(e))?;
        let status = response.status();
        if !status.is_success() {
            let description = self.redactor.redact(&format!("the file download answered {status}"));
            return Err(if status.is_server_error() {
                ApiError::Server { status: status.as_u16(), description }
            } else {
                ApiError::Client { code: status.as_u16(), description, migrate_to_chat_id: None }
            });
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.network_error(e))? {
            if bytes.len() + chunk.len() > MAX_FILE_BYTES {
                return Err(too_big());
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Downloaded { bytes, path: file.path })
    }

    async fn execute<T: DeserializeOwned>(&self, request: reqwest::RequestBuilder) -> Result<T, ApiError> {
        let response = request.send().await.map_err(|e| self.network_error(e))?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| self.network_error(e))?;
        self.read_answer(status, &body)
    }

    /// Reads Telegram's envelope from an answer.
    fn read_answer<T: DeserializeOwned>(&self, status: StatusCode, body: &[u8]) -> Result<T, ApiError> {
        let envelope: Envelope = match serde_json::from_slice(body) {
            Ok(envelope) => envelope,
            Err(_) => {
                let text = String::from_utf8_lossy(body);
                let quoted: String = text.chars().take(QUOTE_CHARS).collect();
                let description = if quoted.trim().is_empty() {
                    "empty answer".to_string()
                } else {
                    format!("unreadable answer: {}", quoted.trim())
                };
                return Err(ApiError::Server {
                    status: status.as_u16(),
                    description: self.redactor.redact(&description),
                });
            }
        };
        if envelope.ok {
            let result = envelope.result.unwrap_or(Value::Null);
            return serde_json::from_value::<T>(result.clone()).map_err(|e| ApiError::Decode {
                detail: self.redactor.redact(&e.to_string()),
                message_id: result.get("message_id").and_then(Value::as_i64).and_then(|id| i32::try_from(id).ok()),
            });
        }
        let code = envelope.error_code.unwrap_or(status.as_u16());
        let description = self.redactor.redact(envelope.description.as_deref().unwrap_or("no description"));
        let parameters = envelope.parameters.unwrap_or_default();
        Err(match code {
            429 => ApiError::RetryAfter(parameters.retry_after.unwrap_or(DEFAULT_RETRY_AFTER_SECS)),
            403 => ApiError::Blocked(description),
            401 => ApiError::Unauthorized(description),
            500.. => ApiError::Server { status: code, description },
            // Telegram always sends an error code; anything else is not Telegram speaking.
            0..=399 => ApiError::Server { status: code, description: format!("unexpected error code: {description}") },
            _ => {
                let description = match parameters.migrate_to_chat_id {
                    Some(id) => format!("{description} (the group is now the supergroup {id})"),
                    None => description,
                };
                ApiError::Client { code, description, migrate_to_chat_id: parameters.migrate_to_chat_id }
            }
        })
    }

    /// A transport error, without the URL (it holds the token) and with its causes.
    fn network_error(&self, error: reqwest::Error) -> ApiError {
        let what = if error.is_timeout() {
            "timed out".to_string()
        } else if error.is_connect() {
            "cannot connect".to_string()
        } else {
            "request failed".to_string()
        };
        let error = error.without_url();
        let mut text = format!("{what}: {error}");
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        ApiError::Network(self.redactor.redact(&text))
    }
}

fn http_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .build()
        .expect("the HTTP client can be built (TLS backend available)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TOKEN: &str = "123456:SECRET-token-value";

    fn api() -> BotApi {
        BotApi::new(&Url::parse("http://127.0.0.1:1/").unwrap(), &Secret::new(TOKEN))
    }

    fn answer<T: DeserializeOwned>(status: u16, body: Value) -> Result<T, ApiError> {
        api().read_answer(StatusCode::from_u16(status).unwrap(), body.to_string().as_bytes())
    }

    #[test]
    fn errors_are_sorted_by_what_to_do() {
        let e = answer::<bool>(
            429,
            json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 7", "parameters": {"retry_after": 7}}),
        );
        assert_eq!(e, Err(ApiError::RetryAfter(7)));
        let e = answer::<bool>(
            403,
            json!({"ok": false, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}),
        );
        assert_eq!(e, Err(ApiError::Blocked("Forbidden: bot was blocked by the user".into())));
        let e = answer::<bool>(500, json!({"ok": false, "error_code": 500, "description": "Internal Server Error"}));
        assert_eq!(e, Err(ApiError::Server { status: 500, description: "Internal Server Error".into() }));
        let e = answer::<bool>(401, json!({"ok": false, "error_code": 401, "description": "Unauthorized"}));
        assert_eq!(e, Err(ApiError::Unauthorized("Unauthorized".into())));
        let e = answer::<bool>(
            400,
            json!({"ok": false, "error_code": 400, "description": "Bad Request: group chat was upgraded to a supergroup chat", "parameters": {"migrate_to_chat_id": -1001234}}),
        )
        .unwrap_err();
        assert!(matches!(e, ApiError::Client { code: 400, migrate_to_chat_id: Some(-1001234), .. }), "{e:?}");
        assert!(e.to_string().contains("-1001234"), "{e}");
        let not_modified = answer::<bool>(
            400,
            json!({"ok": false, "error_code": 400, "description": "Bad Request: message is not modified: specified new message content and reply markup are exactly the same"}),
        )
        .unwrap_err();
        assert!(not_modified.is_not_modified());
    }

    #[test]
    fn garbled_answers_are_server_errors() {
        let api = api();
        let e = api.read_answer::<bool>(StatusCode::BAD_GATEWAY, b"<html>502 Bad Gateway</html>").unwrap_err();
        assert!(
            matches!(&e, ApiError::Server { status: 502, description } if description.contains("502 Bad Gateway")),
            "{e:?}"
        );
        let e = api.read_answer::<bool>(StatusCode::OK, b"{\"ok\": tr").unwrap_err();
        assert!(matches!(e, ApiError::Server { status: 200, .. }), "{e:?}");
        let e = api.read_answer::<bool>(StatusCode::OK, b"").unwrap_err();
        assert!(matches!(e, ApiError::Server { status: 200, .. }), "{e:?}");
    }

    #[test]
    fn a_result_of_another_shape_is_a_decode_error_with_the_message_id() {
        let e = answer::<Message>(200, json!({"ok": true, "result": {"message_id": 17, "weird": true}})).unwrap_err();
        assert!(matches!(e, ApiError::Decode { message_id: Some(17), .. }), "{e:?}");
        assert_eq!(answer::<bool>(200, json!({"ok": true, "result": true})), Ok(true));
    }

    #[test]
    fn the_token_is_never_shown() {
        let api = api();
        assert!(!format!("{api:?}").contains(TOKEN));
        let e = api
            .read_answer::<bool>(StatusCode::BAD_GATEWAY, format!("proxy error for /bot{TOKEN}/sendMessage").as_bytes())
            .unwrap_err();
        assert!(!e.to_string().contains(TOKEN), "{e}");
    }

    #[tokio::test]
    async fn network_errors_do_not_carry_the_url() {
        // Port 1 on localhost: nothing listens, the connection is refused.
        let e = api().call::<bool>("getMe", &json!({})).await.unwrap_err();
        assert!(matches!(e, ApiError::Network(_)), "{e:?}");
        let text = e.to_string();
        assert!(!text.contains(TOKEN) && !text.contains("SECRET"), "{text}");
    }
}
