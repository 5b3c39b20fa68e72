//! A new user's first run, driven through the real binary: `doctor` against the fake Buildkite (a
//! good token, no GraphQL access, a missing scope, a 401), `--token-cmd` (a command that prints a
//! token, one that fails, one that hangs), `call` from a shell printing what the tool prints over
//! MCP, `install --client` for every client into a file that holds another server and comments
//! (merged, backed up, taken out again to the same bytes), and completions and the man page.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test harness code

mod support;

use buildkite_mcp_server::buildkite::rest::READ_WRITE_SCOPES;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use support::fake::{FakeBuildkite, Fault, TOKEN};
use support::{command, connect, fresh_dir, snapshots_in};

/// What one run of the binary did.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs the binary with `args` (stdin closed) against `fake`, with `env` on top.
async fn run(fake: Option<&FakeBuildkite>, env: &[(&str, &str)], args: &[&str]) -> Run {
    let mut cmd = command(fake, env);
    cmd.args(args).stdin(std::process::Stdio::null()).kill_on_drop(true);
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), cmd.output())
        .await
        .expect("the binary finished within a minute")
        .expect("the binary ran");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The doctor report with what differs per machine (the log cache's temp path, tools/list's
/// figures, which change with every tool added) put in brackets.
fn stable(report: &str) -> String {
    report
        .lines()
        .map(|line| {
            if line.starts_with("✓ log cache: ") {
                "✓ log cache: [temp dir]".to_string()
            } else if let Some(rest) = line.strip_prefix("✓ tools/list: ") {
                let words: Vec<String> = rest
                    .split(' ')
                    .map(|w| if w.chars().any(|c| c.is_ascii_digit()) { "[n]".into() } else { w.into() })
                    .collect();
                format!("✓ tools/list: {}", words.join(" "))
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn doctor_snapshot(name: &str, run: &Run) {
    snapshots_in("doctor").bind(|| insta::assert_snapshot!(name, stable(&run.stdout)));
}

mod doctor {
    use super::*;

    #[tokio::test]
    async fn a_good_token_passes_every_check_and_exits_0() {
        // A good token: GraphQL access and Buildkite's read-write recipe.
        let fake = FakeBuildkite::start().await;
        fake.set_scopes(READ_WRITE_SCOPES);
        let run = run(Some(&fake), &[], &["doctor"]).await;
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
        assert!(!run.stdout.contains('✗'), "{}", run.stdout);
        // Headroom comes from the fake's RateLimit-* headers, REST and GraphQL apart.
        assert!(run.stdout.contains("REST 187 of 200 requests left, resets in 42 s"), "{}", run.stdout);
        assert!(run.stdout.contains("GraphQL 19,870 of 20,000 complexity points left"), "{}", run.stdout);
        assert!(!run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN));
        doctor_snapshot("good_token", &run);
    }

    #[tokio::test]
    async fn the_tools_list_estimate_is_within_a_tenth_of_the_real_tokenizer() {
        let fake = FakeBuildkite::start().await;
        let run = run(Some(&fake), &[("BUILDKITE_TOOLSETS", "builds,logs")], &["doctor"]).await;
        let line = run.stdout.lines().find(|l| l.starts_with("✓ tools/list: ")).expect("a tools/list line");
        let numbers: Vec<usize> = line
            .split(|c: char| !c.is_ascii_digit() && c != ',')
            .filter(|w| w.chars().any(|c| c.is_ascii_digit()))
            .map(|w| w.replace(',', "").parse().unwrap())
            .collect();
        let (tools, bytes, estimate) = (numbers[0], numbers[1], numbers[2]);
        let client = connect(Some(&fake), &[("BUILDKITE_TOOLSETS", "builds,logs")], &[]).await;
        let listed = client.service.list_all_tools().await.unwrap();
        client.stop().await;
        assert_eq!(tools, listed.len(), "{line}");
        let json = serde_json::to_string(&rmcp::model::ListToolsResult::with_all_items(listed)).unwrap();
        assert_eq!(bytes, json.len(), "{line}");
        let real = support::tokens(&json);
        let off = (estimate as f64 - real as f64).abs() / real as f64;
        assert!(off < 0.1, "estimate {estimate} vs {real} tokens: {line}");
    }

    #[tokio::test]
    async fn a_token_without_graphql_access_exits_3_and_says_how_to_enable_it() {
        let fake = FakeBuildkite::start().await;
        fake.set_scopes(READ_WRITE_SCOPES);
        fake.fail_graphql(Fault::Status(403, "Your API access token does not have GraphQL access enabled"), None);
        let run = run(Some(&fake), &[], &["doctor"]).await;
        assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
        let line = run.stdout.lines().find(|l| l.starts_with("✗ GraphQL access: off")).expect("a GraphQL line");
        assert!(line.contains("Enable GraphQL API access") && line.contains("list_teams"), "{line}");
        doctor_snapshot("no_graphql", &run);
    }

    #[tokio::test]
    async fn a_token_missing_read_build_logs_exits_3_and_names_the_tools_it_hides() {
        let fake = FakeBuildkite::start().await;
        let scopes: Vec<&str> = READ_WRITE_SCOPES.iter().copied().filter(|s| *s != "read_build_logs").collect();
        fake.set_scopes(&scopes);
        let run = run(Some(&fake), &[], &["doctor"]).await;
        assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
        let line = run.stdout.lines().find(|l| l.starts_with("✗ scope read_build_logs")).expect("a scope line");
        // The hidden tools are the catalogue's, read from `tools`, not a list kept here.
        let table = super::run(Some(&fake), &[], &["tools"]).await.stdout;
        let hidden: Vec<&str> = table
            .lines()
            .filter(|l| l.contains("no: token lacks") && l.contains("read_build_logs"))
            .filter_map(|l| l.split_whitespace().next())
            .collect();
        assert!(hidden.len() >= 4, "{table}");
        for tool in hidden {
            assert!(line.contains(tool), "{tool} not named in {line}");
        }
        println!("{}", run.stdout);
        doctor_snapshot("missing_read_build_logs", &run);
    }

    #[tokio::test]
    async fn a_rejected_token_exits_1() {
        let fake = FakeBuildkite::start().await;
        let run = run(Some(&fake), &[("BUILDKITE_API_TOKEN", "bkua_wrong_0000")], &["doctor"]).await;
        assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
        assert!(!run.stdout.contains("bkua_wrong_0000") && !run.stderr.contains("bkua_wrong_0000"));
        doctor_snapshot("rejected_token", &run);
    }

    #[tokio::test]
    async fn no_token_at_all_exits_1_with_where_to_make_one() {
        let run = run(None, &[], &["doctor"]).await;
        assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
        assert!(run.stdout.starts_with("✗ token: none is set") && run.stdout.contains("--token-cmd"), "{}", run.stdout);
    }

    #[tokio::test]
    async fn an_organization_that_does_not_resolve_exits_1() {
        let fake = FakeBuildkite::start().await;
        let run = run(Some(&fake), &[("BUILDKITE_ORGANIZATION", "nosuchorg")], &["doctor"]).await;
        assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
        assert!(run.stdout.contains("✗ organization: nosuchorg"), "{}", run.stdout);
    }
}

mod token_cmd {
    use super::*;

    #[tokio::test]
    async fn a_command_that_prints_the_token_is_used_and_never_shown() {
        let fake = FakeBuildkite::start().await;
        fake.set_scopes(READ_WRITE_SCOPES);
        let cmd = format!("printf '%s\\n' {TOKEN}");
        let env = [("BUILDKITE_API_TOKEN", ""), ("BUILDKITE_API_TOKEN_CMD", cmd.as_str())];
        let run = run(Some(&fake), &env, &["doctor"]).await;
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
        assert!(run.stdout.starts_with("✓ token: valid (token b5c3a4ba…, read by --token-cmd)"), "{}", run.stdout);
        // RUST_LOG=debug in tests: the token is not in any log line either.
        assert!(!run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN), "{}", run.stderr);
        // And a server started that way answers over MCP.
        let client = connect(Some(&fake), &env, &[]).await;
        assert!(client.ok("current_user", json!({})).await.contains("acme"));
        let log = client.stop().await;
        assert!(!log.contains(TOKEN));
    }

    #[tokio::test]
    async fn a_failing_command_is_one_clear_line() {
        let fake = FakeBuildkite::start().await;
        let env = [
            ("BUILDKITE_API_TOKEN", ""),
            ("BUILDKITE_API_TOKEN_CMD", "echo partial-output; echo 'item not found' >&2; exit 7"),
        ];
        let run = run(Some(&fake), &env, &["tools"]).await;
        assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
        assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
        assert!(run.stderr.contains("exit status 7") && run.stderr.contains("item not found"), "{}", run.stderr);
        assert!(!run.stderr.contains("partial-output") && !run.stdout.contains("partial-output"));
        assert_eq!(fake.requests(), 0, "nothing is sent without a token");
        let doctor = super::run(Some(&fake), &env, &["doctor"]).await;
        assert_eq!(doctor.code, 1);
        assert!(doctor.stdout.starts_with("✗ token: --token-cmd"), "{}", doctor.stdout);
    }

    #[tokio::test]
    async fn a_hanging_command_is_stopped_at_its_bound() {
        let fake = FakeBuildkite::start().await;
        let env = [
            ("BUILDKITE_API_TOKEN", ""),
            ("BUILDKITE_API_TOKEN_CMD", "sleep 40; echo late"),
            ("BUILDKITE_API_TOKEN_CMD_TIMEOUT", "1"),
        ];
        let started = std::time::Instant::now();
        let run = run(Some(&fake), &env, &["tools"]).await;
        assert!(started.elapsed() < std::time::Duration::from_secs(15), "{:?}", started.elapsed());
        assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
        assert!(run.stderr.contains("did not finish within 1 s"), "{}", run.stderr);
    }
}

mod call {
    use super::*;

    #[tokio::test]
    async fn call_from_the_shell_prints_what_the_tool_answers_over_mcp() {
        let run = run(None, &[], &["call", "get_build", "build=acme/web/1342", "--demo"]).await;
        assert_eq!(run.code, 0, "{}", run.stderr);
        let client = connect(None, &[], &["--demo"]).await;
        let over_mcp = client.ok("get_build", json!({"build": "acme/web/1342"})).await;
        client.stop().await;
        assert_eq!(run.stdout, format!("{over_mcp}\n"));
    }

    #[tokio::test]
    async fn values_are_json_where_they_parse_and_errors_exit_1() {
        let fake = FakeBuildkite::start().await;
        let run = run(Some(&fake), &[], &["call", "list_builds", "pipeline=web", "first=2"]).await;
        assert_eq!(run.code, 0, "{}", run.stderr);
        let client = connect(Some(&fake), &[], &[]).await;
        let over_mcp = client.ok("list_builds", json!({"pipeline": "web", "first": 2})).await;
        client.stop().await;
        assert_eq!(run.stdout.trim_end(), over_mcp);
        let bad = super::run(Some(&fake), &[], &["call", "get_build", "build=acme/web/1342", "nonsense=1"]).await;
        assert_eq!(bad.code, 1);
        assert!(bad.stderr.contains("nonsense"), "{}", bad.stderr);
        let unknown = super::run(None, &[], &["call", "no_such_tool", "--demo"]).await;
        assert_eq!(unknown.code, 1);
        assert!(unknown.stderr.contains("unknown tool"), "{}", unknown.stderr);
    }

    /// No one can confirm a write from a terminal: `call` refuses one unless --no-confirm says so,
    /// and a dry run shows it either way (here on the demo organization, whose writes stay in memory).
    #[tokio::test]
    async fn call_sends_a_write_only_with_no_confirm() {
        let refused = run(None, &[], &["call", "cancel", "build=acme/api/88", "--demo"]).await;
        assert_eq!(refused.code, 1, "{}", refused.stdout);
        assert!(refused.stderr.contains("cannot ask for confirmation: pass --no-confirm"), "{}", refused.stderr);
        assert!(!refused.stderr.contains("audit:"), "nothing was attempted: {}", refused.stderr);
        let dry = run(None, &[], &["call", "cancel", "build=acme/api/88", "dry_run=true", "--demo"]).await;
        assert_eq!(dry.code, 0, "{}", dry.stderr);
        assert!(dry.stdout.contains("\"dry_run\":true"), "{}", dry.stdout);
        let sent = run(None, &[], &["call", "cancel", "build=acme/api/88", "--demo", "--no-confirm"]).await;
        assert_eq!(sent.code, 0, "{}", sent.stderr);
        assert!(sent.stdout.contains("\"after\":\"canceling\""), "{}", sent.stdout);
    }

    #[test]
    fn a_terminal_gets_one_line_saying_what_to_try_and_ctrl_d_quits_quietly() {
        // `script` gives the server a terminal for stdin; its own stdin is empty, so the server
        // sees end of input (Ctrl-D) right after the hint.
        if std::process::Command::new("script").arg("--version").output().is_err() {
            panic!("util-linux `script` is needed for this test");
        }
        let out = std::process::Command::new("script")
            .args(["-qec", &format!("{} --demo", support::BIN), "/dev/null"])
            .env_remove("BUILDKITE_API_TOKEN")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("speaks MCP on stdin/stdout") && text.contains("call get_build"), "{text}");
        assert!(!text.contains("handshake"), "{text}");
        assert!(out.status.success(), "{text}");
    }
}

/// A fixture per client: (config file name, text with another server and comments).
fn fixture(client: &str) -> (&'static str, &'static str) {
    match client {
        "claude-desktop" | "gemini-cli" | "claude-code" => (
            "config.json",
            "{\n  \"theme\": \"dark\",\n  \"mcpServers\": {\n    \"other\": {\n      \"command\": \"other-server\",\n      \"args\": [\"--x\"]\n    }\n  }\n}\n",
        ),
        "vscode" => (
            "mcp.json",
            "{\n  // my servers\n  \"inputs\": [\n    { \"type\": \"promptString\", \"id\": \"other-key\", \"password\": true }\n  ],\n  \"servers\": {\n    /* keep */ \"other\": { \"type\": \"stdio\", \"command\": \"other-server\" } // theirs\n  }\n}\n",
        ),
        "cursor" | "windsurf" => (
            "mcp.json",
            "{\n    // a comment\n    \"mcpServers\": {\n        \"other\": { \"command\": \"other-server\" }, // trailing comma kept\n    },\n}\n",
        ),
        "zed" => (
            "settings.json",
            "// Zed settings\n{\n  \"theme\": \"One Dark\",\n  \"context_servers\": {\n    // a custom server\n    \"other\": { \"command\": \"other-server\", \"args\": [] }\n  }\n}\n",
        ),
        "codex" => (
            "config.toml",
            "# Codex settings\nmodel = \"o4\"\n\n[mcp_servers.other] # theirs\ncommand = \"other-server\" # keep\nargs = [\"--x\"]\n",
        ),
        "goose" => (
            "config.yaml",
            "# goose settings\nGOOSE_MODE: auto\nextensions:\n  # theirs\n  other:\n    name: other\n    type: stdio\n    cmd: other-server\n    enabled: true\n# after\nGOOSE_MODEL: x\n",
        ),
        other => panic!("no fixture for {other}"),
    }
}

const CLIENTS: [&str; 9] =
    ["claude-code", "claude-desktop", "vscode", "cursor", "windsurf", "zed", "codex", "gemini-cli", "goose"];

/// JSON with comments read as plain JSON: comments and trailing commas taken out by a scanner of
/// this test's own (not the one under test).
fn jsonc(text: &str) -> Value {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if c == '\\' {
                out.extend(chars.next());
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match (c, chars.peek()) {
            ('"', _) => {
                in_string = true;
                out.push(c);
            }
            ('/', Some('/')) => {
                while chars.peek().is_some_and(|c| *c != '\n') {
                    chars.next();
                }
            }
            ('/', Some('*')) => {
                chars.next();
                while let Some(c) = chars.next() {
                    if c == '*' && chars.peek() == Some(&'/') {
                        chars.next();
                        break;
                    }
                }
            }
            _ => out.push(c),
        }
    }
    // Trailing commas: a comma followed by only whitespace before a closing bracket.
    let mut cleaned = String::new();
    let bytes: Vec<char> = out.chars().collect();
    for (i, c) in bytes.iter().enumerate() {
        if *c == ',' {
            let next = bytes[i + 1..].iter().find(|c| !c.is_whitespace());
            if matches!(next, Some('}') | Some(']')) {
                continue;
            }
        }
        cleaned.push(*c);
    }
    serde_json::from_str(&cleaned).unwrap_or_else(|e| panic!("not JSON: {e}\n{text}"))
}

/// The file read as a JSON value, whatever its format.
fn parsed(client: &str, text: &str) -> Value {
    match client {
        "codex" => {
            let doc: toml_edit::DocumentMut = text.parse().unwrap_or_else(|e| panic!("not TOML: {e}\n{text}"));
            let table = doc["mcp_servers"].as_table().unwrap();
            let mut servers = serde_json::Map::new();
            for (name, item) in table.iter() {
                let t = item.as_table().unwrap();
                let mut v = serde_json::Map::new();
                for (k, x) in t.iter() {
                    v.insert(k.to_string(), json!(x.to_string().trim()));
                }
                servers.insert(name.to_string(), Value::Object(v));
            }
            json!({ "servers": servers })
        }
        "goose" => {
            let v: serde_yaml::Value = serde_yaml::from_str(text).unwrap_or_else(|e| panic!("not YAML: {e}\n{text}"));
            let v: Value = serde_json::to_value(v).unwrap();
            json!({ "servers": v["extensions"] })
        }
        _ => {
            let v = jsonc(text);
            let key = match client {
                "vscode" => "servers",
                "zed" => "context_servers",
                _ => "mcpServers",
            };
            json!({ "servers": v[key], "inputs": v.get("inputs").cloned().unwrap_or(Value::Null) })
        }
    }
}

/// The comments of a fixture: `/* … */` spans, and `//` or `#` to the end of a line.
fn comments(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut rest = line;
        while let Some(i) = rest.find("/*") {
            let end = rest[i..].find("*/").map_or(rest.len(), |e| i + e + 2);
            out.push(rest[i..end].to_string());
            rest = &rest[end..];
        }
        if let Some(i) = rest.find("//").or_else(|| rest.find('#')) {
            out.push(rest[i..].to_string());
        }
    }
    out
}

/// Runs `install` for `client` with `extra` flags, writing `--config file`.
async fn install(client: &str, file: &Path, extra: &[&str]) -> Run {
    let mut args =
        vec!["install", "--client", client, "--config", file.to_str().unwrap(), "--command", "buildkite-mcp-server"];
    args.extend_from_slice(extra);
    // A token in the environment must never reach the file.
    run(None, &[("BUILDKITE_API_TOKEN", TOKEN)], &args).await
}

mod install {
    use super::*;

    #[tokio::test]
    async fn every_client_merges_beside_other_servers_keeps_comments_and_a_backup_and_uninstalls_to_the_same_bytes() {
        for client in CLIENTS {
            let dir = fresh_dir(&format!("install-{client}"));
            let (name, original) = fixture(client);
            let file = dir.join(name);
            std::fs::write(&file, original).unwrap();
            let before = parsed(client, original);

            let run = install(client, &file, &["--org", "acme"]).await;
            assert_eq!(run.code, 0, "{client}: {}{}", run.stdout, run.stderr);
            let text = std::fs::read_to_string(&file).unwrap();
            let after = parsed(client, &text);
            assert_eq!(after["servers"]["other"], before["servers"]["other"], "{client}: other server changed\n{text}");
            assert!(!after["servers"]["buildkite"].is_null(), "{client}: no entry\n{text}");
            for comment in comments(original) {
                assert!(text.contains(&comment), "{client}: lost `{comment}`\n{text}");
            }
            assert!(!text.contains(TOKEN), "{client}: the token was written");
            assert!(text.contains("buildkite-mcp-server") && text.contains("acme"), "{client}\n{text}");
            let backup = buildkite_mcp_server::install::backup_path(&file);
            assert_eq!(std::fs::read_to_string(&backup).unwrap(), original, "{client}: backup");
            assert!(run.stdout.contains("token:"), "{client}: {}", run.stdout);

            // Twice is once.
            let again = install(client, &file, &["--org", "acme"]).await;
            assert_eq!(again.code, 0);
            assert_eq!(std::fs::read_to_string(&file).unwrap(), text, "{client}: a second install changed the file");

            let undo = install(client, &file, &["--uninstall"]).await;
            assert_eq!(undo.code, 0, "{client}: {}{}", undo.stdout, undo.stderr);
            assert_eq!(std::fs::read_to_string(&file).unwrap(), original, "{client}: uninstall did not restore");
            let nothing = install(client, &file, &["--uninstall"]).await;
            assert!(nothing.stdout.contains("nothing to remove"), "{client}: {}", nothing.stdout);
            let missing = install(client, &dir.join("missing.conf"), &["--uninstall"]).await;
            assert_eq!(missing.code, 0, "{client}: {}", missing.stderr);
            assert!(missing.stdout.contains("nothing to remove"), "{client}: {}", missing.stdout);
        }
    }

    #[tokio::test]
    async fn each_client_uses_its_secret_mechanism_or_a_token_command_never_the_token() {
        let dir = fresh_dir("install-secrets");
        let expect = [
            ("claude-code", "${BUILDKITE_API_TOKEN}"),
            ("gemini-cli", "${BUILDKITE_API_TOKEN}"),
            ("cursor", "${env:BUILDKITE_API_TOKEN}"),
            ("windsurf", "${env:BUILDKITE_API_TOKEN}"),
            ("vscode", "${input:buildkite-api-token}"),
            ("claude-desktop", "<your Buildkite API token>"),
            ("zed", "<your Buildkite API token>"),
            ("codex", "env_vars = [\"BUILDKITE_API_TOKEN\"]"),
            ("goose", "env_keys: [\"BUILDKITE_API_TOKEN\"]"),
        ];
        for (client, wanted) in expect {
            let file = dir.join(format!("{client}.conf"));
            let run = install(client, &file, &[]).await;
            assert_eq!(run.code, 0, "{client}: {}{}", run.stdout, run.stderr);
            let text = std::fs::read_to_string(&file).unwrap();
            assert!(text.contains(wanted), "{client}: {text}");
            assert!(!text.contains(TOKEN));
            if wanted.starts_with('<') {
                assert!(run.stdout.contains("replace <your Buildkite API token>"), "{client}: {}", run.stdout);
            }
            // With --token-cmd the command is written instead, for every client.
            let file = dir.join(format!("{client}-cmd.conf"));
            let run = install(client, &file, &["--token-cmd", "op read op://Private/buildkite/token"]).await;
            assert_eq!(run.code, 0);
            let text = std::fs::read_to_string(&file).unwrap();
            assert!(
                text.contains("BUILDKITE_API_TOKEN_CMD") && text.contains("op read op://Private/buildkite/token"),
                "{client}: {text}"
            );
            assert!(!text.contains("<your Buildkite"), "{client}: {text}");
        }
        // VS Code's input is a password prompt.
        let text = std::fs::read_to_string(dir.join("vscode.conf")).unwrap();
        let v = jsonc(&text);
        assert_eq!(v["inputs"][0]["password"], true);
    }

    #[tokio::test]
    async fn without_config_the_clients_own_file_under_home_is_used() {
        let home = fresh_dir("install-home");
        let home_str = home.to_str().unwrap();
        let env = [("HOME", home_str), ("XDG_CONFIG_HOME", ""), ("CODEX_HOME", ""), ("APPDATA", "")];
        let cases: [(&str, PathBuf); 4] = [
            ("cursor", home.join(".cursor/mcp.json")),
            ("codex", home.join(".codex/config.toml")),
            ("goose", home.join(".config/goose/config.yaml")),
            ("gemini-cli", home.join(".gemini/settings.json")),
        ];
        for (client, path) in cases {
            let r = run(None, &env, &["install", "--client", client, "--command", "buildkite-mcp-server"]).await;
            assert_eq!(r.code, 0, "{client}: {}{}", r.stdout, r.stderr);
            assert!(path.is_file(), "{client}: {} missing; {}", path.display(), r.stdout);
            assert!(r.stdout.contains("(a new file)"), "{}", r.stdout);
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o077, 0, "{client}: not private");
            }
        }
    }

    #[tokio::test]
    async fn claude_code_goes_through_claude_mcp_add_json_when_claude_is_on_path() {
        let bin = fresh_dir("fake-claude");
        let log = bin.join("calls.txt");
        let script = format!(
            "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\" >> '{}'; done\nprintf -- '--\\n' >> '{}'\n",
            log.display(),
            log.display()
        );
        let claude = bin.join("claude");
        std::fs::write(&claude, script).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&claude, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let path = bin.to_str().unwrap();
        let env = [("PATH", path), ("BUILDKITE_API_TOKEN", TOKEN)];
        let r = run(None, &env, &["install", "--client", "claude-code", "--command", "buildkite-mcp-server"]).await;
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
        let calls = std::fs::read_to_string(&log).unwrap();
        let add: Vec<&str> = calls.split("--\n").nth(1).unwrap().lines().collect();
        assert_eq!(&add[..5], ["mcp", "add-json", "--scope", "user", "buildkite"], "{calls}");
        let entry: Value = serde_json::from_str(add[5]).unwrap();
        assert_eq!(
            entry,
            json!({"type": "stdio", "command": "buildkite-mcp-server", "args": ["stdio"], "env": {"BUILDKITE_API_TOKEN": "${BUILDKITE_API_TOKEN}"}})
        );
        assert!(!calls.contains(TOKEN));
        let r = run(None, &env, &["install", "--client", "claude-code", "--uninstall"]).await;
        assert_eq!(r.code, 0);
        let calls = std::fs::read_to_string(&log).unwrap();
        assert!(calls.ends_with("mcp\nremove\n--scope\nuser\nbuildkite\n--\n"), "{calls}");

        // A failing claude is one line naming the command to run by hand.
        std::fs::write(&claude, "#!/bin/sh\nexit 1\n").unwrap();
        let r = run(None, &env, &["install", "--client", "claude-code", "--command", "buildkite-mcp-server"]).await;
        assert_eq!(r.code, 1);
        assert!(r.stderr.contains("`claude mcp` failed") && r.stderr.contains("claude mcp add-json"), "{}", r.stderr);

        // Without claude on PATH, the command is printed to run later.
        let empty = fresh_dir("no-claude");
        let r = run(
            None,
            &[("PATH", empty.to_str().unwrap())],
            &["install", "--client", "claude-code", "--command", "buildkite-mcp-server"],
        )
        .await;
        assert_eq!(r.code, 0);
        assert!(
            r.stdout.contains("`claude` is not on PATH")
                && r.stdout.contains("claude mcp add-json --scope user buildkite"),
            "{}",
            r.stdout
        );
    }

    #[tokio::test]
    async fn print_shows_each_clients_entry_without_writing() {
        for client in CLIENTS {
            let dir = fresh_dir(&format!("print-{client}"));
            let file = dir.join("untouched.conf");
            let r = run(
                None,
                &[("BUILDKITE_API_TOKEN", TOKEN)],
                &[
                    "install",
                    "--client",
                    client,
                    "--print",
                    "--config",
                    "/home/me/client.conf",
                    "--command",
                    "buildkite-mcp-server",
                ],
            )
            .await;
            assert_eq!(r.code, 0, "{client}: {}", r.stderr);
            assert!(!file.exists() && !Path::new("/home/me/client.conf").exists());
            assert!(!r.stdout.contains(TOKEN) && !r.stderr.contains(TOKEN));
            let shown = format!("{}\n--- stderr ---\n{}", r.stdout, r.stderr);
            snapshots_in("install").bind(|| insta::assert_snapshot!(format!("print_{client}"), shown));
        }
        // Claude Code without --config: the `claude mcp` command line.
        let r = run(None, &[], &["install", "--client", "claude-code", "--print", "--command", "buildkite-mcp-server"])
            .await;
        assert_eq!(r.code, 0);
        let shown = format!("{}\n--- stderr ---\n{}", r.stdout, r.stderr);
        snapshots_in("install").bind(|| insta::assert_snapshot!("print_claude-code_command", shown));
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_symlinked_file_is_edited_where_it_points_and_stays_a_link() {
        let dir = fresh_dir("install-link");
        let (_, original) = fixture("cursor");
        let target = dir.join("dotfiles-mcp.json");
        std::fs::write(&target, original).unwrap();
        let link = dir.join("mcp.json");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let r = install("cursor", &link, &[]).await;
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert!(std::fs::read_to_string(&target).unwrap().contains("\"buildkite\""));
        install("cursor", &link, &["--uninstall"]).await;
        assert_eq!(std::fs::read_to_string(&target).unwrap(), original);
    }

    #[tokio::test]
    async fn a_file_that_cannot_be_read_is_left_alone() {
        let dir = fresh_dir("install-bad");
        let file = dir.join("mcp.json");
        std::fs::write(&file, "{ \"mcpServers\": { \"other\": ").unwrap();
        let r = install("cursor", &file, &[]).await;
        assert_eq!(r.code, 1);
        assert!(r.stderr.contains("left unchanged") && r.stderr.contains("line 1"), "{}", r.stderr);
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "{ \"mcpServers\": { \"other\": ");
        assert!(!buildkite_mcp_server::install::backup_path(&file).exists());
    }
}

mod packaging {
    use super::*;

    #[tokio::test]
    async fn completions_and_the_man_page_are_written_for_a_formula() {
        for shell in ["bash", "zsh", "fish", "powershell"] {
            let r = run(None, &[], &["completions", shell]).await;
            assert_eq!(r.code, 0, "{shell}: {}", r.stderr);
            assert!(r.stdout.contains("buildkite-mcp-server") && r.stdout.contains("doctor"), "{shell}");
        }
        let r = run(None, &[], &["man"]).await;
        assert_eq!(r.code, 0);
        assert!(r.stdout.contains(".TH buildkite-mcp-server 1"), "{}", &r.stdout[..200.min(r.stdout.len())]);
        let dir = fresh_dir("man");
        let r = run(None, &[], &["man", "--out-dir", dir.to_str().unwrap()]).await;
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(dir.join("buildkite-mcp-server.1").is_file());
        assert!(dir.join("buildkite-mcp-server-doctor.1").is_file());
    }
}
