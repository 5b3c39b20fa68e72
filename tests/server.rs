//! The server process around the tools: faults from Buildkite, a rejected token, an unknown tool,
//! start-up errors, garbage on stdin, demo mode, and the committed GraphQL schema (pruned, and
//! reproduced by refreshing it over introspection). Each test has its own fake and process.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test harness code

mod support;

use serde_json::{Value, json};
use std::time::Duration;
use support::connect;
use support::fake::{FakeBuildkite, Fault, TOKEN};

/// How many tools this build has (the library's catalogue).
fn catalogued_tools() -> usize {
    buildkite_mcp_server::tools::catalogue().len()
}

/// A fault from Buildkite's GraphQL API gives one clear sentence on a get_build call, and the
/// server serves the next call once it clears. Each fault has its own fake and server (timeout
/// 1 s, one retry), so the faults run side by side and `cargo test faults::` runs them.
async fn fault_gives_one_clear_sentence_and_the_server_keeps_serving(fault: Fault, expected: &str) {
    let fake = FakeBuildkite::start().await;
    let client = connect(
        Some(&fake),
        &[("BUILDKITE_TIMEOUT", "1"), ("BUILDKITE_MAX_RETRIES", "1"), ("BUILDKITE_MCP_NO_MEMO", "true")],
        &[],
    )
    .await;
    let get = json!({"build": "acme/web/1342"});
    fake.fail_graphql(fault.clone(), None);
    let message = client.err("get_build", get.clone()).await;
    fake.heal();
    assert!(message.contains(expected), "{fault:?}: got {message:?}");
    assert!(!message.contains('\n'), "{fault:?}: one sentence: {message:?}");
    assert!(!message.contains(TOKEN));
    client.ok("get_build", get.clone()).await;
    let log = client.stop().await;
    assert!(!log.contains(TOKEN), "the token leaked into the log");
}

mod faults {
    use super::*;

    #[tokio::test]
    async fn unauthorized() {
        let fault = Fault::Status(401, "Authentication required");
        fault_gives_one_clear_sentence_and_the_server_keeps_serving(fault, "rejected the API token (401 Unauthorized)")
            .await;
    }

    /// A GraphQL 403 that REST shares (the token cannot see the organization at all) is one sentence
    /// naming both causes; one that REST does not share means the token lacks GraphQL access, and
    /// the call is answered over REST instead (tests/rest_only.rs covers that path in full).
    #[tokio::test]
    async fn graphql_not_enabled() {
        let fault = Fault::Status(403, "GraphQL access is not enabled for this token");
        let fake = FakeBuildkite::start().await;
        let client = connect(Some(&fake), &[("BUILDKITE_TIMEOUT", "1"), ("BUILDKITE_MAX_RETRIES", "1")], &[]).await;
        let get = json!({"build": "acme/web/1342"});
        fake.fail_graphql(fault.clone(), None);
        fake.fail_rest(fault);
        let message = client.err("get_build", get.clone()).await;
        assert!(message.contains("Enable GraphQL API access"), "got {message:?}");
        assert!(!message.contains('\n') && !message.contains(TOKEN), "one sentence: {message:?}");
        fake.heal();
        fake.fail_graphql(Fault::Status(403, "GraphQL access is not enabled for this token"), None);
        let text = client.ok("get_build", get.clone()).await;
        assert!(text.contains("\"build\":\"acme/web/1342\""), "answered over REST: {text}");
        let log = client.stop().await;
        assert!(!log.contains(TOKEN), "the token leaked into the log");
    }

    #[tokio::test]
    async fn rate_limited() {
        let fault = Fault::RateLimited(0);
        fault_gives_one_clear_sentence_and_the_server_keeps_serving(
            fault,
            "rate limit is exhausted (429, the GraphQL per-user limit of 5000 complexity points per 5 minutes) after 2 attempts",
        )
        .await;
    }

    /// A 429 whose reset is far off is not slept through: the one sentence names the user limit
    /// and the wait, after one attempt.
    #[tokio::test]
    async fn rate_limited_names_the_user_limit_and_the_wait() {
        let fake = FakeBuildkite::start().await;
        let client = connect(Some(&fake), &[], &[]).await;
        fake.fail_graphql(Fault::RateLimited(187), None);
        let before = fake.graphql_requests();
        let message = client.err("get_build", json!({"build": "acme/web/1342"})).await;
        assert_eq!(fake.graphql_requests() - before, 1, "not retried into a 3-minute wait");
        assert!(
            message.contains(
                "Buildkite's rate limit is exhausted (429, the GraphQL per-user limit of 5000 complexity points per 5 minutes) after 1 attempt; try again in 3 min 7 s"
            ),
            "{message}"
        );
        client.stop().await;
    }

    #[tokio::test]
    async fn server_error() {
        let fault = Fault::Status(500, "boom");
        fault_gives_one_clear_sentence_and_the_server_keeps_serving(fault, "answered HTTP 500 2 times in a row").await;
    }

    #[tokio::test]
    async fn unavailable() {
        let fault = Fault::Status(503, "maintenance");
        fault_gives_one_clear_sentence_and_the_server_keeps_serving(fault, "answered HTTP 503 2 times in a row").await;
    }

    #[tokio::test]
    async fn answers_too_slowly() {
        let fault = Fault::Slow(Duration::from_secs(3));
        fault_gives_one_clear_sentence_and_the_server_keeps_serving(fault, "did not answer within 1 s (2 attempts)")
            .await;
    }

    #[tokio::test]
    async fn malformed_json() {
        fault_gives_one_clear_sentence_and_the_server_keeps_serving(Fault::Malformed, "could not read (malformed JSON")
            .await;
    }

    #[tokio::test]
    async fn graphql_errors() {
        let fault = Fault::GraphQLErrors("Query has complexity of 251503, which exceeds max complexity of 50000");
        let expected = "Buildkite GraphQL error: Query has complexity of 251503";
        fault_gives_one_clear_sentence_and_the_server_keeps_serving(fault, expected).await;
    }

    #[tokio::test]
    async fn bad_request() {
        let fault = Fault::Status(400, "Bad request");
        fault_gives_one_clear_sentence_and_the_server_keeps_serving(fault, "Buildkite answered HTTP 400: Bad request")
            .await;
    }

    #[tokio::test]
    async fn no_graphql_endpoint() {
        let fault = Fault::Status(404, "Not Found");
        fault_gives_one_clear_sentence_and_the_server_keeps_serving(fault, "no GraphQL endpoint at http://127.0.0.1")
            .await;
    }

    /// A 429 that clears within the retries is invisible to the caller.
    #[tokio::test]
    async fn rate_limit_that_clears_within_the_retries() {
        let fake = FakeBuildkite::start().await;
        let env = [("BUILDKITE_TIMEOUT", "1"), ("BUILDKITE_MAX_RETRIES", "1"), ("BUILDKITE_MCP_NO_MEMO", "true")];
        let client = connect(Some(&fake), &env, &[]).await;
        client.ok("get_build", json!({"build": "acme/web/1342"})).await;
        fake.fail_graphql(Fault::RateLimited(0), Some(1));
        let before = fake.graphql_requests();
        client.ok("get_build", json!({"build": "acme/web/1342"})).await;
        assert_eq!(fake.graphql_requests() - before, 2, "one retry after the 429");
        let log = client.stop().await;
        assert!(!log.contains(TOKEN), "the token leaked into the log");
    }
}

/// When an answer's `RateLimit-*` headers show under a fifth of a limit left, the tool's output
/// carries one `rate_limit` field naming the tightest limit and its reset; with room, none.
#[tokio::test]
async fn low_rate_limit_headroom_is_one_field_in_the_output() {
    let fake = FakeBuildkite::start().await;
    // Each call reaches Buildkite (the headroom is read from answers, not from memory).
    let client = connect(Some(&fake), &[("BUILDKITE_MCP_NO_MEMO", "true")], &[]).await;
    let get = json!({"build": "acme/web/1342"});
    fake.set_answer_headers(&[
        ("RateLimit-Remaining", "15000"),
        ("RateLimit-Limit", "20000"),
        ("RateLimit-Reset", "250"),
        ("RateLimit-User-Remaining", "4100"),
        ("RateLimit-User-Limit", "5000"),
        ("RateLimit-User-Reset", "250"),
    ]);
    let roomy = client.ok("get_build", get.clone()).await;
    assert!(!roomy.contains("rate_limit"), "{roomy}");
    fake.set_answer_headers(&[
        ("RateLimit-Remaining", "15000"),
        ("RateLimit-Limit", "20000"),
        ("RateLimit-Reset", "250"),
        ("RateLimit-User-Remaining", "640"),
        ("RateLimit-User-Limit", "5000"),
        ("RateLimit-User-Reset", "187"),
    ]);
    let low: Value = serde_json::from_str(&client.ok("get_build", get.clone()).await).unwrap();
    let note = low["rate_limit"].as_str().unwrap();
    assert!(
        note.starts_with(
            "640 left of the GraphQL per-user limit of 5000 complexity points per 5 minutes, resets in 3 min"
        ),
        "{note}"
    );
    assert_eq!(low["build"], "acme/web/1342", "the answer itself is unchanged");
    // REST answers count too: a log read meets the REST per-user limit running low.
    fake.set_answer_headers(&[
        ("RateLimit-User-Remaining", "4"),
        ("RateLimit-User-Limit", "50"),
        ("RateLimit-User-Reset", "30"),
    ]);
    let tail: Value =
        serde_json::from_str(&client.ok("tail_log", json!({"job": "08d58486-29e1-47b4-b951-facf35dafc4d"})).await)
            .unwrap();
    assert!(
        tail["rate_limit"].as_str().unwrap().contains("of the REST per-user limit of 50 requests per minute"),
        "{tail}"
    );
    client.stop().await;
}

/// An unknown tool is a protocol error, and the server still serves.
#[tokio::test]
async fn an_unknown_tool_is_a_protocol_error_and_the_server_keeps_serving() {
    let fake = FakeBuildkite::start().await;
    let client = connect(Some(&fake), &[], &[]).await;
    let unknown = client.service.call_tool(rmcp::model::CallToolRequestParams::new("no_such_tool")).await;
    assert!(unknown.is_err());
    client.ok("current_user", json!({})).await;
    client.stop().await;
}

#[tokio::test]
async fn a_rejected_token_is_reported_on_every_call() {
    let fake = FakeBuildkite::start().await;
    let client = connect(Some(&fake), &[("BUILDKITE_API_TOKEN", "bkua_wrong")], &[]).await;
    assert_eq!(
        client.service.list_all_tools().await.unwrap().len(),
        catalogued_tools(),
        "scopes unknown: every tool is offered"
    );
    let message = client.err("current_user", json!({})).await;
    assert!(message.contains("rejected the API token (401 Unauthorized)"), "{message}");
    let log = client.stop().await;
    assert!(!log.contains("bkua_wrong"), "the token leaked into the log");
}

#[tokio::test]
async fn demo_mode_needs_no_token_and_serves_the_read_tools() {
    let client = connect(None, &[], &["--demo"]).await;
    assert_eq!(client.service.list_all_tools().await.unwrap().len(), catalogued_tools());
    let text = client.ok("get_build", json!({"build": "https://buildkite.com/acme/web/builds/1342"})).await;
    assert!(text.contains(":rspec: RSpec 3/8"), "{text}");
    let text = client.ok("list_pipelines", json!({})).await;
    assert!(text.contains("\"total\":6"), "{text}");
    client.stop().await;
}

#[tokio::test]
async fn start_up_errors_are_one_line_with_a_fix() {
    let out = support::command(None, &[]).arg("stdio").output().await.unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no Buildkite API token: set BUILDKITE_API_TOKEN"), "{stderr}");
    assert!(stderr.contains("--demo"), "{stderr}");

    let fake = FakeBuildkite::start().await;
    let out =
        support::command(Some(&fake), &[("BUILDKITE_GRAPHQL_URL", "graphql.buildkite.com")]).output().await.unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("BUILDKITE_GRAPHQL_URL `graphql.buildkite.com` is not an http(s) URL"), "{stderr}");

    let out = support::command(Some(&fake), &[("BUILDKITE_TOOLSETS", "builds,nope")]).output().await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown toolset `nope`"), "{stderr}");
}

#[tokio::test]
async fn garbage_on_stdin_does_not_stop_the_server() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let mut child = support::command(None, &[])
        .arg("--demo")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let lines = [
        "this is not json".to_string(),
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}".to_string(),
        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}".to_string(),
        "{\"broken\": [1, 2".to_string(),
        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"get_build\",\"arguments\":{\"build\":\"acme/web/1342\"}}}".to_string(),
    ];
    for line in &lines {
        stdin.write_all(line.as_bytes()).await.unwrap();
        stdin.write_all(b"\n").await.unwrap();
    }
    stdin.flush().await.unwrap();
    let mut answered = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while answered.len() < 2 {
        let line = tokio::time::timeout_at(deadline, stdout.next_line()).await.expect("server answered").unwrap();
        let Some(line) = line else { break };
        let v: Value = serde_json::from_str(&line).unwrap();
        if let Some(id) = v.get("id").and_then(Value::as_i64) {
            answered.push((id, v));
        }
    }
    let ids: Vec<i64> = answered.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, [1, 2], "{answered:?}");
    assert!(answered[1].1["result"]["content"][0]["text"].as_str().unwrap().contains("acme/web/1342"));
    drop(stdin);
    let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
}

#[tokio::test]
async fn schema_refresh_over_introspection_reproduces_the_committed_schema() {
    let fake = FakeBuildkite::start().await;
    let out = support::command(Some(&fake), &[])
        .args(["schema", "refresh", "--endpoint", &fake.graphql_url(), "--check"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("unchanged"), "{stderr}");
    assert_eq!(fake.operations(), ["IntrospectionQuery"]);

    // Without the token the endpoint refuses, and the error says so without the token.
    let out = support::command(Some(&fake), &[("BUILDKITE_API_TOKEN", "bkua_wrong")])
        .args(["schema", "refresh", "--endpoint", &fake.graphql_url(), "--check"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("introspection of") && stderr.contains("401"), "{stderr}");
    assert!(!stderr.contains("bkua_wrong"), "{stderr}");
}

#[test]
fn the_committed_schema_is_pruned_and_has_no_descriptions() {
    let sdl = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/graphql/schema.graphql")).unwrap();
    assert!(!sdl.contains("\"\"\""), "block descriptions left in the schema");
    assert!(sdl.lines().all(|l| !l.trim_start().starts_with('"')), "string descriptions left in the schema");
    assert!(sdl.len() < 20_000, "the pruned schema is {} bytes", sdl.len());
}
