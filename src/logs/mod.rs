//! Job logs as a model should read them: cleaned lines (no ANSI, no `bk;t=` timestamp markers, only
//! the last frame of carriage-return progress bars, long lines cut), and a digest of the lines that
//! explain a failure.

pub mod search;
pub mod store;

use crate::render::clean_text;

/// Longest log line kept, in characters.
pub const MAX_LINE_CHARS: usize = 400;

/// Cleans raw log bytes into lines. `starts_mid_line` drops the first, partial line of a tail.
pub fn clean_lines(raw: &[u8], starts_mid_line: bool) -> Vec<String> {
    let text = String::from_utf8_lossy(raw);
    let mut lines = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        if i == 0 && starts_mid_line {
            continue;
        }
        // A progress bar redraws itself after `\r`: keep the last frame that says something.
        let frame = line
            .rsplit('\r')
            .map(|f| clean_text(&strip_bare_markers(f), MAX_LINE_CHARS))
            .find(|f| !f.trim().is_empty());
        let Some(frame) = frame else { continue };
        let frame = frame.trim_end().to_string();
        if frame == "^^^ +++" {
            continue; // an agent directive, not output
        }
        lines.push(frame);
    }
    lines
}

/// Removes timestamp markers `bk;t=1795169802123\x07`, with or without their `ESC _` prefix.
fn strip_bare_markers(line: &str) -> std::borrow::Cow<'_, str> {
    if !line.contains("bk;t=") {
        return std::borrow::Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find("bk;t=") {
        let after = &rest[at + 5..];
        let digits = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits > 0 && after[digits..].starts_with('\u{7}') {
            // Drop the marker with its `ESC _` prefix when it has one.
            let keep = if rest[..at].ends_with("\u{1b}_") { at - 2 } else { at };
            out.push_str(&rest[..keep]);
            rest = &after[digits + 1..];
        } else {
            out.push_str(&rest[..at + 5]);
            rest = after;
        }
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// Phrases that mark a line as evidence of a failure, in lower case.
const HINTS: [&str; 34] = [
    "failure/error", // rspec
    "error:",
    "error[", // rustc
    "exception:",
    "✖",
    "✗",
    "✘",
    "●", // jest
    "panicked at",
    "traceback",
    "undefined method",
    "expected:",
    "received:",
    "got:",
    "assertionerror",
    "fatal:",
    "failed examples",
    "examples, ", // rspec summary
    "tests:",     // jest summary
    "failed,",    // pytest summary
    "not ok",
    "exited with status",
    "segmentation fault",
    "killed",
    "interrupting",
    "timed out",
    "npm err!",
    "cannot find",
    "could not",
    "fail:",
    "error ts",                 // tsc: `src/app.ts(12,5): error TS2322`
    "returned a non-zero code", // docker build
    " failed in ",              // pytest: `==== 1 failed in 0.12s ====`
    "--- fail:",                // go test
];

/// A regex (case-insensitive use) that finds every line [`is_error_line`] might accept, so a
/// whole log can be scanned fast and only the candidates checked line by line.
pub fn error_candidates_pattern() -> String {
    let mut parts: Vec<String> = HINTS.iter().map(|h| regex::escape(h)).collect();
    parts.push("^FAIL".into());
    parts.push("^E   ".into());
    // eslint rows: `  14:7  error  …`
    parts.push(r"^\s*\d+:\d+\s+error".into());
    parts.join("|")
}

/// Counts of nothing, which are not failures.
const ZERO_COUNTS: [&str; 4] = ["0 errors", "0 failures", "0 failed", "0 problems"];

/// Whether `phrase` (a zero count) occurs in `lower` as a count, not as the end of `10 failures`.
fn has_zero_count(lower: &str, phrase: &str) -> bool {
    lower.match_indices(phrase).any(|(at, _)| !lower[..at].ends_with(|c: char| c.is_ascii_digit()))
}

/// Whether a line reads like evidence of a failure (and not like a count of zero failures).
pub fn is_error_line(line: &str) -> bool {
    let lower = line.to_lowercase();
    if ZERO_COUNTS.iter().any(|z| has_zero_count(&lower, z)) {
        return false;
    }
    if HINTS.iter().any(|h| lower.contains(h)) {
        return true;
    }
    // go test `FAIL\tpkg 0.01s`, pytest `FAILED tests/x.py::t` and its `E       assert 3 == 4` lines.
    if line.starts_with("FAIL") || (line.starts_with("E ") && line[1..].starts_with("   ")) {
        return true;
    }
    // eslint / stylelint rows: `  14:7  error  'x' is defined but never used  no-unused-vars`
    let mut tokens = lower.split_whitespace();
    matches!(
        (tokens.next(), tokens.next()),
        (Some(pos), Some("error")) if pos.contains(':') && pos.starts_with(|c: char| c.is_ascii_digit())
    )
}

/// Whether a line is a Buildkite section header (`--- :rspec: Tests`), and not go test's
/// `--- FAIL: TestX` / `--- PASS:` result lines, which share the prefix.
fn section_name(line: &str) -> Option<&str> {
    let name = ["+++ ", "--- ", "~~~ "].iter().find_map(|p| line.strip_prefix(p))?;
    let go_result = ["FAIL:", "PASS:", "SKIP:"].iter().any(|r| name.starts_with(r));
    (!go_result).then(|| name.trim())
}

/// Whether a line starts a log section or a command, where context around an error stops.
fn is_boundary(line: &str) -> bool {
    section_name(line).is_some() || line.starts_with("$ ")
}

/// The lines that explain a failure: every error-looking line with one line before and two after
/// (not across a section or command boundary), at most `max` lines. When there are more, the ones
/// nearest the end win (that is where runners summarise failures), after a marker.
pub fn error_lines(lines: &[String], max: usize) -> Vec<String> {
    let mut keep = vec![false; lines.len()];
    for (i, line) in lines.iter().enumerate() {
        if !is_error_line(line) {
            continue;
        }
        keep[i] = true;
        if i > 0 && !is_boundary(line) && !is_boundary(&lines[i - 1]) {
            keep[i - 1] = true;
        }
        for k in i + 1..(i + 3).min(lines.len()) {
            if is_boundary(&lines[k]) {
                break;
            }
            keep[k] = true;
        }
    }
    let picked: Vec<&String> = lines.iter().zip(&keep).filter(|(_, k)| **k).map(|(l, _)| l).collect();
    if picked.is_empty() {
        // Nothing looks like an error: the end of the log is the best evidence.
        return lines[lines.len().saturating_sub(max.min(10))..].to_vec();
    }
    if picked.len() <= max {
        return picked.into_iter().cloned().collect();
    }
    let mut out = vec![format!("… {} earlier error lines …", picked.len() - max)];
    out.extend(picked[picked.len() - max..].iter().map(|l| (*l).clone()));
    out
}

/// The name of the log section (`+++ :rspec: Running specs`) holding the kept error line nearest
/// the end's first line, i.e. where the reported failure happened.
pub fn failing_section(lines: &[String], errors: &[String]) -> Option<String> {
    let first = errors.iter().find(|e| !e.starts_with("… "))?;
    let at = lines.iter().rposition(|l| l == first)?;
    lines[..at].iter().rev().find_map(|l| section_name(l).map(str::to_string))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleaning_strips_markers_ansi_and_progress_frames() {
        let raw = b"partial line\n\x1b_bk;t=1795169802123\x07\x1b[32mok\x1b[0m\nFetching 10%\rFetching 50%\rFetching 100%\n\n^^^ +++\nlast";
        assert_eq!(clean_lines(raw, true), ["ok", "Fetching 100%", "last"]);
        assert_eq!(clean_lines(b"first\nsecond", false), ["first", "second"]);
        let long = "x".repeat(1000);
        assert!(clean_lines(long.as_bytes(), false)[0].chars().count() <= MAX_LINE_CHARS + 1);
    }

    #[test]
    fn error_lines_keep_context_and_skip_zero_counts() {
        let lines: Vec<String> = [
            "+++ :rspec: Running specs",
            "....",
            "  1) User returns items",
            "     Failure/Error: expect(x).to eq(y)",
            "       expected: [1]",
            "            got: [2]",
            "Finished in 8 minutes",
            "412 examples, 1 failure",
            "0 errors in other suites",
            "🚨 Error: The command exited with status 1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let picked = error_lines(&lines, 30);
        assert!(picked.contains(&"     Failure/Error: expect(x).to eq(y)".to_string()), "{picked:?}");
        assert!(picked.contains(&"            got: [2]".to_string()), "{picked:?}");
        assert!(picked.iter().any(|l| l.contains("exited with status 1")), "{picked:?}");
        assert!(!picked.contains(&"....".to_string()), "{picked:?}");
        assert_eq!(failing_section(&lines, &picked).as_deref(), Some(":rspec: Running specs"));
        assert!(!is_error_line("0 errors in other suites"));
        assert!(is_error_line("412 examples, 10 failures"), "a count ending in 0 is not zero");
        assert!(!is_error_line("412 examples, 0 failures"));
        assert!(!is_error_line("    is expected to validate that :number is unique"));
        assert!(!is_error_line(" - CheckDetailedExceptions"));
        assert!(is_error_line("  14:7   error    'useEffect' is defined but never used"));
        assert!(!is_error_line("  22:3   warning  React Hook useMemo has a missing dependency"));
    }

    #[test]
    fn common_failure_formats_are_recognised() {
        for line in [
            "src/app.ts(12,5): error TS2322: Type 'string' is not assignable to type 'number'.",
            "src/app.ts:12:5 - error TS2322: Type 'string' is not assignable",
            "E       assert 3 == 4",
            "FAILED tests/test_math.py::test_add - assert 3 == 4",
            "==== 1 failed in 0.12s ====",
            "FAIL\texample.com/pkg\t0.012s",
            "--- FAIL: TestAdd (0.00s)",
            "The command '/bin/sh -c make' returned a non-zero code: 2",
            "error[E0308]: mismatched types",
            "thread 'main' panicked at src/main.rs:4:5:",
        ] {
            assert!(is_error_line(line), "{line}");
        }
    }

    #[test]
    fn go_test_results_are_not_sections_and_keep_their_message() {
        let lines: Vec<String> = [
            "--- :go: Tests",
            "=== RUN   TestAdd",
            "    add_test.go:12: expected 1, got 2",
            "--- FAIL: TestAdd (0.00s)",
            "FAIL",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let picked = error_lines(&lines, 30);
        assert!(picked.contains(&"    add_test.go:12: expected 1, got 2".to_string()), "{picked:?}");
        assert_eq!(failing_section(&lines, &picked).as_deref(), Some(":go: Tests"));
    }

    #[test]
    fn the_candidate_pattern_finds_every_error_line() {
        let re = regex::RegexBuilder::new(&error_candidates_pattern())
            .case_insensitive(true)
            .multi_line(true)
            .build()
            .unwrap();
        for line in [
            "fatal: not a git repository",
            "npm ERR! code ELIFECYCLE",
            "NoMethodError: undefined method `x' for nil",
            "FAIL\texample.com/pkg\t0.012s",
            "E       assert 3 == 4",
            "  14:7   error    'x' is defined but never used",
            "🚨 Error: The command exited with status 1",
        ] {
            assert!(is_error_line(line), "{line}");
            assert!(re.is_match(line), "the candidate pattern misses {line}");
        }
    }

    #[test]
    fn bare_timestamp_markers_are_removed() {
        assert_eq!(
            clean_lines(b"bk;t=1795169802123\x07--- :rspec: Tests\nkeep bk;t=notamarker", false),
            ["--- :rspec: Tests", "keep bk;t=notamarker"]
        );
    }

    #[test]
    fn error_lines_are_bounded_with_a_marker() {
        let lines: Vec<String> = (0..500).map(|i| format!("error: {i}")).collect();
        let picked = error_lines(&lines, 20);
        assert_eq!(picked.len(), 21);
        assert_eq!(picked[0], "… 480 earlier error lines …");
        assert_eq!(picked[1], "error: 480", "the errors nearest the end win");
        assert_eq!(picked.last().map(String::as_str), Some("error: 499"));
        let quiet: Vec<String> = (0..50).map(|i| format!("line {i}")).collect();
        assert_eq!(error_lines(&quiet, 20).last().map(String::as_str), Some("line 49"));
    }
}
