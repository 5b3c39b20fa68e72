//! REST endpoints for what GraphQL lacks. For now: the token's scopes (`GET /v2/access-token`).

use super::error::ApiError;
use super::http::{Endpoint, RetryPolicy};
use super::{Api, Backend, HttpBackend};
use reqwest::Method;
use serde::Deserialize;
use std::time::Duration;

/// Every scope this server's tools can use: Buildkite's read-write recipe for MCP tokens.
pub const READ_WRITE_SCOPES: &[&str] = &[
    "read_builds",
    "read_pipelines",
    "read_user",
    "read_suites",
    "read_clusters",
    "read_artifacts",
    "read_build_logs",
    "read_organizations",
    "write_builds",
    "write_pipelines",
];
/// Buildkite's read-only recipe: the read scopes above.
pub const READ_ONLY_SCOPES: &[&str] = READ_WRITE_SCOPES.split_at(8).0;
/// Buildkite's minimum recommended recipe.
pub const MINIMUM_SCOPES: &[&str] = READ_WRITE_SCOPES.split_at(4).0;

/// What `GET /v2/access-token` says about the token.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct AccessToken {
    /// The token's UUID.
    #[serde(default)]
    pub uuid: Option<String>,
    /// The scopes granted, e.g. `read_builds`.
    #[serde(default)]
    pub scopes: Vec<String>,
}

impl Api {
    /// The token's scopes.
    pub async fn access_token(&self) -> Result<AccessToken, ApiError> {
        match &self.backend {
            Backend::Http(backend) => {
                let HttpBackend { http, rest_url, .. } = backend.as_ref();
                let url = rest_url
                    .join("v2/access-token")
                    .map_err(|e| ApiError::Decode { detail: format!("bad REST base URL: {e}") })?;
                // A start-up check: one quick retry at most, so tools/list never waits long on it.
                let quick = RetryPolicy { max_retries: 1, timeout: Duration::from_secs(5) };
                let bytes = http.send_with(quick, Method::GET, &url, None, Endpoint::Rest, true).await?;
                serde_json::from_slice(&bytes).map_err(|e| ApiError::Decode { detail: format!("access-token: {e}") })
            }
            Backend::Demo(demo) => Ok(demo.access_token()),
        }
    }
}

/// The end of a job's log, as fetched with a suffix `Range`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogTail {
    /// The bytes received (at most the number asked for).
    pub bytes: Vec<u8>,
    /// The whole log's size, when Buildkite said.
    pub total: Option<u64>,
    /// Whether the bytes start after the log's beginning (so the first line is partial).
    pub partial: bool,
}

impl Api {
    /// The last `max_bytes` of a job's log: one `GET …/jobs/{uuid}/log` with `Range: bytes=-N`,
    /// so the transfer never grows with the log.
    pub async fn job_log_tail(
        &self,
        org: &str,
        pipeline: &str,
        build: i64,
        job: &str,
        max_bytes: u64,
    ) -> Result<LogTail, ApiError> {
        match &self.backend {
            Backend::Http(backend) => {
                let HttpBackend { http, rest_url, .. } = backend.as_ref();
                let path = format!("v2/organizations/{org}/pipelines/{pipeline}/builds/{build}/jobs/{job}/log");
                let url = rest_url.join(&path).map_err(|e| ApiError::Decode { detail: format!("bad log URL: {e}") })?;
                // One byte more than asked: when the tail starts exactly at a line start, that byte is
                // the previous line's `\n` and no whole line is lost when the partial first one is dropped.
                let range = format!("bytes=-{}", max_bytes.max(1) + 1);
                let (headers, mut bytes) =
                    match http.get_text(&url, &[("accept", "text/plain"), ("range", &range)]).await {
                        Ok(answer) => answer,
                        // 416: the log is empty.
                        Err(ApiError::Http { status: 416, .. }) => return Ok(LogTail::default()),
                        Err(ApiError::NotFound { .. }) => {
                            return Err(ApiError::NotFound {
                                what: format!("the log of job {job}"),
                                hint: "it may not have started, or it expired or was deleted".into(),
                            });
                        }
                        Err(e) => return Err(e),
                    };
                // `Content-Range: bytes 1000-1999/2000` (the total may be `*`, unknown).
                let content_range = headers.get("content-range").and_then(|v| v.to_str().ok()).unwrap_or("");
                let start = content_range
                    .strip_prefix("bytes ")
                    .and_then(|r| r.split('-').next())
                    .and_then(|a| a.parse::<u64>().ok())
                    .unwrap_or(0);
                let mut total = content_range.rsplit('/').next().and_then(|t| t.parse::<u64>().ok());
                let mut partial = start > 0;
                if content_range.is_empty() {
                    // A whole body (the Range was ignored): it is the whole log.
                    total = Some(bytes.len() as u64);
                }
                let keep = max_bytes.max(1) as usize + 1;
                if bytes.len() > keep {
                    // Never hold more than the tail asked for, whatever the server sent.
                    bytes.drain(..bytes.len() - keep);
                    partial = true;
                }
                Ok(LogTail { partial, total, bytes })
            }
            Backend::Demo(demo) => {
                let log = demo.job_log(job).ok_or_else(|| ApiError::NotFound {
                    what: format!("the log of job {job}"),
                    hint: "the demo organization has logs for the failed jobs of acme/web/1342".into(),
                })?;
                let start = log.len().saturating_sub(max_bytes as usize + 1);
                Ok(LogTail {
                    bytes: log.as_bytes()[start..].to_vec(),
                    total: Some(log.len() as u64),
                    partial: start > 0,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_recipes_nest() {
        assert_eq!(MINIMUM_SCOPES, ["read_builds", "read_pipelines", "read_user", "read_suites"]);
        assert!(READ_ONLY_SCOPES.iter().all(|s| s.starts_with("read_")) && READ_ONLY_SCOPES.len() == 8);
    }
}
