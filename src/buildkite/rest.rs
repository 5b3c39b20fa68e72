//! REST endpoints for what GraphQL lacks: the token's scopes (`GET /v2/access-token`), job log
//! tails, organization-wide build lists, build artifact lists, job environments, and artifact
//! downloads from pre-signed URLs.

use super::Api;
use super::error::ApiError;
use super::http::{Endpoint, RetryPolicy};
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
        let url = self.rest_url("v2/access-token")?;
        // A start-up check: one quick retry at most, so tools/list never waits long on it.
        let quick = RetryPolicy { max_retries: 1, timeout: Duration::from_secs(5) };
        let bytes = self.http.send_with(quick, Method::GET, &url, None, Endpoint::Rest, true).await?;
        serde_json::from_slice(&bytes).map_err(|e| ApiError::Decode { detail: format!("access-token: {e}") })
    }
}

/// One REST JSON answer and the page after it (from the `Link` header), if any.
#[derive(Debug, Clone, PartialEq)]
pub struct RestPage {
    /// The decoded body.
    pub body: serde_json::Value,
    /// The `page` number of the next page, when `Link` has `rel="next"`.
    pub next_page: Option<u32>,
}

/// The page number of `rel="next"` in a `Link` header.
pub fn next_page(link: &str) -> Option<u32> {
    link.split(',').find(|part| part.contains("rel=\"next\"")).and_then(|part| {
        let url = part.split(['<', '>']).nth(1)?;
        let query = url.split_once('?')?.1;
        query.split('&').find_map(|kv| kv.strip_prefix("page=")).and_then(|n| n.parse().ok())
    })
}

/// What an artifact download returned: at most the bytes asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct Download {
    /// The bytes read.
    pub bytes: Vec<u8>,
    /// Whether there was more than was read.
    pub truncated: bool,
}

impl Api {
    /// `GET /v2/{path}?{query}` answered as JSON (`path` has no leading slash).
    pub async fn rest_json(&self, path: &str, query: &[(&str, String)]) -> Result<RestPage, ApiError> {
        let mut url = self.rest_url(path)?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        let (headers, bytes) = self.http.get_text(&url, &[("accept", "application/json")]).await?;
        let body =
            serde_json::from_slice(&bytes).map_err(|e| ApiError::Decode { detail: format!("{}: {e}", url.path()) })?;
        let next_page = headers.get("link").and_then(|v| v.to_str().ok()).and_then(next_page);
        Ok(RestPage { body, next_page })
    }

    /// `GET /v2/{path}?{query}` decoded straight into `T`: fields `T` does not name are skipped as
    /// they are read, so a large answer (a build with thousands of jobs) never becomes a JSON tree.
    pub async fn rest_decode<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<(T, Option<u32>), ApiError> {
        let mut url = self.rest_url(path)?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        let (headers, bytes) = self.http.get_text(&url, &[("accept", "application/json")]).await?;
        tracing::debug!(path = url.path(), bytes = bytes.len(), "REST answer");
        let body =
            serde_json::from_slice(&bytes).map_err(|e| ApiError::Decode { detail: format!("{}: {e}", url.path()) })?;
        let next_page = headers.get("link").and_then(|v| v.to_str().ok()).and_then(next_page);
        Ok((body, next_page))
    }

    /// At most `max_bytes` of a pre-signed download URL (artifact storage). The token is sent only
    /// when the URL is on the Buildkite REST host itself; other hosts never see it.
    pub async fn download(&self, url: &str, max_bytes: u64) -> Result<Download, ApiError> {
        let bad = |e: String| ApiError::Decode { detail: format!("bad download URL: {e}") };
        let url = reqwest::Url::parse(url).map_err(|e| bad(e.to_string()))?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(bad(format!("scheme {} is not http(s)", url.scheme())));
        }
        // A first-bytes range keeps the transfer bounded when the store honours it.
        let range = format!("bytes=0-{max_bytes}");
        let headers = [("range", range.as_str())];
        let same_host = url.origin() == self.rest_base()?.origin();
        let (_, mut bytes) = if same_host {
            self.http.get_text(&url, &headers).await?
        } else {
            self.http.get_anonymous(&url, &headers).await?
        };
        let truncated = bytes.len() as u64 > max_bytes;
        bytes.truncate(max_bytes as usize);
        Ok(Download { bytes, truncated })
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
        let path = format!("v2/organizations/{org}/pipelines/{pipeline}/builds/{build}/jobs/{job}/log");
        self.log_tail_at(&path, job, max_bytes).await
    }

    /// The last `max_bytes` of the log at `path` (one suffix-`Range` GET).
    pub(super) async fn log_tail_at(&self, path: &str, job: &str, max_bytes: u64) -> Result<LogTail, ApiError> {
        let url = self.rest_url(path)?;
        // One byte more than asked: when the tail starts exactly at a line start, that byte is
        // the previous line's `\n` and no whole line is lost when the partial first one is dropped.
        let range = format!("bytes=-{}", max_bytes.max(1) + 1);
        let (headers, mut bytes) = match self.http.get_text(&url, &[("accept", "text/plain"), ("range", &range)]).await
        {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_page_reads_the_link_header() {
        let link = r#"<https://api.buildkite.com/v2/organizations/acme/builds?page=3&per_page=20>; rel="next", <https://api.buildkite.com/v2/organizations/acme/builds?page=9&per_page=20>; rel="last""#;
        assert_eq!(next_page(link), Some(3));
        assert_eq!(next_page(r#"<https://x/v2/b?page=1>; rel="prev""#), None);
        assert_eq!(next_page(""), None);
    }

    #[test]
    fn scope_recipes_nest() {
        assert_eq!(MINIMUM_SCOPES, ["read_builds", "read_pipelines", "read_user", "read_suites"]);
        assert!(READ_ONLY_SCOPES.iter().all(|s| s.starts_with("read_")) && READ_ONLY_SCOPES.len() == 8);
    }
}
