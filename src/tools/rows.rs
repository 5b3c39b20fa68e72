//! Output rows shared by tools that show the same thing: a build row, a command job row, and the
//! small formatters they use (short SHAs, outcomes, exit codes, signals). One place decides how
//! long a branch or a label may be, so every tool shows a build the same way.

use super::rest::{RestAgentRecord, RestArtifact, RestBuild, RestJob, RestQueue, RestSchedule};
use crate::render;
use serde::Serialize;
use serde_json::Value;

/// Longest branch name shown.
const BRANCH_CHARS: usize = 100;
/// Longest commit message line shown in a row.
const MESSAGE_CHARS: usize = 80;
/// Longest person's name shown.
const NAME_CHARS: usize = 60;
/// Longest job label shown.
const LABEL_CHARS: usize = 80;

/// The first 12 characters of a commit SHA (enough to be unique in practice).
pub fn short_sha(sha: &str) -> String {
    sha.chars().take(12).collect()
}

/// A branch name, cleaned and capped.
pub fn branch(name: &str) -> String {
    render::clean_text(name, BRANCH_CHARS)
}

/// A person's name, cleaned and capped.
pub fn person(name: &str) -> String {
    render::clean_text(name, NAME_CHARS)
}

/// A job label, cleaned and capped.
pub fn label(l: Option<&str>) -> Option<String> {
    l.map(|l| render::clean_text(l, LABEL_CHARS))
}

/// A step key, cleaned and capped.
pub fn step_key(key: Option<&str>) -> Option<String> {
    key.map(|k| render::clean_text(k, LABEL_CHARS))
}

/// Tag labels, cleaned.
pub fn tags(labels: impl Iterator<Item = String>) -> Vec<String> {
    labels.map(|l| render::clean_text(&l, 50)).collect()
}

/// A finished command job's outcome as people say it; other states lower-case.
pub fn outcome<S: Serialize>(state: &S, passed: bool, soft_failed: bool) -> String {
    let state = render::state(state);
    match (state.as_str(), passed, soft_failed) {
        ("finished", true, _) => "passed".into(),
        ("finished", false, true) => "soft_failed".into(),
        ("finished", false, false) => "failed".into(),
        _ => state,
    }
}

/// An exit status as a number when it is one.
pub fn exit_code(exit: Option<&str>) -> Value {
    match exit {
        Some(e) => e.parse::<i64>().map(Value::from).unwrap_or_else(|_| Value::from(e)),
        None => Value::Null,
    }
}

/// A job's signal with the agent's reason, e.g. `SIGTERM (agent_stop)`.
pub fn signal<R: Serialize>(signal: Option<&str>, reason: Option<&R>) -> Option<String> {
    let signal = render::clean_text(signal?, 40);
    Some(match reason {
        Some(r) => format!("{signal} ({})", render::state(r)),
        None => signal,
    })
}

/// Whether a display name adds nothing over the slug (`Web App` vs `web-app`).
pub fn same_name(name: &str, slug: &str) -> bool {
    let norm = |s: &str| s.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_lowercase();
    norm(name) == norm(slug)
}

/// A parallel job's position, `3/8`.
fn parallel(index: Option<i64>, total: Option<i64>) -> Option<String> {
    match (index, total) {
        (Some(i), Some(t)) if t > 1 => Some(format!("{}/{t}", i + 1)),
        _ => None,
    }
}

/// A command job's label, and its parallel position unless the label already says it
/// (`RSpec 31/400`).
pub fn label_and_par(l: Option<&str>, index: Option<i64>, total: Option<i64>) -> (Option<String>, Option<String>) {
    let label = label(l);
    let par = parallel(index, total).filter(|p| !label.as_deref().is_some_and(|l| l.contains(p.as_str())));
    (label, par)
}

/// A build's timing as `get_build` shows it, into `out`: when it was created, seconds it waited
/// and ran, and when it started (still running) or finished.
pub fn build_times(
    out: &mut serde_json::Map<String, Value>,
    created: Option<&str>,
    started: Option<&str>,
    finished: Option<&str>,
) {
    out.insert("created".into(), serde_json::json!(created.map(render::timestamp)));
    out.insert("wait_s".into(), serde_json::json!(render::seconds_between(created, started)));
    out.insert("run_s".into(), serde_json::json!(render::seconds_between(started, finished)));
    match finished {
        None => out.insert("started".into(), serde_json::json!(started.map(render::timestamp))),
        Some(f) => out.insert("finished".into(), serde_json::json!(render::timestamp(f))),
    };
}

/// A build as one row of a list (null fields are dropped when rendered).
#[derive(Debug, Default, Serialize)]
pub struct BuildRow {
    /// The pipeline, when a list spans pipelines.
    pub p: Option<String>,
    /// The build number.
    pub n: i64,
    /// Its state, lower-case.
    pub state: String,
    /// What a blocked build waits for.
    pub gate: Option<String>,
    /// The branch.
    pub branch: Option<String>,
    /// The commit, short.
    pub commit: Option<String>,
    /// The first line of the message.
    pub msg: Option<String>,
    /// Who created it.
    pub by: Option<String>,
    /// What created it (webhook, ui, api, schedule, trigger_job).
    pub src: Option<String>,
    /// When it was created.
    pub at: Option<String>,
    /// Seconds it ran.
    pub dur: Option<i64>,
}

impl BuildRow {
    /// Build `number` in `state` (already lower-case).
    pub fn new(number: i64, state: String) -> Self {
        BuildRow { n: number, state, ..BuildRow::default() }
    }

    /// With its branch.
    pub fn branch(mut self, name: &str) -> Self {
        self.branch = Some(branch(name));
        self
    }

    /// With its commit.
    pub fn commit(mut self, sha: &str) -> Self {
        self.commit = Some(short_sha(sha));
        self
    }

    /// With the first line of its message.
    pub fn msg(mut self, message: Option<&str>) -> Self {
        self.msg = message.map(|m| render::first_line(m, MESSAGE_CHARS));
        self
    }

    /// With its creator's name.
    pub fn by(mut self, name: Option<&str>) -> Self {
        self.by = name.map(person);
        self
    }

    /// With its source.
    pub fn src(mut self, source: &str) -> Self {
        self.src = Some(render::clean_text(source, 40).to_ascii_lowercase());
        self
    }

    /// With its creation time and run time.
    pub fn times(mut self, created: Option<&str>, started: Option<&str>, finished: Option<&str>) -> Self {
        self.at = created.map(render::timestamp);
        self.dur = render::seconds_between(started, finished);
        self
    }

    /// As JSON.
    pub fn value(self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

impl BuildRow {
    /// The row of a REST build (the one reshaper of REST builds into rows): `p` when the list
    /// spans pipelines; a blocked build's `gate` is its last state, as GraphQL's `blockedState`.
    pub fn from_rest(b: &RestBuild, with_pipeline: bool) -> Self {
        let state = b.state.to_ascii_lowercase();
        let mut row = if b.blocked && state != "blocked" {
            let mut row = BuildRow::new(b.number, "blocked".into());
            row.gate = Some(state);
            row
        } else {
            BuildRow::new(b.number, state)
        };
        if with_pipeline {
            row.p = b.pipeline.as_ref().map(|p| p.slug.clone());
        }
        if let Some(branch) = &b.branch {
            row = row.branch(branch);
        }
        if let Some(commit) = &b.commit {
            row = row.commit(commit);
        }
        if let Some(source) = &b.source {
            row = row.src(source);
        }
        row.msg(b.message.as_deref()).by(b.creator.as_ref().and_then(|c| c.name.as_deref())).times(
            b.created_at.as_deref(),
            b.started_at.as_deref(),
            b.finished_at.as_deref(),
        )
    }
}

/// One artifact row: what a model needs to pick one, without repeating what the listing says
/// (the default MIME type and the `finished` state are left out).
pub fn artifact(id: &str, path: &str, size: i64, mime: &str, state: &str) -> Value {
    let mime = (mime != "application/octet-stream" && !mime.is_empty()).then(|| render::clean_text(mime, 60));
    serde_json::json!({
        "id": id,
        "path": render::clean_text(path, 300),
        "size": size,
        "mime": mime,
        "state": (!state.eq_ignore_ascii_case("finished")).then(|| state.to_ascii_lowercase()),
    })
}

/// The row of a REST artifact (the one reshaper of REST artifacts into rows).
pub fn artifact_from_rest(a: &RestArtifact) -> Value {
    artifact(&a.id, &a.path, a.file_size, &a.mime_type, &a.state)
}

/// One schedule as a row of a list: `last` is its last build as `#n state`, when known.
#[allow(clippy::too_many_arguments)]
pub fn schedule(
    pipeline: Option<&str>,
    id: &str,
    label_text: &str,
    cron: &str,
    branch_name: Option<&str>,
    enabled: Option<bool>,
    next: Option<&str>,
    last: Option<String>,
    failed: (Option<&str>, Option<&str>),
) -> Value {
    serde_json::json!({
        "pipeline": pipeline,
        "id": id,
        "label": render::clean_text(label_text, 80),
        "cron": render::clean_text(cron, 60),
        "branch": branch_name.map(branch),
        "enabled": (enabled == Some(false)).then_some(false),
        "next": next.filter(|_| enabled != Some(false)).map(render::timestamp),
        "last": last,
        "failed": failed.0.map(|m| render::clean_text(m, 300)),
        "failed_at": failed.1.map(render::timestamp),
    })
}

/// The row of a REST schedule (the one reshaper of REST schedules into rows): REST carries no
/// builds, so there is no `last`.
pub fn schedule_from_rest(s: &RestSchedule, pipeline: Option<&str>) -> Value {
    schedule(
        pipeline,
        &s.id,
        &s.label,
        &s.cronline,
        s.branch.as_deref(),
        s.enabled,
        s.next_build_at.as_deref(),
        None,
        (s.failed_message.as_deref(), s.failed_at.as_deref()),
    )
}

/// A REST job's state as GraphQL's outcome reads (`passed`, `failed`, `soft_failed`, else the state).
pub fn rest_outcome(state: &str, soft_failed: bool) -> String {
    let state = state.to_ascii_lowercase();
    if state == "failed" && soft_failed { "soft_failed".into() } else { state }
}

/// A command job as one row (null fields are dropped when rendered).
#[derive(Debug, Default, Serialize)]
pub struct JobRow {
    /// The job UUID.
    pub job: String,
    /// Its label.
    pub label: Option<String>,
    /// Its step key.
    pub step: Option<String>,
    /// Its parallel position.
    pub par: Option<String>,
    /// Its state or outcome.
    pub state: Option<String>,
    /// Its exit status.
    pub exit: Value,
    /// The signal that ended it, with the agent's reason.
    pub signal: Option<String>,
    /// Its command, capped.
    pub command: Option<String>,
    /// The agent that ran it.
    pub agent: Option<String>,
    /// Attempts, when it was retried.
    pub attempts: Option<i64>,
    /// Seconds it ran.
    pub run_s: Option<i64>,
}

impl JobRow {
    /// Job `uuid` with its label and step key.
    pub fn new(uuid: &str, label_text: Option<&str>, key: Option<&str>) -> Self {
        JobRow { job: uuid.to_string(), label: label(label_text), step: step_key(key), ..JobRow::default() }
    }

    /// The row of a REST command job (the one reshaper of REST jobs into rows): label and
    /// parallel position, outcome, exit status unless it passed, attempts, run time.
    pub fn from_rest(j: &RestJob) -> Self {
        let mut row =
            JobRow::new(&j.id, None, j.step_key.as_deref()).ran(j.started_at.as_deref(), j.finished_at.as_deref());
        (row.label, row.par) = label_and_par(j.name.as_deref(), j.parallel_group_index, j.parallel_group_total);
        let state = rest_outcome(&j.state, j.soft_failed);
        if state != "passed" {
            row.exit = j.exit_status.map(Value::from).unwrap_or(Value::Null);
        }
        row.state = Some(state);
        row.attempts = j.retries_count.filter(|n| *n > 0).map(|n| n + 1);
        row
    }

    /// The row of a failed, timed-out or canceled REST command job as a failure summary shows it:
    /// the [`JobRow::from_rest`] row with its signal, command and agent, its state only when the
    /// job did not simply finish (GraphQL's `FINISHED`), and no parallel position or attempts.
    pub fn failure_from_rest(j: &RestJob) -> Self {
        let mut row = JobRow::from_rest(j);
        (row.par, row.attempts) = (None, None);
        row.label = label(j.name.as_deref());
        row.state = row.state.filter(|s| !matches!(s.as_str(), "passed" | "failed" | "soft_failed"));
        row.exit = j.exit_status.map(Value::from).unwrap_or(Value::Null);
        row.signal = signal(j.signal.as_deref(), j.signal_reason.as_ref());
        row.command = j.command.as_deref().map(|c| render::clean_text(c, 300));
        row.agent = j.agent.as_ref().and_then(|a| a.name.as_deref()).map(|n| render::clean_text(n, 80));
        row
    }

    /// Its run time.
    pub fn ran(mut self, started: Option<&str>, finished: Option<&str>) -> Self {
        self.run_s = render::seconds_between(started, finished);
        self
    }

    /// As JSON.
    pub fn value(self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// How badly a Test Engine test failed, for ordering: failed executions, else a failed result.
pub fn test_failures(t: &Value) -> i64 {
    let text = |k: &str| t.get(k).and_then(Value::as_str);
    let by_result = t.get("executions_count_by_result").or_else(|| t.get("executions")).filter(|e| e.is_object());
    let count = by_result.and_then(|e| e.get("failed")).and_then(Value::as_i64).unwrap_or(0).max(0);
    let result = text("result").or_else(|| text("state")).unwrap_or("");
    count.saturating_add(i64::from(result.starts_with("fail")))
}

/// What a queue row says when dispatch is paused: its note, or "dispatch paused".
pub fn paused(dispatch_paused: bool, note: Option<&str>) -> Option<String> {
    dispatch_paused.then(|| note.map(|n| crate::render::clean_text(n, 200)).unwrap_or_else(|| "dispatch paused".into()))
}

/// A cluster queue's row in `list_clusters`, from REST (no live metrics: the output says so once).
pub fn queue_row_from_rest(q: &RestQueue) -> Value {
    serde_json::json!({
        "key": q.key,
        "id": q.graphql_id,
        "paused": paused(q.dispatch_paused, q.dispatch_paused_note.as_deref()),
        "hosted": q.hosted.then_some(true),
    })
}

/// The fields of `get_queue` REST carries (no agents, jobs or metrics), in output order.
pub fn queue_detail_from_rest(q: &RestQueue, cluster: &str) -> Vec<(&'static str, Value)> {
    let mut out = vec![
        ("queue", serde_json::json!(q.key)),
        ("cluster", serde_json::json!(render::clean_text(cluster, 60))),
        ("id", serde_json::json!(q.graphql_id)),
        ("description", serde_json::json!(q.description.as_deref().map(|d| render::clean_text(d, 200)))),
    ];
    if q.dispatch_paused {
        out.push((
            "dispatch_paused",
            serde_json::json!({
                "at": q.dispatch_paused_at.as_deref().map(render::timestamp),
                "by": q.dispatch_paused_by.as_ref().and_then(|u| u.name.as_deref()).map(person),
                "note": q.dispatch_paused_note.as_deref().map(|n| render::clean_text(n, 300)),
            }),
        ));
    }
    out.push(("hosted", serde_json::json!(q.hosted.then_some(true))));
    out
}

/// `pipeline/number` of a REST job's build, from its web URL.
fn rest_job_build(j: &RestJob) -> Option<String> {
    match crate::buildkite::ids::parse_build(j.web_url.as_deref()?, None, None) {
        Ok(crate::buildkite::ids::BuildRef::Number { pipeline, number }) => {
            Some(format!("{}/{number}", pipeline.pipeline))
        }
        _ => None,
    }
}

/// The `queue=` tag of an agent's metadata.
pub fn queue_tag(meta: &[String]) -> Option<String> {
    meta.iter().find_map(|m| m.strip_prefix("queue=").map(str::to_string))
}

/// An agent's row in `list_agents`, from REST (the queue from its `queue=` tag).
pub fn agent_row_from_rest(a: &RestAgentRecord) -> Value {
    let job = a.job.as_ref().filter(|j| j.kind == "script").map(|j| {
        serde_json::json!({
            "job": j.id,
            "label": j.name.as_deref().map(|l| render::clean_text(l, 60)),
            "build": rest_job_build(j),
        })
    });
    serde_json::json!({
        "name": render::clean_text(&a.name, 80),
        "state": a.connection_state.to_ascii_lowercase(),
        "queue": queue_tag(&a.meta_data),
        "paused": a.paused.then_some(true),
        "version": a.version,
        "job": job,
    })
}

/// `get_agent`'s object from REST: what REST carries, in the GraphQL output's order and keys
/// (REST has no heartbeat, connection times, cluster queue, OS, version warnings or recent jobs).
pub fn agent_detail_from_rest(a: &RestAgentRecord) -> serde_json::Map<String, Value> {
    use serde_json::json;
    let mut out = serde_json::Map::new();
    out.insert("name".into(), json!(render::clean_text(&a.name, 80)));
    out.insert("id".into(), json!(a.id));
    out.insert("state".into(), json!(a.connection_state.to_ascii_lowercase()));
    out.insert("queue".into(), json!(queue_tag(&a.meta_data)));
    out.insert("host".into(), json!(a.hostname.as_deref().map(|h| render::clean_text(h, 80))));
    out.insert("ip".into(), json!(a.ip_address));
    out.insert("version".into(), json!(a.version));
    out.insert("priority".into(), json!(a.priority.filter(|p| *p != 0)));
    let tags: Vec<String> = a.meta_data.iter().map(|m| render::clean_text(m, 120)).collect();
    out.insert("tags".into(), json!(tags));
    if a.paused {
        out.insert(
            "paused".into(),
            json!({
                "at": a.paused_at.as_deref().map(render::timestamp),
                "by": a.paused_by.as_ref().and_then(|u| u.name.as_deref()).map(person),
                "note": a.paused_note.as_deref().map(|n| render::clean_text(n, 300)),
                "timeout_min": a.paused_timeout_in_minutes.filter(|m| *m > 0),
            }),
        );
    }
    if let Some(j) = a.job.as_ref().filter(|j| j.kind == "script") {
        out.insert(
            "job".into(),
            json!({
                "job": j.id,
                "label": j.name.as_deref().map(|l| render::clean_text(l, 80)),
                "state": j.state.to_ascii_lowercase(),
                "started": j.started_at.as_deref().map(render::timestamp),
                "build": rest_job_build(j),
            }),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finished_commands_read_as_passed_failed_or_soft_failed() {
        assert_eq!(outcome(&"FINISHED", true, false), "passed");
        assert_eq!(outcome(&"FINISHED", false, false), "failed");
        assert_eq!(outcome(&"FINISHED", false, true), "soft_failed");
        assert_eq!(outcome(&"TIMED_OUT", false, false), "timed_out");
        assert_eq!(parallel(Some(2), Some(8)).as_deref(), Some("3/8"));
        assert_eq!(parallel(None, None), None);
    }

    #[test]
    fn build_rows_keep_their_key_order_and_caps() {
        let row = BuildRow::new(7, "failed".into())
            .branch(&"b".repeat(300))
            .commit("0123456789abcdef")
            .msg(Some("Fix it\n\nbody"))
            .times(Some("2026-11-20T10:00:00.1Z"), Some("2026-11-20T10:00:10Z"), Some("2026-11-20T10:05:10Z"))
            .value();
        let keys: Vec<&String> = row.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["p", "n", "state", "gate", "branch", "commit", "msg", "by", "src", "at", "dur"]);
        assert_eq!(row["commit"], "0123456789ab");
        assert_eq!(row["msg"], "Fix it…");
        assert_eq!(row["dur"], 300);
        assert_eq!(row["branch"].as_str().unwrap().chars().count(), BRANCH_CHARS + 1);
    }

    #[test]
    fn test_failures_order_failed_tests_first() {
        let passed = json!({"name": "a", "executions_count_by_result": {"passed": 3, "failed": 0}});
        let failed = json!({"name": "b", "executions_count_by_result": {"passed": 1, "failed": 2}});
        assert!(test_failures(&failed) > test_failures(&passed));
        assert_eq!(test_failures(&json!({"result": "failed"})), 1);
    }
}
