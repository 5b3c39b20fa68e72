//! `get_build_failure_summary`: why a build failed, in one call. One GraphQL request brings the
//! failed, timed-out and canceled command jobs, blocked steps and error/warning annotations; then
//! the end of each failed job's log is fetched with a ranged REST request (logs exist only in
//! REST) and reduced to the lines that explain the failure. Without GraphQL access the same
//! summary comes from REST (`triage/rest.rs`): the build, one page of its failed, stopped and
//! blocked jobs, and its annotations.

mod earlier;
pub(super) mod history;
mod rest;

use super::args::{clamp, lenient_int};
use super::context::Ctx;
use super::kit::{Rest, Call, Hints, Tool, ToolError, Toolset, handler, nodes};
use super::resolve::BuildLookup;
use super::rows::{self, JobRow, short_sha};
use super::test_results;
use crate::buildkite::{Api, ApiError};
use crate::buildkite::ops::{GetBuild, get_build as op};
use crate::logs;
use crate::render;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// Bytes of each failed job's log fetched by default: enough for the failure and its context.
/// Blocked steps and error or warning annotations shown.
const BLOCKED_SHOWN: usize = 5;
const ANNOTATIONS_SHOWN: usize = 5;
const LOG_TAIL_BYTES: u64 = 64 * 1024;
/// Error lines kept per job.
const ERROR_LINES: usize = logs::digest::MAX_ERRORS;

/// Arguments of `get_build_failure_summary`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FailureSummaryArgs {
    // Build URL, org/pipeline/number, UUID, or a number with pipeline. (documented once, in the server instructions)
    build: String,
    // Pipeline, when build is a bare number. (documented once, in the server instructions)
    #[serde(default)]
    pipeline: Option<String>,
    /// Failed jobs to explain from their logs, 1-10 (default 5).
    #[serde(default, deserialize_with = "lenient_int")]
    max_jobs: Option<i64>,
    /// false: no step history (saves a request); or one step's key.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    history: Option<HistoryArg>,
}

/// `history`: on or off (`true`/`false`, also as text), or the key of the one step to tell the
/// history of.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum HistoryArg {
    /// On (the default) or off.
    On(bool),
    /// One step's key.
    Step(String),
}

impl HistoryArg {
    /// Whether history is asked for, and for which step (`None`: the failed ones).
    fn wanted(arg: Option<&HistoryArg>) -> Option<Option<String>> {
        match arg {
            None | Some(HistoryArg::On(true)) => Some(None),
            Some(HistoryArg::On(false)) => None,
            Some(HistoryArg::Step(s)) => match s.trim() {
                "" | "true" => Some(None),
                "false" => None,
                key => Some(Some(key.to_string())),
            },
        }
    }
}

/// The tools of this area.
pub(super) const TOOLS: &[Tool] = &[Tool {
    name: "get_build_failure_summary",
    toolset: Toolset::Builds,
    hints: Hints::READ,
    scopes: &["read_builds"],
    rest: Rest::Same,
    description: "Why a build failed, in one call: each failed job's command, exit status and the log lines that explain it, plus timed-out, canceled and blocked jobs, error annotations and each failed step's history.",
    handler: handler!(get_build_failure_summary, FailureSummaryArgs),
}];

/// What a failed job's log says, and the fingerprint of its error lines.
async fn explain(api: Api, org: String, pipeline: String, build: i64, job: String) -> Value {
    match api.job_log_tail(&org, &pipeline, build, &job, LOG_TAIL_BYTES).await {
        Ok(tail) if tail.bytes.is_empty() => json!({"log": "empty"}),
        Ok(tail) => {
            // The same digest as log_digest's, on the tail's lines; shown as plain texts (a tail has
            // no line numbers), the error lines nearest the end after a count of earlier ones.
            let log = logs::digest::MemoryLog::from_raw(&tail.bytes, tail.partial);
            let d = match logs::digest::digest(&log, ERROR_LINES) {
                Ok(d) => d,
                Err(e) => return json!({"log_error": e.to_string()}),
            };
            let mut errors: Vec<String> = Vec::new();
            if d.earlier > 0 || d.unchecked > 0 {
                let at_least = if d.unchecked > 0 { "at least " } else { "" };
                errors.push(format!("… {at_least}{} earlier error lines …", d.earlier));
            }
            for block in &d.blocks {
                errors.extend(logs::rows::rows(block.clone(), logs::rows::RowStyle::Text));
            }
            if d.blocks.is_empty() {
                // Nothing looks like an error: the end of the log is the best evidence.
                let said: Vec<&String> = log.lines().iter().filter(|l| !l.is_empty()).collect();
                errors.extend(said[said.len().saturating_sub(10)..].iter().map(|l| (*l).clone()));
            }
            let fingerprint = logs::fingerprint::of_digest(&d);
            json!({
                "section": d.section.map(|s| s.title),
                "errors": errors,
                "log_bytes": tail.total,
                "fingerprint": fingerprint,
            })
        }
        Err(e) => json!({"log_error": e.to_string()}),
    }
}

fn job_row(j: &op::FailedJob) -> Map<String, Value> {
    let mut row = JobRow::new(&j.uuid, j.label.as_deref(), j.step.as_ref().and_then(|s| s.key.as_deref()))
        .ran(j.started_at.as_deref(), j.finished_at.as_deref());
    row.state = Some(render::state(&j.state)).filter(|s| s != "finished");
    row.exit = rows::exit_code(j.exit_status.as_deref());
    row.signal = rows::signal(j.signal.as_deref(), j.signal_reason.as_ref());
    row.command = j.command.as_deref().map(|c| crate::redact::shown(c, 300));
    row.agent = j.agent.as_ref().map(|a| render::clean_text(&a.name, 80));
    match row.value() {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// A failed, timed-out or canceled job as the summary shows it, from either API.
struct Failed {
    /// Its UUID.
    uuid: String,
    /// Its step's key.
    key: Option<String>,
    /// Its label.
    label: Option<String>,
    /// Whether it started (a job that never ran has no log).
    started: bool,
    /// Its row.
    row: Map<String, Value>,
}

impl Failed {
    fn from_graphql(j: &op::FailedJob) -> Self {
        Failed {
            uuid: j.uuid.clone(),
            key: j.step.as_ref().and_then(|s| s.key.clone()),
            label: j.label.clone(),
            started: j.started_at.is_some(),
            row: job_row(j),
        }
    }
}

/// Everything the summary says, read from either API; [`finish`] fetches the logs and renders it.
struct Summary {
    /// `org`, `pipeline`, number and UUID of the build.
    org: String,
    pipeline: String,
    number: i64,
    uuid: String,
    /// The build's branch and when it was created (for the history of its steps).
    branch: Option<String>,
    created_at: Option<String>,
    /// The header keys (`build` … `msg`), in order.
    header: Map<String, Value>,
    /// `jobs`: the counts.
    jobs: Value,
    hard: Vec<Failed>,
    soft: Vec<Failed>,
    stopped: Vec<Failed>,
    /// The build's state, lower-case.
    state: String,
    blocked: Vec<Value>,
    annotations: Vec<Value>,
    /// What was left out (`N more failed jobs: …`).
    left_out: Vec<String>,
    /// Whether the API counts any failed or stopped job.
    any_counted: bool,
}

async fn get_build_failure_summary(call: &Call<'_>, args: FailureSummaryArgs) -> Result<String, ToolError> {
    let max_jobs = clamp(args.max_jobs, 5, 1, 10);
    if !call.graphql().await {
        let summary = rest::summary(call, &args, max_jobs).await?;
        return finish(call, summary, max_jobs, None).await;
    }
    let BuildLookup { slug, uuid, wanted } = call.build(&args.build, args.pipeline.as_deref()).await?;
    // Ask for more than we explain (retried attempts and soft failures are set aside below), and
    // at the defaults exactly what get_build asks: a finished build read by either is then served
    // to the other from memory.
    let variables = op::Variables {
        slug,
        uuid,
        max_jobs: (max_jobs * 3).clamp(super::builds::DEFAULT_MAX_JOBS, 50),
        max_annotations: super::builds::MAX_ANNOTATIONS,
    };
    let b = wanted.found(call.query::<GetBuild>(variables, &wanted).await?.build)?;
    let (org, pipeline, number) = (b.organization.slug.clone(), b.pipeline.slug.clone(), b.number);

    use op::GetBuildBuildFailedEdgesNode as FailedNode;
    use op::GetBuildBuildStoppedEdgesNode as Stopped;
    let failed_total = b.failed.as_ref().map(|f| f.count).unwrap_or(0).max(0);
    let stopped_total = b.stopped.as_ref().map(|f| f.count).unwrap_or(0).max(0);
    let failed: Vec<op::FailedJob> = nodes!(b.failed)
        .filter_map(|n| match n {
            FailedNode::JobTypeCommand(j) => Some(j),
            _ => None,
        })
        .collect();
    let stopped_fetched: Vec<op::FailedJob> = nodes!(b.stopped)
        .filter_map(|n| match n {
            Stopped::JobTypeCommand(j) => Some(j),
            _ => None,
        })
        .collect();
    let stopped_seen = stopped_fetched.len();
    // Whether `passed: false` also matches timed-out or canceled jobs is not documented: never
    // show (or fetch the log of) one job twice.
    let stopped: Vec<op::FailedJob> =
        stopped_fetched.into_iter().filter(|j| !j.retried && !failed.iter().any(|f| f.uuid == j.uuid)).collect();
    let retried = failed.iter().filter(|j| j.retried).count();
    let (soft, hard): (Vec<_>, Vec<_>) = failed.into_iter().filter(|j| !j.retried).partition(|j| j.soft_failed);

    let mut header = Map::new();
    header.insert("build".into(), json!(format!("{org}/{pipeline}/{number}")));
    header.insert("url".into(), json!(b.url));
    header.insert("state".into(), json!(render::state(&b.state)));
    header.insert("branch".into(), json!(rows::branch(&b.branch)));
    header.insert("commit".into(), json!(short_sha(&b.commit)));
    header.insert("msg".into(), json!(b.message.as_deref().map(|m| render::first_line(m, 100))));
    let total = b.total.map(|t| t.count).unwrap_or(0);
    let jobs = json!({"total": total, "failed": hard.len(), "soft_failed": soft.len(), "stopped": stopped.len(), "retried_attempts": retried});

    use op::GetBuildBuildBlockedEdgesNode as Blocked;
    let blocked_total = b.blocked.as_ref().map(|x| x.count).unwrap_or(0).max(0) as usize;
    let annotations_total = b.error_annotations.as_ref().map(|x| x.count).unwrap_or(0).max(0) as usize;
    let blocked: Vec<Value> = nodes!(b.blocked)
        .filter_map(|n| match n {
            Blocked::JobTypeBlock(j) => Some(json!({"job": j.uuid, "label": rows::label(j.label.as_deref())})),
            _ => None,
        })
        .take(BLOCKED_SHOWN)
        .collect();
    // The error and warning annotations among the build's first by priority.
    let annotations: Vec<Value> = nodes!(b.annotations)
        .filter(|a| a.style.as_ref().is_some_and(|s| matches!(render::state(s).as_str(), "error" | "warning")))
        .take(ANNOTATIONS_SHOWN)
        .map(|a| {
            json!({
                "style": a.style.as_ref().map(render::state),
                "context": render::clean_text(&a.context, 80),
                "text": a.body.map(|body| crate::redact::shown(&crate::html::body_text(body.html.as_deref(), &body.text), 600)),
            })
        })
        .collect();

    let mut left_out = Vec::new();
    let listed_failed = hard.len() + soft.len() + retried;
    if failed_total as usize > listed_failed {
        left_out.push(format!("{} more failed jobs: list_jobs state=failed", failed_total as usize - listed_failed));
    }
    if stopped_total as usize > stopped_seen {
        left_out.push(format!(
            "{} more timed-out or canceled jobs: list_jobs state=timed_out,canceled",
            stopped_total as usize - stopped_seen
        ));
    }
    if blocked_total > blocked.len() {
        left_out.push(format!("{} more blocked steps: list_jobs state=blocked", blocked_total - blocked.len()));
    }
    if annotations_total > annotations.len() {
        left_out.push(format!(
            "{} more error/warning annotations: list_annotations style=error,warning",
            annotations_total - annotations.len()
        ));
    }
    let summary = Summary {
        org,
        pipeline,
        number,
        uuid: b.uuid.clone(),
        branch: Some(b.branch.clone()),
        created_at: b.created_at.clone(),
        header,
        jobs,
        hard: hard.iter().map(Failed::from_graphql).collect(),
        soft: soft.iter().map(Failed::from_graphql).collect(),
        stopped: stopped.iter().map(Failed::from_graphql).collect(),
        state: render::state(&b.state),
        blocked,
        annotations,
        left_out,
        any_counted: failed_total > 0 || stopped_total > 0,
    };
    let history = HistoryArg::wanted(args.history.as_ref());
    finish(call, summary, max_jobs, history).await
}

/// The logs of the first `max_jobs` failures (one ranged tail each, with `read_build_logs`) and
/// the build's failed tests (one Test Engine request, with `read_suites`), then the answer.
/// `history`: `None` when not read (off, or no GraphQL access), else `Some(step)` (`None`: the
/// failed steps).
async fn finish(call: &Call<'_>, s: Summary, max_jobs: i64, history: Option<Option<String>>) -> Result<String, ToolError> {
    let ctx = call.ctx;
    let Summary {
        org,
        pipeline,
        number,
        uuid,
        branch,
        created_at,
        header,
        jobs,
        hard,
        soft,
        stopped,
        state,
        blocked,
        annotations,
        left_out,
        any_counted,
    } = s;
    let mut out = header;
    out.insert("jobs".into(), jobs);

    // The logs: one ranged request per explained job, concurrently; only with read_build_logs.
    let explained: Vec<&Failed> = hard.iter().chain(stopped.iter()).take(max_jobs as usize).collect();
    let can_read_logs = match ctx.access.scopes(&ctx.api).await {
        Ok(scopes) => scopes.iter().any(|s| s == "read_build_logs"),
        Err(_) => true, // unknown: try, and report per job
    };
    let mut explanations: Vec<Value> = vec![Value::Null; explained.len()];
    // Test Engine's failed tests for the build (one REST request, beside the log tails), when the
    // build has failures and the token may read suites.
    let can_read_suites = match ctx.access.scopes(&ctx.api).await {
        Ok(scopes) => scopes.iter().any(|s| s == "read_suites"),
        Err(_) => true,
    };
    // At most MAX_REST REST requests in all: the tails first, then Test Engine's pages, then the
    // tails of earlier failures (for fingerprints) with what is left.
    let tails = if can_read_logs { explained.iter().filter(|j| j.started).count() } else { 0 };
    let test_pages = MAX_REST.saturating_sub(tails).max(1) as u32;
    let tests = async {
        if hard.is_empty() || !can_read_suites {
            return (None, 0);
        }
        failed_tests(ctx, &org, &uuid, test_pages).await
    };
    let logs = async {
        if !can_read_logs {
            return;
        }
        let mut tasks = tokio::task::JoinSet::new();
        for (i, j) in explained.iter().enumerate() {
            if !j.started {
                explanations[i] = json!({"log": "none: the job never started"});
                continue;
            }
            let (api, org, pipeline, job) = (ctx.api.clone(), org.clone(), pipeline.clone(), j.uuid.clone());
            tasks.spawn(async move { (i, explain(api, org, pipeline, number, job).await) });
        }
        while let Some(done) = tasks.join_next().await {
            if let Ok((i, value)) = done {
                explanations[i] = value;
            }
        }
        // A task that ended without an answer is named, never left out.
        for e in explanations.iter_mut().filter(|e| e.is_null()) {
            *e = json!({"log_error": "the log request did not finish"});
        }
    };
    // The history of the failed steps (or of the one asked for): one more GraphQL request.
    let failed_keys: Vec<String> = hard.iter().chain(stopped.iter()).filter_map(|j| j.key.clone()).fold(Vec::new(), |mut keys, k| {
        if !keys.contains(&k) {
            keys.push(k);
        }
        keys
    });
    let history_keys: Vec<String> = match &history {
        Some(Some(key)) => vec![key.clone()],
        Some(None) => failed_keys.iter().take(HISTORY_STEPS).cloned().collect(),
        None => Vec::new(),
    };
    let read_history = async {
        let branch = branch.as_deref()?;
        if history_keys.is_empty() {
            return None;
        }
        let ask = history::Ask {
            pipeline: format!("{org}/{pipeline}"),
            branch,
            number,
            created_at: created_at.as_deref(),
            keys: history_keys.clone(),
        };
        Some(history::read(call, &ask).await)
    };
    let ((failed_tests, pages_read), (), told) = tokio::join!(tests, logs, read_history);
    if let Some(tests) = failed_tests {
        out.insert("failed_tests".into(), tests);
    } else if !hard.is_empty() && !can_read_suites {
        out.insert("failed_tests".into(), json!("not read: the token lacks the scope read_suites"));
    }
    if !can_read_logs {
        out.insert(
            "logs".into(),
            json!("not read: the token lacks the scope read_build_logs (add it at https://buildkite.com/user/api-access-tokens)"),
        );
    }
    let mut rows: Vec<Value> = Vec::new();
    for (j, explanation) in explained.iter().zip(explanations) {
        let mut row = j.row.clone();
        if let Value::Object(extra) = explanation {
            row.extend(extra);
        }
        rows.push(Value::Object(row));
    }
    // The history rows, then the fingerprints of earlier failures of the same steps (within the
    // call's REST requests).
    let keyless: Vec<Option<&str>> =
        hard.iter().chain(stopped.iter()).filter(|j| j.key.is_none()).map(|j| j.label.as_deref()).collect();
    let shown = history::Shown { keys: &history_keys, failed: &failed_keys, keyless: &keyless, all: matches!(history, Some(None)) };
    let (rows_of_history, told_history) = shown.render(told);
    if let Some(value) = rows_of_history {
        out.insert("history".into(), value);
    }
    if let Some(h) = &told_history {
        let spent = tails + pages_read;
        let jobs: Vec<earlier::Explained> = explained
            .iter()
            .zip(rows.iter())
            .map(|(j, row)| earlier::Explained {
                key: j.key.clone(),
                fingerprint: row.get("fingerprint").and_then(Value::as_str).map(str::to_string),
            })
            .collect();
        let compared = earlier::compare(ctx, &org, &pipeline, h, &jobs, MAX_REST.saturating_sub(spent), can_read_logs).await;
        for (row, said) in rows.iter_mut().zip(compared.said) {
            if let (Some(said), Value::Object(row)) = (said, row) {
                row.insert("error".into(), json!(said));
            }
        }
        if let Some(cut) = compared.cut {
            out.insert("fingerprints".into(), json!(cut));
        }
    }
    out.insert("failures".into(), Value::Array(rows));
    // Hard failures and stopped jobs beyond max_jobs, and soft failures, without their logs.
    let unexplained: Vec<Value> =
        hard.iter().chain(stopped.iter()).skip(max_jobs as usize).map(|j| Value::Object(j.row.clone())).collect();
    out.insert("more_failures".into(), json!(unexplained));
    out.insert("soft_failed".into(), json!(soft.iter().map(|j| Value::Object(j.row.clone())).collect::<Vec<_>>()));
    out.insert("blocked".into(), json!(blocked));
    out.insert("annotations".into(), json!(annotations));
    if !left_out.is_empty() {
        out.insert("left_out".into(), json!(left_out.join("; ")));
    }
    if hard.is_empty() && soft.is_empty() && stopped.is_empty() && !any_counted {
        out.insert(
            "summary".into(),
            json!(format!(
                "no failed, timed-out or canceled jobs in this build (state {state}){}",
                if blocked.is_empty() { "" } else { "; it waits on the blocked steps listed" }
            )),
        );
    }
    Ok(render::render_object(Value::Object(out), call.budget(4_000)))
}

/// Steps whose history is told (their keys are one variable of the request).
const HISTORY_STEPS: usize = 10;
/// REST requests one summary makes at most: log tails, earlier failures' tails, Test Engine.
const MAX_REST: usize = 12;

/// Most failed tests named in the summary.
const FAILED_TESTS: usize = 10;

/// The build's failed tests as Test Engine knows them (`GET /v2/analytics/organizations/{org}/builds/{uuid}/tests`,
/// paged up to `max_pages` of [`test_results::MAX_PAGES`]), and the pages read: `scope name (location)`, most failures first, then
/// a note of what was not read. `None` when Test Engine has no tests for the build (or no failed
/// ones); a request that failed is said in place of the list.
async fn failed_tests(ctx: &Ctx, org: &str, build_uuid: &str, max_pages: u32) -> (Option<Value>, usize) {
    let read = match test_results::read_up_to(&ctx.api, org, build_uuid, 1, max_pages).await {
        Ok(r) => r,
        Err(ApiError::NotFound { .. }) => {
            tracing::debug!("no Test Engine data for build {build_uuid}");
            return (None, 1);
        }
        Err(e) => return (Some(json!(format!("not read: the Test Engine request failed ({e})"))), 1),
    };
    // A later page that failed was a request too.
    let pages = read.pages as usize + usize::from(read.failed.is_some());
    (failed_test_rows(read), pages.max(1))
}

/// The rows of [`failed_tests`].
fn failed_test_rows(read: test_results::BuildTests) -> Option<Value> {
    let failures = rows::test_failures;
    let mut failed: Vec<&Value> = read.tests.iter().filter(|t| failures(t) > 0).collect();
    let mut notes: Vec<String> = Vec::new();
    if let Some(why) = &read.failed {
        notes.push(format!("cut: {why}; list_tests with the build reads on"));
    } else if let Some(next) = read.next_page {
        notes.push(format!(
            "cut: only the first {} pages of the build's tests were read; list_tests with the build and after={next} reads on",
            read.pages
        ));
    }
    if failed.is_empty() && notes.is_empty() {
        return None;
    }
    failed.sort_by_key(|t| std::cmp::Reverse(failures(t)));
    let total = failed.len();
    let mut rows: Vec<Value> = failed
        .iter()
        .take(FAILED_TESTS)
        .map(|t| {
            let text = |k: &str| t.get(k).and_then(Value::as_str).unwrap_or("");
            let name = format!("{} {}", text("scope"), text("name"));
            let mut row = render::clean_text(name.trim(), 200);
            if !text("location").is_empty() {
                row.push_str(&format!(" ({})", render::clean_text(text("location"), 160)));
            }
            Value::String(row)
        })
        .collect();
    if total > FAILED_TESTS {
        rows.push(json!(format!("… {} more: list_tests with the build", total - FAILED_TESTS)));
    }
    rows.extend(notes.into_iter().map(Value::String));
    Some(Value::Array(rows))
}
