//! `--token-cmd` (`BUILDKITE_API_TOKEN_CMD`): the token read from a command's standard output
//! (`op read op://…`, `security find-generic-password -w …`) once at start, so no configuration
//! file holds it. The command runs through the shell, within a time bound; its output is never
//! logged, and a failure is one sentence.

use std::time::Duration;
use tokio::io::AsyncReadExt;

/// Why the token command gave no token. Never holds the command's standard output.
#[derive(Debug, thiserror::Error)]
pub enum TokenCmdError {
    /// The shell could not be started.
    #[error("--token-cmd (BUILDKITE_API_TOKEN_CMD) could not be started: {0}")]
    Spawn(String),
    /// It ran past the bound and was stopped.
    #[error(
        "--token-cmd (BUILDKITE_API_TOKEN_CMD) did not finish within {0} s and was stopped: check it runs without a prompt (e.g. sign in to the password manager first), or raise --token-cmd-timeout"
    )]
    Timeout(u64),
    /// It exited with a failure status.
    #[error("--token-cmd (BUILDKITE_API_TOKEN_CMD) failed ({status}){detail}")]
    Failed {
        /// The exit status, as words.
        status: String,
        /// `: ` and the last line it wrote to stderr (redacted, capped), or nothing.
        detail: String,
    },
    /// It succeeded but printed nothing.
    #[error("--token-cmd (BUILDKITE_API_TOKEN_CMD) printed no token on standard output")]
    Empty,
}

/// The most characters of the command's stderr line quoted in an error.
const STDERR_SHOWN: usize = 200;

/// Runs `command` through the shell (`sh -c`, or `cmd /C` on Windows) and returns its standard
/// output, trimmed, as the token. Stopped (with its process group) after `timeout`.
pub async fn run(command: &str, timeout: Duration) -> Result<String, TokenCmdError> {
    let mut cmd = shell(command);
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    #[cfg(unix)]
    cmd.process_group(0);
    let mut child = cmd.spawn().map_err(|e| TokenCmdError::Spawn(e.to_string()))?;
    let pid = child.id();
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let work = async {
        let mut out = Vec::new();
        let mut err = Vec::new();
        let read_out = async {
            if let Some(s) = stdout.as_mut() {
                let _ = s.read_to_end(&mut out).await;
            }
        };
        let read_err = async {
            if let Some(s) = stderr.as_mut() {
                let _ = s.read_to_end(&mut err).await;
            }
        };
        tokio::join!(read_out, read_err);
        let status = child.wait().await;
        (status, out, err)
    };
    let (status, out, err) = match tokio::time::timeout(timeout, work).await {
        Ok(done) => done,
        Err(_) => {
            stop_group(pid);
            return Err(TokenCmdError::Timeout(timeout.as_secs().max(1)));
        }
    };
    let status = status.map_err(|e| TokenCmdError::Spawn(e.to_string()))?;
    if !status.success() {
        let last = String::from_utf8_lossy(&err).lines().map(str::trim).rfind(|l| !l.is_empty()).map(str::to_string);
        let detail = match last {
            Some(line) => format!(": {}", crate::redact::shown(&line, STDERR_SHOWN)),
            None => String::new(),
        };
        let status = match status.code() {
            Some(code) => format!("exit status {code}"),
            None => "stopped by a signal".to_string(),
        };
        return Err(TokenCmdError::Failed { status, detail });
    }
    let token = String::from_utf8_lossy(&out).trim().to_string();
    if token.is_empty() {
        return Err(TokenCmdError::Empty);
    }
    Ok(token)
}

fn shell(command: &str) -> tokio::process::Command {
    #[cfg(windows)]
    {
        let mut cmd = tokio::process::Command::new("cmd");
        cmd.arg("/C").arg(command);
        cmd
    }
    #[cfg(not(windows))]
    {
        let mut cmd = tokio::process::Command::new("sh");
        cmd.arg("-c").arg(command);
        cmd
    }
}

/// Stops the command's whole process group (a shell's children too, which would otherwise keep
/// running after the shell is killed).
fn stop_group(pid: Option<u32>) {
    #[cfg(unix)]
    if let Some(pid) = pid {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
    #[cfg(not(unix))]
    let _ = pid;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_command_that_prints_a_token_gives_it_trimmed() {
        let token = run("printf '  bkua_from_cmd\\n'", Duration::from_secs(5)).await.unwrap();
        assert_eq!(token, "bkua_from_cmd");
    }

    #[tokio::test]
    async fn failures_are_one_sentence_without_stdout() {
        let e = run("echo bkua_secret_out; echo 'not signed in' >&2; exit 3", Duration::from_secs(5))
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("exit status 3") && e.contains("not signed in"), "{e}");
        assert!(!e.contains("bkua_secret_out") && !e.contains('\n'), "{e}");
        let e = run("true", Duration::from_secs(5)).await.unwrap_err();
        assert!(matches!(e, TokenCmdError::Empty));
    }

    #[tokio::test]
    async fn a_hanging_command_is_stopped_at_the_bound() {
        let started = std::time::Instant::now();
        let e = run("sleep 30; echo late", Duration::from_secs(1)).await.unwrap_err();
        assert!(matches!(e, TokenCmdError::Timeout(1)), "{e}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
