//! Claude Code without `--config`: `claude mcp add-json --scope user` (and `claude mcp remove`),
//! or the command printed when `claude` is not on PATH.

use super::clients::token_line;
use super::entry::{Entry, json_entry};
use super::{InstallError, Options, Report, SERVER};
use std::path::PathBuf;

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
pub(super) fn claude_code(opts: &Options, e: &Entry) -> Result<Report, InstallError> {
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
