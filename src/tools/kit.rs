//! The tool kit: a tool is one declaration ([`Tool`]: name, toolset, hints, scopes, description,
//! argument type and handler), and everything else — the registry, dispatch, the `tools` table, the
//! tool name in an error — is derived from the declarations. The arguments every tool takes
//! (`org`, `max_tokens`) are split off here before a tool's own arguments are parsed, so each
//! argument type keeps `deny_unknown_fields` (an unknown argument is an error naming the valid ones).

use super::args::{lenient_int, lenient_string};
use super::context::Ctx;
use super::resolve::checked_org;
use crate::buildkite::ApiError;
use crate::buildkite::ids::IdError;
use rmcp::model::JsonObject;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A group of tools that can be switched on or off together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Toolset {
    /// Current user, organizations, teams, token.
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

/// A boxed future of a tool's answer.
pub type Answer<'a> = Pin<Box<dyn Future<Output = Result<String, ToolError>> + Send + 'a>>;

/// How a tool is run: its input schema and the function that parses its own arguments and runs it.
/// Made by [`handler!`] from the argument type and the tool's async function.
#[derive(Clone, Copy)]
pub struct Handler {
    /// The trimmed JSON Schema of the argument type.
    pub schema: fn() -> Arc<JsonObject>,
    /// Parses the tool's own arguments (the common ones already split off) and runs it.
    pub run: for<'a> fn(&'a Call<'a>, Map<String, Value>) -> Answer<'a>,
}

/// `handler!(function, Args)`: the [`Handler`] of an `async fn function(call: &Call<'_>, args: Args)`.
macro_rules! handler {
    ($run:path, $args:ty) => {
        $crate::tools::kit::Handler {
            schema: $crate::tools::schema::input_schema::<$args>,
            run: |call, arguments| {
                Box::pin(async move { $run(call, $crate::tools::kit::parse::<$args>(arguments)?).await })
            },
        }
    };
}
pub(crate) use handler;

/// The MCP hints of a tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hints {
    /// It only reads.
    pub read_only: bool,
    /// It may undo or destroy something (cancel, archive, pause).
    pub destructive: bool,
    /// Calling it twice has the effect of calling it once.
    pub idempotent: bool,
}

impl Hints {
    /// A tool that reads.
    pub const READ: Hints = Hints { read_only: true, destructive: false, idempotent: true };
}

/// How a tool answers for a token without GraphQL access ("Enable GraphQL API access" off).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rest {
    /// It has no REST path: without GraphQL it is not offered.
    No,
    /// It answers over REST with the same scopes.
    Same,
    /// It answers over REST, which needs these scopes instead (agents: `read_agents`).
    Scopes(&'static [&'static str]),
}

/// One tool, declared once in its area file.
pub struct Tool {
    /// The MCP tool name.
    pub name: &'static str,
    /// Its toolset.
    pub toolset: Toolset,
    /// What MCP clients are told about its effects.
    pub hints: Hints,
    /// Token scopes it needs (all of them).
    pub scopes: &'static [&'static str],
    /// What it does without GraphQL access.
    pub rest: Rest,
    /// What the model reads to decide when to use it.
    pub description: &'static str,
    /// Its arguments and function.
    pub handler: Handler,
}

impl fmt::Debug for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tool").field("name", &self.name).finish()
    }
}

impl Tool {
    /// Whether it only reads.
    pub fn read_only(&self) -> bool {
        self.hints.read_only
    }

    /// The scopes in `granted` that this tool lacks (over GraphQL when `graphql`, else over REST).
    pub fn missing_scopes(&self, granted: &[String], graphql: bool) -> Vec<&'static str> {
        let needed = match self.rest {
            Rest::Scopes(rest) if !graphql => rest,
            _ => self.scopes,
        };
        needed.iter().copied().filter(|s| !granted.iter().any(|g| g == s)).collect()
    }

    /// Whether it can answer without GraphQL access.
    pub fn has_rest(&self) -> bool {
        self.rest != Rest::No
    }

    /// Its input schema.
    pub fn schema(&self) -> Arc<JsonObject> {
        (self.handler.schema)()
    }

    /// The MCP tool definition.
    pub fn to_tool(&self) -> rmcp::model::Tool {
        // A `title` would repeat the name and `openWorldHint` defaults to true: both cost tokens for
        // nothing; for a reading tool the other hints say nothing either.
        let mut annotations = rmcp::model::ToolAnnotations::new().read_only(self.hints.read_only);
        // A write says whether it destroys (the default is true); idempotent only when it is (the
        // default is false).
        if !self.hints.read_only {
            annotations = annotations.destructive(self.hints.destructive);
            if self.hints.idempotent {
                annotations = annotations.idempotent(true);
            }
        }
        rmcp::model::Tool::new(self.name, self.description, self.schema()).with_annotations(annotations)
    }
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
    /// Arguments that do not fit (the dispatcher names the tool).
    #[error("invalid arguments: {0}")]
    Args(String),
    /// Refused by how the server runs (read-only, toolsets): the whole sentence.
    #[error("{0}")]
    Refused(String),
    /// A person must answer first (stateless protocol): the input-required result to return.
    #[error("a person must confirm this write first")]
    InputRequired(Box<rmcp::model::InputRequiredResult>),
}

impl ToolError {
    /// Bad arguments: what is wrong and what to pass instead.
    pub fn args(detail: impl Into<String>) -> Self {
        ToolError::Args(detail.into())
    }
}

/// A failed call: the tool and what went wrong, as one sentence.
#[derive(Debug)]
pub struct CallError {
    /// The tool called.
    pub tool: String,
    /// What went wrong.
    pub error: ToolError,
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match &self.error {
            ToolError::Args(detail) => format!("invalid arguments for {}: {detail}", self.tool),
            other => other.to_string(),
        };
        f.write_str(&cap_echoes(&text, ECHO_MAX))
    }
}

/// The most characters of one echoed input in an error.
pub const ECHO_MAX: usize = 100;

/// `text` with every quoted span (`` `…` `` or `"…"`) and every unbroken run of characters longer
/// than `max` cut to `max` characters and `…`: errors echo what was passed, never all of it.
pub fn cap_echoes(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(4 * max + 200));
    let mut run = 0usize;
    let mut quote: Option<(char, usize)> = None;
    let mut skipping = false;
    for c in text.chars() {
        let closes = quote.is_some_and(|(q, _)| q == c);
        if closes {
            quote = None;
            skipping = false;
            run = 0;
            out.push(c);
            continue;
        }
        match &mut quote {
            Some((_, n)) => *n += 1,
            None if c == '`' || c == '"' => {
                quote = Some((c, 0));
                out.push(c);
                continue;
            }
            None => {}
        }
        run = if c.is_whitespace() { 0 } else { run + 1 };
        let long = quote.is_some_and(|(_, n)| n > max) || run > max;
        if long {
            if !skipping {
                out.push('…');
                skipping = true;
            }
            continue;
        }
        if c.is_whitespace() && quote.is_none() {
            skipping = false;
        }
        out.push(c);
    }
    out
}

impl std::error::Error for CallError {}

/// The arguments every tool takes, split off before the tool's own are parsed.
#[derive(Debug, Default, Deserialize)]
struct Common {
    /// The organization slug (default: the configured one).
    #[serde(default, deserialize_with = "lenient_string")]
    org: Option<String>,
    /// The output budget in tokens.
    #[serde(default, deserialize_with = "lenient_int")]
    max_tokens: Option<i64>,
}

impl Common {
    /// Takes the common arguments out of `arguments`.
    fn split(arguments: &mut Map<String, Value>) -> Result<Common, ToolError> {
        let mut taken = Map::new();
        for key in ["org", "max_tokens"] {
            if let Some(value) = arguments.remove(key) {
                taken.insert(key.to_string(), value);
            }
        }
        let mut common: Common = parse(taken)?;
        common.org = match super::context::non_blank(common.org.as_deref()) {
            Some(org) => Some(checked_org(org)?),
            None => None,
        };
        Ok(common)
    }
}

/// Deserialises a tool's own arguments.
pub fn parse<T: DeserializeOwned>(arguments: Map<String, Value>) -> Result<T, ToolError> {
    serde_json::from_value(Value::Object(arguments)).map_err(|e| ToolError::Args(e.to_string()))
}

/// One call of a tool: the shared context, the common arguments, and where progress goes.
pub struct Call<'a> {
    /// Everything calls share: the API, scopes, default org, log cache.
    pub ctx: &'a Ctx,
    /// The tool being run.
    pub tool: &'static Tool,
    /// Where progress notifications go.
    pub progress: &'a Progress,
    /// Who confirms a write, when the call came from a client that can be asked.
    pub asker: Option<&'a super::write::confirm::Asker>,
    org: Option<String>,
    max_tokens: Option<i64>,
}

impl<'a> Call<'a> {
    /// The `org` argument, already checked to be a slug.
    pub fn org_arg(&self) -> Option<&str> {
        self.org.as_deref()
    }

    /// The output budget in tokens: `max_tokens` clamped to 200..=50,000, or `default`.
    pub fn budget(&self, default: usize) -> usize {
        super::args::budget(self.max_tokens, default)
    }

    /// The organization: the `org` argument, else the default one, else an error saying how to name one.
    pub async fn org(&self) -> Result<String, ToolError> {
        self.ctx.org.resolve(&self.ctx.api, self.org_arg()).await
    }

    /// Whether this call may use GraphQL (the token's access is not known to be refused).
    pub async fn graphql(&self) -> bool {
        self.ctx.graphql_available().await
    }

    /// Runs one GraphQL operation; a not-found names `wanted`.
    pub async fn query<Q: graphql_client::GraphQLQuery>(
        &self,
        variables: Q::Variables,
        wanted: &Wanted,
    ) -> Result<Q::ResponseData, ToolError> {
        self.ctx.api.execute::<Q>(variables).await.map_err(|e| wanted.or_not_found(e))
    }

    /// One REST GET answered as JSON; a not-found names `wanted`.
    pub async fn rest(
        &self,
        path: &str,
        query: &[(&str, String)],
        wanted: &Wanted,
    ) -> Result<crate::buildkite::rest::RestPage, ToolError> {
        self.ctx.api.rest_json(path, query).await.map_err(|e| wanted.or_not_found(e))
    }
}

/// What a call looks up, to name it when it is not found: `build acme/web/42`, and what to check.
#[derive(Debug, Clone)]
pub struct Wanted {
    /// What was looked up.
    pub what: String,
    /// What to check when it is not found.
    pub hint: &'static str,
}

impl Wanted {
    /// `what`, with `hint` for when it is not found.
    pub fn new(what: impl Into<String>, hint: &'static str) -> Self {
        Wanted { what: what.into(), hint }
    }

    /// The not-found error for it.
    pub fn not_found(&self) -> ToolError {
        ApiError::NotFound { what: self.what.clone(), hint: self.hint.into() }.into()
    }

    /// `value`, or the not-found error when the API answered with nothing.
    pub fn found<T>(&self, value: Option<T>) -> Result<T, ToolError> {
        value.ok_or_else(|| self.not_found())
    }

    /// An API error with a generic not-found turned into one naming this.
    pub fn or_not_found(&self, e: ApiError) -> ToolError {
        e.or_not_found(&self.what, self.hint).into()
    }
}

/// The nodes of a GraphQL connection: `Option<Connection>` whose `edges` is
/// `Option<Vec<Option<Edge>>>` and whose edges hold `node: Option<T>`. Each generated operation
/// has its own connection types, so this is a macro rather than a trait.
macro_rules! nodes {
    ($connection:expr) => {
        $connection.and_then(|c| c.edges).unwrap_or_default().into_iter().flatten().filter_map(|e| e.node)
    };
}
pub(crate) use nodes;

/// Where a long-running tool reports progress: the client's progress token and the connection,
/// when the client gave a token; otherwise reports go nowhere.
/// Once the call is cancelled nothing more is sent.
#[derive(Clone, Default)]
pub struct Progress {
    target: Option<(rmcp::model::ProgressToken, rmcp::Peer<rmcp::RoleServer>)>,
    cancel: tokio_util::sync::CancellationToken,
}

impl Progress {
    /// Reports to `peer` under `token`, if there is a token, until `cancel` fires.
    pub fn new(
        token: Option<rmcp::model::ProgressToken>,
        peer: rmcp::Peer<rmcp::RoleServer>,
        cancel: tokio_util::sync::CancellationToken,
    ) -> Self {
        Progress { target: token.map(|t| (t, peer)), cancel }
    }

    /// Whether the call was cancelled (the client sent `notifications/cancelled`).
    pub fn cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// The call's cancellation, for work that runs off the async workers (a log search).
    pub fn cancellation(&self) -> tokio_util::sync::CancellationToken {
        self.cancel.clone()
    }

    /// Sends one `notifications/progress`; a failure to send is only logged.
    pub async fn report(&self, progress: f64, total: Option<f64>, message: String) {
        let Some((token, peer)) = &self.target else {
            return;
        };
        if self.cancel.is_cancelled() {
            return;
        }
        let mut param = rmcp::model::ProgressNotificationParam::new(token.clone(), progress).with_message(message);
        if let Some(total) = total {
            param = param.with_total(total);
        }
        if let Err(e) = peer.notify_progress(param).await {
            tracing::debug!("progress notification not sent: {e}");
        }
    }
}

/// Runs `tool` with its JSON arguments (the common ones included) and returns the rendered output.
pub async fn run(
    ctx: &Ctx,
    tool: &'static Tool,
    arguments: Map<String, Value>,
    progress: &Progress,
) -> Result<String, CallError> {
    run_with(ctx, tool, arguments, progress, None).await
}

/// [`run`], with who confirms a write (`asker`).
pub async fn run_with(
    ctx: &Ctx,
    tool: &'static Tool,
    mut arguments: Map<String, Value>,
    progress: &Progress,
    asker: Option<&super::write::confirm::Asker>,
) -> Result<String, CallError> {
    let failed = |error| CallError { tool: tool.name.to_string(), error };
    let common = Common::split(&mut arguments).map_err(failed)?;
    let call = Call { ctx, tool, progress, asker, org: common.org, max_tokens: common.max_tokens };
    let retry = tool.has_rest().then(|| arguments.clone());
    let started = std::time::Instant::now();
    let output = match (tool.handler.run)(&call, arguments).await {
        // GraphQL access was revoked while the server runs: the detector now says so (confirmed
        // by REST), so the same call answers over REST instead.
        Err(ToolError::Api(ApiError::NoGraphqlAccess { .. })) if retry.is_some() && !ctx.graphql_available().await => {
            (tool.handler.run)(&call, retry.unwrap_or_default()).await.map_err(failed)
        }
        other => other.map_err(failed),
    }?;
    Ok(match ctx.api.rate_limits().low_since(started) {
        Some(note) => with_field(output, "rate_limit", &note),
        None => output,
    })
}

/// `output` (a JSON object as text) with one more string field at its end; other text as it was.
fn with_field(output: String, key: &str, value: &str) -> String {
    let body = output.trim_end();
    let Some(open) = body.strip_suffix('}') else { return output };
    if !body.trim_start().starts_with('{') {
        return output;
    }
    let inner = open.trim_end();
    let separator = if inner.ends_with('{') { "" } else { "," };
    let (k, v) = (Value::String(key.to_string()), Value::String(value.to_string()));
    if output.contains('\n') {
        format!("{inner}{separator}\n  {k}: {v}\n}}")
    } else {
        format!("{inner}{separator}{k}:{v}}}")
    }
}

#[cfg(test)]
mod tests {
    use super::{cap_echoes, with_field};

    #[test]
    fn a_field_is_added_at_the_end_of_an_object_output() {
        assert_eq!(
            with_field("{\n  \"a\": 1\n}".into(), "rate_limit", "low"),
            "{\n  \"a\": 1,\n  \"rate_limit\": \"low\"\n}"
        );
        assert_eq!(with_field("{\"a\":1}".into(), "rate_limit", "low"), "{\"a\":1,\"rate_limit\":\"low\"}");
        assert_eq!(with_field("{}".into(), "k", "v"), "{\"k\":\"v\"}");
        assert_eq!(with_field("plain text".into(), "k", "v"), "plain text");
    }

    #[test]
    fn echoed_inputs_are_cut_to_the_cap() {
        let long = "x".repeat(10_000);
        let text = cap_echoes(&format!("`{long}` is not a build: pass a build URL"), 100);
        assert_eq!(text, format!("`{}…` is not a build: pass a build URL", "x".repeat(100)));
        let text = cap_echoes(&format!("invalid type: string \"{long}\", expected i64 and {long} more"), 100);
        assert!(text.len() < 300 && text.ends_with("more"), "{text}");
        assert_eq!(cap_echoes("short `ok` \"fine\"", 100), "short `ok` \"fine\"");
    }
}
