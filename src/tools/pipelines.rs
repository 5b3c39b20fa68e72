//! Pipelines: `list_pipelines` and `get_pipeline`.

use super::args::{clamp, lenient_bool, lenient_int, lenient_list};
use super::kit::{Rest, Call, Hints, Tool, ToolError, Toolset, Wanted, handler, nodes};
use super::resolve::{ORG_HINT, PIPELINE_HINT};
use super::rows::{self, BuildRow};
use crate::buildkite::ops::{GetPipeline, ListPipelines, get_pipeline, list_pipelines};
use crate::render::{self, Page};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// The tools of this area.
pub(super) const TOOLS: &[Tool] = &[
    Tool {
        name: "list_pipelines",
        toolset: Toolset::Pipelines,
        hints: Hints::READ,
        scopes: &["read_pipelines"],
        rest: Rest::No,
        description: "List an organization's pipelines (search by name, filter by tags), each with its latest build.",
        handler: handler!(list_pipelines, ListPipelinesArgs),
    },
    Tool {
        name: "get_pipeline",
        toolset: Toolset::Pipelines,
        hints: Hints::READ,
        scopes: &["read_pipelines"],
        rest: Rest::No,
        description: "One pipeline: repository, default branch, settings, metrics and recent builds; steps YAML when steps=true.",
        handler: handler!(get_pipeline, GetPipelineArgs),
    },
];

/// Arguments of `list_pipelines`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListPipelinesArgs {
    /// Match pipeline names.
    #[serde(default)]
    search: Option<String>,
    /// Only pipelines with all these tags (comma separated).
    #[serde(default, deserialize_with = "lenient_list")]
    #[schemars(with = "Option<String>")]
    tags: Option<Vec<String>>,
    /// Archived pipelines instead of active ones.
    #[serde(default, deserialize_with = "lenient_bool")]
    archived: Option<bool>,
    // Page size 1-100, default 25 (documented once, in the server instructions).
    #[serde(default, deserialize_with = "lenient_int")]
    first: Option<i64>,
    // next.after from the previous page. (documented once, in the server instructions)
    #[serde(default)]
    after: Option<String>,
}

/// Arguments of `get_pipeline`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetPipelineArgs {
    // Pipeline URL, org/pipeline or slug. (documented once, in the server instructions)
    pipeline: String,
    /// Recent builds to show, 0-20 (default 5).
    #[serde(default, deserialize_with = "lenient_int")]
    recent_builds: Option<i64>,
    /// Include the steps YAML.
    #[serde(default, deserialize_with = "lenient_bool")]
    steps: Option<bool>,
}

async fn list_pipelines(call: &Call<'_>, args: ListPipelinesArgs) -> Result<String, ToolError> {
    let org = call.org().await?;
    let variables = list_pipelines::Variables {
        org: org.clone(),
        first: clamp(args.first, 25, 1, 100),
        after: args.after.filter(|a| !a.is_empty()),
        search: args.search.filter(|s| !s.trim().is_empty()),
        tags: args.tags,
        archived: Some(args.archived.unwrap_or(false)),
    };
    let wanted = Wanted::new(format!("organization `{org}`"), ORG_HINT);
    let organization = wanted.found(call.query::<ListPipelines>(variables, &wanted).await?.organization)?;
    let Some(pipelines) = organization.pipelines else {
        return Ok(render::to_json(&json!({"org": org, "total": 0})));
    };
    let next = pipelines.page_info.filter(|i| i.has_next_page).and_then(|i| i.end_cursor);
    let mut page = Page::new(pipelines.count, next);
    for edge in pipelines.edges.unwrap_or_default().into_iter().flatten() {
        let Some(p) = edge.node else { continue };
        let last = nodes!(p.builds).next();
        let mut row = Map::new();
        row.insert("slug".into(), json!(p.slug));
        if !rows::same_name(&p.name, &p.slug) {
            row.insert("name".into(), json!(render::clean_text(&p.name, 80)));
        }
        if let Some(d) = p.description.as_deref() {
            row.insert("desc".into(), json!(render::first_line(d, 80)));
        }
        row.insert("repo".into(), json!(p.repository.map(|r| r.url)));
        row.insert("branch".into(), json!(p.default_branch.as_deref().map(rows::branch)));
        row.insert("tags".into(), json!(rows::tags(p.tags.into_iter().map(|t| t.label))));
        if p.archived {
            row.insert("archived".into(), json!(true));
        }
        if let Some(b) = last {
            let at = b.created_at.as_deref();
            row.insert("last".into(), BuildRow::new(b.number, render::state(&b.state)).branch(&b.branch).times(at, None, None).value());
        }
        page.rows.push(Value::Object(row));
        page.cursors.push(edge.cursor.into());
    }
    let mut head = Map::new();
    head.insert("org".into(), json!(org));
    Ok(render::render_page(head, "pipelines", page, call.budget(3_000)))
}

async fn get_pipeline(call: &Call<'_>, args: GetPipelineArgs) -> Result<String, ToolError> {
    let pipeline = call.pipeline(&args.pipeline).await?;
    let with_steps = args.steps.unwrap_or(false);
    let variables = get_pipeline::Variables {
        slug: pipeline.slug(),
        recent_builds: clamp(args.recent_builds, 5, 0, 20),
        with_steps,
    };
    let wanted = Wanted::new(format!("pipeline `{}`", pipeline.slug()), PIPELINE_HINT);
    let p = wanted.found(call.query::<GetPipeline>(variables, &wanted).await?.pipeline)?;
    let mut out = Map::new();
    out.insert("pipeline".into(), json!(pipeline.slug()));
    if !rows::same_name(&p.name, &p.slug) {
        out.insert("name".into(), json!(render::clean_text(&p.name, 100)));
    }
    out.insert("url".into(), json!(p.url));
    if let Some(d) = p.description.as_deref() {
        out.insert("desc".into(), json!(render::clean_text(d, 300)));
    }
    out.insert("repo".into(), json!(p.repository.map(|r| r.url)));
    out.insert("branch".into(), json!(p.default_branch.as_deref().map(rows::branch)));
    out.insert("visibility".into(), json!(render::state(&p.visibility)));
    if p.archived {
        out.insert("archived".into(), json!(true));
    }
    if let Some(c) = p.cluster {
        out.insert("cluster".into(), json!({"name": c.name, "uuid": c.uuid}));
    }
    out.insert("tags".into(), json!(rows::tags(p.tags.into_iter().map(|t| t.label))));
    let mut settings = Map::new();
    settings
        .insert("branch_filter".into(), json!(p.branch_configuration.as_deref().map(|b| render::clean_text(b, 200))));
    if p.skip_intermediate_builds {
        settings.insert(
            "skip_queued".into(),
            json!(p.skip_intermediate_builds_branch_filter.unwrap_or_else(|| "all".into())),
        );
    }
    if p.cancel_intermediate_builds {
        settings.insert(
            "cancel_running".into(),
            json!(p.cancel_intermediate_builds_branch_filter.unwrap_or_else(|| "all".into())),
        );
    }
    settings.insert("timeout_min".into(), json!(p.default_timeout_in_minutes));
    settings.insert("max_timeout_min".into(), json!(p.maximum_timeout_in_minutes));
    if p.allow_rebuilds == Some(false) {
        settings.insert("rebuilds".into(), json!(false));
    }
    out.insert("settings".into(), Value::Object(settings));
    out.insert("next_build".into(), json!(p.next_build_number));
    let metrics: Map<String, Value> =
        nodes!(p.metrics).map(|m| (m.label.to_ascii_lowercase(), json!(m.value))).collect();
    out.insert("metrics".into(), Value::Object(metrics));
    let builds: Vec<Value> = nodes!(p.builds)
        .map(|b| {
            BuildRow::new(b.number, render::state(&b.state))
                .branch(&b.branch)
                .commit(&b.commit)
                .msg(b.message.as_deref())
                .times(b.created_at.as_deref(), b.started_at.as_deref(), b.finished_at.as_deref())
                .value()
        })
        .collect();
    out.insert("builds".into(), json!(builds));
    if with_steps {
        let yaml = p.steps.and_then(|s| s.yaml).unwrap_or_default();
        out.insert("steps".into(), json!(render::clean_text(&yaml, 20_000)));
    }
    let default = if with_steps { 8_000 } else { 3_000 };
    Ok(render::render_object(Value::Object(out), call.budget(default)))
}
