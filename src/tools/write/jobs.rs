//! `job_action` (retry) and the job half of `cancel`.

use super::super::kit::{Call, ToolError, Wanted};
use super::super::resolve::JOB_HINT;
use super::JobActionArgs;
use super::safety::{Done, Plan, Request, changed, lost_answer, perform};
use crate::buildkite::graphql::decode;
use crate::buildkite::ops::{
    FindRetry, GetStepUploads, JobCancel, JobRetry, JobUnblock, ListJobs, WriteJob, find_retry, get_step_uploads,
    job_cancel, job_retry, job_unblock, list_jobs, write_job,
};
use crate::render;
use reqwest::Method;
use serde_json::{Map, Value, json};

/// A job a write acts on, from either API.
struct JobTarget {
    /// GraphQL node ID (empty over REST).
    id: String,
    uuid: String,
    /// Its organization (REST paths).
    org: String,
    /// `org/pipeline/number` of its build.
    build: String,
    /// The step's label (shown to the person who confirms, cleaned).
    label: String,
    /// `command` or `block`.
    kind: &'static str,
    /// Lower-case state, with finished command jobs as `passed` / `failed` (as REST says).
    state: String,
    /// A later attempt replaced it.
    retried: bool,
    /// Over REST.
    rest: bool,
}

/// States a command job can be retried from.
const RETRYABLE: &[&str] = &["failed", "passed", "timed_out", "canceled", "expired", "broken"];
/// States a command job can be cancelled in.
const CANCELABLE: &[&str] =
    &["pending", "waiting", "scheduled", "assigned", "accepted", "running", "limited", "limiting", "reserved"];

async fn job_target(call: &Call<'_>, input: &str) -> Result<JobTarget, ToolError> {
    let id = call.job(input)?;
    let uuid = id.uuid;
    let wanted = Wanted::new(format!("job {uuid}"), JOB_HINT);
    if !call.graphql().await {
        let org = match id.org {
            Some(org) => org,
            None => call.org().await?,
        };
        let (j, _) = call.rest_typed::<Value>(&format!("v2/organizations/{org}/jobs/{uuid}"), &[], &wanted).await?;
        let text = |k: &str| j.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let build = match crate::buildkite::ids::parse_build(&text("web_url"), None, None) {
            Ok(crate::buildkite::ids::BuildRef::Number { pipeline, number }) => format!("{}/{number}", pipeline.slug()),
            _ => String::new(),
        };
        let kind = match text("type").as_str() {
            "script" => "command",
            "manual" => "block",
            _ => "other",
        };
        return Ok(JobTarget {
            id: String::new(),
            uuid,
            org,
            build,
            label: render::clean_text(&text("name"), 60),
            kind,
            state: text("state").to_ascii_lowercase(),
            retried: j.get("retried").and_then(Value::as_bool).unwrap_or(false),
            rest: true,
        });
    }
    let data = call.query::<WriteJob>(write_job::Variables { uuid: uuid.clone() }, &wanted).await?;
    let slug = |o: &str, p: &str, n: i64| format!("{o}/{p}/{n}");
    match wanted.found(data.job)? {
        write_job::WriteJobJob::JobTypeCommand(j) => {
            let raw = render::state(&j.state);
            let state = if raw == "finished" { if j.passed { "passed".into() } else { "failed".into() } } else { raw };
            let (org, build) = j
                .build
                .map(|b| (b.organization.slug.clone(), slug(&b.organization.slug, &b.pipeline.slug, b.number)))
                .unwrap_or_default();
            Ok(JobTarget {
                id: j.id,
                uuid: j.uuid,
                org,
                build,
                label: render::clean_text(j.label.as_deref().unwrap_or(""), 60),
                kind: "command",
                state,
                retried: j.retried,
                rest: false,
            })
        }
        write_job::WriteJobJob::JobTypeBlock(j) => {
            let (org, build) = j
                .build
                .map(|b| (b.organization.slug.clone(), slug(&b.organization.slug, &b.pipeline.slug, b.number)))
                .unwrap_or_default();
            Ok(JobTarget {
                id: j.id,
                uuid: j.uuid,
                org,
                build,
                label: render::clean_text(j.label.as_deref().unwrap_or(""), 60),
                kind: "block",
                state: render::state(&j.state),
                retried: false,
                rest: false,
            })
        }
        _ => Err(ToolError::Refused(format!("job {uuid} is a wait or trigger step: it cannot be retried or cancelled"))),
    }
}

impl JobTarget {
    fn before(&self) -> Map<String, Value> {
        let mut before = Map::new();
        before.insert("job".into(), json!(self.uuid));
        before.insert("build".into(), json!(self.build));
        before.insert("before".into(), json!(self.state));
        before
    }

    /// `"Lint" of acme/web#1342`.
    fn named(&self) -> String {
        let build = match self.build.rsplit_once('/') {
            Some((p, n)) => format!("{p}#{n}"),
            None => self.build.clone(),
        };
        if self.label.is_empty() { format!("job {} of {build}", self.uuid) } else { format!("\"{}\" of {build}", self.label) }
    }
}

/// `job_action`.
pub(super) async fn job_action(call: &Call<'_>, args: JobActionArgs) -> Result<String, ToolError> {
    match args.action.to_ascii_lowercase().as_str() {
        "retry" if args.fields.is_some() => Err(ToolError::args("fields go with unblock, not retry")),
        "retry" => retry(call, &args.job, args.dry_run.unwrap_or(false)).await,
        "unblock" => unblock(call, &args.job, args.fields.unwrap_or_default(), args.dry_run.unwrap_or(false)).await,
        other => Err(ToolError::args(format!("unknown action `{}`: use retry or unblock", render::clean_text(other, 40)))),
    }
}

async fn retry(call: &Call<'_>, job: &str, dry_run: bool) -> Result<String, ToolError> {
    let t = job_target(call, job).await?;
    if t.kind != "command" {
        return Err(ToolError::Refused(format!("job {} is a {} step: only command jobs can be retried", t.uuid, t.kind)));
    }
    if t.retried {
        return Err(ToolError::Refused(format!(
            "job {} was already retried: retry its latest attempt instead (list_jobs on {} shows it); nothing was sent",
            t.uuid, t.build
        )));
    }
    if !RETRYABLE.contains(&t.state.as_str()) {
        return Err(ToolError::Refused(format!(
            "job {} is {}: only a finished job can be retried; nothing was sent",
            t.uuid, t.state
        )));
    }
    let request = if t.rest {
        Request::rest(Method::PUT, format!("v2/organizations/{}/jobs/{}/retry", t.org, t.uuid), None)
    } else {
        Request::graphql::<JobRetry>(job_retry::Variables { id: t.id.clone() })?
    };
    let plan = Plan { target: format!("job {}", t.uuid), question: format!("Retry {} ({})?", t.named(), t.state), request, before: t.before() };
    match perform(call, &plan, dry_run).await? {
        Done::DryRun(text) => Ok(text),
        Done::Answered { body, .. } => {
            let (new, state, url) = if t.rest {
                let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
                (text("id"), text("state"), text("web_url"))
            } else {
                let n = decode::<job_retry::ResponseData>(body)?.job_type_command_retry.map(|p| p.retried_in_job_type_command);
                let n = n.ok_or_else(|| ToolError::Refused("Buildkite answered the retry without the new job".into()))?;
                (Some(n.uuid), Some(render::state(&n.state)), Some(n.url))
            };
            let mut after = Map::new();
            after.insert("new_job".into(), json!(new));
            after.insert("after".into(), json!(state.map(|s| s.to_ascii_lowercase())));
            after.insert("url".into(), json!(url));
            Ok(changed("retried", &plan, after))
        }
        Done::Lost { error, .. } => {
            let found = find_retry_of(call, &t).await;
            let mut out = Map::new();
            out.insert("job".into(), json!(t.uuid));
            if let Some(Some(new)) = &found {
                out.insert("new_job".into(), json!(new));
            }
            Ok(lost_answer(&error, found.as_ref().map(Option::is_some), out))
        }
    }
}

/// After a lost answer: the attempt that retried `t`, if there is one (`None`: could not look).
async fn find_retry_of(call: &Call<'_>, t: &JobTarget) -> Option<Option<String>> {
    let wanted = Wanted::new(format!("job {}", t.uuid), JOB_HINT);
    if t.rest {
        let path = format!("v2/organizations/{}/jobs/{}", t.org, t.uuid);
        let (j, _) = call.rest_typed::<Value>(&path, &[], &wanted).await.ok()?;
        let retried = j.get("retried").and_then(Value::as_bool).unwrap_or(false);
        let new = j.get("retried_in_job_id").and_then(Value::as_str).map(str::to_string);
        return Some(if retried { Some(new.unwrap_or_else(|| "(see list_jobs)".into())) } else { None });
    }
    let data = call.query::<FindRetry>(find_retry::Variables { slug: t.build.clone() }, &wanted).await.ok()?;
    let jobs = data.build.and_then(|b| b.jobs).and_then(|c| c.edges).unwrap_or_default();
    Some(jobs.into_iter().flatten().filter_map(|e| e.node).find_map(|n| match n {
        find_retry::FindRetryBuildJobsEdgesNode::JobTypeCommand(c) => match c.retry_source {
            Some(find_retry::FindRetryBuildJobsEdgesNodeOnJobTypeCommandRetrySource::JobTypeCommand(s))
                if s.uuid == t.uuid =>
            {
                Some(c.uuid)
            }
            _ => None,
        },
        _ => None,
    }))
}

/// `cancel` with `job`: GraphQL only.
pub(super) async fn cancel_job(call: &Call<'_>, job: &str, dry_run: bool) -> Result<String, ToolError> {
    if !call.graphql().await {
        return Err(ToolError::Refused(format!(
            "cancelling one job needs GraphQL access, which this token lacks (REST has no job cancel): turn on \"Enable GraphQL API access\" for it at {}, or cancel the whole build with build",
            crate::buildkite::error::TOKEN_PAGE
        )));
    }
    let t = job_target(call, job).await?;
    if t.kind != "command" || !CANCELABLE.contains(&t.state.as_str()) {
        return Err(ToolError::Refused(format!(
            "job {} is a {} job in state {}: only a waiting, scheduled or running command job can be cancelled; nothing was sent",
            t.uuid, t.kind, t.state
        )));
    }
    let request = Request::graphql::<JobCancel>(job_cancel::Variables { id: t.id.clone() })?;
    let plan = Plan { target: format!("job {}", t.uuid), question: format!("Cancel {} ({})?", t.named(), t.state), request, before: t.before() };
    match perform(call, &plan, dry_run).await? {
        Done::DryRun(text) => Ok(text),
        Done::Answered { body, .. } => {
            let j = decode::<job_cancel::ResponseData>(body)?.job_type_command_cancel.map(|p| p.job_type_command);
            let mut after = Map::new();
            after.insert("after".into(), json!(j.map(|j| render::state(&j.state))));
            Ok(changed("canceled", &plan, after))
        }
        Done::Lost { error, .. } => {
            let now = job_target(call, job).await.ok().map(|t| t.state);
            let took = now.as_deref().map(|s| matches!(s, "canceling" | "canceled"));
            let mut found = Map::new();
            found.insert("job".into(), json!(t.uuid));
            found.insert("now".into(), json!(now));
            Ok(lost_answer(&error, took, found))
        }
    }
}

/// Command jobs whose events are searched for step uploads (the uploads come from the first
/// jobs of a build; more costs complexity: 10 jobs request about 850 points).
const STEP_UPLOAD_JOBS: i64 = 10;

/// The field definitions of the block step labelled `label`, from the build's step uploads
/// (`None`: not found, so the fields cannot be checked).
async fn block_fields(call: &Call<'_>, build: &str, label: &str) -> Option<Vec<Value>> {
    let wanted = Wanted::new(format!("build {build}"), JOB_HINT);
    let variables = get_step_uploads::Variables { slug: build.to_string(), jobs: STEP_UPLOAD_JOBS };
    let data = call.query::<GetStepUploads>(variables, &wanted).await.ok()?;
    let jobs = data.build?.jobs?.edges.unwrap_or_default();
    for node in jobs.into_iter().flatten().filter_map(|e| e.node) {
        let get_step_uploads::GetStepUploadsBuildJobsEdgesNode::JobTypeCommand(j) = node else { continue };
        for event in j.events.edges.unwrap_or_default().into_iter().flatten().map(|e| e.node) {
            let get_step_uploads::GetStepUploadsBuildJobsEdgesNodeOnJobTypeCommandEventsEdgesNode::JobEventBuildStepUploadCreated(u) = event else { continue };
            let Ok(definition) = serde_json::from_str::<Value>(&u.build_step_upload.definition.json) else { continue };
            if let Some(fields) = find_block(&definition, label) {
                return Some(fields);
            }
        }
    }
    None
}

/// The `fields` of the block or input step labelled `label` in a pipeline definition.
fn find_block(definition: &Value, label: &str) -> Option<Vec<Value>> {
    let steps = definition.get("steps").or(Some(definition))?.as_array()?;
    for step in steps {
        if let Some(inner) = step.get("steps").filter(|_| step.get("group").is_some()) {
            if let Some(found) = find_block(&json!({ "steps": inner }), label) {
                return Some(found);
            }
            continue;
        }
        let name = step.get("block").or_else(|| step.get("input")).and_then(Value::as_str);
        if name.is_some_and(|n| n == label) {
            return Some(step.get("fields").and_then(Value::as_array).cloned().unwrap_or_default());
        }
    }
    None
}

/// What is wrong with `given` against the step's field definitions, if anything.
fn mismatches(defined: &[Value], given: &Map<String, Value>) -> Vec<String> {
    let key = |f: &Value| f.get("key").and_then(Value::as_str).unwrap_or("").to_string();
    let keys: Vec<String> = defined.iter().map(key).collect();
    let mut wrong = Vec::new();
    for k in given.keys() {
        if !keys.contains(k) {
            wrong.push(format!("unknown field `{}` (its fields: {})", render::clean_text(k, 40), keys.join(", ")));
        }
    }
    for f in defined {
        let k = key(f);
        let required = f.get("required").and_then(Value::as_bool).unwrap_or(true);
        let value = given.get(&k);
        if value.is_none() && required && f.get("default").is_none() {
            wrong.push(format!("missing required `{k}`"));
        }
        let options: Vec<String> = f
            .get("options")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|o| o.get("value").and_then(Value::as_str).map(str::to_string))
            .collect();
        if let (Some(v), false) = (value, options.is_empty()) {
            let chosen: Vec<String> = match v {
                Value::Array(a) => a.iter().map(|x| x.as_str().map(str::to_string).unwrap_or_else(|| x.to_string())).collect(),
                Value::String(s) => s.split(',').map(str::trim).map(str::to_string).collect(),
                other => vec![other.to_string()],
            };
            if chosen.iter().any(|c| !options.contains(c)) {
                wrong.push(format!("`{k}` must be one of {}", options.join(", ")));
            }
        }
    }
    wrong
}

/// The build's jobs waiting now (uuid, label), over GraphQL; `None` when they cannot be read.
async fn waiting(call: &Call<'_>, build: &str) -> Option<Vec<(String, String)>> {
    let wanted = Wanted::new(format!("build {build}"), JOB_HINT);
    let variables = list_jobs::Variables {
        slug: Some(build.to_string()),
        uuid: None,
        first: 50,
        after: None,
        state: Some(vec![list_jobs::JobStates::WAITING]),
        type_: None,
        step: None,
        passed: None,
    };
    let b = call.query::<ListJobs>(variables, &wanted).await.ok()?.build?;
    let edges = b.jobs?.edges.unwrap_or_default();
    Some(
        edges
            .into_iter()
            .flatten()
            .filter_map(|e| e.node)
            .filter_map(|n| match n {
                list_jobs::ListJobsBuildJobsEdgesNode::JobTypeCommand(c) => {
                    Some((c.uuid, render::clean_text(c.label.as_deref().unwrap_or(""), 60)))
                }
                _ => None,
            })
            .collect(),
    )
}

async fn unblock(call: &Call<'_>, job: &str, fields: Map<String, Value>, dry_run: bool) -> Result<String, ToolError> {
    let t = job_target(call, job).await?;
    if t.kind != "block" {
        return Err(ToolError::Refused(format!("job {} is a {} job: only a block step can be unblocked", t.uuid, t.kind)));
    }
    if t.state != "blocked" {
        return Err(ToolError::Refused(format!(
            "job {} is {}, not blocked: there is nothing to unblock; nothing was sent",
            t.uuid, t.state
        )));
    }
    let defined = if t.rest { None } else { block_fields(call, &t.build, &t.label).await };
    if let Some(defined) = &defined {
        let wrong = mismatches(defined, &fields);
        if !wrong.is_empty() {
            return Err(ToolError::Refused(format!(
                "the fields do not match the block step \"{}\": {}; nothing was sent",
                t.label,
                wrong.join("; ")
            )));
        }
    }
    let request = if t.rest {
        let body = json!({ "fields": fields });
        Request::rest(Method::PUT, format!("v2/organizations/{}/jobs/{}/unblock", t.org, t.uuid), Some(body))
    } else {
        // GraphQL takes the fields as a JSON-encoded object (null is refused, so none is `{}`).
        let encoded = Value::Object(fields.clone()).to_string();
        Request::graphql::<JobUnblock>(job_unblock::Variables { id: t.id.clone(), fields: Some(encoded) })?
    };
    let mut before = t.before();
    before.insert(
        "fields_checked".into(),
        json!(match &defined {
            Some(_) => "yes, against the block step's definition".to_string(),
            None if t.rest => "no: without GraphQL the build's step uploads cannot be read, so they are sent as given".to_string(),
            None => "no: the block step's definition was not found in the build's step uploads, so they are sent as given".to_string(),
        }),
    );
    let names: Vec<&str> = fields.keys().map(String::as_str).collect();
    let with = if names.is_empty() { String::new() } else { format!(" with {}", names.join(", ")) };
    let plan = Plan { target: format!("job {}", t.uuid), question: format!("Unblock {}{with}?", t.named()), request, before };
    let before_waiting = if dry_run || t.rest { None } else { waiting(call, &t.build).await };
    match perform(call, &plan, dry_run).await? {
        Done::DryRun(text) => Ok(text),
        Done::Answered { body } => {
            let released = match &before_waiting {
                Some(before) => waiting(call, &t.build).await.map(|now| {
                    before
                        .iter()
                        .filter(|(uuid, _)| !now.iter().any(|(n, _)| n == uuid))
                        .map(|(uuid, label)| json!({"job": uuid, "label": label}))
                        .collect::<Vec<_>>()
                }),
                None => None,
            };
            let state = if t.rest {
                body.get("state").and_then(Value::as_str).map(str::to_ascii_lowercase)
            } else {
                decode::<job_unblock::ResponseData>(body)?.job_type_block_unblock.map(|p| render::state(&p.job_type_block.state))
            };
            let mut after = Map::new();
            after.insert("after".into(), json!(state));
            match released {
                Some(released) => {
                    after.insert("released".into(), json!(released));
                }
                None => {
                    after.insert("see".into(), json!(format!("list_jobs on {} shows the steps it released", t.build)));
                }
            }
            Ok(changed("unblocked", &plan, after))
        }
        Done::Lost { error, .. } => {
            let now = job_target(call, job).await.ok().map(|t| t.state);
            let took = now.as_deref().map(|s| s != "blocked");
            let mut found = Map::new();
            found.insert("job".into(), json!(t.uuid));
            found.insert("now".into(), json!(now));
            Ok(lost_answer(&error, took, found))
        }
    }
}
