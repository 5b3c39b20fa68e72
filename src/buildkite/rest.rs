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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_recipes_nest() {
        assert_eq!(MINIMUM_SCOPES, ["read_builds", "read_pipelines", "read_user", "read_suites"]);
        assert!(READ_ONLY_SCOPES.iter().all(|s| s.starts_with("read_")) && READ_ONLY_SCOPES.len() == 8);
    }
}
