//! `list_step_uploads`: the pipeline definitions a build uploaded with `buildkite-agent pipeline
//! upload`, summarised as the steps they added; one upload's YAML only on request, capped.

use super::args::{clamp, lenient_bool, lenient_int};
use super::kit::{Rest, Call, Hints, Tool, ToolError, Toolset, Wanted, handler, nodes};
use super::resolve::BuildLookup;
use crate::buildkite::ops::{GetStepUploads, get_step_uploads};
use crate::render;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// Oldest command jobs whose events are searched by default, and at most.
const JOBS_SEARCHED: i64 = 10;
const JOBS_MAX: i64 = 50;
/// Most steps named per upload in the listing.
const STEPS_NAMED: usize = 25;
/// Least and largest YAML shown, in characters.
const YAML_MIN: usize = 2_000;
const YAML_MAX: usize = 40_000;

/// Arguments of `list_step_uploads`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListStepUploadsArgs {
    // Build URL, org/pipeline/number, or a number with pipeline. (documented once, in the server instructions)
    build: String,
    // Pipeline, when build is a bare number. (documented once, in the server instructions)
    #[serde(default)]
    pipeline: Option<String>,
    /// One upload's id.
    #[serde(default)]
    upload: Option<String>,
    /// With upload: its YAML, capped.
    #[serde(default, deserialize_with = "lenient_bool")]
    yaml: Option<bool>,
    /// Oldest command jobs searched (default 10, max 50).
    #[serde(default, deserialize_with = "lenient_int")]
    jobs: Option<i64>,
}

/// The tools of this area.
pub(super) const TOOLS: &[Tool] = &[Tool {
    name: "list_step_uploads",
    toolset: Toolset::Builds,
    hints: Hints::READ,
    scopes: &["read_builds"],
    rest: Rest::No,
    description: "The pipeline definitions a build uploaded (pipeline upload): which job, when, the steps added; one upload's YAML on request.",
    handler: handler!(list_step_uploads, ListStepUploadsArgs),
}];

/// The steps of an uploaded definition (`{"steps": […]}` or a bare list), groups flattened:
/// each named by key, else label, else the first line of its command.
pub fn step_names(definition: &Value) -> Vec<String> {
    fn walk(steps: &[Value], out: &mut Vec<String>) {
        for step in steps {
            if let Some(inner) = step.get("steps").and_then(Value::as_array) {
                walk(inner, out);
                continue;
            }
            let name = match step {
                Value::String(s) => Some(s.clone()), // "wait"
                _ => ["key", "label", "name", "block", "input", "trigger", "command"]
                    .iter()
                    .find_map(|k| step.get(*k).and_then(Value::as_str).map(str::to_string))
                    .or_else(|| step.get("wait").map(|_| "wait".to_string())),
            };
            out.push(render::first_line(&name.unwrap_or_else(|| "step".into()), 60));
        }
    }
    let mut out = Vec::new();
    let steps = match definition {
        Value::Array(list) => Some(list.as_slice()),
        other => other.get("steps").and_then(Value::as_array).map(Vec::as_slice),
    };
    walk(steps.unwrap_or_default(), &mut out);
    out
}

async fn list_step_uploads(call: &Call<'_>, args: ListStepUploadsArgs) -> Result<String, ToolError> {
    let BuildLookup { slug, uuid: _, wanted: build_wanted } = call.build(&args.build, args.pipeline.as_deref()).await?;
    let slug = slug.ok_or_else(|| {
        ToolError::args("pass the build URL or org/pipeline/number (a build UUID is not enough here)")
    })?;
    let searched = clamp(args.jobs, JOBS_SEARCHED, 1, JOBS_MAX);
    let variables = get_step_uploads::Variables { slug: slug.clone(), jobs: searched };
    let build = build_wanted.found(call.query::<GetStepUploads>(variables, &build_wanted).await?.build)?;
    let wanted = crate::tools::context::non_blank(args.upload.as_deref()).map(str::to_ascii_lowercase);
    // The YAML takes most of the budget (about 3 characters a token): 6,000 characters by default.
    let yaml_chars = (call.budget(3_000) * 2).clamp(YAML_MIN, YAML_MAX);
    let mut uploads = Vec::new();
    let jobs = build.jobs.as_ref().map(|j| j.count).unwrap_or(0);
    use get_step_uploads::GetStepUploadsBuildJobsEdgesNode as Job;
    use get_step_uploads::GetStepUploadsBuildJobsEdgesNodeOnJobTypeCommandEventsEdgesNode as Event;
    for job in nodes!(build.jobs) {
        let Job::JobTypeCommand(job) = job else { continue };
        let label = job.label.as_deref().map(|l| render::clean_text(l, 80));
        for event in job.events.edges.unwrap_or_default().into_iter().flatten().map(|e| e.node) {
            let Event::JobEventBuildStepUploadCreated(e) = event else { continue };
            let upload = e.build_step_upload;
            if wanted.as_deref().is_some_and(|w| w != upload.uuid.to_ascii_lowercase()) {
                continue;
            }
            let definition: Value = serde_json::from_str(&upload.definition.json).unwrap_or(Value::Null);
            let names = step_names(&definition);
            let mut row = Map::new();
            row.insert("id".into(), json!(upload.uuid));
            row.insert("at".into(), json!(render::timestamp(&e.timestamp)));
            row.insert("job".into(), json!(job.uuid));
            row.insert("label".into(), json!(label));
            row.insert("steps".into(), json!(names.len()));
            let named: Vec<&String> = names.iter().take(STEPS_NAMED).collect();
            row.insert("names".into(), json!(named));
            if wanted.is_some() && args.yaml == Some(true) {
                let yaml = crate::redact::shown(&upload.definition.yaml, yaml_chars);
                row.insert("yaml".into(), json!(yaml));
            }
            uploads.push(Value::Object(row));
        }
    }
    // Events arrive newest job first; uploads read best in the order they happened.
    uploads.sort_by(|a, b| a["at"].as_str().cmp(&b["at"].as_str()));
    if let Some(w) = &wanted
        && uploads.is_empty()
    {
        let what = &build_wanted.what;
        return Err(Wanted::new(
            format!("step upload {w} in {what}"),
            "list_step_uploads without `upload` lists the build's uploads",
        )
        .not_found());
    }
    let mut out = Map::new();
    out.insert("build".into(), json!(slug));
    out.insert("url".into(), json!(build.url));
    if uploads.is_empty() && jobs <= searched {
        out.insert("note".into(), json!("no step uploads: the pipeline's steps are all defined in its settings"));
    }
    if jobs > searched {
        // Uploads happen early, so the oldest jobs are the ones searched.
        let more = if searched < JOBS_MAX { format!(" (jobs={JOBS_MAX} searches more)") } else { String::new() };
        out.insert("searched".into(), json!(format!("the {searched} oldest of {jobs} command jobs{more}")));
    }
    if wanted.is_none() && !uploads.is_empty() {
        out.insert("more".into(), json!("pass upload=<id> and yaml=true for one upload's YAML"));
    }
    out.insert("uploads".into(), Value::Array(uploads));
    Ok(render::render_object(Value::Object(out), call.budget(3_000)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_names_flatten_groups_and_prefer_keys() {
        let def = json!({"steps": [
            {"key": "lint", "label": ":eslint: Lint", "command": "yarn lint"},
            {"label": ":rspec: RSpec", "command": "bin/rspec"},
            "wait",
            {"group": "Deploy", "steps": [{"block": "Ship?"}, {"trigger": "deploy-prod"}]},
            {"command": "make test\nmake more"}
        ]});
        assert_eq!(step_names(&def), ["lint", ":rspec: RSpec", "wait", "Ship?", "deploy-prod", "make test…"]);
        assert_eq!(step_names(&json!([{"wait": null}])), ["wait"]);
        assert!(step_names(&Value::Null).is_empty());
    }
}
