//! Shell completions and the man page, both made from the clap definitions in [`crate::cli`], so
//! a packager (the Homebrew formula) writes them with the binary it just built:
//! `buildkite-mcp-server completions zsh > _buildkite-mcp-server`, `buildkite-mcp-server man --out-dir man1`.

use clap::CommandFactory;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The shells completions are written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Shell {
    /// Bash.
    Bash,
    /// Zsh.
    Zsh,
    /// Fish.
    Fish,
    /// PowerShell.
    Powershell,
}

/// The binary's name, as completions and the man page call it.
const BIN: &str = "buildkite-mcp-server";

/// Writes the completion script for `shell` to `out`.
pub fn completions(shell: Shell, out: &mut dyn Write) {
    use clap_complete::Shell as S;
    let generator = match shell {
        Shell::Bash => S::Bash,
        Shell::Zsh => S::Zsh,
        Shell::Fish => S::Fish,
        Shell::Powershell => S::PowerShell,
    };
    clap_complete::generate(generator, &mut crate::cli::Cli::command(), BIN, out);
}

/// Writes the man page `buildkite-mcp-server(1)` to `out`.
pub fn man(out: &mut dyn Write) -> std::io::Result<()> {
    clap_mangen::Man::new(crate::cli::Cli::command()).render(out)
}

/// Writes `buildkite-mcp-server.1` and a page per subcommand (`buildkite-mcp-server-doctor.1`, …)
/// into `dir` (created if missing); returns the main page's path.
pub fn man_to(dir: &Path) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    clap_mangen::generate_to(crate::cli::Cli::command(), dir)?;
    Ok(dir.join(format!("{BIN}.1")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shell_gets_a_script_naming_the_subcommands() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::Powershell] {
            let mut out = Vec::new();
            completions(shell, &mut out);
            let text = String::from_utf8(out).unwrap();
            for word in ["doctor", "install", "completions", "--token-cmd"] {
                assert!(text.contains(word), "{shell:?} lacks {word}");
            }
        }
    }

    #[test]
    fn the_man_page_documents_flags_and_their_environment() {
        let mut out = Vec::new();
        man(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with(".ie") || text.contains(".TH"), "{}", &text[..80.min(text.len())]);
        assert!(text.contains("buildkite\\-mcp\\-server") && text.contains("token\\-cmd"));
        assert!(text.contains("BUILDKITE_API_TOKEN_CMD"), "the man page names each flag's variable");
    }
}
