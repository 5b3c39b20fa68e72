//! The MCP server: instructions, the filtered tool list (toolsets, read-only, token scopes) and tool
//! calls, each answered with compact text or one clear error sentence.

use crate::tools::{self, Ctx, ToolError, ToolSpec, Toolset};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::OnceCell;

/// What the model reads once, at the start.
pub const INSTRUCTIONS: &str = "Buildkite CI data. Pass identifiers as people paste them: `pipeline` is a URL, org/pipeline or slug; \
`build` a URL, org/pipeline/number, UUID, or a number with `pipeline`; `job` a job UUID or a build URL ending in #<job-uuid>. \
For a failing build start with get_build_failure_summary or get_build, then log_digest or list_jobs / get_job for detail; find builds with list_builds. \
Lists take `first` (page size) and give total and next: pass next's field back (after, from_line) for more. Dates are ISO. \
Output is compact JSON: states lower-case, durations in seconds, long lists cut to a token budget (the cut field says what was left out). \
Every tool also takes `org` (organization slug, default: the configured one) and `max_tokens` (output budget; raise it only when needed).";

/// Why a tool is not offered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disabled {
    /// Its toolset is not selected.
    Toolset,
    /// It writes and the server is read-only.
    ReadOnly,
    /// The token lacks these scopes.
    Scopes(Vec<&'static str>),
}

/// The tools this server offers with this token, and why the others are not offered.
#[derive(Debug)]
pub struct Enabled {
    /// Offered.
    pub tools: Vec<ToolSpec>,
    /// Not offered, with the reason.
    pub disabled: BTreeMap<&'static str, Disabled>,
    /// The token's scopes, when they could be read.
    pub scopes: Option<Vec<String>>,
}

/// Works out which tools to offer. `scopes == None` (unreadable) offers every tool and lets calls
/// report any failure.
pub fn enabled(specs: &[ToolSpec], toolsets: &[Toolset], read_only: bool, scopes: Option<&[String]>) -> Enabled {
    let mut out = Enabled { tools: Vec::new(), disabled: BTreeMap::new(), scopes: scopes.map(<[String]>::to_vec) };
    for spec in specs {
        let reason = if !toolsets.contains(&spec.toolset) {
            Some(Disabled::Toolset)
        } else if read_only && !spec.read_only {
            Some(Disabled::ReadOnly)
        } else {
            scopes.map(|s| spec.missing_scopes(s)).filter(|m| !m.is_empty()).map(Disabled::Scopes)
        };
        match reason {
            Some(r) => {
                out.disabled.insert(spec.name, r);
            }
            None => out.tools.push(spec.clone()),
        }
    }
    out
}

struct Inner {
    ctx: Ctx,
    specs: Vec<ToolSpec>,
    toolsets: Vec<Toolset>,
    read_only: bool,
    enabled: OnceCell<Arc<Enabled>>,
}

/// The MCP server. Cheap to clone.
#[derive(Clone)]
pub struct Server {
    inner: Arc<Inner>,
}

impl Server {
    /// A server over `ctx` offering `toolsets`, without write tools when `read_only`.
    pub fn new(ctx: Ctx, toolsets: Vec<Toolset>, read_only: bool) -> Self {
        Server {
            inner: Arc::new(Inner { ctx, specs: tools::catalogue(), toolsets, read_only, enabled: OnceCell::new() }),
        }
    }

    /// Starts reading the token's scopes and the default org in the background, so the first
    /// `tools/list` and tool call need not wait for them.
    pub fn warm_up(&self) {
        let me = self.clone();
        tokio::spawn(async move {
            let _ = me.enabled().await;
            let _ = me.inner.ctx.org.get(&me.inner.ctx.api).await;
        });
    }

    /// The tools offered, computed once from the token's scopes.
    pub async fn enabled(&self) -> Arc<Enabled> {
        let inner = &self.inner;
        inner
            .enabled
            .get_or_init(|| async {
                let scopes = inner.ctx.access.scopes(&inner.ctx.api).await.as_ref().ok().cloned();
                Arc::new(enabled(&inner.specs, &inner.toolsets, inner.read_only, scopes.as_deref()))
            })
            .await
            .clone()
    }

    async fn run(
        &self,
        name: &str,
        arguments: rmcp::model::JsonObject,
        progress: &tools::Progress,
    ) -> Result<String, ToolError> {
        let enabled = self.enabled().await;
        match enabled.disabled.get(name) {
            Some(Disabled::Scopes(missing)) => {
                return Err(ToolError::Api(crate::buildkite::ApiError::MissingScope {
                    tool: name.to_string(),
                    scope: missing.join(", "),
                }));
            }
            Some(Disabled::ReadOnly) => {
                return Err(ToolError::Args {
                    tool: "this server",
                    detail: format!("{name} writes, and the server runs with --read-only"),
                });
            }
            Some(Disabled::Toolset) => {
                return Err(ToolError::Args {
                    tool: "this server",
                    detail: format!("{name} is in a toolset that is not enabled (--toolsets)"),
                });
            }
            None => {}
        }
        tools::call(&self.inner.ctx, name, arguments, progress).await
    }
}

impl ServerHandler for Server {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("buildkite-mcp-server", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let enabled = self.enabled().await;
        Ok(ListToolsResult::with_all_items(enabled.tools.iter().map(ToolSpec::to_tool).collect()))
    }

    fn get_tool(&self, name: &str) -> Option<rmcp::model::Tool> {
        self.inner.specs.iter().find(|s| s.name == name).map(ToolSpec::to_tool)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let name = request.name.to_string();
        if !self.inner.specs.iter().any(|s| s.name == name) {
            return Err(McpError::invalid_params(format!("unknown tool `{name}`"), None));
        }
        let started = std::time::Instant::now();
        let progress = tools::Progress::new(context.meta.get_progress_token(), context.peer.clone());
        let result = self.run(&name, request.arguments.unwrap_or_default(), &progress).await;
        let elapsed_ms = started.elapsed().as_millis();
        Ok(match result {
            Ok(text) => {
                tracing::info!(tool = %name, bytes = text.len(), elapsed_ms, "tool call");
                CallToolResult::success(vec![ContentBlock::text(text)]).into()
            }
            Err(e) => {
                tracing::info!(tool = %name, elapsed_ms, error = %e, "tool call failed");
                CallToolResult::error(vec![ContentBlock::text(e.to_string())]).into()
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_scopes_disable_tools_and_unknown_scopes_enable_all() {
        let specs = tools::catalogue();
        let minimum: Vec<String> =
            ["read_builds", "read_pipelines", "read_user", "read_suites"].iter().map(|s| s.to_string()).collect();
        let e = enabled(&specs, &Toolset::ALL, false, Some(&minimum));
        // The minimum recipe reaches everything but logs, artifacts, agents and clusters.
        let beyond: Vec<&str> = e.disabled.keys().copied().collect();
        assert_eq!(
            beyond,
            [
                "get_agent",
                "get_artifact",
                "get_queue",
                "list_agents",
                "list_artifacts",
                "list_clusters",
                "log_digest",
                "read_log",
                "search_log",
                "tail_log"
            ]
        );
        let read_only: Vec<String> = crate::buildkite::rest::READ_ONLY_SCOPES.iter().map(|s| s.to_string()).collect();
        let e = enabled(&specs, &Toolset::ALL, false, Some(&read_only));
        assert_eq!(e.tools.len(), specs.len(), "the read-only recipe reaches every read tool: {:?}", e.disabled);
        let only_user = vec!["read_user".to_string()];
        let e = enabled(&specs, &Toolset::ALL, false, Some(&only_user));
        assert_eq!(e.disabled.get("get_build"), Some(&Disabled::Scopes(vec!["read_builds"])));
        let e = enabled(&specs, &Toolset::ALL, false, None);
        assert!(e.disabled.is_empty());
        let e = enabled(&specs, &[Toolset::User], false, None);
        assert_eq!(e.disabled.get("list_builds"), Some(&Disabled::Toolset));
    }
}
