//! Acting, safely: every write tool end to end through the binary against the fake Buildkite, over
//! GraphQL and over REST, with the exact mutation or request the fake received; refusals; a lost
//! answer looked up and never resent; confirmation by a person in both protocol eras (rmcp clients
//! that answer `elicitation/create`, in a session and stateless); and `--demo` writes in memory.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test harness code

mod support;

use rmcp::model::{
    CallToolRequestParams, ClientCapabilities, ClientConfig, ContentBlock, ElicitRequestParams, ElicitResult,
    ElicitationAction, ProtocolVersion, ServerResult,
};
use rmcp::service::{RequestContext, RunningService};
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use rmcp::{ClientHandler, ErrorData, RoleClient, ServiceExt};
use serde_json::{Value, json};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::fake::{FakeBuildkite, Fault};
use support::{connect, pretty, snapshots_in};

const RSPEC_JOB: &str = "08d58486-29e1-47b4-b951-facf35dafc4d";
const LINT_JOB: &str = "46e537cd-e9cc-406c-8032-90fe629b1f55";
const RETRIED_JOB: &str = "5613d482-9633-444e-ae25-26dcc93cf536";
const RUNNING_JOB: &str = "3f1c2a9e-7b4d-4e21-9c8a-5d6e7f8091a2";
const RUNNING_BUILD: &str = "acme/api/88";
const FAILED_BUILD: &str = "acme/web/1342";
const NO_GRAPHQL: Fault = Fault::Status(403, "Your API access token does not have GraphQL access enabled");

/// Node IDs as Buildkite makes them (base64 of `Type---uuid`), as the demo data records them.
const RSPEC_JOB_ID: &str = "Sm9iVHlwZUNvbW1hbmQtLS0wOGQ1ODQ4Ni0yOWUxLTQ3YjQtYjk1MS1mYWNmMzVkYWZjNGQ=";
const RUNNING_BUILD_ID: &str = "QnVpbGQtLS03ZjEwODY3NS0zNTk3LTRjODMtYmM3MC1kYTAyZGI2YjlmNzQ=";
const FAILED_BUILD_ID: &str = "QnVpbGQtLS05MjdkYWUyZS04NjQwLTQzZDItOWEwYS0xYzhiODE5MGE2ZTY=";

/// A fake whose token may write (the read-write recipe).
async fn writable_fake() -> FakeBuildkite {
    let fake = FakeBuildkite::start().await;
    fake.set_scopes(buildkite_mcp_server::buildkite::rest::READ_WRITE_SCOPES);
    fake
}

/// The same, refusing GraphQL (a token without GraphQL access).
async fn rest_fake() -> FakeBuildkite {
    let fake = writable_fake().await;
    fake.fail_graphql(NO_GRAPHQL, None);
    fake
}

fn snap(tool: &str, name: &str, text: &str) {
    snapshots_in(tool).bind(|| insta::assert_snapshot!(name, pretty(text)));
}

fn parsed(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

// ---------------------------------------------------------------------------------------------
// Jobs

#[tokio::test]
async fn a_job_retry_over_graphql_sends_one_mutation_and_the_new_attempt_is_listed() {
    let fake = writable_fake().await;
    let client = connect(Some(&fake), &[], &[]).await;
    let dry = client.ok("job_action", json!({"action": "retry", "job": RSPEC_JOB, "dry_run": true})).await;
    assert!(fake.mutations().is_empty(), "a dry run sends nothing: {:?}", fake.mutations());
    snap("job_action", "retry_dry_run", &dry);
    let done = client.ok("job_action", json!({"action": "retry", "job": RSPEC_JOB})).await;
    assert_eq!(fake.mutations(), vec![json!({"operation": "JobRetry", "variables": {"id": RSPEC_JOB_ID}})]);
    snap("job_action", "retry", &done);
    let new = parsed(&done)["new_job"].as_str().unwrap().to_string();
    let jobs = client.ok("list_jobs", json!({"build": FAILED_BUILD})).await;
    assert!(jobs.contains(&new), "the retried job appears in list_jobs: {jobs}");
    // The old attempt is now retried: a second retry is refused before anything is sent.
    let again = client.err("job_action", json!({"action": "retry", "job": RSPEC_JOB})).await;
    assert!(again.contains("was already retried") && again.contains("nothing was sent"), "{again}");
    assert_eq!(fake.mutations().len(), 1);
    let log = client.stop().await;
    let audits: Vec<&str> = log.lines().filter(|l| l.starts_with("audit: ")).collect();
    assert_eq!(audits.len(), 2, "one audit line per write (dry run, retry): {audits:?}");
    assert!(
        audits[1].contains("tool=job_action") && audits[1].contains(RSPEC_JOB) && audits[1].contains("outcome=sent")
    );
    assert!(!log.contains(support::fake::TOKEN), "the token is never logged");
}

#[tokio::test]
async fn a_job_retry_over_rest_puts_the_retry_and_answers_the_same() {
    let fake = rest_fake().await;
    let client = connect(Some(&fake), &[], &[]).await;
    let done = client.ok("job_action", json!({"action": "retry", "job": RSPEC_JOB})).await;
    assert_eq!(
        fake.rest_writes(),
        vec![json!({"method": "PUT", "path": format!("v2/organizations/acme/jobs/{RSPEC_JOB}/retry"), "body": null})]
    );
    snap("job_action", "retry_rest", &done);
    let new = parsed(&done)["new_job"].as_str().unwrap().to_string();
    let jobs = client.ok("list_jobs", json!({"build": FAILED_BUILD})).await;
    assert!(jobs.contains(&new), "the retried job appears in list_jobs over REST too: {jobs}");
    let again = client.err("job_action", json!({"action": "retry", "job": RSPEC_JOB})).await;
    assert!(again.contains("was already retried"), "{again}");
    assert_eq!(fake.rest_writes().len(), 1);
    client.stop().await;
}

#[tokio::test]
async fn a_job_retried_before_is_refused_in_one_sentence() {
    let fake = writable_fake().await;
    let client = connect(Some(&fake), &[], &[]).await;
    let text = client.err("job_action", json!({"action": "retry", "job": RETRIED_JOB})).await;
    assert_eq!(
        text,
        format!(
            "job {RETRIED_JOB} was already retried: retry its latest attempt instead (list_jobs on acme/web/1342 shows it); nothing was sent"
        )
    );
    assert!(fake.mutations().is_empty());
    client.stop().await;
}

#[tokio::test]
async fn cancelling_a_running_job_over_graphql_and_refusing_it_over_rest() {
    let fake = writable_fake().await;
    let client = connect(Some(&fake), &[], &[]).await;
    let done = client.ok("cancel", json!({"job": RUNNING_JOB})).await;
    let id = "Sm9iVHlwZUNvbW1hbmQtLS0zZjFjMmE5ZS03YjRkLTRlMjEtOWM4YS01ZDZlN2Y4MDkxYTI=";
    assert_eq!(fake.mutations(), vec![json!({"operation": "JobCancel", "variables": {"id": id}})]);
    snap("cancel", "job", &done);
    let again = client.err("cancel", json!({"job": RUNNING_JOB})).await;
    assert!(again.contains("in state canceled") && again.contains("nothing was sent"), "{again}");
    client.stop().await;

    let fake = rest_fake().await;
    let client = connect(Some(&fake), &[], &[]).await;
    let text = client.err("cancel", json!({"job": RUNNING_JOB})).await;
    assert!(
        text.contains("cancelling one job needs GraphQL access") && text.contains("REST has no job cancel"),
        "{text}"
    );
    assert!(fake.rest_writes().is_empty());
    client.stop().await;
}

const BLOCK_JOB: &str = "d4172cf9-06d3-4e92-8f70-3351bb7b1cab";

#[tokio::test]
async fn unblocking_checks_the_fields_against_the_block_step_then_sends_them() {
    let fake = writable_fake().await;
    let client = connect(Some(&fake), &[], &[]).await;
    let text = client
        .err(
            "job_action",
            json!({"action": "unblock", "job": BLOCK_JOB, "fields": {"region": "mars", "colour": "red"}}),
        )
        .await;
    assert_eq!(
        text,
        "the fields do not match the block step \"Deploy to production?\": unknown field `colour` (its fields: region, notes); `region` must be one of eu, us; nothing was sent"
    );
    let text = client.err("job_action", json!({"action": "unblock", "job": BLOCK_JOB})).await;
    assert!(text.contains("missing required `region`"), "{text}");
    assert!(fake.mutations().is_empty());
    let done = client
        .ok(
            "job_action",
            json!({"action": "unblock", "job": BLOCK_JOB, "fields": {"region": "eu", "notes": "ship it"}}),
        )
        .await;
    let id = "Sm9iVHlwZUJsb2NrLS0tZDQxNzJjZjktMDZkMy00ZTkyLThmNzAtMzM1MWJiN2IxY2Fi";
    assert_eq!(
        fake.mutations(),
        vec![
            json!({"operation": "JobUnblock", "variables": {"id": id, "fields": "{\"region\":\"eu\",\"notes\":\"ship it\"}"}})
        ]
    );
    snap("job_action", "unblock", &done);
    let again =
        client.err("job_action", json!({"action": "unblock", "job": BLOCK_JOB, "fields": {"region": "eu"}})).await;
    assert!(again.contains("is unblocked, not blocked"), "{again}");
    client.stop().await;

    // Over REST the step's definition cannot be read: the fields are sent as given, saying so.
    let fake = rest_fake().await;
    let client = connect(Some(&fake), &[], &[]).await;
    let done =
        client.ok("job_action", json!({"action": "unblock", "job": BLOCK_JOB, "fields": {"region": "eu"}})).await;
    assert_eq!(
        fake.rest_writes(),
        vec![
            json!({"method": "PUT", "path": format!("v2/organizations/acme/jobs/{BLOCK_JOB}/unblock"), "body": {"fields": {"region": "eu"}}})
        ]
    );
    assert!(parsed(&done)["fields_checked"].as_str().unwrap().starts_with("no:"), "{done}");
    snap("job_action", "unblock_rest", &done);
    client.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Builds

#[tokio::test]
async fn cancelling_a_running_build_over_graphql_then_again_is_refused() {
    let fake = writable_fake().await;
    let client = connect(Some(&fake), &[], &[]).await;
    let dry = client.ok("cancel", json!({"build": RUNNING_BUILD, "dry_run": true})).await;
    assert!(
        parsed(&dry)["would"].as_str().unwrap().starts_with("Cancel acme/api#88 (running, 7 of 12 jobs done)"),
        "{dry}"
    );
    let done = client.ok("cancel", json!({"build": RUNNING_BUILD})).await;
    assert_eq!(fake.mutations(), vec![json!({"operation": "BuildCancel", "variables": {"id": RUNNING_BUILD_ID}})]);
    snap("cancel", "build", &done);
    let again = client.err("cancel", json!({"build": RUNNING_BUILD})).await;
    assert_eq!(again, "build acme/api/88 is already canceled, so there is nothing to cancel: nothing was sent");
    assert_eq!(fake.mutations().len(), 1);
    client.stop().await;
}

#[tokio::test]
async fn cancelling_a_finished_build_is_refused_without_sending() {
    let fake = writable_fake().await;
    let client = connect(Some(&fake), &[], &[]).await;
    let text = client.err("cancel", json!({"build": FAILED_BUILD})).await;
    assert_eq!(text, "build acme/web/1342 is already failed, so there is nothing to cancel: nothing was sent");
    assert!(fake.mutations().is_empty());
    client.stop().await;
}

#[tokio::test]
async fn cancelling_a_build_over_rest_puts_cancel() {
    let fake = rest_fake().await;
    let client = connect(Some(&fake), &[], &[]).await;
    let done = client.ok("cancel", json!({"build": RUNNING_BUILD})).await;
    assert_eq!(
        fake.rest_writes(),
        vec![json!({"method": "PUT", "path": "v2/organizations/acme/pipelines/api/builds/88/cancel", "body": null})]
    );
    snap("cancel", "build_rest", &done);
    let text = client.err("cancel", json!({"build": FAILED_BUILD})).await;
    assert!(text.contains("already failed"), "{text}");
    client.stop().await;
}

/// The create's marker, checked to be a fresh 32-hex-digit value, then blanked for comparison.
fn blank_marker(mut v: Value, pointer: &str) -> (Value, String) {
    let shown = v.to_string();
    let slot = v.pointer_mut(pointer).unwrap_or_else(|| panic!("no marker at {pointer}: {shown}"));
    let marker = slot.as_str().unwrap().to_string();
    assert!(marker.len() == 32 && marker.chars().all(|c| c.is_ascii_hexdigit()), "{marker}");
    *slot = json!("<marker>");
    (v, marker)
}

#[tokio::test]
async fn creating_a_build_over_graphql_sends_build_create_with_a_marker() {
    let fake = writable_fake().await;
    let client = connect(Some(&fake), &[], &[]).await;
    let args = json!({"action": "create", "pipeline": "acme/web", "message": "Try the fix", "env": {"DEBUG": "1"}, "meta_data": {"release": "yes"}});
    let done = client.ok("build_action", args).await;
    let mutations = fake.mutations();
    assert_eq!(mutations.len(), 1);
    let (sent, _) = blank_marker(mutations[0].clone(), "/variables/metaData/0/value");
    assert_eq!(
        sent,
        json!({"operation": "BuildCreate", "variables": {
            "pipelineID": "UGlwZWxpbmUtLS0wMTkwYTFiMi03YzNkLTRlNWYtOGE5Yi0wYzFkMmUzZjRhNWI=",
            "branch": "main", "commit": "HEAD", "message": "Try the fix", "env": ["DEBUG=1"],
            "metaData": [{"key": "mcp-create-marker", "value": "<marker>"}, {"key": "release", "value": "yes"}]}})
    );
    snap("build_action", "create", &done);
    assert_eq!(parsed(&done)["build"], "acme/web/1344");
    client.stop().await;
}

#[tokio::test]
async fn creating_a_build_with_clean_checkout_goes_over_rest_even_with_graphql() {
    let fake = writable_fake().await;
    let client = connect(Some(&fake), &[], &[]).await;
    let done = client
        .ok("build_action", json!({"action": "create", "pipeline": "web", "branch": "fix", "clean_checkout": true}))
        .await;
    assert!(fake.mutations().is_empty());
    let writes = fake.rest_writes();
    assert_eq!(writes.len(), 1);
    let (sent, _) = blank_marker(writes[0].clone(), "/body/meta_data/mcp-create-marker");
    assert_eq!(
        sent,
        json!({"method": "POST", "path": "v2/organizations/acme/pipelines/web/builds", "body": {
            "commit": "HEAD", "branch": "fix", "meta_data": {"mcp-create-marker": "<marker>"}, "clean_checkout": true}})
    );
    snap("build_action", "create_rest", &done);
    client.stop().await;
}

#[tokio::test]
async fn rebuilding_over_graphql_and_over_rest() {
    let fake = writable_fake().await;
    let client = connect(Some(&fake), &[], &[]).await;
    let done = client.ok("build_action", json!({"action": "rebuild", "build": FAILED_BUILD})).await;
    assert_eq!(fake.mutations(), vec![json!({"operation": "BuildRebuild", "variables": {"id": FAILED_BUILD_ID}})]);
    snap("build_action", "rebuild", &done);
    client.stop().await;

    let fake = rest_fake().await;
    let client = connect(Some(&fake), &[], &[]).await;
    let done = client
        .ok("build_action", json!({"action": "rebuild", "build": "https://buildkite.com/acme/web/builds/1342"}))
        .await;
    assert_eq!(
        fake.rest_writes(),
        vec![json!({"method": "PUT", "path": "v2/organizations/acme/pipelines/web/builds/1342/rebuild", "body": null})]
    );
    snap("build_action", "rebuild_rest", &done);
    client.stop().await;
}

#[tokio::test]
async fn infra_retry_retries_exactly_the_agent_lost_and_the_expired_job() {
    let fake = writable_fake().await;
    let client = connect(Some(&fake), &[], &[]).await;
    let done = client.ok("build_action", json!({"action": "retry_infra", "build": "acme/web/1340"})).await;
    let agent_lost = "Sm9iVHlwZUNvbW1hbmQtLS0xMzQwMDAwMS1hYWFhLTRiYmItOGNjYy0wMDAwMDAwMDAwMDE=";
    let build = "QnVpbGQtLS00YjFmN2MyZS05ZDNhLTRlNjgtYjVhMC0xYzJkM2U0ZjVhNjA=";
    assert_eq!(
        fake.mutations(),
        vec![
            json!({"operation": "JobRetry", "variables": {"id": agent_lost}}),
            json!({"operation": "BuildRetryFailedJobs", "variables": {"id": build, "states": ["EXPIRED"]}}),
        ]
    );
    snap("build_action", "retry_infra", &done);
    let v = parsed(&done);
    let retried: Vec<&str> = v["retried"].as_array().unwrap().iter().map(|r| r["job"].as_str().unwrap()).collect();
    assert_eq!(retried, ["13400001-aaaa-4bbb-8ccc-000000000001", "13400001-aaaa-4bbb-8ccc-000000000002"]);
    let skipped: Vec<&str> = v["skipped"].as_array().unwrap().iter().map(|r| r["reason"].as_str().unwrap()).collect();
    assert_eq!(skipped, ["the command failed (exit 1)", "soft failure: allowed to fail"]);
    // Both are retried now: a second call finds nothing to do and sends nothing.
    let again = client.ok("build_action", json!({"action": "retry_infra", "build": "acme/web/1340"})).await;
    assert!(again.contains("nothing was sent"), "{again}");
    assert_eq!(fake.mutations().len(), 2);
    client.stop().await;

    let fake = rest_fake().await;
    let client = connect(Some(&fake), &[], &[]).await;
    let text = client.err("build_action", json!({"action": "retry_infra", "build": "acme/web/1340"})).await;
    assert!(text.starts_with("retry_infra needs GraphQL access"), "{text}");
    assert!(fake.rest_writes().is_empty());
    client.stop().await;
}

/// The reads a write makes stay inside the API-budget issue's ceiling (2,500 at the largest).
#[tokio::test]
async fn the_reads_before_a_write_stay_inside_the_complexity_ceiling() {
    use buildkite_mcp_server::schema::complexity;
    let fake = writable_fake().await;
    let client = connect(Some(&fake), &[], &[]).await;
    for (tool, args) in [
        ("build_action", json!({"action": "retry_infra", "build": "acme/web/1340", "dry_run": true})),
        ("cancel", json!({"build": RUNNING_BUILD, "dry_run": true})),
        ("job_action", json!({"action": "unblock", "job": BLOCK_JOB, "fields": {"region": "eu"}, "dry_run": true})),
        ("build_action", json!({"action": "create", "pipeline": "web", "dry_run": true})),
    ] {
        client.ok(tool, args).await;
    }
    let schema = complexity::committed_schema().unwrap();
    for body in fake.graphql_bodies() {
        let name = body["operationName"].as_str().unwrap_or("?").to_string();
        let points = complexity::requested(&schema, body["query"].as_str().unwrap(), &body["variables"]).unwrap();
        println!("{name}: {points}");
        assert!(points <= 2_500, "{name} requests {points} complexity points");
    }
    client.stop().await;
}

#[tokio::test]
async fn retrying_a_builds_failed_jobs_over_graphql_and_over_rest() {
    let fake = writable_fake().await;
    let client = connect(Some(&fake), &[], &[]).await;
    let done = client.ok("build_action", json!({"action": "retry_failed", "build": FAILED_BUILD})).await;
    assert_eq!(
        fake.mutations(),
        vec![json!({"operation": "BuildRetryFailedJobs", "variables": {"id": FAILED_BUILD_ID}})]
    );
    snap("build_action", "retry_failed", &done);
    client.stop().await;

    let fake = rest_fake().await;
    let client = connect(Some(&fake), &[], &[]).await;
    let done = client.ok("build_action", json!({"action": "retry_failed", "build": FAILED_BUILD})).await;
    assert_eq!(
        fake.rest_writes(),
        vec![
            json!({"method": "PUT", "path": "v2/organizations/acme/pipelines/web/builds/1342/retry_failed_jobs", "body": null})
        ]
    );
    snap("build_action", "retry_failed_rest", &done);
    client.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Annotations

#[tokio::test]
async fn annotating_over_graphql_and_over_rest() {
    let fake = writable_fake().await;
    let client = connect(Some(&fake), &[], &[]).await;
    let args = json!({"build": FAILED_BUILD, "body": "**Flaky**: rspec 3/8", "context": "triage", "style": "warning", "append": true});
    let done = client.ok("annotate", args.clone()).await;
    assert_eq!(
        fake.mutations(),
        vec![
            json!({"operation": "BuildAnnotate", "variables": {"buildID": FAILED_BUILD_ID, "body": "**Flaky**: rspec 3/8", "context": "triage", "style": "WARNING", "append": true}})
        ]
    );
    snap("annotate", "append", &done);
    client.stop().await;

    let fake = rest_fake().await;
    let client = connect(Some(&fake), &[], &[]).await;
    let done = client.ok("annotate", args).await;
    assert_eq!(
        fake.rest_writes(),
        vec![json!({"method": "POST", "path": "v2/organizations/acme/pipelines/web/builds/1342/annotations",
            "body": {"body": "**Flaky**: rspec 3/8", "context": "triage", "style": "warning", "append": true}})]
    );
    snap("annotate", "append_rest", &done);
    let bad = client.err("annotate", json!({"build": FAILED_BUILD, "body": "x", "style": "loud"})).await;
    assert!(bad.contains("unknown style `loud`"), "{bad}");
    client.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Refusals

#[tokio::test]
async fn read_only_hides_the_writes_and_refuses_them_in_one_sentence() {
    let fake = writable_fake().await;
    let client = connect(Some(&fake), &[], &["--read-only"]).await;
    let names: Vec<String> =
        client.service.list_all_tools().await.unwrap().into_iter().map(|t| t.name.to_string()).collect();
    for write in ["build_action", "cancel", "job_action", "annotate"] {
        assert!(!names.iter().any(|n| n == write), "{write} offered with --read-only");
    }
    let text = client.err("cancel", json!({"build": RUNNING_BUILD})).await;
    assert_eq!(text, "cancel writes, and the server runs with --read-only");
    assert!(fake.mutations().is_empty());
    client.stop().await;
}

#[tokio::test]
async fn a_token_without_write_builds_is_not_offered_the_writes() {
    let fake = FakeBuildkite::start().await; // the read-only recipe
    let client = connect(Some(&fake), &[], &[]).await;
    let names: Vec<String> =
        client.service.list_all_tools().await.unwrap().into_iter().map(|t| t.name.to_string()).collect();
    assert!(!names.iter().any(|n| n == "job_action"), "{names:?}");
    let text = client.err("job_action", json!({"action": "retry", "job": RSPEC_JOB})).await;
    assert_eq!(
        text,
        "job_action needs the token scope write_builds, which this token lacks: add it at https://buildkite.com/user/api-access-tokens"
    );
    assert!(fake.mutations().is_empty());
    client.stop().await;
}

#[tokio::test]
async fn writes_on_unknown_builds_and_jobs_are_refused_in_one_sentence() {
    let fake = writable_fake().await;
    let client = connect(Some(&fake), &[], &[]).await;
    let text = client.err("cancel", json!({"build": "acme/web/999999"})).await;
    assert!(text.starts_with("build acme/web/999999 was not found"), "{text}");
    let unknown = "00000000-0000-4000-8000-000000000000";
    let text = client.err("job_action", json!({"action": "retry", "job": unknown})).await;
    assert!(text.starts_with(&format!("job {unknown} was not found")), "{text}");
    assert!(fake.mutations().is_empty());
    client.stop().await;
}

#[tokio::test]
async fn a_mutation_refused_with_errors_is_said_in_one_sentence() {
    let fake = writable_fake().await;
    fake.set_responder(Box::new(|operation, _| {
        (operation == "JobRetry").then(|| json!({"data": {"jobTypeCommandRetry": null}, "errors": [{"message": "Jobs from canceled builds cannot be retried"}]}))
    }));
    let client = connect(Some(&fake), &[], &[]).await;
    let text = client.err("job_action", json!({"action": "retry", "job": LINT_JOB})).await;
    assert_eq!(text, "Buildkite GraphQL error: Jobs from canceled builds cannot be retried");
    assert_eq!(fake.mutations().len(), 1);
    let log = client.stop().await;
    assert!(log.contains("outcome=refused by Buildkite"), "{log}");
}

#[tokio::test]
async fn a_lost_answer_is_looked_up_and_the_mutation_is_never_resent() {
    let fake = writable_fake().await;
    fake.lose_answer("JobRetry", Duration::from_secs(4));
    let client = connect(Some(&fake), &[("BUILDKITE_TIMEOUT", "1")], &[]).await;
    let text = client.ok("job_action", json!({"action": "retry", "job": RSPEC_JOB})).await;
    assert_eq!(fake.mutations().len(), 1, "exactly one mutation: {:?}", fake.mutations());
    let v = parsed(&text);
    assert!(v["answer_lost"].as_str().unwrap().contains("did not answer"), "{text}");
    assert_eq!(v["result"], "looked up: it took effect (not sent again)");
    assert!(v["new_job"].as_str().is_some_and(|j| j.starts_with("08d58486-29e1")), "{text}");
    assert!(fake.operations().contains(&"FindRetry".to_string()));
    client.stop().await;
}

#[tokio::test]
async fn a_mutation_rate_limited_before_processing_is_sent_again_and_a_5xx_never_is() {
    let fake = writable_fake().await;
    fake.reject_operation("JobRetry", Fault::RateLimited(1), 1);
    let client = connect(Some(&fake), &[], &[]).await;
    let text = client.ok("job_action", json!({"action": "retry", "job": RSPEC_JOB})).await;
    assert_eq!(parsed(&text)["done"], "retried", "{text}");
    assert_eq!((fake.rejected(), fake.mutations().len()), (1, 1), "a 429 is resent: it was never processed");
    client.stop().await;

    let fake = writable_fake().await;
    fake.reject_operation("JobRetry", Fault::Status(502, "Bad Gateway"), 3);
    let client = connect(Some(&fake), &[], &[]).await;
    let text = client.ok("job_action", json!({"action": "retry", "job": RSPEC_JOB})).await;
    assert_eq!(fake.rejected(), 1, "a 5xx is never resent");
    let v = parsed(&text);
    assert!(v["answer_lost"].as_str().unwrap().contains("HTTP 502"), "{text}");
    assert_eq!(
        v["result"], "looked up: it has not taken effect (not sent again; check before calling again)",
        "{text}"
    );
    client.stop().await;
}

#[tokio::test]
async fn a_lost_create_is_found_by_its_marker_over_graphql_and_rest() {
    for fake in [writable_fake().await, rest_fake().await] {
        let graphql = fake.fail_graphql_is_off();
        fake.lose_answer(if graphql { "BuildCreate" } else { "pipelines/web/builds" }, Duration::from_secs(4));
        let client = connect(Some(&fake), &[("BUILDKITE_TIMEOUT", "1")], &[]).await;
        let text = client.ok("build_action", json!({"action": "create", "pipeline": "web", "branch": "main"})).await;
        let v = parsed(&text);
        assert_eq!(v["result"], "looked up: it took effect (not sent again)", "{text}");
        assert_eq!(v["build"], "acme/web/1344", "{text}");
        assert_eq!(fake.mutations().len() + fake.rest_writes().len(), 1);
        client.stop().await;
    }
}

#[tokio::test]
async fn lost_answers_to_a_rebuild_and_a_cancel_are_looked_up_over_both_apis() {
    for rest in [false, true] {
        let fake = if rest { rest_fake().await } else { writable_fake().await };
        let client = connect(Some(&fake), &[("BUILDKITE_TIMEOUT", "1")], &[]).await;
        fake.lose_answer(if rest { "builds/1342/rebuild" } else { "BuildRebuild" }, Duration::from_secs(4));
        let text = client.ok("build_action", json!({"action": "rebuild", "build": FAILED_BUILD})).await;
        let v = parsed(&text);
        assert_eq!(v["result"], "looked up: it took effect (not sent again)", "rest {rest}: {text}");
        assert_eq!(v["build"], "acme/web/1344", "rest {rest}: {text}");
        fake.lose_answer(if rest { "builds/88/cancel" } else { "BuildCancel" }, Duration::from_secs(4));
        let text = client.ok("cancel", json!({"build": RUNNING_BUILD})).await;
        let v = parsed(&text);
        assert_eq!(v["result"], "looked up: it took effect (not sent again)", "rest {rest}: {text}");
        assert_eq!(v["now"], "canceled", "rest {rest}: {text}");
        assert_eq!(fake.mutations().len() + fake.rest_writes().len(), 2, "rest {rest}: each sent once");
        client.stop().await;
    }
}

// ---------------------------------------------------------------------------------------------
// Confirmation by a person

/// An MCP client whose person answers every question with `answer`, and remembers the questions.
#[derive(Clone)]
struct Person {
    answer: ElicitationAction,
    asked: Arc<Mutex<Vec<String>>>,
    /// Whether the client declares the elicitation capability.
    declares: bool,
}

impl ClientHandler for Person {
    fn get_info(&self) -> ClientConfig {
        let mut capabilities = ClientCapabilities::default();
        if self.declares {
            capabilities.elicitation = Some(serde_json::from_value(json!({})).unwrap());
        }
        let mut info = ClientConfig::default();
        info.capabilities = capabilities;
        info
    }

    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        let message = serde_json::to_value(&request).unwrap()["message"].as_str().unwrap_or("").to_string();
        self.asked.lock().unwrap().push(message);
        Ok(serde_json::from_value(json!({"action": self.answer})).unwrap())
    }
}

/// The binary against `fake`, with a `Person` client in the session era or (stateless) the
/// 2026-07-28 era.
async fn person(
    fake: &FakeBuildkite,
    answer: ElicitationAction,
    stateless: bool,
    args: &[&str],
) -> (RunningService<RoleClient, Person>, Arc<Mutex<Vec<String>>>) {
    person_declaring(fake, answer, stateless, args, true).await
}

/// [`person`], with a client that may not declare elicitation.
async fn person_declaring(
    fake: &FakeBuildkite,
    answer: ElicitationAction,
    stateless: bool,
    args: &[&str],
    declares: bool,
) -> (RunningService<RoleClient, Person>, Arc<Mutex<Vec<String>>>) {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let cmd = support::command(Some(fake), &[]).configure(|c| {
        c.args(&args);
    });
    let (transport, _) = TokioChildProcess::builder(cmd).stderr(Stdio::null()).spawn().unwrap();
    let asked = Arc::new(Mutex::new(Vec::new()));
    let handler = Person { answer, asked: asked.clone(), declares };
    let service = if stateless {
        use rmcp::service::{ClientLifecycleMode, ClientServiceExt};
        handler
            .serve_with_lifecycle(
                transport,
                ClientLifecycleMode::Discover { preferred_versions: vec![ProtocolVersion::V_2026_07_28] },
            )
            .await
            .unwrap()
    } else {
        handler.serve(transport).await.unwrap()
    };
    (service, asked)
}

async fn call(service: &RunningService<RoleClient, Person>, tool: &str, args: Value) -> (bool, String) {
    let params = CallToolRequestParams::new(tool.to_string()).with_arguments(args.as_object().unwrap().clone());
    let result = service.call_tool(params).await.unwrap();
    let text = result
        .content
        .iter()
        .filter_map(|c| match c {
            ContentBlock::Text(t) => Some(t.text.clone()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n");
    (result.is_error == Some(true), text)
}

#[tokio::test]
async fn a_person_confirms_or_declines_in_both_protocol_eras() {
    for stateless in [false, true] {
        let era = if stateless { "2026-07-28" } else { "2025-11-25" };
        let fake = writable_fake().await;
        let (service, asked) = person(&fake, ElicitationAction::Decline, stateless, &[]).await;
        let (error, text) = call(&service, "cancel", json!({"build": RUNNING_BUILD})).await;
        assert!(
            error
                && text
                    == "the person declined to confirm: Cancel acme/api#88 (running, 7 of 12 jobs done); nothing was sent to Buildkite",
            "{era}: {text}"
        );
        assert_eq!(
            *asked.lock().unwrap(),
            vec!["Cancel acme/api#88 (running, 7 of 12 jobs done)?".to_string()],
            "{era}"
        );
        assert!(fake.mutations().is_empty(), "{era}: declined, nothing sent: {:?}", fake.mutations());
        let _ = service.cancel().await;

        let (service, asked) = person(&fake, ElicitationAction::Accept, stateless, &[]).await;
        let (error, text) = call(&service, "cancel", json!({"build": RUNNING_BUILD})).await;
        assert!(!error, "{era}: {text}");
        assert_eq!(parsed(&text)["done"], "canceled", "{era}");
        assert_eq!(asked.lock().unwrap().len(), 1, "{era}");
        assert_eq!(
            fake.mutations(),
            vec![json!({"operation": "BuildCancel", "variables": {"id": RUNNING_BUILD_ID}})],
            "{era}"
        );
        let _ = service.cancel().await;
    }
}

#[tokio::test]
async fn a_client_without_elicitation_is_not_asked_in_either_era() {
    for stateless in [false, true] {
        let fake = writable_fake().await;
        let (service, asked) = person_declaring(&fake, ElicitationAction::Decline, stateless, &[], false).await;
        let (error, text) = call(&service, "job_action", json!({"action": "retry", "job": RSPEC_JOB})).await;
        assert!(!error, "stateless {stateless}: {text}");
        assert!(asked.lock().unwrap().is_empty(), "stateless {stateless}");
        assert_eq!(fake.mutations().len(), 1, "stateless {stateless}");
        let _ = service.cancel().await;
    }
}

#[tokio::test]
async fn no_confirm_sends_without_asking() {
    let fake = writable_fake().await;
    let (service, asked) = person(&fake, ElicitationAction::Decline, false, &["--no-confirm"]).await;
    let (error, text) = call(&service, "job_action", json!({"action": "retry", "job": RSPEC_JOB})).await;
    assert!(!error, "{text}");
    assert!(asked.lock().unwrap().is_empty());
    assert_eq!(fake.mutations().len(), 1);
    let _ = service.cancel().await;
}

/// One stateless round by hand: the input-required result of a first call.
async fn first_round(service: &RunningService<RoleClient, Person>, tool: &str, args: &Value) -> (String, Value) {
    let params = CallToolRequestParams::new(tool.to_string()).with_arguments(args.as_object().unwrap().clone());
    let result = service.call_tool_once(params).await.unwrap();
    let value = serde_json::to_value(ServerResult::from(result)).unwrap();
    let state =
        value["requestState"].as_str().unwrap_or_else(|| panic!("an input-required result: {value}")).to_string();
    assert_eq!(value["inputRequests"]["confirm"]["method"], "elicitation/create", "{value}");
    (state, value)
}

async fn second_round(
    service: &RunningService<RoleClient, Person>,
    tool: &str,
    args: &Value,
    state: &str,
    action: &str,
) -> (bool, String) {
    let mut responses = std::collections::BTreeMap::new();
    responses.insert("confirm".to_string(), json!({"action": action}));
    let params = CallToolRequestParams::new(tool.to_string())
        .with_arguments(args.as_object().unwrap().clone())
        .with_input_responses(responses)
        .with_request_state(state.to_string());
    let result = service.call_tool_once(params).await.unwrap();
    let value = serde_json::to_value(ServerResult::from(result)).unwrap();
    let text = value["content"][0]["text"].as_str().unwrap_or("").to_string();
    (value["isError"] == json!(true), text)
}

#[tokio::test]
async fn a_sealed_confirmation_is_used_once_and_only_for_its_own_write() {
    let fake = writable_fake().await;
    let (service, _) = person(&fake, ElicitationAction::Accept, true, &[]).await;
    let rspec = json!({"action": "retry", "job": RSPEC_JOB});
    let lint = json!({"action": "retry", "job": LINT_JOB});
    let (state, first) = first_round(&service, "job_action", &rspec).await;
    let question = first["inputRequests"]["confirm"]["params"]["message"].as_str().unwrap();
    assert_eq!(question, "Retry \":rspec: RSpec 3/8\" of acme/web#1342 (failed)?", "{first}");
    assert!(fake.mutations().is_empty());
    // Swapped onto another write: refused, nothing sent.
    let (error, text) = second_round(&service, "job_action", &lint, &state, "accept").await;
    assert!(error && text.contains("does not match this write"), "{text}");
    // Altered: refused.
    let mut altered = state.clone();
    let last = altered.pop().unwrap();
    altered.push(if last == 'A' { 'B' } else { 'A' });
    let (error, text) = second_round(&service, "job_action", &rspec, &altered, "accept").await;
    assert!(error && text.contains("does not match this write"), "{text}");
    // Declined in the answer: nothing sent.
    let (error, text) = second_round(&service, "job_action", &rspec, &state, "decline").await;
    assert!(error && text.starts_with("the person declined"), "{text}");
    assert!(fake.mutations().is_empty());
    // Its own write, accepted: sent once; the same state again is refused as used.
    let note = json!({"build": FAILED_BUILD, "body": "checked", "context": "review"});
    let (state, _) = first_round(&service, "annotate", &note).await;
    let (error, text) = second_round(&service, "annotate", &note, &state, "accept").await;
    assert!(!error, "{text}");
    assert_eq!(fake.mutations().len(), 1);
    let (error, text) = second_round(&service, "annotate", &note, &state, "accept").await;
    assert!(error && text.contains("already used"), "{text}");
    assert_eq!(fake.mutations().len(), 1, "a replay sends nothing");
    let _ = service.cancel().await;
}

// ---------------------------------------------------------------------------------------------
// Demo

#[tokio::test]
async fn demo_writes_change_the_demo_organization_in_memory() {
    let client = connect(None, &[], &["--demo"]).await;
    let done = client.ok("job_action", json!({"action": "retry", "job": LINT_JOB})).await;
    let new = parsed(&done)["new_job"].as_str().unwrap().to_string();
    let jobs = client.ok("list_jobs", json!({"build": FAILED_BUILD})).await;
    assert!(jobs.contains(&new), "{jobs}");
    client.stop().await;
    // A fresh demo server starts from the recordings again.
    let client = connect(None, &[], &["--demo"]).await;
    let jobs = client.ok("list_jobs", json!({"build": FAILED_BUILD})).await;
    assert!(!jobs.contains(&new), "{jobs}");
    client.stop().await;
}
