//! One exchange with Buildkite over a [`Transport`]: a timeout, bounded retries with backoff on 429,
//! 5xx, time-outs and connection failures (honouring `Retry-After` / `RateLimit-Reset`), a cap on the
//! body read, and the mapping of error statuses to [`ApiError`], the same whatever the transport.

use super::error::ApiError;
use super::memo::Memo;
use super::ratelimit::{self, RateLimits};
use super::transport::{Body, Request, Response, Transport};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode, Url};
use std::sync::Arc;
use std::time::Duration;

/// Largest response body read; anything bigger is refused rather than held in memory.
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;
/// Longest whole transfer of a streamed body (a 1 GiB log at about 1 MB/s).
const STREAM_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// Longest wait for a rate-limit reset that is worth sleeping through inside one tool call.
const MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(20);
/// First backoff step; doubles per attempt.
const BACKOFF_BASE: Duration = Duration::from_millis(250);
/// Longest single backoff.
const BACKOFF_CAP: Duration = Duration::from_secs(5);

/// Retry and timeout settings.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Per-request timeout.
    pub timeout: Duration,
}

/// Which endpoint family a request goes to; decides how a 403 reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// The GraphQL API.
    GraphQL,
    /// The REST API.
    Rest,
}

/// A transport under a retry policy.
#[derive(Clone, Debug)]
pub struct Http {
    transport: Arc<dyn Transport>,
    policy: RetryPolicy,
    /// What the answers' `RateLimit-*` headers said (shared by the clones).
    limits: Arc<RateLimits>,
    /// Answers that cannot change, kept for this token (shared by the clones).
    memo: Arc<Memo>,
}

impl Http {
    /// Sends through `transport` under `policy`.
    pub fn new(transport: Arc<dyn Transport>, policy: RetryPolicy) -> Self {
        Http { transport, policy, limits: Arc::default(), memo: Arc::default() }
    }

    /// The rate limits the answers reported.
    pub fn rate_limits(&self) -> &RateLimits {
        &self.limits
    }

    /// The answers kept for this token.
    pub fn memo(&self) -> &Memo {
        &self.memo
    }

    /// The transport requests go through.
    pub fn transport(&self) -> &dyn Transport {
        self.transport.as_ref()
    }

    /// The per-request timeout (for a streamed body: the longest wait for each chunk).
    pub fn timeout(&self) -> Duration {
        self.policy.timeout
    }

    /// The retries the policy allows after a first attempt.
    pub fn max_retries(&self) -> u32 {
        self.policy.max_retries
    }

    /// Sends one request (retrying as the policy allows) and returns the body of a 2xx answer.
    pub async fn send(
        &self,
        method: Method,
        url: &Url,
        body: Option<&serde_json::Value>,
        endpoint: Endpoint,
        idempotent: bool,
    ) -> Result<Vec<u8>, ApiError> {
        self.send_with(self.policy, method, url, body, endpoint, idempotent).await
    }

    /// Like [`Http::send`] under another policy (e.g. one quick attempt for a start-up check).
    /// A request that is not `idempotent` (a mutation) is never sent twice.
    pub async fn send_with(
        &self,
        policy: RetryPolicy,
        method: Method,
        url: &Url,
        body: Option<&serde_json::Value>,
        endpoint: Endpoint,
        idempotent: bool,
    ) -> Result<Vec<u8>, ApiError> {
        let call = Call {
            policy,
            method,
            url,
            body,
            headers: &[("accept", "application/json")],
            endpoint,
            idempotent,
            bearer: true,
        };
        self.exchange(call).await.map(|(_, bytes)| bytes)
    }

    /// Like [`Http::send`] with `Buildkite-Include-Query-Stats: true` when `stats` (GraphQL then
    /// adds the requested and actual complexity to the answer's body).
    pub async fn send_graphql(
        &self,
        url: &Url,
        body: &serde_json::Value,
        idempotent: bool,
        stats: bool,
    ) -> Result<Vec<u8>, ApiError> {
        let with_stats: &[(&str, &str)] = &[("accept", "application/json"), ("buildkite-include-query-stats", "true")];
        let call = Call {
            policy: self.policy,
            method: Method::POST,
            url,
            body: Some(body),
            headers: if stats { with_stats } else { &with_stats[..1] },
            endpoint: Endpoint::GraphQL,
            idempotent,
            bearer: true,
        };
        self.exchange(call).await.map(|(_, bytes)| bytes)
    }

    /// A GET for text (e.g. a job log) with extra headers such as `Range`; returns the response
    /// headers with the body.
    pub async fn get_text(&self, url: &Url, headers: &[(&str, &str)]) -> Result<(HeaderMap, Vec<u8>), ApiError> {
        self.exchange(self.rest_call(Method::GET, url, headers, true)).await
    }

    /// A REST request without a body, under this client's policy; idempotent, so retried.
    fn rest_call<'a>(&self, method: Method, url: &'a Url, headers: &'a [(&'a str, &'a str)], bearer: bool) -> Call<'a> {
        Call {
            policy: self.policy,
            method,
            url,
            body: None,
            headers,
            endpoint: Endpoint::Rest,
            idempotent: true,
            bearer,
        }
    }

    /// A GET that carries no token: for pre-signed download URLs on other hosts (artifact storage),
    /// which must never see the Buildkite token.
    pub async fn get_anonymous(&self, url: &Url, headers: &[(&str, &str)]) -> Result<(HeaderMap, Vec<u8>), ApiError> {
        self.exchange(self.rest_call(Method::GET, url, headers, false)).await
    }

    /// A `HEAD` request: the headers of a 2xx answer (e.g. a log's `Content-Length`).
    pub async fn head(&self, url: &Url) -> Result<HeaderMap, ApiError> {
        self.exchange(self.rest_call(Method::HEAD, url, &[], true)).await.map(|(headers, _)| headers)
    }

    /// A GET whose successful body is left unread, to be streamed by the caller (a whole job log).
    /// Retries happen only before the body starts.
    pub async fn get_stream(&self, url: &Url, headers: &[(&str, &str)]) -> Result<Body, ApiError> {
        self.exchange_inner(self.rest_call(Method::GET, url, headers, true), true).await.map(|r| r.body)
    }

    async fn exchange(&self, call: Call<'_>) -> Result<(HeaderMap, Vec<u8>), ApiError> {
        let Response { headers, body, .. } = self.exchange_inner(call, false).await?;
        match body {
            Body::Bytes(bytes) => Ok((headers, bytes)),
            Body::Stream(_) => Ok((headers, Vec::new())),
        }
    }

    /// The 2xx answer to `call`, its body read whole unless `stream`.
    async fn exchange_inner(&self, call: Call<'_>, stream: bool) -> Result<Response, ApiError> {
        let Call { policy, method, url, body, headers, endpoint, idempotent, bearer } = call;
        let attempts_allowed = if idempotent { policy.max_retries + 1 } else { 1 };
        let timeout = ApiError::Timeout { seconds: policy.timeout.as_secs().max(1), attempts: 0 };
        // A streamed body (a whole log) may take longer than one request's timeout: its reader
        // times each chunk instead, and this only bounds the whole transfer loosely.
        let total = if stream { STREAM_TIMEOUT } else { policy.timeout };
        let request = Request { method: method.clone(), url, headers, body, bearer, timeout: total };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let last = attempt >= attempts_allowed;
            tracing::debug!(%method, path = url.path(), attempt, "buildkite request");
            // Each failure is either final, or retryable after an optional wait.
            let (error, wait): (ApiError, Option<Duration>) = match self.transport.send(&request).await {
                Err(ApiError::Timeout { .. }) => (timeout.clone(), None),
                Err(e @ ApiError::Transport { .. }) => (e, None),
                Err(e) => return Err(e),
                Ok(response) if stream && response.status.is_success() => {
                    self.limits.record(endpoint, &response.headers);
                    // Only Buildkite's answers to this token count (not a storage host's).
                    if bearer {
                        self.memo.answered(response.status.as_u16());
                    }
                    return Ok(response);
                }
                Ok(Response { status, headers, body }) => match read_body({
                    self.limits.record(endpoint, &headers);
                    if bearer {
                        self.memo.answered(status.as_u16());
                    }
                    body
                })
                .await
                {
                    Err(BodyError::TooLarge) => {
                        return Err(ApiError::Decode {
                            detail: format!("the response is larger than {} MiB", MAX_BODY_BYTES / (1024 * 1024)),
                        });
                    }
                    Err(BodyError::Read(ApiError::Timeout { .. })) => (timeout.clone(), None),
                    Err(BodyError::Read(e)) => (e, None),
                    Ok(bytes) if status.is_success() => {
                        return Ok(Response { status, headers, body: Body::Bytes(bytes) });
                    }
                    Ok(bytes) => {
                        tracing::debug!(status = status.as_u16(), attempt, "buildkite error status");
                        match status {
                            StatusCode::TOO_MANY_REQUESTS => {
                                let (limit, reset) = ratelimit::exhausted(endpoint, &headers, &message_of(&bytes));
                                let wait = retry_after(&headers)
                                    .or(reset.map(Duration::from_secs))
                                    .or_else(|| reset_after(&headers));
                                let error = ApiError::RateLimited {
                                    limit,
                                    retry_after: wait.map(|w| w.as_secs()),
                                    attempts: 0,
                                };
                                if wait.is_some_and(|w| w > MAX_RATE_LIMIT_WAIT) {
                                    return Err(with_attempts(error, attempt));
                                }
                                (error, Some(wait.unwrap_or_else(|| step(attempt))))
                            }
                            s if s.is_server_error() => (ApiError::Server { status: s.as_u16(), attempts: 0 }, None),
                            other => return Err(final_status(other, &bytes, endpoint, url)),
                        }
                    }
                },
            };
            if last {
                return Err(with_attempts(error, attempt));
            }
            tokio::time::sleep(wait.unwrap_or_else(|| step(attempt))).await;
        }
    }
}

/// One request's parts.
struct Call<'a> {
    policy: RetryPolicy,
    method: Method,
    url: &'a Url,
    body: Option<&'a serde_json::Value>,
    headers: &'a [(&'a str, &'a str)],
    endpoint: Endpoint,
    idempotent: bool,
    /// Whether to send the token (never to another host's pre-signed URL).
    bearer: bool,
}

/// The error for a status that is not worth retrying.
fn final_status(status: StatusCode, bytes: &[u8], endpoint: Endpoint, url: &Url) -> ApiError {
    let message = message_of(bytes);
    match (status, endpoint) {
        (StatusCode::UNAUTHORIZED, _) => ApiError::Unauthorized,
        (StatusCode::FORBIDDEN, Endpoint::GraphQL) => ApiError::NoGraphqlAccess { message },
        (StatusCode::FORBIDDEN, Endpoint::Rest) => ApiError::Forbidden { message },
        (StatusCode::NOT_FOUND, Endpoint::GraphQL) => ApiError::Http {
            status: 404,
            message: format!("no GraphQL endpoint at {url}: check BUILDKITE_GRAPHQL_URL"),
        },
        (StatusCode::NOT_FOUND, Endpoint::Rest) => ApiError::NotFound { what: url.path().to_string(), hint: message },
        (s, _) => ApiError::Http { status: s.as_u16(), message },
    }
}

/// Records how many attempts a retryable error took.
fn with_attempts(error: ApiError, attempts: u32) -> ApiError {
    match error {
        ApiError::Timeout { seconds, .. } => ApiError::Timeout { seconds, attempts },
        ApiError::RateLimited { limit, retry_after, .. } => ApiError::RateLimited { limit, retry_after, attempts },
        ApiError::Server { status, .. } => ApiError::Server { status, attempts },
        other => other,
    }
}

enum BodyError {
    TooLarge,
    Read(ApiError),
}

/// Reads a body chunk by chunk, refusing one over [`MAX_BODY_BYTES`].
async fn read_body(mut body: Body) -> Result<Vec<u8>, BodyError> {
    if body.size_hint().is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(BodyError::TooLarge);
    }
    if let Body::Bytes(bytes) = body {
        return Ok(bytes);
    }
    let mut whole = Vec::new();
    while let Some(chunk) = body.chunk().await.map_err(BodyError::Read)? {
        if whole.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(BodyError::TooLarge);
        }
        whole.extend_from_slice(&chunk);
    }
    Ok(whole)
}

/// The header `name` as a number of seconds.
fn seconds_header(headers: &HeaderMap, name: &str) -> Option<Duration> {
    headers.get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok()).map(Duration::from_secs)
}

/// `Retry-After`, in seconds.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    seconds_header(headers, "retry-after")
}

/// `Retry-After`, else `RateLimit-Reset`, else `RateLimit-User-Reset`, in seconds.
fn reset_after(headers: &HeaderMap) -> Option<Duration> {
    ["retry-after", "ratelimit-reset", "ratelimit-user-reset"].iter().find_map(|name| seconds_header(headers, name))
}

fn step(attempt: u32) -> Duration {
    let exp = BACKOFF_BASE.saturating_mul(1u32 << attempt.saturating_sub(1).min(8));
    let jitter_ms = u64::from(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_millis()).unwrap_or(0),
    ) % 100;
    exp.min(BACKOFF_CAP) + Duration::from_millis(jitter_ms)
}

/// Buildkite's `{"message": …}` or the first `errors[].message`, else the start of the body.
pub fn message_of(bytes: &[u8]) -> String {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) {
        if let Some(m) = value.get("message").and_then(|m| m.as_str()) {
            return crate::render::clean_text(m, 200);
        }
        if let Some(m) = value.pointer("/errors/0/message").and_then(|m| m.as_str()) {
            return crate::render::clean_text(m, 200);
        }
    }
    let text = String::from_utf8_lossy(bytes);
    let text = crate::render::clean_text(text.trim(), 120);
    if text.is_empty() { "no message".to_string() } else { text }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_after_prefers_retry_after_then_ratelimit_reset() {
        let mut h = HeaderMap::new();
        h.insert("ratelimit-reset", "7".parse().unwrap());
        assert_eq!(reset_after(&h), Some(Duration::from_secs(7)));
        h.insert("retry-after", "2".parse().unwrap());
        assert_eq!(reset_after(&h), Some(Duration::from_secs(2)));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(step(1) < step(3));
        assert!(step(30) <= BACKOFF_CAP + Duration::from_millis(100));
    }

    /// Answers each request with the next scripted status and body, counting requests.
    #[derive(Debug, Default)]
    struct Scripted {
        answers: std::sync::Mutex<Vec<(u16, &'static str)>>,
        sent: std::sync::atomic::AtomicUsize,
    }

    impl Transport for Scripted {
        fn send<'a>(
            &'a self,
            _: &'a Request<'a>,
        ) -> super::super::transport::BoxFuture<'a, Result<Response, ApiError>> {
            self.sent.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let (status, body) = self.answers.lock().unwrap().remove(0);
            let status = StatusCode::from_u16(status).unwrap();
            Box::pin(std::future::ready(Ok(Response {
                status,
                headers: HeaderMap::new(),
                body: Body::Bytes(body.as_bytes().to_vec()),
            })))
        }
    }

    fn over(answers: &[(u16, &'static str)]) -> (Arc<Scripted>, Http) {
        let transport = Arc::new(Scripted { answers: std::sync::Mutex::new(answers.to_vec()), ..Scripted::default() });
        let policy = RetryPolicy { max_retries: 2, timeout: Duration::from_secs(1) };
        (transport.clone(), Http::new(transport, policy))
    }

    #[tokio::test]
    async fn statuses_map_the_same_over_any_transport() {
        let url = Url::parse("https://api.buildkite.com/v2/x").unwrap();
        let (t, http) = over(&[(503, ""), (200, "{}")]);
        assert_eq!(http.send(Method::GET, &url, None, Endpoint::Rest, true).await.unwrap(), b"{}");
        assert_eq!(t.sent.load(std::sync::atomic::Ordering::SeqCst), 2);
        // A mutation is sent once, whatever the answer.
        let (t, http) = over(&[(503, ""), (200, "{}")]);
        let e = http.send(Method::POST, &url, None, Endpoint::GraphQL, false).await.unwrap_err();
        assert_eq!(
            (e, t.sent.load(std::sync::atomic::Ordering::SeqCst)),
            (ApiError::Server { status: 503, attempts: 1 }, 1)
        );
        let (_, http) = over(&[(404, r#"{"message":"No job found"}"#)]);
        let e = http.get_text(&url, &[]).await.unwrap_err();
        assert_eq!(e, ApiError::NotFound { what: "/v2/x".into(), hint: "No job found".into() });
        let (_, http) = over(&[(416, "")]);
        assert!(matches!(http.get_text(&url, &[]).await, Err(ApiError::Http { status: 416, .. })));
        let (_, http) = over(&[(401, "")]);
        assert_eq!(http.head(&url).await.unwrap_err(), ApiError::Unauthorized);
    }

    #[test]
    fn message_of_reads_rest_and_graphql_bodies() {
        assert_eq!(message_of(br#"{"message":"No job found"}"#), "No job found");
        assert_eq!(message_of(br#"{"errors":[{"message":"boom"}]}"#), "boom");
        assert_eq!(message_of(b"<html>oops</html>"), "<html>oops</html>");
    }
}
