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
mod claude;
pub mod clients;
mod entry;
pub mod jsonc;
pub mod yaml;

pub use clients::{ClientName, default_path};

use clients::token_line;
use entry::{check, edit, fragment};
use std::path::{Path, PathBuf};

/// The name the server is registered under in every client.
pub const SERVER: &str = "buildkite";
/// The variable holding the token.
pub(crate) const TOKEN_VAR: &str = "BUILDKITE_API_TOKEN";
/// What a client without a secret mechanism gets instead of a token.
pub const PLACEHOLDER: &str = "<your Buildkite API token>";
/// The id of VS Code's password input.
pub(crate) const VSCODE_INPUT: &str = "buildkite-api-token";

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

/// Runs `install` as asked.
pub fn run(opts: &Options) -> Result<Report, InstallError> {
    let e = entry::entry(opts);
    if opts.client == ClientName::ClaudeCode && opts.config.is_none() {
        return claude::claude_code(opts, &e);
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
