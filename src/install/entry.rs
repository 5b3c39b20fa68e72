//! The entry itself: one description of the server (command, arguments, environment) shaped for
//! each client's format, and the edit of the client's file that adds or removes it.

use super::clients::{ClientName, Format, Secret};
use super::{Options, PLACEHOLDER, SERVER, TOKEN_VAR, VSCODE_INPUT, jsonc, yaml};
use serde_json::{Map, Value, json};

/// The entry's parts, before they are shaped for one client.
pub(super) struct Entry {
    pub(super) command: String,
    pub(super) args: Vec<String>,
    pub(super) env: Map<String, Value>,
}

pub(super) fn entry(opts: &Options) -> Entry {
    let command = opts.command.clone().unwrap_or_else(default_command);
    let mut args = vec!["stdio".to_string()];
    let mut env = Map::new();
    if opts.demo {
        args.push("--demo".into());
    } else if let Some(cmd) = &opts.token_cmd {
        env.insert("BUILDKITE_API_TOKEN_CMD".into(), json!(cmd));
    } else {
        match opts.client.secret() {
            Secret::EnvRef(form) => {
                env.insert(TOKEN_VAR.into(), json!(form.replace("NAME", TOKEN_VAR)));
            }
            Secret::VscodeInput => {
                env.insert(TOKEN_VAR.into(), json!(format!("${{input:{VSCODE_INPUT}}}")));
            }
            Secret::Forward => {}
            Secret::Nothing => {
                env.insert(TOKEN_VAR.into(), json!(PLACEHOLDER));
            }
        }
    }
    if let Some(org) = opts.org.as_deref().map(str::trim).filter(|o| !o.is_empty()) {
        env.insert("BUILDKITE_ORGANIZATION".into(), json!(org));
    }
    Entry { command, args, env }
}

/// This binary's absolute path (a client started from a desktop session may not share the
/// shell's PATH), else its name.
fn default_command() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.canonicalize().ok())
        .map(|p| p.display().to_string())
        // Windows' canonical form starts with the verbatim prefix \\?\, which not every program accepts.
        .map(|p| p.strip_prefix(r"\\?\").map(str::to_string).unwrap_or(p))
        .unwrap_or_else(|| "buildkite-mcp-server".into())
}

/// Whether the token is forwarded by the client from its environment (and not set in `env`).
fn forwards(opts: &Options) -> bool {
    !opts.demo && opts.token_cmd.is_none() && opts.client.secret() == Secret::Forward
}

/// The entry as the client's JSON.
pub(super) fn json_entry(opts: &Options, e: &Entry) -> Value {
    let mut v = Map::new();
    if matches!(opts.client, ClientName::ClaudeCode | ClientName::Vscode) {
        v.insert("type".into(), json!("stdio"));
    }
    v.insert("command".into(), json!(e.command));
    v.insert("args".into(), json!(e.args));
    if !e.env.is_empty() {
        v.insert("env".into(), Value::Object(e.env.clone()));
    }
    Value::Object(v)
}

fn vscode_input() -> Value {
    json!({"type": "promptString", "id": VSCODE_INPUT, "description": "Buildkite API token", "password": true})
}

/// goose's fields for a stdio extension.
fn goose_fields(opts: &Options, e: &Entry) -> Vec<(&'static str, Value)> {
    let keys: Vec<&str> = if forwards(opts) { vec![TOKEN_VAR] } else { vec![] };
    vec![
        ("name", json!(SERVER)),
        ("type", json!("stdio")),
        ("description", json!("Buildkite CI: pipelines, builds, jobs, logs and tests")),
        ("cmd", json!(e.command)),
        ("args", json!(e.args)),
        ("enabled", json!(true)),
        ("envs", Value::Object(e.env.clone())),
        ("env_keys", json!(keys)),
        ("timeout", json!(300)),
    ]
}

/// Codex's `[mcp_servers.buildkite]` table.
fn codex_table(opts: &Options, e: &Entry) -> toml_edit::Table {
    use toml_edit::{Array, InlineTable, value};
    let mut t = toml_edit::Table::new();
    t["command"] = value(e.command.as_str());
    t["args"] = value(e.args.iter().map(String::as_str).collect::<Array>());
    if !e.env.is_empty() {
        let mut env = InlineTable::new();
        for (k, v) in &e.env {
            env.insert(k, v.as_str().unwrap_or_default().into());
        }
        t["env"] = value(env);
    }
    if forwards(opts) {
        t["env_vars"] = value([TOKEN_VAR].into_iter().collect::<Array>());
    }
    t
}

/// The entry alone, as a document of the client's format (what `--print` shows).
pub(super) fn fragment(opts: &Options, e: &Entry) -> String {
    match opts.client.format() {
        Format::Json(path) => {
            let mut doc = json!({ SERVER: json_entry(opts, e) });
            for segment in path.iter().rev() {
                doc = json!({ *segment: doc });
            }
            if opts.client == ClientName::Vscode
                && e.env.get(TOKEN_VAR).is_some()
                && let Value::Object(map) = &mut doc
            {
                map.insert("inputs".into(), json!([vscode_input()]));
            }
            format!("{}\n", serde_json::to_string_pretty(&doc).unwrap_or_default())
        }
        Format::Toml => {
            let mut doc = toml_edit::DocumentMut::new();
            let mut servers = toml_edit::Table::new();
            servers.set_implicit(true);
            servers.insert(SERVER, toml_edit::Item::Table(codex_table(opts, e)));
            doc.insert("mcp_servers", toml_edit::Item::Table(servers));
            doc.to_string()
        }
        Format::Yaml => yaml::upsert("", "extensions", SERVER, &goose_fields(opts, e)).unwrap_or_default(),
    }
}

/// `text` (the file as it is; empty when missing) with the entry added, or taken out when
/// uninstalling (`None`: it was not there).
pub(super) fn edit(opts: &Options, e: &Entry, text: &str) -> Result<Option<String>, String> {
    match (opts.client.format(), opts.uninstall) {
        (Format::Json(path), false) => {
            let mut out = jsonc::upsert(text, path, SERVER, &json_entry(opts, e)).map_err(|x| x.to_string())?;
            if opts.client == ClientName::Vscode && e.env.get(TOKEN_VAR).is_some() {
                out = jsonc::upsert_element(&out, "inputs", "id", &vscode_input()).map_err(|x| x.to_string())?;
            }
            Ok(Some(out))
        }
        (Format::Json(path), true) => {
            let mut out = jsonc::remove(text, path, SERVER).map_err(|x| x.to_string())?;
            if opts.client == ClientName::Vscode {
                let base = out.clone().unwrap_or_else(|| text.to_string());
                if let Some(without) =
                    jsonc::remove_element(&base, "inputs", "id", &json!(VSCODE_INPUT)).map_err(|x| x.to_string())?
                {
                    out = Some(without);
                }
            }
            Ok(out)
        }
        (Format::Toml, uninstall) => {
            let mut doc: toml_edit::DocumentMut = text.parse().map_err(|x: toml_edit::TomlError| x.to_string())?;
            if uninstall {
                let Some(servers) = doc.get_mut("mcp_servers").and_then(toml_edit::Item::as_table_like_mut) else {
                    return Ok(None);
                };
                if servers.remove(SERVER).is_none() {
                    return Ok(None);
                }
                if servers.is_empty() {
                    doc.remove("mcp_servers");
                }
                return Ok(Some(doc.to_string()));
            }
            let servers = doc.entry("mcp_servers").or_insert_with(|| {
                let mut t = toml_edit::Table::new();
                t.set_implicit(true);
                toml_edit::Item::Table(t)
            });
            let Some(servers) = servers.as_table_mut() else {
                return Err("`mcp_servers` is not a table".into());
            };
            match servers.get_mut(SERVER).and_then(toml_edit::Item::as_table_mut) {
                // Replaced in place: its position and comments stay.
                Some(existing) => {
                    let decor = existing.decor().clone();
                    *existing = codex_table(opts, e);
                    *existing.decor_mut() = decor;
                }
                None => {
                    servers.insert(SERVER, toml_edit::Item::Table(codex_table(opts, e)));
                }
            }
            Ok(Some(doc.to_string()))
        }
        (Format::Yaml, false) => {
            yaml::upsert(text, "extensions", SERVER, &goose_fields(opts, e)).map(Some).map_err(|x| x.to_string())
        }
        (Format::Yaml, true) => yaml::remove(text, "extensions", SERVER).map_err(|x| x.to_string()),
    }
}

/// Checks that what is about to be written reads back (JSON with comments, TOML).
pub(super) fn check(opts: &Options, text: &str) -> Result<(), String> {
    match opts.client.format() {
        Format::Json(_) => jsonc::to_value(text).map(|_| ()).map_err(|e| e.to_string()),
        Format::Toml => text.parse::<toml_edit::DocumentMut>().map(|_| ()).map_err(|e| e.to_string()),
        Format::Yaml => Ok(()),
    }
}
