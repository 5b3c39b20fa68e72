//! The log cleaner: any bytes, split anywhere, clean without panicking.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| buildkite_mcp_server::fuzzing::clean(data));
