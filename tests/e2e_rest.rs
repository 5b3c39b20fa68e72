//! End to end for the tools beyond the first slice: those that reach REST where GraphQL has no
//! field (artifacts of a build, job environments, organization-wide and creator build lists, job
//! logs, Test Engine), compare_builds, step uploads, agents, clusters and queues, and schedules:
//! through the real binary over stdio, against the fake Buildkite, with the GraphQL and REST
//! requests of every call counted.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test harness code

mod support;

use serde_json::{Value, json};
use support::fake::{BigLog, FakeBuildkite, TOKEN};
use support::{check_budgets, connect, pretty, snapshots, tokens};

const RSPEC_JOB: &str = "08d58486-29e1-47b4-b951-facf35dafc4d";
const LINT_JOB: &str = "46e537cd-e9cc-406c-8032-90fe629b1f55";
const SMALL_TEXT: &str = "019da481-2bd7-4616-9f61-1e77d966f58e";
const ANSI_TEXT: &str = "019da481-5c92-417b-a7f9-2cca5df8025a";
const OVER_CAP: &str = "019da480-510f-1eed-b595-243dbee88e94";
const BINARY: &str = "019da481-9731-4087-b71c-9b34f86d7bbb";
const EXPIRED: &str = "019da481-acb6-4645-b23f-63f01f9d5ff4";
const GRACE: &str = "5a0c9f7e-2b41-4d8e-9c36-7e1f0b2d4a95";
const MAIN_UPLOAD: &str = "019da39b-fdf9-4cb6-af41-eda58b791161";
const RUNNING_JOB: &str = "7a1b2c3d-0000-4000-8000-00000000aaaa";
const WAIT_JOB: &str = "7a1b2c3d-0000-4000-8000-00000000bbbb";
const BUSY_AGENT: &str = "3e4e9be6-a8ee-420d-9c74-845195fa7f5b";
const RSPEC_QUEUE: &str = "Q2x1c3RlclF1ZXVlLS0tZGMzNmZjOTAtMjI0OC00ZDcwLWFjYTQtYTFhOWY1YjE5Zjcx";
const MACOS_QUEUE: &str = "Q2x1c3RlclF1ZXVlLS0tOTM5YWUyMzItNTg4ZS00YmNlLWI3MWUtZDc4YTFkYzAyZTI3";
const LINUX_CLUSTER: &str = "62f746b4-84e6-4ceb-95bd-447e7184d454";
const NIGHTLY: &str = "21bade02-6a6a-4768-b2ed-66ffdcc99396";
const FAILED_RUN: &str = "fdec65fe-7212-4737-b222-d7283ab5a383";
const FLAKY_TEST: &str = "dafc3cd8-5ec6-49b7-b25f-0fda6c7fb489";

/// Fixture logs of real-looking failed jobs: (job UUID, what it is, the line that explains the failure).
const FIXTURE_LOGS: [(&str, &str, &str); 7] = [
    ("4b323cb5-c060-43ad-9228-2edf85bbdb89", "Rust build", "error[E0308]: mismatched types"),
    ("0a7b98c6-c8cf-44d4-a449-8375740f3b28", "Jest run", "● Checklist › dismisses the checklist"),
    ("ae8678e4-dd4c-4409-9fc2-b55413687223", "pytest run", "E       assert Decimal('10.01') == Decimal('10.00')"),
    ("f99173ca-1954-4e6d-8e9c-2cd180536e65", "Docker build", "KeyError: key not found: \"FIREBASE_PROJECT_ID\""),
    ("08d58486-29e1-47b4-b951-facf35dafc4d", "RSpec shard", "Failure/Error: expect(user.onboarding_checklist.pending)"),
    ("46e537cd-e9cc-406c-8032-90fe629b1f55", "ESLint", "'useEffect' is defined but never used"),
    ("4edbb889-e421-43c0-b98e-9e702d357b66", "Jest (web)", "● Checklist › renders items"),
];

/// Every case: (snapshot, tool, arguments, GraphQL requests, REST requests).
fn cases() -> Vec<(&'static str, &'static str, Value, usize, usize)> {
    vec![
        // Artifacts: a job's through GraphQL, a build's through one paged REST request.
        ("list_artifacts_job", "list_artifacts", json!({"job": RSPEC_JOB}), 1, 0),
        ("list_artifacts_job_glob", "list_artifacts", json!({"job": RSPEC_JOB, "path": "*.xml"}), 1, 0),
        ("list_artifacts_build", "list_artifacts", json!({"build": "acme/web/1342"}), 0, 1),
        ("list_artifacts_build_page2", "list_artifacts", json!({"build": "acme/web/1342", "after": "2"}), 0, 1),
        ("list_artifacts_build_glob", "list_artifacts", json!({"build": "acme/web/1342", "path": "*.json"}), 0, 1),
        ("get_artifact_inline", "get_artifact", json!({"artifact": SMALL_TEXT}), 1, 0),
        ("get_artifact_ansi", "get_artifact", json!({"artifact": ANSI_TEXT}), 1, 0),
        ("get_artifact_over_cap", "get_artifact", json!({"artifact": OVER_CAP}), 1, 0),
        ("get_artifact_binary", "get_artifact", json!({"artifact": BINARY}), 1, 0),
        ("get_artifact_expired", "get_artifact", json!({"artifact": EXPIRED}), 1, 0),
        // Job environment: REST only has it.
        ("get_job_env", "get_job", json!({"job": RSPEC_JOB, "env": true}), 1, 1),
        // Builds where GraphQL has no list or filter.
        ("list_builds_org", "list_builds", json!({}), 0, 1),
        ("list_builds_org_page2", "list_builds", json!({"after": "2"}), 0, 1),
        ("list_builds_creator_email", "list_builds", json!({"creator": "grace@acme.example"}), 1, 1),
        ("list_builds_creator_uuid", "list_builds", json!({"creator": GRACE}), 0, 1),
        ("list_builds_pipeline_creator", "list_builds", json!({"pipeline": "web", "creator": GRACE}), 0, 1),
        ("list_builds_finished_from", "list_builds", json!({"finished_from": "2026-11-20"}), 0, 1),
        // Compare: one request with a named base; the default base needs the head's branch first.
        ("compare_builds_default_base", "compare_builds", json!({"build": "acme/web/1342"}), 2, 0),
        ("compare_builds_named_base", "compare_builds", json!({"build": "acme/web/1342", "base": "1331"}), 1, 0),
        ("compare_builds_passed", "compare_builds", json!({"build": "acme/web/1341"}), 2, 0),
        // Step uploads.
        ("list_step_uploads", "list_step_uploads", json!({"build": "acme/web/1342"}), 1, 0),
        (
            "list_step_uploads_yaml",
            "list_step_uploads",
            json!({"build": "acme/web/1342", "upload": MAIN_UPLOAD, "yaml": true}),
            1,
            0,
        ),
        ("list_step_uploads_none", "list_step_uploads", json!({"build": "acme/api/88"}), 1, 0),
        // Logs: a tail of an uncached log is one Range request; the first whole-log tool downloads
        // it once (GraphQL says where and whether it finished); later calls check access with a HEAD.
        ("tail_log_uncached", "tail_log", json!({"job": RSPEC_JOB, "lines": 20}), 0, 1),
        ("log_digest_rspec", "log_digest", json!({"job": RSPEC_JOB}), 1, 1),
        ("tail_log_cached", "tail_log", json!({"job": RSPEC_JOB, "lines": 20}), 0, 1),
        ("search_log", "search_log", json!({"job": RSPEC_JOB, "pattern": "failure|error"}), 0, 1),
        (
            "search_log_case_context",
            "search_log",
            json!({"job": RSPEC_JOB, "pattern": "Failure/Error", "case_sensitive": true, "context": "0,4"}),
            0,
            1,
        ),
        (
            "search_log_invert",
            "search_log",
            json!({"job": RSPEC_JOB, "pattern": ".", "invert": true, "max_matches": 5}),
            0,
            1,
        ),
        ("read_log_outline", "read_log", json!({"job": RSPEC_JOB}), 0, 1),
        ("read_log_section", "read_log", json!({"job": RSPEC_JOB, "section": "2", "lines": 30}), 0, 1),
        ("read_log_range", "read_log", json!({"job": RSPEC_JOB, "from_line": 10, "lines": 15, "times": true}), 0, 1),
        ("log_digest_lint", "log_digest", json!({"job": LINT_JOB}), 1, 1),
        // Real-looking jobs: a Rust build, a Jest run, a pytest run, a Docker build with progress bars.
        ("log_digest_rust", "log_digest", json!({"job": FIXTURE_LOGS[0].0}), 1, 1),
        ("log_digest_jest", "log_digest", json!({"job": FIXTURE_LOGS[1].0}), 1, 1),
        ("log_digest_pytest", "log_digest", json!({"job": FIXTURE_LOGS[2].0}), 1, 1),
        ("log_digest_docker", "log_digest", json!({"job": FIXTURE_LOGS[3].0}), 1, 1),
        ("search_log_rust", "search_log", json!({"job": FIXTURE_LOGS[0].0, "pattern": "write_reset"}), 0, 1),
        ("read_log_docker_outline", "read_log", json!({"job": FIXTURE_LOGS[3].0}), 0, 1),
        ("tail_log_docker", "tail_log", json!({"job": FIXTURE_LOGS[3].0, "lines": 60}), 0, 1),
        ("read_log_docker_pull", "read_log", json!({"job": FIXTURE_LOGS[3].0, "section": "pull", "lines": 40}), 0, 1),
        // Agents (GraphQL, a large organization: 342 agents in 3 clusters).
        ("list_agents", "list_agents", json!({}), 1, 0),
        ("list_agents_busy", "list_agents", json!({"running": true}), 1, 0),
        ("list_agents_queue", "list_agents", json!({"queue": "deploy"}), 1, 0),
        ("list_agents_lost", "list_agents", json!({"queue": "deploy", "state": "lost"}), 1, 0),
        ("list_agents_page2", "list_agents", json!({"after": "MzA"}), 1, 0),
        ("get_agent_busy", "get_agent", json!({"agent": BUSY_AGENT}), 1, 0),
        ("get_agent_by_name", "get_agent", json!({"agent": "ci-agent-i-0e5f6a7b-2"}), 1, 0),
        ("get_agent_paused", "get_agent", json!({"agent": "paused-agent-1"}), 1, 0),
        // Clusters and queues: "which queue is backed up?" in one call.
        ("list_clusters", "list_clusters", json!({}), 1, 0),
        ("list_clusters_one", "list_clusters", json!({"cluster": LINUX_CLUSTER}), 1, 0),
        ("get_queue_backed_up", "get_queue", json!({"queue": RSPEC_QUEUE}), 1, 0),
        ("get_queue_paused", "get_queue", json!({"queue": MACOS_QUEUE}), 1, 0),
        ("get_queue_by_key", "get_queue", json!({"queue": "rspec"}), 2, 0),
        // Schedules.
        ("list_schedules_pipeline", "list_schedules", json!({"pipeline": "acme/web"}), 1, 0),
        ("list_schedules_org", "list_schedules", json!({}), 1, 0),
        ("get_schedule", "list_schedules", json!({"pipeline": "acme/web", "schedule": NIGHTLY}), 1, 0),
        // Test Engine: GraphQL has suites only; runs and tests are REST.
        ("list_suites", "list_suites", json!({}), 1, 0),
        ("list_test_runs", "list_test_runs", json!({"suite": "web-rspec"}), 0, 1),
        ("list_test_runs_build", "list_test_runs", json!({"suite": "web-rspec", "build": "acme/web/1342"}), 1, 1),
        ("get_test_run", "list_test_runs", json!({"suite": "web-rspec", "run": FAILED_RUN}), 0, 2),
        ("list_tests_flaky", "list_tests", json!({"suite": "web-rspec", "flaky": true}), 0, 1),
        ("list_tests_build", "list_tests", json!({"build": "https://buildkite.com/acme/web/builds/1342"}), 1, 1),
        ("get_test", "get_test", json!({"suite": "web-rspec", "test": FLAKY_TEST}), 0, 1),
    ]
}

#[tokio::test]
async fn rest_backed_tools_answer_with_the_requests_they_need_and_match_their_snapshots() {
    let fake = FakeBuildkite::start().await;
    // The read-only recipe plus read_job_env, which job environments need.
    let mut scopes: Vec<&str> = support::fake::READ_ONLY_SCOPES.to_vec();
    scopes.push("read_job_env");
    fake.set_scopes(&scopes);
    let client = connect(Some(&fake), &[], &[]).await;
    // tools/list waits for the start-up scope check, so it is not counted against a case.
    client.service.list_all_tools().await.unwrap();
    let mut outputs = Vec::new();
    for (snapshot, tool, args, graphql, rest) in cases() {
        let (g0, r0) = (fake.graphql_requests(), fake.rest_requests());
        let text = client.ok(tool, args.clone()).await;
        let (g, r) = (fake.graphql_requests() - g0, fake.rest_requests() - r0);
        assert_eq!((g, r), (graphql, rest), "{snapshot}: {tool} made {g} GraphQL and {r} REST requests: {text}");
        let parsed: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{snapshot} is not JSON: {e}: {text}"));
        // The fake's port changes every run: snapshots and counts see a fixed one.
        let text = text.replace(&format!("localhost:{}", fake.port()), "localhost:40000");
        outputs.push((snapshot, args, text, parsed));
    }
    let figures: Vec<(String, usize)> =
        outputs.iter().map(|(name, _, text, _)| (name.to_string(), tokens(text))).collect();
    check_budgets("outputs", &figures);
    for (snapshot, args, text, _) in &outputs {
        let n = tokens(text);
        snapshots().bind(|| insta::assert_snapshot!(*snapshot, format!("tokens: {n}\nargs: {args}\n{}", pretty(text))));
    }
    let get = |name: &str| outputs.iter().find(|o| o.0 == name).map(|o| (o.2.clone(), o.3.clone())).unwrap();

    // Small text is inlined and cleaned; the rest says why not, with the download URL.
    let (_, inline) = get("get_artifact_inline");
    assert!(inline["content"].as_str().unwrap().contains("spec/models/user_spec.rb:42"), "{inline}");
    let (ansi, _) = get("get_artifact_ansi");
    assert!(!ansi.contains("\\u001b") && !ansi.contains('\u{1b}'), "escapes are removed: {ansi}");
    let (_, over) = get("get_artifact_over_cap");
    assert!(over["inline"].as_str().unwrap().contains("over the inline cap"), "{over}");
    assert!(over["download_url"].as_str().unwrap().starts_with("http://localhost:"), "{over}");
    let (_, binary) = get("get_artifact_binary");
    assert!(binary["inline"].as_str().unwrap().contains("binary"), "{binary}");
    let (_, expired) = get("get_artifact_expired");
    assert!(expired.get("download_url").is_none() && expired["inline"].as_str().unwrap().contains("expired"));
    assert_eq!(fake.leaked_downloads(), 0, "the token was sent to the storage host");

    // Secrets in a job's environment never reach the model.
    let (env, parsed) = get("get_job_env");
    assert!(!env.contains("wJalrXUtnFEMI") && !env.contains("bkaj_fake_agent_token"), "{env}");
    assert_eq!(parsed["env"]["AWS_SECRET_ACCESS_KEY"], json!("[redacted]"));
    assert_eq!(parsed["env"]["BUILDKITE_BUILD_NUMBER"], json!("1342"));

    // The creator filter reached REST as the user's UUID.
    let (_, by_email) = get("list_builds_creator_email");
    assert!(by_email["creator"].as_str().unwrap().contains("grace@acme.example"), "{by_email}");
    assert!(by_email["builds"].as_array().unwrap().iter().all(|b| b["by"] == json!("Grace Hopper")), "{by_email}");
    let (_, org) = get("list_builds_org");
    assert_eq!(org["next"], json!({"after": "2"}));

    // Compare names what broke, what is new, and the commit range.
    let (_, cmp) = get("compare_builds_default_base");
    assert!(cmp["base"].as_str().unwrap().starts_with("acme/web/1331 passed (last passed on"), "{cmp}");
    assert!(cmp["newly_failing"].as_array().unwrap().iter().any(|s| s.as_str().unwrap().contains("Lint")), "{cmp}");
    assert!(cmp["compare_url"].as_str().unwrap().starts_with("https://github.com/acme/web/compare/"), "{cmp}");
    let (_, named) = get("compare_builds_named_base");
    assert_eq!(named["newly_failing"], cmp["newly_failing"]);

    // The digest names the failing section and the real error line.
    let (digest, d) = get("log_digest_rspec");
    assert!(digest.contains("Failure/Error"), "{digest}");
    assert!(d["failing_section"].as_str().is_some(), "{digest}");
    let (tail, _) = get("tail_log_uncached");
    let (cached_tail, _) = get("tail_log_cached");
    assert!(tail.contains("exited with status 1") && cached_tail.contains("exited with status 1"));
    let (_, search) = get("search_log");
    assert!(search["matches"].as_u64().unwrap() >= 1, "{search}");
    let log = client.stop().await;
    assert!(!log.contains(TOKEN), "the token leaked into the log");
}

/// Bad input and missing pieces each give one clear sentence; the server keeps serving.
#[tokio::test]
async fn log_artifact_and_compare_mistakes_are_answered_with_what_to_do() {
    let fake = FakeBuildkite::start().await;
    fake.set_big_log("b0000000-0000-4000-8000-000000002000", BigLog::Synthetic(2 << 30));
    let client = connect(Some(&fake), &[], &[]).await;
    let cases: Vec<(&str, Value, &str)> = vec![
        ("search_log", json!({"job": RSPEC_JOB, "pattern": "(unclosed"}), "invalid pattern"),
        ("search_log", json!({"job": RSPEC_JOB, "pattern": ""}), "pattern is empty"),
        ("read_log", json!({"job": RSPEC_JOB, "from_line": 999999}), "past the end: the log has"),
        ("read_log", json!({"job": RSPEC_JOB, "section": "no such section"}), "no section `no such section`"),
        (
            "tail_log",
            json!({"job": "0f0f0f0f-0000-4000-8000-000000000404"}),
            "job 0f0f0f0f-0000-4000-8000-000000000404 was not found",
        ),
        ("log_digest", json!({"job": WAIT_JOB}), "is not a command job"),
        ("log_digest", json!({"job": "not a job"}), "is not a job"),
        ("list_artifacts", json!({"job": "d4172cf9-06d3-4e92-8f70-3351bb7b1cab"}), "is not a command job"),
        ("list_artifacts", json!({}), "pass `build`"),
        ("get_artifact", json!({"artifact": "coverage.xml"}), "is not an artifact"),
        ("get_artifact", json!({"artifact": "00000000-0000-4000-8000-000000000000"}), "was not found"),
        ("compare_builds", json!({"build": "acme/web/999999"}), "build acme/web/999999 was not found"),
        ("compare_builds", json!({"build": "acme/web/1342", "base": "999999"}), "was not found"),
        ("list_builds", json!({"creator": "Ada"}), "matches several members"),
        ("list_builds", json!({"creator": "nobody@nowhere.example"}), "no member of `acme` matches"),
        ("list_builds", json!({"after": "Mg"}), "after `Mg` is not a page number"),
        ("search_log", json!({"job": RSPEC_JOB, "pattern": "x", "context": "lots"}), "not N or before,after"),
        ("list_builds", json!({"creator": GRACE, "branch": "%default"}), "%default needs one pipeline"),
        ("list_step_uploads", json!({"build": "acme/web/1342", "upload": "nope"}), "step upload nope"),
        ("read_log", json!({"job": RSPEC_JOB, "section": "2", "from_line": 800}), "is past section"),
        ("get_agent", json!({"agent": "no-such-agent"}), "agent `no-such-agent` in `acme` was not found"),
        ("get_agent", json!({"agent": "ci-agent"}), "matches several agents: "),
        ("list_agents", json!({"state": "sleepy"}), "unknown state `sleepy`"),
        ("list_clusters", json!({"cluster": "Windows"}), "no cluster named like `Windows`"),
        ("get_queue", json!({"queue": "gpu"}), "queue `gpu` in `acme` was not found"),
        ("list_test_runs", json!({"suite": "no-such-suite"}), "suite `no-such-suite` in `acme` was not found"),
        ("list_tests", json!({"suite": "../admin"}), "is not a suite slug"),
        ("list_tests", json!({}), "pass `suite`"),
        ("get_test", json!({"suite": "web-rspec", "test": "00000000-0000-4000-8000-000000000000"}), "was not found"),
        ("list_schedules", json!({"schedule": NIGHTLY}), "pass `pipeline` too"),
    ];
    for (tool, args, expected) in cases {
        let message = client.err(tool, args.clone()).await;
        assert!(message.contains(expected), "{tool} {args}: got {message:?}");
        assert!(!message.contains('\n'), "one sentence: {message:?}");
    }
    // A small budget cuts whole hits, and next.from_line continues right after the last one shown.
    let cut: Value = serde_json::from_str(
        &client.ok("search_log", json!({"job": RSPEC_JOB, "pattern": "failure|error", "max_tokens": 300})).await,
    )
    .unwrap();
    let hits = cut["hits"].as_array().unwrap();
    assert!(hits.len() < 9 && cut["cut"].is_string(), "{cut}");
    let last_hit = hits.last().unwrap();
    let last_line = if last_hit.is_array() {
        last_hit
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap())
            .find(|l| l.split_once(':').is_some_and(|(n, _)| n.parse::<u64>().is_ok()))
            .unwrap()
            .to_string()
    } else {
        last_hit.as_str().unwrap().to_string()
    };
    let n: u64 = last_line.split(':').next().unwrap().parse().unwrap();
    assert_eq!(cut["next"]["from_line"], json!(n + 1), "{cut}");
    // A tail cut to its budget keeps the last lines.
    let tail: Value =
        serde_json::from_str(&client.ok("tail_log", json!({"job": RSPEC_JOB, "lines": 200, "max_tokens": 400})).await)
            .unwrap();
    let lines = tail["log"].as_array().unwrap();
    assert!(lines.last().unwrap().as_str().unwrap().ends_with("Total reclaimed space: 0B"), "{tail}");
    assert!(tail["cut"].as_str().unwrap().contains("earlier lines left out"), "{tail}");
    // A 2 GiB log is refused from its size, before anything is downloaded; its tail still works.
    let big = "b0000000-0000-4000-8000-000000002000";
    fake.set_responder(Box::new(move |op, vars| {
        (op == "GetJobForLog" && vars["uuid"] == json!(big)).then(|| {
            json!({"data": {"job": {"__typename": "JobTypeCommand", "uuid": big, "label": "huge", "state": "FINISHED",
                "finishedAt": "2026-11-20T10:30:00Z", "build": {"number": 1, "pipeline": {"slug": "web"}, "organization": {"slug": "acme"}}}}})
        })
    }));
    let before = fake.log_bytes_sent();
    let message = client.err("search_log", json!({"job": big, "pattern": "x"})).await;
    assert!(message.contains("is 2.0 GiB, over this server's 1.0 GiB limit"), "{message}");
    assert!(fake.log_bytes_sent() - before < 8 << 20, "the download stopped at once");
    let before = fake.log_bytes_sent();
    let tail = client.ok("tail_log", json!({"job": big, "lines": 10})).await;
    assert!(tail.contains("generated line"), "{tail}");
    assert!(fake.log_bytes_sent() - before <= 64 * 1024, "a tail fetches only its end");
    // A running job's log is read but not kept.
    fake.set_any_log("--- :hourglass: Still going\nstep 1 of 9\n".to_string());
    let running = client.ok("log_digest", json!({"job": RUNNING_JOB})).await;
    assert!(running.contains("has not finished"), "{running}");
    client.stop().await;
}

#[tokio::test]
async fn tokens_without_log_artifact_or_env_scopes_are_told_which_scope_to_add() {
    let fake = FakeBuildkite::start().await;
    fake.set_scopes(&["read_builds", "read_pipelines", "read_user", "read_suites"]);
    let client = connect(Some(&fake), &[], &[]).await;
    let tools = client.service.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    for hidden in ["tail_log", "search_log", "read_log", "log_digest", "list_artifacts", "get_artifact"] {
        assert!(!names.contains(&hidden), "{hidden} is offered without its scope");
    }
    let message = client.err("search_log", json!({"job": RSPEC_JOB, "pattern": "x"})).await;
    assert!(message.contains("search_log needs the token scope read_build_logs"), "{message}");
    let message = client.err("get_job", json!({"job": RSPEC_JOB, "env": true})).await;
    assert!(message.contains("get_job with env needs the token scope read_job_env"), "{message}");
    client.stop().await;
    // The tools table names the missing scope.
    let output = support::command(Some(&fake), &[]).arg("tools").output().await.unwrap();
    let table = String::from_utf8_lossy(&output.stdout);
    let row = table.lines().find(|l| l.starts_with("search_log")).unwrap_or_default();
    assert!(row.contains("no: token lacks read_build_logs"), "{table}");
}

/// Two servers sharing one cache directory both read the same log (one writes it, the other
/// finds it), and every cached read still asks Buildkite whether the token may read it.
#[tokio::test]
async fn a_shared_log_cache_serves_two_servers_and_still_checks_access() {
    let fake = FakeBuildkite::start().await;
    let cache = support::fresh_dir("shared-cache");
    let env = [("BUILDKITE_MCP_LOG_CACHE", cache.to_str().unwrap())];
    let (a, b) = tokio::join!(connect(Some(&fake), &env, &[]), connect(Some(&fake), &env, &[]));
    let args = json!({"job": RSPEC_JOB, "pattern": "Failure/Error"});
    let (x, y) = tokio::join!(a.ok("search_log", args.clone()), b.ok("search_log", args.clone()));
    assert_eq!(x, y);
    // Once cached, a revoked token is refused even though the copy is on disk.
    fake.fail_rest(support::fake::Fault::Status(403, "Forbidden"));
    let message = a.err("search_log", args.clone()).await;
    assert!(message.contains("403 Forbidden"), "{message}");
    fake.heal();
    let entries = std::fs::read_dir(&cache)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().join("meta.json").exists())
        .count();
    assert_eq!(entries, 1, "one cache entry for the job");
    a.stop().await;
    b.stop().await;
}

/// The digest of every fixture log holds its real error line, and costs fewer tokens than a
/// 50-line tail and than the whole cleaned log.
#[tokio::test]
async fn the_digest_holds_the_real_error_line_for_less_than_a_tail() {
    let fake = FakeBuildkite::start().await;
    let client = connect(Some(&fake), &[], &[]).await;
    for (job, what, error) in FIXTURE_LOGS {
        let digest = client.ok("log_digest", json!({"job": job})).await;
        let tail = client.ok("tail_log", json!({"job": job, "lines": 50})).await;
        let raw = buildkite_mcp_server::demo::LOGS.iter().find(|(u, _)| *u == job).unwrap().1;
        let whole = buildkite_mcp_server::logs::clean_lines(raw.as_bytes(), false).join("\n");
        // As JSON text: quotes in the line are escaped.
        let escaped = serde_json::to_string(error).unwrap();
        assert!(digest.contains(&escaped[1..escaped.len() - 1]), "{what}: the digest lacks `{error}`: {digest}");
        let (d, t, w) = (tokens(&digest), tokens(&tail), tokens(&whole));
        assert!(d < t && d < w, "{what}: digest {d} tokens, tail {t}, whole log {w}");
    }
    client.stop().await;
}
