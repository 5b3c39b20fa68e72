//! `build_action` (create, rebuild) and `cancel` (a build; a job goes to [`super::jobs`]).

use super::super::kit::{Call, ToolError, Wanted};
use super::super::resolve::{BUILD_HINT, PIPELINE_HINT};
use super::super::rest::{RestBuild, RestBuildId};
use super::safety::{Done, MARKER, MARKER_KEY, Plan, Request, changed, lost_answer, perform};
use super::{BuildActionArgs, CancelArgs};
use crate::buildkite::graphql::decode;
use crate::buildkite::ops::{
    BuildCancel, BuildCreate, BuildRebuild, FindCreatedBuild, FindRebuild, WriteBuild, WritePipeline, build_cancel,
    build_create, build_rebuild, find_created_build, find_rebuild, write_build, write_pipeline,
};
use crate::render;
use reqwest::Method;
use serde_json::{Map, Value, json};

/// Build states that are over: nothing to cancel.
const FINISHED: &[&str] = &["passed", "failed", "canceled", "skipped", "not_run"];

/// A build a write acts on, from either API.
pub(super) struct Target {
    /// GraphQL node ID (empty over REST).
    pub id: String,
    /// UUID.
    pub uuid: String,
    /// `org/pipeline/number`.
    pub name: String,
    /// For REST paths.
    pub rest: Option<RestBuildId>,
    /// Lower-case state.
    pub state: String,
    /// Command jobs done and in all, when known.
    pub jobs: Option<(i64, i64)>,
}

impl Target {
    /// `org/pipeline#number`, as the question names it.
    pub fn short(&self) -> String {
        match self.name.rsplit_once('/') {
            Some((pipeline, n)) => format!("{pipeline}#{n}"),
            None => self.name.clone(),
        }
    }

    /// `org/pipeline`.
    pub fn pipeline(&self) -> String {
        self.name.rsplit_once('/').map(|(p, _)| p.to_string()).unwrap_or_default()
    }

    /// `(state, 412 of 560 jobs done)`.
    pub fn progress(&self) -> String {
        match self.jobs {
            Some((done, total)) => format!("{}, {done} of {total} jobs done", self.state),
            None => self.state.clone(),
        }
    }
}

/// The build `build` (with `pipeline` for a bare number), over GraphQL or REST.
pub(super) async fn target(call: &Call<'_>, build: &str, pipeline: Option<&str>) -> Result<Target, ToolError> {
    if !call.graphql().await {
        let id = call.rest_build_id(build, pipeline).await?;
        let b: RestBuild = call.rest_build(&id).await?;
        let counts = b.job_state_counts.clone().unwrap_or_default();
        let done: i64 = ["passed", "failed", "canceled", "timed_out", "expired", "skipped", "broken", "finished"]
            .iter()
            .map(|s| counts.states.get(*s).copied().unwrap_or(0))
            .sum();
        return Ok(Target {
            id: String::new(),
            uuid: b.id,
            name: id.slug(),
            state: b.state.to_ascii_lowercase(),
            jobs: (counts.total > 0).then_some((done, counts.total)),
            rest: Some(id),
        });
    }
    let lookup = call.build(build, pipeline).await?;
    let wanted = &lookup.wanted;
    let variables = write_build::Variables { slug: lookup.slug.clone(), uuid: lookup.uuid.clone() };
    let b = wanted.found(call.query::<WriteBuild>(variables, wanted).await?.build)?;
    let count = |c: Option<i64>| c.unwrap_or(0);
    Ok(Target {
        id: b.id,
        uuid: b.uuid,
        name: format!("{}/{}/{}", b.organization.slug, b.pipeline.slug, b.number),
        rest: None,
        state: render::state(&b.state),
        jobs: Some((count(b.finished.map(|c| c.count)), count(b.total.map(|c| c.count)))),
    })
}

/// `cancel`: a build (or, with `job`, one job).
pub(super) async fn cancel(call: &Call<'_>, args: CancelArgs) -> Result<String, ToolError> {
    let dry_run = args.dry_run.unwrap_or(false);
    match (args.build.as_deref(), args.job.as_deref()) {
        (Some(_), Some(_)) => Err(ToolError::args("pass either build or job, not both")),
        (None, None) => Err(ToolError::args("pass build (to cancel a build) or job (to cancel one job)")),
        (None, Some(job)) => super::jobs::cancel_job(call, job, dry_run).await,
        (Some(build), None) => cancel_build(call, build, args.pipeline.as_deref(), dry_run).await,
    }
}

async fn cancel_build(call: &Call<'_>, build: &str, pipeline: Option<&str>, dry_run: bool) -> Result<String, ToolError> {
    let t = target(call, build, pipeline).await?;
    if FINISHED.contains(&t.state.as_str()) {
        return Err(ToolError::Refused(format!(
            "build {} is already {}, so there is nothing to cancel: nothing was sent",
            t.name, t.state
        )));
    }
    let request = match &t.rest {
        Some(id) => Request::rest(Method::PUT, id.path("/cancel"), None),
        None => Request::graphql::<BuildCancel>(build_cancel::Variables { id: t.id.clone() })?,
    };
    let mut before = Map::new();
    before.insert("build".into(), json!(t.name));
    before.insert("before".into(), json!(t.state));
    let plan = Plan { target: t.name.clone(), question: format!("Cancel {} ({})?", t.short(), t.progress()), request, before };
    match perform(call, &plan, dry_run).await? {
        Done::DryRun(text) => Ok(text),
        Done::Answered { body, .. } => {
            let (state, url) = if t.rest.is_some() {
                let b: RestBuild = serde_json::from_value(body).map_err(|e| decode_error(&e))?;
                (b.state.to_ascii_lowercase(), b.web_url)
            } else {
                let d = decode::<build_cancel::ResponseData>(body)?;
                let b = d.build_cancel.map(|p| p.build);
                (b.as_ref().map(|b| render::state(&b.state)).unwrap_or_default(), b.map(|b| b.url))
            };
            let mut after = Map::new();
            after.insert("after".into(), json!(state));
            after.insert("url".into(), json!(url));
            Ok(changed("canceled", &plan, after))
        }
        Done::Lost { error, .. } => {
            let now = target(call, build, pipeline).await.ok().map(|t| t.state);
            let took = now.as_deref().map(|s| matches!(s, "canceling" | "canceled"));
            let mut found = Map::new();
            found.insert("build".into(), json!(t.name));
            found.insert("now".into(), json!(now));
            Ok(lost_answer(&error, took, found))
        }
    }
}

fn decode_error(e: &serde_json::Error) -> ToolError {
    crate::buildkite::ApiError::Decode { detail: e.to_string() }.into()
}

/// `build_action`.
pub(super) async fn build_action(call: &Call<'_>, args: BuildActionArgs) -> Result<String, ToolError> {
    match args.action.to_ascii_lowercase().as_str() {
        "create" => create(call, args).await,
        "rebuild" => rebuild(call, args).await,
        "retry_failed" | "retry_infra" => {
            let Some(build) = args.build.as_deref() else {
                return Err(ToolError::args(format!("{} needs build", args.action)));
            };
            let dry_run = args.dry_run.unwrap_or(false);
            if args.action.eq_ignore_ascii_case("retry_failed") {
                super::retry::retry_failed(call, build, args.pipeline.as_deref(), dry_run).await
            } else {
                super::retry::retry_infra(call, build, args.pipeline.as_deref(), dry_run).await
            }
        }
        other => Err(ToolError::args(format!(
            "unknown action `{}`: use create, rebuild, retry_failed or retry_infra",
            render::clean_text(other, 40)
        ))),
    }
}

/// The build a create or rebuild made, from either API's answer.
fn new_build(number: Option<i64>, state: Option<String>, url: Option<String>, pipeline: &str) -> Map<String, Value> {
    let mut after = Map::new();
    after.insert("build".into(), json!(number.map(|n| format!("{pipeline}/{n}"))));
    after.insert("state".into(), json!(state.map(|s| s.to_ascii_lowercase())));
    after.insert("url".into(), json!(url));
    after
}

async fn create(call: &Call<'_>, args: BuildActionArgs) -> Result<String, ToolError> {
    let Some(pipeline) = args.pipeline.as_deref() else {
        return Err(ToolError::args("create needs pipeline (a URL, org/pipeline or slug)"));
    };
    if args.build.is_some() {
        return Err(ToolError::args("create takes pipeline, not build (rebuild takes build)"));
    }
    let p = call.pipeline(pipeline).await?;
    let slug = p.slug();
    let commit = args.commit.clone().filter(|c| !c.trim().is_empty()).unwrap_or_else(|| "HEAD".into());
    let env = args.env.clone().unwrap_or_default();
    let mut meta = args.meta_data.clone().unwrap_or_default();
    if meta.contains_key(MARKER_KEY) {
        return Err(ToolError::args(format!("meta_data key `{MARKER_KEY}` is the server's own")));
    }
    meta.insert(MARKER_KEY.into(), MARKER.into());
    // Clean checkout and ignoring branch filters exist only on REST's create.
    let rest_only = args.clean_checkout.unwrap_or(false) || args.ignore_branch_filters.unwrap_or(false);
    let graphql = call.graphql().await;
    let wanted = Wanted::new(format!("pipeline {slug}"), PIPELINE_HINT);
    let (pipeline_id, default_branch) = if graphql {
        let data = call.query::<WritePipeline>(write_pipeline::Variables { slug: slug.clone() }, &wanted).await?;
        let found = wanted.found(data.pipeline)?;
        (found.id, found.default_branch)
    } else {
        (String::new(), None)
    };
    let branch = match args.branch.clone().filter(|b| !b.trim().is_empty()).or(default_branch) {
        Some(b) => b,
        None => return Err(ToolError::args("pass branch (the pipeline's default branch is looked up only over GraphQL)")),
    };
    let request = if graphql && !rest_only {
        Request::graphql::<BuildCreate>(build_create::Variables {
            pipeline_id,
            branch: Some(branch.clone()),
            commit: Some(commit.clone()),
            message: args.message.clone(),
            env: (!env.is_empty()).then(|| env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            meta_data: Some(
                meta.iter()
                    .map(|(k, v)| build_create::BuildMetaDataInput { key: k.clone(), value: v.clone() })
                    .collect(),
            ),
        })?
    } else {
        let mut body = Map::new();
        body.insert("commit".into(), json!(commit));
        body.insert("branch".into(), json!(branch));
        if let Some(m) = &args.message {
            body.insert("message".into(), json!(m));
        }
        if !env.is_empty() {
            body.insert("env".into(), json!(env));
        }
        body.insert("meta_data".into(), json!(meta));
        if let Some(c) = args.clean_checkout {
            body.insert("clean_checkout".into(), json!(c));
        }
        if let Some(i) = args.ignore_branch_filters {
            body.insert("ignore_pipeline_branch_filters".into(), json!(i));
        }
        let path = format!("v2/organizations/{}/pipelines/{}/builds", p.org, p.pipeline);
        Request::rest(Method::POST, path, Some(Value::Object(body)))
    };
    let rest = matches!(request, Request::Rest { .. });
    let mut before = Map::new();
    before.insert("pipeline".into(), json!(slug));
    let what = args.message.as_deref().map(|m| format!(" (\"{}\")", render::clean_text(m, 60))).unwrap_or_default();
    let question = format!("Create a build of {slug} on {branch} at {commit}{what}?");
    let plan = Plan { target: slug.clone(), question, request, before };
    match perform(call, &plan, args.dry_run.unwrap_or(false)).await? {
        Done::DryRun(text) => Ok(text),
        Done::Answered { body, .. } => {
            let after = if rest {
                let b: RestBuild = serde_json::from_value(body).map_err(|e| decode_error(&e))?;
                new_build(Some(b.number), Some(b.state), b.web_url, &slug)
            } else {
                let b = decode::<build_create::ResponseData>(body)?.build_create.and_then(|p| p.build);
                let b = b.ok_or_else(|| ToolError::Refused("Buildkite answered the create without a build".into()))?;
                new_build(Some(b.number), Some(render::state(&b.state)), Some(b.url), &slug)
            };
            Ok(changed("created", &plan, after))
        }
        Done::Lost { error, marker } => {
            let marker = marker.unwrap_or_default();
            let found = if graphql {
                let variables = find_created_build::Variables {
                    slug: slug.clone(),
                    marker: Some(vec![format!("{MARKER_KEY}={marker}")]),
                };
                call.query::<FindCreatedBuild>(variables, &wanted).await.ok().map(|d| {
                    d.pipeline
                        .and_then(|p| p.builds)
                        .and_then(|c| c.edges)
                        .unwrap_or_default()
                        .into_iter()
                        .flatten()
                        .filter_map(|e| e.node)
                        .next()
                        .map(|b| new_build(Some(b.number), Some(render::state(&b.state)), Some(b.url), &slug))
                })
            } else {
                let path = format!("v2/organizations/{}/pipelines/{}/builds", p.org, p.pipeline);
                let query = [(format!("meta_data[{MARKER_KEY}]"), marker.clone())];
                let query: Vec<(&str, String)> = query.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
                call.rest_typed::<Vec<RestBuild>>(&path, &query, &wanted)
                    .await
                    .ok()
                    .map(|(builds, _)| builds.into_iter().next().map(|b| new_build(Some(b.number), Some(b.state), b.web_url, &slug)))
            };
            Ok(lost_answer(&error, found.as_ref().map(Option::is_some), found.flatten().unwrap_or_default()))
        }
    }
}

async fn rebuild(call: &Call<'_>, args: BuildActionArgs) -> Result<String, ToolError> {
    let Some(build) = args.build.as_deref() else {
        return Err(ToolError::args("rebuild needs build"));
    };
    let t = target(call, build, args.pipeline.as_deref()).await?;
    let request = match &t.rest {
        Some(id) => Request::rest(Method::PUT, id.path("/rebuild"), None),
        None => Request::graphql::<BuildRebuild>(build_rebuild::Variables { id: t.id.clone() })?,
    };
    let pipeline = t.pipeline();
    let mut before = Map::new();
    before.insert("rebuilt".into(), json!(t.name));
    let plan = Plan {
        target: t.name.clone(),
        question: format!("Rebuild {} ({}) as a new build?", t.short(), t.state),
        request,
        before,
    };
    match perform(call, &plan, args.dry_run.unwrap_or(false)).await? {
        Done::DryRun(text) => Ok(text),
        Done::Answered { body, .. } => {
            let after = if t.rest.is_some() {
                let b: RestBuild = serde_json::from_value(body).map_err(|e| decode_error(&e))?;
                new_build(Some(b.number), Some(b.state), b.web_url, &pipeline)
            } else {
                let r = decode::<build_rebuild::ResponseData>(body)?.build_rebuild.map(|p| p.rebuild);
                let r = r.ok_or_else(|| ToolError::Refused("Buildkite answered the rebuild without a build".into()))?;
                new_build(Some(r.number), Some(render::state(&r.state)), Some(r.url), &pipeline)
            };
            Ok(changed("rebuilt", &plan, after))
        }
        Done::Lost { error, .. } => {
            let wanted = Wanted::new(format!("pipeline {pipeline}"), BUILD_HINT);
            let found = match &t.rest {
                None => call.query::<FindRebuild>(find_rebuild::Variables { slug: pipeline.clone() }, &wanted).await.ok().map(|d| {
                    d.pipeline
                        .and_then(|p| p.builds)
                        .and_then(|c| c.edges)
                        .unwrap_or_default()
                        .into_iter()
                        .flatten()
                        .filter_map(|e| e.node)
                        .find(|b| b.rebuilt_from.as_ref().is_some_and(|f| f.uuid == t.uuid))
                        .map(|b| new_build(Some(b.number), Some(render::state(&b.state)), Some(b.url), &pipeline))
                }),
                Some(id) => {
                    let path = format!("v2/organizations/{}/pipelines/{}/builds", id.org, id.pipeline);
                    call.rest_typed::<Vec<Value>>(&path, &[("per_page", "20".to_string())], &wanted).await.ok().map(
                        |(builds, _)| {
                            builds
                                .into_iter()
                                .find(|b| b.pointer("/rebuilt_from/id").and_then(Value::as_str) == Some(t.uuid.as_str()))
                                .and_then(|b| serde_json::from_value::<RestBuild>(b).ok())
                                .map(|b| new_build(Some(b.number), Some(b.state), b.web_url, &pipeline))
                        },
                    )
                }
            };
            Ok(lost_answer(&error, found.as_ref().map(Option::is_some), found.flatten().unwrap_or_default()))
        }
    }
}
