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
    /// A log level that is none of the known ones.
    #[error(
        "--log-level (RUST_LOG) `{0}` is not a level: use error, warn, info, debug, trace or off, optionally as target=level pairs"
    )]
    LogLevel(String),
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
/// (clap refuses values outside the ranges at start.)
pub fn retry_policy(global: &Global) -> RetryPolicy {
    RetryPolicy { max_retries: global.max_retries, timeout: Duration::from_secs(global.timeout) }
}

/// The level of this crate's own log lines from a `RUST_LOG`-style value (`debug`,
/// `info,hyper=warn`, `buildkite_mcp_server=debug`); a word that is no level is refused with the
/// allowed ones.
pub fn log_level(value: &str) -> Result<tracing::Level, ConfigError> {
    let parse = |word: &str| match word.trim().to_ascii_lowercase().as_str() {
        "error" => Some(Some(tracing::Level::ERROR)),
        "warn" => Some(Some(tracing::Level::WARN)),
        "info" => Some(Some(tracing::Level::INFO)),
        "debug" => Some(Some(tracing::Level::DEBUG)),
        "trace" => Some(Some(tracing::Level::TRACE)),
        "off" => Some(None),
        _ => None,
    };
    let mut level = tracing::Level::WARN;
    let mut ours: Option<tracing::Level> = None;
    for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (target, word) = match part.rsplit_once('=') {
            Some((target, word)) => (Some(target.trim()), word),
            None => (None, part),
        };
        let Some(parsed) = parse(word) else {
            return Err(ConfigError::LogLevel(crate::stdio::short(value, 100)));
        };
        let parsed = parsed.unwrap_or(tracing::Level::ERROR);
        match target {
            None => level = parsed,
            Some(t) if t.starts_with("buildkite") => ours = Some(parsed),
            Some(_) => {}
        }
    }
    Ok(ours.unwrap_or(level))
}

/// What goes to stderr: this crate's lines at `level`; every other crate's (rmcp, the HTTP stack)
/// at warn at most, because their debug lines print whole messages, results and URLs.
pub fn log_targets(level: tracing::Level) -> tracing_subscriber::filter::Targets {
    use tracing_subscriber::filter::LevelFilter;
    let ours = LevelFilter::from_level(level);
    tracing_subscriber::filter::Targets::new()
        .with_target("buildkite_mcp_server", ours)
        .with_default(ours.min(LevelFilter::WARN))
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
    fn log_levels_read_rust_log_forms_and_refuse_other_words() {
        assert_eq!(log_level("debug").unwrap(), tracing::Level::DEBUG);
        assert_eq!(log_level("buildkite_mcp_server=trace").unwrap(), tracing::Level::TRACE);
        assert_eq!(log_level("info,hyper=warn").unwrap(), tracing::Level::INFO);
        let e = log_level("verbose").unwrap_err().to_string();
        assert!(e.contains("error, warn, info, debug, trace"), "{e}");
        assert!(log_level("rmcp=loud").is_err());
    }
}
