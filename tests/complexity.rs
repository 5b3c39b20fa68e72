//! The requested GraphQL complexity of every operation, as each tool sends it at its defaults and at
//! its largest arguments, computed with Buildkite's documented formula
//! (`buildkite_mcp_server::schema::complexity`) from the request bodies the fake received. The
//! figures are printed as a table (`cargo test --test complexity -- --nocapture`) and each is held
//! under its ceiling in `tests/budgets.json` (`complexity`), so no operation grows unnoticed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test harness code

mod support;

use buildkite_mcp_server::schema::complexity;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use support::connect;
use support::fake::FakeBuildkite;

const RSPEC_JOB: &str = "08d58486-29e1-47b4-b951-facf35dafc4d";
const ARTIFACT: &str = "019da481-2bd7-4616-9f61-1e77d966f58e";
const BUSY_AGENT: &str = "3e4e9be6-a8ee-420d-9c74-845195fa7f5b";
const RSPEC_QUEUE: &str = "Q2x1c3RlclF1ZXVlLS0tZGMzNmZjOTAtMjI0OC00ZDcwLWFjYTQtYTFhOWY1YjE5Zjcx";
const LINUX_CLUSTER: &str = "62f746b4-84e6-4ceb-95bd-447e7184d454";
const NIGHTLY: &str = "21bade02-6a6a-4768-b2ed-66ffdcc99396";

/// The API-budget targets: every operation at its tool's defaults, at its largest arguments, and
/// the daily path's own requests at their defaults (half a user's five-minute budget is 2,500).
const DEFAULT_TARGET: u64 = 500;
const MAX_TARGET: u64 = 2_500;
const DAILY_TARGET: u64 = 300;
/// The daily path: `get_build` and the failure summary (one operation), `list_builds`, `list_jobs`.
const DAILY: &[&str] = &["GetBuild", "ListBuilds", "ListJobs"];
/// The failure summary's second request, the history of the failed steps (20 builds on each of two
/// branches), listed apart with its own target.
const HISTORY: &str = "GetStepHistory";
const HISTORY_TARGET: u64 = 1_000;

/// Calls at a tool's defaults (`default`) and with its largest page sizes or heaviest form (`max`).
fn calls() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        ("default", "current_user", json!({})),
        ("default", "list_teams", json!({})),
        ("max", "list_teams", json!({"first": 100})),
        ("default", "list_pipelines", json!({})),
        ("max", "list_pipelines", json!({"first": 100})),
        ("default", "get_pipeline", json!({"pipeline": "acme/web"})),
        ("max", "get_pipeline", json!({"pipeline": "acme/web", "steps": true, "recent_builds": 20})),
        ("default", "list_schedules", json!({})),
        ("default", "list_schedules", json!({"pipeline": "acme/web"})),
        ("default", "list_schedules", json!({"pipeline": "acme/web", "schedule": NIGHTLY})),
        ("default", "list_builds", json!({"pipeline": "acme/web"})),
        ("max", "list_builds", json!({"pipeline": "acme/web", "first": 100})),
        ("default", "get_build", json!({"build": "acme/web/1342"})),
        ("max", "get_build", json!({"build": "acme/web/1342", "max_jobs": 100})),
        ("default", "compare_builds", json!({"build": "acme/web/1342"})),
        ("max", "compare_builds", json!({"build": "acme/web/1342", "base": "1331"})),
        ("default", "list_step_uploads", json!({"build": "acme/web/1342"})),
        ("max", "list_step_uploads", json!({"build": "acme/web/1342", "jobs": 50})),
        ("default", "get_build_failure_summary", json!({"build": "acme/web/1342"})),
        ("max", "get_build_failure_summary", json!({"build": "acme/web/1342", "max_jobs": 10})),
        ("default", "get_build_failure_summary", json!({"build": "acme/web/1342", "history": "rspec"})),
        ("default", "wait_for_build", json!({"build": "acme/web/1342"})),
        ("default", "list_jobs", json!({"build": "acme/web/1342"})),
        ("max", "list_jobs", json!({"build": "acme/web/1342", "first": 100})),
        ("default", "get_job", json!({"job": RSPEC_JOB})),
        ("default", "log_digest", json!({"job": RSPEC_JOB})),
        ("default", "list_annotations", json!({"build": "acme/web/1342"})),
        ("max", "list_annotations", json!({"build": "acme/web/1342", "first": 50})),
        ("default", "list_artifacts", json!({"job": RSPEC_JOB})),
        ("default", "get_artifact", json!({"artifact": ARTIFACT})),
        ("default", "list_agents", json!({})),
        ("max", "list_agents", json!({"first": 100})),
        ("default", "get_agent", json!({"agent": BUSY_AGENT})),
        ("max", "get_agent", json!({"agent": "ci-agent"})),
        ("default", "list_clusters", json!({})),
        ("max", "list_clusters", json!({"cluster": LINUX_CLUSTER})),
        ("max", "list_clusters", json!({"cluster": "Linux"})),
        ("default", "get_queue", json!({"queue": RSPEC_QUEUE})),
        ("max", "get_queue", json!({"queue": "rspec"})),
        ("max", "get_queue", json!({"queue": "python", "cluster": "Linux CI"})),
        ("max", "get_queue", json!({"queue": RSPEC_QUEUE, "jobs": 50})),
        ("default", "list_suites", json!({})),
        ("max", "list_suites", json!({"first": 100})),
        ("default", "list_tests", json!({"build": "acme/web/1342"})),
    ]
}

#[tokio::test]
async fn every_operation_stays_under_its_complexity_ceiling() {
    let fake = FakeBuildkite::start().await;
    let client = connect(Some(&fake), &[], &[]).await;
    let schema = complexity::committed_schema().unwrap();
    // (operation, kind) → (highest figure, the call that sent it)
    let mut figures: BTreeMap<(String, &str), (u64, String)> = BTreeMap::new();
    for (kind, tool, args) in calls() {
        let before = fake.graphql_bodies().len();
        let (_, _) = client.call(tool, args.clone()).await;
        for body in &fake.graphql_bodies()[before..] {
            let name = body["operationName"].as_str().unwrap_or("?").to_string();
            let query = body["query"].as_str().unwrap_or("");
            let vars = body.get("variables").cloned().unwrap_or(json!({}));
            let points = complexity::requested(&schema, query, &vars).unwrap_or_else(|e| panic!("{name}: {e}"));
            let entry = figures.entry((name, kind)).or_insert((0, String::new()));
            if points >= entry.0 {
                *entry = (points, format!("{tool} {args}"));
            }
        }
    }
    client.stop().await;
    let budgets = support::budgets();
    let mut report = vec!["| operation | at defaults | at maximum arguments |".to_string(), "|---|---:|---:|".into()];
    let mut over = Vec::new();
    let operations: std::collections::BTreeSet<&String> = figures.keys().map(|(op, _)| op).collect();
    for op in operations {
        let cell = |kind: &str| figures.get(&(op.clone(), kind)).map(|(n, _)| n.to_string()).unwrap_or("–".into());
        report.push(format!("| `{op}` | {} | {} |", cell("default"), cell("max")));
        for kind in ["default", "max"] {
            let Some((points, call)) = figures.get(&(op.clone(), kind)) else { continue };
            let target = match kind {
                _ if op == HISTORY => HISTORY_TARGET,
                "default" if DAILY.contains(&op.as_str()) => DAILY_TARGET,
                "default" => DEFAULT_TARGET,
                _ => MAX_TARGET,
            };
            if *points > target {
                over.push(format!("TARGET {op} {kind}: {points} > {target} ({call})"));
            }
            match budgets["complexity"][op.as_str()][kind].as_u64() {
                Some(limit) if *points <= limit => {}
                Some(limit) => over.push(format!("OVER {op} {kind}: {points} > {limit} ({call})")),
                None => over.push(format!("NONE {op} {kind}: {points} has no ceiling in tests/budgets.json ({call})")),
            }
        }
    }
    println!("{}", report.join("\n"));
    assert!(over.is_empty(), "complexity ceilings (tests/budgets.json, complexity):\n{}", over.join("\n"));
}

/// With debug logging, each GraphQL request's computed complexity is logged, it asks Buildkite for
/// its query stats (`Buildkite-Include-Query-Stats: true`), and logs the requested and actual
/// figures the answer carries; without it, neither the header nor the lines.
#[tokio::test]
async fn debug_logs_carry_the_computed_and_the_reported_complexity() {
    let fake = FakeBuildkite::start().await;
    let client = connect(Some(&fake), &[("RUST_LOG", "debug")], &[]).await;
    client.ok("get_build", json!({"build": "acme/web/1342"})).await;
    let log = client.stop().await;
    assert!(log.contains("graphql request operation=\"GetBuild\" complexity=232"), "{log}");
    let reported =
        log.lines().find(|l| l.contains("graphql complexity reported by Buildkite") && l.contains("GetBuild"));
    let reported = reported.unwrap_or_else(|| panic!("no reported figures: {log}"));
    assert!(reported.contains("requested=232") && reported.contains("actual="), "{reported}");

    let quiet = FakeBuildkite::start().await;
    let client = connect(Some(&quiet), &[("RUST_LOG", "warn")], &[]).await;
    client.ok("get_build", json!({"build": "acme/web/1342"})).await;
    let log = client.stop().await;
    assert!(!log.contains("complexity"), "{log}");
}
