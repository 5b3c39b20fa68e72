//! Error fingerprints: a short signature of the lines that explain a failure (the digest's error
//! lines), each normalised so that what changes from run to run — numbers, hex ids and UUIDs, temp
//! paths, timestamps, durations — does not change the signature. Two failures with the same
//! fingerprint failed the same way; `diff_log` compares lines normalised the same way.

use super::digest::Digest;
use regex::{Regex, RegexSet};
use std::sync::LazyLock;

/// Hex ids: 7 or more hex digits holding both a digit and a letter (SHAs, object ids); a run of
/// digits only is a number, a word of letters only a word.
const HEX: &str = r"(?i)\b[0-9a-f]{7,}\b";

/// What is replaced, in order (each pattern sees the text the earlier ones left).
const PATTERNS: &[(&str, &str)] = &[
    // Timestamps: 2026-11-20T10:39:56.123Z, 2026-11-20 10:39:56, 10:39:56.
    (r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2})?(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?", "<time>"),
    (r"\b\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?\b", "<time>"),
    // UUIDs, then hex ids (7 or more hex digits holding a digit: SHAs, object ids, addresses).
    (r"(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", "<id>"),
    (r"(?i)\b0x[0-9a-f]+\b", "<id>"),
    (HEX, "<hex>"),
    // Temp paths.
    (r"(?:/private)?/(?:tmp|var/folders|var/tmp)/\S*", "<tmp>"),
    (r"(?i)[a-z]:\\(?:[^\\\s]+\\)*?temp\\\S*", "<tmp>"),
    // Durations: 0.12s, 8 minutes 12 seconds, 340ms, (1.2 sec).
    (r"(?i)\b\d+(?:\.\d+)?\s?(?:ms|µs|us|ns|s|sec|secs|seconds?|m|min|mins|minutes?|h|hours?)\b", "<duration>"),
    // Any other number.
    (r"\d+", "N"),
];

/// The patterns compiled, and all of them as one set: one scan of a line tells which can apply (a
/// replacement never makes another pattern match: it only removes digits and hex runs).
static RULES: LazyLock<Vec<Option<Regex>>> =
    LazyLock::new(|| PATTERNS.iter().map(|(re, _)| Regex::new(re).ok()).collect());
static SET: LazyLock<Option<RegexSet>> = LazyLock::new(|| RegexSet::new(PATTERNS.iter().map(|(re, _)| *re)).ok());

/// `line` with what changes between runs replaced, and runs of spaces made one.
pub fn normalise(line: &str) -> String {
    let trimmed = line.trim();
    let hits = SET.as_ref().map(|set| set.matches(trimmed));
    if hits.as_ref().is_some_and(|h| !h.matched_any()) {
        return trimmed.split_whitespace().collect::<Vec<_>>().join(" ");
    }
    let mut text = std::borrow::Cow::Borrowed(trimmed);
    for (i, (re, (pattern, to))) in RULES.iter().zip(PATTERNS).enumerate() {
        let Some(re) = re else { continue };
        if hits.as_ref().is_some_and(|h| !h.matched(i)) || !re.is_match(&text) {
            continue;
        }
        let replaced = if *pattern == HEX {
            re.replace_all(&text, |c: &regex::Captures<'_>| {
                let id = &c[0];
                let mixed = id.bytes().any(|b| b.is_ascii_digit()) && id.bytes().any(|b| b.is_ascii_alphabetic());
                if mixed { "<hex>".to_string() } else { id.to_string() }
            })
        } else {
            re.replace_all(&text, *to)
        };
        text = std::borrow::Cow::Owned(replaced.into_owned());
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The 64-bit FNV-1a hash of `bytes`: stable across processes and versions, unlike std's hasher.
pub fn stable_hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The fingerprint of error lines: 8 hex digits of the hash of their normalised texts in order,
/// a line repeated in a row counted once; `None` without any line.
pub fn of_lines<'a>(lines: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut joined = String::new();
    let mut last: Option<String> = None;
    for line in lines {
        let n = normalise(line);
        if n.is_empty() || last.as_deref() == Some(n.as_str()) {
            continue;
        }
        joined.push_str(&n);
        joined.push('\n');
        last = Some(n);
    }
    (!joined.is_empty()).then(|| format!("{:08x}", stable_hash(joined.as_bytes()) >> 32))
}

/// The fingerprint of a digest's error lines.
pub fn of_digest(d: &Digest) -> Option<String> {
    of_lines(d.error_lines().map(|l| l.text.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_changes_between_runs_is_normalised_away() {
        assert_eq!(
            normalise("2026-11-20 10:39:56 INFO Found 0 files in /tmp/bk-3f9a/junit.xml after 1.52s"),
            "<time> INFO Found N files in <tmp> after <duration>"
        );
        assert_eq!(normalise("Finished in 8 minutes 12 seconds"), "Finished in <duration> <duration>");
        assert_eq!(
            normalise("job 4b323cb5-c060-43ad-9228-2edf85bbdb89 at 0x7ffd5e8c on cb041cf24"),
            "job <id> at <id> on <hex>"
        );
        assert_eq!(normalise("  --> src/render.rs:42:17"), "--> src/render.rs:N:N");
        assert_eq!(normalise("error[E0308]: mismatched types"), "error[EN]: mismatched types");
        assert_eq!(normalise("decade facade"), "decade facade", "hex-only words without a digit stay");
    }

    #[test]
    fn the_same_error_in_another_run_has_the_same_fingerprint() {
        let a = ["error[E0308]: mismatched types", "  --> src/render.rs:42:17", "Finished in 3.20s"];
        let b = ["error[E0308]: mismatched types", "  --> src/render.rs:57:9", "Finished in 12.8s"];
        let c = ["error[E0425]: cannot find value `reset` in this scope", "  --> src/render.rs:42:17"];
        assert_eq!(of_lines(a), of_lines(b));
        assert_ne!(of_lines(a), of_lines(c));
        assert_eq!(of_lines(a).map(|f| f.len()), Some(8));
        assert_eq!(of_lines([""; 0]), None);
    }
}
