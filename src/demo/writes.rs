//! Writes on the demo organization, in memory: a [`World`] remembers what was retried, cancelled,
//! created, rebuilt and annotated, answers the write mutations and REST writes as Buildkite would
//! (refusals included), and patches later reads so they show the change (a retried job appears in
//! `list_jobs`, a cancelled build reads as canceled). `--demo` and the test suite's fake share it.

use super::Demo;
use serde_json::{Map, Value, json};
use std::sync::Mutex;

/// A job retried: the old attempt, the new one, and the build (`org/pipeline/number`).
#[derive(Debug, Clone)]
struct Retry {
    old: String,
    new: String,
    build: String,
}

/// A build made by a create or a rebuild.
#[derive(Debug, Clone)]
struct Made {
    /// `org/pipeline`.
    pipeline: String,
    number: i64,
    uuid: String,
    branch: String,
    commit: String,
    message: Option<String>,
    /// `key=value` meta-data.
    meta: Vec<String>,
    /// The UUID of the build it rebuilt.
    rebuilt_from: Option<String>,
}

impl Made {
    fn url(&self) -> String {
        let (org, p) = self.pipeline.split_once('/').unwrap_or(("", ""));
        format!("https://buildkite.com/{org}/{p}/builds/{}", self.number)
    }
}

#[derive(Debug, Default)]
struct State {
    retries: Vec<Retry>,
    canceled: Vec<String>,
    canceled_jobs: Vec<String>,
    unblocked: Vec<String>,
    /// Builds (`org/pipeline/number`) whose block step was unblocked: what waited on it runs.
    released: Vec<String>,
    made: Vec<Made>,
    annotations: usize,
}

/// The demo organization's writes so far.
#[derive(Debug, Default)]
pub struct World {
    state: Mutex<State>,
}

/// A GraphQL answer with `errors[]` and null data, as Buildkite refuses a mutation.
fn refused(field: &str, message: &str) -> Value {
    json!({"data": {field: null}, "errors": [{"message": message, "path": [field]}]})
}

/// A REST error body.
fn rest_refused(status: u16, message: &str) -> (u16, Value) {
    (status, json!({ "message": message }))
}

/// A UUID-shaped id for the `n`th thing made from `seed`.
fn made_uuid(seed: &str, n: usize) -> String {
    let head: String = seed.chars().take(13).collect();
    format!("{head}-4a00-8000-{n:012x}")
}

/// Build states that are over.
const FINISHED: &[&str] = &["PASSED", "FAILED", "CANCELED", "SKIPPED", "NOT_RUN"];

impl Demo {
    /// The first recorded answer of `operation` for which `pick` finds something.
    fn scan(&self, operation: &str, pick: impl Fn(&Value) -> bool) -> Option<Value> {
        self.cases.get(operation)?.cases(operation).iter().map(|c| c.response.clone()).find(|r| pick(r))
    }

    /// The recorded `WriteBuild` build with node ID `id` (or a made one).
    fn build_by_id(&self, id: &str) -> Option<Value> {
        self.scan("WriteBuild", |r| r.pointer("/data/build/id").and_then(Value::as_str) == Some(id))
            .and_then(|r| r.pointer("/data/build").cloned())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.world.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The answer to a write mutation, or `None` for any other operation.
    pub(super) fn mutate(&self, operation: &str, v: &Value) -> Option<Value> {
        let text = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        Some(match operation {
            "JobRetry" => {
                let Some(job) = self.write_job_by_id(&text("id")) else {
                    return Some(refused("jobTypeCommandRetry", "No job found with that ID"));
                };
                match self.retry(&job, "FINISHED") {
                    Ok(new) => json!({"data": {"jobTypeCommandRetry": {"retriedInJobTypeCommand": {
                        "uuid": new, "state": "SCHEDULED", "url": format!("{}#{new}", build_url(&job["build"])),
                    }}}}),
                    Err(message) => refused("jobTypeCommandRetry", &message),
                }
            }
            "BuildRetryFailedJobs" => {
                let Some(b) = self.build_by_id(&text("id")) else {
                    return Some(refused("buildRetryFailedJobs", "No build found with that ID"));
                };
                let slug = build_slug(&b);
                let states: Vec<String> = v["states"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect();
                let answer = self
                    .graphql("InfraJobs", &json!({ "slug": slug }))
                    .filter(|a| !a.pointer("/data/build").is_some_and(Value::is_null))
                    .or_else(|| self.graphql("ListJobs", &json!({ "slug": slug })))
                    .unwrap_or(Value::Null);
                let nodes: Vec<Value> = answer
                    .pointer("/data/build/jobs/edges")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|e| e["node"].clone())
                    .collect();
                let mut count = 0;
                for node in nodes {
                    let state = node["state"].as_str().unwrap_or("");
                    let failed =
                        state == "FINISHED" && node["passed"] == json!(false) && node["softFailed"] != json!(true);
                    let wanted = if states.is_empty() {
                        failed || matches!(state, "TIMED_OUT" | "EXPIRED")
                    } else {
                        states.iter().any(|s| (s == "FAILED" && failed) || s == state)
                    };
                    if wanted && node["retried"] != json!(true) {
                        let mut s = self.lock();
                        let uuid = node["uuid"].as_str().unwrap_or("").to_string();
                        let new = made_uuid(&uuid, s.retries.len() + 1);
                        s.retries.push(Retry { old: uuid, new, build: slug.clone() });
                        count += 1;
                    }
                }
                json!({"data": {"buildRetryFailedJobs": {"retriedJobsCount": count}}})
            }
            "JobUnblock" => {
                let Some(job) = self.write_job_by_id(&text("id")) else {
                    return Some(refused("jobTypeBlockUnblock", "No job found with that ID"));
                };
                let uuid = job["uuid"].as_str().unwrap_or("").to_string();
                if job["state"] != "BLOCKED" {
                    return Some(refused("jobTypeBlockUnblock", "The job's state must be blocked"));
                }
                let mut s = self.lock();
                s.unblocked.push(uuid.clone());
                s.released.push(build_slug(&job["build"]));
                json!({"data": {"jobTypeBlockUnblock": {"jobTypeBlock": {"uuid": uuid, "state": "UNBLOCKED"}}}})
            }
            "JobCancel" => {
                let Some(job) = self.write_job_by_id(&text("id")) else {
                    return Some(refused("jobTypeCommandCancel", "No job found with that ID"));
                };
                let uuid = job["uuid"].as_str().unwrap_or("").to_string();
                if job["state"] != "RUNNING" && job["state"] != "SCHEDULED" || self.lock().canceled_jobs.contains(&uuid)
                {
                    return Some(refused(
                        "jobTypeCommandCancel",
                        "The job can't be canceled because it has already finished",
                    ));
                }
                self.lock().canceled_jobs.push(uuid.clone());
                json!({"data": {"jobTypeCommandCancel": {"jobTypeCommand": {"uuid": uuid, "state": "CANCELED"}}}})
            }
            "BuildCancel" => {
                let Some(b) = self.build_by_id(&text("id")) else {
                    return Some(refused("buildCancel", "No build found with that ID"));
                };
                let slug = build_slug(&b);
                let state = b["state"].as_str().unwrap_or("");
                if FINISHED.contains(&state) || self.lock().canceled.contains(&slug) {
                    return Some(refused("buildCancel", "The build can't be canceled because it has already finished"));
                }
                self.lock().canceled.push(slug);
                json!({"data": {"buildCancel": {"build": {"number": b["number"], "state": "CANCELING", "url": b["url"]}}}})
            }
            "BuildRebuild" => {
                let Some(b) = self.build_by_id(&text("id")) else {
                    return Some(refused("buildRebuild", "No build found with that ID"));
                };
                let made = self.make(
                    &pipeline_of(&b),
                    "main",
                    "HEAD",
                    None,
                    Vec::new(),
                    b["uuid"].as_str().map(str::to_string),
                );
                json!({"data": {"buildRebuild": {"rebuild": {"number": made.number, "state": "SCHEDULED", "url": made.url()}}}})
            }
            "BuildCreate" => {
                let id = text("pipelineID");
                let Some(p) = self
                    .scan("WritePipeline", |r| {
                        r.pointer("/data/pipeline/id").and_then(Value::as_str) == Some(id.as_str())
                    })
                    .and_then(|r| r.pointer("/data/pipeline").cloned())
                else {
                    return Some(refused("buildCreate", "No pipeline found with that ID"));
                };
                let pipeline = format!(
                    "{}/{}",
                    p["organization"]["slug"].as_str().unwrap_or(""),
                    p["slug"].as_str().unwrap_or("")
                );
                let meta = v["metaData"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|m| format!("{}={}", m["key"].as_str().unwrap_or(""), m["value"].as_str().unwrap_or("")))
                    .collect();
                let message = v["message"].as_str().map(str::to_string);
                let made = self.make(&pipeline, &text("branch"), &text("commit"), message, meta, None);
                json!({"data": {"buildCreate": {"build": {"number": made.number, "state": "SCHEDULED", "url": made.url()}}}})
            }
            "BuildAnnotate" => {
                if self.build_by_id(&text("buildID")).is_none() {
                    return Some(refused("buildAnnotate", "No build found with that ID"));
                }
                let n = {
                    let mut s = self.lock();
                    s.annotations += 1;
                    s.annotations
                };
                let style = v["style"].as_str().unwrap_or("DEFAULT");
                json!({"data": {"buildAnnotate": {"annotation": {
                    "uuid": made_uuid("0199aa00-0000", n), "context": v["context"].as_str().unwrap_or("default"), "style": style,
                }}}})
            }
            _ => return None,
        })
    }

    /// The `WriteJob` job with node ID `id`, with this world's changes (or a job of a recorded
    /// `InfraJobs` build, in the same shape).
    fn write_job_by_id(&self, id: &str) -> Option<Value> {
        if let Some(job) = self.write_job_recorded(id) {
            return Some(job);
        }
        let answer = self.scan("InfraJobs", |r| {
            r.pointer("/data/build/jobs/edges")
                .and_then(Value::as_array)
                .is_some_and(|edges| edges.iter().any(|e| e["node"]["id"] == json!(id)))
        })?;
        let b = answer.pointer("/data/build")?;
        let slug = build_slug(b);
        let patched = self.graphql("InfraJobs", &json!({ "slug": slug }))?;
        let edges = patched.pointer("/data/build/jobs/edges")?.as_array()?;
        let mut job = edges.iter().find(|e| e["node"]["id"] == json!(id))?["node"].clone();
        job["build"] = json!({"number": b["number"], "state": b["state"], "pipeline": b["pipeline"], "organization": b["organization"]});
        Some(job)
    }

    /// The `WriteJob` job with node ID `id`, with this world's changes.
    fn write_job_recorded(&self, id: &str) -> Option<Value> {
        let uuid = self
            .scan("WriteJob", |r| r.pointer("/data/job/id").and_then(Value::as_str) == Some(id))
            .and_then(|r| r.pointer("/data/job/uuid").and_then(Value::as_str).map(str::to_string))
            .or_else(|| {
                let s = self.lock();
                s.retries.iter().find(|r| job_id(&r.new) == id).map(|r| r.new.clone())
            })?;
        self.graphql("WriteJob", &json!({ "uuid": uuid }))
            .and_then(|r| r.pointer("/data/job").cloned())
            .filter(|j| !j.is_null())
    }

    /// Retries `job` (a `WriteJob` job, or a REST job when `finished` is a REST state list):
    /// the new attempt's UUID, or Buildkite's refusal.
    fn retry(&self, job: &Value, finished: &str) -> Result<String, String> {
        let uuid = job["uuid"].as_str().or_else(|| job["id"].as_str()).unwrap_or("").to_string();
        if job["retried"] == json!(true) {
            return Err("This job has already been retried".into());
        }
        let state = job["state"].as_str().unwrap_or("");
        let ok = if finished == "FINISHED" {
            matches!(state, "FINISHED" | "TIMED_OUT" | "CANCELED" | "BROKEN")
        } else {
            matches!(state, "failed" | "timed_out" | "canceled")
        };
        if !ok {
            return Err("Only failed, timed out or canceled jobs can be retried".into());
        }
        let build = if finished == "FINISHED" {
            build_slug(&job["build"])
        } else {
            slug_of_url(job["web_url"].as_str().unwrap_or(""))
        };
        let mut s = self.lock();
        let new = made_uuid(&uuid, s.retries.len() + 1);
        s.retries.push(Retry { old: uuid, new: new.clone(), build });
        Ok(new)
    }

    /// Records a new build on `pipeline` (`org/pipeline`).
    fn make(
        &self,
        pipeline: &str,
        branch: &str,
        commit: &str,
        message: Option<String>,
        meta: Vec<String>,
        rebuilt_from: Option<String>,
    ) -> Made {
        let recorded_max = self
            .cases
            .get("WriteBuild")
            .map(|r| r.cases("WriteBuild"))
            .unwrap_or_default()
            .iter()
            .filter_map(|c| c.response.pointer("/data/build"))
            .filter(|b| pipeline_of(b) == pipeline)
            .filter_map(|b| b["number"].as_i64())
            .max()
            .unwrap_or(0);
        let mut s = self.lock();
        let made_max = s.made.iter().filter(|m| m.pipeline == pipeline).map(|m| m.number).max().unwrap_or(0);
        let number = recorded_max.max(made_max) + 1;
        let made = Made {
            pipeline: pipeline.to_string(),
            number,
            uuid: made_uuid("0199bb00-0000", s.made.len() + 1),
            branch: branch.to_string(),
            commit: commit.to_string(),
            message,
            meta,
            rebuilt_from,
        };
        s.made.push(made.clone());
        made
    }

    /// Changes a recorded (or missing) answer to a read so it shows this world's writes.
    pub(super) fn patch(&self, operation: &str, v: &Value, answer: &mut Value) {
        let s = self.lock();
        let text = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        match operation {
            "ListJobs" | "InfraJobs" => {
                let filtered = ["state", "passed", "after", "step", "type"].iter().any(|k| !v[*k].is_null());
                let slug = text("slug");
                // An unblocked build's waiting jobs were released: none waits any more.
                if v["state"] == json!(["WAITING"]) && s.released.contains(&slug) {
                    if let Some(jobs) = answer.pointer_mut("/data/build/jobs") {
                        jobs["edges"] = json!([]);
                        jobs["count"] = json!(0);
                    }
                    return;
                }
                let Some(jobs) = answer.pointer_mut("/data/build/jobs") else { return };
                let edges = jobs["edges"].as_array_mut();
                let Some(edges) = edges else { return };
                let mut added = Vec::new();
                for edge in edges.iter_mut() {
                    let node = &mut edge["node"];
                    let uuid = node["uuid"].as_str().unwrap_or("").to_string();
                    if s.canceled_jobs.contains(&uuid) {
                        node["state"] = json!("CANCELED");
                    }
                    if let Some(r) = s.retries.iter().find(|r| r.old == uuid && r.build == slug) {
                        node["retried"] = json!(true);
                        if !filtered {
                            let mut new = node.clone();
                            for (k, x) in [
                                ("uuid", json!(r.new)),
                                ("state", json!("SCHEDULED")),
                                ("retried", json!(false)),
                                ("passed", json!(false)),
                                ("exitStatus", Value::Null),
                                ("startedAt", Value::Null),
                                ("finishedAt", Value::Null),
                                ("retriesCount", json!(1)),
                            ] {
                                new[k] = x;
                            }
                            added.push(json!({"cursor": format!("retry-{}", r.new), "node": new}));
                        }
                    }
                }
                let n = added.len() as i64;
                edges.extend(added);
                if let Some(count) = jobs["count"].as_i64() {
                    jobs["count"] = json!(count + n);
                }
            }
            "WriteJob" => {
                let uuid = text("uuid");
                if let Some(r) = s.retries.iter().find(|r| r.new == uuid) {
                    let old = r.old.clone();
                    drop(s);
                    if let Some(mut old_answer) = self.graphql("WriteJob", &json!({ "uuid": old })) {
                        let job = &mut old_answer["data"]["job"];
                        for (k, x) in [
                            ("uuid", json!(uuid)),
                            ("id", json!(job_id(&uuid))),
                            ("state", json!("SCHEDULED")),
                            ("retried", json!(false)),
                            ("passed", json!(false)),
                        ] {
                            job[k] = x;
                        }
                        *answer = old_answer;
                    }
                    return;
                }
                let Some(job) = answer.pointer_mut("/data/job").filter(|j| !j.is_null()) else { return };
                if s.retries.iter().any(|r| r.old == uuid) {
                    job["retried"] = json!(true);
                }
                if s.canceled_jobs.contains(&uuid) {
                    job["state"] = json!("CANCELED");
                }
                if s.unblocked.contains(&uuid) {
                    job["state"] = json!("UNBLOCKED");
                }
            }
            "WriteBuild" | "GetBuildState" | "GetBuild" => {
                if let Some(b) = answer.pointer_mut("/data/build").filter(|b| !b.is_null()) {
                    if s.canceled.contains(&build_slug(b)) {
                        b["state"] = json!("CANCELED");
                    }
                    return;
                }
                if operation != "WriteBuild" {
                    return;
                }
                let made = s
                    .made
                    .iter()
                    .find(|m| format!("{}/{}", m.pipeline, m.number) == text("slug") || m.uuid == text("uuid"));
                if let Some(m) = made {
                    let (org, p) = m.pipeline.split_once('/').unwrap_or(("", ""));
                    answer["data"]["build"] = json!({"id": build_node(&m.uuid), "uuid": m.uuid, "number": m.number,
                        "state": "SCHEDULED", "url": m.url(), "pipeline": {"slug": p}, "organization": {"slug": org},
                        "total": {"count": 0}, "finished": {"count": 0}});
                }
            }
            "FindRetry" => {
                let slug = text("slug");
                if self
                    .scan("WriteBuild", |r| {
                        r.pointer("/data/build").is_some_and(|b| !b.is_null() && build_slug(b) == slug)
                    })
                    .is_none()
                {
                    return;
                }
                let edges: Vec<Value> = s
                    .retries
                    .iter()
                    .filter(|r| r.build == slug)
                    .map(|r| {
                        json!({"node": {
                    "__typename": "JobTypeCommand", "uuid": r.new, "state": "SCHEDULED",
                    "retrySource": {"__typename": "JobTypeCommand", "uuid": r.old}}})
                    })
                    .collect();
                *answer = json!({"data": {"build": {"jobs": {"edges": edges}}}});
            }
            "FindCreatedBuild" | "FindRebuild" => {
                let slug = text("slug");
                let markers: Vec<String> = v["marker"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect();
                let edges: Vec<Value> = s
                    .made
                    .iter()
                    .rev()
                    .filter(|m| m.pipeline == slug)
                    .filter(|m| markers.iter().all(|k| m.meta.contains(k)))
                    .map(|m| {
                        let mut node = json!({"number": m.number, "state": "SCHEDULED", "url": m.url()});
                        if operation == "FindRebuild" {
                            node["rebuiltFrom"] = json!(m.rebuilt_from.as_ref().map(|u| json!({"uuid": u})));
                        }
                        json!({"node": node})
                    })
                    .collect();
                *answer = json!({"data": {"pipeline": {"builds": {"edges": edges}}}});
            }
            _ => {}
        }
    }

    /// A REST write (`POST`/`PUT` on `path`): the status and JSON body Buildkite would answer.
    pub fn rest_write(&self, method: &str, path: &str, body: &Value) -> (u16, Value) {
        let path = path.trim_start_matches('/');
        let parts: Vec<&str> = path.split('/').collect();
        match (method, parts.as_slice()) {
            ("PUT", ["v2", "organizations", org, "jobs", job, "retry"]) => {
                let Some(j) = self.rest(&format!("v2/organizations/{org}/jobs/{job}"), &[]).map(|p| p.body) else {
                    return rest_refused(404, "No job found");
                };
                match self.retry(&j, "rest") {
                    Ok(new) => {
                        let url = j["web_url"].as_str().unwrap_or("").split('#').next().unwrap_or("").to_string();
                        (
                            200,
                            json!({"id": new, "type": "script", "name": j["name"], "state": "scheduled",
                            "web_url": format!("{url}#{new}"), "retried": false}),
                        )
                    }
                    Err(m) => rest_refused(if m.contains("already") { 422 } else { 400 }, &m),
                }
            }
            ("PUT", ["v2", "organizations", org, "jobs", job, "unblock"]) => {
                let Some(mut j) = self.rest(&format!("v2/organizations/{org}/jobs/{job}"), &[]).map(|p| p.body) else {
                    return rest_refused(404, "No job found");
                };
                if j["state"] != "blocked" {
                    return rest_refused(422, "The job's state must be blocked");
                }
                let mut s = self.lock();
                s.unblocked.push(job.to_string());
                s.released.push(slug_of_url(j["web_url"].as_str().unwrap_or("")));
                j["state"] = json!("unblocked");
                (200, j)
            }
            ("PUT", ["v2", "organizations", org, "pipelines", p, "builds", n, action]) => {
                let build_path = format!("v2/organizations/{org}/pipelines/{p}/builds/{n}");
                let Some(b) = self.rest(&build_path, &[]).map(|page| page.body) else {
                    return rest_refused(404, "No build found");
                };
                let slug = format!("{org}/{p}/{n}");
                match *action {
                    "cancel" => {
                        let state = b["state"].as_str().unwrap_or("");
                        if ["passed", "failed", "canceled", "skipped", "not_run"].contains(&state)
                            || self.lock().canceled.contains(&slug)
                        {
                            return rest_refused(422, "The build can't be canceled because it has already finished");
                        }
                        self.lock().canceled.push(slug);
                        let mut b = b;
                        b["state"] = json!("canceling");
                        (200, b)
                    }
                    "retry_failed_jobs" => {
                        let id = self
                            .graphql("WriteBuild", &json!({ "slug": slug }))
                            .and_then(|r| r.pointer("/data/build/id").and_then(Value::as_str).map(str::to_string))
                            .unwrap_or_default();
                        let answer = self.mutate("BuildRetryFailedJobs", &json!({ "id": id })).unwrap_or(Value::Null);
                        let mut b = b;
                        b["retried_jobs_count"] = answer
                            .pointer("/data/buildRetryFailedJobs/retriedJobsCount")
                            .cloned()
                            .unwrap_or(Value::Null);
                        (200, b)
                    }
                    "rebuild" => {
                        let made = self.make(
                            &format!("{org}/{p}"),
                            b["branch"].as_str().unwrap_or("main"),
                            b["commit"].as_str().unwrap_or("HEAD"),
                            None,
                            Vec::new(),
                            b["id"].as_str().map(str::to_string),
                        );
                        (200, rest_build(&made))
                    }
                    _ => rest_refused(404, "Not Found"),
                }
            }
            ("POST", ["v2", "organizations", org, "pipelines", p, "builds"]) => {
                let meta = body["meta_data"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                    .collect();
                let made = self.make(
                    &format!("{org}/{p}"),
                    body["branch"].as_str().unwrap_or(""),
                    body["commit"].as_str().unwrap_or("HEAD"),
                    body["message"].as_str().map(str::to_string),
                    meta,
                    None,
                );
                (201, rest_build(&made))
            }
            ("POST", ["v2", "organizations", org, "pipelines", p, "builds", n, "annotations"]) => {
                if self.rest(&format!("v2/organizations/{org}/pipelines/{p}/builds/{n}"), &[]).is_none() {
                    return rest_refused(404, "No build found");
                }
                let n = {
                    let mut s = self.lock();
                    s.annotations += 1;
                    s.annotations
                };
                (
                    201,
                    json!({"id": made_uuid("0199aa00-0000", n), "context": body["context"].as_str().unwrap_or("default"),
                    "style": body["style"].as_str().unwrap_or("default"), "body_html": "<p>(as sent)</p>"}),
                )
            }
            _ => rest_refused(404, "Not Found"),
        }
    }

    /// Changes a recorded REST answer (or the lack of one) so it shows this world's writes.
    pub(super) fn patch_rest(&self, path: &str, query: &[(String, String)], body: Option<Value>) -> Option<Value> {
        let s = self.lock();
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match parts.as_slice() {
            ["v2", "organizations", _, "jobs", job] => {
                let mut b = body?;
                if let Some(r) = s.retries.iter().find(|r| r.old == *job) {
                    b["retried"] = json!(true);
                    b["retried_in_job_id"] = json!(r.new);
                }
                if s.unblocked.iter().any(|u| u == job) {
                    b["state"] = json!("unblocked");
                }
                Some(b)
            }
            ["v2", "organizations", org, "pipelines", p, "builds", n] => {
                let mut b = body?;
                if s.canceled.contains(&format!("{org}/{p}/{n}")) {
                    b["state"] = json!("canceled");
                }
                Some(b)
            }
            ["v2", "organizations", org, "pipelines", p, "builds", n, "jobs"] => {
                let mut b = body?;
                let slug = format!("{org}/{p}/{n}");
                let filtered = !query.iter().all(|(k, _)| k == "per_page" || k == "include_retried_jobs");
                let items = b["items"].as_array_mut()?;
                let mut added = Vec::new();
                for item in items.iter_mut() {
                    if let Some(r) = s.retries.iter().find(|r| item["id"] == json!(r.old) && r.build == slug) {
                        item["retried"] = json!(true);
                        if !filtered {
                            let mut new = item.clone();
                            for (k, x) in [
                                ("id", json!(r.new)),
                                ("state", json!("scheduled")),
                                ("retried", json!(false)),
                                ("exit_status", Value::Null),
                                ("started_at", Value::Null),
                                ("finished_at", Value::Null),
                            ] {
                                new[k] = x;
                            }
                            added.push(new);
                        }
                    }
                }
                items.extend(added);
                Some(b)
            }
            ["v2", "organizations", org, "pipelines", p, "builds"] => {
                let pipeline = format!("{org}/{p}");
                let marker: Vec<String> = query
                    .iter()
                    .filter_map(|(k, v)| {
                        k.strip_prefix("meta_data[").and_then(|k| k.strip_suffix(']')).map(|k| format!("{k}={v}"))
                    })
                    .collect();
                let made: Vec<Value> = s
                    .made
                    .iter()
                    .rev()
                    .filter(|m| m.pipeline == pipeline && marker.iter().all(|k| m.meta.contains(k)))
                    .map(rest_build)
                    .collect();
                if !marker.is_empty() {
                    return Some(Value::Array(made));
                }
                let mut all = made;
                all.extend(body?.as_array().cloned().unwrap_or_default());
                Some(Value::Array(all))
            }
            _ => body,
        }
    }
}

/// A made build as REST shows it.
fn rest_build(m: &Made) -> Value {
    let mut meta = Map::new();
    for kv in &m.meta {
        if let Some((k, v)) = kv.split_once('=') {
            meta.insert(k.into(), json!(v));
        }
    }
    json!({"id": m.uuid, "number": m.number, "web_url": m.url(), "state": "scheduled", "branch": m.branch,
        "commit": m.commit, "message": m.message, "meta_data": meta,
        "rebuilt_from": m.rebuilt_from.as_ref().map(|u| json!({"id": u}))})
}

/// `org/pipeline/number` of a GraphQL build with `organization`, `pipeline` and `number`.
fn build_slug(b: &Value) -> String {
    format!("{}/{}", pipeline_of(b), b["number"].as_i64().unwrap_or(0))
}

/// `org/pipeline` of a GraphQL build.
fn pipeline_of(b: &Value) -> String {
    format!("{}/{}", b["organization"]["slug"].as_str().unwrap_or(""), b["pipeline"]["slug"].as_str().unwrap_or(""))
}

/// The web URL of a GraphQL build.
fn build_url(b: &Value) -> String {
    let slug = build_slug(b);
    let mut parts = slug.splitn(3, '/');
    let (org, p, n) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    format!("https://buildkite.com/{org}/{p}/builds/{n}")
}

/// `org/pipeline/number` from a build's web URL.
fn slug_of_url(url: &str) -> String {
    match crate::buildkite::ids::parse_build(url, None, None) {
        Ok(crate::buildkite::ids::BuildRef::Number { pipeline, number }) => format!("{}/{number}", pipeline.slug()),
        _ => String::new(),
    }
}

/// A node ID as Buildkite makes them: base64 of `Type---uuid`.
fn node_id(kind: &str, uuid: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = format!("{kind}---{uuid}").into_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn job_id(uuid: &str) -> String {
    node_id("JobTypeCommand", uuid)
}

fn build_node(uuid: &str) -> String {
    node_id("Build", uuid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_are_base64_of_type_and_uuid() {
        assert_eq!(
            node_id("Build", "927dae2e-8640-43d2-9a0a-1c8b8190a6e6"),
            "QnVpbGQtLS05MjdkYWUyZS04NjQwLTQzZDItOWEwYS0xYzhiODE5MGE2ZTY="
        );
    }

    #[test]
    fn a_retried_job_shows_in_the_build_jobs_and_cannot_be_retried_twice() {
        let demo = Demo::load();
        let job = "08d58486-29e1-47b4-b951-facf35dafc4d";
        let id = job_id(job);
        let answer = demo.graphql("JobRetry", &json!({"id": id})).unwrap();
        let new =
            answer["data"]["jobTypeCommandRetry"]["retriedInJobTypeCommand"]["uuid"].as_str().unwrap().to_string();
        let jobs = demo.graphql("ListJobs", &json!({"slug": "acme/web/1342", "first": 50})).unwrap();
        let edges = jobs["data"]["build"]["jobs"]["edges"].as_array().unwrap();
        assert!(edges.iter().any(|e| e["node"]["uuid"] == json!(new) && e["node"]["state"] == "SCHEDULED"));
        assert!(edges.iter().any(|e| e["node"]["uuid"] == json!(job) && e["node"]["retried"] == json!(true)));
        let again = demo.graphql("JobRetry", &json!({"id": id})).unwrap();
        assert!(again["errors"][0]["message"].as_str().unwrap().contains("already been retried"));
    }
}
