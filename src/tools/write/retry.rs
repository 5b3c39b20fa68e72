//! `build_action` retry_failed (every failed job, as the UI's button) and retry_infra (only jobs
//! the agent or the machine failed: lost or disconnected agents, agent refusals and stops, process
//! and stack errors, and expired jobs; never a command's own failure).

use super::super::kit::{Call, ToolError};
use super::builds::target;
use super::safety::{Done, Plan, Request, changed, lost_answer, perform, perform_all, shown_text};
use crate::buildkite::graphql::decode;
use crate::buildkite::ops::{
    BuildRetryFailedJobs, InfraJobs, JobRetry, build_retry_failed_jobs, infra_jobs, job_retry,
};
use crate::render;
use reqwest::Method;
use serde_json::{Map, Value, json};

/// Job events that say the agent went away.
const AGENT_EVENTS: &[&str] = &["agent_lost", "agent_disconnected"];
/// Signal reasons that say the agent or the machine failed, not the command.
const INFRA_SIGNALS: &[&str] = &["agent_refused", "agent_stop", "process_run_error", "stack_error"];

/// `retry_failed`: `buildRetryFailedJobs` (or REST `retry_failed_jobs`) on the build.
pub(super) async fn retry_failed(call: &Call<'_>, build: &str, pipeline: Option<&str>, dry_run: bool) -> Result<String, ToolError> {
    let t = target(call, build, pipeline).await?;
    let request = match &t.rest {
        Some(id) => Request::rest(Method::PUT, id.path("/retry_failed_jobs"), None),
        None => Request::graphql::<BuildRetryFailedJobs>(build_retry_failed_jobs::Variables { id: t.id.clone(), states: None })?,
    };
    let mut before = Map::new();
    before.insert("build".into(), json!(t.name));
    before.insert("before".into(), json!(t.state));
    let plan = Plan { target: t.name.clone(), question: format!("Retry the failed jobs of {} ({})?", t.short(), t.state), request, before };
    match perform(call, &plan, dry_run).await? {
        Done::DryRun(text) => Ok(text),
        Done::Answered { body } => {
            let count = if t.rest.is_some() {
                body.get("retried_jobs_count").and_then(Value::as_i64)
            } else {
                decode::<build_retry_failed_jobs::ResponseData>(body)?.build_retry_failed_jobs.map(|p| p.retried_jobs_count)
            };
            let mut after = Map::new();
            after.insert("retried".into(), json!(count));
            after.insert("see".into(), json!("list_jobs shows the new attempts"));
            Ok(changed("retried failed jobs", &plan, after))
        }
        Done::Lost { error, .. } => {
            let mut found = Map::new();
            found.insert("build".into(), json!(t.name));
            found.insert("check".into(), json!("list_jobs shows whether new attempts were scheduled"));
            Ok(lost_answer(&error, None, found))
        }
    }
}

/// One job of the build, classified.
struct Job {
    uuid: String,
    label: String,
    /// GraphQL node ID.
    id: String,
    /// Why it would be retried (an infrastructure reason), or why not.
    verdict: Result<&'static str, String>,
    expired: bool,
}

/// `retry_infra` (GraphQL only: REST has no job events).
pub(super) async fn retry_infra(call: &Call<'_>, build: &str, pipeline: Option<&str>, dry_run: bool) -> Result<String, ToolError> {
    if !call.graphql().await {
        return Err(ToolError::Refused(format!(
            "retry_infra needs GraphQL access, which this token lacks (REST shows no job events, so an agent lost cannot be told from a failed command): turn on \"Enable GraphQL API access\" for it at {}, or use retry_failed",
            crate::buildkite::error::TOKEN_PAGE
        )));
    }
    let lookup = call.build(build, pipeline).await?;
    let wanted = &lookup.wanted;
    let variables = infra_jobs::Variables { slug: lookup.slug.clone(), uuid: lookup.uuid.clone() };
    let b = wanted.found(call.query::<InfraJobs>(variables, wanted).await?.build)?;
    let name = format!("{}/{}/{}", b.organization.slug, b.pipeline.slug, b.number);
    let mut jobs = Vec::new();
    for node in b.jobs.and_then(|c| c.edges).unwrap_or_default().into_iter().flatten().filter_map(|e| e.node) {
        let infra_jobs::InfraJobsBuildJobsEdgesNode::JobTypeCommand(j) = node else { continue };
        let state = render::state(&j.state);
        if j.retried || j.passed || !matches!(state.as_str(), "finished" | "expired" | "timed_out" | "canceled" | "broken") {
            continue;
        }
        let events: Vec<String> = j
            .events
            .edges
            .unwrap_or_default()
            .into_iter()
            .flatten()
            .map(|e| e.node)
            .map(|n| render::state(&n.type_))
            .collect();
        let signal = j.signal_reason.as_ref().map(render::state);
        let verdict = if state == "expired" {
            Ok("expired: no agent took it in time")
        } else if let Some(e) = events.iter().find(|e| AGENT_EVENTS.contains(&e.as_str())) {
            Ok(if e == "agent_lost" { "agent lost" } else { "agent disconnected" })
        } else if let Some(s) = signal.as_deref().filter(|s| INFRA_SIGNALS.contains(s)) {
            Ok(match s {
                "agent_refused" => "agent refused the job",
                "agent_stop" => "agent stopped",
                "process_run_error" => "the process could not run",
                _ => "stack error",
            })
        } else if j.soft_failed {
            Err("soft failure: allowed to fail".to_string())
        } else {
            Err(match (state.as_str(), j.exit_status.as_deref()) {
                ("timed_out", _) => "timed out: the command's own limit".to_string(),
                ("canceled", _) => "canceled".to_string(),
                (_, Some(code)) => format!("the command failed (exit {code})"),
                _ => "the command failed".to_string(),
            })
        };
        jobs.push(Job { uuid: j.uuid, label: render::clean_text(j.label.as_deref().unwrap_or(""), 60), id: j.id, verdict, expired: state == "expired" });
    }
    let retry: Vec<&Job> = jobs.iter().filter(|j| j.verdict.is_ok()).collect();
    let skipped: Vec<Value> = jobs
        .iter()
        .filter_map(|j| j.verdict.as_ref().err().map(|why| json!({"job": j.uuid, "label": j.label, "reason": why})))
        .collect();
    let mut head = Map::new();
    head.insert("build".into(), json!(name));
    if retry.is_empty() {
        head.insert("retried".into(), json!(0));
        head.insert("note".into(), json!("no job failed for an infrastructure reason: nothing was sent"));
        head.insert("skipped".into(), json!(skipped));
        return Ok(shown_text(head));
    }
    // Per-job retry refuses expired jobs: they go in one buildRetryFailedJobs(states: [EXPIRED]).
    let mut requests = Vec::new();
    let mut owners: Vec<Vec<&Job>> = Vec::new();
    for j in retry.iter().filter(|j| !j.expired) {
        requests.push(Request::graphql::<JobRetry>(job_retry::Variables { id: j.id.clone() })?);
        owners.push(vec![*j]);
    }
    let expired: Vec<&Job> = retry.iter().filter(|j| j.expired).copied().collect();
    if !expired.is_empty() {
        let states = Some(vec![build_retry_failed_jobs::BuildRetryFailedJobsStates::EXPIRED]);
        requests.push(Request::graphql::<BuildRetryFailedJobs>(build_retry_failed_jobs::Variables { id: b.id.clone(), states })?);
        owners.push(expired);
    }
    let short = name.rsplit_once('/').map(|(p, n)| format!("{p}#{n}")).unwrap_or_else(|| name.clone());
    let question = format!(
        "Retry {} job{} of {short} that failed for infrastructure reasons ({}), skipping {}?",
        retry.len(),
        if retry.len() == 1 { "" } else { "s" },
        retry.iter().filter_map(|j| j.verdict.as_ref().ok().copied()).map(|r| r.split(':').next().unwrap_or(r)).collect::<Vec<_>>().join(", "),
        skipped.len()
    );
    let plan = Plan { target: name.clone(), question, request: requests[0].clone(), before: head.clone() };
    let done = perform_all(call, &plan, &requests, dry_run).await?;
    let mut retried = Vec::new();
    let mut failed = Vec::new();
    for (outcome, owners) in done.into_iter().zip(owners) {
        for j in owners {
            let reason = j.verdict.as_ref().ok().copied().unwrap_or("");
            match &outcome {
                Done::DryRun(text) => return Ok(with_skipped(text, &skipped)),
                Done::Answered { body } if body.get("error").is_some() => {
                    failed.push(json!({"job": j.uuid, "label": j.label, "error": body["error"]}));
                }
                Done::Answered { body } => match decode::<Value>(body.clone()) {
                    Ok(data) => {
                        let new = data.pointer("/jobTypeCommandRetry/retriedInJobTypeCommand/uuid").cloned();
                        retried.push(json!({"job": j.uuid, "label": j.label, "reason": reason, "new_job": new}));
                    }
                    Err(e) => failed.push(json!({"job": j.uuid, "label": j.label, "error": e.to_string()})),
                },
                Done::Lost { error, .. } => failed.push(json!({"job": j.uuid, "label": j.label,
                    "error": format!("{error}; not sent again: list_jobs shows whether it was retried")})),
            }
        }
    }
    head.insert("retried".into(), json!(retried));
    head.insert("skipped".into(), json!(skipped));
    head.insert("failed".into(), json!(failed));
    Ok(shown_text(head))
}

/// A dry run's answer with the skipped jobs beside it.
fn with_skipped(text: &str, skipped: &[Value]) -> String {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(mut o)) => {
            o.insert("skipped".into(), json!(skipped));
            shown_text(o)
        }
        _ => text.to_string(),
    }
}
