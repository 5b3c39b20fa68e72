//! The Buildkite API edge: GraphQL (typed operations), the few REST endpoints GraphQL lacks, the
//! error type, and parsing of the identifiers people paste.

pub mod error;
pub mod graphql;
pub mod http;
pub mod ids;
pub mod joblog;
#[cfg(not(ops_stub))]
pub mod ops;
pub mod rest;
pub mod scalars;

pub use error::ApiError;

use http::{Http, RetryPolicy};
use reqwest::Url;
use std::sync::Arc;

/// Where requests go: the real API over HTTP, or the embedded demo organization.
#[derive(Clone, Debug)]
pub enum Backend {
    /// Buildkite's HTTP APIs.
    Http(Box<HttpBackend>),
    /// Recorded data compiled into the binary.
    Demo(Arc<crate::demo::Demo>),
}

/// The HTTP backend: a client and the two endpoints.
#[derive(Clone, Debug)]
pub struct HttpBackend {
    /// The HTTP client with token and retry policy.
    pub http: Http,
    /// The GraphQL endpoint.
    pub graphql_url: Url,
    /// The REST base (ends with `/`).
    pub rest_url: Url,
}

/// A handle on Buildkite. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Api {
    backend: Backend,
}

impl Api {
    /// An API handle over HTTP.
    pub fn http(token: Option<String>, graphql_url: Url, rest_url: Url, policy: RetryPolicy) -> Result<Self, ApiError> {
        Ok(Api {
            backend: Backend::Http(Box::new(HttpBackend { http: Http::new(token, policy)?, graphql_url, rest_url })),
        })
    }

    /// An API handle on the embedded demo organization.
    pub fn demo() -> Self {
        Api { backend: Backend::Demo(Arc::new(crate::demo::Demo::load())) }
    }

    /// Whether this handle serves demo data.
    pub fn is_demo(&self) -> bool {
        matches!(self.backend, Backend::Demo(_))
    }
}
