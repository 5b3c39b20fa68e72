//! The `cargo fuzz` corpora (tests/fuzz/corpus/<target>/*) replayed through the same functions
//! the fuzz targets run, so every input a fuzzer kept stays a regression test in `cargo test`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test harness code

use buildkite_mcp_server::fuzzing;
use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/corpus").join(target);
    let mut inputs = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_file() {
            let data = std::fs::read(&path).unwrap();
            let outcome = std::panic::catch_unwind(|| run(&data));
            assert!(outcome.is_ok(), "{target}: {} fails", path.display());
            inputs += 1;
        }
    }
    assert!(inputs > 0, "{target}: an empty corpus replays nothing");
}

#[test]
fn identifier_parsing_corpus_replays() {
    replay("ids", fuzzing::ids);
}

#[test]
fn log_cleaner_corpus_replays() {
    replay("clean", fuzzing::clean);
}

#[test]
fn jsonrpc_line_reader_corpus_replays() {
    replay("jsonrpc_lines", fuzzing::jsonrpc_lines);
}
