//! `get_build_failure_summary` without GraphQL access: the build without its jobs (its
//! `job_state_counts` give the totals), one page of its failed, timed-out, canceled and blocked
//! jobs, and its annotations: three REST requests whatever the build's size, before the log tails
//! and the Test Engine request the GraphQL path makes too.

use super::{Failed, FailureSummaryArgs, Summary};
use crate::render;
use crate::tools::kit::{Call, ToolError};
use crate::tools::rest::RestJob;
use crate::tools::rows::{self, BuildRow, JobRow, short_sha};
use serde_json::{Map, Value, json};

/// Error and warning annotations shown (as the GraphQL path's `first: 5`).
const ANNOTATIONS: usize = 5;
/// Blocked steps shown.
const BLOCKED: usize = 5;
/// REST states of jobs that stopped without finishing.
const STOPPED: &[&str] = &["timed_out", "expired", "canceled"];

fn failed(j: &RestJob) -> Failed {
    let row = match JobRow::failure_from_rest(j).value() {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    Failed { uuid: j.id.clone(), key: j.step_key.clone(), label: j.name.clone(), started: j.started_at.is_some(), row }
}

/// What the summary says, from REST.
pub(super) async fn summary(call: &Call<'_>, args: &FailureSummaryArgs, max_jobs: i64) -> Result<Summary, ToolError> {
    let id = call.rest_build_id(&args.build, args.pipeline.as_deref()).await?;
    let mut filters: Vec<(&str, String)> = vec![("state[]", "failed".to_string())];
    filters.extend(STOPPED.iter().chain(["blocked"].iter()).map(|s| ("state[]", s.to_string())));
    // Ask for more than we explain: soft failures and blocked steps share the page.
    let per_page = (max_jobs * 3).min(50) + BLOCKED as i64;
    let annotations_path = id.path("/annotations");
    let annotations_query = [("per_page", "30".to_string())];
    let (build, jobs, annotations) = tokio::join!(
        call.rest_build(&id),
        call.rest_jobs(&id, per_page, None, &filters),
        call.rest(&annotations_path, &annotations_query, &id.wanted),
    );
    let (build, jobs) = (build?, jobs?);
    let counts = build.job_state_counts.clone().unwrap_or_default();
    let n = |names: &[&str]| names.iter().map(|s| counts.states.get(*s).copied().unwrap_or(0)).sum::<i64>().max(0);

    let (mut hard, mut soft, mut stopped, mut blocked) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for j in jobs.items.iter().filter(|j| !j.retried) {
        match (j.kind.as_str(), j.state.as_str()) {
            ("script", "failed") if j.soft_failed => soft.push(failed(j)),
            ("script", "failed") => hard.push(failed(j)),
            ("script", s) if STOPPED.contains(&s) => stopped.push(failed(j)),
            ("manual", "blocked") if blocked.len() < BLOCKED => {
                blocked.push(json!({"job": j.id, "label": rows::label(j.name.as_deref())}))
            }
            _ => {}
        }
    }
    let (failed_total, stopped_total, blocked_total) = (n(&["failed"]), n(STOPPED), n(&["blocked"]));

    let mut header = Map::new();
    header.insert("build".into(), json!(id.slug()));
    header.insert("url".into(), json!(build.web_url));
    let row = BuildRow::from_rest(&build, false);
    header.insert("state".into(), json!(row.state));
    header.insert("branch".into(), json!(build.branch.as_deref().map(rows::branch)));
    header.insert("commit".into(), json!(build.commit.as_deref().map(short_sha)));
    header.insert("msg".into(), json!(build.message.as_deref().map(|m| render::first_line(m, 100))));
    // `retried_attempts` is left out: the REST list leaves retried attempts out.
    let jobs_counts = json!({"total": counts.total, "failed": hard.len(), "soft_failed": soft.len(), "stopped": stopped.len()});

    // REST has no style filter or count for annotations: the error and warning ones of one page.
    let page = annotations.ok();
    let annotations: Vec<Value> = page
        .as_ref()
        .and_then(|p| p.body.as_array())
        .map(|a| {
            a.iter()
                .filter(|n| matches!(n.get("style").and_then(Value::as_str), Some("error" | "warning")))
                .take(ANNOTATIONS)
                .map(|n| {
                    let text = n.get("body_html").and_then(Value::as_str).map(|h| crate::redact::shown(&crate::html::to_text(h), 600));
                    json!({
                        "style": n.get("style").and_then(Value::as_str).map(str::to_ascii_lowercase),
                        "context": render::clean_text(n.get("context").and_then(Value::as_str).unwrap_or(""), 80),
                        "text": text,
                    })
                })
                .collect()
        })
        .unwrap_or_default();

    let mut left_out = Vec::new();
    // More than were listed only when the page has a next one (the per-state counts include
    // retried attempts, which the page leaves out).
    if jobs.next_after().is_some() {
        let listed = (hard.len() + soft.len()) as i64;
        if failed_total > listed {
            left_out.push(format!("{} more failed jobs: list_jobs state=failed", failed_total - listed));
        }
        if stopped_total > stopped.len() as i64 {
            left_out.push(format!(
                "{} more timed-out or canceled jobs: list_jobs state=timed_out,canceled",
                stopped_total - stopped.len() as i64
            ));
        }
    }
    if blocked_total > blocked.len() as i64 {
        left_out.push(format!("{} more blocked steps: list_jobs state=blocked", blocked_total - blocked.len() as i64));
    }
    Ok(Summary {
        org: id.org.clone(),
        pipeline: id.pipeline.clone(),
        number: id.number,
        uuid: build.id.clone(),
        // The history of the steps needs GraphQL (`pipeline.builds` → `jobs(step:)`).
        branch: None,
        created_at: None,
        header,
        jobs: jobs_counts,
        hard,
        soft,
        stopped,
        state: row.state,
        blocked,
        annotations,
        left_out,
        any_counted: failed_total > 0 || stopped_total > 0,
    })
}
