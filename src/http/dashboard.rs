//! The dashboard: the static files of `STATIC_DIR` (`static/` by default), served by tower-http's
//! `ServeDir` as the router's fallback, so `/` is `index.html`. `ServeDir` sets the content type
//! and answers `If-Modified-Since`; this adds a weak ETag (modification time and length) with
//! `If-None-Match`, and the caching policy: `no-cache` for `index.html` (always revalidated, so a
//! new release is seen at once), an hour for the assets. Unknown `/api/*` paths and missing files
//! get the JSON 404.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::ServeDir;

use super::AppState;

const INDEX_CACHE: &str = "no-cache";
const ASSET_CACHE: &str = "public, max-age=3600";

pub async fn serve(State(state): State<AppState>, request: Request) -> Response {
    let path = request.uri().path();
    let is_api = path == "/api" || path.starts_with("/api/");
    if is_api || !matches!(*request.method(), Method::GET | Method::HEAD) {
        return crate::api_error::not_found().await.into_response();
    }
    let is_index = path == "/" || path.ends_with('/') || path.ends_with("/index.html");
    let if_none_match = request.headers().get(header::IF_NONE_MATCH).cloned();

    let service = ServeDir::new(&state.config.static_dir).append_index_html_on_directories(true);
    let Ok(response) = service.oneshot(request).await;
    let status = response.status();
    if status == StatusCode::NOT_FOUND {
        return crate::api_error::not_found().await.into_response();
    }
    let mut response = response.into_response();
    if !(status.is_success() || status == StatusCode::NOT_MODIFIED) {
        return response;
    }
    let cache = if is_index { INDEX_CACHE } else { ASSET_CACHE };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    let etag = if status == StatusCode::OK { etag_of(headers) } else { None };
    if let Some(etag) = etag {
        let matches = if_none_match
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag || tag.trim() == "*"));
        let value = HeaderValue::from_str(&etag).expect("an ETag is visible ASCII");
        if matches {
            let mut not_modified = StatusCode::NOT_MODIFIED.into_response();
            let out = not_modified.headers_mut();
            out.insert(header::ETAG, value);
            out.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
            if let Some(modified) = response.headers().get(header::LAST_MODIFIED) {
                out.insert(header::LAST_MODIFIED, modified.clone());
            }
            return not_modified;
        }
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

/// `W/"<hex of last-modified and length>"` from the headers ServeDir set on a full answer.
fn etag_of(headers: &axum::http::HeaderMap) -> Option<String> {
    let modified = headers.get(header::LAST_MODIFIED)?.to_str().ok()?;
    let length = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).unwrap_or("");
    // FNV-1a: stable across builds and platforms, enough to tell versions of a file apart.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in modified.bytes().chain([b'/']).chain(length.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    Some(format!("W/\"{hash:016x}\""))
}
