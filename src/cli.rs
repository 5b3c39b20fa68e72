//! The command line: flags (each with its environment variable) and subcommands.

use clap::builder::BoolishValueParser;
use clap::{ArgAction, Args, Parser, Subcommand};
use std::path::PathBuf;

/// The default GraphQL endpoint.
pub const DEFAULT_GRAPHQL_URL: &str = "https://graphql.buildkite.com/v1";
/// The default REST base.
pub const DEFAULT_API_URL: &str = "https://api.buildkite.com/";

/// `--version`: the package version and the commit it was built from.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("BUILDKITE_MCP_COMMIT"), ")");

/// A Model Context Protocol server for Buildkite: pipelines, builds, jobs and more, in few tokens.
#[derive(Parser)]
#[command(name = "buildkite-mcp-server", version = VERSION, about, long_about = None)]
pub struct Cli {
    /// Settings shared by every subcommand.
    #[command(flatten)]
    pub global: Global,
    /// What to run (default: stdio).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Settings shared by every subcommand. (No `Debug`: it holds the token.)
#[derive(Args)]
pub struct Global {
    /// Buildkite API access token (needs "Enable GraphQL API access").
    #[arg(long, env = "BUILDKITE_API_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
    /// A shell command printing the token (e.g. `op read op://…`), run once at start; used instead of --token.
    #[arg(long, env = "BUILDKITE_API_TOKEN_CMD", hide_env_values = true, global = true)]
    pub token_cmd: Option<String>,
    /// Seconds --token-cmd may take before it is stopped, 1-600.
    #[arg(long, env = "BUILDKITE_API_TOKEN_CMD_TIMEOUT", default_value_t = 30, global = true,
          value_parser = clap::value_parser!(u64).range(1..=600))]
    pub token_cmd_timeout: u64,
    /// Default organization slug (else the only one the token sees).
    #[arg(long = "org", env = "BUILDKITE_ORGANIZATION", global = true)]
    pub org: Option<String>,
    /// GraphQL endpoint.
    #[arg(long, env = "BUILDKITE_GRAPHQL_URL", default_value = DEFAULT_GRAPHQL_URL, global = true)]
    pub graphql_url: String,
    /// REST API base URL.
    #[arg(long, env = "BUILDKITE_API_URL", default_value = DEFAULT_API_URL, global = true)]
    pub api_url: String,
    /// Toolsets to enable, comma separated: all, user, pipelines, builds, jobs, logs, annotations, artifacts, agents, clusters, tests.
    #[arg(long, env = "BUILDKITE_TOOLSETS", default_value = "all", global = true)]
    pub toolsets: String,
    /// Offer only tools that read.
    #[arg(long, env = "BUILDKITE_READ_ONLY", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new(), global = true)]
    pub read_only: bool,
    /// Send writes without asking a person first (for automation; dry runs still work).
    #[arg(long, env = "BUILDKITE_NO_CONFIRM", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new(), global = true)]
    pub no_confirm: bool,
    /// Serve the embedded demo organization instead of Buildkite (no token needed).
    #[arg(long, env = "BUILDKITE_DEMO", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new(), global = true)]
    pub demo: bool,
    /// Per-request timeout in seconds, 1-600.
    #[arg(long, env = "BUILDKITE_TIMEOUT", default_value_t = 30, global = true,
          value_parser = clap::value_parser!(u64).range(1..=600))]
    pub timeout: u64,
    /// Retries on 429, 5xx and time-outs, 0-10.
    #[arg(long, env = "BUILDKITE_MAX_RETRIES", default_value_t = 3, global = true,
          value_parser = clap::value_parser!(u32).range(0..=10))]
    pub max_retries: u32,
    /// Directory caching finished jobs' logs (default: the user's cache directory).
    #[arg(long, env = "BUILDKITE_MCP_LOG_CACHE", global = true)]
    pub log_cache: Option<PathBuf>,
    /// Largest total size of the log cache, in MiB (least recently used logs are evicted).
    #[arg(long, env = "BUILDKITE_MCP_LOG_CACHE_MB", default_value_t = 2048, global = true,
          value_parser = clap::value_parser!(u64).range(0..=1_048_576))]
    pub log_cache_mb: u64,
    /// Largest log downloaded whole for search and read, in MiB (tails have no limit).
    #[arg(long, env = "BUILDKITE_MCP_MAX_LOG_MB", default_value_t = 1024, global = true,
          value_parser = clap::value_parser!(u64).range(1..=65_536))]
    pub max_log_mb: u64,
    /// Fetch everything from Buildkite on every call (by default a finished build or job read in
    /// the last minute is served from memory).
    #[arg(long, env = "BUILDKITE_MCP_NO_MEMO", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new(), global = true)]
    pub no_memo: bool,
    /// Log level on stderr: error, warn, info, debug, trace.
    #[arg(long, env = "RUST_LOG", default_value = "warn", global = true)]
    pub log_level: String,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve MCP over stdin/stdout (the default).
    Stdio,
    /// Print the tools, their toolsets and scopes, and whether this token enables them.
    Tools,
    /// Check the token, its scopes, the organization, rate limits and the log cache: one line each.
    Doctor,
    /// Run one tool from the shell and print its output: `call get_build build=acme/web/1342`.
    Call {
        /// The tool (`tools` lists them).
        tool: String,
        /// Arguments as key=value; values are read as JSON where they parse, else as text.
        #[arg(value_name = "KEY=VALUE")]
        args: Vec<String>,
    },
    /// Add this server to an MCP client's configuration (or remove it with --uninstall).
    Install {
        /// The client.
        #[arg(long, value_enum)]
        client: crate::install::ClientName,
        /// Print what would be written instead of writing it.
        #[arg(long)]
        print: bool,
        /// The client's configuration file (default: its usual place).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Remove this server from the client's configuration.
        #[arg(long)]
        uninstall: bool,
        /// The command the client runs (default: this binary's path).
        #[arg(long)]
        command: Option<String>,
    },
    /// Print a shell completion script: bash, zsh, fish or powershell.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: crate::manual::Shell,
    },
    /// Print the man page buildkite-mcp-server(1), or write it into a directory.
    Man {
        /// Write buildkite-mcp-server.1 here instead of printing it.
        #[arg(long)]
        out_dir: Option<PathBuf>,
    },
    /// Maintain graphql/schema.graphql.
    Schema {
        /// The schema action.
        #[command(subcommand)]
        action: SchemaCommand,
    },
}

/// `schema` subcommands.
#[derive(Debug, Subcommand)]
pub enum SchemaCommand {
    /// Prune the full schema to what graphql/**/*.graphql use and write graphql/schema.graphql.
    Refresh {
        /// Read the full schema from this SDL or introspection-JSON file.
        #[arg(long, conflicts_with = "endpoint")]
        from: Option<PathBuf>,
        /// Introspect this GraphQL endpoint (default: --graphql-url) with the token.
        #[arg(long)]
        endpoint: Option<String>,
        /// The directory holding queries/, mutations/ and schema.graphql.
        #[arg(long, default_value = "graphql")]
        graphql_dir: PathBuf,
        /// Compare only: exit 1 if the committed schema differs.
        #[arg(long)]
        check: bool,
    },
}
