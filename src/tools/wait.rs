//! `wait_for_build`: waits, within one call, for a build to settle, polling a cheap query with a
//! growing interval and sending MCP progress notifications when the client asked for them. Without
//! GraphQL access each poll is one REST request: the build without its jobs (`exclude_jobs=true`),
//! whose `job_state_counts` give the progress.

use super::args::{clamp, lenient_int};
use super::kit::{Rest, Call, Hints, Tool, ToolError, Toolset, handler};
use super::resolve::BuildLookup;
use super::rest::RestBuildId;
use super::rows::BuildRow;
use crate::buildkite::ops::{GetBuildState, get_build_state};
use crate::render;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::time::{Duration, Instant};

/// The longest wait in one call: well inside the usual 60 s client time-out.
const MAX_WAIT_S: i64 = 50;
/// Polls back off from 1 s to this.
const MAX_POLL: Duration = Duration::from_secs(10);

/// Arguments of `wait_for_build`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WaitArgs {
    // Build URL, org/pipeline/number, UUID, or a number with pipeline. (documented once, in the server instructions)
    build: String,
    // Pipeline, when build is a bare number. (documented once, in the server instructions)
    #[serde(default)]
    pipeline: Option<String>,
    /// Seconds to wait in this call, 1-50 (default 30).
    #[serde(default, deserialize_with = "lenient_int")]
    timeout_s: Option<i64>,
}

/// The tools of this area.
pub(super) const TOOLS: &[Tool] = &[Tool {
    name: "wait_for_build",
    toolset: Toolset::Builds,
    hints: Hints::READ,
    scopes: &["read_builds"],
    rest: Rest::Same,
    description: "Wait up to 50 s for a build to finish or block, with progress; returns its final state, or the current one and how to keep waiting.",
    handler: handler!(wait_for_build, WaitArgs),
}];

/// States a build rests in: finished, or waiting for a person.
fn settled(state: &str) -> bool {
    matches!(state, "passed" | "failed" | "canceled" | "skipped" | "not_run" | "blocked")
}

fn count<T>(c: Option<T>, f: impl Fn(T) -> i64) -> i64 {
    c.map(f).unwrap_or(0)
}

/// What one poll saw, from either API.
struct Seen {
    /// `org/pipeline/number`.
    build: String,
    /// Its state, lower-case.
    state: String,
    /// What a blocked build waits for.
    gate: Option<String>,
    started_at: Option<String>,
    finished_at: Option<String>,
    /// Jobs: all, finished, running.
    jobs: (i64, i64, i64),
}

/// REST job states that are over (GraphQL's FINISHED, CANCELED, TIMED_OUT, EXPIRED, SKIPPED, BROKEN).
const REST_DONE: &[&str] = &["passed", "failed", "canceled", "timed_out", "expired", "skipped", "broken", "finished"];

/// One poll: `GetBuildState` over GraphQL, else the REST build without its jobs.
async fn poll(call: &Call<'_>, lookup: &BuildLookup, rest: Option<&RestBuildId>) -> Result<Seen, ToolError> {
    if let Some(id) = rest {
        let b = call.rest_build(id).await?;
        let row = BuildRow::from_rest(&b, false);
        let counts = b.job_state_counts.unwrap_or_default();
        let sum = |names: &[&str]| names.iter().map(|s| counts.states.get(*s).copied().unwrap_or(0)).sum::<i64>();
        return Ok(Seen {
            build: id.slug(),
            state: row.state,
            gate: row.gate,
            started_at: b.started_at,
            finished_at: b.finished_at,
            jobs: (counts.total, sum(REST_DONE), sum(&["running"])),
        });
    }
    let wanted = &lookup.wanted;
    let variables = get_build_state::Variables { slug: lookup.slug.clone(), uuid: lookup.uuid.clone() };
    let b = wanted.found(call.query::<GetBuildState>(variables, wanted).await?.build)?;
    Ok(Seen {
        build: format!("{}/{}/{}", b.organization.slug, b.pipeline.slug, b.number),
        state: render::state(&b.state),
        gate: b.blocked_state.as_ref().map(render::state),
        started_at: b.started_at,
        finished_at: b.finished_at,
        jobs: (count(b.total, |c| c.count), count(b.finished, |c| c.count), count(b.running, |c| c.count)),
    })
}

async fn wait_for_build(call: &Call<'_>, args: WaitArgs) -> Result<String, ToolError> {
    let rest = if call.graphql().await {
        None
    } else {
        Some(call.rest_build_id(&args.build, args.pipeline.as_deref()).await?)
    };
    let lookup = match &rest {
        Some(id) => BuildLookup { slug: Some(id.slug()), uuid: None, wanted: id.wanted.clone() },
        None => call.build(&args.build, args.pipeline.as_deref()).await?,
    };
    let limit = Duration::from_secs(clamp(args.timeout_s, 30, 1, MAX_WAIT_S) as u64);
    let started = Instant::now();
    let mut delay = Duration::from_secs(1);
    loop {
        if call.progress.cancelled() {
            return Err(ToolError::Refused("wait_for_build was cancelled".into()));
        }
        let b = poll(call, &lookup, rest.as_ref()).await?;
        let state = b.state.clone();
        let (total, finished, running) = b.jobs;
        let waited = started.elapsed();
        let done = settled(&state);
        if done || waited + Duration::from_millis(200) >= limit {
            let mut out = Map::new();
            out.insert("build".into(), json!(b.build));
            out.insert("state".into(), json!(state));
            if state == "blocked" {
                out.insert("gate".into(), json!(b.gate));
            }
            out.insert("finished".into(), json!(done && state != "blocked"));
            out.insert("waited_s".into(), json!(waited.as_secs()));
            out.insert(
                "run_s".into(),
                json!(render::seconds_between(b.started_at.as_deref(), b.finished_at.as_deref())),
            );
            out.insert("jobs".into(), json!({"total": total, "finished": finished, "running": running}));
            let next = match state.as_str() {
                "blocked" => "it waits for someone to unblock it: list_jobs state=blocked shows the step",
                "failed" => "get_build_failure_summary explains the failures",
                s if settled(s) => "get_build shows the details",
                _ => "still running: call wait_for_build again to keep waiting",
            };
            out.insert("next".into(), json!(next));
            return Ok(render::finish(Value::Object(out)));
        }
        let what = &lookup.wanted.what;
        call.progress
            .report(finished as f64, Some(total as f64), format!("{what} is {state}: {finished}/{total} jobs done"))
            .await;
        tokio::time::sleep(delay.min(limit.saturating_sub(waited))).await;
        delay = (delay * 2).min(MAX_POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocked_and_finished_states_settle_running_ones_do_not() {
        for s in ["passed", "failed", "canceled", "blocked", "not_run", "skipped"] {
            assert!(settled(s), "{s}");
        }
        for s in ["running", "scheduled", "creating", "failing", "canceling"] {
            assert!(!settled(s), "{s}");
        }
    }
}
