//! Test Engine: `list_suites` (GraphQL has suites), and through REST analytics (GraphQL has no
//! runs, tests or executions): `list_test_runs` (a suite's runs, a build's runs, or one run with
//! its failed executions), `list_tests` (a suite's tests, flaky ones, or a build's tests, failed
//! first) and `get_test`.

use super::args::{clamp, lenient_bool, lenient_int, page_number};
use super::context::non_blank;
use super::kit::{Rest, Call, Hints, Tool, ToolError, Toolset, Wanted, handler};
use super::resolve::{ORG_HINT, path_part};
use super::rows::{short_sha, test_failures};
use crate::buildkite::ops::{ListSuites, list_suites};
use crate::render::{self, Page};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// Characters of a failure message shown.
const FAILURE_CHARS: usize = 600;

/// Arguments of `list_suites`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListSuitesArgs {
    /// Name contains this.
    #[serde(default)]
    search: Option<String>,
    // Page size (documented once, in the server instructions).
    #[serde(default, deserialize_with = "lenient_int")]
    first: Option<i64>,
    // next.after (documented once, in the server instructions).
    #[serde(default)]
    after: Option<String>,
}

/// Arguments of `list_test_runs`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListTestRunsArgs {
    // Suite slug.
    suite: String,
    /// Only this build's runs.
    #[serde(default)]
    build: Option<String>,
    /// A run's ID: it and its failed tests.
    #[serde(default)]
    run: Option<String>,
    // next.after (documented once, in the server instructions).
    #[serde(default)]
    after: Option<String>,
    // Pipeline, when build is a bare number (documented once, in the server instructions).
    #[serde(default)]
    pipeline: Option<String>,
}

/// Arguments of `list_tests`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListTestsArgs {
    // Suite slug (a suite's tests).
    #[serde(default)]
    suite: Option<String>,
    /// Or a build's tests, failed first.
    #[serde(default)]
    build: Option<String>,
    // Only tests labelled flaky.
    #[serde(default, deserialize_with = "lenient_bool")]
    flaky: Option<bool>,
    // Only runs on this branch.
    #[serde(default)]
    branch: Option<String>,
    /// reliability or duration.
    #[serde(default)]
    sort: Option<String>,
    // next.after (documented once, in the server instructions).
    #[serde(default)]
    after: Option<String>,
    // Pipeline, when build is a bare number (documented once, in the server instructions).
    #[serde(default)]
    pipeline: Option<String>,
}

/// Arguments of `get_test`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetTestArgs {
    /// Suite slug.
    suite: String,
    /// Test ID.
    test: String,
}

/// The tools of this area.
pub(super) const TOOLS: &[Tool] = &[
    Tool {
        name: "list_suites",
        toolset: Toolset::Tests,
        hints: Hints::READ,
        scopes: &["read_suites"],
        rest: Rest::Same,
        description: "Test Engine suites: slug, name, default branch.",
        handler: handler!(list_suites, ListSuitesArgs),
    },
    Tool {
        name: "list_test_runs",
        toolset: Toolset::Tests,
        hints: Hints::READ,
        scopes: &["read_suites"],
        rest: Rest::Same,
        description: "A suite's test runs (all, or a build's); with run, that run and its failed tests: name, location, failure, duration.",
        handler: handler!(list_test_runs, ListTestRunsArgs),
    },
    Tool {
        name: "list_tests",
        toolset: Toolset::Tests,
        hints: Hints::READ,
        scopes: &["read_suites"],
        rest: Rest::Same,
        description: "A suite's tests (flaky ones, by reliability or duration), or a build's tests with failures first.",
        handler: handler!(list_tests, ListTestsArgs),
    },
    Tool {
        name: "get_test",
        toolset: Toolset::Tests,
        hints: Hints::READ,
        scopes: &["read_suites"],
        rest: Rest::Same,
        description: "One test of a suite: name, scope, location, file, labels.",
        handler: handler!(get_test, GetTestArgs),
    },
];

fn args_error(detail: impl Into<String>) -> ToolError {
    ToolError::args(detail)
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// `list_suites` without GraphQL access: one page of `GET /v2/analytics/organizations/{org}/suites`
/// (by number; REST has no name search and no total).
async fn list_suites_rest(call: &Call<'_>, org: String, args: ListSuitesArgs) -> Result<String, ToolError> {
    let page = super::args::page_number(args.after.as_deref())?;
    let query = [("per_page", clamp(args.first, 30, 1, 100).to_string()), ("page", page.to_string())];
    let wanted = Wanted::new(format!("organization `{org}`"), ORG_HINT);
    let answer = call.rest(&format!("v2/analytics/organizations/{org}/suites"), &query, &wanted).await?;
    let search = non_blank(args.search.as_deref()).map(str::to_ascii_lowercase);
    let mut rows = Page { next_after: answer.next_page.map(|n| n.to_string()), ..Page::default() };
    for s in answer.body.as_array().into_iter().flatten() {
        let name = text(s, "name").unwrap_or("");
        if search.as_ref().is_some_and(|q| !name.to_ascii_lowercase().contains(q) && !text(s, "slug").unwrap_or("").contains(q.as_str())) {
            continue;
        }
        rows.rows.push(json!({
            "slug": text(s, "slug"),
            "name": render::clean_text(name, 80),
            "branch": text(s, "default_branch"),
            "app": text(s, "application_name").map(|a| render::clean_text(a, 60)),
        }));
        rows.cursors.push(None);
    }
    let mut head = Map::new();
    head.insert("org".into(), json!(org));
    Ok(render::render_page(head, "suites", rows, call.budget(2_000)))
}

async fn list_suites(call: &Call<'_>, args: ListSuitesArgs) -> Result<String, ToolError> {
    let org = call.org().await?;
    if !call.graphql().await {
        return list_suites_rest(call, org, args).await;
    }
    let variables = list_suites::Variables {
        org: org.clone(),
        first: clamp(args.first, 30, 1, 100),
        after: non_blank(args.after.as_deref()).map(str::to_string),
        search: non_blank(args.search.as_deref()).map(str::to_string),
    };
    let wanted = Wanted::new(format!("organization `{org}`"), ORG_HINT);
    let suites = wanted.found(call.query::<ListSuites>(variables, &wanted).await?.organization.and_then(|o| o.suites))?;
    let next = suites.page_info.filter(|i| i.has_next_page).and_then(|i| i.end_cursor);
    let mut page = Page::new(suites.count, next);
    for edge in suites.edges.unwrap_or_default().into_iter().flatten() {
        let Some(s) = edge.node else { continue };
        page.rows.push(json!({
            "slug": s.slug,
            "name": render::clean_text(&s.name, 80),
            "branch": s.default_branch,
            "app": s.application_name.as_deref().map(|a| render::clean_text(a, 60)),
        }));
        page.cursors.push(Some(edge.cursor));
    }
    let mut head = Map::new();
    head.insert("org".into(), json!(org));
    Ok(render::render_page(head, "suites", page, call.budget(2_000)))
}

/// A run as a row.
fn run_row(r: &Value) -> Value {
    json!({
        "id": text(r, "id"),
        "result": text(r, "result"),
        "state": text(r, "state").filter(|s| *s != "finished"),
        "branch": text(r, "branch").map(|b| render::clean_text(b, 80)),
        "commit": text(r, "commit_sha").map(short_sha),
        "at": text(r, "created_at").map(render::timestamp),
    })
}

/// A failed execution as a row: what failed, where, and why (capped).
fn failure_row(f: &Value) -> Value {
    let mut reason = text(f, "failure_reason").map(|r| render::clean_text(r, FAILURE_CHARS)).unwrap_or_default();
    // The expanded failure (assertion diff) says more than the one-line reason.
    let expanded: Vec<String> = f
        .get("failure_expanded")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|e| e.get("expanded").and_then(Value::as_array).cloned().unwrap_or_default())
        .filter_map(|l| l.as_str().map(|s| s.trim().to_string()))
        .filter(|l| !l.is_empty())
        .take(6)
        .collect();
    if !expanded.is_empty() {
        reason = render::clean_text(&format!("{reason}\n{}", expanded.join("\n")), FAILURE_CHARS);
    }
    json!({
        "test": text(f, "test_name").map(|n| render::clean_text(n, 200)),
        "location": text(f, "location"),
        "failure": reason,
        "duration_s": f.get("duration").and_then(Value::as_f64).map(|d| (d * 100.0).round() / 100.0),
        "test_id": text(f, "test_id"),
    })
}

async fn list_test_runs(call: &Call<'_>, args: ListTestRunsArgs) -> Result<String, ToolError> {
    let ctx = call.ctx;
    let org = call.org().await?;
    let suite = path_part("suite slug", &args.suite)?;
    let base = format!("v2/analytics/organizations/{org}/suites/{suite}/runs");
    let suite_hint = "list_suites lists the organization's suites";
    let budget = call.budget(3_000);
    if let Some(run) = non_blank(args.run.as_deref()) {
        let run = path_part("run ID", run)?;
        let wanted = Wanted::new(format!("run {run} of suite `{suite}`"), "list_test_runs without run lists the suite's runs");
        // The run and its failures at once: one round trip of latency.
        let run_path = format!("{base}/{run}");
        let failures_path = format!("{base}/{run}/failed_executions");
        let failure_query = [("include_failure_expanded", "true".to_string()), ("per_page", "100".to_string())];
        let (r, f) = tokio::join!(ctx.api.rest_json(&run_path, &[]), ctx.api.rest_json(&failures_path, &failure_query));
        let r = r.map_err(|e| wanted.or_not_found(e))?;
        let f = f.map_err(|e| wanted.or_not_found(e))?;
        let failures: Vec<Value> = f.body.as_array().into_iter().flatten().map(failure_row).collect();
        let mut out = Map::new();
        out.insert("suite".into(), json!(suite));
        if let Value::Object(row) = run_row(&r.body) {
            out.extend(row);
        }
        out.insert("url".into(), json!(text(&r.body, "web_url")));
        out.insert("failed".into(), json!(failures.len()));
        if f.next_page.is_some() {
            out.insert("more_failures".into(), json!("over 100 failed executions: the first 100 are shown"));
        }
        out.insert("failures".into(), Value::Array(failures));
        return Ok(render::render_object(Value::Object(out), budget));
    }
    let mut query: Vec<(&str, String)> =
        vec![("per_page", "30".into()), ("page", page_number(args.after.as_deref())?.to_string())];
    let mut out = Map::new();
    out.insert("suite".into(), json!(suite));
    let mut base = base;
    if let Some(build) = non_blank(args.build.as_deref()) {
        let (uuid, name, build_org) = call.build_uuid(build, args.pipeline.as_deref()).await?;
        out.insert("build".into(), json!(name));
        query.push(("build_id", uuid));
        // A build URL names its organization: the suite is looked for there.
        if let Some(o) = build_org.filter(|o| *o != org) {
            base = format!("v2/analytics/organizations/{o}/suites/{suite}/runs");
        }
    }
    let page = call.rest(&base, &query, &Wanted::new(format!("suite `{suite}` in `{org}`"), suite_hint)).await?;
    let runs: Vec<Value> = page.body.as_array().into_iter().flatten().map(run_row).collect();
    if runs.is_empty() {
        out.insert("note".into(), json!("no runs"));
    }
    out.insert("runs".into(), Value::Array(runs));
    if let Some(next) = page.next_page {
        out.insert("next".into(), json!({"after": next.to_string()}));
    }
    out.insert("more".into(), json!("pass run=<id> for a run's failed tests"));
    Ok(render::render_object(Value::Object(out), budget))
}

/// A test's executions by result: the API's `executions_count_by_result` (older answers:
/// `executions`).
fn by_result(t: &Value) -> Option<&Value> {
    t.get("executions_count_by_result").or_else(|| t.get("executions")).filter(|e| e.is_object())
}

/// Reliability as a percentage (the API gives a fraction, 0.98).
fn reliability(t: &Value) -> Option<f64> {
    let r = t.get("reliability").and_then(Value::as_f64)?;
    let percent = if r <= 1.0 { r * 100.0 } else { r };
    Some((percent * 10.0).round() / 10.0)
}

/// The suite of a test, from its URL (`…/suites/{slug}/tests/…`): a build's tests span suites.
fn suite_of(t: &Value) -> Option<String> {
    let url = text(t, "web_url").or_else(|| text(t, "url"))?;
    let after = url.split("/suites/").nth(1)?;
    after.split('/').next().filter(|s| !s.is_empty()).map(str::to_string)
}

/// A test as a row.
fn test_row(t: &Value) -> Value {
    let labels: Vec<&str> =
        t.get("labels").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
    json!({
        "id": text(t, "id"),
        "name": text(t, "name").map(|n| render::clean_text(n, 200)),
        "scope": text(t, "scope").map(|n| render::clean_text(n, 120)),
        "location": text(t, "location"),
        "labels": labels,
        "reliability_pct": reliability(t),
        "duration_avg_s": t.get("duration_avg").and_then(Value::as_f64).map(|d| (d * 100.0).round() / 100.0),
        "runs": by_result(t).map(|e| {
            ["failed", "passed", "skipped"]
                .iter()
                .filter_map(|k| e.get(*k).and_then(Value::as_i64).filter(|n| *n > 0).map(|n| format!("{n} {k}")))
                .collect::<Vec<_>>()
                .join(", ")
        }),
        "result": text(t, "result").or_else(|| text(t, "state")),
    })
}

async fn list_tests(call: &Call<'_>, args: ListTestsArgs) -> Result<String, ToolError> {
    let org = call.org().await?;
    let budget = call.budget(3_000);
    let page = page_number(args.after.as_deref())?;
    let mut out = Map::new();
    let mut build_path: Option<(String, String)> = None;
    let (path, mut query, what): (String, Vec<(&str, String)>, String) =
        match (non_blank(args.build.as_deref()), non_blank(args.suite.as_deref())) {
            (Some(build), _) => {
                let (uuid, name, build_org) = call.build_uuid(build, args.pipeline.as_deref()).await?;
                out.insert("build".into(), json!(name));
                // A build URL names its organization: its tests are looked for there.
                let org = build_org.unwrap_or_else(|| org.clone());
                build_path = Some((org.clone(), uuid.clone()));
                (
                    format!("v2/analytics/organizations/{org}/builds/{uuid}/tests"),
                    Vec::new(),
                    format!("the tests of {name}"),
                )
            }
            (None, Some(suite)) => {
                let suite = path_part("suite slug", suite)?;
                out.insert("suite".into(), json!(suite));
                let mut q = Vec::new();
                if args.flaky == Some(true) {
                    q.push(("label", "flaky".to_string()));
                }
                match non_blank(args.sort.as_deref()).map(str::to_ascii_lowercase).as_deref() {
                    None => {}
                    Some("reliability") => {
                        q.push(("sort_by", "reliability".into()));
                        q.push(("order", "asc".into()));
                    }
                    Some("duration") => {
                        q.push(("sort_by", "duration_avg".into()));
                        q.push(("order", "desc".into()));
                    }
                    Some(other) => {
                        return Err(args_error(format!("sort `{other}`: use reliability or duration")));
                    }
                }
                (
                    format!("v2/analytics/organizations/{org}/suites/{suite}/tests"),
                    q,
                    format!("suite `{suite}` in `{org}`"),
                )
            }
            (None, None) => return Err(args_error("pass `suite` (list_suites lists them) or `build`")),
        };
    if let Some(branch) = non_blank(args.branch.as_deref()) {
        query.push(("branch", branch.to_string()));
    }
    let wanted = Wanted::new(what, "list_suites lists the suites; a build needs Test Engine to have runs for it");
    let (body, next_page) = match &build_path {
        // A build's tests: every page up to the cap, so no failed test hides on a later page.
        Some((org, uuid)) => {
            let read = super::test_results::read(&call.ctx.api, org, uuid, u32::try_from(page).unwrap_or(1)).await.map_err(|e| wanted.or_not_found(e))?;
            if let Some(why) = &read.failed {
                out.insert("partial".into(), json!(format!("{why}: the tests of the pages before it are shown")));
            } else if read.next_page.is_some() {
                out.insert(
                    "pages_read".into(),
                    json!(format!("{} pages of {} tests (the cap); next.after reads on", read.pages, super::test_results::PER_PAGE)),
                );
            }
            (Value::Array(read.tests), read.next_page)
        }
        None => {
            query.push(("per_page", "50".into()));
            query.push(("page", page.to_string()));
            let answer = call.rest(&path, &query, &wanted).await?;
            (answer.body, answer.next_page)
        }
    };
    let mut tests: Vec<&Value> = body.as_array().into_iter().flatten().collect();
    if args.build.is_some() {
        tests.sort_by_key(|t| std::cmp::Reverse(test_failures(t)));
        let failed = tests.iter().filter(|t| test_failures(t) > 0).count();
        out.insert("failed".into(), json!(failed));
    }
    let from_build = args.build.is_some();
    let mut rows: Vec<Value> = tests
        .into_iter()
        .map(|t| {
            let mut row = test_row(t);
            if from_build && let Value::Object(map) = &mut row {
                map.insert("suite".into(), json!(suite_of(t)));
            }
            row
        })
        .collect();
    let fit = render::rows_that_fit(&rows, budget, 200);
    let cut = rows.len().saturating_sub(fit);
    rows.truncate(fit);
    render::hoist_usual(&mut out, &mut rows, &["suite"]);
    out.insert("tests".into(), Value::Array(rows));
    if rows_is_empty(&out) {
        out.insert("note".into(), json!(if args.flaky == Some(true) { "no flaky tests" } else { "no tests" }));
    }
    if cut > 0 {
        out.insert("cut".into(), json!(format!("{cut} tests of this page left out: raise max_tokens to see them")));
    }
    if let Some(next) = next_page {
        out.insert("next".into(), json!({"after": next.to_string()}));
    }
    Ok(render::render_object(Value::Object(out), budget))
}

fn rows_is_empty(out: &Map<String, Value>) -> bool {
    out.get("tests").and_then(Value::as_array).is_none_or(Vec::is_empty)
}

async fn get_test(call: &Call<'_>, args: GetTestArgs) -> Result<String, ToolError> {
    let org = call.org().await?;
    let suite = path_part("suite slug", &args.suite)?;
    let test = path_part("test ID", &args.test)?;
    let wanted = Wanted::new(format!("test {test} of suite `{suite}`"), "list_tests lists a suite's tests with their IDs");
    let answer = call.rest(&format!("v2/analytics/organizations/{org}/suites/{suite}/tests/{test}"), &[], &wanted).await?;
    let mut out = Map::new();
    out.insert("suite".into(), json!(suite));
    if let Value::Object(row) = test_row(&answer.body) {
        out.extend(row);
    }
    out.insert("file".into(), json!(text(&answer.body, "file_name")));
    out.insert("url".into(), json!(text(&answer.body, "web_url")));
    Ok(render::render_object(Value::Object(out), call.budget(2_000)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_come_first_and_expanded_failures_are_kept_short() {
        let passed = json!({"name": "a", "executions_count_by_result": {"passed": 3, "failed": 0}});
        let failed = json!({"name": "b", "executions_count_by_result": {"passed": 1, "failed": 2}});
        assert!(test_failures(&failed) > test_failures(&passed));
        assert_eq!(reliability(&json!({"reliability": 0.9834})), Some(98.3));
        assert_eq!(
            suite_of(
                &json!({"web_url": "https://buildkite.com/organizations/acme/analytics/suites/web-rspec/tests/x"})
            )
            .as_deref(),
            Some("web-rspec")
        );
        let row = failure_row(&json!({
            "test_name": "User works", "location": "./spec/user_spec.rb:4", "duration": 0.123456,
            "failure_reason": "expected 1", "failure_expanded": [{"expanded": ["  got: 2", ""], "backtrace": ["x"]}]
        }));
        assert_eq!(row["failure"], "expected 1\ngot: 2");
        assert_eq!(row["duration_s"], 0.12);
    }
}
