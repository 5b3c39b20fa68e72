//! `list_builds` where GraphQL has no answer: organization-wide lists, the creator filter and the
//! finish-time filter go to REST (`GET /v2/organizations/{org}[/pipelines/{p}]/builds`), with the
//! same row shape as the GraphQL path.

use super::args::{budget, clamp};
use super::builds::{BUILD_STATES, ListBuildsArgs, date_time};
use super::context::non_blank;
use super::pipelines::short_sha;
use super::{Ctx, ToolError};
use crate::buildkite::ApiError;
use crate::buildkite::ids;
use crate::buildkite::ops::{FindMember, find_member};
use crate::render;
use serde_json::{Map, Value, json};

fn args_error(detail: impl Into<String>) -> ToolError {
    ToolError::Args { tool: "list_builds", detail: detail.into() }
}

/// The user UUID `creator` means: a UUID as is; an email or a name through the organization's
/// members (one GraphQL request). Several people matching a name is an error listing them.
async fn creator_uuid(ctx: &Ctx, org: &str, creator: &str) -> Result<(String, String), ToolError> {
    if ids::is_uuid(creator) {
        return Ok((creator.to_ascii_lowercase(), creator.to_string()));
    }
    let by_email = creator.contains('@');
    let variables = find_member::Variables {
        org: org.to_string(),
        email: by_email.then(|| creator.to_string()),
        search: (!by_email).then(|| creator.to_string()),
    };
    let what = format!("organization `{org}`");
    let data = ctx
        .api
        .execute::<FindMember>(variables)
        .await
        .map_err(|e| e.or_not_found(&what, "check the slug with current_user"))?;
    let members = data.organization.and_then(|o| o.members);
    let users: Vec<(String, String, String)> = members
        .and_then(|m| m.edges)
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .filter_map(|e| e.node)
        .map(|n| (n.user.uuid, n.user.name, n.user.email))
        .collect();
    // An exact name or email wins over looser matches of a search.
    let exact: Vec<(String, String, String)> = users
        .iter()
        .filter(|(_, n, e)| n.eq_ignore_ascii_case(creator) || e.eq_ignore_ascii_case(creator))
        .cloned()
        .collect();
    match (exact.as_slice(), users.as_slice()) {
        ([one], _) | ([], [one]) => Ok((one.0.clone(), format!("{} <{}>", one.1, one.2))),
        (_, []) => Err(args_error(format!(
            "no member of `{org}` matches creator `{creator}`: use their email, full name or user UUID"
        ))),
        _ => {
            let names: Vec<String> =
                users.iter().take(5).map(|(_, n, e)| format!("{} <{e}>", render::clean_text(n, 60))).collect();
            Err(args_error(format!(
                "creator `{creator}` matches several members ({}): pass an email",
                names.join(", ")
            )))
        }
    }
}

/// REST state names for the `state[]` filter.
fn rest_states(states: &[String]) -> Result<Vec<String>, ToolError> {
    states
        .iter()
        .map(|s| {
            let lower = s.trim().to_ascii_lowercase();
            if lower == "finished" || BUILD_STATES.contains(&lower.as_str()) {
                Ok(lower)
            } else {
                Err(args_error(format!("unknown state `{s}`: use {} or finished", BUILD_STATES.join(", "))))
            }
        })
        .collect()
}

/// One REST build as a row of the same shape the GraphQL path gives (plus `p`, the pipeline,
/// when the list spans pipelines).
fn row(b: &Value, with_pipeline: bool) -> Value {
    let text = |k: &str| b.get(k).and_then(Value::as_str);
    let mut row = Map::new();
    if with_pipeline {
        row.insert("p".into(), json!(b.pointer("/pipeline/slug").and_then(Value::as_str)));
    }
    row.insert("n".into(), json!(b.get("number")));
    let state = text("state").map(str::to_ascii_lowercase);
    row.insert("state".into(), json!(state));
    row.insert("branch".into(), json!(text("branch").map(|s| render::clean_text(s, 100))));
    row.insert("commit".into(), json!(text("commit").map(short_sha)));
    row.insert("msg".into(), json!(text("message").map(|m| render::first_line(m, 80))));
    row.insert(
        "by".into(),
        json!(b.pointer("/creator/name").and_then(Value::as_str).map(|n| render::clean_text(n, 60))),
    );
    row.insert("src".into(), json!(text("source").map(|s| render::clean_text(s, 40).to_ascii_lowercase())));
    row.insert("at".into(), json!(text("created_at").map(render::timestamp)));
    row.insert("dur".into(), json!(render::seconds_between(text("started_at"), text("finished_at"))));
    Value::Object(row)
}

pub(super) async fn list_builds_rest(ctx: &Ctx, args: ListBuildsArgs) -> Result<String, ToolError> {
    let page = super::args::page_number("list_builds", args.after.as_deref())?;
    let pipeline = match non_blank(args.pipeline.as_deref()) {
        Some(p) => Some(ctx.org.with_org(&ctx.api, args.org.as_deref(), |org| ids::parse_pipeline(p, org)).await?),
        None => None,
    };
    let org = match &pipeline {
        Some(p) => p.org.clone(),
        None => ctx.org.resolve(&ctx.api, args.org.as_deref()).await?,
    };
    let per_page = clamp(args.first, 20, 1, 100);
    let mut query: Vec<(&str, String)> =
        vec![("per_page", per_page.to_string()), ("page", page.to_string()), ("exclude_jobs", "true".into())];
    let mut head = Map::new();
    match &pipeline {
        Some(p) => head.insert("pipeline".into(), json!(p.slug())),
        None => head.insert("org".into(), json!(org)),
    };
    for branch in args.branch.iter().flatten() {
        if branch == "%default" {
            return Err(args_error(
                "%default needs one pipeline's GraphQL list: name the pipeline and drop creator/finished_from, or name the branch",
            ));
        }
        query.push(("branch[]", branch.clone()));
    }
    for state in rest_states(args.state.as_deref().unwrap_or_default())? {
        query.push(("state[]", state));
    }
    if let Some(commits) = &args.commit {
        match commits.as_slice() {
            [one] => query.push(("commit", one.clone())),
            [] => {}
            _ => return Err(args_error("organization-wide and creator lists take one commit")),
        }
    }
    for (name, value, key) in [
        ("created_from", args.created_from.clone(), "created_from"),
        ("created_to", args.created_to.clone(), "created_to"),
        ("finished_from", args.finished_from.clone(), "finished_from"),
    ] {
        if let Some(v) = date_time(name, value)? {
            query.push((key, v));
        }
    }
    if let Some(creator) = non_blank(args.creator.as_deref()) {
        let (uuid, who) = creator_uuid(ctx, &org, creator).await?;
        head.insert("creator".into(), json!(render::clean_text(&who, 120)));
        query.push(("creator", uuid));
    }
    let path = match &pipeline {
        Some(p) => format!("v2/organizations/{}/pipelines/{}/builds", p.org, p.pipeline),
        None => format!("v2/organizations/{org}/builds"),
    };
    let what = match &pipeline {
        Some(p) => format!("pipeline `{}`", p.slug()),
        None => format!("organization `{org}`"),
    };
    let answer = ctx
        .api
        .rest_json(&path, &query)
        .await
        .map_err(|e| e.or_not_found(&what, "check the slug with list_pipelines or current_user"))?;
    let builds = answer.body.as_array().ok_or_else(|| ApiError::Decode { detail: format!("{path}: not a list") })?;
    let mut rows: Vec<Value> = builds.iter().map(|b| row(b, pipeline.is_none())).collect();
    head.insert("page".into(), json!(page));
    let budget = budget(args.max_tokens, 3_000);
    let fit = render::rows_that_fit(&rows, budget, 200);
    let cut = fit < rows.len();
    if cut {
        // Pages are numbered by the API: continuing after a cut page would skip its rest.
        head.insert(
            "cut".into(),
            json!(format!(
                "{} of this page's {} builds left out for max_tokens: ask again with first={fit} to page without gaps",
                rows.len() - fit,
                rows.len()
            )),
        );
        rows.truncate(fit);
    }
    head.insert("builds".into(), Value::Array(rows));
    if let Some(next) = answer.next_page.filter(|_| !cut) {
        head.insert("next".into(), json!({"after": next.to_string()}));
    }
    Ok(render::render_object(Value::Object(head), budget))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rest_rows_match_the_graphql_row_shape() {
        let b = json!({"number": 7, "state": "failed", "branch": "main", "commit": "abcdef1234567890",
            "message": "Fix it\n\nlong body", "source": "webhook", "creator": {"name": "Ada"},
            "created_at": "2026-11-20T10:00:00.123Z", "started_at": "2026-11-20T10:00:10Z",
            "finished_at": "2026-11-20T10:05:10Z", "pipeline": {"slug": "web"}});
        let r = row(&b, true);
        assert_eq!(r["p"], "web");
        assert_eq!(r["state"], "failed");
        assert_eq!(r["msg"], "Fix it…");
        assert_eq!(r["dur"], 300);
        assert_eq!(r["by"], "Ada");
        assert!(row(&b, false).get("p").is_none());
    }

    #[test]
    fn unknown_states_are_refused_before_any_request() {
        assert!(rest_states(&["passed".into(), "finished".into()]).is_ok());
        let err = rest_states(&["green".into()]).unwrap_err().to_string();
        assert!(err.contains("`green`"), "{err}");
    }
}
