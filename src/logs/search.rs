//! Regex search over a cached log, at grep speed: the text is read in large chunks and the regex
//! runs over a whole chunk at once; each candidate is then confirmed on its line alone, so a match
//! never spans lines. Context lines are read afterwards, only for the hits kept.

use std::io;

use memchr::{memchr, memrchr};
use regex::bytes::{Regex, RegexBuilder};

use super::store::{CachedLog, Line};

/// Bytes of the log read at a time.
const CHUNK: usize = 2 << 20;
/// Longest pattern accepted, in bytes.
const MAX_PATTERN: usize = 4096;
/// Memory a compiled regex may take.
const REGEX_SIZE_LIMIT: usize = 8 << 20;
/// Memory the regex's lazy DFA may take.
const DFA_SIZE_LIMIT: usize = 8 << 20;
/// Most hits one search returns, whatever `max_matches` asks.
pub const MAX_HITS: usize = 1_000;
/// Most context lines on either side of a hit, whatever `before` / `after` ask.
pub const MAX_CONTEXT: usize = 100;
/// After this many candidate matches that spanned lines and were refused, the rest of the log is
/// searched line by line (a pattern that keeps matching across lines would make the chunk search
/// re-scan the same text).
const MAX_SPANNING: u32 = 256;

/// What to look for in a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    /// A regular expression (Rust `regex` syntax); `^` and `$` match at line starts and ends.
    pub pattern: String,
    /// Whether letter case must match.
    pub case_sensitive: bool,
    /// Whether the hits are the lines that do NOT match (without context).
    pub invert: bool,
    /// Context lines before each hit (at most [`MAX_CONTEXT`]).
    pub before: usize,
    /// Context lines after each hit (at most [`MAX_CONTEXT`]).
    pub after: usize,
    /// Most hits returned (at most [`MAX_HITS`]); matching lines past it are only counted.
    pub max_matches: usize,
    /// First line searched, 1-based (0 reads as 1).
    pub from_line: u64,
    /// Keep the LAST `max_matches` hits instead of the first (a failure digest wants the errors
    /// nearest the end); ignored with `invert`.
    pub keep_last: bool,
}

/// Why a search failed.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The pattern is not a valid regular expression, or too big; the message names the problem.
    #[error("invalid pattern: {0}")]
    BadPattern(String),
    /// The cached log could not be read.
    #[error("reading the cached log: {0}")]
    Io(#[from] io::Error),
    /// The caller stopped the search (the client cancelled the call).
    #[error("the search was cancelled")]
    Cancelled,
}

/// What a search found.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchResult {
    /// The first `max_matches` hits, in line order.
    pub hits: Vec<Hit>,
    /// Matching lines (non-matching with `invert`) in the searched range, including those past
    /// `max_matches`.
    pub total: u64,
    /// Lines in the searched range.
    pub scanned_lines: u64,
}

/// A matching line with its context. Context never repeats a line shown with the previous hit:
/// `before` starts after it, and `after` stops before the next hit.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The matching line.
    pub line: Line,
    /// Lines just before it.
    pub before: Vec<Line>,
    /// Lines just after it.
    pub after: Vec<Line>,
}

/// Compiles the query's pattern: multi-line (`^`/`$` at line boundaries), case-insensitive unless
/// asked otherwise, refusing patterns that would take too much memory.
pub fn compile(q: &SearchQuery) -> Result<Regex, SearchError> {
    if q.pattern.len() > MAX_PATTERN {
        return Err(SearchError::BadPattern(format!("pattern longer than {MAX_PATTERN} bytes")));
    }
    RegexBuilder::new(&q.pattern)
        .multi_line(true)
        .case_insensitive(!q.case_sensitive)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(DFA_SIZE_LIMIT)
        .build()
        .map_err(|e| {
            // Syntax errors span several lines (the pattern, a caret, then `error: …`): keep the last.
            let text = e.to_string();
            let last = text.lines().rev().map(str::trim).find(|l| !l.is_empty()).unwrap_or("unusable pattern");
            SearchError::BadPattern(last.strip_prefix("error: ").unwrap_or(last).to_string())
        })
}

/// Searches a cached log: the first `max_matches` matching lines (each line once, however many
/// matches it holds) with their context, and the count of all matching lines from `from_line` on.
pub fn search(log: &CachedLog, q: &SearchQuery) -> Result<SearchResult, SearchError> {
    search_until(log, q, &|| false)
}

/// [`search`] that gives up with [`SearchError::Cancelled`] as soon as `stop` says so (it is asked
/// before each chunk is read, so a cancelled search of a large log ends within one chunk).
pub fn search_until(
    log: &CachedLog,
    q: &SearchQuery,
    stop: &(dyn Fn() -> bool + Sync),
) -> Result<SearchResult, SearchError> {
    search_in_chunks(log, q, CHUNK, stop)
}

/// [`search_until`], reading `chunk` bytes at a time.
fn search_in_chunks(
    log: &CachedLog,
    q: &SearchQuery,
    chunk: usize,
    stop: &(dyn Fn() -> bool + Sync),
) -> Result<SearchResult, SearchError> {
    let re = compile(q)?;
    let lines = log.meta().lines;
    let first = q.from_line.max(1);
    if first > lines {
        return Ok(SearchResult { hits: Vec::new(), total: 0, scanned_lines: 0 });
    }
    let scanned_lines = lines - first + 1;
    let mut found = Collector {
        max: q.max_matches.min(MAX_HITS),
        invert: q.invert,
        keep_last: q.keep_last && !q.invert,
        lines: Vec::new(),
        last: std::collections::VecDeque::new(),
        matched: 0,
        next_gap: first,
    };
    let by_line = anchors_to_whole_text(&q.pattern);
    if !scan(log, &re, first, chunk.max(1), by_line, &mut found, stop)? {
        return Err(SearchError::Cancelled);
    }
    found.finish(lines);
    let (hits, total) = if q.invert {
        (lines_as_hits(log, &found.lines)?, scanned_lines - found.matched)
    } else {
        (with_context(log, &found.lines, q.before.min(MAX_CONTEXT), q.after.min(MAX_CONTEXT))?, found.matched)
    };
    Ok(SearchResult { hits, total, scanned_lines })
}

/// The line numbers of the hits kept, and the count of matching lines.
struct Collector {
    /// Most hits kept.
    max: usize,
    /// Whether hits are the lines that do not match.
    invert: bool,
    /// Whether the last hits are kept rather than the first.
    keep_last: bool,
    /// Line numbers of the hits kept, ascending.
    lines: Vec<u64>,
    /// With `keep_last`: the latest hits, oldest first, at most `max`.
    last: std::collections::VecDeque<u64>,
    /// Matching lines seen.
    matched: u64,
    /// With `invert`: the first line not yet known to match or not.
    next_gap: u64,
}

impl Collector {
    /// Whether all hits wanted are kept (from then on, matches are only counted).
    fn full(&self) -> bool {
        !self.keep_last && self.lines.len() >= self.max
    }

    /// Line `line` matches; lines are reported in ascending order. Once full, `line` is ignored.
    fn matched(&mut self, line: u64) {
        self.matched += 1;
        if self.full() {
            return;
        }
        if self.invert {
            self.keep_gap(line);
            self.next_gap = line + 1;
        } else if self.keep_last {
            if self.max == 0 {
                return;
            }
            if self.last.len() == self.max {
                self.last.pop_front();
            }
            self.last.push_back(line);
        } else {
            self.lines.push(line);
        }
    }

    /// With `invert`, keeps the lines from `next_gap` up to `until` (exclusive): none of them matched.
    fn keep_gap(&mut self, until: u64) {
        let room = (self.max - self.lines.len()) as u64;
        let end = until.min(self.next_gap.saturating_add(room));
        self.lines.extend(self.next_gap..end);
    }

    /// The scan is over at line `last`.
    fn finish(&mut self, last: u64) {
        if self.invert && !self.full() {
            self.keep_gap(last + 1);
        }
        if self.keep_last {
            self.lines = self.last.drain(..).collect();
        }
    }
}

/// Whether the pattern may use an assertion that holds at the start or end of the whole text
/// (`\A`, `\z`, or `^`/`$` after the multi-line flag is turned off), which must be evaluated on
/// each line alone. Errs on the side of yes.
fn anchors_to_whole_text(pattern: &str) -> bool {
    let b = pattern.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => {
                if matches!(b.get(i + 1), Some(b'A' | b'z')) {
                    return true;
                }
                i += 2;
            }
            b'(' if b.get(i + 1) == Some(&b'?') => {
                let flags = &b[i + 2..];
                let flags = &flags[..flags.iter().position(|&c| c == b')' || c == b':').unwrap_or(flags.len())];
                if flags.iter().position(|&c| c == b'-').is_some_and(|minus| flags[minus..].contains(&b'm')) {
                    return true;
                }
                i += 2;
            }
            _ => i += 1,
        }
    }
    false
}

/// Newlines in `bytes`.
fn newlines(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}

/// Runs the regex over the log from line `first` on, `chunk` bytes at a time (plus the end of a
/// line cut by the chunk), and reports each matching line to `found`; `false` when `stop` ended it.
fn scan(
    log: &CachedLog,
    re: &Regex,
    first: u64,
    chunk: usize,
    by_line: bool,
    found: &mut Collector,
    stop: &(dyn Fn() -> bool + Sync),
) -> io::Result<bool> {
    let end = log.meta().text_bytes;
    let mut pos = log.line_offset(first)?;
    let mut buf = vec![0u8; chunk.min(usize::try_from(end - pos).unwrap_or(chunk)).max(1)];
    // Bytes at the start of `buf` carried over from the previous read: the start of a cut line.
    let mut carry = 0;
    // Line number of `buf[0]`, kept while hits are collected.
    let mut line = first;
    let mut scanner = Scanner { re, by_line, spanning: 0 };
    while pos < end {
        if stop() {
            return Ok(false);
        }
        let want = usize::try_from(end - pos).unwrap_or(chunk).min(chunk);
        if buf.len() < carry + want {
            buf.resize(carry + want, 0);
        }
        log.read_text_at(&mut buf[carry..carry + want], pos)?;
        pos += want as u64;
        let filled = carry + want;
        let complete = if pos >= end {
            filled
        } else {
            match memrchr(b'\n', &buf[..filled]) {
                Some(nl) => nl + 1,
                None => {
                    // A line longer than the chunk: read on. (Cleaned lines are short.)
                    carry = filled;
                    continue;
                }
            }
        };
        line = scanner.region(&buf[..complete], line, found);
        buf.copy_within(complete..filled, 0);
        carry = filled - complete;
    }
    Ok(true)
}

/// Finds the matching lines of regions of whole lines.
struct Scanner<'r> {
    re: &'r Regex,
    /// Whether each line is matched on its own (slow, always right).
    by_line: bool,
    /// Candidates refused because they matched only across lines.
    spanning: u32,
}

impl Scanner<'_> {
    /// Reports the matching lines of `region` (whole lines; `line` is the number of the first) and
    /// returns the number of the line after the region (meaningless once `found` is full).
    fn region(&mut self, region: &[u8], mut line: u64, found: &mut Collector) -> u64 {
        let len = region.len();
        // Position up to which newlines are counted into `line`.
        let mut counted = 0;
        // Start of the next line to search, always a line start.
        let mut at = 0;
        while at < len {
            let (matched, start, line_end) = if self.by_line {
                let line_end = memchr(b'\n', &region[at..]).map_or(len, |i| at + i);
                (self.re.is_match(&region[at..line_end]), at, line_end)
            } else {
                let Some(m) = self.re.find_at(region, at) else { break };
                let start = m.start();
                if start >= len {
                    break; // an empty match after the last line's newline
                }
                let line_end = memchr(b'\n', &region[start..]).map_or(len, |i| start + i);
                let matched = m.end() <= line_end || {
                    // The match runs into the next line: does its first line match on its own?
                    self.spanning += 1;
                    self.by_line = self.spanning > MAX_SPANNING;
                    let line_start = memrchr(b'\n', &region[at..start]).map_or(at, |i| at + i + 1);
                    self.re.is_match(&region[line_start..line_end])
                };
                (matched, start, line_end)
            };
            if matched {
                if !found.full() {
                    line += newlines(&region[counted..start]);
                    counted = start;
                }
                found.matched(line);
            }
            at = line_end + 1;
        }
        if !found.full() {
            line += newlines(&region[counted..]);
        }
        line
    }
}

/// The hits at `lines` with up to `before` / `after` lines of context, each line shown once.
fn with_context(log: &CachedLog, lines: &[u64], before: usize, after: usize) -> io::Result<Vec<Hit>> {
    let last_line = log.meta().lines;
    let mut hits = Vec::with_capacity(lines.len());
    // Last line already shown, as a hit or as context.
    let mut shown = 0;
    for (i, &number) in lines.iter().enumerate() {
        let start = number.saturating_sub(before as u64).max(shown + 1).max(1);
        let mut end = number.saturating_add(after as u64).min(last_line);
        if let Some(&next) = lines.get(i + 1) {
            end = end.min(next - 1);
        }
        let end = end.max(number);
        let rows = log.read(start, (end - start + 1) as usize)?;
        let mut hit = None;
        let (mut pre, mut post) = (Vec::new(), Vec::new());
        for row in rows {
            match row.number.cmp(&number) {
                std::cmp::Ordering::Less => pre.push(row),
                std::cmp::Ordering::Equal => hit = Some(row),
                std::cmp::Ordering::Greater => post.push(row),
            }
        }
        let Some(line) = hit else { continue };
        hits.push(Hit { line, before: pre, after: post });
        shown = end;
    }
    Ok(hits)
}

/// The lines at `lines` as hits without context, read a run of consecutive lines at a time.
fn lines_as_hits(log: &CachedLog, lines: &[u64]) -> io::Result<Vec<Hit>> {
    let mut hits = Vec::with_capacity(lines.len());
    let mut i = 0;
    while i < lines.len() {
        let mut j = i + 1;
        while j < lines.len() && lines[j] == lines[j - 1] + 1 {
            j += 1;
        }
        for line in log.read(lines[i], j - i)? {
            hits.push(Hit { line, before: Vec::new(), after: Vec::new() });
        }
        i = j;
    }
    Ok(hits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::store::LogStore;

    fn cached(raw: &str) -> (tempfile::TempDir, CachedLog) {
        let tmp = tempfile::tempdir().unwrap();
        let store = LogStore::new(tmp.path().join("logs"), 1 << 30);
        let mut w = store.writer("job").unwrap();
        w.push(raw.as_bytes()).unwrap();
        let log = w.finish(true).unwrap();
        (tmp, log)
    }

    fn query(pattern: &str) -> SearchQuery {
        SearchQuery {
            pattern: pattern.to_string(),
            case_sensitive: false,
            invert: false,
            before: 0,
            after: 0,
            max_matches: 100,
            from_line: 1,
            keep_last: false,
        }
    }

    /// Hit line numbers and total, searching with a tiny chunk and with the default one (which
    /// must agree).
    fn found(log: &CachedLog, q: &SearchQuery) -> (Vec<u64>, u64) {
        let small = search_in_chunks(log, q, 64, &|| false).unwrap();
        let big = search(log, q).unwrap();
        assert_eq!(small, big, "chunk size changes nothing");
        (small.hits.iter().map(|h| h.line.number).collect(), small.total)
    }

    fn numbered(n: u64) -> String {
        (1..=n).map(|i| format!("line {i:04} {}\n", if i % 7 == 0 { "ERROR here" } else { "fine" })).collect()
    }

    #[test]
    fn a_stopped_search_ends_before_reading_on() {
        let (_dir, log) = cached(&(1..=500).map(|i| format!("line {i} error")).collect::<Vec<_>>().join("\n"));
        let asked = std::sync::atomic::AtomicUsize::new(0);
        let stop = || asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst) >= 2;
        let e = search_in_chunks(&log, &query("error"), 64, &stop).unwrap_err();
        assert!(matches!(e, SearchError::Cancelled), "{e}");
        assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 3, "asked before each chunk, stopped at the third");
    }

    #[test]
    fn line_numbers_are_right_across_chunk_boundaries() {
        let (_tmp, log) = cached(&numbered(500));
        let expected: Vec<u64> = (1..=500).filter(|i| i % 7 == 0).collect();
        let (lines, total) = found(&log, &query("error"));
        assert_eq!(lines, expected);
        assert_eq!(total, expected.len() as u64);
        let result = search_in_chunks(&log, &query("error"), 64, &|| false).unwrap();
        assert_eq!(result.scanned_lines, 500);
        assert!(result.hits.iter().all(|h| h.line.text == format!("line {:04} ERROR here", h.line.number)));
        for chunk in [1, 3, 17, 4096] {
            let r = search_in_chunks(&log, &query("error"), chunk, &|| false).unwrap();
            assert_eq!(r.hits.iter().map(|h| h.line.number).collect::<Vec<_>>(), expected, "chunk {chunk}");
        }
    }

    #[test]
    fn several_matches_on_one_line_count_once() {
        let (_tmp, log) = cached("error error error\nok\nerror\n");
        assert_eq!(found(&log, &query("error")), (vec![1, 3], 2));
        assert_eq!(found(&log, &query("")), (vec![1, 2, 3], 3), "an empty pattern matches every line");
    }

    #[test]
    fn case_sensitivity_is_optional() {
        let (_tmp, log) = cached("Error one\nerror two\nERROR three\n");
        assert_eq!(found(&log, &query("error")).0, [1, 2, 3]);
        assert_eq!(found(&log, &SearchQuery { case_sensitive: true, ..query("error") }).0, [2]);
        assert_eq!(found(&log, &query("error|THREE")).0, [1, 2, 3]);
    }

    #[test]
    fn anchors_match_at_line_boundaries() {
        let (_tmp, log) = cached("foo bar\nbar foo\nfoo\n  foo\n");
        assert_eq!(found(&log, &query("^foo")).0, [1, 3]);
        assert_eq!(found(&log, &query("foo$")).0, [2, 3, 4]);
        assert_eq!(found(&log, &query("^foo$")).0, [3]);
        assert_eq!(found(&log, &query(r"\Afoo")).0, [1, 3], "text anchors hold per line");
        assert_eq!(found(&log, &query(r"foo\z")).0, [2, 3, 4]);
        assert_eq!(found(&log, &query(r"(?-m)^foo$")).0, [3]);
    }

    #[test]
    fn matches_across_a_newline_are_not_hits() {
        let (_tmp, log) = cached("a\nb\nab\nx  \n  b\nc a\nb\n");
        assert_eq!(found(&log, &query(r"a\nb")).0, Vec::<u64>::new());
        assert_eq!(found(&log, &query(r"a\s*b")).0, [3]);
        assert_eq!(found(&log, &query(r"\s+b")).0, [5]);
        assert_eq!(found(&log, &query(r"(?s)a.b")).0, Vec::<u64>::new());
        assert_eq!(found(&log, &query(r"a[^x]*b")).0, [3]);
    }

    #[test]
    fn many_spanning_candidates_fall_back_to_lines_and_stay_right() {
        let raw: String =
            (0..2000).map(|i| if i % 100 == 99 { "x y\n".to_string() } else { "x\n".to_string() }).collect();
        let (_tmp, log) = cached(&raw);
        let expected: Vec<u64> = (1..=2000).filter(|i| i % 100 == 0).collect();
        assert_eq!(found(&log, &query(r"x[^y]*y")), (expected, 20));
    }

    #[test]
    fn context_is_trimmed_so_each_line_shows_once() {
        let raw: String =
            (1..=30).map(|i| if [5, 7, 20].contains(&i) { format!("hit {i}\n") } else { format!("l{i}\n") }).collect();
        let (_tmp, log) = cached(&raw);
        let q = SearchQuery { before: 3, after: 2, ..query("hit") };
        let r = search_in_chunks(&log, &q, 64, &|| false).unwrap();
        let shape: Vec<(Vec<u64>, u64, Vec<u64>)> = r
            .hits
            .iter()
            .map(|h| {
                (h.before.iter().map(|l| l.number).collect(), h.line.number, h.after.iter().map(|l| l.number).collect())
            })
            .collect();
        assert_eq!(shape, [(vec![2, 3, 4], 5, vec![6]), (vec![], 7, vec![8, 9]), (vec![17, 18, 19], 20, vec![21, 22])]);
        assert_eq!(r.hits[0].before[0].text, "l2");
        let edge = search_in_chunks(&log, &SearchQuery { before: 10, after: 10, ..query("^l(1|30)$") }, 64, &|| false)
            .unwrap();
        assert_eq!(edge.hits[0].before, []);
        assert_eq!(edge.hits[1].after, []);
        assert_eq!(edge.hits[1].before.first().map(|l| l.number), Some(20), "starts after the previous after");
    }

    #[test]
    fn invert_finds_the_lines_that_do_not_match() {
        let (_tmp, log) = cached("ok\nerror\nok\nok\nerror\nok\n");
        let q = SearchQuery { invert: true, before: 2, after: 2, ..query("error") };
        assert_eq!(found(&log, &q), (vec![1, 3, 4, 6], 4));
        let r = search(&log, &q).unwrap();
        assert!(r.hits.iter().all(|h| h.before.is_empty() && h.after.is_empty() && h.line.text == "ok"));
        assert_eq!(found(&log, &SearchQuery { max_matches: 2, ..q.clone() }), (vec![1, 3], 4));
        assert_eq!(found(&log, &SearchQuery { from_line: 4, ..q }), (vec![4, 6], 2));
    }

    #[test]
    fn max_matches_keeps_the_first_hits_and_counts_all() {
        let (_tmp, log) = cached(&numbered(500));
        let (lines, total) = found(&log, &SearchQuery { max_matches: 3, ..query("error") });
        assert_eq!(lines, [7, 14, 21]);
        assert_eq!(total, 71);
        assert_eq!(found(&log, &SearchQuery { max_matches: 0, ..query("error") }), (vec![], 71));
        let last = SearchQuery { max_matches: 3, keep_last: true, ..query("error") };
        assert_eq!(found(&log, &last), (vec![483, 490, 497], 71), "keep_last keeps the hits nearest the end");
    }

    #[test]
    fn from_line_starts_the_search_and_the_count() {
        let (_tmp, log) = cached(&numbered(500));
        let q = SearchQuery { from_line: 100, max_matches: 2, ..query("error") };
        assert_eq!(found(&log, &q), (vec![105, 112], 57));
        assert_eq!(search(&log, &q).unwrap().scanned_lines, 401);
        let past = search(&log, &SearchQuery { from_line: 501, ..query("error") }).unwrap();
        assert_eq!((past.hits.len(), past.total, past.scanned_lines), (0, 0, 0));
        assert_eq!(found(&log, &SearchQuery { from_line: 0, ..query("error") }).1, 71);
    }

    #[test]
    fn timestamps_come_with_hits() {
        let (_tmp, log) = cached("bk;t=1000\x07start\nbk;t=2000\x07error\n");
        let r = search(&log, &SearchQuery { before: 1, ..query("error") }).unwrap();
        assert_eq!(r.hits[0].line.ts, Some(2000));
        assert_eq!(r.hits[0].before[0].ts, Some(1000));
    }

    #[test]
    fn invalid_patterns_say_what_is_wrong_on_one_line() {
        let Err(SearchError::BadPattern(message)) = compile(&query("foo(bar")) else { panic!("accepted") };
        assert_eq!(message, "unclosed group");
        let Err(SearchError::BadPattern(message)) = compile(&query(r"\w{1000}{1000}")) else { panic!("accepted") };
        assert!(message.contains("size limit") || message.contains("repetition"), "{message}");
        assert!(!message.contains('\n'));
        let long = "a".repeat(MAX_PATTERN + 1);
        assert!(matches!(compile(&query(&long)), Err(SearchError::BadPattern(_))));
        let (_tmp, log) = cached("x\n");
        let err = search(&log, &query("[z-a]")).unwrap_err();
        assert!(err.to_string().starts_with("invalid pattern: "), "{err}");
        assert!(!err.to_string().contains('\n'), "{err}");
    }

    #[test]
    fn empty_logs_have_nothing_to_find() {
        let (_tmp, log) = cached("");
        let r = search(&log, &query("x")).unwrap();
        assert_eq!((r.hits.len(), r.total, r.scanned_lines), (0, 0, 0));
    }
}
