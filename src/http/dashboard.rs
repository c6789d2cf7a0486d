//! The dashboard, served as the router's fallback, so `/` is `index.html`. Its files are compiled
//! into the binary (`build.rs`, memory-serve): the binary serves the same dashboard from any
//! directory. Each file carries a strong ETag (its SHA-256) answered with 304 on `If-None-Match`,
//! and text files are sent brotli- or gzip-compressed as `Accept-Encoding` allows, compressed once
//! (brotli at build time in release builds, gzip when the server starts), not per request.
//!
//! `STATIC_DIR` serves a directory instead, read on every request (for working on the dashboard
//! without rebuilding): tower-http's `ServeDir`, with a weak ETag made of the modification time
//! and length, `If-None-Match` and `If-Modified-Since`.
//!
//! Either way: `no-cache` for `index.html` (always revalidated, so a new release is seen at once),
//! an hour for the assets; unknown `/api/*` paths, other methods and missing files get the JSON
//! 404.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use memory_serve::CacheControl;
use tower::ServiceExt;
use tower_http::services::ServeDir;

const INDEX_CACHE: &str = "no-cache";
const ASSET_CACHE: &str = "public, max-age=3600";

/// Where the dashboard's files come from.
#[derive(Clone)]
pub enum Files {
    /// Compiled into the binary.
    Embedded(Router),
    /// A directory on disk (`STATIC_DIR`).
    Directory(Arc<Path>),
}

impl Files {
    pub fn new(static_dir: Option<&Path>) -> Self {
        match static_dir {
            Some(dir) => Files::Directory(dir.into()),
            None => Files::Embedded(embedded().clone()),
        }
    }
}

/// The compiled-in files' router, made once per process: memory-serve decompresses and
/// gzip-compresses the files when it is made, and keeps them for the life of the process.
fn embedded() -> &'static Router {
    static ROUTER: OnceLock<Router> = OnceLock::new();
    ROUTER.get_or_init(|| {
        memory_serve::load!()
            .index_file(Some("/index.html"))
            .html_cache_control(CacheControl::NoCache)
            .cache_control(CacheControl::Custom(ASSET_CACHE))
            .enable_brotli(true)
            .enable_gzip(true)
            .into_router()
    })
}

pub async fn serve(files: Files, request: Request) -> Response {
    let path = request.uri().path();
    let is_api = path == "/api" || path.starts_with("/api/");
    if is_api || !matches!(*request.method(), Method::GET | Method::HEAD) {
        return crate::api_error::not_found().await.into_response();
    }
    match files {
        Files::Embedded(router) => {
            let Ok(response) = router.oneshot(request).await;
            if response.status() == StatusCode::NOT_FOUND {
                return crate::api_error::not_found().await.into_response();
            }
            response
        }
        Files::Directory(dir) => from_directory(&dir, request).await,
    }
}

async fn from_directory(dir: &Path, request: Request) -> Response {
    let path = request.uri().path();
    let is_index = path == "/" || path.ends_with('/') || path.ends_with("/index.html");
    let if_none_match = request.headers().get(header::IF_NONE_MATCH).cloned();

    let service = ServeDir::new(dir).append_index_html_on_directories(true);
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
