//! Raw JSON-RPC over the binary's stdin and stdout, in both protocol eras: every request gets a
//! reply, including the ones rmcp alone would drop (not JSON, too long, a running id, mistyped
//! params, a request before `initialize`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test harness code

mod support;

use serde_json::{Value, json};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};

/// The demo server driven line by line.
struct Raw {
    child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
}

const INIT: &str = r#"{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}"#;
const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;

/// The 2026-07-28 `_meta` every stateless request carries.
fn meta() -> Value {
    json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
           "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "1"},
           "io.modelcontextprotocol/clientCapabilities": {}})
}

impl Raw {
    async fn start() -> Raw {
        let mut child = support::command(None, &[])
            .arg("--demo")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        Raw { child, stdin, stdout }
    }

    /// A legacy-era session: `initialize` answered, `initialized` sent.
    async fn legacy() -> Raw {
        let mut raw = Raw::start().await;
        raw.send(INIT).await;
        assert_eq!(raw.reply().await["id"], json!("init"));
        raw.send(INITIALIZED).await;
        raw
    }

    async fn send(&mut self, line: &str) {
        self.send_bytes(line.as_bytes()).await;
    }

    async fn send_bytes(&mut self, line: &[u8]) {
        self.stdin.write_all(line).await.unwrap();
        self.stdin.write_all(b"\n").await.unwrap();
        self.stdin.flush().await.unwrap();
    }

    /// The next message on stdout (within 20 s).
    async fn reply(&mut self) -> Value {
        let line = tokio::time::timeout(Duration::from_secs(20), self.stdout.next_line())
            .await
            .expect("a reply within 20 s")
            .unwrap()
            .expect("stdout still open");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("stdout carries only JSON-RPC: {e}: {line}"))
    }

    /// Replies until the one with `id` (others are kept out of the way).
    async fn reply_to(&mut self, id: &Value) -> Value {
        for _ in 0..20 {
            let v = self.reply().await;
            if &v["id"] == id {
                return v;
            }
        }
        panic!("no reply to {id}");
    }

    /// The server still serves: `tools/list` answered.
    async fn still_serves(&mut self, stateless: bool) {
        let mut request = json!({"jsonrpc": "2.0", "id": "alive", "method": "tools/list"});
        if stateless {
            request["params"] = json!({"_meta": meta()});
        }
        self.send(&request.to_string()).await;
        let v = self.reply_to(&json!("alive")).await;
        assert!(v["result"]["tools"].as_array().is_some_and(|t| !t.is_empty()), "{v}");
    }

    async fn stop(mut self) {
        drop(self.stdin);
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
        let _ = self.child.kill().await;
    }
}

fn code(v: &Value) -> i64 {
    v["error"]["code"].as_i64().unwrap_or_else(|| panic!("not an error: {v}"))
}

fn message(v: &Value) -> String {
    v["error"]["message"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_line_that_is_not_json_gets_a_parse_error_with_a_null_id_in_both_eras() {
    for stateless in [false, true] {
        let mut raw = if stateless { Raw::start().await } else { Raw::legacy().await };
        raw.send("this is not json {").await;
        let v = raw.reply().await;
        assert_eq!((code(&v), v["id"].clone()), (-32700, Value::Null), "{v}");
        assert!(v.as_object().unwrap().contains_key("id"), "the id is present and null: {v}");
        raw.send_bytes(b"\xff\xfe{}").await;
        assert_eq!(code(&raw.reply().await), -32700);
        raw.send("[1, 2]").await;
        let v = raw.reply().await;
        assert_eq!(code(&v), -32600);
        assert!(message(&v).contains("batches"), "{v}");
        raw.still_serves(stateless).await;
        raw.stop().await;
    }
}

#[tokio::test]
async fn a_line_over_16_mib_is_answered_with_its_id() {
    let mut raw = Raw::legacy().await;
    let mut line =
        br#"{"jsonrpc":"2.0","id":"huge","method":"tools/call","params":{"name":"get_build","arguments":{"build":""#
            .to_vec();
    line.resize(line.len() + 16 * 1024 * 1024 + 10, b'x');
    line.extend_from_slice(br#""}}}"#);
    raw.send_bytes(&line).await;
    let v = raw.reply().await;
    assert_eq!((code(&v), v["id"].clone()), (-32600, json!("huge")), "{v}");
    assert!(message(&v).contains("16 MiB"), "{v}");
    // The id comes after a long field: it cannot be read, so the reply has a null id.
    let mut line =
        br#"{"jsonrpc":"2.0","method":"tools/call","params":{"name":"get_build","arguments":{"build":""#.to_vec();
    line.resize(line.len() + 16 * 1024 * 1024 + 10, b'x');
    line.extend_from_slice(br#""}},"id":9}"#);
    raw.send_bytes(&line).await;
    let v = raw.reply().await;
    assert_eq!((code(&v), v["id"].clone()), (-32600, Value::Null), "{v}");
    raw.still_serves(false).await;
    raw.stop().await;
}

#[tokio::test]
async fn a_second_request_with_a_running_id_is_refused_with_that_id_in_both_eras() {
    for stateless in [false, true] {
        let mut raw = if stateless { Raw::start().await } else { Raw::legacy().await };
        let mut wait = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
            "params": {"name": "wait_for_build", "arguments": {"build": "acme/api/88", "timeout_s": 2}}});
        let mut list = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/list"});
        if stateless {
            wait["params"]["_meta"] = meta();
            list["params"] = json!({"_meta": meta()});
        }
        raw.send(&wait.to_string()).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        raw.send(&list.to_string()).await;
        let refused = raw.reply().await;
        assert_eq!((code(&refused), refused["id"].clone()), (-32600, json!(7)), "{refused}");
        assert!(message(&refused).contains("already used"), "{refused}");
        let done = raw.reply_to(&json!(7)).await;
        assert!(done["result"]["content"].is_array(), "the first request still gets its answer: {done}");
        // Once answered, the id is free again.
        raw.send(&list.to_string()).await;
        assert!(raw.reply_to(&json!(7)).await["result"]["tools"].is_array());
        raw.stop().await;
    }
}

#[tokio::test]
async fn mistyped_tools_call_params_get_invalid_params() {
    let mut raw = Raw::legacy().await;
    for (id, params) in
        [(1, json!({"name": 5})), (2, json!("get_build")), (3, json!({"name": "get_build", "arguments": [1]}))]
    {
        raw.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params}).to_string()).await;
        let v = raw.reply_to(&json!(id)).await;
        assert_eq!(code(&v), -32602, "{v}");
        assert!(message(&v).contains("tools/call"), "{v}");
    }
    raw.still_serves(false).await;
    raw.stop().await;
}

#[tokio::test]
async fn a_legacy_tools_call_before_initialize_says_how_to_begin() {
    let mut raw = Raw::start().await;
    // A notification before anything is ignored rather than ending the server.
    raw.send(INITIALIZED).await;
    raw.send(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_build","arguments":{}}}"#).await;
    let v = raw.reply().await;
    assert_eq!(v["id"], json!(1), "{v}");
    let text = message(&v);
    assert!(text.contains("before `initialize`") && text.contains("2026-07-28"), "{text}");
    // The session can still begin.
    raw.send(INIT).await;
    assert_eq!(raw.reply().await["result"]["protocolVersion"], json!("2025-11-25"));
    raw.send(INITIALIZED).await;
    raw.still_serves(false).await;
    raw.stop().await;
}

#[tokio::test]
async fn stateless_requests_are_answered_without_initialize() {
    let mut raw = Raw::start().await;
    raw.send(
        &json!({"jsonrpc": "2.0", "id": "d", "method": "server/discover", "params": {"_meta": meta()}}).to_string(),
    )
    .await;
    assert!(raw.reply().await["result"].is_object());
    raw.still_serves(true).await;
    raw.send(
        &json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": 4, "_meta": meta()}}).to_string(),
    )
    .await;
    assert_eq!(code(&raw.reply_to(&json!(4)).await), -32602);
    raw.stop().await;
}

/// The prompts a person starts from the client's menu, in both eras: `prompts/list` (the write
/// prompt only where the write tools are offered), `prompts/get` of each (one user message, a plan
/// whose first step is one tool call; snapshots with token counts), and one sentence for an unknown
/// prompt or a missing argument.
#[tokio::test]
async fn prompts_are_listed_and_expand_in_both_eras() {
    let gets: &[(&str, Value)] = &[
        ("triage_build", json!({"build": "https://buildkite.com/acme/web/builds/1342"})),
        ("is_test_flaky", json!({"suite": "acme-web-rspec", "test": "0193ab4e-7c55-7d6e-9a44-54d1c7c8e0a1"})),
        ("why_is_my_job_waiting", json!({"job": "08d58486-29e1-47b4-b951-facf35dafc4d"})),
        ("retry_infra_failures", json!({"build": "acme/web/1340"})),
    ];
    for stateless in [false, true] {
        let mut raw = if stateless { Raw::start().await } else { Raw::legacy().await };
        let with_meta = |mut params: Value| {
            if stateless {
                params["_meta"] = meta();
            }
            params
        };
        raw.send(
            &json!({"jsonrpc": "2.0", "id": "list", "method": "prompts/list", "params": with_meta(json!({}))})
                .to_string(),
        )
        .await;
        let list = raw.reply_to(&json!("list")).await;
        let names: Vec<&str> =
            list["result"]["prompts"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["triage_build", "is_test_flaky", "why_is_my_job_waiting", "retry_infra_failures"], "{list}");
        for (name, arguments) in gets {
            let params = with_meta(json!({"name": name, "arguments": arguments}));
            raw.send(&json!({"jsonrpc": "2.0", "id": name, "method": "prompts/get", "params": params}).to_string())
                .await;
            let got = raw.reply_to(&json!(name)).await;
            let messages = got["result"]["messages"].as_array().unwrap_or_else(|| panic!("{got}"));
            assert_eq!(messages.len(), 1);
            assert_eq!(messages[0]["role"], "user");
            let text = messages[0]["content"]["text"].as_str().unwrap();
            if !stateless {
                let shown = format!("tokens: {}\nargs: {arguments}\n{text}", support::tokens(text));
                support::snapshots_in("prompts").bind(|| insta::assert_snapshot!(*name, shown));
            }
        }
        let params = with_meta(json!({"name": "no_such_prompt"}));
        raw.send(&json!({"jsonrpc": "2.0", "id": "unknown", "method": "prompts/get", "params": params}).to_string())
            .await;
        let unknown = raw.reply_to(&json!("unknown")).await;
        assert!(
            message(&unknown).contains("unknown prompt `no_such_prompt`: prompts/list names the prompts"),
            "{unknown}"
        );
        let params = with_meta(json!({"name": "triage_build", "arguments": {}}));
        raw.send(&json!({"jsonrpc": "2.0", "id": "missing", "method": "prompts/get", "params": params}).to_string())
            .await;
        let missing = raw.reply_to(&json!("missing")).await;
        assert!(message(&missing).contains("prompt `triage_build`: pass `build`"), "{missing}");
        raw.stop().await;
    }
}

/// With `--read-only` the write prompt is neither listed nor expanded.
#[tokio::test]
async fn the_write_prompt_needs_the_write_tools() {
    let client = support::connect(None, &[], &["--demo", "--read-only"]).await;
    let prompts = client.service.list_all_prompts().await.unwrap();
    let names: Vec<&str> = prompts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["triage_build", "is_test_flaky", "why_is_my_job_waiting"]);
    let mut request = rmcp::model::GetPromptRequestParams::new("retry_infra_failures");
    request.arguments = json!({"build": "acme/web/1340"}).as_object().cloned();
    let err = client.service.get_prompt(request).await.unwrap_err().to_string();
    assert!(err.contains("needs the build_action tool"), "{err}");
    client.stop().await;
}

/// Resources in both eras: the three templates, a read of a log section (exactly `read_log`'s
/// output, so its budget and untrusted-text marking; snapshot with tokens), and one sentence for a
/// URI of another form.
#[tokio::test]
async fn resource_templates_are_listed_and_a_log_section_reads_in_both_eras() {
    let uri = "buildkite://acme/web/builds/1342/jobs/08d58486-29e1-47b4-b951-facf35dafc4d/log?from_line=40&lines=12";
    for stateless in [false, true] {
        let mut raw = if stateless { Raw::start().await } else { Raw::legacy().await };
        let with_meta = |mut params: Value| {
            if stateless {
                params["_meta"] = meta();
            }
            params
        };
        let list =
            json!({"jsonrpc": "2.0", "id": "t", "method": "resources/templates/list", "params": with_meta(json!({}))});
        raw.send(&list.to_string()).await;
        let templates = raw.reply_to(&json!("t")).await;
        let forms: Vec<&str> = templates["result"]["resourceTemplates"]
            .as_array()
            .unwrap_or_else(|| panic!("{templates}"))
            .iter()
            .map(|t| t["uriTemplate"].as_str().unwrap())
            .collect();
        assert_eq!(
            forms,
            [
                "buildkite://{org}/{pipeline}/builds/{number}",
                "buildkite://{org}/{pipeline}/builds/{number}/jobs/{job}/log",
                "buildkite://{org}/{pipeline}/builds/{number}/jobs/{job}/log{?from_line,lines}"
            ]
        );
        let read =
            json!({"jsonrpc": "2.0", "id": "r", "method": "resources/read", "params": with_meta(json!({"uri": uri}))});
        raw.send(&read.to_string()).await;
        let answer = raw.reply_to(&json!("r")).await;
        let contents = &answer["result"]["contents"][0];
        assert_eq!(contents["uri"], uri, "{answer}");
        assert_eq!(contents["mimeType"], "application/json");
        let text = contents["text"].as_str().unwrap();
        // Exactly what the read tool answers (its budget and marking of untrusted text included).
        let args = json!({"job": "08d58486-29e1-47b4-b951-facf35dafc4d", "from_line": 40, "lines": 12});
        let call = json!({"jsonrpc": "2.0", "id": "c", "method": "tools/call", "params": with_meta(json!({"name": "read_log", "arguments": args}))});
        raw.send(&call.to_string()).await;
        let tool = raw.reply_to(&json!("c")).await;
        assert_eq!(tool["result"]["content"][0]["text"].as_str(), Some(text), "{tool}");
        if !stateless {
            let shown = format!("tokens: {}\nuri: {uri}\n{}", support::tokens(text), support::pretty(text));
            support::snapshots_in("resources").bind(|| insta::assert_snapshot!("log_section", shown));
        }
        let bad = json!({"jsonrpc": "2.0", "id": "b", "method": "resources/read", "params": with_meta(json!({"uri": "buildkite://acme/../builds/1"}))});
        raw.send(&bad.to_string()).await;
        let bad = raw.reply_to(&json!("b")).await;
        assert!(
            message(&bad).contains("is not a resource of this server: resources/templates/list gives their forms"),
            "{bad}"
        );
        raw.stop().await;
    }
}

/// Completions in both eras, announced in the capabilities: a pipeline in a template, a build
/// number and a branch in a prompt, a step key in the log template; an unknown prompt is one
/// sentence.
#[tokio::test]
async fn completions_suggest_pipelines_numbers_branches_and_step_keys_in_both_eras() {
    let resource = |arg: &str, value: &str, given: Value| {
        json!({"ref": {"type": "ref/resource", "uri": "buildkite://{org}/{pipeline}/builds/{number}/jobs/{job}/log"},
               "argument": {"name": arg, "value": value}, "context": {"arguments": given}})
    };
    let prompt = |name: &str, arg: &str, value: &str, given: Value| {
        json!({"ref": {"type": "ref/prompt", "name": name}, "argument": {"name": arg, "value": value},
               "context": {"arguments": given}})
    };
    let cases: &[(Value, &[&str])] = &[
        (resource("pipeline", "w", json!({"org": "acme"})), &["web"]),
        (resource("org", "", json!({})), &["acme"]),
        (resource("job", "r", json!({"org": "acme", "pipeline": "web", "number": "1342"})), &["rspec"]),
        (
            prompt("triage_build", "build", "acme/web/134", json!({})),
            &["acme/web/1343", "acme/web/1342", "acme/web/1341", "acme/web/1340"],
        ),
        (prompt("triage_build", "build", "acme/a", json!({})), &["acme/api/"]),
        (prompt("triage_build", "branch", "ma", json!({"pipeline": "acme/web"})), &["main", "margaret/search-rewrite"]),
        (prompt("is_test_flaky", "test", "x", json!({})), &[]),
    ];
    for stateless in [false, true] {
        let mut raw = if stateless {
            Raw::start().await
        } else {
            let mut raw = Raw::start().await;
            raw.send(INIT).await;
            let init = raw.reply().await;
            assert!(init["result"]["capabilities"]["completions"].is_object(), "{init}");
            raw.send(INITIALIZED).await;
            raw
        };
        for (i, (params, want)) in cases.iter().enumerate() {
            let mut params = params.clone();
            if stateless {
                params["_meta"] = meta();
            }
            let id = json!(format!("c{i}"));
            raw.send(
                &json!({"jsonrpc": "2.0", "id": id, "method": "completion/complete", "params": params}).to_string(),
            )
            .await;
            let got = raw.reply_to(&id).await;
            let values: Vec<&str> = got["result"]["completion"]["values"]
                .as_array()
                .unwrap_or_else(|| panic!("{got}"))
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            assert_eq!(&values, want, "{params}: {got}");
            assert_eq!(got["result"]["completion"]["hasMore"], false, "{got}");
        }
        let mut params = prompt("no_such_prompt", "build", "a", json!({}));
        if stateless {
            params["_meta"] = meta();
        }
        raw.send(&json!({"jsonrpc": "2.0", "id": "u", "method": "completion/complete", "params": params}).to_string())
            .await;
        let unknown = raw.reply_to(&json!("u")).await;
        assert_eq!(code(&unknown), -32602, "{unknown}");
        assert!(
            message(&unknown).contains("unknown prompt `no_such_prompt`: prompts/list names the prompts"),
            "{unknown}"
        );
        raw.stop().await;
    }
}

/// A method the server does not serve gets -32601 with a sentence naming it and what is served, in
/// both eras (rmcp's own error says only the method).
#[tokio::test]
async fn unserved_methods_get_method_not_found_with_a_sentence_in_both_eras() {
    for stateless in [false, true] {
        let mut raw = if stateless { Raw::start().await } else { Raw::legacy().await };
        for (i, method) in ["foo/bar", "logging/setLevel", "resources/subscribe", "tasks/list"].iter().enumerate() {
            let mut params = json!({"level": "info", "uri": "buildkite://acme/web/builds/1"});
            if stateless {
                params["_meta"] = meta();
            }
            let id = json!(i);
            raw.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string()).await;
            let got = raw.reply_to(&id).await;
            assert_eq!(code(&got), -32601, "{method}: {got}");
            assert_eq!(
                message(&got),
                format!(
                    "`{method}` is not served here: this server offers tools, prompts, resource templates and completions"
                ),
                "{got}"
            );
        }
        raw.still_serves(stateless).await;
        raw.stop().await;
    }
}
