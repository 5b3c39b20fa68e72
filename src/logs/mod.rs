//! Job logs as a model should read them: cleaned lines ([`clean`]), a cache of cleaned logs
//! ([`store`]) searched at grep speed ([`search`]), the digest of the lines that explain a failure
//! ([`digest`]) and the rows tools show ([`rows`]). This module recognises error lines and sections.

pub mod clean;
pub mod diff;
pub mod digest;
pub mod fingerprint;
pub mod rows;
pub mod search;
pub mod store;
pub mod trust;

pub use clean::{MAX_LINE_CHARS, clean_lines};

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
    // jest's heading of captured console output shares the `●` of its failures.
    if lower.trim_start().starts_with("● console") {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_counts_and_warnings_are_not_errors() {
        assert!(!is_error_line("0 errors in other suites"));
        assert!(is_error_line("412 examples, 10 failures"), "a count ending in 0 is not zero");
        assert!(!is_error_line("412 examples, 0 failures"));
        assert!(!is_error_line("    is expected to validate that :number is unique"));
        assert!(!is_error_line(" - CheckDetailedExceptions"));
        assert!(is_error_line("  14:7   error    'useEffect' is defined but never used"));
        assert!(!is_error_line("  22:3   warning  React Hook useMemo has a missing dependency"));
        assert!(!is_error_line("  ● Console"), "jest's console output heading");
        assert!(is_error_line("  ● Checklist › dismisses the checklist"));
    }

    #[test]
    fn go_test_results_are_not_sections() {
        assert_eq!(section_name("--- :go: Tests"), Some(":go: Tests"));
        assert_eq!(section_name("--- FAIL: TestAdd (0.00s)"), None);
        assert!(is_boundary("$ make test") && !is_boundary("make test"));
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
}
