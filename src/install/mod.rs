//! `install --client NAME`: adds this server to an MCP client's configuration, merged into the file
//! that is there (other servers, comments and formatting untouched, a backup beside it), or takes it
//! out again with `--uninstall`. A token is never written: the client's own secret mechanism is used
//! where it has one (VS Code's password input, environment references, forwarded variables), else
//! `--token-cmd` when given, else a placeholder and one line saying how to fill it.
//!
//! What each client reads (looked up in the clients' documentation, December 2026):
//! - Claude Code: `claude mcp add-json --scope user NAME JSON` writes `~/.claude.json`'s
//!   `mcpServers`; `${VAR}` is expanded in `command`, `args` and `env`.
//! - Claude Desktop: `claude_desktop_config.json` (`mcpServers`) in `~/Library/Application
//!   Support/Claude` (macOS) or `%APPDATA%\Claude` (Windows); `~/.config/Claude` on Linux builds.
//!   No expansion of variables.
//! - VS Code: the user `mcp.json` (`servers`, `inputs` with `"password": true` prompted once and
//!   kept in its secret storage, referenced as `${input:ID}`).
//! - Cursor: `~/.cursor/mcp.json` (`mcpServers`, `${env:NAME}` expanded).
//! - Windsurf: `~/.codeium/windsurf/mcp_config.json` (`mcpServers`, `${env:NAME}` expanded).
//! - Zed: `settings.json` (`context_servers`, JSON with comments); no expansion of variables.
//! - Codex: `$CODEX_HOME/config.toml` or `~/.codex/config.toml` (`[mcp_servers.NAME]`, `env_vars`
//!   forwards variables from Codex's environment).
//! - Gemini CLI: `~/.gemini/settings.json` (`mcpServers`, `$VAR` / `${VAR}` expanded).
//! - goose: `~/.config/goose/config.yaml` or `%APPDATA%\Block\goose\config\config.yaml`
//!   (`extensions:`, a `type: stdio` entry; `env_keys` are looked up in goose's secret store).

pub mod jsonc;
pub mod yaml;

use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};

/// The name the server is registered under in every client.
pub const SERVER: &str = "buildkite";
/// The variable holding the token.
const TOKEN_VAR: &str = "BUILDKITE_API_TOKEN";
/// What a client without a secret mechanism gets instead of a token.
pub const PLACEHOLDER: &str = "<your Buildkite API token>";
/// The id of VS Code's password input.
const VSCODE_INPUT: &str = "buildkite-api-token";

/// The MCP clients `install` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ClientName {
    /// Claude Code (through `claude mcp add-json`).
    ClaudeCode,
    /// Claude Desktop.
    ClaudeDesktop,
    /// Visual Studio Code.
    Vscode,
    /// Cursor.
    Cursor,
    /// Windsurf.
    Windsurf,
    /// Zed.
    Zed,
    /// OpenAI Codex CLI.
    Codex,
    /// Google Gemini CLI.
    GeminiCli,
    /// goose.
    Goose,
}

/// How a client gets the token without it being written into its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Secret {
    /// The client expands this reference to an environment variable (`NAME` stands for the variable).
    EnvRef(&'static str),
    /// VS Code's prompted password input.
    VscodeInput,
    /// The client passes the variable from its own environment (Codex `env_vars`, goose `env_keys`).
    Forward,
    /// No mechanism: `--token-cmd` or a placeholder.
    Nothing,
}

/// The file format of a client's configuration.
#[derive(Debug, Clone, Copy)]
enum Format {
    /// JSON (with comments where the client allows them) with the servers under this path.
    Json(&'static [&'static str]),
    /// Codex's TOML.
    Toml,
    /// goose's YAML.
    Yaml,
}

impl ClientName {
    /// The client's name as people write it.
    pub fn title(self) -> &'static str {
        match self {
            ClientName::ClaudeCode => "Claude Code",
            ClientName::ClaudeDesktop => "Claude Desktop",
            ClientName::Vscode => "VS Code",
            ClientName::Cursor => "Cursor",
            ClientName::Windsurf => "Windsurf",
            ClientName::Zed => "Zed",
            ClientName::Codex => "Codex",
            ClientName::GeminiCli => "Gemini CLI",
            ClientName::Goose => "goose",
        }
    }

    fn secret(self) -> Secret {
        match self {
            ClientName::ClaudeCode | ClientName::GeminiCli => Secret::EnvRef("${NAME}"),
            ClientName::Cursor | ClientName::Windsurf => Secret::EnvRef("${env:NAME}"),
            ClientName::Vscode => Secret::VscodeInput,
            ClientName::Codex | ClientName::Goose => Secret::Forward,
            ClientName::ClaudeDesktop | ClientName::Zed => Secret::Nothing,
        }
    }

    fn format(self) -> Format {
        match self {
            ClientName::Vscode => Format::Json(&["servers"]),
            ClientName::Zed => Format::Json(&["context_servers"]),
            ClientName::Codex => Format::Toml,
            ClientName::Goose => Format::Yaml,
            _ => Format::Json(&["mcpServers"]),
        }
    }
}

/// Why an install did not happen.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// No home directory to find the client's file in.
    #[error("cannot find {0}'s configuration without a home directory: pass --config PATH")]
    NoHome(&'static str),
    /// Reading or writing a file.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: String,
        /// What failed.
        error: std::io::Error,
    },
    /// A file that cannot be edited safely (it was left as it was).
    #[error("{path} was left unchanged: {detail}")]
    Unparsable {
        /// The file.
        path: String,
        /// Where and why.
        detail: String,
    },
    /// `claude` failed.
    #[error("`claude mcp` failed ({status}): run `{command}` yourself to see why")]
    Claude {
        /// How it ended.
        status: String,
        /// The command line that was run.
        command: String,
    },
}

/// What `install` was asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    /// The client.
    pub client: ClientName,
    /// Print instead of writing.
    pub print: bool,
    /// The configuration file (default: the client's usual one).
    pub config: Option<PathBuf>,
    /// Remove instead of add.
    pub uninstall: bool,
    /// The command the client runs (default: this binary's path).
    pub command: Option<String>,
    /// `--token-cmd`, written into the entry when given.
    pub token_cmd: Option<String>,
    /// `--org`, written into the entry when given.
    pub org: Option<String>,
    /// `--demo`: the entry serves the demo organization.
    pub demo: bool,
}

/// What `install` reports: the text for stdout (with `--print`, the entry alone) and for stderr.
#[derive(Debug, Default)]
pub struct Report {
    /// For stdout.
    pub stdout: String,
    /// For stderr.
    pub stderr: String,
}

/// The entry's parts, before they are shaped for one client.
struct Entry {
    command: String,
    args: Vec<String>,
    env: Map<String, Value>,
}

fn entry(opts: &Options) -> Entry {
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
        .unwrap_or_else(|| "buildkite-mcp-server".into())
}

/// Whether the token is forwarded by the client from its environment (and not set in `env`).
fn forwards(opts: &Options) -> bool {
    !opts.demo && opts.token_cmd.is_none() && opts.client.secret() == Secret::Forward
}

/// The entry as the client's JSON.
fn json_entry(opts: &Options, e: &Entry) -> Value {
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

/// The one line saying where the token comes from (and how to fill a placeholder).
fn token_line(opts: &Options, file: &str) -> String {
    let page = crate::buildkite::error::TOKEN_PAGE;
    if opts.demo {
        return "token: none needed, this entry serves the demo organization (--demo)".into();
    }
    if let Some(cmd) = &opts.token_cmd {
        return format!("token: read at start from `{cmd}` (--token-cmd); none is stored in {file}");
    }
    let client = opts.client.title();
    match opts.client.secret() {
        Secret::EnvRef(_) => format!(
            "token: {client} expands {TOKEN_VAR} from the environment it starts in: export it there (a token from {page}), or rerun with --token-cmd 'op read op://…' to read it from a password manager"
        ),
        Secret::VscodeInput => {
            "token: VS Code asks for it the first time it starts the server and keeps it in its secret storage".into()
        }
        Secret::Forward if opts.client == ClientName::Codex => format!(
            "token: Codex passes {TOKEN_VAR} from the environment it starts in (env_vars): export it there (a token from {page}), or rerun with --token-cmd"
        ),
        Secret::Forward => format!(
            "token: goose looks {TOKEN_VAR} up in its secret store (env_keys): set it with `goose configure`, or export it before starting goose, or rerun with --token-cmd"
        ),
        Secret::Nothing => format!(
            "token: replace {PLACEHOLDER} in {file} with a token from {page}, or rerun with --token-cmd 'op read op://…' so no token is stored in the file"
        ),
    }
}

/// Where the client keeps its configuration.
pub fn default_path(client: ClientName) -> Result<PathBuf, InstallError> {
    let var = |name: &str| std::env::var_os(name).map(PathBuf::from).filter(|p| p.is_absolute());
    let home = var("HOME").or_else(|| var("USERPROFILE"));
    let need_home = || home.clone().ok_or(InstallError::NoHome(client.title()));
    let appdata = || var("APPDATA").ok_or(InstallError::NoHome(client.title()));
    let xdg = || -> Result<PathBuf, InstallError> {
        var("XDG_CONFIG_HOME").map_or_else(|| need_home().map(|h| h.join(".config")), Ok)
    };
    let mac = cfg!(target_os = "macos");
    let windows = cfg!(windows);
    Ok(match client {
        ClientName::ClaudeCode => need_home()?.join(".claude.json"),
        ClientName::ClaudeDesktop if mac => {
            need_home()?.join("Library/Application Support/Claude/claude_desktop_config.json")
        }
        ClientName::ClaudeDesktop if windows => appdata()?.join("Claude").join("claude_desktop_config.json"),
        ClientName::ClaudeDesktop => xdg()?.join("Claude").join("claude_desktop_config.json"),
        ClientName::Vscode if mac => need_home()?.join("Library/Application Support/Code/User/mcp.json"),
        ClientName::Vscode if windows => appdata()?.join("Code").join("User").join("mcp.json"),
        ClientName::Vscode => xdg()?.join("Code").join("User").join("mcp.json"),
        ClientName::Cursor => need_home()?.join(".cursor").join("mcp.json"),
        ClientName::Windsurf => need_home()?.join(".codeium").join("windsurf").join("mcp_config.json"),
        ClientName::Zed if windows => appdata()?.join("Zed").join("settings.json"),
        ClientName::Zed => xdg()?.join("zed").join("settings.json"),
        ClientName::Codex => match var("CODEX_HOME") {
            Some(dir) => dir.join("config.toml"),
            None => need_home()?.join(".codex").join("config.toml"),
        },
        ClientName::GeminiCli => need_home()?.join(".gemini").join("settings.json"),
        ClientName::Goose if windows => appdata()?.join("Block").join("goose").join("config").join("config.yaml"),
        ClientName::Goose => xdg()?.join("goose").join("config.yaml"),
    })
}

/// The entry alone, as a document of the client's format (what `--print` shows).
fn fragment(opts: &Options, e: &Entry) -> String {
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
fn edit(opts: &Options, e: &Entry, text: &str) -> Result<Option<String>, String> {
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
fn check(opts: &Options, text: &str) -> Result<(), String> {
    match opts.client.format() {
        Format::Json(_) => jsonc::to_value(text).map(|_| ()).map_err(|e| e.to_string()),
        Format::Toml => text.parse::<toml_edit::DocumentMut>().map(|_| ()).map_err(|e| e.to_string()),
        Format::Yaml => Ok(()),
    }
}

/// The backup kept beside `path` before it is changed.
pub fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".buildkite-mcp-server.bak");
    path.with_file_name(name)
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> InstallError + '_ {
    move |error| InstallError::Io { path: path.display().to_string(), error }
}

/// Writes `text` to `path` through a temporary file beside it (renamed over it, so a reader never
/// sees half a file), with the permissions the file had (new files: readable by this user only).
fn write(path: &Path, text: &str, before: Option<&std::fs::Metadata>) -> Result<(), InstallError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let mut tmp_name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    tmp_name.push(".buildkite-mcp-server.tmp");
    let tmp = path.with_file_name(tmp_name);
    std::fs::write(&tmp, text).map_err(io(&tmp))?;
    match before {
        Some(meta) => std::fs::set_permissions(&tmp, meta.permissions()).map_err(io(&tmp))?,
        None => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600)).map_err(io(&tmp))?;
            }
        }
    }
    std::fs::rename(&tmp, path).map_err(io(path))
}

/// `claude` on PATH, if there is one.
fn find_claude() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    let names: &[&str] = if cfg!(windows) { &["claude.exe", "claude.cmd"] } else { &["claude"] };
    std::env::split_paths(&path).flat_map(|dir| names.iter().map(move |n| dir.join(n))).find(|p| p.is_file())
}

/// A shell-quoted word (single quotes).
fn quoted(word: &str) -> String {
    if !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=@".contains(c)) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// Claude Code without `--config`: through `claude mcp`, or the command printed.
fn claude_code(opts: &Options, e: &Entry) -> Result<Report, InstallError> {
    let json = serde_json::to_string(&json_entry(opts, e)).unwrap_or_default();
    let add: Vec<String> =
        ["mcp", "add-json", "--scope", "user", SERVER, &json].iter().map(|s| s.to_string()).collect();
    let remove: Vec<String> = ["mcp", "remove", "--scope", "user", SERVER].iter().map(|s| s.to_string()).collect();
    let args = if opts.uninstall { &remove } else { &add };
    let line = format!("claude {}", args.iter().map(|a| quoted(a)).collect::<Vec<_>>().join(" "));
    let mut report = Report::default();
    let token = if opts.uninstall { String::new() } else { format!("{}\n", token_line(opts, "~/.claude.json")) };
    if opts.print {
        report.stdout = format!("{line}\n");
        report.stderr = token;
        return Ok(report);
    }
    let Some(claude) = find_claude() else {
        report.stdout = format!(
            "`claude` is not on PATH: once Claude Code is installed, run\n  {line}\n(or pass --config ~/.claude.json to edit the file directly)\n{token}"
        );
        return Ok(report);
    };
    if !opts.uninstall {
        // add-json refuses a name that exists: an update removes the old entry first.
        let _ = std::process::Command::new(&claude)
            .args(&remove)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
    let status = std::process::Command::new(&claude)
        .args(args)
        .stdout(std::process::Stdio::null())
        .status()
        .map_err(|e| InstallError::Claude { status: e.to_string(), command: line.clone() })?;
    if !status.success() {
        return Err(InstallError::Claude { status: status.to_string(), command: line });
    }
    report.stdout = if opts.uninstall {
        format!("removed {SERVER} from Claude Code (ran: {line})\n")
    } else {
        format!("added {SERVER} to Claude Code (ran: {line})\n{token}")
    };
    Ok(report)
}

/// Runs `install` as asked.
pub fn run(opts: &Options) -> Result<Report, InstallError> {
    let e = entry(opts);
    if opts.client == ClientName::ClaudeCode && opts.config.is_none() {
        return claude_code(opts, &e);
    }
    let path = match &opts.config {
        Some(p) => p.clone(),
        None => default_path(opts.client)?,
    };
    // A symlinked file (dotfiles kept in a repository) is edited where it points, and stays a link.
    let path = match std::fs::symlink_metadata(&path) {
        Ok(meta) if meta.file_type().is_symlink() => std::fs::canonicalize(&path).map_err(io(&path))?,
        _ => path,
    };
    let shown = path.display().to_string();
    let client = opts.client.title();
    let mut report = Report::default();
    if opts.print {
        report.stdout = fragment(opts, &e);
        report.stderr = if opts.uninstall {
            format!("--uninstall removes `{SERVER}` from {shown}\n")
        } else {
            format!("merge into {shown}\n{}\n", token_line(opts, &shown))
        };
        return Ok(report);
    }
    let before = std::fs::metadata(&path).ok();
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(err) => return Err(io(&path)(err)),
    };
    if opts.uninstall && before.is_none() {
        report.stdout = format!("{shown} does not exist: nothing to remove\n");
        return Ok(report);
    }
    let unparsable = |detail: String| InstallError::Unparsable { path: shown.clone(), detail };
    let Some(updated) = edit(opts, &e, &text).map_err(unparsable)? else {
        report.stdout = format!("{SERVER} is not in {shown}: nothing to remove\n");
        return Ok(report);
    };
    check(opts, &updated).map_err(|d| unparsable(format!("the edit would not read back ({d}); please report this")))?;
    if updated == text {
        report.stdout = format!("{shown} already has this {SERVER} entry: nothing changed\n");
        return Ok(report);
    }
    let backup = if before.is_some() {
        let b = backup_path(&path);
        std::fs::copy(&path, &b).map_err(io(&b))?;
        format!(" (the file before is kept as {})", b.display())
    } else {
        " (a new file)".to_string()
    };
    write(&path, &updated, before.as_ref())?;
    report.stdout = if opts.uninstall {
        format!("removed {SERVER} from {client}'s {shown}{backup}\n")
    } else {
        format!(
            "added {SERVER} to {client}'s {shown}{backup}\n{}\nnext: restart {client}; `buildkite-mcp-server doctor` checks the token\n",
            token_line(opts, &shown)
        )
    };
    Ok(report)
}
