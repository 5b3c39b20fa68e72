//! The install routes agree with the package: one version (Cargo.toml's) in `server.json`, its OCI
//! image tag and the Claude Desktop bundle's manifest; one name (the MCP registry's) in `server.json`
//! and the image's label; one home (Cargo.toml's `repository`) everywhere; and `--version` names the
//! version and the commit. The scripts that build these (scripts/image.sh, scripts/release-check.sh)
//! check what needs podman, Ruby, Node or cargo-dist.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test harness code

use serde_json::Value;
use std::process::Command;

const VERSION: &str = env!("CARGO_PKG_VERSION");
const REPOSITORY: &str = env!("CARGO_PKG_REPOSITORY");

fn read(path: &str) -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/").to_string() + path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn json(path: &str) -> Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn server_json_carries_the_package_version_name_and_home() {
    let server = json("server.json");
    assert_eq!(server["version"], VERSION);
    assert_eq!(server["repository"]["url"], REPOSITORY);
    let name = server["name"].as_str().unwrap();
    let owner = REPOSITORY.trim_start_matches("https://github.com/").split('/').next().unwrap();
    assert!(name.starts_with(&format!("io.github.{owner}/")), "{name} is not in the repository owner's namespace");
    let oci = server["packages"].as_array().unwrap().iter().find(|p| p["registryType"] == "oci").unwrap();
    let identifier = oci["identifier"].as_str().unwrap();
    assert!(identifier.ends_with(&format!(":{VERSION}")), "{identifier} is not tagged {VERSION}");
    let label = read("Dockerfile")
        .lines()
        .find_map(|l| {
            l.split("io.modelcontextprotocol.server.name=\"").nth(1).map(|r| r.split('"').next().unwrap().to_string())
        })
        .expect("the Dockerfile labels the image with its MCP registry name");
    assert_eq!(label, name, "the image's label must match server.json's name for the registry to verify it");
}

#[test]
fn the_bundle_manifest_and_the_formula_carry_the_same_version_and_home() {
    let manifest = json("packaging/mcpb/manifest.json");
    assert_eq!(manifest["version"], VERSION);
    assert_eq!(manifest["repository"]["url"], REPOSITORY);
    assert_eq!(manifest["server"]["mcp_config"]["env"]["BUILDKITE_API_TOKEN"], "${user_config.api_token}");
    assert_eq!(manifest["user_config"]["api_token"]["sensitive"], true, "the token is kept as a secret");
    let formula = read("Formula/buildkite-mcp-server.rb");
    assert!(formula.contains(&format!("homepage \"{REPOSITORY}\"")), "the formula's homepage");
    assert!(formula.contains(&format!("head \"{REPOSITORY}.git\"")), "the formula's head");
}

#[test]
fn version_names_the_package_version_and_the_commit() {
    let out = Command::new(env!("CARGO_BIN_EXE_buildkite-mcp-server")).arg("--version").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let rest = text
        .trim()
        .strip_prefix(&format!("buildkite-mcp-server {VERSION} (commit "))
        .unwrap_or_else(|| panic!("{text}"));
    let commit = rest.strip_suffix(')').unwrap();
    assert!(commit == "unknown" || (commit.len() == 12 && commit.bytes().all(|b| b.is_ascii_hexdigit())), "{text}");
}
