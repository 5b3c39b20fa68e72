//! The Buildkite API edge: GraphQL (typed operations), the few REST endpoints GraphQL lacks, the
//! error type, and parsing of the identifiers people paste. Every request goes through one
//! [`transport::Transport`]; the network one is [`network::Network`].

pub mod access;
pub mod error;
pub mod graphql;
pub mod http;
pub mod ids;
pub mod joblog;
pub mod memo;
pub mod names;
pub mod network;
#[cfg(not(ops_stub))]
pub mod ops;
pub mod ratelimit;
pub mod rest;
pub mod scalars;
pub mod transport;
pub mod write;

pub use error::ApiError;

use http::{Http, RetryPolicy};
use reqwest::Url;
use std::sync::Arc;
use transport::Transport;

/// A handle on Buildkite. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Api {
    http: Http,
    endpoints: Result<Arc<Endpoints>, ApiError>,
    /// What is known about the token's GraphQL access (shared by the handle's clones).
    graphql: Arc<access::GraphqlAccess>,
    /// Names kept briefly for completions (shared by the handle's clones).
    names: Arc<names::NameCache>,
}

/// Where requests go.
#[derive(Debug)]
struct Endpoints {
    /// The GraphQL endpoint.
    graphql: Url,
    /// The REST base (ends with `/`).
    rest: Url,
}

impl Api {
    /// An API handle over HTTP.
    pub fn http(token: Option<String>, graphql_url: Url, rest_url: Url, policy: RetryPolicy) -> Result<Self, ApiError> {
        let network = network::Network::new(token, policy.timeout)?;
        Ok(Api {
            http: Http::new(Arc::new(network), policy),
            endpoints: Ok(Arc::new(Endpoints { graphql: graphql_url, rest: rest_url })),
            graphql: Arc::default(),
            names: Arc::default(),
        })
    }

    /// An API handle whose requests go through `transport` (e.g. the recorded demo organization) to
    /// the GraphQL endpoint and REST base given as text. A URL that does not parse is reported by
    /// every request rather than here, so building the handle cannot fail.
    pub fn with_transport(
        transport: Arc<dyn Transport>,
        graphql_url: &str,
        rest_url: &str,
        policy: RetryPolicy,
    ) -> Self {
        let parse = |name: &str, url: &str| {
            Url::parse(url).map_err(|e| ApiError::Decode { detail: format!("bad {name} URL {url}: {e}") })
        };
        let endpoints = parse("GraphQL", graphql_url)
            .and_then(|graphql| Ok(Arc::new(Endpoints { graphql, rest: parse("REST", rest_url)? })));
        Api { http: Http::new(transport, policy), endpoints, graphql: Arc::default(), names: Arc::default() }
    }

    /// The transport requests go through.
    pub fn transport(&self) -> &dyn Transport {
        self.http.transport()
    }

    /// The answers kept for this token (finished builds and jobs).
    pub fn memo(&self) -> &memo::Memo {
        self.http.memo()
    }

    /// The names kept for completions for this token.
    pub fn names(&self) -> &names::NameCache {
        &self.names
    }

    /// The rate limits Buildkite's answers reported.
    pub fn rate_limits(&self) -> &ratelimit::RateLimits {
        self.http.rate_limits()
    }

    /// The GraphQL endpoint.
    pub(crate) fn graphql_url(&self) -> Result<&Url, ApiError> {
        self.endpoints.as_ref().map(|e| &e.graphql).map_err(Clone::clone)
    }

    /// The REST base (the only origin a download sends the token to).
    pub(crate) fn rest_base(&self) -> Result<&Url, ApiError> {
        self.endpoints.as_ref().map(|e| &e.rest).map_err(Clone::clone)
    }

    /// `path` (no leading slash) under the REST base.
    pub(crate) fn rest_url(&self, path: &str) -> Result<Url, ApiError> {
        self.rest_base()?.join(path).map_err(|e| ApiError::Decode { detail: format!("bad REST URL {path}: {e}") })
    }
}
