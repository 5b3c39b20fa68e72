//! What every tool call shares: the API handle, the token's scopes (read once), and the default
//! organization (configured, or the only one the token sees).

use super::ToolError;
use super::resolve::checked_org;
use crate::buildkite::access::GraphqlVerdict;
use crate::buildkite::ids::IdError;
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
    discovered: OnceCell<Option<String>>,
}

/// `Some(trimmed)` unless blank: models often send `""` for an argument they mean to leave out.
pub fn non_blank(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|s| !s.is_empty())
}

impl OrgDefault {
    /// A default taken from configuration (`BUILDKITE_ORGANIZATION`), or discovery when `None`.
    pub fn new(configured: Option<String>) -> Self {
        OrgDefault { configured: non_blank(configured.as_deref()).map(str::to_string), discovered: OnceCell::new() }
    }

    /// The configured default org, without asking Buildkite.
    pub fn configured(&self) -> Option<&str> {
        self.configured.as_deref()
    }

    /// The default org: the configured one, else the only one the token sees (asked once; only a
    /// successful answer is kept, so a passing failure is asked again next time). Without GraphQL
    /// access the organizations come from REST, which needs `read_organizations`.
    pub async fn get(&self, api: &Api) -> Result<Option<String>, ApiError> {
        if let Some(org) = &self.configured {
            return Ok(Some(org.clone()));
        }
        if api.graphql_verdict().await == GraphqlVerdict::Refused {
            if let Some(found) = self.discovered.get() {
                return Ok(found.clone());
            }
            let page = api.rest_json("v2/organizations", &[("per_page", "2".into())]).await?;
            let slugs: Vec<String> = page
                .body
                .as_array()
                .map(|orgs| {
                    orgs.iter().filter_map(|o| o.get("slug").and_then(|s| s.as_str()).map(str::to_string)).collect()
                })
                .unwrap_or_default();
            let only = match slugs.as_slice() {
                [one] if page.next_page.is_none() => Some(one.clone()),
                _ => None,
            };
            let _ = self.discovered.set(only.clone());
            return Ok(only);
        }
        self.discovered
            .get_or_try_init(|| async {
                use crate::buildkite::ops::{ViewerOrganizations, viewer_organizations};
                let data = api.execute::<ViewerOrganizations>(viewer_organizations::Variables).await?;
                let orgs = data.viewer.and_then(|v| v.organizations);
                let count = orgs.as_ref().map(|o| o.count).unwrap_or(0);
                let first = orgs
                    .and_then(|o| o.edges)
                    .and_then(|e| e.into_iter().flatten().next())
                    .and_then(|e| e.node)
                    .map(|n| n.slug);
                Ok(if count == 1 { first } else { None })
            })
            .await
            .cloned()
    }

    /// `explicit` if given, else the default, else an error saying how to name one.
    pub async fn resolve(&self, api: &Api, explicit: Option<&str>) -> Result<String, ToolError> {
        if let Some(org) = non_blank(explicit) {
            return checked_org(org);
        }
        let no_default = || {
            ToolError::args(
                "no organization given and no default: pass `org`, or set BUILDKITE_ORGANIZATION (current_user lists the token's organizations)",
            )
        };
        let found = match self.get(api).await {
            // Without GraphQL, REST lists organizations only with read_organizations.
            Err(ApiError::Forbidden { .. } | ApiError::NotFound { .. })
                if api.graphql_known() == GraphqlVerdict::Refused =>
            {
                return Err(ToolError::args(
                    "no organization given, and without GraphQL access this token cannot list its organizations (REST needs the scope read_organizations): pass `org`, or start the server with --org / BUILDKITE_ORGANIZATION",
                ));
            }
            other => other?,
        };
        let Some(found) = found else {
            if api.graphql_known() == GraphqlVerdict::Refused {
                return Err(ToolError::args(
                    "no organization given and no default: without GraphQL access the default comes from --org / BUILDKITE_ORGANIZATION, or from REST's organization list when the token has read_organizations and sees one organization; pass `org` or set one",
                ));
            }
            return Err(no_default());
        };
        checked_org(&found)
    }

    /// Parses an identifier with the explicit org; only when the identifier names no org either,
    /// asks for the default one.
    pub async fn with_org<T>(
        &self,
        api: &Api,
        explicit: Option<&str>,
        parse: impl Fn(Option<&str>) -> Result<T, IdError>,
    ) -> Result<T, ToolError> {
        if let Some(org) = non_blank(explicit) {
            checked_org(org)?;
        }
        match parse(non_blank(explicit)) {
            Err(IdError::NoOrg(_)) => {
                let org = self.resolve(api, None).await?;
                Ok(parse(Some(&org))?)
            }
            other => Ok(other?),
        }
    }
}

impl Ctx {
    /// Whether GraphQL may be used: not refused (an unknown verdict tries GraphQL as before).
    pub async fn graphql_available(&self) -> bool {
        self.api.graphql_verdict().await != GraphqlVerdict::Refused
    }

    /// Fails with a clear message when the token's scopes are known and lack `scope` (for an
    /// option of a tool whose other uses need less); unknown scopes let the call try.
    pub async fn require_scope(&self, what: &str, scope: &str) -> Result<(), ToolError> {
        match self.access.scopes(&self.api).await {
            Ok(granted) if !granted.iter().any(|g| g == scope) => {
                Err(ApiError::MissingScope { tool: what.to_string(), scope: scope.to_string() }.into())
            }
            _ => Ok(()),
        }
    }
}

/// Where logs are cached and how big a log may be downloaded whole.
#[derive(Debug)]
pub struct LogSettings {
    /// The on-disk cache of finished jobs' cleaned logs.
    pub store: crate::logs::store::LogStore,
    /// Largest log downloaded whole, in bytes.
    pub max_log_bytes: u64,
}

impl LogSettings {
    /// A cache in `dir` (default: the user's cache directory, else the temp directory) capped at
    /// `cache_bytes`, downloading logs up to `max_log_bytes`.
    pub fn new(dir: Option<std::path::PathBuf>, cache_bytes: u64, max_log_bytes: u64) -> Self {
        let dir = dir.or_else(crate::logs::store::LogStore::default_dir).unwrap_or_else(|| {
            // No home: a per-user directory under the temp dir (created private).
            let user = std::env::var("USER").unwrap_or_else(|_| "user".into());
            std::env::temp_dir().join(format!("buildkite-mcp-server-logs-{user}"))
        });
        LogSettings { store: crate::logs::store::LogStore::new(dir, cache_bytes), max_log_bytes }
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
    /// The job log cache and limits.
    pub logs: LogSettings,
}
