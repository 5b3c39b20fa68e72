//! Resolved settings: validated URLs, toolsets, retry policy, and the log level.

use crate::buildkite::http::RetryPolicy;
use crate::cli::Global;
use reqwest::Url;
use std::time::Duration;

/// A setting that does not make sense; the message says which and why.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A URL that does not parse or is not http(s).
    #[error("{name} `{value}` is not an http(s) URL: {reason}")]
    Url {
        /// The setting.
        name: &'static str,
        /// Its value.
        value: String,
        /// Why.
        reason: String,
    },
    /// Bad toolsets.
    #[error("{0}")]
    Toolsets(String),
    /// No token and no demo.
    #[error(
        "no Buildkite API token: set BUILDKITE_API_TOKEN (create one at https://buildkite.com/user/api-access-tokens with \"Enable GraphQL API access\"), or run with --demo to try the demo organization"
    )]
    NoToken,
}

/// Parses an endpoint URL, requiring http or https.
pub fn parse_url(name: &'static str, value: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(value.trim()).map_err(|e| ConfigError::Url {
        name,
        value: value.to_string(),
        reason: e.to_string(),
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(ConfigError::Url {
            name,
            value: value.to_string(),
            reason: "expected http:// or https:// with a host".into(),
        });
    }
    Ok(url)
}

/// The REST base, with a trailing slash so `join("v2/…")` keeps any path prefix.
pub fn rest_base(value: &str) -> Result<Url, ConfigError> {
    let mut url = parse_url("BUILDKITE_API_URL", value)?;
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// The retry policy from the flags.
pub fn retry_policy(global: &Global) -> RetryPolicy {
    RetryPolicy { max_retries: global.max_retries.min(10), timeout: Duration::from_secs(global.timeout.clamp(1, 600)) }
}

/// The level from a `RUST_LOG`-style value (`debug`, `info,hyper=warn`, `buildkite_mcp_server=debug`).
pub fn log_level(value: &str) -> tracing::Level {
    let mut level = tracing::Level::WARN;
    for part in value.split(',') {
        let word = part.rsplit('=').next().unwrap_or(part).trim().to_ascii_lowercase();
        level = match word.as_str() {
            "error" => tracing::Level::ERROR,
            "warn" => tracing::Level::WARN,
            "info" => tracing::Level::INFO,
            "debug" => tracing::Level::DEBUG,
            "trace" => tracing::Level::TRACE,
            _ => continue,
        };
        if !part.contains('=') || part.starts_with("buildkite") {
            break;
        }
    }
    level
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_http_with_a_host() {
        assert!(parse_url("X", "http://127.0.0.1:9/graphql").is_ok());
        for bad in ["", "not a url", "ftp://x/y", "file:///etc/passwd", "http://"] {
            let e = parse_url("BUILDKITE_GRAPHQL_URL", bad).unwrap_err().to_string();
            assert!(e.contains("BUILDKITE_GRAPHQL_URL"), "{e}");
        }
        assert_eq!(rest_base("http://127.0.0.1:9/prefix").unwrap().as_str(), "http://127.0.0.1:9/prefix/");
    }

    #[test]
    fn log_levels_read_rust_log_forms() {
        assert_eq!(log_level("debug"), tracing::Level::DEBUG);
        assert_eq!(log_level("buildkite_mcp_server=trace"), tracing::Level::TRACE);
        assert_eq!(log_level("nonsense"), tracing::Level::WARN);
    }
}
