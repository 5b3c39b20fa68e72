//! Builds: `list_builds` and `get_build`.

mod rest;
mod rest_build;

use super::args::{BUILD_STATES, clamp, date_time, lenient_int, lenient_list};
use super::context::non_blank;
use super::kit::{Rest, Call, Hints, Tool, ToolError, Toolset, Wanted, handler, nodes};
use super::resolve::{BuildLookup, PIPELINE_HINT};
use super::rows::{self, BuildRow, JobRow};
use crate::buildkite::ops::{GetBuild, ListBuilds, get_build, list_builds};
use crate::render::{self, Page};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// Failed (and stopped) jobs `get_build` asks for by default; the failure summary asks the same.
pub(super) const DEFAULT_MAX_JOBS: i64 = 20;
/// Annotations `get_build` and the failure summary ask for.
pub(super) const MAX_ANNOTATIONS: i64 = 10;

/// The tools of this area.
pub(super) const TOOLS: &[Tool] = &[
    Tool {
        name: "list_builds",
        toolset: Toolset::Builds,
        hints: Hints::READ,
        scopes: &["read_builds"],
        rest: Rest::Same,
        description: "List builds newest first, of a pipeline or the whole organization; filter by branch, state, commit, creator, creation or finish time.",
        handler: handler!(list_builds, ListBuildsArgs),
    },
    Tool {
        name: "get_build",
        toolset: Toolset::Builds,
        hints: Hints::READ,
        scopes: &["read_builds"],
        rest: Rest::Same,
        description: "One build: state, trigger, timings, job counts by state, failed and blocked jobs, annotation headlines. Start here for a failing build.",
        handler: handler!(get_build, GetBuildArgs),
    },
];

/// Arguments of `list_builds`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListBuildsArgs {
    /// Omit for the whole organization.
    #[serde(default)]
    pub(super) pipeline: Option<String>,
    /// Comma separated; %default is the default branch.
    #[serde(default, deserialize_with = "lenient_list")]
    #[schemars(with = "Option<String>")]
    pub(super) branch: Option<Vec<String>>,
    /// Comma separated: passed, failed, running, blocked, canceled, scheduled, finished...
    #[serde(default, deserialize_with = "lenient_list")]
    #[schemars(with = "Option<String>")]
    pub(super) state: Option<Vec<String>>,
    /// Full SHAs, comma separated.
    #[serde(default, deserialize_with = "lenient_list")]
    #[schemars(with = "Option<String>")]
    pub(super) commit: Option<Vec<String>>,
    // Created at or after (ISO; documented once, in the server instructions).
    #[serde(default)]
    pub(super) created_from: Option<String>,
    // Created before.
    #[serde(default)]
    pub(super) created_to: Option<String>,
    // Finished at or after.
    #[serde(default)]
    pub(super) finished_from: Option<String>,
    /// Email, name or user UUID.
    #[serde(default)]
    pub(super) creator: Option<String>,
    // Page size 1-100, default 20 (documented once, in the server instructions).
    #[serde(default, deserialize_with = "lenient_int")]
    pub(super) first: Option<i64>,
    // next.after from the previous page. (documented once, in the server instructions)
    #[serde(default)]
    pub(super) after: Option<String>,
}

/// Arguments of `get_build`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetBuildArgs {
    // Build URL, org/pipeline/number, UUID, or a number with pipeline. (documented once, in the server instructions)
    pub(super) build: String,
    // Pipeline, when build is a bare number. (documented once, in the server instructions)
    #[serde(default)]
    pub(super) pipeline: Option<String>,
    /// Failed jobs to list, 1-100 (default 20).
    #[serde(default, deserialize_with = "lenient_int")]
    pub(super) max_jobs: Option<i64>,
}

fn build_states(states: Vec<String>) -> Result<Vec<list_builds::BuildStates>, ToolError> {
    use list_builds::BuildStates as S;
    let mut out = Vec::new();
    for s in states {
        let lower = s.to_ascii_lowercase();
        if lower == "finished" {
            out.extend([S::PASSED, S::FAILED, S::BLOCKED, S::CANCELED]);
            continue;
        }
        if !BUILD_STATES.contains(&lower.as_str()) {
            return Err(ToolError::args(format!(
                "unknown state `{}`: use {} or finished",
                render::clean_text(&s, 100),
                BUILD_STATES.join(", ")
            )));
        }
        let state: S = serde_json::from_value(Value::String(lower.to_ascii_uppercase()))
            .map_err(|e| ToolError::args(e.to_string()))?;
        if !out.contains(&state) {
            out.push(state);
        }
    }
    Ok(out)
}

async fn list_builds(call: &Call<'_>, args: ListBuildsArgs) -> Result<String, ToolError> {
    let rest_only = args.creator.as_deref().is_some_and(|c| !c.trim().is_empty())
        || args.finished_from.as_deref().is_some_and(|c| !c.trim().is_empty());
    let rest_only = rest_only || !call.graphql().await;
    let Some(pipeline_arg) = non_blank(args.pipeline.as_deref()).map(str::to_string).filter(|_| !rest_only) else {
        // GraphQL has no organization-wide build list and no creator or finish-time filter: REST.
        return rest::list_builds(call, args).await;
    };
    let pipeline = call.pipeline(&pipeline_arg).await?;
    let variables = list_builds::Variables {
        pipeline: pipeline.slug(),
        first: clamp(args.first, 20, 1, 100),
        after: args.after.filter(|a| !a.is_empty()),
        branch: args.branch,
        state: args.state.map(build_states).transpose()?,
        commit: args.commit,
        created_at_from: date_time("created_from", args.created_from)?,
        created_at_to: date_time("created_to", args.created_to)?,
    };
    let wanted = Wanted::new(format!("pipeline `{}`", pipeline.slug()), PIPELINE_HINT);
    let p = wanted.found(call.query::<ListBuilds>(variables, &wanted).await?.pipeline)?;
    let mut head = Map::new();
    head.insert("pipeline".into(), json!(pipeline.slug()));
    head.insert("url".into(), json!(p.url));
    let Some(builds) = p.builds else {
        head.insert("total".into(), json!(0));
        return Ok(render::finish(Value::Object(head)));
    };
    let next = builds.page_info.filter(|i| i.has_next_page).and_then(|i| i.end_cursor);
    let mut page = Page::new(builds.count, next);
    for edge in builds.edges.unwrap_or_default().into_iter().flatten() {
        let Some(b) = edge.node else { continue };
        use list_builds::ListBuildsPipelineBuildsEdgesNodeCreatedBy as By;
        let by = match b.created_by {
            Some(By::User(u)) => Some(u.name),
            Some(By::UnregisteredUser(u)) => u.unregistered_name,
            _ => None,
        };
        let state = render::state(&b.state);
        let mut row = BuildRow::new(b.number, state);
        if row.state == "blocked" {
            row.gate = b.blocked_state.as_ref().map(render::state);
        }
        let row = row
            .branch(&b.branch)
            .commit(&b.commit)
            .msg(b.message.as_deref())
            .by(by.as_deref())
            .src(&b.source.name)
            .times(b.created_at.as_deref(), b.started_at.as_deref(), b.finished_at.as_deref());
        page.rows.push(row.value());
        page.cursors.push(Some(edge.cursor));
    }
    Ok(render::render_page(head, "builds", page, call.budget(3_000)))
}

async fn get_build(call: &Call<'_>, args: GetBuildArgs) -> Result<String, ToolError> {
    if !call.graphql().await {
        return rest_build::get_build(call, args).await;
    }
    let BuildLookup { slug, uuid, wanted } = call.build(&args.build, args.pipeline.as_deref()).await?;
    let variables =
        get_build::Variables { slug, uuid, max_jobs: clamp(args.max_jobs, DEFAULT_MAX_JOBS, 1, 100), max_annotations: MAX_ANNOTATIONS };
    let b = wanted.found(call.query::<GetBuild>(variables, &wanted).await?.build)?;
    Ok(render::render_object(reshape_build(b), call.budget(4_000)))
}

fn count<T>(c: Option<T>, f: impl Fn(T) -> i64) -> Option<i64> {
    c.map(f).filter(|n| *n > 0)
}

fn reshape_build(b: get_build::GetBuildBuild) -> Value {
    use get_build::{
        GetBuildBuildBlockedEdgesNode as Blocked, GetBuildBuildCreatedBy as By, GetBuildBuildFailedEdgesNode as Failed,
    };
    let mut out = Map::new();
    out.insert("build".into(), json!(format!("{}/{}/{}", b.organization.slug, b.pipeline.slug, b.number)));
    out.insert("url".into(), json!(b.url));
    out.insert("uuid".into(), json!(b.uuid));
    let state = render::state(&b.state);
    out.insert("state".into(), json!(state));
    if state == "blocked" {
        out.insert("gate".into(), json!(b.blocked_state.as_ref().map(render::state)));
    }
    out.insert("branch".into(), json!(rows::branch(&b.branch)));
    out.insert("commit".into(), json!(b.commit));
    out.insert("msg".into(), json!(b.message.as_deref().map(|m| render::clean_text(m.trim(), 500))));
    let by = match b.created_by {
        Some(By::User(u)) => json!({"name": rows::person(&u.name), "email": u.email}),
        Some(By::UnregisteredUser(u)) => json!({
            "name": u.unregistered_name.as_deref().map(rows::person),
            "email": u.unregistered_email.as_deref().map(|e| render::clean_text(e, 100)),
        }),
        _ => Value::Null,
    };
    out.insert("by".into(), by);
    out.insert("src".into(), json!(render::clean_text(&b.source.name, 40).to_ascii_lowercase()));
    out.insert("pr".into(), json!(b.pull_request.map(|p| p.id)));
    out.insert("rebuilt_from".into(), json!(b.rebuilt_from.map(|r| r.number)));
    if let Some(t) = b.triggered_from {
        let from = t.build.map(|tb| format!("{}/{}", tb.pipeline.slug, tb.number));
        out.insert(
            "triggered_from".into(),
            json!({"build": from, "step": t.label.as_deref().map(|l| render::clean_text(l, 80))}),
        );
    }
    rows::build_times(&mut out, b.created_at.as_deref(), b.started_at.as_deref(), b.finished_at.as_deref());
    if b.canceled_at.is_some() || b.cancel_reason.is_some() {
        out.insert("cancel_reason".into(), json!(b.cancel_reason.as_deref().map(|r| render::clean_text(r, 200))));
    }

    let mut jobs = Map::new();
    jobs.insert("total".into(), json!(count(b.total, |c| c.count)));
    jobs.insert("passed".into(), json!(count(b.passed, |c| c.count)));
    let failed_total = b.failed.as_ref().map(|f| f.count).unwrap_or(0);
    // Filled in below from the failed attempts: hard failures of latest attempts only.
    jobs.insert("failed".into(), Value::Null);
    jobs.insert("running".into(), json!(count(b.running, |c| c.count)));
    jobs.insert("waiting".into(), json!(count(b.waiting, |c| c.count)));
    jobs.insert("canceled".into(), json!(count(b.canceled, |c| c.count)));
    jobs.insert("timed_out".into(), json!(count(b.timed_out, |c| c.count)));
    jobs.insert("skipped".into(), json!(count(b.skipped, |c| c.count)));
    let blocked_total = b.blocked.as_ref().map(|f| f.count).unwrap_or(0);
    jobs.insert("blocked".into(), json!((blocked_total > 0).then_some(blocked_total)));

    let mut failed = Vec::new();
    let mut soft = Vec::new();
    let mut retried = 0;
    let mut listed = 0;
    for node in nodes!(b.failed) {
        let Failed::JobTypeCommand(j) = node else { continue };
        listed += 1;
        if j.retried {
            retried += 1;
            continue;
        }
        let mut row = JobRow::new(&j.uuid, j.label.as_deref(), j.step.and_then(|s| s.key).as_deref())
            .ran(j.started_at.as_deref(), j.finished_at.as_deref());
        row.state = Some(render::state(&j.state)).filter(|s| s != "finished");
        row.exit = rows::exit_code(j.exit_status.as_deref());
        let row = row.value();
        if j.soft_failed { soft.push(row) } else { failed.push(row) }
    }
    // One meaning of "failed" in every tool: the latest attempt of each job, hard failures only;
    // soft failures and retried attempts are counted apart.
    let nonzero = |n: usize| (n > 0).then_some(n);
    jobs.insert("failed".into(), json!(nonzero(failed.len())));
    jobs.insert("soft_failed".into(), json!(nonzero(soft.len())));
    out.insert("jobs".into(), Value::Object(jobs));
    out.insert("failed".into(), json!(failed));
    out.insert("soft_failed".into(), json!(soft));
    out.insert("retried_attempts".into(), json!(nonzero(retried)));
    if failed_total > listed {
        out.insert(
            "failed_more".into(),
            json!(format!(
                "{} more failed attempts (hard, soft or retried) not listed or counted; raise max_jobs",
                failed_total - listed
            )),
        );
    }
    let blocked: Vec<Value> = nodes!(b.blocked)
        .filter_map(|n| match n {
            Blocked::JobTypeBlock(j) => Some(json!({
                "job": j.uuid,
                "label": rows::label(j.label.as_deref()),
                "unblockable": j.is_unblockable,
            })),
            _ => None,
        })
        .collect();
    out.insert("blocked".into(), json!(blocked));
    if let Some(a) = b.annotations {
        let total = a.count;
        let items: Vec<Value> = nodes!(Some(a))
            .map(|n| {
                json!({
                    "style": n.style.as_ref().map(render::state),
                    "context": render::clean_text(&n.context, 80),
                    "text": n.body.map(|body| render::first_line(&crate::redact::shown(&crate::html::body_text(body.html.as_deref(), &body.text), 2_000), 120)),
                })
            })
            .collect();
        if total > 0 {
            out.insert("annotations".into(), json!({"total": total, "items": items}));
        }
    }
    Value::Object(out)
}
