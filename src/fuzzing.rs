//! The functions the `cargo fuzz` targets (tests/fuzz) run, kept here so `cargo test` replays the
//! same code on the committed corpora. Each checks invariants and panics only on a broken one.

#![allow(clippy::panic)] // a broken invariant is what a fuzzer must see

use crate::buildkite::ids;
use crate::logs::clean::{MAX_LINE_CHARS, clean_line, clean_lines, numbered_lines};
use crate::stdio::gate::{Gate, Verdict};
use crate::stdio::lines::{Frame, LineReader};

/// Identifier parsing: every parser on any text, with and without defaults.
pub fn ids(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (a, b) = text.split_once('\u{0}').unwrap_or((&text, ""));
    let _ = ids::parse_pipeline(a, None);
    let _ = ids::parse_pipeline(a, Some("acme"));
    for pipeline in [None, Some(b), Some("acme/web")] {
        let _ = ids::parse_build(a, pipeline, Some("acme"));
        let _ = ids::parse_build(a, pipeline, None);
    }
    if let Some(job) = ids::parse_job(a)
        && !ids::is_uuid(&job)
    {
        panic!("parse_job gave a non-UUID {job:?}");
    }
    let _ = ids::is_slug(a);
}

/// The log cleaner: lines never hold a newline or an escape and stay within the length cap.
pub fn clean(data: &[u8]) {
    // `clean_line` takes one line without its `\n`.
    let one = clean_line(data.split(|b| *b == b'\n').next().unwrap_or_default());
    for line in std::iter::once(&one).chain(numbered_lines(data, false).iter()).chain(clean_lines(data, true).iter()) {
        if line.contains('\n') || line.contains('\u{1b}') {
            panic!("a cleaned line holds a newline or an escape: {line:?}");
        }
        if line.chars().count() > MAX_LINE_CHARS + 1 {
            panic!("a cleaned line is {} characters", line.chars().count());
        }
    }
    let numbered = numbered_lines(data, false).len();
    let newlines = data.iter().filter(|b| **b == b'\n').count();
    let raw_lines = newlines + usize::from(data.last().is_some_and(|b| *b != b'\n'));
    if numbered != raw_lines {
        panic!("{numbered} numbered lines for {raw_lines} raw lines");
    }
}

/// The JSON-RPC line reader and gate: input split at arbitrary points frames the same way, and
/// every request-shaped line is passed on or answered.
pub fn jsonrpc_lines(data: &[u8]) {
    let Some((&split, data)) = data.split_first() else { return };
    let max = 64 + usize::from(split) * 4;
    let frames = |cut: usize| {
        let mut reader = LineReader::new(max);
        let mut out = Vec::new();
        let cut = cut.min(data.len());
        reader.push(&data[..cut], &mut out);
        reader.push(&data[cut..], &mut out);
        reader.finish(&mut out);
        out
    };
    let whole = frames(data.len());
    if frames(usize::from(split)) != whole {
        panic!("framing depends on where the input was split");
    }
    let mut gate = Gate::new();
    for frame in whole {
        if let Frame::Line(line) = &frame
            && line.len() > max
        {
            panic!("a line of {} bytes passed a {max}-byte limit", line.len());
        }
        let request = match &frame {
            Frame::Line(line) => serde_json::from_slice::<serde_json::Value>(line)
                .ok()
                .is_some_and(|v| v.get("method").is_some() && v.get("id").is_some()),
            Frame::Oversize { .. } => true,
        };
        match gate.admit(frame) {
            Verdict::Reply(v) => {
                if v["error"]["code"].as_i64().is_none() || v.get("id").is_none() {
                    panic!("a reply without code or id: {v}");
                }
            }
            Verdict::Pass(_) => {}
            Verdict::Ignore if request => panic!("a request was neither passed on nor answered"),
            Verdict::Ignore => {}
        }
    }
}
