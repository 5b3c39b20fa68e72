//! `list_jobs` and `get_job`.

use super::args::{budget, clamp, lenient_bool, lenient_int, lenient_list};
use super::builds::{BUILD_HINT, BuildLookup, lookup_build};
use super::schema::input_schema;
use super::{Ctx, ToolError, ToolSpec, Toolset};
use crate::buildkite::ApiError;
use crate::buildkite::ids;
use crate::buildkite::ops::{GetJob, ListJobs, get_job, list_jobs};
use crate::render::{self, Page};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

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
    /// Organization slug.
    #[schemars(skip)]
    #[serde(default)]
    org: Option<String>,
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
    /// Output budget in tokens (default 3000).
    #[schemars(skip)]
    #[serde(default, deserialize_with = "lenient_int")]
    max_tokens: Option<i64>,
}

/// Arguments of `get_job`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetJobArgs {
    // Job UUID, or a build URL ending in #job-uuid. (documented once, in the server instructions)
    job: String,
    /// Organization slug (not needed: a job UUID is global).
    #[schemars(skip)]
    #[serde(default)]
    #[allow(dead_code)]
    org: Option<String>,
    /// Also its runtime environment, BUILDKITE_* included (needs token scope read_job_env).
    #[serde(default, deserialize_with = "lenient_bool")]
    env: Option<bool>,
    /// Output budget in tokens (default 2000).
    #[schemars(skip)]
    #[serde(default, deserialize_with = "lenient_int")]
    max_tokens: Option<i64>,
}

/// Name parts that mark an environment variable as a secret, whose value is never shown (the
/// agent's own redaction list, plus common spellings).
const SECRET_NAME_PARTS: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "SECRET",
    "TOKEN",
    "ACCESS_KEY",
    "PRIVATE_KEY",
    "CONNECTION_STRING",
    "API_KEY",
    "CREDENTIAL",
    "COOKIE",
    "SESSION",
];
/// Name endings that mark a secret (`SSH_KEY`, `DB_PASS`, `SENTRY_DSN`, `NPM_AUTH`).
const SECRET_NAME_ENDS: &[&str] = &["_KEY", "_PASS", "_PWD", "_DSN", "_AUTH"];
/// Value prefixes of well-known tokens, redacted whatever the variable is called.
const TOKEN_PREFIXES: &[&str] =
    &["ghp_", "gho_", "ghs_", "github_pat_", "glpat-", "xoxb-", "xoxp-", "AKIA", "bkua_", "bkaj_", "npm_", "sk_live_"];

/// Whether a variable's value must be redacted.
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    // Buildkite's own `BUILDKITE_*_KEY` names (step and group keys) are identifiers, not secrets.
    SECRET_NAME_PARTS.iter().any(|p| upper.contains(p))
        || (!upper.starts_with("BUILDKITE_") && SECRET_NAME_ENDS.iter().any(|e| upper.ends_with(e)))
}

/// A value with every URL's credentials and every well-known token replaced.
pub fn redact_value(value: &str) -> String {
    let value = redact_url_password(value);
    let mut out = String::with_capacity(value.len());
    for (i, word) in value.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let bare = word.trim_start_matches(|c: char| !c.is_ascii_alphanumeric());
        if TOKEN_PREFIXES.iter().any(|p| bare.starts_with(p) && bare.len() > p.len() + 8) {
            out.push_str("[redacted]");
        } else {
            out.push_str(word);
        }
    }
    out
}

/// Every `scheme://userinfo@host` in `value` with the userinfo replaced (connection strings,
/// and clone URLs that carry a token as the user name).
pub fn redact_url_password(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find("://") {
        let (before, after) = rest.split_at(at + 3);
        out.push_str(before);
        let authority_end = after.find(['/', '?', '#', ' ', '"', '\'', ',']).unwrap_or(after.len());
        let authority = &after[..authority_end];
        match authority.rfind('@') {
            Some(i) => {
                out.push_str("[redacted]");
                out.push_str(&authority[i..]);
            }
            None => out.push_str(authority),
        }
        rest = &after[authority_end..];
    }
    out.push_str(rest);
    out
}

/// A job's runtime environment from REST, sorted, secrets redacted, values capped.
async fn job_env(ctx: &Ctx, org: &str, uuid: &str) -> Result<Value, ToolError> {
    ctx.require_scope("get_job with env", "read_job_env").await?;
    let what = format!("the environment of job {uuid}");
    let answer = ctx
        .api
        .rest_json(&format!("v2/organizations/{org}/jobs/{uuid}/env"), &[])
        .await
        .map_err(|e| e.or_not_found(&what, "a job that has not started has no environment yet"))?;
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
        let value =
            if is_secret_name(&k) { "[redacted]".to_string() } else { render::clean_text(&redact_value(&v), 300) };
        out.insert(render::clean_text(&k, 100), json!(value));
    }
    Ok(Value::Object(out))
}

pub(super) fn specs() -> Vec<ToolSpec> {
    vec![
        ToolSpec {
            name: "list_jobs",
            toolset: Toolset::Jobs,
            read_only: true,
            scopes: &["read_builds"],
            description: "List a build's jobs, filtered by state (failed, running, blocked...), type or step key. Retried attempts fold into one row.",
            schema: input_schema::<ListJobsArgs>,
        },
        ToolSpec {
            name: "get_job",
            toolset: Toolset::Jobs,
            read_only: true,
            scopes: &["read_builds"],
            description: "One job: command, outcome, exit status, signal, agent, queue, wait and run seconds, retry lineage.",
            schema: input_schema::<GetJobArgs>,
        },
    ]
}

fn args_error(detail: String) -> ToolError {
    ToolError::Args { tool: "list_jobs", detail }
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

/// A finished command job's outcome as people say it; other states lower-case.
pub(super) fn outcome<S: serde::Serialize>(state: &S, passed: bool, soft_failed: bool) -> String {
    let state = render::state(state);
    match (state.as_str(), passed, soft_failed) {
        ("finished", true, _) => "passed".into(),
        ("finished", false, true) => "soft_failed".into(),
        ("finished", false, false) => "failed".into(),
        _ => state,
    }
}

/// An exit status as a number when it is one.
pub(super) fn exit_code(exit: Option<&str>) -> Value {
    match exit {
        Some(e) => e.parse::<i64>().map(Value::from).unwrap_or_else(|_| Value::from(e)),
        None => Value::Null,
    }
}

fn parallel(index: Option<i64>, total: Option<i64>) -> Option<String> {
    match (index, total) {
        (Some(i), Some(t)) if t > 1 => Some(format!("{}/{t}", i + 1)),
        _ => None,
    }
}

pub(super) fn label(l: Option<&str>) -> Option<String> {
    l.map(|l| render::clean_text(l, 80))
}

/// A job's signal with the agent's reason, e.g. `SIGTERM (agent_stop)`.
pub(super) fn signal<R: serde::Serialize>(signal: Option<&str>, reason: Option<&R>) -> Option<String> {
    let signal = render::clean_text(signal?, 40);
    Some(match reason {
        Some(r) => format!("{signal} ({})", render::state(r)),
        None => signal,
    })
}

/// A command job's label, and its parallel position unless the label already says it
/// (`RSpec 31/400`).
fn label_and_par(l: Option<&str>, index: Option<i64>, total: Option<i64>) -> (Option<String>, Option<String>) {
    let label = label(l);
    let par = parallel(index, total).filter(|p| !label.as_deref().is_some_and(|l| l.contains(p.as_str())));
    (label, par)
}

pub(super) async fn list_jobs(ctx: &Ctx, args: ListJobsArgs) -> Result<String, ToolError> {
    let BuildLookup { slug, uuid, what } =
        lookup_build(ctx, &args.build, args.pipeline.as_deref(), args.org.as_deref()).await?;
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
    let data = ctx.api.execute::<ListJobs>(variables).await.map_err(|e| e.or_not_found(&what, BUILD_HINT))?;
    let b = data.build.ok_or_else(|| ApiError::NotFound { what: what.clone(), hint: BUILD_HINT.into() })?;
    let mut head = Map::new();
    head.insert("build".into(), json!(format!("{}/{}/{}", b.organization.slug, b.pipeline.slug, b.number)));
    let Some(jobs) = b.jobs else {
        head.insert("total".into(), json!(0));
        return Ok(render::to_json(&Value::Object(head)));
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
                let (label, par) = label_and_par(j.label.as_deref(), j.parallel_group_index, j.parallel_group_total);
                json!({
                    "job": j.uuid,
                    "label": label,
                    "step": j.step.and_then(|s| s.key).map(|k| render::clean_text(&k, 80)),
                    "par": par,
                    "state": state,
                    "exit": if state == "passed" { Value::Null } else { exit_code(j.exit_status.as_deref()) },
                    "attempts": j.retries_count.filter(|n| *n > 0).map(|n| n + 1),
                    "run_s": render::seconds_between(j.started_at.as_deref(), j.finished_at.as_deref()),
                })
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
    Ok(render::render_page(head, "jobs", page, budget(args.max_tokens, 3_000)))
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

pub(super) async fn get_job(ctx: &Ctx, args: GetJobArgs) -> Result<String, ToolError> {
    let uuid = ids::parse_job(&args.job).ok_or_else(|| ToolError::Args {
        tool: "get_job",
        detail: format!(
            "`{}` is not a job: pass a job UUID, or a build URL ending in #<job uuid> (list_jobs lists a build's jobs)",
            args.job.trim()
        ),
    })?;
    let what = format!("job {uuid}");
    let hint = "check the UUID with list_jobs on its build";
    let data = ctx
        .api
        .execute::<GetJob>(get_job::Variables { uuid: uuid.clone() })
        .await
        .map_err(|e| e.or_not_found(&what, hint))?;
    let job = data.job.ok_or_else(|| ApiError::NotFound { what: what.clone(), hint: hint.into() })?;
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
                "by": j.retried_by.map(|u| render::clean_text(&u.name, 60)),
                "replaced": j.retried.then_some(true),
            });
            let (label, par) = label_and_par(j.label.as_deref(), j.parallel_group_index, j.parallel_group_total);
            // The web URL is the build's plus `#<job>`: `build` and `job` already say it.
            json!({
                "job": j.uuid,
                "build": build,
                "label": label,
                "step": j.step.and_then(|s| s.key).map(|k| render::clean_text(&k, 80)),
                "par": par,
                "state": state,
                "exit": exit_code(j.exit_status.as_deref()),
                "signal": signal,
                "command": j.command.as_deref().map(|c| render::clean_text(c, 2_000)),
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
            "unblocked_by": j.unblocked_by.map(|u| render::clean_text(&u.name, 60)),
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
            return Err(ToolError::Args {
                tool: "get_job",
                detail: format!(
                    "job {} is a wait step ({}): it has no command, agent or log; get_build or list_jobs show the build around it",
                    j.uuid,
                    render::state(&j.state)
                ),
            });
        }
        Job::Unknown => {
            return Err(ToolError::Args {
                tool: "get_job",
                detail: format!("job {uuid} is of a kind this server does not know yet"),
            });
        }
    };
    if args.env == Some(true) {
        let org = env_org.ok_or_else(|| ToolError::Args {
            tool: "get_job",
            detail: format!("job {uuid} is not a command job, so it has no environment"),
        })?;
        let env = job_env(ctx, &org, &uuid).await?;
        if let Value::Object(map) = &mut out {
            map.insert("env".into(), env);
        }
    }
    Ok(render::render_object(out, budget(args.max_tokens, 2_000)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_looking_variables_are_redacted_by_name() {
        for name in
            ["AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", "db_password", "NPM_API_KEY", "BUILDKITE_AGENT_ACCESS_TOKEN"]
        {
            assert!(is_secret_name(name), "{name}");
        }
        for name in ["BUILDKITE_BRANCH", "PATH", "RAILS_ENV", "BUILDKITE_STEP_KEY", "PWD"] {
            assert!(!is_secret_name(name), "{name}");
        }
        assert_eq!(redact_url_password("postgres://app:s3cret@db:5432/x"), "postgres://[redacted]@db:5432/x");
        assert_eq!(
            redact_url_password(r#"{"repo":"https://ghp_abc123@github.com/a/b","mirror":"git://x/y"}"#),
            r#"{"repo":"https://[redacted]@github.com/a/b","mirror":"git://x/y"}"#
        );
        assert_eq!(redact_url_password("plain"), "plain");
        assert_eq!(redact_value("token ghp_0123456789abcdef here"), "token [redacted] here");
        for name in ["SSH_KEY", "DB_PASS", "SENTRY_DSN", "NPM_AUTH", "RAILS_SESSION_SECRET"] {
            assert!(is_secret_name(name), "{name}");
        }
    }

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
    fn finished_commands_read_as_passed_failed_or_soft_failed() {
        use list_jobs::JobStates as S;
        assert_eq!(outcome(&S::FINISHED, true, false), "passed");
        assert_eq!(outcome(&S::FINISHED, false, false), "failed");
        assert_eq!(outcome(&S::FINISHED, false, true), "soft_failed");
        assert_eq!(outcome(&S::TIMED_OUT, false, false), "timed_out");
        assert_eq!(parallel(Some(2), Some(8)).as_deref(), Some("3/8"));
        assert_eq!(parallel(None, None), None);
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
