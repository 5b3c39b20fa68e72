//! Changing configuration: `validate_pipeline` end to end through the binary (the schema's own
//! example pipelines pass, broken ones fail with path and line), and the configuration writes
//! against the fake Buildkite over GraphQL and REST, with what the fake received.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test harness code

mod support;

use serde_json::{Value, json};
use support::fake::FakeBuildkite;
use support::{connect, pretty, snapshots_in};

fn snap(tool: &str, name: &str, text: &str) {
    snapshots_in(tool).bind(|| insta::assert_snapshot!(name, pretty(text)));
}

fn parsed(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn fixture(kind: &str, name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pipelines").join(kind).join(name);
    std::fs::read_to_string(path).unwrap()
}

// ---------------------------------------------------------------------------------------------
// validate_pipeline

#[tokio::test]
async fn validate_pipeline_passes_the_schema_examples_and_sends_nothing() {
    let fake = FakeBuildkite::start().await;
    let client = connect(Some(&fake), &[], &[]).await;
    let asked = fake.graphql_bodies().len();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pipelines/valid");
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.retain(|n| n.ends_with(".yml"));
    names.sort();
    assert!(names.len() >= 12, "{names:?}");
    for name in &names {
        let out = parsed(&client.ok("validate_pipeline", json!({"yaml": fixture("valid", name)})).await);
        assert_eq!(out["valid"], json!(true), "{name}: {out}");
        assert!(out.get("errors").is_none(), "{name}: {out}");
    }
    let out = client.ok("validate_pipeline", json!({"yaml": fixture("valid", "command.yml")})).await;
    snap("validate_pipeline", "valid_command", &out);
    assert_eq!(fake.graphql_bodies().len(), asked, "validating asks Buildkite nothing");
    assert!(fake.rest_writes().is_empty() && fake.mutations().is_empty());
    client.stop().await;
}

#[tokio::test]
async fn validate_pipeline_gives_each_error_its_path_and_line() {
    let fake = FakeBuildkite::start().await;
    let client = connect(Some(&fake), &[], &[]).await;
    for (name, at, line) in [
        ("unknown_step_type.yml", "steps[1]", 3),
        ("wrong_types.yml", "steps[0].parallelism", 3),
        ("bad_depends_on.yml", "steps[2].depends_on", 10),
        ("bad_if.yml", "steps[0].if", 3),
        ("duplicate_keys.yml", "label", 4),
    ] {
        let text = client.ok("validate_pipeline", json!({"yaml": fixture("invalid", name)})).await;
        let out = parsed(&text);
        assert_eq!(out["valid"], json!(false), "{name}: {out}");
        let errors = out["errors"].as_array().unwrap();
        assert!(errors.iter().any(|e| e["at"] == at && e["line"] == line), "{name}: {out}");
        snap("validate_pipeline", name.trim_end_matches(".yml"), &text);
    }
    let out = parsed(&client.ok("validate_pipeline", json!({"yaml": fixture("invalid", "syntax.yml")})).await);
    assert_eq!(out["valid"], json!(false));
    assert!(out["syntax_error"].as_str().unwrap().starts_with("line "), "{out}");
    client.stop().await;
}
