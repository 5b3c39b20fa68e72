//! Writes: one mutation or one REST write, sent at most once unless it provably never reached
//! Buildkite. A refused connection, or a 429 (the rate limit is checked before anything is done),
//! is retried; a time-out, a reset, a 5xx or any other answer is final, and the caller looks up
//! whether the write took effect instead of sending it again.

use super::Api;
use super::error::ApiError;
use super::http::{Endpoint, RetryPolicy};
use reqwest::Method;
use serde_json::Value;
use std::time::Duration;

/// What became of a write that did not get a usable answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unsent {
    /// It never reached Buildkite (refused, rate limited): nothing happened.
    NotSent,
    /// It may have reached Buildkite (time-out, reset, 5xx): look up whether it took effect.
    Unknown,
    /// Buildkite answered and refused it.
    Refused,
}

/// How an error after sending a write is read.
pub fn unsent(error: &ApiError) -> Unsent {
    match error {
        ApiError::Transport { detail, .. } if refused(detail) => Unsent::NotSent,
        ApiError::RateLimited { .. } | ApiError::MissingToken => Unsent::NotSent,
        ApiError::Timeout { .. } | ApiError::Transport { .. } | ApiError::Server { .. } | ApiError::Decode { .. } => {
            Unsent::Unknown
        }
        _ => Unsent::Refused,
    }
}

/// Whether a transport failure says the connection was never made.
fn refused(detail: &str) -> bool {
    detail.contains("refused") || detail.contains("could not be resolved")
}

/// Longest pause before resending a write that provably was not sent.
const RESEND_PAUSE: Duration = Duration::from_secs(2);

impl Api {
    /// Sends one GraphQL mutation body (`query`, `variables`, `operationName`) and returns the raw
    /// GraphQL response.
    pub async fn mutate(&self, body: &Value) -> Result<Value, ApiError> {
        let url = self.graphql_url()?.clone();
        let sent = self.write_once(Method::POST, &url, Some(body), Endpoint::GraphQL).await;
        self.observe_graphql(&sent).await;
        let bytes = sent?;
        serde_json::from_slice(&bytes).map_err(|e| ApiError::Decode { detail: format!("malformed JSON: {e}") })
    }

    /// Sends one REST write (`POST`/`PUT` to `path` under the REST base) and returns its JSON.
    pub async fn rest_write(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Value, ApiError> {
        let url = self.rest_url(path)?;
        let bytes = self.write_once(method, &url, body, Endpoint::Rest).await?;
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).map_err(|e| ApiError::Decode { detail: format!("{}: {e}", url.path()) })
    }

    /// One attempt, repeated only while the failure proves the request was not sent.
    async fn write_once(
        &self,
        method: Method,
        url: &reqwest::Url,
        body: Option<&Value>,
        endpoint: Endpoint,
    ) -> Result<Vec<u8>, ApiError> {
        let policy = RetryPolicy { max_retries: 0, timeout: self.http.timeout() };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = self.http.send_with(policy, method.clone(), url, body, endpoint, false).await;
            match &result {
                Err(e) if unsent(e) == Unsent::NotSent && attempt <= self.http.max_retries() => {
                    let pause = match e {
                        ApiError::RateLimited { retry_after: Some(s), .. } => Duration::from_secs(*s),
                        _ => Duration::from_millis(250 * u64::from(attempt)),
                    };
                    tracing::debug!(attempt, "write not sent ({e}); sending again");
                    tokio::time::sleep(pause.min(RESEND_PAUSE)).await;
                }
                _ => return result,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_failures_that_prove_nothing_was_sent_are_resent() {
        let refused = ApiError::Transport { host: "h".into(), detail: "the connection was refused".into() };
        assert_eq!(unsent(&refused), Unsent::NotSent);
        let reset = ApiError::Transport { host: "h".into(), detail: "the connection was reset".into() };
        assert_eq!(unsent(&reset), Unsent::Unknown);
        assert_eq!(unsent(&ApiError::Timeout { seconds: 1, attempts: 1 }), Unsent::Unknown);
        assert_eq!(unsent(&ApiError::Server { status: 502, attempts: 1 }), Unsent::Unknown);
        assert_eq!(unsent(&ApiError::GraphQL { messages: vec!["no".into()] }), Unsent::Refused);
        assert_eq!(unsent(&ApiError::Http { status: 422, message: "no".into() }), Unsent::Refused);
    }
}
