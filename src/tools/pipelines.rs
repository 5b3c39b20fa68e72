//! `list_pipelines` and `get_pipeline`.

use super::args::{budget, clamp, lenient_bool, lenient_int, lenient_list};
use super::schema::input_schema;
use super::{Ctx, ToolError, ToolSpec, Toolset};
use crate::buildkite::ApiError;
use crate::buildkite::ids;
use crate::buildkite::ops::{GetPipeline, ListPipelines, get_pipeline, list_pipelines};
use crate::render::{self, Page};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// Arguments of `list_pipelines`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListPipelinesArgs {
    /// Organization slug (default: the configured one).
    #[schemars(skip)]
    #[serde(default)]
    org: Option<String>,
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
    /// Output budget in tokens (default 3000).
    #[schemars(skip)]
    #[serde(default, deserialize_with = "lenient_int")]
    max_tokens: Option<i64>,
}

/// Arguments of `get_pipeline`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetPipelineArgs {
    // Pipeline URL, org/pipeline or slug. (documented once, in the server instructions)
    pipeline: String,
    /// Organization slug, when pipeline is a bare slug.
    #[schemars(skip)]
    #[serde(default)]
    org: Option<String>,
    /// Recent builds to show, 0-20 (default 5).
    #[serde(default, deserialize_with = "lenient_int")]
    recent_builds: Option<i64>,
    /// Include the steps YAML.
    #[serde(default, deserialize_with = "lenient_bool")]
    steps: Option<bool>,
    /// Output budget in tokens (default 3000, 8000 with steps).
    #[schemars(skip)]
    #[serde(default, deserialize_with = "lenient_int")]
    max_tokens: Option<i64>,
}

pub(super) fn specs() -> Vec<ToolSpec> {
    vec![
        ToolSpec {
            name: "list_pipelines",
            toolset: Toolset::Pipelines,
            read_only: true,
            scopes: &["read_pipelines"],
            description: "List an organization's pipelines (search by name, filter by tags), each with its latest build.",
            schema: input_schema::<ListPipelinesArgs>,
        },
        ToolSpec {
            name: "get_pipeline",
            toolset: Toolset::Pipelines,
            read_only: true,
            scopes: &["read_pipelines"],
            description: "One pipeline: repository, default branch, settings, metrics and recent builds; steps YAML when steps=true.",
            schema: input_schema::<GetPipelineArgs>,
        },
    ]
}

pub(super) async fn list_pipelines(ctx: &Ctx, args: ListPipelinesArgs) -> Result<String, ToolError> {
    let org = ctx.org.resolve(&ctx.api, args.org.as_deref()).await?;
    let variables = list_pipelines::Variables {
        org: org.clone(),
        first: clamp(args.first, 25, 1, 100),
        after: args.after.filter(|a| !a.is_empty()),
        search: args.search.filter(|s| !s.trim().is_empty()),
        tags: args.tags,
        archived: Some(args.archived.unwrap_or(false)),
    };
    let data = ctx.api.execute::<ListPipelines>(variables).await.map_err(|e| not_found_org(e, &org))?;
    let organization = data
        .organization
        .ok_or_else(|| not_found_org(ApiError::NotFound { what: String::new(), hint: String::new() }, &org))?;
    let Some(pipelines) = organization.pipelines else {
        return Ok(render::to_json(&json!({"org": org, "total": 0})));
    };
    let next = pipelines.page_info.filter(|i| i.has_next_page).and_then(|i| i.end_cursor);
    let mut page = Page::new(pipelines.count, next);
    for edge in pipelines.edges.unwrap_or_default().into_iter().flatten() {
        let Some(p) = edge.node else { continue };
        let last = p.builds.and_then(|b| b.edges).and_then(|e| e.into_iter().flatten().next()).and_then(|e| e.node);
        let mut row = Map::new();
        row.insert("slug".into(), json!(p.slug));
        if !same_name(&p.name, &p.slug) {
            row.insert("name".into(), json!(render::clean_text(&p.name, 80)));
        }
        if let Some(d) = p.description.as_deref() {
            row.insert("desc".into(), json!(render::first_line(d, 80)));
        }
        row.insert("repo".into(), json!(p.repository.map(|r| r.url)));
        row.insert("branch".into(), json!(p.default_branch.as_deref().map(|b| render::clean_text(b, 100))));
        row.insert("tags".into(), json!(tags(p.tags.into_iter().map(|t| t.label))));
        if p.archived {
            row.insert("archived".into(), json!(true));
        }
        if let Some(b) = last {
            row.insert(
                "last".into(),
                json!({"n": b.number, "state": render::state(&b.state), "branch": render::clean_text(&b.branch, 100), "at": b.created_at.as_deref().map(render::timestamp)}),
            );
        }
        page.rows.push(Value::Object(row));
        page.cursors.push(edge.cursor.into());
    }
    let mut head = Map::new();
    head.insert("org".into(), json!(org));
    Ok(render::render_page(head, "pipelines", page, budget(args.max_tokens, 3_000)))
}

fn not_found_org(e: ApiError, org: &str) -> ToolError {
    e.or_not_found(
        format!("organization `{org}`"),
        "check the slug with current_user, which lists the token's organizations",
    )
    .into()
}

/// Whether a display name adds nothing over the slug (`Web App` vs `web-app`).
fn same_name(name: &str, slug: &str) -> bool {
    let norm = |s: &str| s.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_lowercase();
    norm(name) == norm(slug)
}

pub(super) async fn get_pipeline(ctx: &Ctx, args: GetPipelineArgs) -> Result<String, ToolError> {
    let pipeline =
        ctx.org.with_org(&ctx.api, args.org.as_deref(), |org| ids::parse_pipeline(&args.pipeline, org)).await?;
    let with_steps = args.steps.unwrap_or(false);
    let variables = get_pipeline::Variables {
        slug: pipeline.slug(),
        recent_builds: clamp(args.recent_builds, 5, 0, 20),
        with_steps,
    };
    let what = format!("pipeline `{}`", pipeline.slug());
    let hint = "check the slug with list_pipelines";
    let data = ctx.api.execute::<GetPipeline>(variables).await.map_err(|e| e.or_not_found(&what, hint))?;
    let p = data.pipeline.ok_or_else(|| ApiError::NotFound { what: what.clone(), hint: hint.into() })?;
    let mut out = Map::new();
    out.insert("pipeline".into(), json!(pipeline.slug()));
    if !same_name(&p.name, &p.slug) {
        out.insert("name".into(), json!(render::clean_text(&p.name, 100)));
    }
    out.insert("url".into(), json!(p.url));
    if let Some(d) = p.description.as_deref() {
        out.insert("desc".into(), json!(render::clean_text(d, 300)));
    }
    out.insert("repo".into(), json!(p.repository.map(|r| r.url)));
    out.insert("branch".into(), json!(p.default_branch.as_deref().map(|b| render::clean_text(b, 100))));
    out.insert("visibility".into(), json!(render::state(&p.visibility)));
    if p.archived {
        out.insert("archived".into(), json!(true));
    }
    if let Some(c) = p.cluster {
        out.insert("cluster".into(), json!({"name": c.name, "uuid": c.uuid}));
    }
    out.insert("tags".into(), json!(tags(p.tags.into_iter().map(|t| t.label))));
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
    let metrics: Map<String, Value> = p
        .metrics
        .and_then(|m| m.edges)
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .filter_map(|e| e.node)
        .map(|m| (m.label.to_ascii_lowercase(), json!(m.value)))
        .collect();
    out.insert("metrics".into(), Value::Object(metrics));
    let builds: Vec<Value> = p
        .builds
        .and_then(|b| b.edges)
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .filter_map(|e| e.node)
        .map(|b| {
            json!({
                "n": b.number,
                "state": render::state(&b.state),
                "branch": render::clean_text(&b.branch, 100),
                "commit": short_sha(&b.commit),
                "msg": b.message.as_deref().map(|m| render::first_line(m, 80)),
                "at": b.created_at.as_deref().map(render::timestamp),
                "dur": render::seconds_between(b.started_at.as_deref(), b.finished_at.as_deref()),
            })
        })
        .collect();
    out.insert("builds".into(), json!(builds));
    if with_steps {
        let yaml = p.steps.and_then(|s| s.yaml).unwrap_or_default();
        out.insert("steps".into(), json!(render::clean_text(&yaml, 20_000)));
    }
    let default = if with_steps { 8_000 } else { 3_000 };
    Ok(render::render_object(Value::Object(out), budget(args.max_tokens, default)))
}

/// Tag labels, cleaned.
fn tags(labels: impl Iterator<Item = String>) -> Vec<String> {
    labels.map(|l| render::clean_text(&l, 50)).collect()
}

/// The first 12 characters of a commit SHA (enough to be unique in practice).
pub(super) fn short_sha(sha: &str) -> String {
    sha.chars().take(12).collect()
}
