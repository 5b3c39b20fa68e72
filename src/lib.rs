//! buildkite-mcp-server: a Model Context Protocol server for Buildkite built on typed GraphQL
//! operations generated at build time, answering in compact, budgeted JSON.

#![warn(missing_docs)]

pub mod buildkite;
pub mod cli;
pub mod completions;
pub mod config;
pub mod cron;
pub mod demo;
#[cfg(not(ops_stub))]
pub mod doctor;
pub mod fuzzing;
pub mod html;
pub mod install;
pub mod logs;
pub mod manual;
pub mod prompts;
pub mod redact;
pub mod render;
pub mod resources;
pub mod schema;
#[cfg(not(ops_stub))]
pub mod server;
pub mod stdio;
pub mod steps;
pub mod terminal;
pub mod token_cmd;
#[cfg(not(ops_stub))]
pub mod tools;
pub mod untrusted;

/// The `User-Agent` of every request: our name and version.
pub const USER_AGENT: &str = concat!(
    "buildkite-mcp-server/",
    env!("CARGO_PKG_VERSION"),
    " (+https://github.com/buildkite/buildkite-mcp-server)"
);
