//! The tool surface and what keeps it honest: tools/list (snapshot, token budgets per
//! configuration), the server instructions, which tools toolsets, `--read-only` and token scopes
//! offer (all derived from the library's catalogue, so a new tool needs no edit here), the `tools`
//! subcommand, the README's tool table, tool names mentioned in text, and tool-name literals in
//! `src/`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test harness code

mod support;

use buildkite_mcp_server::buildkite::rest::{MINIMUM_SCOPES, READ_ONLY_SCOPES, READ_WRITE_SCOPES};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use support::fake::FakeBuildkite;
use support::{check_budgets, connect, snapshots, tokens};

/// One catalogued tool, as these tests read it (works whether `catalogue()` yields owned specs or
/// references).
struct Tool {
    name: &'static str,
    toolset: &'static str,
    scopes: Vec<&'static str>,
    read_only: bool,
    description: &'static str,
}

/// Every tool of this build, in catalogue order.
fn catalogue() -> Vec<Tool> {
    buildkite_mcp_server::tools::catalogue()
        .iter()
        .map(|spec| Tool {
            name: spec.name,
            toolset: spec.toolset.name(),
            scopes: spec.scopes.to_vec(),
            read_only: spec.read_only(),
            description: spec.description,
        })
        .collect()
}

/// The names of the catalogued tools for which `keep` holds, in catalogue order.
fn names_where(keep: impl Fn(&Tool) -> bool) -> Vec<&'static str> {
    catalogue().into_iter().filter(|t| keep(t)).map(|t| t.name).collect()
}

/// The tools a token with exactly `granted` scopes is offered.
fn offered_with(granted: &[&str]) -> Vec<&'static str> {
    names_where(|t| t.scopes.iter().all(|s| granted.contains(s)))
}

/// The names tools/list answers with.
async fn listed(client: &support::Client) -> Vec<String> {
    client.service.list_all_tools().await.unwrap().into_iter().map(|t| t.name.to_string()).collect()
}

#[tokio::test]
async fn tools_list_is_compact_and_snapshotted_with_token_counts() {
    let fake = FakeBuildkite::start().await;
    // The full configuration: a token with the read-write recipe is offered every tool.
    fake.set_scopes(READ_WRITE_SCOPES);
    let client = connect(Some(&fake), &[], &[]).await;
    let tools = client.service.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(names, names_where(|_| true), "tools/list offers the catalogue, in order");
    let text = serde_json::to_string(&tools).unwrap();
    let total = tokens(&text);
    let per_tool: Vec<Value> = tools
        .iter()
        .map(|t| {
            let one = serde_json::to_string(t).unwrap();
            json!({"name": t.name, "bytes": one.len(), "tokens": tokens(&one), "definition": t})
        })
        .collect();
    check_budgets("tools_list_tokens", &[("full".to_string(), total)]);
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

/// What the model reads before its first call, per configuration: tools/list with every toolset,
/// and with `--read-only`.
#[tokio::test]
async fn tools_list_fits_its_token_budget_in_every_configuration() {
    let fake = FakeBuildkite::start().await;
    fake.set_scopes(READ_WRITE_SCOPES);
    let mut figures = Vec::new();
    for (configuration, args) in [("full", &[][..]), ("read_only", &["--read-only"][..])] {
        let client = connect(Some(&fake), &[], args).await;
        let tools = client.service.list_all_tools().await.unwrap();
        let n = tokens(&serde_json::to_string(&tools).unwrap());
        println!("tools/list {configuration}: {} tools, {n} tokens", tools.len());
        figures.push((configuration.to_string(), n));
        client.stop().await;
    }
    check_budgets("tools_list_tokens", &figures);
}

/// The server instructions, as the client receives them in the initialize result.
#[tokio::test]
async fn the_instructions_fit_their_token_budget() {
    let fake = FakeBuildkite::start().await;
    let client = connect(Some(&fake), &[], &[]).await;
    let info = client.service.peer_info().expect("the initialize result");
    let instructions = info.instructions.clone().expect("the server gives instructions");
    assert_eq!(instructions, buildkite_mcp_server::server::INSTRUCTIONS);
    let n = tokens(&instructions);
    println!("instructions: {n} tokens");
    let limit = support::budgets()["instructions_tokens"].as_u64().expect("instructions_tokens in tests/budgets.json");
    assert!(n as u64 <= limit, "the instructions are {n} tokens, over their budget of {limit} (tests/budgets.json)");
    client.stop().await;
}

#[tokio::test]
async fn toolsets_and_read_only_filter_the_tool_list() {
    let fake = FakeBuildkite::start().await;
    let client = connect(Some(&fake), &[("BUILDKITE_TOOLSETS", "user,builds")], &["--read-only"]).await;
    let names = listed(&client).await;
    assert_eq!(names, names_where(|t| ["user", "builds"].contains(&t.toolset) && t.read_only));
    assert!(names.iter().any(|n| n == "get_build") && names.iter().any(|n| n == "current_user"), "{names:?}");
    let message = client.err("list_pipelines", json!({})).await;
    assert!(message.contains("toolset that is not enabled"), "{message}");
    client.stop().await;
}

#[tokio::test]
async fn a_token_without_a_scope_hides_its_tools_and_says_which_scope() {
    let fake = FakeBuildkite::start().await;
    let granted = ["read_user", "read_pipelines"];
    fake.set_scopes(&granted);
    let client = connect(Some(&fake), &[], &[]).await;
    let names = listed(&client).await;
    assert_eq!(names, offered_with(&granted));
    assert!(names.iter().any(|n| n == "list_pipelines"), "{names:?}");
    // get_build is hidden without read_builds, and calling it names the scope.
    assert!(!names.iter().any(|n| n == "get_build"), "{names:?}");
    let message = client.err("get_build", json!({"build": "acme/web/1342"})).await;
    assert!(message.contains("get_build needs the token scope read_builds"), "{message}");
    assert!(message.contains("https://buildkite.com/user/api-access-tokens"), "{message}");
    client.stop().await;

    // The minimum recommended recipe leaves out the log, artifact, agent and cluster tools; the
    // read-only recipe enables every tool of this build.
    fake.set_scopes(MINIMUM_SCOPES);
    let client = connect(Some(&fake), &[], &[]).await;
    let names = listed(&client).await;
    assert_eq!(names, offered_with(MINIMUM_SCOPES));
    assert!(names.iter().any(|n| n == "get_build") && !names.iter().any(|n| n == "tail_log"), "{names:?}");
    assert!(names.len() < catalogue().len(), "the minimum recipe hides some tools");
    client.stop().await;
    // The read-only recipe reaches every read tool; the read-write recipe every tool.
    fake.set_scopes(READ_ONLY_SCOPES);
    let client = connect(Some(&fake), &[], &[]).await;
    assert_eq!(listed(&client).await, names_where(|t| t.read_only));
    client.stop().await;
    fake.set_scopes(READ_WRITE_SCOPES);
    let client = connect(Some(&fake), &[], &[]).await;
    assert_eq!(listed(&client).await, names_where(|_| true));
    client.stop().await;
}

#[tokio::test]
async fn tokens_without_log_artifact_or_env_scopes_are_told_which_scope_to_add() {
    let fake = FakeBuildkite::start().await;
    fake.set_scopes(MINIMUM_SCOPES);
    let client = connect(Some(&fake), &[], &[]).await;
    let names = listed(&client).await;
    for hidden in names_where(|t| t.scopes.iter().any(|s| ["read_build_logs", "read_artifacts"].contains(s))) {
        assert!(!names.iter().any(|n| n == hidden), "{hidden} is offered without its scope");
    }
    let message =
        client.err("search_log", json!({"job": "08d58486-29e1-47b4-b951-facf35dafc4d", "pattern": "x"})).await;
    assert!(message.contains("search_log needs the token scope read_build_logs"), "{message}");
    let message = client.err("get_job", json!({"job": "08d58486-29e1-47b4-b951-facf35dafc4d", "env": true})).await;
    assert!(message.contains("get_job with env needs the token scope read_job_env"), "{message}");
    client.stop().await;
    // The tools table names the missing scope.
    let output = support::command(Some(&fake), &[]).arg("tools").output().await.unwrap();
    let table = String::from_utf8_lossy(&output.stdout);
    let row = table.lines().find(|l| l.starts_with("search_log")).unwrap_or_default();
    assert!(row.contains("no: token lacks read_build_logs"), "{table}");
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
    // Every catalogued tool has a row.
    for name in names_where(|_| true) {
        assert!(stdout.lines().any(|l| l.starts_with(&format!("{name} "))), "{name} has no row: {stdout}");
    }
}

/// README.md's "## Tools" table lists exactly the catalogue's tools, in order, with the same
/// toolset and scopes. The Scopes column may add parenthesised extras, e.g.
/// `read_builds (+ read_job_env for `env`)`: only the leading list is compared.
#[test]
fn the_readme_tool_table_matches_the_catalogue() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme.split_once("\n## Tools\n").expect("README.md has a `## Tools` section").1;
    let rows: Vec<(String, String, Vec<String>)> = section
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let name = cells[1].trim_matches('`').to_string();
            let scopes = cells[3].split(" (").next().unwrap();
            (name, cells[2].to_string(), scopes.split(',').map(|s| s.trim().to_string()).collect())
        })
        .collect();
    let expected: Vec<(String, String, Vec<String>)> = catalogue()
        .into_iter()
        .map(|t| (t.name.to_string(), t.toolset.to_string(), t.scopes.iter().map(|s| s.to_string()).collect()))
        .collect();
    assert_eq!(rows, expected, "README.md's tool table (name, toolset, scopes) is not the catalogue's");
}

/// Words in text that look like tool names: snake_case words starting with a verb the tools use.
/// Argument names (`from_line`, `max_tokens`, `next.after`, `case_sensitive`) start with no such
/// verb; token scopes (`read_builds`, `read_build_logs`…) do, so they are left out, the recipes'
/// and the tools' own plus `read_job_env` (asked for only by `get_job` with `env`).
fn tool_like_words(text: &str) -> Vec<String> {
    const VERBS: [&str; 9] = ["list_", "get_", "search_", "tail_", "read_", "wait_", "compare_", "log_", "current_"];
    let scopes: Vec<String> = READ_WRITE_SCOPES
        .iter()
        .map(|s| s.to_string())
        .chain(catalogue().into_iter().flat_map(|t| t.scopes.into_iter().map(str::to_string)))
        .chain(["read_job_env".to_string()])
        .collect();
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| VERBS.iter().any(|v| w.starts_with(v) && w.len() > v.len()))
        .filter(|w| !scopes.iter().any(|s| s == w))
        .map(str::to_string)
        .collect()
}

/// Every `description` string in a JSON value (a tool's input schema).
fn descriptions(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                match x {
                    Value::String(s) if k == "description" => out.push(s.clone()),
                    _ => descriptions(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| descriptions(x, out)),
        _ => {}
    }
}

/// A tool name in a description, an argument's description or the server instructions is a tool
/// of this build.
#[tokio::test]
async fn every_tool_named_in_a_description_or_the_instructions_exists() {
    let names = names_where(|_| true);
    let mut texts: Vec<(String, String)> =
        catalogue().iter().map(|t| (t.name.to_string(), t.description.to_string())).collect();
    texts.push(("the server instructions".to_string(), buildkite_mcp_server::server::INSTRUCTIONS.to_string()));
    // Argument descriptions, as served.
    let client = connect(None, &[], &["--demo"]).await;
    for tool in client.service.list_all_tools().await.unwrap() {
        let mut found = Vec::new();
        descriptions(&Value::Object((*tool.input_schema).clone()), &mut found);
        texts.extend(found.into_iter().map(|d| (format!("{} arguments", tool.name), d)));
    }
    client.stop().await;
    let mut mentioned = 0;
    for (whose, text) in &texts {
        for word in tool_like_words(text) {
            assert!(names.contains(&word.as_str()), "{whose} mentions `{word}`, which is not a tool: {text}");
            mentioned += 1;
        }
    }
    // The scan sees the names the instructions give (get_build, log_digest, list_builds…).
    assert!(
        tool_like_words(buildkite_mcp_server::server::INSTRUCTIONS).len() >= 3,
        "the scanner found no tool names in the instructions"
    );
    println!("{mentioned} tool names mentioned in {} texts", texts.len());
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The string literals of Rust source outside `#[cfg(test)]` items. A small lexer: comments,
/// `"…"` with escapes, raw strings `r#"…"#`, byte strings, and char literals (told apart from
/// lifetimes). A `#[cfg(test)]` line starts test code, which runs to the end of the item that
/// follows: its closing brace (or `;` before any brace).
fn non_test_string_literals(source: &str) -> Vec<String> {
    let chars: Vec<char> = source.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut depth) = (0, 0usize);
    // Some(depth at the attribute, whether the item's body has opened) while in test code.
    let mut test_item: Option<(usize, bool)> = None;
    let at_line_start = |i: usize| chars[..i].iter().rev().take_while(|c| **c != '\n').all(|c| c.is_whitespace());
    while i < chars.len() {
        let rest: String = chars[i..chars.len().min(i + 12)].iter().collect();
        let c = chars[i];
        if rest.starts_with("#[cfg(test)]") && at_line_start(i) && test_item.is_none() {
            test_item = Some((depth, false));
            i += 12;
        } else if rest.starts_with("//") {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if rest.starts_with("/*") {
            let mut nest = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    nest += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    nest -= 1;
                    i += 2;
                    if nest == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if (c == 'r' || (c == 'b' && chars.get(i + 1) == Some(&'r')))
            && !chars.get(i.wrapping_sub(1)).is_some_and(|p| p.is_alphanumeric() || *p == '_')
            && {
                let start = if c == 'b' { i + 2 } else { i + 1 };
                let hashes = chars[start.min(chars.len())..].iter().take_while(|h| **h == '#').count();
                chars.get(start + hashes) == Some(&'"')
            }
        {
            let start = if c == 'b' { i + 2 } else { i + 1 };
            let hashes = chars[start..].iter().take_while(|h| **h == '#').count();
            let body = start + hashes + 1;
            let closing: String = std::iter::once('"').chain(std::iter::repeat_n('#', hashes)).collect();
            let mut j = body;
            while j < chars.len() && !chars[j..].iter().take(closing.len()).copied().eq(closing.chars()) {
                j += 1;
            }
            if test_item.is_none() {
                out.push(chars[body..j].iter().collect());
            }
            i = j + closing.len();
        } else if c == '"' {
            let mut j = i + 1;
            let mut literal = String::new();
            while j < chars.len() && chars[j] != '"' {
                if chars[j] == '\\' {
                    literal.push(chars[j]);
                    j += 1;
                }
                literal.push(chars[j]);
                j += 1;
            }
            if test_item.is_none() {
                out.push(literal);
            }
            i = j + 1;
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{1b}'), else a lifetime or label.
            if chars.get(i + 1) == Some(&'\\') {
                let mut j = i + 2;
                while j < chars.len() && chars[j] != '\'' {
                    j += 1;
                }
                i = j + 1;
            } else if chars.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                i += 1;
            }
        } else {
            match c {
                '{' => {
                    depth += 1;
                    if let Some((_, opened)) = &mut test_item {
                        *opened = true;
                    }
                }
                '}' => {
                    depth = depth.saturating_sub(1);
                    if test_item.is_some_and(|(d, opened)| opened && depth == d) {
                        test_item = None;
                    }
                }
                ';' if test_item.is_some_and(|(d, opened)| !opened && depth == d) => test_item = None,
                _ => {}
            }
            i += 1;
        }
    }
    out
}

/// Most literal copies of one tool's name allowed in `src/`, and on average per tool.
const MAX_PER_TOOL: usize = 2;
const MAX_AVERAGE: f64 = 1.3;

/// A tool's name is written as a literal in as few places as possible (ideally once, where the
/// tool is declared): counts string literals in `src/**/*.rs` outside `#[cfg(test)]` code that are
/// exactly a catalogued tool's name.
#[test]
fn tool_names_are_written_once_in_src() {
    let mut files = Vec::new();
    rust_files(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src")), &mut files);
    let names = names_where(|_| true);
    let mut counts: BTreeMap<&str, usize> = names.iter().map(|n| (*n, 0)).collect();
    let mut places: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for file in &files {
        let source = std::fs::read_to_string(file).unwrap();
        for literal in non_test_string_literals(&source) {
            if let Some(count) = counts.get_mut(literal.as_str()) {
                *count += 1;
                let short = file.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap_or(file).display().to_string();
                places.entry(names.iter().find(|n| **n == literal).unwrap()).or_default().push(short);
            }
        }
    }
    let total: usize = counts.values().sum();
    let average = total as f64 / counts.len() as f64;
    let (max_tool, max) = counts.iter().max_by_key(|(_, c)| **c).map(|(t, c)| (*t, *c)).unwrap();
    for (tool, count) in &counts {
        println!("{count:>3}  {tool}  {}", places.get(tool).map(|p| p.join(", ")).unwrap_or_default());
    }
    println!(
        "tool-name literals in src/: {total} for {} tools, average {average:.2}, max {max} ({max_tool})",
        counts.len()
    );
    let over: Vec<String> =
        counts.iter().filter(|(_, c)| **c > MAX_PER_TOOL).map(|(t, c)| format!("{t}: {c}")).collect();
    assert!(over.is_empty(), "tools named in more than {MAX_PER_TOOL} literals: {over:?}");
    assert!(average <= MAX_AVERAGE, "{average:.2} literals per tool on average, over {MAX_AVERAGE}");
}

/// No tool name is assembled by `concat!` or `stringify!` in `build.rs` or `src/` (which would
/// hide it from the literal count): the text inside each such macro call, with quotes, commas and
/// whitespace removed, contains no tool name.
#[test]
fn no_tool_name_is_built_by_concat_or_stringify() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("build.rs")];
    rust_files(&root.join("src"), &mut files);
    let names = names_where(|_| true);
    let mut found = Vec::new();
    for file in &files {
        let source = std::fs::read_to_string(file).unwrap();
        for mac in ["concat!(", "stringify!("] {
            for (at, _) in source.match_indices(mac) {
                let args = &source[at + mac.len()..];
                let mut depth = 1;
                let end = args
                    .char_indices()
                    .find(|(_, c)| {
                        match c {
                            '(' => depth += 1,
                            ')' => depth -= 1,
                            _ => {}
                        }
                        depth == 0
                    })
                    .map_or(args.len(), |(i, _)| i);
                let joined: String =
                    args[..end].chars().filter(|c| !(c.is_whitespace() || *c == '"' || *c == ',')).collect();
                if let Some(name) = names.iter().find(|n| joined.contains(**n)) {
                    found.push(format!("{}: {mac}…) builds `{name}`", file.display()));
                }
            }
        }
    }
    assert!(found.is_empty(), "{found:#?}");
}

/// The lexer behind the literal count: literals in code count, those in comments, test modules,
/// and char literals do not; raw strings count.
#[test]
fn the_literal_counter_skips_comments_and_test_code() {
    let source = r##"
const A: &str = "get_build"; // "not_this"
fn f<'a>(x: &'a str) -> char { let _ = r#"raw "quoted""#; '"' }
/* "nor_this" */
#[cfg(test)]
mod tests {
    fn g() { let _ = "in_test"; if true { "still_in_test"; } }
}
"##;
    let source = format!("{source}const B: &str = \"after\";\n");
    assert_eq!(non_test_string_literals(&source), ["get_build", "raw \"quoted\"", "after"]);
}
