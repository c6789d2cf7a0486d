//! Protection layers for the whole server: client IP (trusted proxies), security headers,
//! CORS, timeouts, compression, body limits and per-IP rate limits (governor).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::timeout::TimeoutLayer;

use crate::config::{Config, IpNet};
use crate::http::ApiError;

/// Largest request body under `/api`.
pub const API_MAX_BODY: usize = 10 * 1024 * 1024;
/// How long a request may take before it is answered 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// Who sent the request, as far as it can be trusted; in every request's extensions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientInfo {
    pub ip: IpAddr,
    /// The client reached us over https (told by a trusted proxy's `X-Forwarded-Proto`).
    pub https: bool,
}

/// The client's IP: the TCP peer, or — when the peer is a trusted proxy — the last hop of
/// `X-Forwarded-For` that is not itself a trusted proxy.
pub fn client_info(peer: IpAddr, headers: &axum::http::HeaderMap, trusted: &[IpNet]) -> ClientInfo {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(peer) {
        return ClientInfo { ip: peer, https: false };
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .collect();
    let mut ip = peer;
    for hop in hops.iter().rev() {
        let Ok(hop) = hop.parse::<IpAddr>() else { break };
        ip = hop;
        if !is_trusted(hop) {
            break;
        }
    }
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"));
    ClientInfo { ip, https }
}

async fn with_client_info(State(trusted): State<Arc<Vec<IpNet>>>, mut req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |ConnectInfo(addr)| addr.ip());
    let info = client_info(peer, req.headers(), &trusted);
    req.extensions_mut().insert(info);
    next.run(req).await
}

async fn security_headers(req: Request, next: Next) -> Response {
    let https = req.extensions().get::<ClientInfo>().is_some_and(|c| c.https);
    let mut res = next.run(req).await;
    let headers = res.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    if https {
        headers
            .insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
    res
}

/// A 429 in the JSON error shape with `Retry-After`.
fn too_many(wait: Duration) -> Response {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let seconds = seconds.max(1);
    let mut res = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("too many requests; retry in {seconds} s"),
    )
    .into_response();
    res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    res
}

/// A per-key limiter answering how long to wait when the key is over its quota.
pub struct Limiter<K: std::hash::Hash + Eq + Clone> {
    inner: DefaultKeyedRateLimiter<K>,
}

impl<K: std::hash::Hash + Eq + Clone> Limiter<K> {
    pub fn per_minute(n: u32) -> Self {
        let n = NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
        Self { inner: RateLimiter::keyed(Quota::per_minute(n)) }
    }

    /// `Err(wait)` when `key` has used up its quota.
    pub fn check(&self, key: &K) -> Result<(), Duration> {
        // Forget keys that are back at a full quota now and then, so memory stays bounded.
        if self.inner.len() > 10_000 {
            self.inner.retain_recent();
        }
        self.inner.check_key(key).map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

/// The general per-IP limit, on the REST API and `/metrics`: not on `/health`, the Telegram
/// webhook nor the dashboard's files (one page load fetches about twenty of them).
async fn general_limit(State(limiter): State<Arc<Limiter<IpAddr>>>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if !(path.starts_with("/api/") || path == "/metrics") {
        return next.run(req).await;
    }
    let ip = req.extensions().get::<ClientInfo>().map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.ip);
    match limiter.check(&ip) {
        Ok(()) => next.run(req).await,
        Err(wait) => too_many(wait),
    }
}

/// A body announced larger than the limit is refused before it is read (413 in the JSON
/// shape); a chunked one is cut by `DefaultBodyLimit` when an extractor reads it.
async fn announced_body_limit(req: Request, next: Next) -> Response {
    let length = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if length.is_some_and(|n| n > API_MAX_BODY as u64) {
        return ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "the body is larger than 10 MiB")
            .into_response();
    }
    next.run(req).await
}

/// The API's own limits: the 10 MiB body limit.
pub fn api_layers<S: Clone + Send + Sync + 'static>(api: Router<S>) -> Router<S> {
    api.layer(DefaultBodyLimit::max(API_MAX_BODY)).layer(middleware::from_fn(announced_body_limit))
}

fn cors(origins: &[String]) -> Option<CorsLayer> {
    let origins: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    if origins.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_credentials(true)
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, HeaderName::from_static("x-requested-with")])
            .max_age(Duration::from_secs(600)),
    )
}

/// Wraps the whole application in the protection layers (outermost last).
pub fn protect<S: Clone + Send + Sync + 'static>(app: Router<S>, config: &Config) -> Router<S> {
    let general = Arc::new(Limiter::<IpAddr>::per_minute(config.api_rate_limit_per_minute));
    let login = Arc::new(super::login_guard::LoginGuard::per_minute(config.login_rate_limit_per_minute));
    let trusted = Arc::new(config.trusted_proxies.clone());
    app.layer(middleware::from_fn_with_state(general, general_limit))
        .layer(axum::Extension(login))
        .layer(CompressionLayer::new().gzip(true))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, REQUEST_TIMEOUT))
        .layer(tower::util::option_layer(cors(&config.cors_origins)))
        .layer(middleware::from_fn(security_headers))
        .layer(middleware::from_fn_with_state(trusted, with_client_info))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;

    fn net(s: &str) -> IpNet {
        let (addr, prefix) = s.split_once('/').unwrap();
        IpNet { addr: addr.parse().unwrap(), prefix: prefix.parse().unwrap() }
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "6.6.6.6, 1.2.3.4, 10.0.0.2".parse().unwrap());
        headers.insert("x-forwarded-proto", "https".parse().unwrap());
        let trusted = [net("10.0.0.0/8")];
        let peer: IpAddr = "10.0.0.1".parse().unwrap();
        // The spoofable left part (6.6.6.6) is ignored: the last untrusted hop is the client.
        assert_eq!(client_info(peer, &headers, &trusted), ClientInfo { ip: "1.2.3.4".parse().unwrap(), https: true });
        let stranger: IpAddr = "8.8.8.8".parse().unwrap();
        assert_eq!(client_info(stranger, &headers, &trusted), ClientInfo { ip: stranger, https: false });
        assert_eq!(client_info(peer, &HeaderMap::new(), &trusted), ClientInfo { ip: peer, https: false });
    }

    #[test]
    fn limiter_answers_how_long_to_wait() {
        let limiter = Limiter::<u8>::per_minute(2);
        assert!(limiter.check(&1).is_ok() && limiter.check(&1).is_ok());
        let wait = limiter.check(&1).unwrap_err();
        assert!(wait > Duration::from_secs(20) && wait <= Duration::from_secs(30), "{wait:?}");
        assert!(limiter.check(&2).is_ok(), "another key has its own quota");
    }
}
