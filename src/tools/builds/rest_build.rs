//! `get_build` without GraphQL access: the build without its jobs (`job_state_counts` gives the
//! counts), one page of its failed and blocked jobs, and its first annotations: three REST
//! requests whatever the build's size, reshaped into the same keys as the GraphQL answer.

use super::GetBuildArgs;
use crate::render;
use crate::tools::args::clamp;
use crate::tools::kit::{Call, ToolError};
use crate::tools::rest::{RestBuild, RestBuildId};
use crate::tools::rows::{self, JobRow};
use serde_json::{Map, Value, json};

/// Annotations shown in a build's headlines.
const ANNOTATIONS: usize = 10;

pub(super) async fn get_build(call: &Call<'_>, args: GetBuildArgs) -> Result<String, ToolError> {
    let id = call.rest_build_id(&args.build, args.pipeline.as_deref()).await?;
    let max_jobs = clamp(args.max_jobs, 20, 1, 100);
    let filters = [
        ("state[]", "failed".to_string()),
        ("state[]", "blocked".to_string()),
        ("include_retried_jobs", "false".to_string()),
    ];
    let annotations_path = id.path("/annotations");
    let annotations_query = [("per_page", ANNOTATIONS.to_string())];
    let (build, jobs, annotations) = tokio::join!(
        call.rest_build(&id),
        call.rest_jobs(&id, max_jobs + 10, None, &filters),
        call.rest(&annotations_path, &annotations_query, &id.wanted),
    );
    let (build, jobs) = (build?, jobs?);
    let annotations = annotations.ok();
    let mut out = header(&id, &build);

    let counts = build.job_state_counts.clone().unwrap_or_default();
    let n = |names: &[&str]| -> Option<i64> {
        Some(names.iter().map(|s| counts.states.get(*s).copied().unwrap_or(0)).sum::<i64>()).filter(|n| *n > 0)
    };
    let failed_total = n(&["failed"]).unwrap_or(0);
    let mut job_counts = Map::new();
    job_counts.insert("total".into(), json!(Some(counts.total).filter(|t| *t > 0)));
    job_counts.insert("passed".into(), json!(n(&["passed"])));
    // Filled in below from the failed jobs: hard failures of latest attempts only.
    job_counts.insert("failed".into(), Value::Null);
    job_counts.insert("running".into(), json!(n(&["running", "canceling", "timing_out"])));
    let waiting = [
        "pending",
        "waiting",
        "scheduled",
        "assigned",
        "accepted",
        "limiting",
        "limited",
        "platform_limiting",
        "platform_limited",
        "reserved",
    ];
    job_counts.insert("waiting".into(), json!(n(&waiting)));
    job_counts.insert("canceled".into(), json!(n(&["canceled"])));
    job_counts.insert("timed_out".into(), json!(n(&["timed_out", "expired"])));
    job_counts.insert("skipped".into(), json!(n(&["skipped", "broken"])));
    job_counts.insert("blocked".into(), json!(n(&["blocked"])));
    let (mut failed, mut soft, mut blocked) = (Vec::new(), Vec::new(), Vec::new());
    let (mut failed_read, mut hard_read) = (0, 0);
    for j in &jobs.items {
        failed_read += usize::from(j.kind == "script" && j.state == "failed");
        hard_read += usize::from(j.kind == "script" && j.state == "failed" && !j.soft_failed);
        match (j.kind.as_str(), j.state.as_str()) {
            ("script", "failed") if failed.len() + soft.len() < max_jobs as usize => {
                let mut row = JobRow::new(&j.id, j.name.as_deref(), j.step_key.as_deref())
                    .ran(j.started_at.as_deref(), j.finished_at.as_deref());
                row.exit = j.exit_status.map(Value::from).unwrap_or(Value::Null);
                if j.soft_failed { soft.push(row.value()) } else { failed.push(row.value()) }
            }
            ("manual", "blocked") => blocked.push(json!({
                "job": j.id,
                "label": rows::label(j.name.as_deref()),
                "unblockable": j.unblockable.unwrap_or(false),
            })),
            _ => {}
        }
    }
    let listed = (failed.len() + soft.len()) as i64;
    // One meaning of "failed" in every tool: the latest attempt of each job (REST lists no retried
    // attempts), hard failures only, counted over the page read; soft failures counted apart.
    let nonzero = |n: usize| (n > 0).then_some(n);
    job_counts.insert("failed".into(), json!(nonzero(hard_read)));
    job_counts.insert("soft_failed".into(), json!(nonzero(soft.len())));
    out.insert("jobs".into(), Value::Object(job_counts));
    out.insert("failed".into(), json!(failed));
    out.insert("soft_failed".into(), json!(soft));
    // More than were listed only when the page of failed jobs was cut here or has a next page
    // (the per-state count may include retried attempts, which the page leaves out).
    let more = failed_read > listed as usize || jobs.next_after().is_some();
    if more && failed_total > listed {
        out.insert(
            "failed_more".into(),
            json!(format!("{} more failed jobs not listed; raise max_jobs", failed_total - listed)),
        );
    }
    out.insert("blocked".into(), json!(blocked));
    if let Some(page) = annotations {
        let items: Vec<Value> = page
            .body
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|n| {
                        let text = n.get("body_html").and_then(Value::as_str).map(|h| crate::redact::shown(&crate::html::to_text(h), 2_000));
                        json!({
                            "style": n.get("style").and_then(Value::as_str).map(str::to_ascii_lowercase),
                            "context": render::clean_text(n.get("context").and_then(Value::as_str).unwrap_or(""), 80),
                            "text": text.map(|t| render::first_line(&t, 120)),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        if !items.is_empty() {
            // REST pages annotations without a count: the total is known only on the last page.
            let total = page.next_page.is_none().then_some(items.len());
            out.insert("annotations".into(), json!({"total": total, "items": items}));
        }
    }
    Ok(render::render_object(Value::Object(out), call.budget(4_000)))
}

/// The header keys of `get_build` from a REST build (the same keys the GraphQL answer has; the
/// trigger step's label is not in REST and is left out).
fn header(id: &RestBuildId, b: &RestBuild) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("build".into(), json!(id.slug()));
    out.insert("url".into(), json!(b.web_url));
    out.insert("uuid".into(), json!(b.id));
    let row = rows::BuildRow::from_rest(b, false);
    out.insert("state".into(), json!(row.state));
    if row.state == "blocked" {
        out.insert("gate".into(), json!(row.gate));
    }
    out.insert("branch".into(), json!(b.branch.as_deref().map(rows::branch)));
    out.insert("commit".into(), json!(b.commit));
    out.insert("msg".into(), json!(b.message.as_deref().map(|m| render::clean_text(m.trim(), 500))));
    let by = b.creator.as_ref().map(|c| {
        json!({"name": c.name.as_deref().map(rows::person), "email": c.email.as_deref().map(|e| render::clean_text(e, 100))})
    });
    out.insert("by".into(), json!(by));
    out.insert("src".into(), json!(b.source.as_deref().map(|s| render::clean_text(s, 40).to_ascii_lowercase())));
    out.insert("pr".into(), json!(b.pull_request.as_ref().and_then(|p| p.id.clone())));
    out.insert("rebuilt_from".into(), json!(b.rebuilt_from.as_ref().and_then(|r| r.number)));
    if let Some(t) = &b.triggered_from
        && let (Some(p), Some(n)) = (&t.build_pipeline_slug, t.build_number)
    {
        out.insert("triggered_from".into(), json!({"build": format!("{p}/{n}")}));
    }
    rows::build_times(&mut out, b.created_at.as_deref(), b.started_at.as_deref(), b.finished_at.as_deref());
    if b.cancel_reason.is_some() {
        out.insert("cancel_reason".into(), json!(b.cancel_reason.as_deref().map(|r| render::clean_text(r, 200))));
    }
    out
}
