//! The one detector of GraphQL access. A token made from the scope links on Buildkite's MCP page
//! lacks "Enable GraphQL API access"; Buildkite documents no status for that, so a GraphQL
//! refusal (403) that REST does not share (`GET /v2/access-token` answers with the same token)
//! means "no GraphQL access", while a 401 on both is a bad token and decides nothing.
//!
//! The verdict is probed once (the smallest query there is, `viewer { id }`), in the background at
//! start, and then kept up to date by every GraphQL answer: a 403 confirmed by REST turns it to
//! refused, a success turns it back to granted, so a token whose access is revoked (or restored)
//! while the server runs switches without a restart. It lives in the [`Api`] handle, which holds
//! one token: HTTP mode, with a handle per token, keys it per token.

use super::Api;
use super::error::ApiError;
use std::sync::atomic::{AtomicU8, Ordering};
use tokio::sync::OnceCell;

/// What is known about the token's GraphQL access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphqlVerdict {
    /// Not known (not probed yet, or the probe failed for another reason: network, bad token).
    /// Tools then use GraphQL as usual and report what fails.
    Unknown,
    /// GraphQL answers.
    Granted,
    /// GraphQL refuses while REST answers: the token lacks "Enable GraphQL API access".
    Refused,
}

impl GraphqlVerdict {
    fn from_u8(n: u8) -> Self {
        match n {
            1 => GraphqlVerdict::Granted,
            2 => GraphqlVerdict::Refused,
            _ => GraphqlVerdict::Unknown,
        }
    }

    fn to_u8(self) -> u8 {
        match self {
            GraphqlVerdict::Unknown => 0,
            GraphqlVerdict::Granted => 1,
            GraphqlVerdict::Refused => 2,
        }
    }
}

/// The detector's memory: the current verdict and whether the start-up probe ran.
#[derive(Debug, Default)]
pub struct GraphqlAccess {
    probed: OnceCell<()>,
    verdict: AtomicU8,
}

impl GraphqlAccess {
    /// The verdict now, without probing.
    pub fn current(&self) -> GraphqlVerdict {
        GraphqlVerdict::from_u8(self.verdict.load(Ordering::SeqCst))
    }

    fn set(&self, verdict: GraphqlVerdict) {
        let before = self.verdict.swap(verdict.to_u8(), Ordering::SeqCst);
        if before != verdict.to_u8() {
            tracing::info!(?verdict, "GraphQL access");
        }
    }
}

/// The probe: the smallest GraphQL query.
#[cfg(not(ops_stub))]
async fn probe(api: &Api) {
    use super::ops::{GraphqlProbe, graphql_probe};
    // `execute` records the verdict of its answer.
    if let Err(e) = api.execute::<GraphqlProbe>(graphql_probe::Variables).await {
        tracing::debug!("GraphQL probe: {e}");
    }
}

#[cfg(ops_stub)]
async fn probe(_api: &Api) {}

impl Api {
    /// Whether the token has GraphQL access: probed on first use (one GraphQL request, plus one
    /// REST request when GraphQL refuses), then kept current by every GraphQL answer.
    pub async fn graphql_verdict(&self) -> GraphqlVerdict {
        self.graphql.probed.get_or_init(|| probe(self)).await;
        self.graphql.current()
    }

    /// The verdict now, without waiting for the probe.
    pub fn graphql_known(&self) -> GraphqlVerdict {
        self.graphql.current()
    }

    /// Records what a GraphQL answer says about access: a success grants it; a 403 is checked
    /// against REST with the same token (one request) and, when REST answers, refuses it.
    pub(crate) async fn observe_graphql<T>(&self, result: &Result<T, ApiError>) {
        match result {
            Ok(_) => self.graphql.set(GraphqlVerdict::Granted),
            Err(ApiError::NoGraphqlAccess { .. }) => match self.access_token().await {
                Ok(_) => self.graphql.set(GraphqlVerdict::Refused),
                // REST refuses too: not a GraphQL matter (a bad or revoked token); decide nothing.
                Err(e) => tracing::debug!("GraphQL refused and REST too: {e}"),
            },
            // Other failures (GraphQL errors, network) say nothing about access.
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_round_trip_through_their_stored_form() {
        for v in [GraphqlVerdict::Unknown, GraphqlVerdict::Granted, GraphqlVerdict::Refused] {
            assert_eq!(GraphqlVerdict::from_u8(v.to_u8()), v);
        }
        let access = GraphqlAccess::default();
        assert_eq!(access.current(), GraphqlVerdict::Unknown);
        access.set(GraphqlVerdict::Refused);
        assert_eq!(access.current(), GraphqlVerdict::Refused);
    }
}
