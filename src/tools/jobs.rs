//! A build's jobs: `list_jobs` and `get_job`.

use super::args::{clamp, lenient_bool, lenient_int, lenient_list};
use super::kit::{Rest, Call, Hints, Tool, ToolError, Toolset, Wanted, handler};
use super::resolve::{BuildLookup, JOB_HINT};
use super::rest::{RestJob, RestJobsPage};
use super::rows::{self, JobRow, exit_code, label, label_and_par, outcome, rest_outcome, signal};
use crate::buildkite::ops::{GetJob, ListJobs, get_job, list_jobs};
use crate::redact;
use crate::render::{self, Page};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// The tools of this area.
pub(super) const TOOLS: &[Tool] = &[
    Tool {
        name: "list_jobs",
        toolset: Toolset::Jobs,
        hints: Hints::READ,
        scopes: &["read_builds"],
        rest: Rest::Same,
        description: "List a build's jobs, filtered by state (failed, running, blocked...), type or step key. Retried attempts fold into one row.",
        handler: handler!(list_jobs, ListJobsArgs),
    },
    Tool {
        name: "get_job",
        toolset: Toolset::Jobs,
        hints: Hints::READ,
        scopes: &["read_builds"],
        rest: Rest::Same,
        description: "One job: command, outcome, exit status, signal, agent, queue, wait and run seconds, retry lineage.",
        handler: handler!(get_job, GetJobArgs),
    },
];

/// Job states accepted by `list_jobs`'s `state`, besides the pseudo-states `failed` and `passed`.
const JOB_STATES: &[&str] = &[
    "accepted",
    "assigned",
    "blocked",
    "blocked_failed",
    "broken",
    "canceled",
    "canceling",
    "expired",
    "finished",
    "limited",
    "limiting",
    "pending",
    "platform_limited",
    "platform_limiting",
    "reserved",
    "running",
    "scheduled",
    "skipped",
    "timed_out",
    "timing_out",
    "unblocked",
    "unblocked_failed",
    "waiting",
    "waiting_failed",
];

/// Arguments of `list_jobs`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListJobsArgs {
    // Build URL, org/pipeline/number, UUID, or a number with pipeline. (documented once, in the server instructions)
    build: String,
    // Pipeline, when build is a bare number. (documented once, in the server instructions)
    #[serde(default)]
    pipeline: Option<String>,
    /// failed, passed, or job states (running, blocked, broken, timed_out, scheduled...), comma separated.
    #[serde(default, deserialize_with = "lenient_list")]
    #[schemars(with = "Option<String>")]
    state: Option<Vec<String>>,
    /// Job types, comma separated: command, block, trigger, wait.
    #[serde(default, rename = "type", deserialize_with = "lenient_list")]
    #[schemars(with = "Option<String>")]
    kind: Option<Vec<String>>,
    /// Step keys, comma separated.
    #[serde(default, deserialize_with = "lenient_list")]
    #[schemars(with = "Option<String>")]
    step: Option<Vec<String>>,
    // Page size 1-100, default 50 (documented once, in the server instructions).
    #[serde(default, deserialize_with = "lenient_int")]
    first: Option<i64>,
    // next.after from the previous page. (documented once, in the server instructions)
    #[serde(default)]
    after: Option<String>,
}

/// Arguments of `get_job`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetJobArgs {
    // Job UUID, or a build URL ending in #job-uuid. (documented once, in the server instructions)
    job: String,
    /// Also its runtime environment, BUILDKITE_* included (needs token scope read_job_env).
    #[serde(default, deserialize_with = "lenient_bool")]
    env: Option<bool>,
}

/// A job's runtime environment from REST, sorted, secrets redacted, values capped.
async fn job_env(call: &Call<'_>, org: &str, uuid: &str) -> Result<Value, ToolError> {
    call.ctx.require_scope("get_job with env", "read_job_env").await?;
    let wanted =
        Wanted::new(format!("the environment of job {uuid}"), "a job that has not started has no environment yet");
    let answer = call.rest(&format!("v2/organizations/{org}/jobs/{uuid}/env"), &[], &wanted).await?;
    let mut vars: Vec<(String, String)> = answer
        .body
        .get("env")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())))
                .collect()
        })
        .unwrap_or_default();
    vars.sort();
    let mut out = Map::new();
    for (k, v) in vars {
        let value = redact::shown_env(&k, &v, 300);
        out.insert(render::clean_text(&k, 100), json!(value));
    }
    Ok(Value::Object(out))
}

fn args_error(detail: String) -> ToolError {
    ToolError::args(detail)
}

/// The filters a `state` list means: real states, and/or the `passed` flag for failed / passed.
fn job_filter(states: Vec<String>) -> Result<(Vec<list_jobs::JobStates>, Option<bool>), ToolError> {
    let mut real = Vec::new();
    let mut passed = None;
    for s in &states {
        let lower = s.to_ascii_lowercase();
        match lower.as_str() {
            "failed" => passed = Some(false),
            "passed" => passed = Some(true),
            other if JOB_STATES.contains(&other) => {
                let state: list_jobs::JobStates = serde_json::from_value(Value::String(other.to_ascii_uppercase()))
                    .map_err(|e| args_error(e.to_string()))?;
                real.push(state);
            }
            _ => {
                return Err(args_error(format!(
                    "unknown state `{s}`: use failed, passed, or one of {}",
                    JOB_STATES.join(", ")
                )));
            }
        }
    }
    if passed.is_some() && !real.is_empty() {
        return Err(args_error(
            "`failed` and `passed` cannot be combined with other states in one call (the API filters them separately): make one call per filter".into(),
        ));
    }
    Ok((real, passed))
}

fn job_types(kinds: Vec<String>) -> Result<Vec<list_jobs::JobTypes>, ToolError> {
    kinds
        .iter()
        .map(|k| match k.to_ascii_lowercase().as_str() {
            "command" => Ok(list_jobs::JobTypes::COMMAND),
            "block" => Ok(list_jobs::JobTypes::BLOCK),
            "trigger" => Ok(list_jobs::JobTypes::TRIGGER),
            "wait" => Ok(list_jobs::JobTypes::WAIT),
            _ => Err(args_error(format!("unknown type `{k}`: use command, block, trigger or wait"))),
        })
        .collect()
}

async fn list_jobs(call: &Call<'_>, args: ListJobsArgs) -> Result<String, ToolError> {
    if !call.graphql().await {
        return list_jobs_rest(call, args).await;
    }
    let BuildLookup { slug, uuid, wanted } = call.build(&args.build, args.pipeline.as_deref()).await?;
    let (states, passed) = job_filter(args.state.unwrap_or_default())?;
    let mut types = job_types(args.kind.unwrap_or_default())?;
    if passed.is_some() && types.is_empty() {
        types.push(list_jobs::JobTypes::COMMAND);
    }
    let show_waits = types.contains(&list_jobs::JobTypes::WAIT);
    let variables = list_jobs::Variables {
        slug,
        uuid,
        first: clamp(args.first, 50, 1, 100),
        after: args.after.filter(|a| !a.is_empty()),
        state: (!states.is_empty()).then_some(states),
        type_: (!types.is_empty()).then_some(types),
        step: args.step.map(|key| list_jobs::JobStepSearch { key: Some(key) }),
        passed,
    };
    let b = wanted.found(call.query::<ListJobs>(variables, &wanted).await?.build)?;
    let mut head = Map::new();
    head.insert("build".into(), json!(format!("{}/{}/{}", b.organization.slug, b.pipeline.slug, b.number)));
    let Some(jobs) = b.jobs else {
        head.insert("total".into(), json!(0));
        return Ok(render::finish(Value::Object(head)));
    };
    let next = jobs.page_info.filter(|i| i.has_next_page).and_then(|i| i.end_cursor);
    let mut page = Page::new(jobs.count, next);
    let (mut retried, mut waits) = (0, 0);
    use list_jobs::ListJobsBuildJobsEdgesNode as Node;
    for edge in jobs.edges.unwrap_or_default().into_iter().flatten() {
        let row = match edge.node {
            Some(Node::JobTypeCommand(j)) => {
                if j.retried {
                    retried += 1;
                    continue;
                }
                let state = outcome(&j.state, j.passed, j.soft_failed);
                let mut row = JobRow::new(&j.uuid, None, j.step.and_then(|s| s.key).as_deref())
                    .ran(j.started_at.as_deref(), j.finished_at.as_deref());
                (row.label, row.par) =
                    label_and_par(j.label.as_deref(), j.parallel_group_index, j.parallel_group_total);
                if state != "passed" {
                    row.exit = exit_code(j.exit_status.as_deref());
                }
                row.state = Some(state);
                row.attempts = j.retries_count.filter(|n| *n > 0).map(|n| n + 1);
                row.value()
            }
            Some(Node::JobTypeBlock(j)) => json!({
                "job": j.uuid,
                "type": "block",
                "label": label(j.label.as_deref()),
                "state": render::state(&j.state),
                "unblockable": j.is_unblockable.filter(|u| *u),
            }),
            Some(Node::JobTypeTrigger(j)) => json!({
                "job": j.uuid,
                "type": "trigger",
                "label": label(j.label.as_deref()),
                "state": render::state(&j.state),
                "triggered": j.triggered.map(|t| format!("{}/{} {}", t.pipeline.slug, t.number, render::state(&t.state))),
            }),
            Some(Node::JobTypeWait(j)) => {
                if !show_waits {
                    waits += 1;
                    continue;
                }
                json!({"job": j.uuid, "type": "wait", "state": render::state(&j.state)})
            }
            Some(Node::Unknown) | None => continue,
        };
        page.rows.push(render::compact(row));
        page.cursors.push(Some(edge.cursor));
    }
    hoist_shared(&mut head, &mut page.rows, "step");
    if retried > 0 {
        head.insert("retried_attempts_folded".into(), json!(retried));
    }
    if waits > 0 {
        head.insert("waits_omitted".into(), json!(waits));
    }
    Ok(render::render_page(head, "jobs", page, call.budget(3_000)))
}

/// REST job types by the names `type` takes.
fn rest_type(kind: &str) -> Result<&'static str, ToolError> {
    match kind.to_ascii_lowercase().as_str() {
        "command" => Ok("script"),
        "block" => Ok("manual"),
        "trigger" => Ok("trigger"),
        "wait" => Ok("waiter"),
        _ => Err(args_error(format!("unknown type `{kind}`: use command, block, trigger or wait"))),
    }
}

/// A REST job as a `list_jobs` row (the same shapes as the GraphQL rows).
fn rest_row(j: &RestJob) -> Value {
    match j.kind.as_str() {
        "manual" => json!({
            "job": j.id, "type": "block", "label": label(j.name.as_deref()),
            "state": j.state, "unblockable": j.unblockable.filter(|u| *u),
        }),
        "trigger" => json!({
            "job": j.id, "type": "trigger", "label": label(j.name.as_deref()), "state": j.state,
            "triggered": j.triggered_build.as_ref().and_then(|t| t.number.map(|n| format!("#{n} {}", t.state.as_deref().unwrap_or("")))),
        }),
        "waiter" => json!({"job": j.id, "type": "wait", "state": j.state}),
        _ => JobRow::from_rest(j).value(),
    }
}

/// `list_jobs` without GraphQL access: one page of `GET …/builds/{n}/jobs` (cursor paged,
/// filtered by state and step key there; by type here, on the page read).
async fn list_jobs_rest(call: &Call<'_>, args: ListJobsArgs) -> Result<String, ToolError> {
    let id = call.rest_build_id(&args.build, args.pipeline.as_deref()).await?;
    let mut filters: Vec<(&str, String)> = vec![("include_retried_jobs", "false".into())];
    let mut types: Vec<&str> = args.kind.unwrap_or_default().iter().map(|k| rest_type(k)).collect::<Result<_, _>>()?;
    let states = args.state.unwrap_or_default();
    job_filter(states.clone())?;
    for s in &states {
        filters.push(("state[]", s.to_ascii_lowercase()));
        if matches!(s.to_ascii_lowercase().as_str(), "failed" | "passed") && types.is_empty() {
            types.push("script");
        }
    }
    for key in args.step.unwrap_or_default() {
        filters.push(("step_key", key));
    }
    let page: RestJobsPage =
        call.rest_jobs(&id, clamp(args.first, 50, 1, 100), args.after.as_deref(), &filters).await?;
    let next = page.next_after();
    let show_waits = types.contains(&"waiter");
    let mut head = Map::new();
    head.insert("build".into(), json!(id.slug()));
    let mut out = Page { next_after: next, ..Page::default() };
    let mut waits = 0;
    for j in &page.items {
        if !types.is_empty() && !types.contains(&j.kind.as_str()) {
            continue;
        }
        if j.kind == "waiter" && !show_waits {
            waits += 1;
            continue;
        }
        out.rows.push(render::compact(rest_row(j)));
        // A cut page cannot resume mid-page: the cursor after it is the next page's.
        out.cursors.push(None);
    }
    hoist_shared(&mut head, &mut out.rows, "step");
    if waits > 0 {
        head.insert("waits_omitted".into(), json!(waits));
    }
    Ok(render::render_page(head, "jobs", out, call.budget(3_000)))
}

/// `get_job` without GraphQL access: `GET /v2/organizations/{org}/jobs/{uuid}` (the job's build
/// is read from its web URL).
async fn get_job_rest(call: &Call<'_>, args: GetJobArgs) -> Result<String, ToolError> {
    let id = call.job(&args.job)?;
    let org = match id.org {
        Some(org) => org,
        None => call.org().await?,
    };
    let uuid = id.uuid;
    let wanted = Wanted::new(format!("job {uuid}"), JOB_HINT);
    let (j, _) = call.rest_typed::<RestJob>(&format!("v2/organizations/{org}/jobs/{uuid}"), &[], &wanted).await?;
    let build = j.web_url.as_deref().and_then(|u| match crate::buildkite::ids::parse_build(u, None, None) {
        Ok(crate::buildkite::ids::BuildRef::Number { pipeline, number }) => Some(format!("{}/{number}", pipeline.slug())),
        _ => None,
    });
    let mut out = match j.kind.as_str() {
        "waiter" => {
            return Err(ToolError::args(format!(
                "job {uuid} is a wait step ({}): it has no command, agent or log; get_build or list_jobs show the build around it",
                j.state
            )));
        }
        "manual" => json!({
            "job": j.id, "type": "block", "build": build, "label": label(j.name.as_deref()), "state": j.state,
            "unblockable": j.unblockable,
            "unblocked_by": j.unblocked_by.as_ref().and_then(|u| u.name.as_deref()).map(rows::person),
            "unblocked": j.unblocked_at.as_deref().map(render::timestamp),
        }),
        "trigger" => json!({
            "job": j.id, "type": "trigger", "label": label(j.name.as_deref()), "state": j.state,
            "triggered": j.triggered_build.as_ref().map(|t| json!({"n": t.number, "state": t.state, "url": t.web_url})),
        }),
        _ => {
            let (label, par) = label_and_par(j.name.as_deref(), j.parallel_group_index, j.parallel_group_total);
            let retry = json!({
                "attempt": j.retries_count.filter(|n| *n > 0).map(|n| n + 1),
                "type": j.retry_type,
                "replaced": j.retried.then_some(true),
            });
            json!({
                "job": j.id,
                "build": build,
                "label": label,
                "step": rows::step_key(j.step_key.as_deref()),
                "par": par,
                "state": rest_outcome(&j.state, j.soft_failed),
                "exit": j.exit_status,
                "signal": signal(j.signal.as_deref(), j.signal_reason.as_ref()),
                "command": j.command.as_deref().map(|c| render::clean_text(c, 2_000)),
                "agent": j.agent.as_ref().map(|a| json!({"name": a.name.as_deref().map(|n| render::clean_text(n, 80)), "host": a.hostname.as_deref().map(|h| render::clean_text(h, 80))})),
                "rules": j.agent_query_rules.as_ref().map(|r| r.iter().map(|x| render::clean_text(x, 80)).collect::<Vec<_>>()),
                "created": j.created_at.as_deref().map(render::timestamp),
                "wait_s": render::seconds_between(j.runnable_at.as_deref().or(j.created_at.as_deref()), j.started_at.as_deref()),
                "run_s": render::seconds_between(j.started_at.as_deref(), j.finished_at.as_deref()),
                "finished": j.finished_at.as_deref().map(render::timestamp),
                "expired": j.expired_at.as_deref().map(render::timestamp),
                "retry": retry,
            })
        }
    };
    if args.env == Some(true) {
        if j.kind != "script" {
            return Err(ToolError::args(format!("job {uuid} is not a command job, so it has no environment")));
        }
        let env = job_env(call, &org, &uuid).await?;
        if let Value::Object(map) = &mut out {
            map.insert("env".into(), env);
        }
    }
    Ok(render::render_object(out, call.budget(2_000)))
}

/// When every row has the same `key` (e.g. a page filtered to one step), says it once in `head`.
fn hoist_shared(head: &mut Map<String, Value>, rows: &mut [Value], key: &str) {
    let Some(first) = rows.first().and_then(|r| r.get(key)).cloned() else {
        return;
    };
    if rows.len() < 2 || !rows.iter().all(|r| r.get(key) == Some(&first)) {
        return;
    }
    for row in rows.iter_mut() {
        if let Value::Object(map) = row {
            map.remove(key);
        }
    }
    head.insert(key.to_string(), first);
}

async fn get_job(call: &Call<'_>, args: GetJobArgs) -> Result<String, ToolError> {
    if !call.graphql().await {
        return get_job_rest(call, args).await;
    }
    let uuid = call.job_uuid(&args.job)?;
    let wanted = Wanted::new(format!("job {uuid}"), JOB_HINT);
    let job = wanted.found(call.query::<GetJob>(get_job::Variables { uuid: uuid.clone() }, &wanted).await?.job)?;
    use get_job::GetJobJob as Job;
    let mut env_org = None;
    let mut out = match job {
        Job::JobTypeCommand(j) => {
            env_org = j.build.as_ref().map(|b| b.organization.slug.clone());
            let state = outcome(&j.state, j.passed, j.soft_failed);
            let build = j.build.map(|b| format!("{}/{}/{}", b.organization.slug, b.pipeline.slug, b.number));
            let signal = signal(j.signal.as_deref(), j.signal_reason.as_ref());
            use get_job::GetJobJobOnJobTypeCommandRetrySource as Source;
            let retry_of = match j.retry_source {
                Some(Source::JobTypeCommand(s)) => Some(s.uuid),
                _ => None,
            };
            let retry = json!({
                "attempt": j.retries_count.filter(|n| *n > 0).map(|n| n + 1),
                "type": j.retry_type.as_ref().map(render::state),
                "of": retry_of,
                "by": j.retried_by.map(|u| rows::person(&u.name)),
                "replaced": j.retried.then_some(true),
            });
            let (label, par) = label_and_par(j.label.as_deref(), j.parallel_group_index, j.parallel_group_total);
            // The web URL is the build's plus `#<job>`: `build` and `job` already say it.
            json!({
                "job": j.uuid,
                "build": build,
                "label": label,
                "step": rows::step_key(j.step.and_then(|s| s.key).as_deref()),
                "par": par,
                "state": state,
                "exit": exit_code(j.exit_status.as_deref()),
                "signal": signal,
                "command": j.command.as_deref().map(|c| redact::shown(c, 2_000)),
                "agent": j.agent.map(|a| json!({"name": render::clean_text(&a.name, 80), "host": a.hostname.as_deref().map(|h| render::clean_text(h, 80))})),
                "queue": j.cluster_queue.map(|q| render::clean_text(&q.key, 80)),
                "rules": j.agent_query_rules.map(|r| r.into_iter().map(|x| render::clean_text(&x, 80)).collect::<Vec<_>>()),
                "created": j.created_at.as_deref().map(render::timestamp),
                "wait_s": render::seconds_between(j.runnable_at.as_deref().or(j.created_at.as_deref()), j.started_at.as_deref()),
                "run_s": render::seconds_between(j.started_at.as_deref(), j.finished_at.as_deref()),
                "finished": j.finished_at.as_deref().map(render::timestamp),
                "canceled": j.canceled_at.as_deref().map(render::timestamp),
                "expired": j.expired_at.as_deref().map(render::timestamp),
                "retry": retry,
            })
        }
        Job::JobTypeBlock(j) => json!({
            "job": j.uuid,
            "type": "block",
            "build": j.build.map(|b| format!("{}/{}/{}", b.organization.slug, b.pipeline.slug, b.number)),
            "label": label(j.label.as_deref()),
            "state": render::state(&j.state),
            "unblockable": j.is_unblockable,
            "unblocked_by": j.unblocked_by.map(|u| rows::person(&u.name)),
            "unblocked": j.unblocked_at.as_deref().map(render::timestamp),
        }),
        Job::JobTypeTrigger(j) => json!({
            "job": j.uuid,
            "type": "trigger",
            "label": label(j.label.as_deref()),
            "state": render::state(&j.state),
            "triggered": j.triggered.map(|t| json!({"n": t.number, "state": render::state(&t.state), "url": t.url})),
        }),
        Job::JobTypeWait(j) => {
            return Err(ToolError::args(format!(
                "job {} is a wait step ({}): it has no command, agent or log; get_build or list_jobs show the build around it",
                j.uuid,
                render::state(&j.state)
            )));
        }
        Job::Unknown => {
            return Err(ToolError::args(format!("job {uuid} is of a kind this server does not know yet")));
        }
    };
    if args.env == Some(true) {
        let org =
            env_org.ok_or_else(|| ToolError::args(format!("job {uuid} is not a command job, so it has no environment")))?;
        let env = job_env(call, &org, &uuid).await?;
        if let Value::Object(map) = &mut out {
            map.insert("env".into(), env);
        }
    }
    Ok(render::render_object(out, call.budget(2_000)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_and_passed_are_outcome_filters_and_do_not_mix_with_states() {
        let (states, passed) = job_filter(vec!["failed".into()]).unwrap();
        assert!(states.is_empty());
        assert_eq!(passed, Some(false));
        let (states, passed) = job_filter(vec!["running".into(), "BLOCKED".into()]).unwrap();
        assert_eq!(states.len(), 2);
        assert_eq!(passed, None);
        let e = job_filter(vec!["failed".into(), "broken".into()]).unwrap_err().to_string();
        assert!(e.contains("one call per filter"), "{e}");
        let e = job_filter(vec!["exploded".into()]).unwrap_err().to_string();
        assert!(e.contains("unknown state `exploded`"), "{e}");
    }

    #[test]
    fn a_value_every_row_shares_is_said_once() {
        let mut head = Map::new();
        let mut rows = vec![json!({"step": "rspec", "n": 1}), json!({"step": "rspec", "n": 2})];
        hoist_shared(&mut head, &mut rows, "step");
        assert_eq!(head.get("step"), Some(&json!("rspec")));
        assert_eq!(rows[0], json!({"n": 1}));
        let mut rows = vec![json!({"step": "a"}), json!({"step": "b"})];
        hoist_shared(&mut Map::new(), &mut rows, "step");
        assert_eq!(rows[0], json!({"step": "a"}));
    }
}
