//! End to end: the real binary, driven over stdio by rmcp's MCP client, against the fake Buildkite.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test harness code

mod support;

use serde_json::{Value, json};
use std::time::Duration;
use support::fake::{FakeBuildkite, Fault, TOKEN};
use support::{check_budgets, connect, pretty, snapshots, tokens};

/// Every tool of this build.
const ALL_TOOLS: usize = 27;

#[tokio::test]
async fn tools_list_is_compact_and_snapshotted_with_token_counts() {
    let fake = FakeBuildkite::start().await;
    let client = connect(Some(&fake), &[], &[]).await;
    let tools = client.service.list_all_tools().await.unwrap();
    let text = serde_json::to_string(&tools).unwrap();
    let total = tokens(&text);
    let per_tool: Vec<Value> = tools
        .iter()
        .map(|t| {
            let one = serde_json::to_string(t).unwrap();
            json!({"name": t.name, "bytes": one.len(), "tokens": tokens(&one), "definition": t})
        })
        .collect();
    let limit = support::budgets()["tools_list_tokens"].as_u64().unwrap() as usize;
    assert!(total <= limit, "tools/list is {total} tokens, over its budget of {limit} (tests/budgets.json)");
    let figures: Vec<(String, usize)> = per_tool
        .iter()
        .map(|t| (t["name"].as_str().unwrap().to_string(), t["tokens"].as_u64().unwrap() as usize))
        .collect();
    check_budgets("tool_definitions", &figures);
    let report = json!({"tools": tools.len(), "bytes": text.len(), "tokens": total, "per_tool": per_tool});
    snapshots().bind(|| insta::assert_json_snapshot!("tools_list", report));
    assert!(!text.contains("$schema"), "schemas carry no $schema key");
    client.stop().await;
}

/// The path of the first null, empty string, empty array or empty object (the output contract
/// leaves them out).
fn first_empty(v: &Value) -> Option<String> {
    match v {
        Value::Null => Some(String::new()),
        Value::String(s) if s.is_empty() => Some(String::new()),
        Value::Array(a) if a.is_empty() => Some(String::new()),
        Value::Object(o) if o.is_empty() => Some(String::new()),
        Value::Array(a) => a.iter().enumerate().find_map(|(i, x)| first_empty(x).map(|p| format!("/{i}{p}"))),
        Value::Object(o) => o.iter().find_map(|(k, x)| first_empty(x).map(|p| format!("/{k}{p}"))),
        _ => None,
    }
}

/// Every tool, through the binary, answers from exactly one GraphQL request; each output is
/// snapshotted with its token count.
#[tokio::test]
async fn every_tool_answers_with_one_graphql_request_and_matches_its_snapshot() {
    let fake = FakeBuildkite::start().await;
    let client = connect(Some(&fake), &[], &[]).await;
    let cases: Vec<(&str, &str, Value)> = vec![
        ("current_user", "current_user", json!({})),
        ("list_pipelines", "list_pipelines", json!({})),
        ("list_pipelines_search", "list_pipelines", json!({"search": "web"})),
        ("list_pipelines_page1", "list_pipelines", json!({"first": 2})),
        ("list_pipelines_page2", "list_pipelines", json!({"first": 2, "after": "Mg"})),
        (
            "get_pipeline_with_steps",
            "get_pipeline",
            json!({"pipeline": "https://buildkite.com/acme/web", "steps": true}),
        ),
        ("get_pipeline", "get_pipeline", json!({"pipeline": "api"})),
        ("list_builds", "list_builds", json!({"pipeline": "acme/web"})),
        ("list_builds_failed", "list_builds", json!({"pipeline": "web", "state": "failed"})),
        ("list_builds_budget_cut", "list_builds", json!({"pipeline": "acme/web", "max_tokens": 300})),
        ("get_build_failed", "get_build", json!({"build": "https://buildkite.com/acme/web/builds/1342"})),
        ("get_build_blocked", "get_build", json!({"build": "acme/web/1343"})),
        ("get_build_passed", "get_build", json!({"build": "#1341", "pipeline": "web"})),
        ("get_build_triggered", "get_build", json!({"build": "acme/api/88"})),
        ("list_jobs_large_build", "list_jobs", json!({"build": "https://buildkite.com/acme/web/builds/1340"})),
        ("list_jobs_large_build_page2", "list_jobs", json!({"build": "acme/web/1340", "after": "NTA"})),
        ("list_jobs_large_build_failed", "list_jobs", json!({"build": "acme/web/1340", "state": "failed"})),
        ("list_jobs_step", "list_jobs", json!({"build": "acme/web/1340", "step": "rspec"})),
        ("list_jobs_failed", "list_jobs", json!({"build": "acme/web/1342", "state": "failed"})),
        ("list_jobs_blocked", "list_jobs", json!({"build": "acme/web/1343", "state": "blocked"})),
        (
            "get_job_failed",
            "get_job",
            json!({"job": "https://buildkite.com/acme/web/builds/1342#08d58486-29e1-47b4-b951-facf35dafc4d"}),
        ),
        ("get_job_block", "get_job", json!({"job": "d4172cf9-06d3-4e92-8f70-3351bb7b1cab"})),
        ("get_job_trigger", "get_job", json!({"job": "7c9e2b14-3a5d-4e8f-b1c2-d3e4f5a6b7c8"})),
        ("list_annotations", "list_annotations", json!({"build": "acme/web/1342"})),
        ("list_annotations_errors", "list_annotations", json!({"build": "acme/web/1342", "style": "error"})),
        ("list_annotations_none", "list_annotations", json!({"build": "acme/web/1343"})),
        (
            "failure_summary",
            "get_build_failure_summary",
            json!({"build": "https://buildkite.com/acme/web/builds/1342"}),
        ),
        ("failure_summary_passed", "get_build_failure_summary", json!({"build": "acme/web/1341"})),
        ("failure_summary_blocked", "get_build_failure_summary", json!({"build": "acme/web/1343"})),
        ("wait_for_build_finished", "wait_for_build", json!({"build": "acme/web/1342"})),
        ("wait_for_build_blocked", "wait_for_build", json!({"build": "acme/web/1343"})),
    ];
    let mut outputs = Vec::new();
    for (snapshot, tool, args) in cases {
        let before = fake.graphql_requests();
        let text = client.ok(tool, args.clone()).await;
        let requests = fake.graphql_requests() - before;
        assert_eq!(requests, 1, "{snapshot}: {tool} made {requests} GraphQL requests");
        let parsed: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{snapshot} is not JSON: {e}: {text}"));
        assert!(first_empty(&parsed).is_none(), "{snapshot} has an empty value at {:?}: {text}", first_empty(&parsed));
        outputs.push((snapshot, args, text));
    }
    // Budgets first, so a bigger output fails with every figure rather than one snapshot diff.
    let figures: Vec<(String, usize)> =
        outputs.iter().map(|(name, _, text)| (name.to_string(), tokens(text))).collect();
    check_budgets("outputs", &figures);
    for (snapshot, args, text) in &outputs {
        let n = tokens(text);
        snapshots().bind(|| insta::assert_snapshot!(*snapshot, format!("tokens: {n}\nargs: {args}\n{}", pretty(text))));
    }
    // The page-1 continuation is what page 2 was asked with.
    let page1: Value = serde_json::from_str(&client.ok("list_pipelines", json!({"first": 2})).await).unwrap();
    assert_eq!(page1["next"]["after"], json!("Mg"));
    // A build by UUID is the same build as by number.
    let by_number: Value =
        serde_json::from_str(&client.ok("get_build", json!({"build": "acme/web/1342"})).await).unwrap();
    let uuid = by_number["uuid"].as_str().unwrap().to_string();
    let by_uuid: Value = serde_json::from_str(&client.ok("get_build", json!({"build": uuid})).await).unwrap();
    assert_eq!(by_number, by_uuid);
    assert!(fake.user_agents().iter().all(|ua| ua.starts_with("buildkite-mcp-server/")), "{:?}", fake.user_agents());
    let log = client.stop().await;
    assert!(!log.contains(TOKEN), "the token leaked into the log");
}

#[tokio::test]
async fn get_build_output_is_within_its_budget_and_names_the_failures() {
    let fake = FakeBuildkite::start().await;
    let client = connect(Some(&fake), &[], &[]).await;
    let text = client.ok("get_build", json!({"build": "acme/web/1342"})).await;
    let v: Value = serde_json::from_str(&text).unwrap();
    let labels: Vec<&str> = v["failed"].as_array().unwrap().iter().map(|j| j["label"].as_str().unwrap()).collect();
    assert!(labels.contains(&":rspec: RSpec 3/8") && labels.contains(&":eslint: Lint"), "{labels:?}");
    assert_eq!(v["retried_attempts"], json!(1), "the retried attempt is folded away");
    assert_eq!(v["soft_failed"][0]["label"], json!(":jest: Jest"));
    assert!(tokens(&text) < 1_000, "get_build is {} tokens", tokens(&text));
    // A small budget cuts the largest list and says so.
    let small = client.ok("get_build", json!({"build": "acme/web/1342", "max_tokens": 200})).await;
    let v: Value = serde_json::from_str(&small).unwrap();
    assert!(v["cut"].as_str().is_some(), "{small}");
    client.stop().await;
}

/// Faults from Buildkite each give one clear sentence, and the server keeps serving after each.
#[tokio::test]
async fn faults_give_one_clear_sentence_and_the_server_keeps_serving() {
    let fake = FakeBuildkite::start().await;
    let client = connect(Some(&fake), &[("BUILDKITE_TIMEOUT", "1"), ("BUILDKITE_MAX_RETRIES", "1")], &[]).await;
    let get = json!({"build": "acme/web/1342"});
    let cases: Vec<(Fault, &str)> = vec![
        (Fault::Status(401, "Authentication required"), "rejected the API token (401 Unauthorized)"),
        (Fault::Status(403, "GraphQL access is not enabled for this token"), "Enable GraphQL API access"),
        (Fault::RateLimited(0), "rate limit is exhausted (429) after 2 attempts"),
        (Fault::Status(500, "boom"), "answered HTTP 500 2 times in a row"),
        (Fault::Status(503, "maintenance"), "answered HTTP 503 2 times in a row"),
        (Fault::Slow(Duration::from_secs(3)), "did not answer within 1 s (2 attempts)"),
        (Fault::Malformed, "could not read (malformed JSON"),
        (
            Fault::GraphQLErrors("Query has complexity of 251503, which exceeds max complexity of 50000"),
            "Buildkite GraphQL error: Query has complexity of 251503",
        ),
        (Fault::Status(400, "Bad request"), "Buildkite answered HTTP 400: Bad request"),
        (Fault::Status(404, "Not Found"), "no GraphQL endpoint at http://127.0.0.1"),
    ];
    for (fault, expected) in cases {
        fake.fail_graphql(fault.clone(), None);
        let message = client.err("get_build", get.clone()).await;
        fake.heal();
        assert!(message.contains(expected), "{fault:?}: got {message:?}");
        assert!(!message.contains('\n'), "{fault:?}: one sentence: {message:?}");
        assert!(!message.contains(TOKEN));
        client.ok("get_build", get.clone()).await;
    }
    // A 429 that clears within the retries is invisible to the caller.
    fake.fail_graphql(Fault::RateLimited(0), Some(1));
    let before = fake.graphql_requests();
    client.ok("get_build", get.clone()).await;
    assert_eq!(fake.graphql_requests() - before, 2, "one retry after the 429");
    let log = client.stop().await;
    assert!(!log.contains(TOKEN), "the token leaked into the log");
}

#[tokio::test]
async fn bad_input_is_answered_with_what_to_do() {
    let fake = FakeBuildkite::start().await;
    let client = connect(Some(&fake), &[], &[]).await;
    let cases: Vec<(&str, Value, &str)> = vec![
        ("list_pipelines", json!({"org": "nope"}), "organization `nope` was not found"),
        ("get_pipeline", json!({"pipeline": "acme/nope"}), "pipeline `acme/nope` was not found"),
        ("list_builds", json!({"pipeline": "acme/nope"}), "pipeline `acme/nope` was not found"),
        ("get_build", json!({"build": "acme/web/999999"}), "build acme/web/999999 was not found"),
        ("get_build", json!({"build": "https://buildkite.com/acme"}), "does not point at a Buildkite build"),
        ("get_build", json!({"build": "htp:/oops"}), "is not a build"),
        ("get_build", json!({"build": "42"}), "a number together with `pipeline`"),
        ("get_build", json!({}), "invalid arguments for get_build: missing field `build`"),
        ("get_build", json!({"build": "acme/web/1", "bogus": 1}), "unknown field `bogus`"),
        ("list_builds", json!({"pipeline": "web", "state": "exploded"}), "unknown state `exploded`"),
        ("list_builds", json!({"pipeline": "web", "created_from": "last tuesday"}), "is not an ISO date"),
        ("get_pipeline", json!({"pipeline": "a b c"}), "is not a pipeline"),
        ("list_builds", json!({"pipeline": "web", "first": "many"}), "expected a whole number"),
        ("list_jobs", json!({"build": "acme/web/999999"}), "build acme/web/999999 was not found"),
        ("list_jobs", json!({"build": "acme/web/1342", "state": "failed,broken"}), "make one call per filter"),
        ("list_jobs", json!({"build": "acme/web/1342", "type": "lambda"}), "unknown type `lambda`"),
        ("get_job", json!({"job": "0f6a1c6e-5d2b-4f7e-9a3c-2b8d4e6f1a01"}), "is a wait step"),
        ("get_job", json!({"job": "not-a-job"}), "is not a job: pass a job UUID"),
        (
            "get_job",
            json!({"job": "00000000-0000-4000-8000-000000000000"}),
            "job 00000000-0000-4000-8000-000000000000 was not found",
        ),
        ("list_annotations", json!({"build": "acme/web/1342", "style": "purple"}), "unknown style `purple`"),
    ];
    for (tool, args, expected) in cases {
        let message = client.err(tool, args.clone()).await;
        assert!(message.contains(expected), "{tool} {args}: got {message:?}");
    }
    // An unknown tool is a protocol error, and the server still serves.
    let unknown = client.service.call_tool(rmcp::model::CallToolRequestParams::new("no_such_tool")).await;
    assert!(unknown.is_err());
    client.ok("current_user", json!({})).await;
    client.stop().await;
}

#[tokio::test]
async fn a_token_without_a_scope_hides_its_tools_and_says_which_scope() {
    let fake = FakeBuildkite::start().await;
    fake.set_scopes(&["read_user", "read_pipelines"]);
    let client = connect(Some(&fake), &[], &[]).await;
    let names: Vec<String> =
        client.service.list_all_tools().await.unwrap().into_iter().map(|t| t.name.to_string()).collect();
    assert_eq!(names, ["current_user", "list_pipelines", "get_pipeline", "list_schedules"]);
    let message = client.err("get_build", json!({"build": "acme/web/1342"})).await;
    assert!(message.contains("get_build needs the token scope read_builds"), "{message}");
    assert!(message.contains("https://buildkite.com/user/api-access-tokens"), "{message}");
    client.stop().await;

    // The minimum recommended scope set enables all but the log, artifact, agent and cluster tools; the read-only
    // recipe enables every tool of this build.
    fake.set_scopes(&["read_builds", "read_pipelines", "read_user", "read_suites"]);
    let client = connect(Some(&fake), &[], &[]).await;
    assert_eq!(client.service.list_all_tools().await.unwrap().len(), ALL_TOOLS - 10);
    client.stop().await;
    fake.set_scopes(support::fake::READ_ONLY_SCOPES);
    let client = connect(Some(&fake), &[], &[]).await;
    assert_eq!(client.service.list_all_tools().await.unwrap().len(), ALL_TOOLS);
    client.stop().await;
}

#[tokio::test]
async fn a_rejected_token_is_reported_on_every_call() {
    let fake = FakeBuildkite::start().await;
    let client = connect(Some(&fake), &[("BUILDKITE_API_TOKEN", "bkua_wrong")], &[]).await;
    assert_eq!(
        client.service.list_all_tools().await.unwrap().len(),
        ALL_TOOLS,
        "scopes unknown: every tool is offered"
    );
    let message = client.err("current_user", json!({})).await;
    assert!(message.contains("rejected the API token (401 Unauthorized)"), "{message}");
    let log = client.stop().await;
    assert!(!log.contains("bkua_wrong"), "the token leaked into the log");
}

#[tokio::test]
async fn the_default_org_is_the_only_one_the_token_sees() {
    let fake = FakeBuildkite::start().await;
    let client = connect(Some(&fake), &[("BUILDKITE_ORGANIZATION", "")], &[]).await;
    let text = client.ok("list_builds", json!({"pipeline": "web", "first": 3})).await;
    assert!(text.contains("\"pipeline\":\"acme/web\""), "{text}");
    assert!(fake.operations().contains(&"ViewerOrganizations".to_string()));
    let user: Value = serde_json::from_str(&client.ok("current_user", json!({})).await).unwrap();
    assert_eq!(user["default_org"], json!("acme"));
    client.stop().await;
}

#[tokio::test]
async fn demo_mode_needs_no_token_and_serves_the_read_tools() {
    let client = connect(None, &[], &["--demo"]).await;
    assert_eq!(client.service.list_all_tools().await.unwrap().len(), ALL_TOOLS);
    let text = client.ok("get_build", json!({"build": "https://buildkite.com/acme/web/builds/1342"})).await;
    assert!(text.contains(":rspec: RSpec 3/8"), "{text}");
    let text = client.ok("list_pipelines", json!({})).await;
    assert!(text.contains("\"total\":6"), "{text}");
    client.stop().await;
}

#[tokio::test]
async fn toolsets_and_read_only_filter_the_tool_list() {
    let fake = FakeBuildkite::start().await;
    let client = connect(Some(&fake), &[("BUILDKITE_TOOLSETS", "user,builds")], &["--read-only"]).await;
    let names: Vec<String> =
        client.service.list_all_tools().await.unwrap().into_iter().map(|t| t.name.to_string()).collect();
    assert_eq!(
        names,
        [
            "current_user",
            "list_builds",
            "get_build",
            "compare_builds",
            "list_step_uploads",
            "get_build_failure_summary",
            "wait_for_build"
        ]
    );
    let message = client.err("list_pipelines", json!({})).await;
    assert!(message.contains("toolset that is not enabled"), "{message}");
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
async fn the_tools_command_shows_what_the_token_enables() {
    let fake = FakeBuildkite::start().await;
    fake.set_scopes(&["read_user", "read_pipelines"]);
    let out = support::command(Some(&fake), &[]).arg("tools").output().await.unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("token scopes: read_user, read_pipelines"), "{stdout}");
    let line = stdout.lines().find(|l| l.starts_with("get_build ")).unwrap();
    assert!(
        line.contains("builds") && line.contains("read_builds") && line.ends_with("no: token lacks read_builds"),
        "{line}"
    );
    let line = stdout.lines().find(|l| l.starts_with("list_pipelines ")).unwrap();
    assert!(line.ends_with("yes"), "{line}");
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

/// For each hard failure of acme/web/1342, the log line that states the real error.
const EXPECTED_ERRORS: [(&str, &str); 3] = [
    (
        ":rspec: RSpec 3/8",
        "Failure/Error: expect(user.onboarding_checklist.pending).to eq(%i[verify_email invite_teammate connect_repo])",
    ),
    (":rspec: RSpec 6/8", "undefined method `completed_at' for nil"),
    (":eslint: Lint", "✖ 14 problems (2 errors, 12 warnings)"),
];

/// The failure summary names each failed job's command and the log lines that explain it, from one
/// GraphQL request plus one ranged log request per failed job that ran.
#[tokio::test]
async fn the_failure_summary_explains_each_failure_from_its_log() {
    let fake = FakeBuildkite::start().await;
    let client = connect(Some(&fake), &[], &[]).await;
    client.ok("current_user", json!({})).await; // scopes read
    let (g0, r0) = (fake.graphql_requests(), fake.rest_requests());
    let text = client.ok("get_build_failure_summary", json!({"build": "acme/web/1342"})).await;
    let (g, r) = (fake.graphql_requests() - g0, fake.rest_requests() - r0);
    let v: Value = serde_json::from_str(&text).unwrap();
    let failures = v["failures"].as_array().unwrap();
    let started = failures.iter().filter(|f| f["log"] != json!("none: the job never started")).count();
    assert_eq!(g, 1, "one GraphQL request");
    assert_eq!(r, started + 1, "one ranged log request per failed job that ran, and Test Engine's failed tests");
    let tests = v["failed_tests"].as_array().unwrap();
    assert!(tests[0].as_str().unwrap().contains("spec/models/user_spec.rb:42"), "{tests:?}");
    for (label, error) in EXPECTED_ERRORS {
        let job =
            failures.iter().find(|f| f["label"] == json!(label)).unwrap_or_else(|| panic!("{label} missing: {text}"));
        assert!(job["command"].is_string(), "{label}: no command");
        let errors: Vec<&str> = job["errors"].as_array().unwrap().iter().map(|e| e.as_str().unwrap()).collect();
        assert!(errors.iter().any(|e| e.contains(error)), "{label}: `{error}` not among {errors:#?}");
    }
    assert!(tokens(&text) <= 4_000, "{} tokens", tokens(&text));
    assert!(!text.contains("bk;t=") && !text.contains("\\u001b"), "log markers or escapes leaked");
    client.stop().await;

    // Without read_build_logs the summary still answers, says which scope is missing, reads no log.
    fake.set_scopes(&["read_builds", "read_pipelines", "read_user"]);
    let client = connect(Some(&fake), &[], &[]).await;
    client.ok("current_user", json!({})).await;
    let r0 = fake.rest_requests();
    let text = client.ok("get_build_failure_summary", json!({"build": "acme/web/1342"})).await;
    assert_eq!(fake.rest_requests(), r0, "no log was fetched");
    assert!(text.contains("lacks the scope read_build_logs"), "{text}");
    client.stop().await;
}

/// Counts the progress notifications a client receives.
#[derive(Clone, Default)]
struct ProgressCounter(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl rmcp::ClientHandler for ProgressCounter {
    async fn on_progress(
        &self,
        _params: rmcp::model::ProgressNotificationParam,
        _context: rmcp::service::NotificationContext<rmcp::RoleClient>,
    ) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A build that is running when the wait starts and passes two polls later: the wait answers with
/// the final state, and the client that gave a progress token hears how it went meanwhile.
#[tokio::test]
async fn wait_for_build_reports_progress_until_the_build_settles() {
    use rmcp::ServiceExt;
    use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
    let fake = FakeBuildkite::start().await;
    let polls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = polls.clone();
    fake.set_responder(Box::new(move |operation, _vars| {
        if operation != "GetBuildState" {
            return None;
        }
        let n = seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let (state, finished, done_at) =
            if n < 2 { ("RUNNING", n as i64 * 20, Value::Null) } else { ("PASSED", 60, json!("2026-11-20T10:29:51Z")) };
        Some(json!({"data": {"build": {"number": 88, "state": state, "blockedState": null,
            "startedAt": "2026-11-20T10:15:40Z", "finishedAt": done_at,
            "pipeline": {"slug": "api"}, "organization": {"slug": "acme"},
            "total": {"count": 60}, "finished": {"count": finished}, "running": {"count": 60 - finished}}}}))
    }));
    let counter = ProgressCounter::default();
    let cmd = support::command(Some(&fake), &[]).configure(|_| {});
    let (transport, _stderr) = TokioChildProcess::builder(cmd).stderr(std::process::Stdio::null()).spawn().unwrap();
    let client = counter.clone().serve(transport).await.unwrap();
    let mut params = rmcp::model::CallToolRequestParams::new("wait_for_build")
        .with_arguments(json!({"build": "acme/api/88", "timeout_s": 20}).as_object().cloned().unwrap());
    params.meta = Some(rmcp::model::RequestMetaObject::with_progress_token(rmcp::model::ProgressToken(
        rmcp::model::NumberOrString::String("wait-1".into()),
    )));
    let result = client.call_tool(params).await.unwrap();
    let text = match &result.content[0] {
        rmcp::model::ContentBlock::Text(t) => t.text.clone(),
        other => panic!("{other:?}"),
    };
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["state"], json!("passed"), "{text}");
    assert_eq!(v["finished"], json!(true), "{text}");
    assert_eq!(polls.load(std::sync::atomic::Ordering::SeqCst), 3, "polled until it settled");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(counter.0.load(std::sync::atomic::Ordering::SeqCst), 2, "one progress notification per running poll");
    let _ = client.cancel().await;
}

#[tokio::test]
async fn a_wait_that_times_out_says_how_to_keep_waiting() {
    let fake = FakeBuildkite::start().await;
    let client = connect(Some(&fake), &[], &[]).await;
    let started = std::time::Instant::now();
    let text = client.ok("wait_for_build", json!({"build": "acme/api/88", "timeout_s": 2})).await;
    assert!(started.elapsed() < Duration::from_secs(5), "bounded by timeout_s");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["finished"], json!(false), "{text}");
    assert_eq!(v["state"], json!("running"));
    assert!(v["next"].as_str().unwrap().contains("call wait_for_build again"), "{text}");
    client.stop().await;
}

/// A job in both the failed and the stopped lists appears once (and its log is read once); a
/// retried stopped job is not counted as left out; blocked steps and annotations past the page say so.
#[tokio::test]
async fn the_failure_summary_neither_repeats_nor_silently_drops_jobs() {
    let fake = FakeBuildkite::start().await;
    let job = |uuid: &str, state: &str, retried: bool| {
        json!({"node": {"__typename": "JobTypeCommand", "uuid": uuid, "label": format!("job {uuid}"), "command": "make",
            "state": state, "exitStatus": "1", "signal": null, "signalReason": null, "softFailed": false, "retried": retried,
            "startedAt": "2026-11-20T10:16:00Z", "finishedAt": "2026-11-20T10:20:00Z", "step": {"key": "k"}, "agent": {"name": "a"}}})
    };
    let (a, b, c) = (
        "00000000-0000-4000-8000-00000000000a",
        "00000000-0000-4000-8000-00000000000b",
        "00000000-0000-4000-8000-00000000000c",
    );
    let blocked: Vec<Value> = (0..5)
        .map(|i| json!({"node": {"__typename": "JobTypeBlock", "uuid": format!("00000000-0000-4000-8000-0000000001{i:02}"), "label": "Go?"}}))
        .collect();
    let response = json!({"data": {"build": {
        "uuid": "0190b1a2-0000-4000-8000-000000000007", "number": 7, "url": "https://buildkite.com/acme/web/builds/7", "state": "FAILED", "branch": "main",
        "commit": "0123456789abcdef0123456789abcdef01234567", "message": "m",
        "pipeline": {"slug": "web"}, "organization": {"slug": "acme"}, "total": {"count": 10},
        "failed": {"count": 1, "edges": [job(a, "TIMED_OUT", false)]},
        "stopped": {"count": 3, "edges": [job(a, "TIMED_OUT", false), job(b, "CANCELED", true), job(c, "CANCELED", false)]},
        "blocked": {"count": 9, "edges": blocked},
        "annotations": {"count": 0, "edges": []}}}});
    fake.set_responder(Box::new(move |op, _| (op == "GetBuildFailureSummary").then(|| response.clone())));
    let client = connect(Some(&fake), &[], &[]).await;
    client.ok("current_user", json!({})).await;
    let text = client.ok("get_build_failure_summary", json!({"build": "acme/web/7"})).await;
    let v: Value = serde_json::from_str(&text).unwrap();
    let jobs: Vec<&str> = v["failures"].as_array().unwrap().iter().map(|f| f["job"].as_str().unwrap()).collect();
    assert_eq!(jobs, [a, c], "{text}");
    let logs_read = fake.operations().iter().filter(|o| o.starts_with("log ")).count();
    assert_eq!(logs_read, 2, "one log read per job shown");
    let left_out = v["left_out"].as_str().unwrap();
    assert!(!left_out.contains("timed-out or canceled"), "all stopped jobs were fetched: {left_out}");
    assert!(left_out.contains("4 more blocked steps"), "{left_out}");
    client.stop().await;
}
