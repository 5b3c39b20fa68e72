//! Third-party MCP clients against the real binary over stdio: the MCP Python SDK's client in both
//! protocol eras (legacy `initialize` sessions and 2026-07-28 stateless requests) and the MCP
//! Inspector CLI (Node 22, legacy era: its TypeScript SDK speaks up to 2025-11-25). Prompts, resource
//! templates, a log section read as a resource, and completions in a 10,000-pipeline organization.
//! The clients are installed by `scripts/test-clients.sh` (see `support::clients`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test harness code

mod support;

use serde_json::{Value, json};
use support::fake::{FakeBuildkite, TOKEN};
use support::{BIN, clients::clients, fresh_dir};

const PIPELINES: usize = 10_000;

/// The environment that points the server at `fake` (what `support::command` sets).
fn server_env(fake: &FakeBuildkite) -> Vec<(&'static str, String)> {
    vec![
        ("BUILDKITE_API_TOKEN", TOKEN.to_string()),
        ("BUILDKITE_GRAPHQL_URL", fake.graphql_url()),
        ("BUILDKITE_API_URL", fake.url.clone()),
        ("BUILDKITE_ORGANIZATION", "acme".to_string()),
        ("BUILDKITE_MAX_RETRIES", "2".to_string()),
        ("BUILDKITE_TIMEOUT", "5".to_string()),
        ("BUILDKITE_MCP_NO_MEMO", "true".to_string()),
        ("BUILDKITE_MCP_LOG_CACHE", fresh_dir("log-cache").display().to_string()),
        ("RUST_LOG", "warn".to_string()),
    ]
}

fn python_sdk(fake: &FakeBuildkite, mode: &str) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/python_sdk_stdio.py");
    let mut cmd = std::process::Command::new(&clients().python);
    cmd.arg(script).arg(mode).arg(BIN);
    for (key, _) in std::env::vars() {
        if key.starts_with("BUILDKITE_") || key == "RUST_LOG" {
            cmd.env_remove(key);
        }
    }
    cmd.envs(server_env(fake));
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "python SDK client ({mode}) failed: {stderr}");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn values(completion: &Value) -> Vec<&str> {
    completion["values"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect()
}

fn count(fake: &FakeBuildkite, operation: &str) -> usize {
    fake.operations().iter().filter(|o| *o == operation).count()
}

/// The Python SDK in both eras: prompts listed and expanded, templates listed, a log section read
/// (exactly `read_log`'s answer), a log named by step key, and completions of a pipeline prefix in
/// a 10,000-pipeline organization (one query, then answered from the per-token cache).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_sdk_lists_expands_reads_and_completes_in_both_eras() {
    let fake = FakeBuildkite::start().await;
    fake.set_responder(support::synthetic::responder(PIPELINES, 8));
    fake.set_scopes(buildkite_mcp_server::buildkite::rest::READ_WRITE_SCOPES);
    let mut figures = Vec::new();
    for (mode, protocol) in [("legacy", "2025-11-25"), ("2026-07-28", "2026-07-28")] {
        let before = count(&fake, "CompletePipelines");
        // The client blocks this thread; the fake answers on the runtime's other worker.
        let out = tokio::task::block_in_place(|| python_sdk(&fake, mode));
        assert_eq!(out["protocol"], protocol, "{out}");
        assert_eq!(
            out["prompts"],
            json!(["triage_build", "is_test_flaky", "why_is_my_job_waiting", "retry_infra_failures"])
        );
        let triage = out["expansions"]["triage_build"][0].as_str().unwrap();
        assert!(triage.contains(r#"call get_build_failure_summary with {"build":"acme/web/1342"}"#), "{triage}");
        let retry = out["expansions"]["retry_infra_failures"][0].as_str().unwrap();
        assert!(retry.contains(r#""dry_run":true"#), "{retry}");
        assert_eq!(out["templates"].as_array().unwrap().len(), 3);
        assert_eq!(out["log_section"], out["read_log"], "a resource read is the read tool's answer");
        assert!(out["log_section"][0].as_str().unwrap().contains("\"from_line\""), "{}", out["log_section"]);
        let by_key = out["log_by_step_key"][0].as_str().unwrap();
        assert!(by_key.contains("46e537cd-e9cc-406c-8032-90fe629b1f55"), "the lint step's job: {by_key}");

        let first = &out["complete_pipeline_first"];
        let tens: Vec<String> = (9990..10000).map(|i| format!("service-{i:05}")).collect();
        assert_eq!(values(first), tens, "{first}");
        assert_eq!((first["total"].as_u64(), first["has_more"].as_bool()), (Some(10), Some(false)));
        let again = &out["complete_pipeline_again"];
        assert_eq!(values(again), ["service-09995"]);
        let empty = &out["complete_pipeline_empty"];
        assert_eq!(values(empty).len(), 100, "bounded at the MCP limit");
        assert_eq!((empty["total"].as_u64(), empty["has_more"].as_bool()), (Some(PIPELINES as u64), Some(true)));
        let build_ref = &out["complete_build_ref"];
        assert_eq!(values(build_ref).first().copied(), Some("acme/service-00000/"), "{build_ref}");
        assert_eq!(values(build_ref).len(), 10);
        assert_eq!(values(&out["complete_step_key"]), ["lint"]);
        // One query for "service-0999", none for "service-09995" (the complete answer is reused),
        // one for "", one for "service-0000".
        assert_eq!(count(&fake, "CompletePipelines") - before, 3, "{:?}", fake.operations());
        figures.push(format!(
            "{mode}: first {} ms ({} values of {}), from the cache {} ms, empty prefix {} ms ({} values, total {})",
            first["ms"],
            values(first).len(),
            first["total"],
            again["ms"],
            empty["ms"],
            values(empty).len(),
            empty["total"]
        ));
    }
    // Each completion query is small: under the 500-point target every tool's defaults meet.
    let schema = buildkite_mcp_server::schema::complexity::committed_schema().unwrap();
    let mut sizes = std::collections::BTreeMap::new();
    for body in fake.graphql_bodies() {
        let name = body["operationName"].as_str().unwrap_or("").to_string();
        if name.starts_with("Complete") {
            let vars = body.get("variables").cloned().unwrap_or(json!({}));
            let points =
                buildkite_mcp_server::schema::complexity::requested(&schema, body["query"].as_str().unwrap(), &vars)
                    .unwrap();
            assert!(points <= 500, "{name}: complexity {points}");
            sizes.insert(name, points);
        }
    }
    assert_eq!(sizes.len(), 2, "CompletePipelines and CompleteSteps were sent: {sizes:?}");
    println!("completion queries' requested complexity: {sizes:?}");
    println!("completion/complete, pipeline prefix in a {PIPELINES}-pipeline organization (Python SDK):");
    for line in figures {
        println!("  {line}");
    }
}

fn inspector(args: &[&str]) -> Value {
    let mut cmd = clients().node_tool("mcp-inspector");
    cmd.arg("--cli").arg(BIN).arg("--demo");
    for (key, _) in std::env::vars() {
        if key.starts_with("BUILDKITE_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("BUILDKITE_MCP_LOG_CACHE", fresh_dir("log-cache")).env("RUST_LOG", "warn");
    cmd.args(args);
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "inspector {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// The MCP Inspector CLI: prompts listed and one expanded, templates listed, a log section read.
#[test]
fn the_inspector_cli_lists_prompts_and_templates_and_reads_a_log_section() {
    let prompts = inspector(&["--method", "prompts/list"]);
    let names: Vec<&str> = prompts["prompts"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["triage_build", "is_test_flaky", "why_is_my_job_waiting", "retry_infra_failures"]);
    for (name, args) in [
        ("triage_build", "build=acme/web/1342"),
        ("is_test_flaky", "suite=acme-web-rspec"),
        ("why_is_my_job_waiting", "queue=default"),
        ("retry_infra_failures", "build=acme/web/1340"),
    ] {
        let mut argv = vec!["--method", "prompts/get", "--prompt-name", name, "--prompt-args", args];
        if name == "is_test_flaky" {
            argv.push("test=0193ab4e-7c55-7d6e-9a44-54d1c7c8e0a1");
        }
        let got = inspector(&argv);
        let text = got["messages"][0]["content"]["text"].as_str().unwrap_or_else(|| panic!("{got}"));
        assert!(text.contains("1. call "), "{name}: {text}");
    }
    let templates = inspector(&["--method", "resources/templates/list"]);
    assert_eq!(templates["resourceTemplates"].as_array().unwrap().len(), 3, "{templates}");
    let uri = "buildkite://acme/web/builds/1342/jobs/08d58486-29e1-47b4-b951-facf35dafc4d/log?from_line=40&lines=12";
    let read = inspector(&["--method", "resources/read", "--uri", uri]);
    let text = read["contents"][0]["text"].as_str().unwrap_or_else(|| panic!("{read}"));
    let tool = inspector(&[
        "--method",
        "tools/call",
        "--tool-name",
        "read_log",
        "--tool-arg",
        "job=08d58486-29e1-47b4-b951-facf35dafc4d",
        "from_line=40",
        "lines=12",
    ]);
    assert_eq!(tool["content"][0]["text"].as_str(), Some(text));
}
