//! Shared test support: the fake Buildkite, spawning the real binary under an rmcp client over
//! stdio, token counting with a real tokenizer, insta settings for `snapshots/`, and (in `cases`)
//! one test per tool case against a server shared by the test file.

#![allow(dead_code)]

pub mod cases;
pub mod clients;
pub mod fake;
pub mod synthetic;

use fake::{FakeBuildkite, TOKEN};
use rmcp::model::{CallToolRequestParams, ContentBlock};
use rmcp::service::RunningService;
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use serde_json::Value;
use std::process::Stdio;
use std::sync::{Arc, Mutex, OnceLock};
use tokio::io::AsyncReadExt;
use tokio::process::{ChildStderr, Command};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_buildkite-mcp-server");

/// A running server process with an MCP client attached.
pub struct Client {
    /// The rmcp client.
    pub service: RunningService<RoleClient, ()>,
    /// Everything the server wrote to stderr so far.
    log: Arc<Mutex<Vec<u8>>>,
    drain: tokio::task::JoinHandle<()>,
}

/// A command for the binary with a clean Buildkite environment pointed at `fake`.
pub fn command(fake: Option<&FakeBuildkite>, env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(BIN);
    for (key, _) in std::env::vars() {
        if key.starts_with("BUILDKITE_") || key == "RUST_LOG" {
            cmd.env_remove(key);
        }
    }
    if let Some(fake) = fake {
        cmd.env("BUILDKITE_API_TOKEN", TOKEN)
            .env("BUILDKITE_GRAPHQL_URL", fake.graphql_url())
            .env("BUILDKITE_API_URL", &fake.url)
            .env("BUILDKITE_ORGANIZATION", "acme");
    }
    cmd.env("RUST_LOG", "debug").env("BUILDKITE_MAX_RETRIES", "2").env("BUILDKITE_TIMEOUT", "5");
    // Each server gets its own empty log cache, never the user's.
    cmd.env("BUILDKITE_MCP_LOG_CACHE", fresh_dir("log-cache"));
    for (k, v) in env {
        if v.is_empty() {
            cmd.env_remove(k);
        } else {
            cmd.env(k, v);
        }
    }
    cmd
}

/// A new empty directory under the system temp dir, unique to this process and call.
pub fn fresh_dir(what: &str) -> std::path::PathBuf {
    static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("bk-mcp-test-{what}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Spawns the binary with `args` and connects an MCP client over stdio.
pub async fn connect(fake: Option<&FakeBuildkite>, env: &[(&str, &str)], args: &[&str]) -> Client {
    let cmd = command(fake, env).configure(|c| {
        c.args(args);
    });
    let (transport, stderr) = TokioChildProcess::builder(cmd).stderr(Stdio::piped()).spawn().expect("spawn server");
    // Drain stderr as it comes: a full pipe would block the server on its next log line.
    let log = Arc::new(Mutex::new(Vec::new()));
    let drain = tokio::spawn(drain(stderr, log.clone()));
    let service = ().serve(transport).await.expect("MCP initialize");
    Client { service, log, drain }
}

impl Client {
    /// Calls a tool; returns (is_error, text).
    pub async fn call(&self, name: &str, args: Value) -> (bool, String) {
        let mut params = CallToolRequestParams::new(name.to_string());
        if let Value::Object(map) = args {
            params = params.with_arguments(map);
        }
        let result = self.service.call_tool(params).await.expect("tools/call answered");
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

    /// Calls a tool that must succeed and returns its text.
    pub async fn ok(&self, name: &str, args: Value) -> String {
        let (is_error, text) = self.call(name, args).await;
        assert!(!is_error, "{name} failed: {text}");
        text
    }

    /// Calls a tool that must fail and returns the error text.
    pub async fn err(&self, name: &str, args: Value) -> String {
        let (is_error, text) = self.call(name, args).await;
        assert!(is_error, "{name} should have failed but returned: {text}");
        text
    }

    /// What the server wrote to stderr so far (for a server that keeps running).
    pub fn log_so_far(&self) -> String {
        String::from_utf8_lossy(&self.log.lock().unwrap()).into_owned()
    }

    /// Stops the server and returns everything it wrote to stderr.
    pub async fn stop(self) -> String {
        let _ = self.service.cancel().await;
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), self.drain).await;
        String::from_utf8_lossy(&self.log.lock().unwrap()).into_owned()
    }
}

async fn drain(stderr: Option<ChildStderr>, log: Arc<Mutex<Vec<u8>>>) {
    let Some(mut stderr) = stderr else { return };
    let mut chunk = vec![0u8; 8192];
    while let Ok(n) = stderr.read(&mut chunk).await {
        if n == 0 {
            break;
        }
        log.lock().unwrap().extend_from_slice(&chunk[..n]);
    }
}

/// Tokens of `text` with the o200k_base tokenizer.
pub fn tokens(text: &str) -> usize {
    static BPE: OnceLock<tiktoken_rs::CoreBPE> = OnceLock::new();
    BPE.get_or_init(|| tiktoken_rs::o200k_base().expect("o200k_base")).encode_ordinary(text).len()
}

/// insta settings that write to the repository's `snapshots/` folder.
pub fn snapshots() -> insta::Settings {
    snapshots_in("")
}

/// insta settings that write to `snapshots/<folder>/` (one folder per tool).
pub fn snapshots_in(folder: &str) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots").join(folder));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings
}

/// Pretty JSON of a tool's compact output, for readable snapshots.
pub fn pretty(text: &str) -> String {
    match serde_json::from_str::<Value>(text) {
        Ok(v) => serde_json::to_string_pretty(&v).unwrap(),
        Err(_) => text.to_string(),
    }
}

/// The path of the first null, empty string, empty array or empty object (the output contract
/// leaves them out).
pub fn first_empty(v: &Value) -> Option<String> {
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

/// The token budgets in `tests/budgets.json`.
pub fn budgets() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/budgets.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("tests/budgets.json")).expect("budgets are JSON")
}

/// Checks `(name, tokens)` figures against `budgets[section]`; panics with every figure when any
/// is over (or has no budget).
pub fn check_budgets(section: &str, figures: &[(String, usize)]) {
    let budgets = budgets();
    let mut report = Vec::new();
    let mut over = false;
    for (name, tokens) in figures {
        match budgets[section][name].as_u64() {
            Some(limit) if *tokens as u64 <= limit => report.push(format!("  ok    {name}: {tokens} <= {limit}")),
            Some(limit) => {
                over = true;
                report.push(format!("  OVER  {name}: {tokens} > {limit}"));
            }
            None => {
                over = true;
                report.push(format!("  NONE  {name}: {tokens} has no budget in tests/budgets.json {section}"));
            }
        }
    }
    assert!(!over, "token budgets exceeded (tests/budgets.json, section {section}):\n{}", report.join("\n"));
}
