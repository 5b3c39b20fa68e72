//! `list_step_uploads`: the pipeline definitions a build uploaded with `buildkite-agent pipeline
//! upload`, summarised as the steps they added; one upload's YAML only on request, capped.

use super::args::{budget, lenient_bool, lenient_int};
use super::builds::{BUILD_HINT, BuildLookup, lookup_build};
use super::schema::input_schema;
use super::{Ctx, ToolError, ToolSpec, Toolset};
use crate::buildkite::ApiError;
use crate::buildkite::ops::{GetStepUploads, get_step_uploads};
use crate::render;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

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
    /// Organization slug.
    #[schemars(skip)]
    #[serde(default)]
    org: Option<String>,
    /// Output budget in tokens (default 3000).
    #[schemars(skip)]
    #[serde(default, deserialize_with = "lenient_int")]
    max_tokens: Option<i64>,
}

pub(super) fn specs() -> Vec<ToolSpec> {
    vec![ToolSpec {
        name: "list_step_uploads",
        toolset: Toolset::Builds,
        read_only: true,
        scopes: &["read_builds"],
        description: "The pipeline definitions a build uploaded (pipeline upload): which job, when, the steps added; one upload's YAML on request.",
        schema: input_schema::<ListStepUploadsArgs>,
    }]
}

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

pub(super) async fn list_step_uploads(ctx: &Ctx, args: ListStepUploadsArgs) -> Result<String, ToolError> {
    let BuildLookup { slug, uuid: _, what } =
        lookup_build(ctx, &args.build, args.pipeline.as_deref(), args.org.as_deref()).await?;
    let slug = slug.ok_or_else(|| ToolError::Args {
        tool: "list_step_uploads",
        detail: "pass the build URL or org/pipeline/number (a build UUID is not enough here)".into(),
    })?;
    let variables = get_step_uploads::Variables { slug: slug.clone(), jobs: 100 };
    let data = ctx.api.execute::<GetStepUploads>(variables).await.map_err(|e| e.or_not_found(&what, BUILD_HINT))?;
    let build = data.build.ok_or_else(|| ApiError::NotFound { what: what.clone(), hint: BUILD_HINT.into() })?;
    let wanted = super::context::non_blank(args.upload.as_deref()).map(str::to_ascii_lowercase);
    // The YAML takes most of the budget (about 3 characters a token): 6,000 characters by default.
    let yaml_chars = (budget(args.max_tokens, 3_000) * 2).clamp(YAML_MIN, YAML_MAX);
    let mut uploads = Vec::new();
    let jobs = build.jobs.as_ref().map(|j| j.count).unwrap_or(0);
    use get_step_uploads::GetStepUploadsBuildJobsEdgesNode as Job;
    use get_step_uploads::GetStepUploadsBuildJobsEdgesNodeOnJobTypeCommandEventsEdgesNode as Event;
    for job in build.jobs.and_then(|j| j.edges).unwrap_or_default().into_iter().flatten().filter_map(|e| e.node) {
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
                let yaml = render::clean_text(&upload.definition.yaml, yaml_chars);
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
        return Err(ApiError::NotFound {
            what: format!("step upload {w} in {what}"),
            hint: "list_step_uploads without `upload` lists the build's uploads".into(),
        }
        .into());
    }
    let mut out = Map::new();
    out.insert("build".into(), json!(slug));
    out.insert("url".into(), json!(build.url));
    if uploads.is_empty() && jobs <= 100 {
        out.insert("note".into(), json!("no step uploads: the pipeline's steps are all defined in its settings"));
    }
    if jobs > 100 {
        // Uploads happen early, so the oldest jobs are the ones searched.
        out.insert("searched".into(), json!(format!("the 100 oldest of {jobs} command jobs")));
    }
    if wanted.is_none() && !uploads.is_empty() {
        out.insert("more".into(), json!("pass upload=<id> and yaml=true for one upload's YAML"));
    }
    out.insert("uploads".into(), Value::Array(uploads));
    Ok(render::render_object(Value::Object(out), budget(args.max_tokens, 3_000)))
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
