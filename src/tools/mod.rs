//! The tool registry: every tool's name, toolset, read-only flag, required token scopes, description
//! and input schema, plus dispatch of a call to the tool's function.

mod agents;
mod annotations;
mod args;
mod artifacts;
mod builds;
mod builds_rest;
mod clusters;
mod compare;
mod context;
mod jobs;
mod logs;
mod pipelines;
mod schedules;
pub mod schema;
mod test_engine;
mod triage;
mod uploads;
mod user;
mod wait;

pub use context::{Access, Ctx, LogSettings, OrgDefault};

use crate::buildkite::ApiError;
use crate::buildkite::ids::IdError;
use rmcp::model::JsonObject;
use serde_json::{Map, Value};
use std::fmt;
use std::sync::Arc;

/// A group of tools that can be switched on or off together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Toolset {
    /// Current user, organizations, token.
    User,
    /// Pipelines.
    Pipelines,
    /// Builds.
    Builds,
    /// Jobs of a build.
    Jobs,
    /// Annotations.
    Annotations,
    /// Build artifacts.
    Artifacts,
    /// Job logs.
    Logs,
    /// Agents.
    Agents,
    /// Clusters and their queues.
    Clusters,
    /// Test Engine suites, runs and tests.
    Tests,
}

impl Toolset {
    /// Every toolset, in display order.
    pub const ALL: [Toolset; 10] = [
        Toolset::User,
        Toolset::Pipelines,
        Toolset::Builds,
        Toolset::Jobs,
        Toolset::Logs,
        Toolset::Annotations,
        Toolset::Artifacts,
        Toolset::Agents,
        Toolset::Clusters,
        Toolset::Tests,
    ];

    /// The name used by `--toolsets`.
    pub fn name(self) -> &'static str {
        match self {
            Toolset::User => "user",
            Toolset::Pipelines => "pipelines",
            Toolset::Builds => "builds",
            Toolset::Jobs => "jobs",
            Toolset::Annotations => "annotations",
            Toolset::Artifacts => "artifacts",
            Toolset::Logs => "logs",
            Toolset::Agents => "agents",
            Toolset::Clusters => "clusters",
            Toolset::Tests => "tests",
        }
    }

    /// Parses a comma-separated list (`all` for every toolset).
    pub fn parse_list(list: &str) -> Result<Vec<Toolset>, String> {
        let mut out = Vec::new();
        for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if name == "all" {
                return Ok(Toolset::ALL.to_vec());
            }
            match Toolset::ALL.iter().find(|t| t.name() == name) {
                Some(t) if !out.contains(t) => out.push(*t),
                Some(_) => {}
                None => {
                    let known: Vec<&str> = Toolset::ALL.iter().map(|t| t.name()).collect();
                    return Err(format!("unknown toolset `{name}`: choose from all, {}", known.join(", ")));
                }
            }
        }
        if out.is_empty() {
            return Err("no toolset given: use `all` or a comma-separated list".to_string());
        }
        Ok(out)
    }
}

impl fmt::Display for Toolset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A tool's static description.
#[derive(Clone)]
pub struct ToolSpec {
    /// The MCP tool name.
    pub name: &'static str,
    /// Its toolset.
    pub toolset: Toolset,
    /// Whether it only reads.
    pub read_only: bool,
    /// Token scopes it needs (all of them).
    pub scopes: &'static [&'static str],
    /// What the model reads to decide when to use it.
    pub description: &'static str,
    /// Its input schema.
    pub schema: fn() -> Arc<JsonObject>,
}

impl fmt::Debug for ToolSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolSpec").field("name", &self.name).finish()
    }
}

impl ToolSpec {
    /// The scopes in `granted` that this tool lacks.
    pub fn missing_scopes(&self, granted: &[String]) -> Vec<&'static str> {
        self.scopes.iter().copied().filter(|s| !granted.iter().any(|g| g == s)).collect()
    }

    /// The MCP tool definition.
    pub fn to_tool(&self) -> rmcp::model::Tool {
        // A `title` would repeat the name and `openWorldHint` defaults to true: both cost tokens for nothing.
        let annotations = rmcp::model::ToolAnnotations::new().read_only(self.read_only);
        rmcp::model::Tool::new(self.name, self.description, (self.schema)()).with_annotations(annotations)
    }
}

/// Every tool this build knows.
pub fn catalogue() -> Vec<ToolSpec> {
    let mut all = Vec::new();
    all.extend(user::specs());
    all.extend(pipelines::specs());
    all.extend(schedules::specs());
    all.extend(builds::specs());
    all.extend(compare::specs());
    all.extend(uploads::specs());
    all.extend(triage::specs());
    all.extend(wait::specs());
    all.extend(jobs::specs());
    all.extend(logs::specs());
    all.extend(annotations::specs());
    all.extend(artifacts::specs());
    all.extend(agents::specs());
    all.extend(clusters::specs());
    all.extend(test_engine::specs());
    all
}

/// Why a tool call failed; renders as one actionable sentence.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// From Buildkite.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// An identifier that could not be parsed.
    #[error(transparent)]
    Id(#[from] IdError),
    /// Arguments that do not fit the schema.
    #[error("invalid arguments for {tool}: {detail}")]
    Args {
        /// The tool.
        tool: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// No tool by that name.
    #[error("unknown tool `{0}`")]
    Unknown(String),
}

/// Where a long-running tool reports progress: the client's progress token and the connection,
/// when the client gave a token; otherwise reports go nowhere.
#[derive(Clone, Default)]
pub struct Progress {
    target: Option<(rmcp::model::ProgressToken, rmcp::Peer<rmcp::RoleServer>)>,
}

impl Progress {
    /// Reports to `peer` under `token`, if there is a token.
    pub fn new(token: Option<rmcp::model::ProgressToken>, peer: rmcp::Peer<rmcp::RoleServer>) -> Self {
        Progress { target: token.map(|t| (t, peer)) }
    }

    /// Sends one `notifications/progress`; a failure to send is only logged.
    pub async fn report(&self, progress: f64, total: Option<f64>, message: String) {
        let Some((token, peer)) = &self.target else {
            return;
        };
        let mut param = rmcp::model::ProgressNotificationParam::new(token.clone(), progress).with_message(message);
        if let Some(total) = total {
            param = param.with_total(total);
        }
        if let Err(e) = peer.notify_progress(param).await {
            tracing::debug!("progress notification not sent: {e}");
        }
    }
}

/// Runs the named tool with its JSON arguments and returns the rendered output.
pub async fn call(
    ctx: &Ctx,
    name: &str,
    arguments: Map<String, Value>,
    progress: &Progress,
) -> Result<String, ToolError> {
    match name {
        "current_user" => user::current_user(ctx, args::parse("current_user", arguments)?).await,
        "list_pipelines" => pipelines::list_pipelines(ctx, args::parse("list_pipelines", arguments)?).await,
        "get_pipeline" => pipelines::get_pipeline(ctx, args::parse("get_pipeline", arguments)?).await,
        "list_builds" => builds::list_builds(ctx, args::parse("list_builds", arguments)?).await,
        "get_build" => builds::get_build(ctx, args::parse("get_build", arguments)?).await,
        "get_build_failure_summary" => {
            triage::get_build_failure_summary(ctx, args::parse("get_build_failure_summary", arguments)?).await
        }
        "wait_for_build" => wait::wait_for_build(ctx, args::parse("wait_for_build", arguments)?, progress).await,
        "list_jobs" => jobs::list_jobs(ctx, args::parse("list_jobs", arguments)?).await,
        "get_job" => jobs::get_job(ctx, args::parse("get_job", arguments)?).await,
        "list_annotations" => annotations::list_annotations(ctx, args::parse("list_annotations", arguments)?).await,
        "compare_builds" => compare::compare_builds(ctx, args::parse("compare_builds", arguments)?).await,
        "list_step_uploads" => uploads::list_step_uploads(ctx, args::parse("list_step_uploads", arguments)?).await,
        "log_digest" => logs::log_digest(ctx, args::parse("log_digest", arguments)?).await,
        "tail_log" => logs::tail_log(ctx, args::parse("tail_log", arguments)?).await,
        "search_log" => logs::search_log(ctx, args::parse("search_log", arguments)?).await,
        "read_log" => logs::read_log(ctx, args::parse("read_log", arguments)?).await,
        "list_artifacts" => artifacts::list_artifacts(ctx, args::parse("list_artifacts", arguments)?).await,
        "get_artifact" => artifacts::get_artifact(ctx, args::parse("get_artifact", arguments)?).await,
        "list_schedules" => schedules::list_schedules(ctx, args::parse("list_schedules", arguments)?).await,
        "list_agents" => agents::list_agents(ctx, args::parse("list_agents", arguments)?).await,
        "get_agent" => agents::get_agent(ctx, args::parse("get_agent", arguments)?).await,
        "list_clusters" => clusters::list_clusters(ctx, args::parse("list_clusters", arguments)?).await,
        "get_queue" => clusters::get_queue(ctx, args::parse("get_queue", arguments)?).await,
        "list_suites" => test_engine::list_suites(ctx, args::parse("list_suites", arguments)?).await,
        "list_test_runs" => test_engine::list_test_runs(ctx, args::parse("list_test_runs", arguments)?).await,
        "list_tests" => test_engine::list_tests(ctx, args::parse("list_tests", arguments)?).await,
        "get_test" => test_engine::get_test(ctx, args::parse("get_test", arguments)?).await,
        other => Err(ToolError::Unknown(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toolsets_parse_with_all_and_reject_unknown_names() {
        assert_eq!(Toolset::parse_list("all").unwrap(), Toolset::ALL.to_vec());
        assert_eq!(Toolset::parse_list("builds, user,builds").unwrap(), vec![Toolset::Builds, Toolset::User]);
        let err = Toolset::parse_list("builds,nope").unwrap_err();
        assert!(err.contains("`nope`") && err.contains("pipelines"), "{err}");
        assert!(Toolset::parse_list(" , ").is_err());
    }

    #[test]
    fn every_catalogued_tool_is_dispatched_and_names_are_unique() {
        let specs = catalogue();
        let mut names: Vec<&str> = specs.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), specs.len());
        for spec in specs {
            let schema = (spec.schema)();
            assert_eq!(schema.get("type"), Some(&Value::String("object".into())), "{}", spec.name);
            assert!(!schema.contains_key("$schema"), "{}", spec.name);
            assert!(spec.description.len() < 300, "{} description is long", spec.name);
        }
    }
}
