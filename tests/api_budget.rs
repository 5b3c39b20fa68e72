//! No repeated work in one conversation (`src/buildkite/memo.rs`): a finished build read by one
//! tool is not fetched again by the next within a minute, for the same token; a 401 forgets it; a
//! running build is always fetched; log reads keep their access check. The request counts of the
//! three-call sequence are printed (`cargo test --test api_budget -- --nocapture`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test harness code

mod support;

use serde_json::{Value, json};
use support::connect;
use support::fake::{FakeBuildkite, Fault};

const RSPEC_JOB: &str = "08d58486-29e1-47b4-b951-facf35dafc4d";

/// get_build, the failure summary, compare_builds, then the same three again (the model asks
/// again): the GraphQL operations the fake received, in order, and the REST requests.
async fn sequence(memo: bool) -> (Vec<String>, usize) {
    let fake = FakeBuildkite::start().await;
    let env: &[(&str, &str)] = if memo { &[] } else { &[("BUILDKITE_MCP_NO_MEMO", "true")] };
    let client = connect(Some(&fake), env, &[]).await;
    client.service.list_all_tools().await.unwrap();
    let before = fake.graphql_bodies().len();
    let rest = fake.rest_requests();
    let build = json!({"build": "acme/web/1342"});
    for _ in 0..2 {
        client.ok("get_build", build.clone()).await;
        client.ok("get_build_failure_summary", build.clone()).await;
        client.ok("compare_builds", build.clone()).await;
    }
    client.stop().await;
    let ops = fake.graphql_bodies()[before..]
        .iter()
        .map(|b| b["operationName"].as_str().unwrap_or("?").to_string())
        .collect();
    (ops, fake.rest_requests() - rest)
}

#[tokio::test]
async fn a_finished_build_read_by_one_tool_is_not_fetched_again_by_the_next() {
    let (without, rest_without) = sequence(false).await;
    let (with, rest_with) = sequence(true).await;
    println!("without the memo: {} GraphQL requests {without:?}, {rest_without} REST", without.len());
    println!("with the memo:    {} GraphQL requests {with:?}, {rest_with} REST", with.len());
    // get_build and the failure summary share one operation (the summary adds the history of the
    // failed steps); compare_builds reads the head's every command job and the base; the second
    // round is served from memory.
    assert_eq!(with, ["GetBuild", "GetStepHistory", "CompareBuilds", "CompareBuilds"]);
    assert_eq!(without.len(), 10, "{without:?}");
    assert!(rest_with <= rest_without, "{rest_with} > {rest_without}");
}

/// A 401 from Buildkite forgets what the token read: the same finished build is fetched again.
#[tokio::test]
async fn a_rejected_token_never_reads_kept_answers() {
    let fake = FakeBuildkite::start().await;
    let client = connect(Some(&fake), &[("BUILDKITE_MAX_RETRIES", "0")], &[]).await;
    let build = json!({"build": "acme/web/1342"});
    client.ok("get_build", build.clone()).await;
    let kept = fake.graphql_requests();
    client.ok("get_build", build.clone()).await;
    assert_eq!(fake.graphql_requests(), kept, "served from memory");
    fake.fail_graphql(Fault::Status(401, "Authentication required"), Some(1));
    let err = client.err("list_pipelines", json!({})).await;
    assert!(err.contains("401"), "{err}");
    let rejected = fake.graphql_requests();
    let again = client.ok("get_build", build.clone()).await;
    assert_eq!(fake.graphql_requests(), rejected + 1, "fetched again after the 401");
    assert!(again.contains("\"build\":\"acme/web/1342\""), "{again}");
    client.stop().await;
}

/// A running build is fetched on every call; a finished one once.
#[tokio::test]
async fn a_running_build_is_never_kept() {
    let fake = FakeBuildkite::start().await;
    let client = connect(Some(&fake), &[], &[]).await;
    client.service.list_all_tools().await.unwrap();
    let running = json!({"build": "acme/api/88"});
    let v: Value = serde_json::from_str(&client.ok("get_build", running.clone()).await).unwrap();
    assert_eq!(v["state"], "running");
    let before = fake.graphql_requests();
    client.ok("get_build", running.clone()).await;
    client.ok("list_step_uploads", running.clone()).await;
    client.ok("list_step_uploads", running.clone()).await;
    assert_eq!(fake.graphql_requests() - before, 3, "every call asks Buildkite");
    client.stop().await;
}

/// Log reads keep their access check: each one asks Buildkite for the job's log (the log cache
/// serves the bytes only after Buildkite answered), finished or not.
#[tokio::test]
async fn every_log_read_keeps_its_access_check() {
    let fake = FakeBuildkite::start().await;
    let client = connect(Some(&fake), &[], &[]).await;
    client.service.list_all_tools().await.unwrap();
    for _ in 0..3 {
        client.ok("tail_log", json!({"job": RSPEC_JOB})).await;
    }
    let checks = fake.operations().iter().filter(|o| o.starts_with("log ")).count();
    assert_eq!(checks, 3, "{:?}", fake.operations());
    client.stop().await;
}
