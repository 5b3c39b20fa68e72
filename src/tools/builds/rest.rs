//! `list_builds` where GraphQL has no answer: organization-wide lists, the creator filter and the
//! finish-time filter go to REST (`GET /v2/organizations/{org}[/pipelines/{p}]/builds`), with the
//! same row shape as the GraphQL path.

use super::ListBuildsArgs;
use crate::buildkite::ApiError;
use crate::buildkite::ids;
use crate::buildkite::ops::{FindMember, find_member};
use crate::render;
use crate::tools::args::{BUILD_STATES, clamp, date_time, page_number};
use crate::tools::context::non_blank;
use crate::tools::kit::{Call, ToolError, Wanted, nodes};
use crate::tools::resolve::ORG_HINT;
use crate::tools::rest::RestBuild;
use crate::tools::rows::BuildRow;
use serde_json::{Map, Value, json};

fn args_error(detail: impl Into<String>) -> ToolError {
    ToolError::args(detail)
}

/// The user UUID `creator` means: a UUID as is; an email or a name through the organization's
/// members (one GraphQL request). Several people matching a name is an error listing them.
async fn creator_uuid(call: &Call<'_>, org: &str, creator: &str) -> Result<(String, String), ToolError> {
    if ids::is_uuid(creator) {
        return Ok((creator.to_ascii_lowercase(), creator.to_string()));
    }
    if !call.graphql().await {
        return Err(args_error(format!(
            "without GraphQL access a creator `{creator}` cannot be turned into a user: pass their user UUID"
        )));
    }
    let by_email = creator.contains('@');
    let variables = find_member::Variables {
        org: org.to_string(),
        email: by_email.then(|| creator.to_string()),
        search: (!by_email).then(|| creator.to_string()),
    };
    let wanted = Wanted::new(format!("organization `{org}`"), ORG_HINT);
    let data = call.query::<FindMember>(variables, &wanted).await?;
    let users: Vec<(String, String, String)> = nodes!(data.organization.and_then(|o| o.members))
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
    match serde_json::from_value::<RestBuild>(b.clone()) {
        Ok(build) => BuildRow::from_rest(&build, with_pipeline).value(),
        Err(_) => Value::Null,
    }
}

pub(super) async fn list_builds(call: &Call<'_>, args: ListBuildsArgs) -> Result<String, ToolError> {
    let page = page_number(args.after.as_deref())?;
    let pipeline = match non_blank(args.pipeline.as_deref()) {
        Some(p) => Some(call.pipeline(p).await?),
        None => None,
    };
    let org = match &pipeline {
        Some(p) => p.org.clone(),
        None => call.org().await?,
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
        let (uuid, who) = creator_uuid(call, &org, creator).await?;
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
    let answer =
        call.rest(&path, &query, &Wanted::new(what, "check the slug with list_pipelines or current_user")).await?;
    let builds = answer.body.as_array().ok_or_else(|| ApiError::Decode { detail: format!("{path}: not a list") })?;
    let mut rows: Vec<Value> = builds.iter().map(|b| row(b, pipeline.is_none())).collect();
    head.insert("page".into(), json!(page));
    let budget = call.budget(3_000);
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
        assert!(row(&b, false)["p"].is_null(), "no pipeline column for one pipeline's list");
    }

    #[test]
    fn unknown_states_are_refused_before_any_request() {
        assert!(rest_states(&["passed".into(), "finished".into()]).is_ok());
        let err = rest_states(&["green".into()]).unwrap_err().to_string();
        assert!(err.contains("`green`"), "{err}");
    }
}
