//! The real [`Transport`]: HTTPS with reqwest, the bearer token attached when a request asks for it.

use super::error::ApiError;
use super::transport::{Body, BoxFuture, Chunks, Request, Response, Transport};
use std::time::Duration;

/// A reqwest client bound to a token.
#[derive(Clone)]
pub struct Network {
    client: reqwest::Client,
    token: Option<String>,
}

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Network").field("token", &self.token.as_ref().map(|_| "<redacted>")).finish()
    }
}

impl Network {
    /// Builds the client (`timeout` bounds each request, and the connection at most 10 s). Fails only
    /// if the TLS stack cannot start.
    pub fn new(token: Option<String>, timeout: Duration) -> Result<Self, ApiError> {
        let client = reqwest::Client::builder()
            .user_agent(crate::USER_AGENT)
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            // A burst of calls opens many connections; keeping every one idle kept their buffers
            // (the RSS growth after pipelined calls). A few stay warm, the rest close.
            .pool_max_idle_per_host(4)
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| ApiError::Transport { host: "-".into(), detail: e.without_url().to_string() })?;
        Ok(Network { client, token })
    }
}

impl Transport for Network {
    fn send<'a>(&'a self, request: &'a Request<'a>) -> BoxFuture<'a, Result<Response, ApiError>> {
        Box::pin(async move {
            let token = match (request.bearer, self.token.as_deref()) {
                (true, None) => return Err(ApiError::MissingToken),
                (true, Some(token)) => Some(token),
                (false, _) => None,
            };
            let host = request.url.host_str().unwrap_or("?").to_string();
            let mut builder = self.client.request(request.method.clone(), request.url.clone()).timeout(request.timeout);
            if let Some(token) = token {
                builder = builder.bearer_auth(token);
            }
            for (name, value) in request.headers {
                builder = builder.header(*name, *value);
            }
            if let Some(body) = request.body {
                builder = builder.json(body);
            }
            let response = builder.send().await.map_err(|e| failure(e, &host))?;
            Ok(Response {
                status: response.status(),
                headers: response.headers().clone(),
                body: Body::Stream(Box::new(Incoming { response, host })),
            })
        })
    }
}

/// A response body read as it arrives.
struct Incoming {
    response: reqwest::Response,
    host: String,
}

impl Chunks for Incoming {
    fn next(&mut self) -> BoxFuture<'_, Result<Option<Vec<u8>>, ApiError>> {
        Box::pin(async move {
            match self.response.chunk().await {
                Ok(chunk) => Ok(chunk.map(Vec::from)),
                Err(e) => Err(failure(e, &self.host)),
            }
        })
    }

    fn size_hint(&self) -> Option<u64> {
        self.response.content_length()
    }
}

/// A reqwest failure as the seam reports it: a time-out, or no connection.
fn failure(e: reqwest::Error, host: &str) -> ApiError {
    if e.is_timeout() {
        ApiError::Timeout { seconds: 0, attempts: 0 }
    } else {
        ApiError::Transport { host: host.to_string(), detail: chain(e) }
    }
}

/// What went wrong with the connection, in words a person can act on (never the HTTP library's
/// internals): refused, reset, closed early, name lookup, TLS, or a plain "failed".
fn chain(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut texts = Vec::new();
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind as K;
            let said = match io.kind() {
                K::ConnectionRefused => Some("the connection was refused"),
                K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe => Some("the connection was reset"),
                K::UnexpectedEof => Some("the connection closed before the answer was complete"),
                K::TimedOut => Some("the connection timed out"),
                _ => None,
            };
            if let Some(said) = said {
                return said.to_string();
            }
        }
        texts.push(cause.to_string().to_ascii_lowercase());
        source = cause.source();
    }
    let all = texts.join(" ");
    let said = if all.contains("dns") || all.contains("lookup") {
        "the host name could not be resolved"
    } else if all.contains("certificate") || all.contains("tls") {
        "the TLS handshake failed (certificate or proxy)"
    } else if all.contains("connection closed") || all.contains("incomplete") || all.contains("reset") {
        "the connection was reset"
    } else if all.contains("refused") {
        "the connection was refused"
    } else {
        "the connection failed"
    };
    said.to_string()
}
