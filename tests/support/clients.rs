//! Third-party MCP clients (the MCP Inspector CLI on Node 22, the Python SDK) and moto's S3 server,
//! installed once into `target/test-clients/` by `scripts/test-clients.sh` (idempotent, locked, so
//! `cargo test` alone sets them up on a fresh machine; `.ci/run` runs it first to show progress).

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// Where the installed clients live.
pub struct Clients {
    /// `target/test-clients/node/node_modules/.bin` (node, mcp-inspector, conformance).
    pub node_bin: PathBuf,
    /// The venv's python, with `mcp` and `moto` importable.
    pub python: PathBuf,
}

impl Clients {
    /// A `PATH` with Node 22's bin directory first.
    pub fn path_env(&self) -> String {
        let rest = std::env::var("PATH").unwrap_or_default();
        format!("{}:{rest}", self.node_bin.display())
    }

    /// A command running an executable from Node's bin directory (`mcp-inspector`, `conformance`).
    pub fn node_tool(&self, name: &str) -> Command {
        let mut cmd = Command::new(self.node_bin.join(name));
        cmd.env("PATH", self.path_env());
        cmd
    }
}

/// Installs the clients on first use (once per test binary) and returns where they are.
pub fn clients() -> &'static Clients {
    static ONCE: OnceLock<Clients> = OnceLock::new();
    ONCE.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let status = Command::new("bash")
            .arg(root.join("scripts/test-clients.sh"))
            .status()
            .unwrap_or_else(|e| panic!("scripts/test-clients.sh: {e}"));
        assert!(status.success(), "scripts/test-clients.sh failed ({status}): see its lines above");
        let dir = root.join("target/test-clients");
        Clients { node_bin: dir.join("node/node_modules/.bin"), python: dir.join("venv/bin/python") }
    })
}
