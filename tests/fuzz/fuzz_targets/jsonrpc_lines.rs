//! The JSON-RPC line reader and gate: any input gets framed and judged without panicking.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| buildkite_mcp_server::fuzzing::jsonrpc_lines(data));
