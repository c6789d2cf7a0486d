//! A request's conversation from the dashboard: a reply to the client or an internal note
//! (`POST /requests/{id}/comments`, through [`thread::post`], the service the bot uses), and the
//! photos and documents of the request and its thread, fetched from Telegram by this server
//! (`GET …/photo`, `GET …/thread/{message_id}/file`): the browser never sees the bot token nor
//! Telegram's file address.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::ApiJson;
use super::jwt::CurrentUser;
use super::openapi::ErrorBody;
use super::request_actions::{Change, actor};
use crate::error::Error;
use crate::http::{ApiError, AppState};
use crate::services::audit::{self, Entry};
use crate::services::requests::{self, Channel};
use crate::services::thread::{self, AttachmentKind, Entry as ThreadEntry, Kind, NewMessage};
use crate::telegram::api::{ApiError as TelegramError, BotApi};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(post_comment)).routes(routes!(request_photo)).routes(routes!(message_file))
}

/// A photo or document of a thread message.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentDto {
    /// `photo` or `document`.
    pub kind: String,
    pub name: Option<String>,
    pub mime: Option<String>,
    /// Where the dashboard fetches it (this server passes it on from Telegram).
    pub url: String,
}

/// One delivery of a thread message to a Telegram chat.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryDto {
    pub chat_id: i64,
    /// `queued`, `sent` or `failed`.
    pub status: String,
    pub sent_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
}

/// A message of a request's thread.
#[derive(Debug, Serialize, ToSchema)]
pub struct ThreadMessageDto {
    pub id: i32,
    /// `comment` (the client's), `reply` (staff to the client), `question` (staff asked the
    /// client; the request waited for the answer) or `note` (internal: never sent to the client).
    pub kind: String,
    /// `telegram` or `api`.
    pub channel: String,
    /// `client`, `administrator` or `user`.
    pub author_kind: String,
    pub author_id: Option<i64>,
    pub author_name: Option<String>,
    pub text: Option<String>,
    pub attachment: Option<AttachmentDto>,
    /// The message's delivery as a whole: `none` (a note, or the bot is off), `queued`, `sent`
    /// or `failed` (any delivery failed).
    pub delivery: String,
    pub deliveries: Vec<DeliveryDto>,
    pub created_at: DateTime<Utc>,
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Comment => "comment",
        Kind::Reply => "reply",
        Kind::Question => "question",
        Kind::Note => "note",
    }
}

impl From<ThreadEntry> for ThreadMessageDto {
    fn from(entry: ThreadEntry) -> Self {
        let delivery = entry.status().to_string();
        let m = entry.message;
        let attachment = m.attachment_kind.map(|kind| AttachmentDto {
            kind: match kind {
                AttachmentKind::Photo => "photo".into(),
                AttachmentKind::Document => "document".into(),
            },
            name: m.attachment_name.clone(),
            mime: m.attachment_mime.clone(),
            url: format!("/api/requests/{}/thread/{}/file", m.request_id, m.id),
        });
        Self {
            id: m.id,
            kind: kind_name(m.kind).into(),
            channel: m.channel,
            author_kind: m.author_kind,
            author_id: m.author_id,
            author_name: m.author_name,
            text: m.body,
            attachment,
            delivery,
            deliveries: entry
                .deliveries
                .into_iter()
                .map(|d| DeliveryDto {
                    chat_id: d.chat_id,
                    status: d.status.as_str().into(),
                    sent_at: d.sent_at,
                    error: d.error,
                })
                .collect(),
            created_at: m.created_at,
        }
    }
}

/// A staff message in a request's thread.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentInput {
    /// `reply` (sent to the client in Telegram) or `note` (internal: never sent to the client).
    #[schema(max_length = 16)]
    pub kind: String,
    /// 1–4000 characters once trimmed.
    #[schema(min_length = 1, max_length = 4000)]
    pub text: String,
}

/// Adds a reply to the client (sent to them in Telegram, in the request's thread) or an internal
/// note (kept on the request only) to a request's thread. Audited as `request.replied` or
/// `request.noted`.
#[utoipa::path(post, path = "/requests/{id}/comments", tag = "requests", params(("id" = i32, Path)),
    request_body = CommentInput,
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 201, body = ThreadMessageDto, description = "The message, as the thread shows it"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 404, body = ErrorBody, description = "No such request"),
        (status = 422, body = ErrorBody, description = "An unknown kind, or an empty or too long text")))]
async fn post_comment(
    change: Change,
    Path(id): Path<i32>,
    ApiJson(input): ApiJson<CommentInput>,
) -> Result<(StatusCode, ApiJson<ThreadMessageDto>), ApiError> {
    let kind = match input.kind.as_str() {
        "reply" => Kind::Reply,
        "note" => Kind::Note,
        _ => return Err(Error::invalid("kind", "must be reply or note").into()),
    };
    let write = change.core.begin().await?;
    let new = NewMessage { kind, text: Some(input.text), attachment: None };
    let message =
        thread::post(&write, change.core.notifier.as_ref(), id, &actor(&change.user), Channel::Api, new).await?;
    let request = requests::get(&write, id).await?.ok_or(Error::NotFound("request"))?;
    let action = if kind == Kind::Reply { "request.replied" } else { "request.noted" };
    let entry = Entry::new(action, "request", id).with_details(serde_json::json!({
        "number": request.number,
        "message_id": message.id,
        "characters": message.body.as_deref().map_or(0, |b| b.chars().count()),
    }));
    let entry_view = thread::thread(&write, id).await?.into_iter().find(|e| e.message.id == message.id);
    audit::record(&write, &change.origin.of(&change.user), entry).await?;
    write.commit().await?;
    let entry_view = entry_view.ok_or(Error::NotFound("message"))?;
    Ok((StatusCode::CREATED, ApiJson(entry_view.into())))
}

/// The photo the client filed the request with.
#[utoipa::path(get, path = "/requests/{id}/photo", tag = "requests", params(("id" = i32, Path)),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The photo's bytes", content_type = "image/jpeg"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 404, body = ErrorBody, description = "No such request, or it has no photo"),
        (status = 502, body = ErrorBody, description = "Telegram did not give the file"),
        (status = 503, body = ErrorBody, description = "The bot is off: no files can be fetched")))]
async fn request_photo(
    _user: CurrentUser,
    State(db): State<DatabaseConnection>,
    State(api): State<Option<BotApi>>,
    Path(id): Path<i32>,
) -> Result<Response, ApiError> {
    let request = requests::get(&db, id).await?.ok_or(Error::NotFound("request"))?;
    let file_id = request.photo_file_id.ok_or(Error::NotFound("photo"))?;
    fetch(api, &file_id, Some("image/jpeg"), None).await
}

/// The photo or document of a message of a request's thread.
#[utoipa::path(get, path = "/requests/{id}/thread/{message_id}/file", tag = "requests",
    params(("id" = i32, Path), ("message_id" = i32, Path)),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The file's bytes, as its media type (images and PDFs shown, anything else downloaded)", content_type = "application/octet-stream"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 404, body = ErrorBody, description = "No such request or message, or the message has no file"),
        (status = 502, body = ErrorBody, description = "Telegram did not give the file"),
        (status = 503, body = ErrorBody, description = "The bot is off: no files can be fetched")))]
async fn message_file(
    _user: CurrentUser,
    State(db): State<DatabaseConnection>,
    State(api): State<Option<BotApi>>,
    Path((id, message_id)): Path<(i32, i32)>,
) -> Result<Response, ApiError> {
    let message: thread::Message = thread::with_attachment(&db, id, message_id).await?;
    let file_id = message.attachment_file_id.unwrap_or_default();
    let mime = match message.attachment_kind {
        Some(AttachmentKind::Photo) => Some("image/jpeg".to_string()),
        _ => message.attachment_mime,
    };
    fetch(api, &file_id, mime.as_deref(), message.attachment_name.as_deref()).await
}

/// Media types shown in the browser; anything else is downloaded, never rendered.
const SHOWN: &[&str] = &["image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf"];

fn guess(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext.to_ascii_lowercase()).as_deref() {
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("pdf") => "application/pdf",
        _ => "application/octet-stream",
    }
}

/// Fetches a file from Telegram and answers it, with headers that keep anything but an image or
/// a PDF from being rendered.
async fn fetch(
    api: Option<BotApi>,
    file_id: &str,
    mime: Option<&str>,
    name: Option<&str>,
) -> Result<Response, ApiError> {
    let api = api.ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "bot_off",
            "the Telegram bot is off: its files cannot be fetched",
        )
    })?;
    let file = api.download(file_id).await.map_err(|e| {
        tracing::warn!(error = %e, "a file could not be fetched from Telegram");
        let message = match e {
            TelegramError::Client { description, .. } => format!("Telegram did not give the file: {description}"),
            _ => "Telegram could not be reached for the file; try again later".to_string(),
        };
        ApiError::new(StatusCode::BAD_GATEWAY, "telegram_file_unavailable", message)
    })?;
    let mime = mime.map(str::to_ascii_lowercase).unwrap_or_else(|| guess(&file.path).to_string());
    let shown = SHOWN.contains(&mime.as_str());
    let content_type = if shown { mime } else { "application/octet-stream".to_string() };
    let name: String = name
        .map(str::to_string)
        .unwrap_or_else(|| file.path.rsplit('/').next().unwrap_or("file").to_string())
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | ' '))
        .collect();
    let disposition = format!("{}; filename=\"{}\"", if shown { "inline" } else { "attachment" }, name);
    let mut response = file.bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_str(&content_type).map_err(|_| Error::NotFound("file"))?);
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=3600"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_images_and_pdfs_are_shown() {
        assert_eq!(guess("photos/file_3.JPG"), "image/jpeg");
        assert_eq!(guess("documents/file_1.html"), "application/octet-stream");
        assert!(!SHOWN.contains(&"text/html"));
        assert!(!SHOWN.contains(&"image/svg+xml"));
    }
}
