//! The `buildkite-mcp-server` binary: parse flags, then serve stdio, print tools, check the set-up,
//! run one tool, install into a client, write completions, or refresh the schema.

use anyhow::{Context, Result};
use buildkite_mcp_server::cli::{Cli, Command, Global, SchemaCommand};
use buildkite_mcp_server::{config, install, manual, schema, token_cmd};
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let level = match config::log_level(&cli.global.log_level) {
        Ok(level) => level,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    init_logging(level);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Log lines go to stderr (stdout is the protocol's); other crates' lines at warn at most.
fn init_logging(level: tracing::Level) {
    use tracing_subscriber::layer::SubscriberExt as _;
    let subscriber = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false)
        .with_max_level(level)
        .finish()
        .with(config::log_targets(level));
    let _ = tracing::subscriber::set_global_default(subscriber);
}

async fn run(mut cli: Cli) -> Result<ExitCode> {
    // What needs no token.
    match &cli.command {
        Some(Command::Completions { shell }) => {
            let mut out = Vec::new();
            manual::completions(*shell, &mut out);
            return print_out(&out);
        }
        Some(Command::Man { out_dir: Some(dir) }) => {
            let page =
                manual::man_to(dir).with_context(|| format!("cannot write the man pages into {}", dir.display()))?;
            eprintln!("wrote {} and a page per subcommand", page.display());
            return Ok(ExitCode::SUCCESS);
        }
        Some(Command::Man { out_dir: None }) => {
            let mut out = Vec::new();
            manual::man(&mut out)?;
            return print_out(&out);
        }
        Some(Command::Install { client, print, config, uninstall, command }) => {
            let opts = install::Options {
                client: *client,
                print: *print,
                config: config.clone(),
                uninstall: *uninstall,
                command: command.clone(),
                token_cmd: cli.global.token_cmd.clone().filter(|c| !c.trim().is_empty()),
                org: cli.global.org.clone(),
                demo: cli.global.demo,
            };
            return Ok(match install::run(&opts) {
                Ok(report) => {
                    eprint!("{}", report.stderr);
                    print_out(report.stdout.as_bytes())?
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            });
        }
        _ => {}
    }
    // --token-cmd runs once, here, before anything reads the token.
    let mut from_cmd = false;
    if let Some(cmd) = cli.global.token_cmd.clone().filter(|c| !c.trim().is_empty())
        && !cli.global.demo
    {
        let bound = std::time::Duration::from_secs(cli.global.token_cmd_timeout);
        match token_cmd::run(&cmd, bound).await {
            Ok(token) => {
                cli.global.token = Some(token);
                from_cmd = true;
            }
            Err(e) => {
                if matches!(cli.command, Some(Command::Doctor)) {
                    return serve::token_cmd_failed(&e);
                }
                eprintln!("error: {e}");
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    match cli.command {
        Some(Command::Doctor) => serve::doctor(&cli.global, from_cmd).await,
        Some(Command::Call { tool, args }) => serve::call(&cli.global, &tool, &args).await,
        Some(Command::Install { .. } | Command::Completions { .. } | Command::Man { .. }) => Ok(ExitCode::SUCCESS),
        Some(Command::Schema { action: SchemaCommand::Refresh { from, endpoint, graphql_dir, check } }) => {
            refresh(&cli.global, from, endpoint, graphql_dir, check).await
        }
        Some(Command::Tools) => serve::tools_table(&cli.global).await,
        Some(Command::Stdio) | None => serve::stdio(&cli.global).await,
    }
}

/// Writes `bytes` to stdout; a closed pipe (`… | head`) is the reader's choice, not an error.
fn print_out(bytes: &[u8]) -> Result<ExitCode> {
    use std::io::Write as _;
    match std::io::stdout().lock().write_all(bytes) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(ExitCode::SUCCESS),
    }
}

async fn refresh(
    global: &Global,
    from: Option<std::path::PathBuf>,
    endpoint: Option<String>,
    graphql_dir: std::path::PathBuf,
    check: bool,
) -> Result<ExitCode> {
    let source = match from {
        Some(path) => schema::Source::File(path),
        None => {
            let url = endpoint.unwrap_or_else(|| global.graphql_url.clone());
            config::parse_url("--endpoint", &url)?;
            let token =
                global.token.clone().context("introspection needs BUILDKITE_API_TOKEN (or pass --from FILE)")?;
            schema::Source::Endpoint { url, token }
        }
    };
    let out = graphql_dir.join("schema.graphql");
    let result = schema::refresh(&source, &graphql_dir, &out, check).await?;
    eprintln!("{}", result.report);
    if check && result.changed {
        eprintln!(
            "{} differs from a fresh `schema refresh`: run `buildkite-mcp-server schema refresh --from <full schema>` and commit it",
            out.display()
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(not(ops_stub))]
mod serve {
    use super::*;
    use buildkite_mcp_server::buildkite::Api;
    use buildkite_mcp_server::server::{Disabled, Server};
    use buildkite_mcp_server::tools::{Access, Ctx, LogSettings, OrgDefault, Toolset};
    use rmcp::ServiceExt;

    fn build(global: &Global) -> Result<Server> {
        let toolsets = Toolset::parse_list(&global.toolsets).map_err(config::ConfigError::Toolsets)?;
        let api = if global.demo {
            Api::demo()
        } else {
            let token = global.token.clone().filter(|t| !t.trim().is_empty()).ok_or(config::ConfigError::NoToken)?;
            let graphql = config::parse_url("BUILDKITE_GRAPHQL_URL", &global.graphql_url)?;
            let rest = config::rest_base(&global.api_url)?;
            Api::http(Some(token.trim().to_string()), graphql, rest, config::retry_policy(global))?
        };
        if global.no_memo {
            api.memo().disable();
        }
        let org =
            if global.demo { Some(global.org.clone().unwrap_or_else(|| "acme".into())) } else { global.org.clone() };
        let mib = 1024 * 1024;
        let logs = LogSettings::new(
            global.log_cache.clone(),
            global.log_cache_mb.saturating_mul(mib),
            global.max_log_mb.saturating_mul(mib),
        );
        let ctx = Ctx { api, access: Access::default(), org: OrgDefault::new(org), logs };
        // The demo organization lives in memory: its writes change only this process's copy.
        let confirmations = buildkite_mcp_server::tools::Confirmations::new(global.no_confirm);
        Ok(Server::with_confirmations(ctx, toolsets, global.read_only, confirmations))
    }

    pub async fn stdio(global: &Global) -> Result<ExitCode> {
        let server = build(global)?;
        let terminal = buildkite_mcp_server::terminal::stdin_is_terminal();
        if terminal {
            eprintln!("{}", buildkite_mcp_server::terminal::HINT);
        }
        server.warm_up();
        tracing::info!("serving MCP on stdio");
        let service = match server.serve(buildkite_mcp_server::stdio::stdio()).await {
            Ok(service) => service,
            // A person who read the hint and pressed Ctrl-D: nothing failed.
            Err(_) if terminal => return Ok(ExitCode::SUCCESS),
            Err(e) => return Err(e).context("MCP handshake on stdio failed"),
        };
        service.waiting().await.context("stdio server stopped")?;
        Ok(ExitCode::SUCCESS)
    }

    /// Prints a doctor report and exits with its code.
    pub fn report(report: buildkite_mcp_server::doctor::Report) -> Result<ExitCode> {
        print_out(report.render().as_bytes())?;
        Ok(ExitCode::from(report.code))
    }

    /// The doctor report for a `--token-cmd` that gave no token.
    pub fn token_cmd_failed(error: &token_cmd::TokenCmdError) -> Result<ExitCode> {
        report(buildkite_mcp_server::doctor::token_cmd_failed(error))
    }

    pub async fn doctor(global: &Global, from_cmd: bool) -> Result<ExitCode> {
        let server = match build(global) {
            Ok(server) => server,
            Err(e) if matches!(e.downcast_ref::<config::ConfigError>(), Some(config::ConfigError::NoToken)) => {
                return report(buildkite_mcp_server::doctor::no_token());
            }
            Err(e) => return Err(e),
        };
        report(buildkite_mcp_server::doctor::run(&server, from_cmd).await)
    }

    pub async fn call(global: &Global, tool: &str, words: &[String]) -> Result<ExitCode> {
        let arguments = buildkite_mcp_server::terminal::arguments(words).map_err(anyhow::Error::msg)?;
        let server = build(global)?;
        match server.call(tool, arguments).await {
            Ok(text) => print_out(format!("{text}\n").as_bytes()),
            Err(e) => {
                eprintln!("error: {e}");
                Ok(ExitCode::FAILURE)
            }
        }
    }

    pub async fn tools_table(global: &Global) -> Result<ExitCode> {
        let server = build(global)?;
        let enabled = server.enabled().await;
        let specs = buildkite_mcp_server::tools::catalogue();
        use std::fmt::Write as _;
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = match &enabled.scopes {
            Some(s) => {
                writeln!(out, "token scopes: {}", if s.is_empty() { "(none)".to_string() } else { s.join(", ") })
            }
            None => writeln!(out, "token scopes: unknown (could not read /v2/access-token; every tool is offered)"),
        };
        if server.graphql_refused().await {
            let _ = writeln!(out, "graphql access: no ({})", buildkite_mcp_server::server::no_graphql_sentence());
        }
        let w = specs.iter().map(|s| s.name.len()).max().unwrap_or(16);
        let sw = specs.iter().map(|s| s.scopes.join(",").len()).max().unwrap_or(22);
        let _ = writeln!(out, "{:<w$} {:<11} {:<9} {:<sw$} enabled", "tool", "toolset", "read-only", "scopes");
        for spec in specs {
            let status = match enabled.disabled.get(spec.name) {
                None => "yes".to_string(),
                Some(Disabled::Toolset) => "no: toolset not selected".to_string(),
                Some(Disabled::ReadOnly) => "no: --read-only".to_string(),
                Some(Disabled::Scopes(m)) => format!("no: token lacks {}", m.join(", ")),
                Some(Disabled::NoGraphql) => "no: token lacks GraphQL access".to_string(),
            };
            let _ = writeln!(
                out,
                "{:<w$} {:<11} {:<9} {:<sw$} {status}",
                spec.name,
                spec.toolset.name(),
                if spec.read_only() { "yes" } else { "no" },
                spec.scopes.join(",")
            );
        }
        // A closed pipe (`tools | head`) is the reader's choice, not an error.
        use std::io::Write as _;
        match std::io::stdout().lock().write_all(out.as_bytes()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(e.into()),
            _ => {}
        }
        Ok(ExitCode::SUCCESS)
    }
}

#[cfg(ops_stub)]
mod serve {
    use super::*;

    const STUB: &str = "this binary was built with BUILDKITE_MCP_SCHEMA_BOOTSTRAP set and only supports `schema refresh`; rebuild without it";

    pub async fn stdio(_global: &Global) -> Result<ExitCode> {
        anyhow::bail!(STUB)
    }

    pub async fn tools_table(_global: &Global) -> Result<ExitCode> {
        anyhow::bail!(STUB)
    }

    pub async fn doctor(_global: &Global, _from_cmd: bool) -> Result<ExitCode> {
        anyhow::bail!(STUB)
    }

    pub async fn call(_global: &Global, _tool: &str, _words: &[String]) -> Result<ExitCode> {
        anyhow::bail!(STUB)
    }

    pub fn token_cmd_failed(_error: &token_cmd::TokenCmdError) -> Result<ExitCode> {
        anyhow::bail!(STUB)
    }
}
