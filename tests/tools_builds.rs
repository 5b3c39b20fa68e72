//! The user, pipeline, schedule, build, job and annotation tools (GraphQL first, REST where
//! GraphQL has no field or filter), through the real binary over stdio against the fake Buildkite:
//! one test per case, `<tool>::<case>`, on one server shared by this file; plus the spot checks
//! and the tests that need a server of their own (a scripted fake, other scopes or environment).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test harness code

mod support;

use serde_json::{Value, json};
use std::time::Duration;
use support::cases::{tool_cases, with_shared};
use support::fake::{FakeBuildkite, TOKEN};
use support::{connect, tokens};

const RSPEC_JOB: &str = "08d58486-29e1-47b4-b951-facf35dafc4d";
const GRACE: &str = "5a0c9f7e-2b41-4d8e-9c36-7e1f0b2d4a95";
const MAIN_UPLOAD: &str = "019da39b-fdf9-4cb6-af41-eda58b791161";
const NIGHTLY: &str = "21bade02-6a6a-4768-b2ed-66ffdcc99396";

tool_cases! {
    current_user {
        current_user: {} => ok(graphql: 1, rest: 0);
        unknown_argument_is_refused: {"bogus": 1} => err("unknown field `bogus`");
    }
    list_teams {
        list_teams: {} => ok(graphql: 1, rest: 0);
        list_teams_search: {"search": "release"} => ok(graphql: 1, rest: 0);
        list_teams_page1: {"first": 2} => ok(graphql: 1, rest: 0)
            .check(|out| assert_eq!(out.json["next"]["after"], json!("Mg")));
        unknown_org: {"org": "nope"} => err("organization `nope` was not found");
    }
    list_pipelines {
        list_pipelines: {} => ok(graphql: 1, rest: 0);
        list_pipelines_search: {"search": "web"} => ok(graphql: 1, rest: 0);
        // The page-1 continuation is what page 2 is asked with.
        list_pipelines_page1: {"first": 2} => ok(graphql: 1, rest: 0)
            .check(|out| assert_eq!(out.json["next"]["after"], json!("Mg")));
        list_pipelines_page2: {"first": 2, "after": "Mg"} => ok(graphql: 1, rest: 0);
        unknown_org: {"org": "nope"} => err("organization `nope` was not found");
    }
    get_pipeline {
        get_pipeline_with_steps: {"pipeline": "https://buildkite.com/acme/web", "steps": true} => ok(graphql: 1, rest: 0);
        get_pipeline: {"pipeline": "api"} => ok(graphql: 1, rest: 0);
        not_found: {"pipeline": "acme/nope"} => err("pipeline `acme/nope` was not found");
        not_a_pipeline: {"pipeline": "a b c"} => err("is not a pipeline");
    }
    list_schedules {
        list_schedules_pipeline: {"pipeline": "acme/web"} => ok(graphql: 1, rest: 0);
        list_schedules_org: {} => ok(graphql: 1, rest: 0);
        get_schedule: {"pipeline": "acme/web", "schedule": NIGHTLY} => ok(graphql: 1, rest: 0);
        schedule_without_pipeline: {"schedule": NIGHTLY} => err("pass `pipeline` too");
    }
    list_builds {
        list_builds: {"pipeline": "acme/web"} => ok(graphql: 1, rest: 0);
        list_builds_failed: {"pipeline": "web", "state": "failed"} => ok(graphql: 1, rest: 0);
        list_builds_budget_cut: {"pipeline": "acme/web", "max_tokens": 300} => ok(graphql: 1, rest: 0);
        // Where GraphQL has no list or filter: REST.
        list_builds_org: {} => ok(graphql: 0, rest: 1)
            .check(|out| assert_eq!(out.json["next"], json!({"after": "2"})));
        list_builds_org_page2: {"after": "2"} => ok(graphql: 0, rest: 1);
        // The creator filter reaches REST as the user's UUID.
        list_builds_creator_email: {"creator": "grace@acme.example"} => ok(graphql: 1, rest: 1)
            .check(|out| {
                let v = &out.json;
                assert!(v["creator"].as_str().unwrap().contains("grace@acme.example"), "{v}");
                assert!(v["builds"].as_array().unwrap().iter().all(|b| b["by"] == json!("Grace Hopper")), "{v}");
            });
        list_builds_creator_uuid: {"creator": GRACE} => ok(graphql: 0, rest: 1);
        list_builds_pipeline_creator: {"pipeline": "web", "creator": GRACE} => ok(graphql: 0, rest: 1);
        list_builds_finished_from: {"finished_from": "2026-11-20"} => ok(graphql: 0, rest: 1);
        pipeline_not_found: {"pipeline": "acme/nope"} => err("pipeline `acme/nope` was not found");
        unknown_state: {"pipeline": "web", "state": "exploded"} => err("unknown state `exploded`");
        date_not_iso: {"pipeline": "web", "created_from": "last tuesday"} => err("is not an ISO date");
        first_not_a_number: {"pipeline": "web", "first": "many"} => err("expected a whole number");
        creator_ambiguous: {"creator": "Ada"} => err("matches several members");
        creator_unknown: {"creator": "nobody@nowhere.example"} => err("no member of `acme` matches");
        org_page_not_a_number: {"after": "Mg"} => err("after `Mg` is not a page number");
        default_branch_needs_one_pipeline: {"creator": GRACE, "branch": "%default"} => err("%default needs one pipeline");
    }
    get_build {
        get_build_failed: {"build": "https://buildkite.com/acme/web/builds/1342"} => ok(graphql: 1, rest: 0);
        get_build_blocked: {"build": "acme/web/1343"} => ok(graphql: 1, rest: 0);
        get_build_passed: {"build": "#1341", "pipeline": "web"} => ok(graphql: 1, rest: 0);
        get_build_triggered: {"build": "acme/api/88"} => ok(graphql: 1, rest: 0);
        not_found: {"build": "acme/web/999999"} => err("build acme/web/999999 was not found");
        url_without_build: {"build": "https://buildkite.com/acme"} => err("does not point at a Buildkite build");
        not_a_build: {"build": "htp:/oops"} => err("is not a build");
        number_without_pipeline: {"build": "42"} => err("a number together with `pipeline`");
        missing_build: {} => err("invalid arguments for get_build: missing field `build`");
        unknown_argument: {"build": "acme/web/1", "bogus": 1} => err("unknown field `bogus`");
    }
    compare_builds {
        // The default base needs the head's branch first; a named base is one request.
        compare_builds_default_base: {"build": "acme/web/1342"} => ok(graphql: 2, rest: 0)
            .check(|out| {
                let cmp = &out.json;
                assert!(cmp["base"].as_str().unwrap().starts_with("acme/web/1331 passed (last passed on"), "{cmp}");
                assert!(
                    cmp["newly_failing"].as_array().unwrap().iter().any(|s| s.as_str().unwrap().contains("Lint")),
                    "{cmp}"
                );
                assert!(cmp["compare_url"].as_str().unwrap().starts_with("https://github.com/acme/web/compare/"), "{cmp}");
            });
        compare_builds_named_base: {"build": "acme/web/1342", "base": "1331"} => ok(graphql: 1, rest: 0);
        compare_builds_passed: {"build": "acme/web/1341"} => ok(graphql: 2, rest: 0);
        build_not_found: {"build": "acme/web/999999"} => err("build acme/web/999999 was not found");
        base_not_found: {"build": "acme/web/1342", "base": "999999"} => err("was not found");
    }
    list_step_uploads {
        list_step_uploads: {"build": "acme/web/1342"} => ok(graphql: 1, rest: 0);
        list_step_uploads_yaml: {"build": "acme/web/1342", "upload": MAIN_UPLOAD, "yaml": true} => ok(graphql: 1, rest: 0);
        list_step_uploads_none: {"build": "acme/api/88"} => ok(graphql: 1, rest: 0);
        unknown_upload: {"build": "acme/web/1342", "upload": "nope"} => err("step upload nope");
    }
    get_build_failure_summary {
        // One ranged log request per failed job that ran, and one for Test Engine's failed tests;
        // the history of the failed steps (one more GraphQL request) and the tails of the three
        // earlier rspec failures it names, for their fingerprints (one of them has no log).
        failure_summary: {"build": "https://buildkite.com/acme/web/builds/1342"} => ok(graphql: 2, rest: 8);
        failure_summary_without_history: {"build": "acme/web/1342", "history": false} => ok(graphql: 1, rest: 5);
        failure_summary_history_of_one_step: {"build": "acme/web/1342", "history": "rspec"} => ok(graphql: 2, rest: 8);
        // The Rust build: a first failure (last passed in #85) and a step without a key.
        failure_summary_first_failure_and_keyless: {"build": "acme/api/86"} => ok(graphql: 2, rest: 4);
        failure_summary_passed: {"build": "acme/web/1341"} => ok(graphql: 1, rest: 0);
        failure_summary_blocked: {"build": "acme/web/1343"} => ok(graphql: 1, rest: 0);
    }
    wait_for_build {
        wait_for_build_finished: {"build": "acme/web/1342"} => ok(graphql: 1, rest: 0);
        wait_for_build_blocked: {"build": "acme/web/1343"} => ok(graphql: 1, rest: 0);
    }
    list_jobs {
        list_jobs_large_build: {"build": "https://buildkite.com/acme/web/builds/1340"} => ok(graphql: 1, rest: 0);
        list_jobs_large_build_page2: {"build": "acme/web/1340", "after": "NTA"} => ok(graphql: 1, rest: 0);
        list_jobs_large_build_failed: {"build": "acme/web/1340", "state": "failed"} => ok(graphql: 1, rest: 0);
        list_jobs_step: {"build": "acme/web/1340", "step": "rspec"} => ok(graphql: 1, rest: 0);
        list_jobs_failed: {"build": "acme/web/1342", "state": "failed"} => ok(graphql: 1, rest: 0);
        list_jobs_blocked: {"build": "acme/web/1343", "state": "blocked"} => ok(graphql: 1, rest: 0);
        build_not_found: {"build": "acme/web/999999"} => err("build acme/web/999999 was not found");
        one_state_per_call: {"build": "acme/web/1342", "state": "failed,broken"} => err("make one call per filter");
        unknown_type: {"build": "acme/web/1342", "type": "lambda"} => err("unknown type `lambda`");
    }
    get_job {
        get_job_failed: {"job": "https://buildkite.com/acme/web/builds/1342#08d58486-29e1-47b4-b951-facf35dafc4d"} => ok(graphql: 1, rest: 0);
        get_job_block: {"job": "d4172cf9-06d3-4e92-8f70-3351bb7b1cab"} => ok(graphql: 1, rest: 0);
        get_job_trigger: {"job": "7c9e2b14-3a5d-4e8f-b1c2-d3e4f5a6b7c8"} => ok(graphql: 1, rest: 0);
        // Only REST has a job's environment, and only with read_job_env; secrets never reach the model.
        get_job_env: {"job": RSPEC_JOB, "env": true} => ok(graphql: 1, rest: 1)
            .fresh(&["read_job_env"])
            .check(|out| {
                assert!(!out.text.contains("wJalrXUtnFEMI") && !out.text.contains("bkaj_fake_agent_token"), "{}", out.text);
                assert_eq!(out.json["env"]["AWS_SECRET_ACCESS_KEY"], json!("[redacted]"));
                assert_eq!(out.json["env"]["BUILDKITE_BUILD_NUMBER"], json!("1342"));
            });
        wait_step: {"job": "0f6a1c6e-5d2b-4f7e-9a3c-2b8d4e6f1a01"} => err("is a wait step");
        not_a_job: {"job": "not-a-job"} => err("is not a job: pass a job UUID");
        not_found: {"job": "00000000-0000-4000-8000-000000000000"} => err("job 00000000-0000-4000-8000-000000000000 was not found");
    }
    list_annotations {
        list_annotations: {"build": "acme/web/1342"} => ok(graphql: 1, rest: 0);
        list_annotations_errors: {"build": "acme/web/1342", "style": "error"} => ok(graphql: 1, rest: 0);
        list_annotations_none: {"build": "acme/web/1343"} => ok(graphql: 1, rest: 0);
        unknown_style: {"build": "acme/web/1342", "style": "purple"} => err("unknown style `purple`");
    }
}

#[test]
fn get_build_names_the_failures_and_a_small_budget_cuts_the_largest_list() {
    with_shared(async |s| {
        let text = s.client.ok("get_build", json!({"build": "acme/web/1342"})).await;
        let v: Value = serde_json::from_str(&text).unwrap();
        let labels: Vec<&str> = v["failed"].as_array().unwrap().iter().map(|j| j["label"].as_str().unwrap()).collect();
        assert!(labels.contains(&":rspec: RSpec 3/8") && labels.contains(&":eslint: Lint"), "{labels:?}");
        assert_eq!(v["retried_attempts"], json!(1), "the retried attempt is folded away");
        assert_eq!(v["soft_failed"][0]["label"], json!(":jest: Jest"));
        assert!(tokens(&text) < 1_000, "get_build is {} tokens", tokens(&text));
        let small = s.client.ok("get_build", json!({"build": "acme/web/1342", "max_tokens": 200})).await;
        let v: Value = serde_json::from_str(&small).unwrap();
        assert!(v["cut"].as_str().is_some(), "{small}");
    });
}

#[test]
fn get_build_by_uuid_is_the_same_build_as_by_number() {
    with_shared(async |s| {
        let by_number: Value =
            serde_json::from_str(&s.client.ok("get_build", json!({"build": "acme/web/1342"})).await).unwrap();
        let uuid = by_number["uuid"].as_str().unwrap().to_string();
        let by_uuid: Value = serde_json::from_str(&s.client.ok("get_build", json!({"build": uuid})).await).unwrap();
        assert_eq!(by_number, by_uuid);
    });
}

#[test]
fn compare_builds_with_a_named_base_finds_the_same_newly_failing_steps() {
    with_shared(async |s| {
        let default: Value =
            serde_json::from_str(&s.client.ok("compare_builds", json!({"build": "acme/web/1342"})).await).unwrap();
        let named: Value = serde_json::from_str(
            &s.client.ok("compare_builds", json!({"build": "acme/web/1342", "base": "1331"})).await,
        )
        .unwrap();
        assert_eq!(named["newly_failing"], default["newly_failing"]);
    });
}

#[test]
fn every_request_carries_the_server_user_agent_and_the_token_never_reaches_the_log() {
    with_shared(async |s| {
        s.client.ok("get_build", json!({"build": "acme/web/1342"})).await;
        s.client.ok("list_builds", json!({})).await;
        let agents = s.fake.user_agents();
        assert!(agents.iter().all(|ua| ua.starts_with("buildkite-mcp-server/")), "{agents:?}");
        assert!(!s.client.log_so_far().contains(TOKEN), "the token leaked into the log");
    });
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
async fn get_build_failure_summary_explains_each_failure_from_its_log() {
    let fake = FakeBuildkite::start().await;
    let client = connect(Some(&fake), &[], &[]).await;
    client.ok("current_user", json!({})).await; // scopes read
    let (g0, r0) = (fake.graphql_requests(), fake.rest_requests());
    // Without the history of the steps (and so without earlier failures' tails): one request.
    let text = client.ok("get_build_failure_summary", json!({"build": "acme/web/1342", "history": false})).await;
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
async fn wait_for_build_that_times_out_says_how_to_keep_waiting() {
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
async fn get_build_failure_summary_neither_repeats_nor_silently_drops_jobs() {
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
        .map(|i| json!({"node": {"__typename": "JobTypeBlock", "uuid": format!("00000000-0000-4000-8000-0000000001{i:02}"), "label": "Go?", "isUnblockable": true}}))
        .collect();
    // The recorded build 1342, its jobs and annotations replaced.
    let mut response =
        buildkite_mcp_server::demo::Demo::load().graphql("GetBuild", &json!({"slug": "acme/web/1342"})).unwrap();
    let planted = json!({
        "uuid": "0190b1a2-0000-4000-8000-000000000007", "number": 7, "url": "https://buildkite.com/acme/web/builds/7", "state": "FAILED", "branch": "main",
        "commit": "0123456789abcdef0123456789abcdef01234567", "message": "m",
        "pipeline": {"slug": "web", "name": "Web"}, "organization": {"slug": "acme"}, "total": {"count": 10},
        "failed": {"count": 1, "edges": [job(a, "TIMED_OUT", false)]},
        "stopped": {"count": 3, "edges": [job(a, "TIMED_OUT", false), job(b, "CANCELED", true), job(c, "CANCELED", false)]},
        "blocked": {"count": 9, "edges": blocked},
        "errorAnnotations": {"count": 0},
        "annotations": {"count": 0, "edges": []}});
    response["data"]["build"].as_object_mut().unwrap().extend(planted.as_object().unwrap().clone());
    fake.set_responder(Box::new(move |op, _| (op == "GetBuild").then(|| response.clone())));
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

/// The history of each failed step of the demo build, one more GraphQL request for all of them:
/// a step failing since an earlier build (rspec), a first failure (lint), a flaky step (cypress,
/// passed on retry), one that never passed (lighthouse); in the Rust build, a first failure and a
/// step without a key. Printed: the summary's tokens with and without the history.
#[tokio::test]
async fn the_failure_summary_tells_each_failed_steps_history() {
    let fake = FakeBuildkite::start().await;
    let client = connect(Some(&fake), &[], &[]).await;
    let g0 = fake.graphql_requests();
    let with = client.ok("get_build_failure_summary", json!({"build": "acme/web/1342"})).await;
    assert_eq!(fake.graphql_requests() - g0, 2, "the build, then the history of all its failed steps");
    let v: Value = serde_json::from_str(&with).unwrap();
    let history = |v: &Value, step: &str, side: &str| -> String {
        let rows = v["history"].as_array().unwrap_or_else(|| panic!("no history: {v}"));
        let row = rows.iter().find(|r| r["step"] == json!(step)).unwrap_or_else(|| panic!("{step} missing: {v}"));
        row[side].as_str().unwrap_or_else(|| panic!("{step} {side}: {row}")).to_string()
    };
    assert!(history(&v, "rspec", "branch").starts_with("failing since #1328; last passed #1326"), "{with}");
    assert!(history(&v, "lint", "branch").starts_with("new: last passed #1331"), "{with}");
    assert!(history(&v, "cypress", "branch").contains("flaky: passed on retry in #1331, #1326"), "{with}");
    assert!(history(&v, "lighthouse", "branch").starts_with("never passed in the last 4"), "{with}");
    assert!(history(&v, "lighthouse", "default_branch").starts_with("never passed in the last 5"), "{with}");
    assert!(
        history(&v, "rspec", "default_branch").starts_with("last passed #1341"),
        "only the build's branch says new or since"
    );

    let rust = client.ok("get_build_failure_summary", json!({"build": "acme/api/86"})).await;
    let r: Value = serde_json::from_str(&rust).unwrap();
    assert!(history(&r, "cargo-test", "branch").starts_with("new: last passed #85"), "{rust}");
    assert_eq!(history(&r, ":scroll: Licences", "branch"), "no history: the step has no key");

    // One step asked for by key; and no history at all.
    let one: Value = serde_json::from_str(
        &client.ok("get_build_failure_summary", json!({"build": "acme/web/1342", "history": "rspec"})).await,
    )
    .unwrap();
    assert_eq!(one["history"].as_array().unwrap().len(), 1, "{one}");
    let g0 = fake.graphql_requests();
    let without = client.ok("get_build_failure_summary", json!({"build": "acme/web/1342", "history": "false"})).await;
    assert_eq!(fake.graphql_requests() - g0, 0, "served from memory, and no history request");
    assert!(!without.contains("\"history\"") && !without.contains("\"error\":"), "{without}");
    let (t_with, t_without) = (tokens(&with), tokens(&without));
    println!(
        "failure summary of acme/web/1342 (5 failed jobs, 4 steps): {t_with} tokens with history, {t_without} without"
    );
    assert!(t_with - t_without <= 400, "history added {} tokens", t_with - t_without);
    client.stop().await;
}

/// Fingerprints: the rspec 3/8 failure is the same error as the earlier rspec failures (#1331,
/// #1328: the same lines, other times, seeds and durations), the 6/8 one a different error.
#[tokio::test]
async fn fingerprints_group_the_same_error_and_separate_another() {
    let fake = FakeBuildkite::start().await;
    let client = connect(Some(&fake), &[], &[]).await;
    let v: Value =
        serde_json::from_str(&client.ok("get_build_failure_summary", json!({"build": "acme/web/1342"})).await).unwrap();
    let job =
        |label: &str| v["failures"].as_array().unwrap().iter().find(|f| f["label"] == json!(label)).unwrap().clone();
    let (three, six) = (job(":rspec: RSpec 3/8"), job(":rspec: RSpec 6/8"));
    assert_eq!(three["error"], "same as in #1331, #1328", "{v}");
    assert_eq!(six["error"], "new: differs from #1331, #1328", "{v}");
    assert_ne!(three["fingerprint"], six["fingerprint"]);
    assert!(job(":eslint: Lint")["error"].is_null(), "lint never failed before: nothing to compare");
    client.stop().await;
}

/// Earlier failures beyond what 12 REST requests a call allow are not compared, and the output
/// says so: two steps failing in six earlier builds each, every log readable.
#[tokio::test]
async fn earlier_failures_stay_within_twelve_rest_requests_and_the_cut_is_said() {
    let fake = FakeBuildkite::start().await;
    let failed = |n: i64| -> Value {
        let job = |i: i64, key: &str| json!({"node": {"__typename": "JobTypeCommand", "uuid": format!("e0000000-0000-4000-8000-{:012}", n * 10 + i), "retried": false, "softFailed": false, "state": "FINISHED", "step": {"key": key}}});
        json!({"node": {"number": n, "state": "FAILED", "ran": {"count": 12}, "failed": {"count": 2, "edges": [job(1, "rspec"), job(2, "lint")]}}})
    };
    let builds: Vec<Value> = (1320..1326).rev().map(failed).collect();
    fake.set_responder(Box::new(move |op, _| {
        (op == "GetStepHistory").then(|| json!({"data": {"pipeline": {"defaultBranch": "main", "onBranch": {"edges": builds.clone()}, "onDefault": {"edges": []}}}}))
    }));
    fake.set_any_log("--- :rspec: Tests\nerror: something else broke\n".into());
    let client = connect(Some(&fake), &[], &[]).await;
    client.ok("current_user", json!({})).await;
    let r0 = fake.rest_requests();
    let text = client.ok("get_build_failure_summary", json!({"build": "acme/web/1342"})).await;
    let spent = fake.rest_requests() - r0;
    assert!(spent <= 12, "{spent} REST requests");
    let v: Value = serde_json::from_str(&text).unwrap();
    let cut = v["fingerprints"].as_str().unwrap_or_else(|| panic!("no cut said: {text}"));
    assert!(cut.contains("earlier failures not compared: at most 12 REST requests per call"), "{cut}");
    client.stop().await;
}

/// An earlier failure whose log is cached is fingerprinted from the cache: one tail fewer.
#[tokio::test]
async fn an_earlier_failure_cached_costs_no_request() {
    const EARLIER_RSPEC: &str = "3f0d2c41-8e5a-4b7c-9d16-2a4e6f8b0c31";
    let fake = FakeBuildkite::start().await;
    let cold = connect(Some(&fake), &[], &[]).await;
    let r0 = fake.rest_requests();
    let first = cold.ok("get_build_failure_summary", json!({"build": "acme/web/1342"})).await;
    let uncached = fake.rest_requests() - r0;
    cold.stop().await;
    let warm = connect(Some(&fake), &[], &[]).await;
    warm.ok("log_digest", json!({"job": EARLIER_RSPEC})).await; // caches #1331's rspec log
    let r0 = fake.rest_requests();
    let again = warm.ok("get_build_failure_summary", json!({"build": "acme/web/1342"})).await;
    assert_eq!(fake.rest_requests() - r0, uncached - 1, "#1331's log came from the cache");
    let said = |text: &str| {
        let v: Value = serde_json::from_str(text).unwrap();
        v["failures"][0]["error"].clone()
    };
    assert_eq!(said(&first), said(&again), "the same comparison either way");
    warm.stop().await;
}
