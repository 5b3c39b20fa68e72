//! Tokens without GraphQL access (the scope links on Buildkite's MCP page make such tokens): the
//! fake refuses GraphQL with 403 while REST answers, and the real binary, through an rmcp client,
//! answers every tool that has a REST path over REST, hides the others, says so once, and agrees
//! with the GraphQL answers of the same fixture builds where both APIs carry a value.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test harness code

mod support;

use serde_json::{Value, json};
use support::fake::{FakeBuildkite, Fault};
use support::{check_budgets, connect, pretty, snapshots, tokens};

const RSPEC_JOB: &str = "08d58486-29e1-47b4-b951-facf35dafc4d";
const MACOS_CLUSTER: &str = "b61e6ba5-3682-4dd6-b804-69b84b2d451c";
const RSPEC_QUEUE: &str = "Q2x1c3RlclF1ZXVlLS0tZGMzNmZjOTAtMjI0OC00ZDcwLWFjYTQtYTFhOWY1YjE5Zjcx";
const MACOS_QUEUE: &str = "Q2x1c3RlclF1ZXVlLS0tOTM5YWUyMzItNTg4ZS00YmNlLWI3MWUtZDc4YTFkYzAyZTI3";
const SMALL_TEXT: &str = "019da481-2bd7-4616-9f61-1e77d966f58e";
const ANSI_TEXT: &str = "019da481-5c92-417b-a7f9-2cca5df8025a";
const OVER_CAP: &str = "019da480-510f-1eed-b595-243dbee88e94";
const BINARY: &str = "019da481-9731-4087-b71c-9b34f86d7bbb";
const EXPIRED: &str = "019da481-acb6-4645-b23f-63f01f9d5ff4";
const NIGHTLY: &str = "21bade02-6a6a-4768-b2ed-66ffdcc99396";
const NO_GRAPHQL: Fault = Fault::Status(403, "Your API access token does not have GraphQL access enabled");

/// An artifact of the RSpec job named as REST finds it: `<job>/artifacts/<artifact>`.
fn job_artifact(artifact: &str) -> String {
    format!("{RSPEC_JOB}/artifacts/{artifact}")
}

/// An artifact's URL, which names its organization and job.
fn artifact_url(artifact: &str) -> String {
    format!("https://buildkite.com/organizations/acme/pipelines/web/builds/1342/jobs/{RSPEC_JOB}/artifacts/{artifact}")
}

/// insta settings writing under `snapshots/rest_only/`.
fn rest_snapshots() -> insta::Settings {
    let mut settings = snapshots();
    settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots/rest_only"));
    settings
}

/// A fake whose GraphQL refuses every request with 403 (REST keeps answering).
async fn refusing_fake() -> FakeBuildkite {
    let fake = FakeBuildkite::start().await;
    fake.fail_graphql(NO_GRAPHQL, None);
    fake
}

/// Every fallback case: (snapshot, tool, arguments, REST requests).
fn cases() -> Vec<(&'static str, &'static str, Value, usize)> {
    vec![
        ("current_user", "current_user", json!({}), 2),
        ("list_pipelines", "list_pipelines", json!({}), 1),
        ("list_pipelines_search", "list_pipelines", json!({"search": "web"}), 1),
        ("get_pipeline", "get_pipeline", json!({"pipeline": "web"}), 2),
        ("get_pipeline_steps", "get_pipeline", json!({"pipeline": "acme/web", "steps": true}), 2),
        ("list_builds", "list_builds", json!({"pipeline": "web"}), 1),
        ("list_builds_org", "list_builds", json!({}), 1),
        ("get_build_failed", "get_build", json!({"build": "acme/web/1342"}), 3),
        ("get_build_passed", "get_build", json!({"build": "https://buildkite.com/acme/web/builds/1341"}), 3),
        ("get_build_blocked", "get_build", json!({"build": "1343", "pipeline": "web"}), 3),
        ("list_jobs", "list_jobs", json!({"build": "acme/web/1342"}), 1),
        ("list_jobs_failed", "list_jobs", json!({"build": "acme/web/1342", "state": "failed"}), 1),
        ("get_job", "get_job", json!({"job": RSPEC_JOB}), 1),
        ("list_annotations", "list_annotations", json!({"build": "acme/web/1342"}), 1),
        ("list_annotations_error", "list_annotations", json!({"build": "acme/web/1342", "style": "error"}), 1),
        ("tail_log", "tail_log", json!({"job": RSPEC_JOB, "lines": 10}), 1),
        ("log_digest", "log_digest", json!({"job": RSPEC_JOB}), 3),
        ("list_suites", "list_suites", json!({}), 1),
        ("list_test_runs_build", "list_test_runs", json!({"suite": "web-rspec", "build": "acme/web/1342"}), 2),
        // Build, one page of failed/stopped/blocked jobs, annotations; 4 log tails (the canceled
        // job never started); Test Engine's failed tests.
        (
            "failure_summary",
            "get_build_failure_summary",
            json!({"build": "https://buildkite.com/acme/web/builds/1342"}),
            8,
        ),
        ("failure_summary_passed", "get_build_failure_summary", json!({"build": "acme/web/1341"}), 3),
        ("failure_summary_blocked", "get_build_failure_summary", json!({"build": "acme/web/1343"}), 3),
        ("wait_for_build_finished", "wait_for_build", json!({"build": "acme/web/1342"}), 1),
        ("wait_for_build_blocked", "wait_for_build", json!({"build": "acme/web/1343"}), 1),
        // Each side: the build and its job pages (1342 has two).
        ("compare_builds_named_base", "compare_builds", json!({"build": "acme/web/1342", "base": "1341"}), 5),
        // The head (one job page), the passed builds of its branch, the base.
        ("compare_builds_default_base", "compare_builds", json!({"build": "acme/web/1343"}), 5),
        // The clusters, then each one's queues (3 clusters).
        ("list_clusters", "list_clusters", json!({}), 4),
        ("list_clusters_by_name", "list_clusters", json!({"cluster": "macOS"}), 4),
        ("list_clusters_by_uuid", "list_clusters", json!({"cluster": MACOS_CLUSTER}), 2),
        ("get_queue_key", "get_queue", json!({"queue": "rspec"}), 4),
        ("get_queue_paused", "get_queue", json!({"queue": MACOS_QUEUE}), 4),
        ("get_queue_in_cluster", "get_queue", json!({"queue": "macos", "cluster": MACOS_CLUSTER}), 2),
        // The job (label, build) and its first page of artifacts, side by side.
        ("list_artifacts_job", "list_artifacts", json!({"job": RSPEC_JOB}), 2),
        ("list_artifacts_job_glob", "list_artifacts", json!({"job": RSPEC_JOB, "path": "*.xml"}), 2),
        // The artifact through its job, then its `…/download` (302 to the storage host) when inlined.
        ("get_artifact_inline", "get_artifact", json!({"artifact": job_artifact(SMALL_TEXT)}), 2),
        ("get_artifact_ansi", "get_artifact", json!({"artifact": job_artifact(ANSI_TEXT)}), 2),
        ("get_artifact_over_cap", "get_artifact", json!({"artifact": artifact_url(OVER_CAP)}), 1),
        ("get_artifact_binary", "get_artifact", json!({"artifact": job_artifact(BINARY)}), 1),
        ("get_artifact_expired", "get_artifact", json!({"artifact": job_artifact(EXPIRED)}), 1),
        ("list_schedules_pipeline", "list_schedules", json!({"pipeline": "acme/web"}), 1),
        ("get_schedule", "list_schedules", json!({"pipeline": "acme/web", "schedule": NIGHTLY}), 1),
    ]
}

#[tokio::test]
async fn fallback_tools_answer_over_rest_within_their_budgets() {
    let fake = refusing_fake().await;
    let client = connect(Some(&fake), &[], &[]).await;
    // Start-up: one GraphQL probe (refused), confirmed by REST; nothing else tries GraphQL.
    let _ = client.service.list_all_tools().await.unwrap();
    let probes = fake.graphql_requests();
    assert!(probes <= 2, "start-up GraphQL requests: {probes}");
    let mut figures = Vec::new();
    let mut failures = Vec::new();
    for (snapshot, tool, args, rest) in cases() {
        let (g0, r0) = (fake.graphql_requests(), fake.rest_requests());
        let (is_error, text) = client.call(tool, args.clone()).await;
        let (g, r) = (fake.graphql_requests() - g0, fake.rest_requests() - r0);
        if is_error {
            failures.push(format!("{snapshot}: {text}"));
            continue;
        }
        if g != 0 || r != rest {
            failures.push(format!("{snapshot}: {g} GraphQL / {r} REST requests, expected 0 / {rest}"));
        }
        let n = tokens(&text);
        figures.push((snapshot.to_string(), n));
        rest_snapshots().bind(|| {
            insta::assert_snapshot!(
                snapshot,
                format!("tokens: {n}\nrequests: 0 / {r}\nargs: {args}\n{}", pretty(&text))
            )
        });
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    check_budgets("rest_outputs", &figures);
    client.stop().await;
}

/// Keys that differ by design between the two APIs (documented in the README's tool table).
const DIFFERENT: &[&str] = &[
    // REST counts every job type in job_state_counts (the fixture derives them from GraphQL's).
    "retried_attempts",
    // Over REST get_artifact has no short-lived download_url, so a "not inlined" note says where
    // to download instead.
    "inline",
];

/// Every leaf path of `v` with its value: `jobs.failed`, `failed.0.exit`.
fn leaves(prefix: &str, v: &Value, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(m) => m.iter().for_each(|(k, x)| leaves(&format!("{prefix}{k}."), x, out)),
        Value::Array(a) => a.iter().enumerate().for_each(|(i, x)| leaves(&format!("{prefix}{i}."), x, out)),
        other => out.push((prefix.trim_end_matches('.').to_string(), other.clone())),
    }
}

/// Each call through both clients: a report line per call, and every value the two answers
/// disagree on where both carry it.
async fn agreement(
    graphql: &support::Client,
    rest: &support::Client,
    same: &[(&str, Value)],
) -> (Vec<String>, Vec<String>) {
    let mut report = Vec::new();
    let mut disagreements = Vec::new();
    for (tool, args) in same.iter().cloned() {
        let g: Value = serde_json::from_str(&graphql.ok(tool, args.clone()).await).unwrap();
        let r: Value = serde_json::from_str(&rest.ok(tool, args.clone()).await).unwrap();
        let (mut gl, mut rl) = (Vec::new(), Vec::new());
        leaves("", &g, &mut gl);
        leaves("", &r, &mut rl);
        let gmap: std::collections::BTreeMap<_, _> = gl.into_iter().collect();
        let mut shared = 0;
        for (path, value) in &rl {
            if DIFFERENT.iter().any(|d| path.starts_with(d)) {
                continue;
            }
            if let Some(gv) = gmap.get(path) {
                shared += 1;
                // Annotation bodies: GraphQL's text against text made from REST's HTML, compared
                // word by word (line breaks differ; a long body is capped at different places).
                let words = |v: &Value| v.as_str().map(|s| s.split_whitespace().take(40).collect::<Vec<_>>().join(" "));
                if path.ends_with(".text") && words(gv) == words(value) {
                    continue;
                }
                if gv != value {
                    disagreements.push(format!("{tool} {args}: {path}: GraphQL {gv} vs REST {value}"));
                }
            }
        }
        let only_graphql: Vec<&String> =
            gmap.keys().filter(|k| !rl.iter().any(|(p, _)| p == *k) && !k.contains('.')).collect();
        report.push(format!("{tool} {args}: {shared} values agree; top-level keys only in GraphQL: {only_graphql:?}"));
    }
    (report, disagreements)
}

#[tokio::test]
async fn rest_and_graphql_agree_where_both_carry_a_value() {
    let graphql_fake = FakeBuildkite::start().await;
    let rest_fake = refusing_fake().await;
    let graphql = connect(Some(&graphql_fake), &[], &[]).await;
    let rest = connect(Some(&rest_fake), &[], &[]).await;
    let same = [
        ("get_build", json!({"build": "acme/web/1342"})),
        ("get_build", json!({"build": "acme/web/1341"})),
        ("get_build", json!({"build": "acme/web/1343"})),
        ("list_builds", json!({"pipeline": "web"})),
        ("get_job", json!({"job": RSPEC_JOB})),
        ("list_jobs", json!({"build": "acme/web/1342"})),
        ("list_annotations", json!({"build": "acme/web/1342"})),
        ("get_pipeline", json!({"pipeline": "web"})),
        ("list_pipelines", json!({})),
        ("current_user", json!({})),
        ("list_suites", json!({})),
        ("get_build_failure_summary", json!({"build": "acme/web/1342"})),
        ("get_build_failure_summary", json!({"build": "acme/web/1343"})),
        ("wait_for_build", json!({"build": "acme/web/1342"})),
        ("wait_for_build", json!({"build": "acme/web/1343"})),
        ("compare_builds", json!({"build": "acme/web/1342", "base": "1341"})),
        ("list_artifacts", json!({"job": RSPEC_JOB})),
        ("list_artifacts", json!({"job": RSPEC_JOB, "path": "*.xml"})),
        ("list_schedules", json!({"pipeline": "acme/web"})),
        ("list_schedules", json!({"pipeline": "acme/web", "schedule": NIGHTLY})),
        ("get_artifact", json!({"artifact": job_artifact(SMALL_TEXT)})),
        ("get_artifact", json!({"artifact": artifact_url(OVER_CAP)})),
        ("get_artifact", json!({"artifact": job_artifact(EXPIRED)})),
        // One queue: GraphQL orders queues busiest first, REST by key.
        ("list_clusters", json!({"cluster": MACOS_CLUSTER})),
        ("get_queue", json!({"queue": RSPEC_QUEUE})),
        ("get_queue", json!({"queue": MACOS_QUEUE})),
    ];
    let (report, disagreements) = agreement(&graphql, &rest, &same).await;
    println!("{}", report.join("\n"));
    assert!(disagreements.is_empty(), "REST and GraphQL disagree:\n{}", disagreements.join("\n"));
    graphql.stop().await;
    rest.stop().await;
}

#[tokio::test]
async fn tools_table_tools_list_and_instructions_for_a_token_without_graphql() {
    let fake = refusing_fake().await;
    let out = support::command(Some(&fake), &[]).arg("tools").output().await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("no: token lacks GraphQL access"), "{table}");
    rest_snapshots().bind(|| insta::assert_snapshot!("tools_table", table));

    let client = connect(Some(&fake), &[], &[]).await;
    let instructions = client.service.peer_info().and_then(|i| i.instructions.clone()).unwrap_or_default();
    assert_eq!(instructions.matches("GraphQL access").count(), 1, "said once: {instructions}");
    rest_snapshots().bind(|| insta::assert_snapshot!("instructions", instructions));
    let names: Vec<String> =
        client.service.list_all_tools().await.unwrap().into_iter().map(|t| t.name.to_string()).collect();
    assert!(!names.iter().any(|n| n == "list_step_uploads"), "{names:?}");
    rest_snapshots().bind(|| insta::assert_snapshot!("tools_list", names.join("\n")));
    // A hidden tool called anyway says why in one sentence.
    let err = client.err("list_step_uploads", json!({"build": "acme/web/1342"})).await;
    assert!(err.contains("needs GraphQL access") && err.contains("api-access-tokens"), "{err}");
    // current_user says the same sentence.
    let me: Value = serde_json::from_str(&client.ok("current_user", json!({})).await).unwrap();
    assert!(instructions.contains(me["graphql"].as_str().unwrap()), "{me}");
    client.stop().await;
}

#[tokio::test]
async fn org_wide_schedules_need_graphql_and_say_so() {
    let fake = refusing_fake().await;
    let client = connect(Some(&fake), &[], &[]).await;
    let r0 = fake.rest_requests();
    let err = client.err("list_schedules", json!({})).await;
    assert!(err.contains("one pipeline at a time") && err.contains("pass `pipeline`"), "{err}");
    assert_eq!(fake.rest_requests(), r0, "refused before any request");
    client.stop().await;
}

#[tokio::test]
async fn artifacts_over_rest_are_found_through_their_job_and_downloads_carry_no_token() {
    let fake = refusing_fake().await;
    let client = connect(Some(&fake), &[], &[]).await;
    let r0 = fake.rest_requests();
    let err = client.err("get_artifact", json!({"artifact": SMALL_TEXT})).await;
    assert!(err.contains("only through its job") && err.contains("/artifacts/"), "{err}");
    assert_eq!(fake.rest_requests(), r0, "refused before any request");
    let out: Value =
        serde_json::from_str(&client.ok("get_artifact", json!({"artifact": job_artifact(SMALL_TEXT)})).await).unwrap();
    assert!(out["content"].as_str().unwrap().contains("412 examples"), "{out}");
    assert_eq!(fake.leaked_downloads(), 0, "the storage host never sees the token");
    client.stop().await;
}

#[tokio::test]
async fn without_read_organizations_the_default_org_comes_from_configuration() {
    let fake = refusing_fake().await;
    fake.set_scopes(&["read_builds", "read_pipelines", "read_user", "read_suites"]);
    fake.add_rest_route("v2/organizations", &[], json!({"message": "Forbidden"}));
    let client = connect(Some(&fake), &[("BUILDKITE_ORGANIZATION", "")], &[]).await;
    let err = client.err("list_pipelines", json!({})).await;
    assert!(err.contains("BUILDKITE_ORGANIZATION") && err.contains("read_organizations"), "{err}");
    // With --org it works.
    let client2 = connect(Some(&fake), &[], &["--org", "acme"]).await;
    client2.ok("list_pipelines", json!({})).await;
    client.stop().await;
    client2.stop().await;
}

/// The peak resident memory (`VmHWM`, kB) of this test process's server child that talks to
/// `api_url` (found by its `BUILDKITE_API_URL`: tests run side by side, each with its own fake).
fn server_peak_kb(api_url: &str) -> Option<u64> {
    let me = std::process::id().to_string();
    let wanted = format!("BUILDKITE_API_URL={api_url}");
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|entry| {
        let dir = entry.path();
        let status = std::fs::read_to_string(dir.join("status")).ok()?;
        let field = |name: &str| status.lines().find(|l| l.starts_with(name)).and_then(|l| l.split_whitespace().nth(1));
        if field("PPid:") != Some(me.as_str()) {
            return None;
        }
        let environ = std::fs::read(dir.join("environ")).ok()?;
        environ.split(|b| *b == 0).any(|kv| kv == wanted.as_bytes()).then(|| field("VmHWM:")?.parse().ok())?
    })
}

/// A REST job of the synthetic big build.
fn big_job(i: usize, failed: bool) -> Value {
    json!({"id": format!("00000000-0000-4000-8000-{i:012}"), "type": "script", "name": format!(":rspec: RSpec {}/2000", i + 1),
        "step_key": "rspec", "state": if failed { "failed" } else { "passed" }, "command": "bin/ci/rspec", "soft_failed": false,
        "exit_status": if failed { 1 } else { 0 }, "retried": false, "retries_count": 0, "parallel_group_index": i, "parallel_group_total": 2000,
        "agent": {"name": format!("ci-agent-{i}"), "hostname": "ip-10-0-0-1"}, "agent_query_rules": ["queue=default"],
        "created_at": "2026-11-20T10:15:33Z", "started_at": "2026-11-20T10:16:03Z", "finished_at": "2026-11-20T10:24:41Z",
        "web_url": format!("https://buildkite.com/acme/big/builds/7#00000000-0000-4000-8000-{i:012}"),
        "log_url": "https://api.buildkite.com/v2/organizations/acme/pipelines/big/builds/7/jobs/x/log", "artifact_paths": "tmp/**/*"})
}

#[tokio::test]
async fn a_2000_job_build_over_rest_reads_only_its_failed_jobs() {
    let fake = refusing_fake().await;
    let path = "v2/organizations/acme/pipelines/big/builds/7";
    fake.add_rest_route(path, &[], json!({"id": "7b1d2c3e-0000-4000-8000-000000000007", "number": 7, "state": "failed",
        "web_url": "https://buildkite.com/acme/big/builds/7", "branch": "main", "commit": "fa93060c2219ce6045a61fa802d2dc3f40a30daf",
        "message": "A big build", "source": "webhook", "creator": {"name": "Grace Hopper", "email": "grace@acme.example"},
        "created_at": "2026-11-20T10:15:30Z", "started_at": "2026-11-20T10:15:40Z", "finished_at": "2026-11-20T10:29:51Z",
        "job_state_counts": {"total": 2000, "states": {"passed": 1960, "failed": 40}}}));
    let all: Vec<Value> = (0..2000).map(|i| big_job(i, i % 50 == 0)).collect();
    let failed: Vec<Value> = all.iter().filter(|j| j["state"] == "failed").cloned().collect();
    let whole = serde_json::to_string(&all).unwrap().len();
    fake.add_rest_route(
        &format!("{path}/jobs"),
        &[],
        json!({"items": all[..100], "links": {"next": "https://x/jobs?after=MTAw"}}),
    );
    fake.add_rest_route(&format!("{path}/jobs"), &[("state[]", "failed")], json!({"items": failed, "links": {}}));
    fake.add_rest_route(&format!("{path}/annotations"), &[], json!([]));
    let client = connect(Some(&fake), &[], &[]).await;
    let _ = client.service.list_all_tools().await.unwrap();
    let before = fake.rest_bytes_sent();
    let text = client.ok("get_build", json!({"build": "acme/big/7"})).await;
    let read = fake.rest_bytes_sent() - before;
    let n = tokens(&text);
    let peak = server_peak_kb(&fake.url).map_or("unknown".to_string(), |kb| format!("{:.1} MB", kb as f64 / 1024.0));
    println!(
        "2,000-job build over REST: {n} output tokens, {read} bytes read (the whole job list is {whole} bytes), server peak RSS (VmHWM) {peak}"
    );
    assert!(read < 40_000 && read * 20 < whole, "read {read} bytes of a {whole}-byte job list");
    check_budgets("rest_outputs", &[("get_build_2000_jobs".to_string(), n)]);
    let out: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(out["jobs"]["failed"], 40);
    client.stop().await;
}

#[tokio::test]
async fn revoked_graphql_access_switches_to_rest_without_a_restart() {
    let fake = FakeBuildkite::start().await;
    let client = connect(Some(&fake), &[], &[]).await;
    let names = |tools: Vec<rmcp::model::Tool>| tools.into_iter().map(|t| t.name.to_string()).collect::<Vec<_>>();
    assert!(names(client.service.list_all_tools().await.unwrap()).contains(&"list_step_uploads".to_string()));
    let before = client.ok("get_build", json!({"build": "acme/web/1342"})).await;
    // The token loses GraphQL access while the server runs.
    fake.fail_graphql(NO_GRAPHQL, None);
    let r0 = fake.rest_requests();
    // Other variables than the first call's: the finished build's kept answer is not what is tested.
    let after = client.ok("get_build", json!({"build": "acme/web/1342", "max_jobs": 19})).await;
    assert!(fake.rest_requests() > r0, "the call switched to REST");
    let (b, a): (Value, Value) = (serde_json::from_str(&before).unwrap(), serde_json::from_str(&after).unwrap());
    for key in ["build", "uuid", "state", "branch", "commit", "failed", "soft_failed"] {
        assert_eq!(b[key], a[key], "{key}");
    }
    // The next calls go straight to REST, and the GraphQL-only tools are no longer offered.
    let g0 = fake.graphql_requests();
    client.ok("list_jobs", json!({"build": "acme/web/1342"})).await;
    assert_eq!(fake.graphql_requests(), g0, "no GraphQL tried once the detector knows");
    let now = names(client.service.list_all_tools().await.unwrap());
    assert!(!now.contains(&"list_step_uploads".to_string()), "{now:?}");
    let err = client.err("list_step_uploads", json!({"build": "acme/web/1342"})).await;
    assert!(err.contains("needs GraphQL access"), "{err}");
    client.stop().await;
}

/// The agent cases with `read_agents` added: (snapshot, tool, arguments, REST requests).
fn agent_cases() -> Vec<(&'static str, &'static str, Value, usize)> {
    vec![
        ("list_agents", "list_agents", json!({}), 1),
        ("list_agents_search", "list_agents", json!({"search": "i-0e5f"}), 1),
        ("list_agents_busy", "list_agents", json!({"running": true}), 1),
        ("get_agent_uuid", "get_agent", json!({"agent": "3e4e9be6-a8ee-420d-9c74-845195fa7f5b"}), 1),
        ("get_agent_paused_by_name", "get_agent", json!({"agent": "paused-agent-1"}), 1),
    ]
}

#[tokio::test]
async fn agents_over_rest_need_read_agents() {
    // The read-only recipe has no read_agents: without GraphQL the agent tools are not offered,
    // and a call says which scope they need.
    let fake = refusing_fake().await;
    let client = connect(Some(&fake), &[], &[]).await;
    let names: Vec<String> =
        client.service.list_all_tools().await.unwrap().into_iter().map(|t| t.name.to_string()).collect();
    assert!(!names.iter().any(|n| n == "list_agents" || n == "get_agent"), "{names:?}");
    for tool in ["list_agents", "get_agent"] {
        let err = client.err(tool, json!({"agent": "paused-agent-1"})).await;
        assert!(err.contains("read_agents"), "{tool}: {err}");
    }
    client.stop().await;

    // With read_agents they answer over REST.
    let fake = refusing_fake().await;
    let mut scopes: Vec<&str> = support::fake::READ_ONLY_SCOPES.to_vec();
    scopes.push("read_agents");
    fake.set_scopes(&scopes);
    let client = connect(Some(&fake), &[], &[]).await;
    let names: Vec<String> =
        client.service.list_all_tools().await.unwrap().into_iter().map(|t| t.name.to_string()).collect();
    assert!(names.iter().any(|n| n == "list_agents") && names.iter().any(|n| n == "get_agent"), "{names:?}");
    let mut figures = Vec::new();
    let mut failures = Vec::new();
    for (snapshot, tool, args, rest) in agent_cases() {
        let (g0, r0) = (fake.graphql_requests(), fake.rest_requests());
        let (is_error, text) = client.call(tool, args.clone()).await;
        let (g, r) = (fake.graphql_requests() - g0, fake.rest_requests() - r0);
        if is_error {
            failures.push(format!("{snapshot}: {text}"));
            continue;
        }
        if g != 0 || r != rest {
            failures.push(format!("{snapshot}: {g} GraphQL / {r} REST requests, expected 0 / {rest}"));
        }
        let n = tokens(&text);
        figures.push((snapshot.to_string(), n));
        rest_snapshots().bind(|| {
            insta::assert_snapshot!(
                snapshot,
                format!("tokens: {n}\nrequests: 0 / {r}\nargs: {args}\n{}", pretty(&text))
            )
        });
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    check_budgets("rest_outputs", &figures);

    // The same output keys as over GraphQL (REST only adds the sentence naming what it lacks),
    // and the same values where both carry one.
    let graphql_fake = FakeBuildkite::start().await;
    let graphql = connect(Some(&graphql_fake), &[], &[]).await;
    let same = [
        ("list_agents", json!({"search": "i-0e5f"})),
        ("get_agent", json!({"agent": "3e4e9be6-a8ee-420d-9c74-845195fa7f5b"})),
        ("get_agent", json!({"agent": "paused-agent-1"})),
    ];
    for (tool, args) in &same {
        let g: Value = serde_json::from_str(&graphql.ok(tool, args.clone()).await).unwrap();
        let r: Value = serde_json::from_str(&client.ok(tool, args.clone()).await).unwrap();
        let extra: Vec<&String> = r
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| k.as_str() != "not_over_rest" && g.get(k.as_str()).is_none())
            .collect();
        assert!(extra.is_empty(), "{tool} {args}: keys only over REST: {extra:?}");
    }
    let (report, disagreements) = agreement(&graphql, &client, &same).await;
    println!("{}", report.join("\n"));
    assert!(disagreements.is_empty(), "REST and GraphQL disagree:\n{}", disagreements.join("\n"));
    graphql.stop().await;
    client.stop().await;
}
