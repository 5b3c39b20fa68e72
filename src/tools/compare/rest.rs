//! `compare_builds` without GraphQL access: each side is the REST build without its jobs plus its
//! job pages (100 a page, at most [`JOBS`] jobs: bounded whatever the build's size); the default
//! base is the newest passed build of the head's branch before it, from the REST build list
//! filtered by branch and state (one request).

use super::{Build, CANDIDATES, CompareBuildsArgs, JOBS, SideJob, compare};
use crate::render;
use crate::tools::context::non_blank;
use crate::tools::kit::{Call, ToolError, Wanted};
use crate::tools::resolve::PIPELINE_HINT;
use crate::tools::rest::{RestBuild, RestBuildId};
use crate::tools::rows::{BuildRow, rest_outcome};

/// Jobs per REST page.
const PAGE: i64 = 100;

/// One side: the build and up to [`JOBS`] of its jobs (command jobs kept).
async fn side(call: &Call<'_>, id: &RestBuildId) -> Result<Build, ToolError> {
    let (build, first) = tokio::join!(call.rest_build(id), call.rest_jobs(id, PAGE, None, &[]));
    let (build, mut page) = (build?, first?);
    let mut jobs = Vec::new();
    let mut read = 0;
    let more_jobs = loop {
        read += page.items.len() as i64;
        jobs.extend(page.items.iter().filter(|j| j.kind == "script").map(|j| SideJob {
            label: j.name.clone(),
            key: j.step_key.clone(),
            outcome: rest_outcome(&j.state, j.soft_failed),
            retried: j.retried,
            started_at: j.started_at.clone(),
            finished_at: j.finished_at.clone(),
        }));
        match page.next_after() {
            Some(after) if read < JOBS => page = call.rest_jobs(id, PAGE, Some(&after), &[]).await?,
            next => break next.is_some(),
        }
    };
    Ok(Build {
        number: build.number,
        state: BuildRow::from_rest(&build, false).state,
        branch: build.branch.clone().unwrap_or_default(),
        commit: build.commit.clone().unwrap_or_default(),
        started_at: build.started_at.clone(),
        finished_at: build.finished_at.clone(),
        repository: build.pipeline.as_ref().and_then(|p| p.repository.clone()).unwrap_or_default(),
        jobs,
        more_jobs,
    })
}

pub(super) async fn compare_builds(call: &Call<'_>, args: CompareBuildsArgs) -> Result<String, ToolError> {
    let head_id = call.rest_build_id(&args.build, args.pipeline.as_deref()).await?;
    let prefix = format!("{}/{}", head_id.org, head_id.pipeline);
    let budget = call.budget(3_000);
    if let Some(base_arg) = non_blank(args.base.as_deref()) {
        // A bare number means the same pipeline.
        let base_id = call.rest_build_id(base_arg, Some(&prefix)).await?;
        let (head, base) = tokio::join!(side(call, &head_id), side(call, &base_id));
        let (head, base) = (head?, base?);
        let base_prefix = format!("{}/{}", base_id.org, base_id.pipeline);
        let reason = if base_prefix == prefix { "given".to_string() } else { format!("given, pipeline {base_prefix}") };
        return Ok(render::render_object(compare(&head, &base, &prefix, &reason), budget));
    }
    let head = side(call, &head_id).await?;
    let query = [
        ("branch", head.branch.clone()),
        ("state", "passed".to_string()),
        ("per_page", CANDIDATES.to_string()),
        ("exclude_jobs", "true".to_string()),
        ("exclude_pipeline", "true".to_string()),
    ];
    let path = format!("v2/organizations/{}/pipelines/{}/builds", head_id.org, head_id.pipeline);
    let wanted = Wanted::new(format!("pipeline `{prefix}`"), PIPELINE_HINT);
    let (list, _) = call.rest_typed::<Vec<RestBuild>>(&path, &query, &wanted).await?;
    // The filters are the API's; checked again here.
    let base_number = list
        .iter()
        .find(|b| b.state == "passed" && b.branch.as_deref() == Some(head.branch.as_str()) && b.number < head.number)
        .map(|b| b.number);
    let Some(number) = base_number else {
        return Err(super::no_base(&head.branch, head.number));
    };
    let base_id = call.rest_build_id(&format!("{prefix}/{number}"), None).await?;
    let base = side(call, &base_id).await?;
    let reason = format!("last passed on {}", render::clean_text(&head.branch, 100));
    Ok(render::render_object(compare(&head, &base, &prefix, &reason), budget))
}
