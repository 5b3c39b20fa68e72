//! `list_schedules`: pipeline schedules, of one pipeline or across the organization, and one
//! schedule in full.

use super::args::{budget, lenient_int};
use super::context::non_blank;
use super::schema::input_schema;
use super::{Ctx, ToolError, ToolSpec, Toolset};
use crate::buildkite::ApiError;
use crate::buildkite::ids;
use crate::buildkite::ops::{GetSchedule, ListSchedules, get_schedule, list_schedules};
use crate::render;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// Arguments of `list_schedules`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListSchedulesArgs {
    /// Omit for every pipeline's schedules.
    #[serde(default)]
    pipeline: Option<String>,
    /// One schedule's UUID (with pipeline): its env, creator and recent builds.
    #[serde(default)]
    schedule: Option<String>,
    // next.after (documented once, in the server instructions).
    #[serde(default)]
    after: Option<String>,
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
        name: "list_schedules",
        toolset: Toolset::Pipelines,
        read_only: true,
        scopes: &["read_pipelines"],
        description: "Pipeline schedules (one pipeline's or all): cron, branch, enabled, next run, last build, failure; one in full with schedule.",
        schema: input_schema::<ListSchedulesArgs>,
    }]
}

/// One schedule as a row.
fn row(s: list_schedules::ScheduleRow, pipeline: Option<&str>) -> Value {
    let last = s.builds.and_then(|b| b.edges).unwrap_or_default().into_iter().flatten().filter_map(|e| e.node).next();
    json!({
        "pipeline": pipeline,
        "id": s.uuid,
        "label": render::clean_text(&s.label, 80),
        "cron": render::clean_text(&s.cronline, 60),
        "branch": s.branch.as_deref().map(|b| render::clean_text(b, 80)),
        "enabled": (s.enabled == Some(false)).then_some(false),
        "next": s.next_build_at.as_deref().filter(|_| s.enabled != Some(false)).map(render::timestamp),
        "last": last.map(|b| format!("#{} {}", b.number, render::state(&b.state))),
        "failed": s.failed_message.as_deref().map(|m| render::clean_text(m, 300)),
        "failed_at": s.failed_at.as_deref().map(render::timestamp),
    })
}

pub(super) async fn list_schedules(ctx: &Ctx, args: ListSchedulesArgs) -> Result<String, ToolError> {
    let tool = "list_schedules";
    let budget = budget(args.max_tokens, 3_000);
    let pipeline = match non_blank(args.pipeline.as_deref()) {
        Some(p) => Some(ctx.org.with_org(&ctx.api, args.org.as_deref(), |org| ids::parse_pipeline(p, org)).await?),
        None => None,
    };
    if let Some(schedule) = non_blank(args.schedule.as_deref()) {
        let pipeline = pipeline.ok_or_else(|| ToolError::Args {
            tool,
            detail: "a schedule is named within its pipeline: pass `pipeline` too".into(),
        })?;
        let slug = format!("{}/{}", pipeline.slug(), schedule.to_ascii_lowercase());
        let what = format!("schedule {schedule} of `{}`", pipeline.slug());
        let hint = "list_schedules with the pipeline lists its schedules";
        let data = ctx
            .api
            .execute::<GetSchedule>(get_schedule::Variables { slug })
            .await
            .map_err(|e| e.or_not_found(&what, hint))?;
        let s = data.pipeline_schedule.ok_or_else(|| ApiError::NotFound { what, hint: hint.into() })?;
        let builds: Vec<Value> = s
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
                    "at": b.created_at.as_deref().map(render::timestamp),
                    "dur": render::seconds_between(b.started_at.as_deref(), b.finished_at.as_deref()),
                })
            })
            .collect();
        let env: Vec<String> = s
            .env
            .unwrap_or_default()
            .iter()
            .map(|e| match e.split_once('=') {
                Some((k, _)) if super::jobs::is_secret_name(k) => format!("{k}=[redacted]"),
                _ => render::clean_text(&super::jobs::redact_value(e), 200),
            })
            .collect();
        let out = json!({
            "pipeline": pipeline.slug(),
            "id": s.uuid,
            "label": render::clean_text(&s.label, 80),
            "cron": render::clean_text(&s.cronline, 60),
            "branch": s.branch,
            "commit": s.commit,
            "message": s.message.as_deref().map(|m| render::clean_text(m, 300)),
            "env": env,
            "enabled": s.enabled,
            "next": s.next_build_at.as_deref().filter(|_| s.enabled != Some(false)).map(render::timestamp),
            "failed": s.failed_message.as_deref().map(|m| render::clean_text(m, 300)),
            "failed_at": s.failed_at.as_deref().map(render::timestamp),
            "created": s.created_at.as_deref().map(render::timestamp),
            "by": s.created_by.map(|u| render::clean_text(&u.name, 60)),
            "builds": builds,
        });
        return Ok(render::render_object(out, budget));
    }
    let org = match &pipeline {
        Some(p) => p.org.clone(),
        None => ctx.org.resolve(&ctx.api, args.org.as_deref()).await?,
    };
    let variables = list_schedules::Variables {
        pipeline: pipeline.as_ref().map(|p| p.slug()).unwrap_or_default(),
        org: org.clone(),
        one_pipeline: pipeline.is_some(),
        pipelines: 50,
        after: non_blank(args.after.as_deref()).map(str::to_string),
    };
    let what = match &pipeline {
        Some(p) => format!("pipeline `{}`", p.slug()),
        None => format!("organization `{org}`"),
    };
    let hint = "check the slug with list_pipelines";
    let data = ctx.api.execute::<ListSchedules>(variables).await.map_err(|e| e.or_not_found(&what, hint))?;
    let mut out = Map::new();
    let mut rows = Vec::new();
    if pipeline.is_some() {
        let p = data.pipeline.ok_or_else(|| ApiError::NotFound { what: what.clone(), hint: hint.into() })?;
        out.insert("pipeline".into(), json!(format!("{org}/{}", p.slug)));
        for s in p.schedules.and_then(|s| s.edges).unwrap_or_default().into_iter().flatten().filter_map(|e| e.node) {
            rows.push(row(s, None));
        }
    } else {
        let pipelines = data.organization.and_then(|o| o.pipelines).ok_or_else(|| ApiError::NotFound {
            what: what.clone(),
            hint: "check the slug with current_user".into(),
        })?;
        out.insert("org".into(), json!(org));
        out.insert(
            "pipelines_searched".into(),
            json!(format!("{} of {}", pipelines.edges.as_ref().map(Vec::len).unwrap_or(0), pipelines.count)),
        );
        for p in pipelines.edges.unwrap_or_default().into_iter().flatten().filter_map(|e| e.node) {
            for s in p.schedules.and_then(|s| s.edges).unwrap_or_default().into_iter().flatten().filter_map(|e| e.node)
            {
                rows.push(row(s, Some(&p.slug)));
            }
        }
        if let Some(next) = pipelines.page_info.filter(|i| i.has_next_page).and_then(|i| i.end_cursor) {
            out.insert("next".into(), json!({"after": next}));
        }
    }
    out.insert("count".into(), json!(rows.len()));
    if rows.is_empty() {
        out.insert("note".into(), json!("no schedules"));
    }
    out.insert("schedules".into(), Value::Array(rows));
    Ok(render::render_object(Value::Object(out), budget))
}
