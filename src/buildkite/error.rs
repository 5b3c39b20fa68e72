//! The one error type of the Buildkite API edge. Every variant renders as one sentence a model or a
//! person can act on; none ever contains the token.

/// Where a person manages API tokens.
pub const TOKEN_PAGE: &str = "https://buildkite.com/user/api-access-tokens";

/// A failed call to Buildkite.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// No token was configured.
    #[error(
        "no Buildkite API token is set: set BUILDKITE_API_TOKEN (create one at {TOKEN_PAGE}), or start with --demo to try the server on demo data"
    )]
    MissingToken,
    /// HTTP 401.
    #[error(
        "Buildkite rejected the API token (401 Unauthorized): it is invalid, expired or revoked; create a new one at {TOKEN_PAGE} and set BUILDKITE_API_TOKEN"
    )]
    Unauthorized,
    /// HTTP 403 from the GraphQL endpoint: usually a token without GraphQL access.
    #[error(
        "Buildkite refused the GraphQL request (403: {message}): the token needs \"Enable GraphQL API access\" (edit it at {TOKEN_PAGE}) and access to the organization"
    )]
    NoGraphqlAccess {
        /// Buildkite's message.
        message: String,
    },
    /// HTTP 403 from REST.
    #[error(
        "Buildkite refused the request (403 Forbidden: {message}): the token lacks a scope or access to this organization; check its scopes at {TOKEN_PAGE}"
    )]
    Forbidden {
        /// Buildkite's message.
        message: String,
    },
    /// The token lacks a scope a tool needs (checked before calling).
    #[error("{tool} needs the token scope {scope}, which this token lacks: add it at {TOKEN_PAGE}")]
    MissingScope {
        /// The tool.
        tool: String,
        /// The missing scope(s), comma separated.
        scope: String,
    },
    /// A thing that does not exist, or that the token cannot see.
    #[error("{what} was not found, or this token cannot see it: {hint}")]
    NotFound {
        /// What was looked up, e.g. `build acme/web/42`.
        what: String,
        /// What to check.
        hint: String,
    },
    /// HTTP 429 that persisted through the retries.
    #[error(
        "Buildkite's rate limit is exhausted (429{}) after {}; try again in {}",
        limit.as_deref().map(|l| format!(", the {l}")).unwrap_or_default(),
        if *attempts == 1 { "1 attempt".to_string() } else { format!("{attempts} attempts") },
        seconds(*retry_after)
    )]
    RateLimited {
        /// Which limit, when the answer said (e.g. "GraphQL per-user limit of 5000 complexity
        /// points per 5 minutes").
        limit: Option<String>,
        /// Seconds until the limit resets, when Buildkite said.
        retry_after: Option<u64>,
        /// Attempts made.
        attempts: u32,
    },
    /// HTTP 5xx that persisted through the retries.
    #[error(
        "Buildkite answered HTTP {status} {attempts} times in a row; the API may be degraded, try again in a minute"
    )]
    Server {
        /// The last status.
        status: u16,
        /// Attempts made.
        attempts: u32,
    },
    /// The request timed out on every attempt.
    #[error(
        "Buildkite did not answer within {seconds} s ({attempts} attempts); try again, or ask for less (smaller page, fewer jobs)"
    )]
    Timeout {
        /// The per-request timeout.
        seconds: u64,
        /// Attempts made.
        attempts: u32,
    },
    /// The connection failed.
    #[error("could not reach Buildkite at {host}: {detail}; check the network or proxy and try again")]
    Transport {
        /// Host (no path, no token).
        host: String,
        /// What failed.
        detail: String,
    },
    /// The body could not be read as the expected shape.
    #[error("Buildkite sent a response this server could not read ({detail}); try again, and report it if it persists")]
    Decode {
        /// What failed to parse.
        detail: String,
    },
    /// GraphQL `errors[]` that are not a not-found.
    #[error("Buildkite GraphQL error: {}", messages.join("; "))]
    GraphQL {
        /// The messages.
        messages: Vec<String>,
    },
    /// Another HTTP status (400, 422, ...).
    #[error("Buildkite answered HTTP {status}: {message}")]
    Http {
        /// The status.
        status: u16,
        /// Buildkite's message.
        message: String,
    },
    /// A job log over the size the server will download whole.
    #[error(
        "the log of job {job} is {}, over this server's {} limit for downloading a whole log (--max-log-mb / BUILDKITE_MCP_MAX_LOG_MB); tail_log still reads its end",
        human_bytes(*size),
        human_bytes(*limit)
    )]
    LogTooLarge {
        /// The job.
        job: String,
        /// The log's size (or the bytes received when the download was stopped).
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// Local disk trouble while caching a log.
    #[error(
        "could not use the log cache under {dir}: {detail}; set BUILDKITE_MCP_LOG_CACHE to a private writable directory"
    )]
    Cache {
        /// The cache directory.
        dir: String,
        /// What failed.
        detail: String,
    },
}

/// Bytes as a person reads them: `812 B`, `48.2 KiB`, `1.9 MiB`, `2.0 GiB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{n} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}

fn seconds(s: Option<u64>) -> String {
    match s {
        Some(s) => super::ratelimit::duration(s),
        None => "a minute".to_string(),
    }
}

impl ApiError {
    /// Turns a generic not-found into one naming the looked-up thing.
    pub fn or_not_found(self, what: impl Into<String>, hint: impl Into<String>) -> Self {
        match self {
            ApiError::NotFound { .. } => ApiError::NotFound { what: what.into(), hint: hint.into() },
            ApiError::GraphQL { ref messages } if messages.iter().any(|m| looks_not_found(m)) => {
                ApiError::NotFound { what: what.into(), hint: hint.into() }
            }
            other => other,
        }
    }
}

/// Whether a GraphQL error message says something was not found.
pub fn looks_not_found(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    (m.starts_with("no ") && m.contains(" found")) || m.contains("not found") || m.contains("no longer exists")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_single_sentences_without_newlines() {
        let all = [
            ApiError::MissingToken,
            ApiError::Unauthorized,
            ApiError::NoGraphqlAccess { message: "x".into() },
            ApiError::Forbidden { message: "x".into() },
            ApiError::RateLimited { limit: None, retry_after: Some(3), attempts: 4 },
            ApiError::Server { status: 502, attempts: 4 },
            ApiError::Timeout { seconds: 30, attempts: 2 },
        ];
        for e in all {
            let s = e.to_string();
            assert!(!s.contains('\n'), "{s}");
            assert!(s.len() < 300, "{s}");
        }
    }

    #[test]
    fn graphql_not_found_messages_become_not_found() {
        let e = ApiError::GraphQL { messages: vec!["No Pipeline found".into()] }
            .or_not_found("pipeline acme/x", "check it");
        assert!(matches!(e, ApiError::NotFound { .. }));
        let e = ApiError::GraphQL { messages: vec!["Field 'x' doesn't exist".into()] }.or_not_found("p", "h");
        assert!(matches!(e, ApiError::GraphQL { .. }));
    }
}
