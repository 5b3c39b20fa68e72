//! The MCP server: instructions, the filtered tool list (toolsets, read-only, token scopes) and tool
//! calls, each answered with compact text or one clear error sentence.

use crate::tools::{self, CallError, Ctx, Tool, ToolError, Toolset};
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
    pub tools: Vec<&'static Tool>,
    /// Not offered, with the reason.
    pub disabled: BTreeMap<&'static str, Disabled>,
    /// The token's scopes, when they could be read.
    pub scopes: Option<Vec<String>>,
}

/// Works out which tools to offer. `scopes == None` (unreadable) offers every tool and lets calls
/// report any failure.
pub fn enabled(specs: &[&'static Tool], toolsets: &[Toolset], read_only: bool, scopes: Option<&[String]>) -> Enabled {
    let mut out = Enabled { tools: Vec::new(), disabled: BTreeMap::new(), scopes: scopes.map(<[String]>::to_vec) };
    for &spec in specs {
        let reason = if !toolsets.contains(&spec.toolset) {
            Some(Disabled::Toolset)
        } else if read_only && !spec.read_only() {
            Some(Disabled::ReadOnly)
        } else {
            scopes.map(|s| spec.missing_scopes(s)).filter(|m| !m.is_empty()).map(Disabled::Scopes)
        };
        match reason {
            Some(r) => {
                out.disabled.insert(spec.name, r);
            }
            None => out.tools.push(spec),
        }
    }
    out
}

/// Tool calls run at once; more wait their turn. Bounds the memory a burst of pipelined calls
/// takes (every running call holds its request, response and buffers at the same time).
const CONCURRENT_CALLS: usize = 8;

struct Inner {
    calls: tokio::sync::Semaphore,
    ctx: Ctx,
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
        let calls = tokio::sync::Semaphore::new(CONCURRENT_CALLS);
        Server { inner: Arc::new(Inner { calls, ctx, toolsets, read_only, enabled: OnceCell::new() }) }
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
                Arc::new(enabled(tools::catalogue(), &inner.toolsets, inner.read_only, scopes.as_deref()))
            })
            .await
            .clone()
    }

    async fn run(
        &self,
        tool: &'static Tool,
        arguments: rmcp::model::JsonObject,
        progress: &tools::Progress,
    ) -> Result<String, CallError> {
        let enabled = self.enabled().await;
        let name = tool.name;
        let refused = match enabled.disabled.get(name) {
            Some(Disabled::Scopes(missing)) => Some(ToolError::Api(crate::buildkite::ApiError::MissingScope {
                tool: name.to_string(),
                scope: missing.join(", "),
            })),
            Some(Disabled::ReadOnly) => {
                Some(ToolError::Refused(format!("{name} writes, and the server runs with --read-only")))
            }
            Some(Disabled::Toolset) => {
                Some(ToolError::Refused(format!("{name} is in a toolset that is not enabled (--toolsets)")))
            }
            None => None,
        };
        if let Some(error) = refused {
            return Err(CallError { tool: name.to_string(), error });
        }
        tools::kit::run(&self.inner.ctx, tool, arguments, progress).await
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
        Ok(ListToolsResult::with_all_items(enabled.tools.iter().map(|t| t.to_tool()).collect()))
    }

    fn get_tool(&self, name: &str) -> Option<rmcp::model::Tool> {
        tools::find(name).map(Tool::to_tool)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let name = request.name.to_string();
        let Some(tool) = tools::find(&name) else {
            let name = crate::stdio::short(&name, 64);
            return Err(McpError::invalid_params(format!("unknown tool `{name}`: tools/list names the tools"), None));
        };
        let started = std::time::Instant::now();
        let cancel = context.ct.clone();
        let progress = tools::Progress::new(context.meta.get_progress_token(), context.peer.clone(), cancel.clone());
        // A cancelled call stops where it is: its requests, waits and progress end with the future.
        let result = tokio::select! {
            biased;
            () = cancel.cancelled() => {
                tracing::info!(tool = %name, elapsed_ms = started.elapsed().as_millis(), "tool call cancelled");
                // rmcp sends no response for a cancelled request; this only ends the handler.
                return Ok(CallToolResult::error(vec![ContentBlock::text("the call was cancelled")]).into());
            }
            result = async {
                // Never closed: the semaphore lives as long as the server.
                let _turn = self.inner.calls.acquire().await.ok();
                self.run(tool, request.arguments.unwrap_or_default(), &progress).await
            } => result,
        };
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
        use crate::buildkite::rest::{MINIMUM_SCOPES, READ_ONLY_SCOPES};
        let specs = tools::catalogue();
        let recipe = |scopes: &[&str]| scopes.iter().map(|s| s.to_string()).collect::<Vec<String>>();
        // A tool is offered exactly when the recipe holds every scope it declares.
        for granted in [recipe(MINIMUM_SCOPES), recipe(READ_ONLY_SCOPES), recipe(&["read_user"])] {
            let e = enabled(specs, &Toolset::ALL, false, Some(&granted));
            for tool in specs {
                let lacking: Vec<&str> =
                    tool.scopes.iter().copied().filter(|s| !granted.iter().any(|g| g == s)).collect();
                match e.disabled.get(tool.name) {
                    None => assert!(lacking.is_empty(), "{} offered without {lacking:?}", tool.name),
                    Some(Disabled::Scopes(missing)) => assert_eq!(missing, &lacking, "{}", tool.name),
                    Some(other) => panic!("{}: {other:?}", tool.name),
                }
            }
        }
        // The minimum recipe leaves out the log, artifact, agent and cluster tools; the read-only one
        // reaches every read tool.
        let e = enabled(specs, &Toolset::ALL, false, Some(&recipe(MINIMUM_SCOPES)));
        assert!(
            e.tools.iter().any(|t| t.toolset == Toolset::Builds) && e.tools.iter().all(|t| t.toolset != Toolset::Logs)
        );
        let e = enabled(specs, &Toolset::ALL, false, Some(&recipe(READ_ONLY_SCOPES)));
        let read_tools = specs.iter().filter(|t| t.read_only()).count();
        assert_eq!(e.tools.len(), read_tools, "the read-only recipe reaches every read tool: {:?}", e.disabled);
        let e = enabled(specs, &Toolset::ALL, false, None);
        assert!(e.disabled.is_empty());
        let e = enabled(specs, &[Toolset::User], false, None);
        assert!(e.tools.iter().all(|t| t.toolset == Toolset::User) && !e.tools.is_empty());
        assert!(e.disabled.values().all(|d| *d == Disabled::Toolset));
    }
}
