//! `list_schedules`: pipeline schedules, of one pipeline or across the organization, and one
//! schedule in full.

use super::context::non_blank;
use super::kit::{Rest, Call, Hints, Tool, ToolError, Toolset, Wanted, handler, nodes};
use super::resolve::{ORG_HINT, PIPELINE_HINT};
use super::rest::RestSchedule;
use super::rows::{self, BuildRow};
use crate::buildkite::ops::{GetSchedule, ListSchedules, get_schedule, list_schedules};
use crate::redact;
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
}

/// The tools of this area.
pub(super) const TOOLS: &[Tool] = &[Tool {
    name: "list_schedules",
    toolset: Toolset::Pipelines,
    hints: Hints::READ,
    scopes: &["read_pipelines"],
    rest: Rest::Same,
    description: "Pipeline schedules (one pipeline's or all): cron, branch, enabled, next run, last build, failure; one in full with schedule.",
    handler: handler!(list_schedules, ListSchedulesArgs),
}];

/// Schedules of one pipeline listed (with their last builds).
const PIPELINE_SCHEDULES: i64 = 80;
/// Pipelines per page across the organization, and schedules shown per pipeline there.
const ORG_PIPELINES: i64 = 30;
const ORG_SCHEDULES: i64 = 5;

/// One schedule as a row, with its last build when the page fetched it (one pipeline's page; an
/// organization-wide page leaves it out: it would cost 3 complexity points a schedule).
fn row(s: &list_schedules::ScheduleBrief, pipeline: Option<&str>, last: Option<String>) -> Value {
    rows::schedule(
        pipeline,
        &s.uuid,
        &s.label,
        &s.cronline,
        s.branch.as_deref(),
        s.enabled,
        s.next_build_at.as_deref(),
        last,
        (s.failed_message.as_deref(), s.failed_at.as_deref()),
    )
}

/// An environment entry as shown: the value redacted by its name.
fn env_entry(name: &str, value: &str) -> String {
    format!("{}={}", render::clean_text(name, 100), redact::shown_env(name, value, 200))
}

/// One schedule in full, as both APIs show it: the fields as they came, capped and cleaned here once.
struct ScheduleDetail<'a> {
    pipeline: String,
    id: &'a str,
    label: &'a str,
    cron: &'a str,
    branch: Option<&'a str>,
    commit: Option<&'a str>,
    message: Option<&'a str>,
    env: Vec<String>,
    enabled: Option<bool>,
    next: Option<&'a str>,
    failed: Option<&'a str>,
    failed_at: Option<&'a str>,
    created: Option<&'a str>,
    by: Option<&'a str>,
    builds: Vec<Value>,
}

impl ScheduleDetail<'_> {
    fn value(self) -> Value {
        json!({
            "pipeline": self.pipeline,
            "id": self.id,
            "label": render::clean_text(self.label, 80),
            "cron": render::clean_text(self.cron, 60),
            "branch": self.branch,
            "commit": self.commit,
            "message": self.message.map(|m| render::clean_text(m, 300)),
            "env": self.env,
            "enabled": self.enabled,
            "next": self.next.filter(|_| self.enabled != Some(false)).map(render::timestamp),
            "failed": self.failed.map(|m| render::clean_text(m, 300)),
            "failed_at": self.failed_at.map(render::timestamp),
            "created": self.created.map(render::timestamp),
            "by": self.by.map(rows::person),
            "builds": self.builds,
        })
    }
}

/// `list_schedules` without GraphQL access: one pipeline's schedules (`GET …/schedules`, one
/// request) or one schedule (`GET …/schedules/{uuid}`); REST carries no builds of a schedule.
/// Across the organization it would take a request per pipeline, so that form needs GraphQL.
async fn list_schedules_rest(call: &Call<'_>, args: ListSchedulesArgs) -> Result<String, ToolError> {
    let budget = call.budget(3_000);
    let Some(pipeline) = non_blank(args.pipeline.as_deref()) else {
        return Err(ToolError::args(
            "without GraphQL access schedules are listed one pipeline at a time (across the organization it would take a request per pipeline): pass `pipeline`",
        ));
    };
    let pipeline = call.pipeline(pipeline).await?;
    let base = format!("v2/organizations/{}/pipelines/{}/schedules", pipeline.org, pipeline.pipeline);
    if let Some(schedule) = non_blank(args.schedule.as_deref()) {
        let id = super::resolve::path_part("schedule", &schedule.to_ascii_lowercase())?;
        let wanted = Wanted::new(
            format!("schedule {} of `{}`", render::clean_text(schedule, 100), pipeline.slug()),
            "list_schedules with the pipeline lists its schedules",
        );
        let (s, _) = call.rest_typed::<RestSchedule>(&format!("{base}/{id}"), &[], &wanted).await?;
        let env: Vec<String> = s
            .env
            .iter()
            .flatten()
            .map(|(k, v)| env_entry(k, v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()).as_str()))
            .collect();
        let out = ScheduleDetail {
            pipeline: pipeline.slug(),
            id: &s.id,
            label: &s.label,
            cron: &s.cronline,
            branch: s.branch.as_deref(),
            commit: s.commit.as_deref(),
            message: s.message.as_deref(),
            env,
            enabled: s.enabled,
            next: s.next_build_at.as_deref(),
            failed: s.failed_message.as_deref(),
            failed_at: s.failed_at.as_deref(),
            created: s.created_at.as_deref(),
            by: s.created_by.as_ref().and_then(|u| u.name.as_deref()),
            builds: Vec::new(),
        }
        .value();
        return Ok(render::render_object(out, budget));
    }
    let wanted = Wanted::new(format!("pipeline `{}`", pipeline.slug()), PIPELINE_HINT);
    let (list, _) = call.rest_typed::<Vec<RestSchedule>>(&base, &[("per_page", "100".to_string())], &wanted).await?;
    let rows: Vec<Value> = list.iter().map(|s| rows::schedule_from_rest(s, None)).collect();
    let mut out = Map::new();
    out.insert("pipeline".into(), json!(pipeline.slug()));
    out.insert("count".into(), json!(rows.len()));
    if rows.is_empty() {
        out.insert("note".into(), json!("no schedules"));
    }
    out.insert("schedules".into(), Value::Array(rows));
    Ok(render::render_object(Value::Object(out), budget))
}

async fn list_schedules(call: &Call<'_>, args: ListSchedulesArgs) -> Result<String, ToolError> {
    if !call.graphql().await {
        return list_schedules_rest(call, args).await;
    }
    let budget = call.budget(3_000);
    let pipeline = match non_blank(args.pipeline.as_deref()) {
        Some(p) => Some(call.pipeline(p).await?),
        None => None,
    };
    if let Some(schedule) = non_blank(args.schedule.as_deref()) {
        let pipeline =
            pipeline.ok_or_else(|| ToolError::args("a schedule is named within its pipeline: pass `pipeline` too"))?;
        let slug = format!("{}/{}", pipeline.slug(), schedule.to_ascii_lowercase());
        let wanted = Wanted::new(
            format!("schedule {} of `{}`", render::clean_text(schedule, 100), pipeline.slug()),
            "list_schedules with the pipeline lists its schedules",
        );
        let s = wanted.found(call.query::<GetSchedule>(get_schedule::Variables { slug }, &wanted).await?.pipeline_schedule)?;
        let builds: Vec<Value> = nodes!(s.builds)
            .map(|b| {
                BuildRow::new(b.number, render::state(&b.state))
                    .times(b.created_at.as_deref(), b.started_at.as_deref(), b.finished_at.as_deref())
                    .value()
            })
            .collect();
        let env: Vec<String> = s
            .env
            .unwrap_or_default()
            .iter()
            .map(|e| match e.split_once('=') {
                Some((k, v)) => env_entry(k, v),
                None => redact::shown(e, 200),
            })
            .collect();
        let out = ScheduleDetail {
            pipeline: pipeline.slug(),
            id: &s.uuid,
            label: &s.label,
            cron: &s.cronline,
            branch: s.branch.as_deref(),
            commit: s.commit.as_deref(),
            message: s.message.as_deref(),
            env,
            enabled: s.enabled,
            next: s.next_build_at.as_deref(),
            failed: s.failed_message.as_deref(),
            failed_at: s.failed_at.as_deref(),
            created: s.created_at.as_deref(),
            by: s.created_by.as_ref().map(|u| u.name.as_str()),
            builds,
        }
        .value();
        return Ok(render::render_object(out, budget));
    }
    let org = match &pipeline {
        Some(p) => p.org.clone(),
        None => call.org().await?,
    };
    let variables = list_schedules::Variables {
        pipeline: pipeline.as_ref().map(|p| p.slug()).unwrap_or_default(),
        org: org.clone(),
        one_pipeline: pipeline.is_some(),
        // The branch not taken still counts: its pages are one wide.
        schedules: if pipeline.is_some() { PIPELINE_SCHEDULES } else { 1 },
        pipelines: if pipeline.is_some() { 1 } else { ORG_PIPELINES },
        per_pipeline: if pipeline.is_some() { 1 } else { ORG_SCHEDULES },
        after: non_blank(args.after.as_deref()).map(str::to_string),
    };
    let wanted = match &pipeline {
        Some(p) => Wanted::new(format!("pipeline `{}`", p.slug()), PIPELINE_HINT),
        None => Wanted::new(format!("organization `{org}`"), ORG_HINT),
    };
    let data = call.query::<ListSchedules>(variables, &wanted).await?;
    let mut out = Map::new();
    let mut rows = Vec::new();
    if pipeline.is_some() {
        let p = wanted.found(data.pipeline)?;
        out.insert("pipeline".into(), json!(format!("{org}/{}", p.slug)));
        let total = p.schedules.as_ref().map(|c| c.count).unwrap_or(0);
        if total > PIPELINE_SCHEDULES {
            out.insert("shown".into(), json!(format!("{PIPELINE_SCHEDULES} of {total}")));
        }
        for s in nodes!(p.schedules) {
            let last = nodes!(s.builds).next().map(|b| format!("#{} {}", b.number, render::state(&b.state)));
            rows.push(row(&s.schedule_brief, None, last));
        }
    } else {
        let pipelines = wanted.found(data.organization.and_then(|o| o.pipelines))?;
        out.insert("org".into(), json!(org));
        out.insert(
            "pipelines_searched".into(),
            json!(format!("{} of {}", pipelines.edges.as_ref().map(Vec::len).unwrap_or(0), pipelines.count)),
        );
        let next = pipelines.page_info.clone().filter(|i| i.has_next_page).and_then(|i| i.end_cursor);
        let mut capped = Vec::new();
        for p in nodes!(Some(pipelines)) {
            let total = p.schedules.as_ref().map(|c| c.count).unwrap_or(0);
            if total > ORG_SCHEDULES {
                capped.push(format!("{} ({total})", p.slug));
            }
            for s in nodes!(p.schedules) {
                rows.push(row(&s, Some(&p.slug), None));
            }
        }
        if !capped.is_empty() {
            out.insert(
                "more_in".into(),
                json!(format!("{ORG_SCHEDULES} shown of: {}; pass pipeline for all of them", capped.join(", "))),
            );
        }
        if let Some(next) = next {
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
