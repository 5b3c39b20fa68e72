//! What every tool call shares: the API handle, the token's scopes (read once), and the default
//! organization (configured, or the only one the token sees).

use super::ToolError;
use crate::buildkite::{Api, ApiError};
use tokio::sync::OnceCell;

/// The token's scopes, fetched once from `GET /v2/access-token`.
#[derive(Debug, Default)]
pub struct Access {
    cell: OnceCell<Result<Vec<String>, ApiError>>,
}

impl Access {
    /// Known scopes, fetching them on first use.
    pub async fn scopes(&self, api: &Api) -> &Result<Vec<String>, ApiError> {
        self.cell
            .get_or_init(|| async {
                let scopes = api.access_token().await.map(|t| t.scopes);
                match &scopes {
                    Ok(s) => tracing::info!(scopes = %s.join(","), "token scopes"),
                    Err(e) => tracing::warn!("could not read the token's scopes: {e}"),
                }
                scopes
            })
            .await
    }
}

/// The organization used when a call names none.
#[derive(Debug, Default)]
pub struct OrgDefault {
    configured: Option<String>,
    discovered: OnceCell<Result<Option<String>, ApiError>>,
}

impl OrgDefault {
    /// A default taken from configuration (`BUILDKITE_ORGANIZATION`), or discovery when `None`.
    pub fn new(configured: Option<String>) -> Self {
        OrgDefault { configured: configured.filter(|s| !s.trim().is_empty()), discovered: OnceCell::new() }
    }

    /// The default org, if one is configured or the token sees exactly one (asked once).
    #[cfg(not(ops_stub))]
    pub async fn get(&self, api: &Api) -> Option<String> {
        if let Some(org) = &self.configured {
            return Some(org.clone());
        }
        let found = self
            .discovered
            .get_or_init(|| async {
                use crate::buildkite::ops::{ViewerOrganizations, viewer_organizations};
                let data = api.execute::<ViewerOrganizations>(viewer_organizations::Variables {}).await?;
                let orgs = data.viewer.and_then(|v| v.organizations);
                let count = orgs.as_ref().map(|o| o.count).unwrap_or(0);
                let first = orgs
                    .and_then(|o| o.edges)
                    .and_then(|e| e.into_iter().flatten().next())
                    .and_then(|e| e.node)
                    .map(|n| n.slug);
                Ok(if count == 1 { first } else { None })
            })
            .await;
        found.as_ref().ok().cloned().flatten()
    }

    /// `explicit` if given, else the default, else an error saying how to name one.
    #[cfg(not(ops_stub))]
    pub async fn resolve(&self, api: &Api, explicit: Option<&str>) -> Result<String, ToolError> {
        if let Some(org) = explicit.map(str::trim).filter(|s| !s.is_empty()) {
            return Ok(org.to_string());
        }
        self.get(api).await.ok_or_else(|| {
            ToolError::Args {
                tool: "this tool",
                detail: "no organization given and no default: pass `org`, or set BUILDKITE_ORGANIZATION (current_user lists the token's organizations)".into(),
            }
        })
    }
}

/// Everything a tool call needs.
#[derive(Debug)]
pub struct Ctx {
    /// Buildkite.
    pub api: Api,
    /// The token's scopes.
    pub access: Access,
    /// The default organization.
    pub org: OrgDefault,
}
