//! The write tools — `build_action`, `cancel`, `job_action`, `annotate` — and the safety framework
//! they all go through ([`safety`]: dry runs, confirmation, never twice, audit; [`confirm`]: the
//! question to a person in both protocol eras). Each write is a GraphQL mutation with GraphQL
//! access, else the REST endpoint with the same arguments and answer.

mod annotate;
mod builds;
pub mod confirm;
mod jobs;
mod retry;
pub mod safety;

use super::args::{lenient_bool, lenient_int};
use super::kit::{Hints, Rest, Tool, Toolset, handler};
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The scopes every write tool needs: it reads its target first, then writes.
const WRITE_BUILDS: &[&str] = &["read_builds", "write_builds"];

/// A write that is not destructive and not idempotent (a second call acts again).
const WRITE: Hints = Hints { read_only: false, destructive: false, idempotent: false };

/// The tools of this area.
pub(super) const TOOLS: &[Tool] = &[
    Tool {
        name: "build_action",
        toolset: Toolset::Builds,
        hints: WRITE,
        scopes: WRITE_BUILDS,
        rest: Rest::Same,
        description: "Create a build on a pipeline (branch, commit default HEAD, message, env, meta_data); rebuild a build; retry its failed jobs.",
        handler: handler!(builds::build_action, BuildActionArgs),
    },
    Tool {
        name: "cancel",
        toolset: Toolset::Builds,
        hints: Hints { read_only: false, destructive: true, idempotent: true },
        scopes: WRITE_BUILDS,
        rest: Rest::Same,
        description: "Cancel a running or scheduled build, or one job (GraphQL only).",
        handler: handler!(builds::cancel, CancelArgs),
    },
    Tool {
        name: "job_action",
        toolset: Toolset::Jobs,
        hints: WRITE,
        scopes: WRITE_BUILDS,
        rest: Rest::Same,
        description: "Retry a finished command job (the answer gives the new attempt's id), or unblock a block step with its fields.",
        handler: handler!(jobs::job_action, JobActionArgs),
    },
    Tool {
        name: "annotate",
        toolset: Toolset::Annotations,
        hints: WRITE,
        scopes: WRITE_BUILDS,
        rest: Rest::Same,
        description: "Create, replace or append to a build annotation (markdown body, context, style, priority).",
        handler: handler!(annotate::annotate, AnnotateArgs),
    },
];

/// Arguments of `build_action`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BuildActionArgs {
    /// create, rebuild, retry_failed, or retry_infra (only jobs the agent or machine failed, and expired ones).
    action: String,
    #[serde(default)]
    build: Option<String>,
    #[serde(default)]
    pipeline: Option<String>,
    /// Default: the pipeline's.
    #[serde(default)]
    branch: Option<String>,
    /// Default HEAD.
    #[serde(default)]
    commit: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    env: Option<BTreeMap<String, String>>,
    #[serde(default)]
    meta_data: Option<BTreeMap<String, String>>,
    #[serde(default, deserialize_with = "lenient_bool")]
    clean_checkout: Option<bool>,
    #[serde(default, deserialize_with = "lenient_bool")]
    ignore_branch_filters: Option<bool>,
    #[serde(default, deserialize_with = "lenient_bool")]
    dry_run: Option<bool>,
}

/// Arguments of `cancel`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelArgs {
    // Build URL, org/pipeline/number, UUID, or a number with pipeline. (documented once, in the server instructions)
    #[serde(default)]
    build: Option<String>,
    // Pipeline, when build is a bare number. (documented once, in the server instructions)
    #[serde(default)]
    pipeline: Option<String>,
    // Job UUID, or a build URL ending in #job-uuid. (documented once, in the server instructions)
    #[serde(default)]
    job: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    dry_run: Option<bool>,
}

/// Arguments of `job_action`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JobActionArgs {
    /// retry or unblock.
    action: String,
    // Job UUID, or a build URL ending in #job-uuid. (documented once, in the server instructions)
    job: String,
    /// unblock: the block step's fields, key to value.
    #[serde(default)]
    fields: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default, deserialize_with = "lenient_bool")]
    dry_run: Option<bool>,
}

/// Arguments of `annotate`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AnnotateArgs {
    // Build URL, org/pipeline/number, UUID, or a number with pipeline. (documented once, in the server instructions)
    build: String,
    // Pipeline, when build is a bare number. (documented once, in the server instructions)
    #[serde(default)]
    pipeline: Option<String>,
    /// Markdown.
    body: String,
    #[serde(default)]
    context: Option<String>,
    /// error, warning, info, success or default.
    #[serde(default)]
    style: Option<String>,
    /// 1-10, default 3.
    #[serde(default, deserialize_with = "lenient_int")]
    priority: Option<i64>,
    #[serde(default, deserialize_with = "lenient_bool")]
    append: Option<bool>,
    #[serde(default, deserialize_with = "lenient_bool")]
    dry_run: Option<bool>,
}
