//! The one seam under the API edge: a [`Transport`] sends one HTTP request once and hands back the
//! status, headers and body. Retries, the body cap and the mapping of statuses to [`ApiError`] sit
//! above it (in [`super::http`]), so every transport is read the same way.

use super::error::ApiError;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode, Url};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// A boxed future, as the object-safe [`Transport`] returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Sends requests. Failures that are not an HTTP answer are reported as [`ApiError::Timeout`] (the
/// request timed out) or [`ApiError::Transport`] (no connection), which are retried; any other error
/// (e.g. [`ApiError::MissingToken`]) is final.
pub trait Transport: std::any::Any + std::fmt::Debug + Send + Sync {
    /// Sends `request` once, and answers whatever the server answered, error statuses included.
    fn send<'a>(&'a self, request: &'a Request<'a>) -> BoxFuture<'a, Result<Response, ApiError>>;
}

/// One request, as built by the API edge.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The method.
    pub method: Method,
    /// The whole URL.
    pub url: &'a Url,
    /// Extra headers, e.g. `("range", "bytes=-1000")`.
    pub headers: &'a [(&'a str, &'a str)],
    /// A JSON body (a GraphQL request).
    pub body: Option<&'a serde_json::Value>,
    /// Whether to send the token (never to another host's pre-signed URL).
    pub bearer: bool,
    /// The longest the whole exchange may take.
    pub timeout: Duration,
}

impl Request<'_> {
    /// The value of the extra header `name` (case-insensitive), if set.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| *v)
    }
}

/// One answer: status, headers, and a body that may still be arriving.
#[derive(Debug)]
pub struct Response {
    /// The status.
    pub status: StatusCode,
    /// The headers (`Content-Range`, `Content-Length`, `Link`, `Retry-After`, ...).
    pub headers: HeaderMap,
    /// The body.
    pub body: Body,
}

/// A body: whole, or read chunk by chunk.
pub enum Body {
    /// All of it.
    Bytes(Vec<u8>),
    /// Read as it arrives.
    Stream(Box<dyn Chunks>),
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Body::Bytes(bytes) => write!(f, "Body::Bytes({} bytes)", bytes.len()),
            Body::Stream(_) => f.write_str("Body::Stream"),
        }
    }
}

impl Body {
    /// The body's size when known before reading it.
    pub fn size_hint(&self) -> Option<u64> {
        match self {
            Body::Bytes(bytes) => Some(bytes.len() as u64),
            Body::Stream(chunks) => chunks.size_hint(),
        }
    }

    /// The next chunk, or `None` at the end. A whole body is one chunk.
    pub async fn chunk(&mut self) -> Result<Option<Vec<u8>>, ApiError> {
        match self {
            Body::Bytes(bytes) if bytes.is_empty() => Ok(None),
            Body::Bytes(bytes) => Ok(Some(std::mem::take(bytes))),
            Body::Stream(chunks) => chunks.next().await,
        }
    }
}

/// A body arriving in chunks.
pub trait Chunks: Send {
    /// The next chunk, or `None` at the end; failures as for [`Transport::send`].
    fn next(&mut self) -> BoxFuture<'_, Result<Option<Vec<u8>>, ApiError>>;
    /// The whole body's size, when the server announced it.
    fn size_hint(&self) -> Option<u64>;
}
