//! `diff_log`: what a failed job's log says that a passing one of the same step did not. The
//! baseline is the argument's job, else the same step's last passing job (the step's history, as
//! the failure summary reads it: on the build's branch, else on the default branch; the same
//! parallel index when there is one). Both logs go through the cache (streamed to disk, cleaned);
//! the comparison ([`crate::logs::diff`]) reads them in chunks.

use super::{Obtained, blocking, head, io_error, obtain};
use crate::buildkite::ops::{GetJobStep, ListJobs, get_job_step, list_jobs};
use crate::logs::diff::{self, LogDiff};
use crate::render;
use crate::tools::args::lenient_string;
use crate::tools::kit::{Call, ToolError, Wanted, nodes};
use crate::tools::resolve::JOB_HINT;
use crate::tools::triage::history;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// Lines only in the failing log shown at most, and in one run.
const MAX_LINES: usize = 120;
const MAX_RUN: usize = 40;

/// Arguments of `diff_log`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DiffLogArgs {
    // Job UUID, or a build URL ending in #job-uuid. (documented once, in the server instructions)
    job: String,
    /// Passing job to compare with (default: the step's last passing job).
    #[serde(default, deserialize_with = "lenient_string")]
    baseline: Option<String>,
}

/// The baseline found for a job, or why there is none.
enum Baseline {
    /// A job, and the build it ran in.
    Job(String, Option<String>),
    /// The step never passed (or has no key): said instead of a diff.
    None(String),
}

/// The same step's last passing job: its build from the step's history, then the step's passed
/// jobs in that build.
async fn last_passing(call: &Call<'_>, uuid: &str) -> Result<Baseline, ToolError> {
    let wanted = Wanted::new(format!("job {uuid}"), JOB_HINT);
    let data = call.query::<GetJobStep>(get_job_step::Variables { uuid: uuid.to_string() }, &wanted).await?;
    use get_job_step::GetJobStepJob as Job;
    let job = match data.job {
        Some(Job::JobTypeCommand(j)) => j,
        Some(_) => return Err(ToolError::args(format!("job {uuid} is not a command job, so it has no log"))),
        None => return Err(wanted.not_found()),
    };
    let build = job.build.ok_or_else(|| wanted.not_found())?;
    let Some(key) = job.step.and_then(|s| s.key) else {
        return Ok(Baseline::None(
            "no baseline: the step has no key, so its passing jobs cannot be found; pass baseline".into(),
        ));
    };
    let (org, pipeline) = (build.organization.slug, build.pipeline.slug);
    let branch = build.branch;
    let ask = history::Ask {
        pipeline: format!("{org}/{pipeline}"),
        branch: &branch,
        number: build.number,
        created_at: build.created_at.as_deref(),
        keys: vec![key.clone()],
    };
    let told = history::read(call, &ask).await?;
    let Some(number) = told.last_passed(&key) else {
        return Ok(Baseline::None(format!(
            "no baseline: step {} did not pass in the last {} builds of its branch or the default branch; pass baseline",
            render::clean_text(&key, 100),
            history::BUILDS
        )));
    };
    let slug = format!("{org}/{pipeline}/{number}");
    let variables = list_jobs::Variables {
        slug: Some(slug.clone()),
        uuid: None,
        first: 50,
        after: None,
        state: None,
        type_: Some(vec![list_jobs::JobTypes::COMMAND]),
        step: Some(list_jobs::JobStepSearch { key: Some(vec![key.clone()]) }),
        passed: Some(true),
    };
    let wanted = Wanted::new(format!("build {slug}"), "org/pipeline/number");
    let found = wanted.found(call.query::<ListJobs>(variables, &wanted).await?.build)?;
    use list_jobs::ListJobsBuildJobsEdgesNode as Node;
    let passed: Vec<(String, Option<i64>)> = nodes!(found.jobs)
        .filter_map(|n| match n {
            Node::JobTypeCommand(j) if j.passed && !j.retried => Some((j.uuid, j.parallel_group_index)),
            _ => None,
        })
        .collect();
    let pick = passed.iter().find(|(_, i)| *i == job.parallel_group_index).or(passed.first());
    match pick {
        Some((uuid, _)) => Ok(Baseline::Job(uuid.clone(), Some(slug))),
        None => Ok(Baseline::None(format!("no baseline: build {slug} holds no passed job of step {key}; pass baseline"))),
    }
}

/// `diff_log`.
pub(super) async fn diff_log(call: &Call<'_>, args: DiffLogArgs) -> Result<String, ToolError> {
    let (ctx, tool) = (call.ctx, call.tool.name);
    let id = call.job(&args.job)?;
    let (baseline, from) = match args.baseline.as_deref().map(str::trim).filter(|b| !b.is_empty()) {
        Some(b) => (call.job(b)?, None),
        None if !call.graphql().await => {
            return Err(ToolError::args(
                "finding the step's last passing job needs GraphQL access, which this token lacks: pass baseline (a passing job's UUID)",
            ));
        }
        None => match last_passing(call, &id.uuid).await? {
            Baseline::Job(uuid, build) => (call.job(&uuid)?, build),
            Baseline::None(why) => {
                let mut out = Map::new();
                out.insert("job".into(), json!(id.uuid));
                out.insert("baseline".into(), json!(why));
                return Ok(render::finish(Value::Object(out)));
            }
        },
    };
    if baseline.uuid == id.uuid {
        return Err(ToolError::args("the baseline is the job itself: pass another job"));
    }
    let (failing, passing) = tokio::join!(obtain(ctx, tool, id), obtain(ctx, tool, baseline));
    let (failing, passing) = (failing?, passing?);
    let (a, b) = (failing.log.clone(), passing.log.clone());
    let cancel = call.progress.cancellation();
    let d = blocking(move || diff::diff(&a, &b, MAX_LINES, MAX_RUN, &|| cancel.is_cancelled()).map_err(io_error)).await?;
    Ok(render::render_object(Value::Object(shown(&failing, &passing, from, &d)), call.budget(2_000)))
}

fn span(s: &diff::Span) -> String {
    let title = s.title.as_deref().map(|t| render::clean_text(t, 120)).unwrap_or_else(|| "(before any section)".into());
    format!("{}-{} {title}", s.first, s.last)
}

/// The answer: both logs' sizes, the first diverging section in both, the runs of lines only in
/// the failing log (`n: text`, each run with the baseline line it follows), and the counts.
fn shown(failing: &Obtained, passing: &Obtained, from: Option<String>, d: &LogDiff) -> Map<String, Value> {
    let mut out = head(failing);
    let mut base = Map::new();
    base.insert("job".into(), json!(passing.uuid));
    if let Some(build) = from {
        base.insert("build".into(), json!(build));
    }
    base.insert("lines".into(), json!(passing.log.meta().lines));
    out.insert("baseline".into(), Value::Object(base));
    match &d.first {
        Some(first) => {
            let mut f = Map::new();
            f.insert("failing".into(), json!(span(&first.failing)));
            f.insert(
                "baseline".into(),
                json!(first.baseline.as_ref().map(span).unwrap_or_else(|| "no such section".into())),
            );
            out.insert("first_divergence".into(), Value::Object(f));
        }
        None => {
            out.insert(
                "first_divergence".into(),
                json!("none: every line of the failing log is in the baseline (numbers, ids, paths and times aside)"),
            );
        }
    }
    let runs: Vec<Value> = d
        .runs
        .iter()
        .map(|r| {
            let mut run = Map::new();
            run.insert(
                "baseline_after".into(),
                json!(r.baseline_after.map_or("its section's start".to_string(), |n| format!("line {n}"))),
            );
            let mut lines: Vec<Value> = r
                .lines
                .iter()
                .map(|l| {
                    let sep = if r.context.contains(&l.number) { '-' } else { ':' };
                    Value::String(crate::logs::rows::row(l, 1, crate::logs::rows::RowStyle::Grep { sep, times: false }))
                })
                .collect();
            if r.more > 0 {
                lines.push(json!(format!("… {} more lines only in the failing log", r.more)));
            }
            run.insert("lines".into(), Value::Array(lines));
            Value::Object(run)
        })
        .collect();
    out.insert("only_in_failing".into(), Value::Array(runs));
    let shown: usize = d.runs.iter().map(|r| r.lines.len()).sum();
    let mut counts = format!("{} lines only in the failing log", d.only_in_failing);
    if (shown as u64) < d.only_in_failing {
        counts.push_str(&format!(" ({shown} shown; search_log or read_log for the rest)"));
    }
    counts.push_str(&format!(", {} only in the baseline", d.only_in_baseline));
    if d.setup_only_in_failing > 0 {
        counts.push_str(&format!("; {} differing set-up lines (hooks, checkout) not shown", d.setup_only_in_failing));
    }
    if d.unmatched > 0 {
        counts.push_str(&format!("; {} of {} sections not in the baseline", d.unmatched, d.sections));
    }
    out.insert("counts".into(), json!(counts));
    out
}
