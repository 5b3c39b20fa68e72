//! Pipelines: `list_pipelines` and `get_pipeline`.

use super::args::{clamp, lenient_bool, lenient_int, lenient_list};
use super::kit::{Rest, Call, Hints, Tool, ToolError, Toolset, Wanted, handler, nodes};
use super::resolve::{ORG_HINT, PIPELINE_HINT};
use super::rest::RestBuild;
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
        rest: Rest::Same,
        description: "List an organization's pipelines (search by name, filter by tags), each with its latest build.",
        handler: handler!(list_pipelines, ListPipelinesArgs),
    },
    Tool {
        name: "get_pipeline",
        toolset: Toolset::Pipelines,
        hints: Hints::READ,
        scopes: &["read_pipelines"],
        rest: Rest::Same,
        description: "One pipeline: repository, default branch, settings, metrics and recent builds; steps YAML when steps=true.",
        handler: handler!(get_pipeline, GetPipelineArgs),
    },
    Tool {
        name: "validate_pipeline",
        toolset: Toolset::Pipelines,
        hints: Hints::READ,
        scopes: &["read_pipelines"],
        rest: Rest::Same,
        description: "Check pipeline steps YAML against Buildkite's schema, depends_on keys and if conditions: each error with its path and line.",
        handler: handler!(validate_pipeline, ValidatePipelineArgs),
    },
];

/// Arguments of `validate_pipeline`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidatePipelineArgs {
    /// The steps YAML.
    yaml: String,
}

/// `validate_pipeline`: nothing is sent anywhere.
async fn validate_pipeline(_call: &Call<'_>, args: ValidatePipelineArgs) -> Result<String, ToolError> {
    let report = crate::steps::validate(&args.yaml);
    Ok(render::to_json(&Value::Object(report.to_json())))
}

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

/// A REST pipeline's row keys shared by both tools: name, description, repository, branch, tags.
fn rest_pipeline(p: &Value, out: &mut Map<String, Value>, desc_chars: usize) {
    let text = |k: &str| p.get(k).and_then(Value::as_str);
    let slug = text("slug").unwrap_or("");
    if let Some(name) = text("name").filter(|n| !rows::same_name(n, slug)) {
        out.insert("name".into(), json!(render::clean_text(name, 80)));
    }
    if let Some(d) = text("description").filter(|d| !d.is_empty()) {
        out.insert("desc".into(), json!(render::first_line(d, desc_chars)));
    }
    out.insert("repo".into(), json!(text("repository")));
    out.insert("branch".into(), json!(text("default_branch").map(rows::branch)));
    let tags = p.get("tags").and_then(Value::as_array).map(|t| t.iter().filter_map(Value::as_str).map(str::to_string).collect::<Vec<_>>());
    out.insert("tags".into(), json!(rows::tags(tags.unwrap_or_default().into_iter())));
    if p.get("archived_at").is_some_and(|a| !a.is_null()) {
        out.insert("archived".into(), json!(true));
    }
}

/// `list_pipelines` without GraphQL access: one page of `GET …/pipelines` (by number; `name`
/// filters; REST has no tag or archived filter and no latest build per pipeline).
async fn list_pipelines_rest(call: &Call<'_>, org: String, args: ListPipelinesArgs) -> Result<String, ToolError> {
    if args.tags.as_ref().is_some_and(|t| !t.is_empty()) || args.archived == Some(true) {
        return Err(ToolError::args(
            "without GraphQL access pipelines can be filtered by name only (tags and archived need GraphQL)",
        ));
    }
    let page = super::args::page_number(args.after.as_deref())?;
    let mut query = vec![("per_page", clamp(args.first, 25, 1, 100).to_string()), ("page", page.to_string())];
    if let Some(search) = args.search.filter(|s| !s.trim().is_empty()) {
        query.push(("name", search));
    }
    let wanted = Wanted::new(format!("organization `{org}`"), ORG_HINT);
    let answer = call.rest(&format!("v2/organizations/{org}/pipelines"), &query, &wanted).await?;
    let mut rows = Page { next_after: answer.next_page.map(|n| n.to_string()), ..Page::default() };
    for p in answer.body.as_array().into_iter().flatten() {
        let mut row = Map::new();
        row.insert("slug".into(), json!(p.get("slug")));
        rest_pipeline(p, &mut row, 80);
        rows.rows.push(Value::Object(row));
        rows.cursors.push(None);
    }
    let mut head = Map::new();
    head.insert("org".into(), json!(org));
    Ok(render::render_page(head, "pipelines", rows, call.budget(3_000)))
}

/// `get_pipeline` without GraphQL access: the pipeline and its recent builds (two REST requests;
/// REST has no dashboard metrics and no next build number).
async fn get_pipeline_rest(call: &Call<'_>, args: GetPipelineArgs) -> Result<String, ToolError> {
    let pipeline = call.pipeline(&args.pipeline).await?;
    let with_steps = args.steps.unwrap_or(false);
    let recent = clamp(args.recent_builds, 5, 0, 20);
    let path = format!("v2/organizations/{}/pipelines/{}", pipeline.org, pipeline.pipeline);
    let wanted = Wanted::new(format!("pipeline `{}`", pipeline.slug()), PIPELINE_HINT);
    let builds_path = format!("{path}/builds");
    let builds_query = [("per_page", recent.max(1).to_string()), ("exclude_jobs", "true".to_string())];
    let (p, builds) = tokio::join!(call.rest(&path, &[], &wanted), async {
        if recent == 0 { Ok(None) } else { call.rest(&builds_path, &builds_query, &wanted).await.map(Some) }
    });
    let p = p?.body;
    let text = |k: &str| p.get(k).and_then(Value::as_str);
    let mut out = Map::new();
    out.insert("pipeline".into(), json!(pipeline.slug()));
    out.insert("url".into(), json!(text("web_url")));
    let mut described = Map::new();
    rest_pipeline(&p, &mut described, 300);
    let tags = described.remove("tags");
    let archived = described.remove("archived");
    out.extend(described);
    out.insert("visibility".into(), json!(text("visibility").map(str::to_ascii_lowercase)));
    if let Some(a) = archived {
        out.insert("archived".into(), a);
    }
    out.insert("tags".into(), tags.unwrap_or(Value::Null));
    let mut settings = Map::new();
    settings.insert("branch_filter".into(), json!(text("branch_configuration").map(|b| render::clean_text(b, 200))));
    if p.get("skip_queued_branch_builds").and_then(Value::as_bool) == Some(true) {
        let filter = text("skip_queued_branch_builds_filter").filter(|f| !f.is_empty()).unwrap_or("all");
        settings.insert("skip_queued".into(), json!(filter));
    }
    if p.get("cancel_running_branch_builds").and_then(Value::as_bool) == Some(true) {
        let filter = text("cancel_running_branch_builds_filter").filter(|f| !f.is_empty()).unwrap_or("all");
        settings.insert("cancel_running".into(), json!(filter));
    }
    settings.insert("timeout_min".into(), json!(p.get("default_timeout_in_minutes")));
    settings.insert("max_timeout_min".into(), json!(p.get("maximum_timeout_in_minutes")));
    if p.get("allow_rebuilds").and_then(Value::as_bool) == Some(false) {
        settings.insert("rebuilds".into(), json!(false));
    }
    out.insert("settings".into(), Value::Object(settings));
    let recent_builds: Vec<Value> = match builds? {
        Some(page) => page
            .body
            .as_array()
            .into_iter()
            .flatten()
            .take(recent as usize)
            .filter_map(|b| serde_json::from_value::<RestBuild>(b.clone()).ok())
            .map(|b| {
                let mut row = BuildRow::from_rest(&b, false);
                (row.by, row.src) = (None, None);
                row.value()
            })
            .collect(),
        None => Vec::new(),
    };
    out.insert("builds".into(), json!(recent_builds));
    if with_steps {
        out.insert("steps".into(), json!(render::clean_text(text("configuration").unwrap_or(""), 20_000)));
    }
    let default = if with_steps { 8_000 } else { 3_000 };
    Ok(render::render_object(Value::Object(out), call.budget(default)))
}

async fn list_pipelines(call: &Call<'_>, args: ListPipelinesArgs) -> Result<String, ToolError> {
    let org = call.org().await?;
    if !call.graphql().await {
        return list_pipelines_rest(call, org, args).await;
    }
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
    if !call.graphql().await {
        return get_pipeline_rest(call, args).await;
    }
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
