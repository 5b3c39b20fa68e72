//! Identifier parsing: whatever a person pastes never panics.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| buildkite_mcp_server::fuzzing::ids(data));
