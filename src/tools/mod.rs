//! The tools. Each area file declares its tools once (`TOOLS`, see [`kit::Tool`]); the catalogue,
//! dispatch and the `tools` table are derived from those declarations. The other modules here are
//! what the areas share: argument parsing, identifier resolution, output rows, the call context.

pub mod args;
mod context;
pub mod kit;
mod resolve;
mod rest;
mod rows;
pub mod schema;
mod test_results;

pub use context::{Access, Ctx, LogSettings, OrgDefault};
pub use kit::{CallError, Progress, Tool, ToolError, Toolset};
pub use write::confirm::{Asker, Confirmations};

use serde_json::{Map, Value};
use std::sync::LazyLock;

/// Declares the tool areas: one module each, whose `TOOLS` join the catalogue in this order.
macro_rules! areas {
    ($($area:ident),* $(,)?) => {
        $(mod $area;)*
        /// Every tool of this build, in display order.
        static CATALOGUE: LazyLock<Vec<&'static Tool>> =
            LazyLock::new(|| [$($area::TOOLS),*].into_iter().flatten().collect());
    };
}

areas!(
    user,
    pipelines,
    schedules,
    builds,
    compare,
    uploads,
    triage,
    wait,
    jobs,
    logs,
    annotations,
    artifacts,
    agents,
    clusters,
    test_engine,
    write,
);

/// Every tool this build knows, in display order.
pub fn catalogue() -> &'static [&'static Tool] {
    &CATALOGUE
}

/// The one sentence that names the tools which need GraphQL access and says where to turn it on.
pub fn no_graphql_sentence() -> String {
    let needing: Vec<&str> = catalogue().iter().filter(|t| !t.has_rest()).map(|t| t.name).collect();
    format!(
        "This token has no GraphQL access, so {} are not offered and other tools answer over REST: turn on \"Enable GraphQL API access\" for the token at {} to get them.",
        needing.join(", "),
        crate::buildkite::error::TOKEN_PAGE
    )
}

/// The tool called `name`.
pub fn find(name: &str) -> Option<&'static Tool> {
    catalogue().iter().copied().find(|t| t.name == name)
}

/// Runs the named tool with its JSON arguments and returns the rendered output.
pub async fn call(
    ctx: &Ctx,
    name: &str,
    arguments: Map<String, Value>,
    progress: &Progress,
) -> Result<String, CallError> {
    match find(name) {
        Some(tool) => kit::run(ctx, tool, arguments, progress).await,
        None => Err(CallError {
            tool: name.to_string(),
            error: ToolError::Refused(format!("unknown tool `{name}`: tools/list names the tools this server offers")),
        }),
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
    fn tool_names_are_unique_and_schemas_are_trimmed_objects() {
        let tools = catalogue();
        let mut names: Vec<&str> = tools.iter().map(|t| t.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), tools.len());
        for tool in tools {
            let schema = tool.schema();
            assert_eq!(schema.get("type"), Some(&Value::String("object".into())), "{}", tool.name);
            assert!(!schema.contains_key("$schema"), "{}", tool.name);
            let properties = schema.get("properties").and_then(Value::as_object).cloned().unwrap_or_default();
            for common in ["org", "max_tokens"] {
                assert!(!properties.contains_key(common), "{}: `{common}` is documented once, not per tool", tool.name);
            }
            assert!(tool.description.len() < 300, "{} description is long", tool.name);
            assert!(find(tool.name).is_some_and(|t| std::ptr::eq(t, *tool)));
        }
    }
}
