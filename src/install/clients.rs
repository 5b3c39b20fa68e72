//! The clients `install` knows: where each keeps its configuration, in which format, and how it
//! gets the token without the token being written (see the sources listed in [`super`]).

use super::{InstallError, Options, PLACEHOLDER, TOKEN_VAR};
use std::path::PathBuf;

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
pub(super) enum Secret {
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
pub(super) enum Format {
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

    pub(super) fn secret(self) -> Secret {
        match self {
            ClientName::ClaudeCode | ClientName::GeminiCli => Secret::EnvRef("${NAME}"),
            ClientName::Cursor | ClientName::Windsurf => Secret::EnvRef("${env:NAME}"),
            ClientName::Vscode => Secret::VscodeInput,
            ClientName::Codex | ClientName::Goose => Secret::Forward,
            ClientName::ClaudeDesktop | ClientName::Zed => Secret::Nothing,
        }
    }

    pub(super) fn format(self) -> Format {
        match self {
            ClientName::Vscode => Format::Json(&["servers"]),
            ClientName::Zed => Format::Json(&["context_servers"]),
            ClientName::Codex => Format::Toml,
            ClientName::Goose => Format::Yaml,
            _ => Format::Json(&["mcpServers"]),
        }
    }
}

/// The one line saying where the token comes from (and how to fill a placeholder).
pub(super) fn token_line(opts: &Options, file: &str) -> String {
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
