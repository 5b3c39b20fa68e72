//! The one failure digest: which lines of a log explain its failure. `log_digest` runs it on a whole
//! cached log and `get_build_failure_summary` on a tail held in memory; both get the same error
//! lines from the same lines.
//!
//! The error lines are the lines [`is_error_line`] accepts among the candidates of
//! [`error_candidates_pattern`] (the last [`search::MAX_HITS`] of them, found by the fast search on a
//! cached log), and of those the last `max_errors`, nearest the end, where runners summarise
//! failures. Each keeps [`BEFORE`] line before and [`AFTER`] after as context, counting only lines
//! that say something (empty lines are skipped, at most [`REACH`] lines away), never across a
//! section header or a `$ command` line; context that meets or touches merges into one block. The failing section is the section holding the
//! first kept error line, found by its line number. Only the windows are read, so a digest of a
//! 1 GB cached log costs one search and a few small reads.

use super::search::{self, SearchError, SearchQuery};
use super::store::{CachedLog, Line, Section};
use super::{clean, error_candidates_pattern, is_boundary, is_error_line, section_name};

/// Error lines kept by `log_digest` and by the failure summary, nearest the end.
pub const MAX_ERRORS: usize = 24;
/// Context lines kept before an error line.
pub const BEFORE: u64 = 1;
/// Context lines kept after an error line.
pub const AFTER: u64 = 2;
/// Farthest a context line may be from its error line, in lines (empty lines between count).
pub const REACH: u64 = 4;

/// Numbered lines a digest can be taken from: a cached log, or lines held in memory.
pub trait NumberedLines {
    /// How many lines there are, numbered from 1.
    fn line_count(&self) -> u64;
    /// The last [`search::MAX_HITS`] lines matching [`error_candidates_pattern`] (ignoring case),
    /// in line order, and how many lines match in all.
    fn candidates(&self) -> Result<(Vec<Line>, u64), SearchError>;
    /// Up to `count` lines from line `first` on.
    fn read(&self, first: u64, count: usize) -> Result<Vec<Line>, SearchError>;
    /// The section holding line `line`, if any header precedes it.
    fn section_of(&self, line: u64) -> Option<Section>;
}

/// What explains a failure.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Digest {
    /// The section holding the first kept error line.
    pub section: Option<Section>,
    /// Line numbers of the kept error lines, ascending.
    pub errors: Vec<u64>,
    /// The kept error lines with their context: runs of consecutive lines (empty context lines
    /// left out), in line order.
    pub blocks: Vec<Vec<Line>>,
    /// Error lines found before the kept ones, not shown.
    pub earlier: u64,
    /// Candidate lines before the checked ones, never checked: when not 0, `earlier` is a lower
    /// bound.
    pub unchecked: u64,
}

impl Digest {
    /// Whether line `number` is one of the kept error lines (else it is context).
    pub fn is_error(&self, number: u64) -> bool {
        self.errors.binary_search(&number).is_ok()
    }

    /// The kept error lines, in line order.
    pub fn error_lines(&self) -> impl Iterator<Item = &Line> {
        self.blocks.iter().flatten().filter(|l| self.is_error(l.number))
    }

    /// The number of the last line shown, 0 when none is.
    pub fn last_shown(&self) -> u64 {
        self.blocks.iter().flatten().map(|l| l.number).max().unwrap_or(0)
    }
}

/// The digest of `log`: its last `max_errors` error lines with context, and the failing section.
pub fn digest(log: &impl NumberedLines, max_errors: usize) -> Result<Digest, SearchError> {
    let (candidates, total) = log.candidates()?;
    let unchecked = total.saturating_sub(candidates.len() as u64);
    let found: Vec<u64> = candidates.iter().filter(|l| is_error_line(&l.text)).map(|l| l.number).collect();
    let errors = found[found.len().saturating_sub(max_errors)..].to_vec();
    let earlier = (found.len() - errors.len()) as u64;
    let section = errors.first().and_then(|n| log.section_of(*n));
    // Each error line's window, merged, read once.
    let mut windows: Vec<(u64, u64)> = Vec::new();
    for &n in &errors {
        let (a, b) = (n.saturating_sub(REACH).max(1), (n + REACH).min(log.line_count()));
        match windows.last_mut() {
            Some(w) if a <= w.1 + 1 => w.1 = w.1.max(b),
            _ => windows.push((a, b)),
        }
    }
    let mut blocks = Vec::new();
    for (a, b) in windows {
        let lines = log.read(a, (b - a + 1) as usize)?;
        blocks.extend(keep_context(&lines, &errors));
    }
    Ok(Digest { section, errors, blocks, earlier, unchecked })
}

/// Within `lines` (consecutive), the error lines of `errors` with their context, as blocks of
/// lines with only empty lines between them; a block never runs across a section or command
/// boundary.
fn keep_context(lines: &[Line], errors: &[u64]) -> Vec<Vec<Line>> {
    let is_error = |l: &Line| errors.binary_search(&l.number).is_ok();
    let reach = REACH as usize;
    let mut keep = vec![false; lines.len()];
    for (i, line) in lines.iter().enumerate() {
        if !is_error(line) {
            continue;
        }
        keep[i] = true;
        // Before: not when the error line itself opens a section or command.
        let mut wanted = if is_boundary(&line.text) { 0 } else { BEFORE };
        for j in (i.saturating_sub(reach)..i).rev() {
            if wanted == 0 || is_boundary(&lines[j].text) {
                break;
            }
            if !lines[j].text.is_empty() {
                keep[j] = true;
                wanted -= 1;
            }
        }
        let mut wanted = AFTER;
        for j in i + 1..(i + 1 + reach).min(lines.len()) {
            if wanted == 0 || is_boundary(&lines[j].text) {
                break;
            }
            if !lines[j].text.is_empty() {
                keep[j] = true;
                wanted -= 1;
            }
        }
    }
    let mut blocks: Vec<Vec<Line>> = Vec::new();
    let mut open = false;
    for (line, kept) in lines.iter().zip(keep) {
        if line.text.is_empty() {
            continue; // nothing to show; it neither ends nor joins a block
        }
        if !kept {
            open = false;
            continue;
        }
        // A boundary line kept (as an error line itself) starts a block of its own.
        if !open || is_boundary(&line.text) {
            blocks.push(Vec::new());
            open = true;
        }
        if let Some(block) = blocks.last_mut() {
            block.push(line.clone());
        }
    }
    blocks
}

/// The search that finds a digest's candidates on a cached log: the last [`search::MAX_HITS`]
/// lines matching [`error_candidates_pattern`], ignoring case, without context.
fn candidate_query() -> SearchQuery {
    SearchQuery {
        pattern: error_candidates_pattern(),
        case_sensitive: false,
        invert: false,
        before: 0,
        after: 0,
        max_matches: search::MAX_HITS,
        from_line: 1,
        keep_last: true,
    }
}

impl NumberedLines for CachedLog {
    fn line_count(&self) -> u64 {
        self.meta().lines
    }

    fn candidates(&self) -> Result<(Vec<Line>, u64), SearchError> {
        let found = search::search(self, &candidate_query())?;
        Ok((found.hits.into_iter().map(|h| h.line).collect(), found.total))
    }

    fn read(&self, first: u64, count: usize) -> Result<Vec<Line>, SearchError> {
        Ok(CachedLog::read(self, first, count)?)
    }

    fn section_of(&self, line: u64) -> Option<Section> {
        self.meta().sections.iter().rev().find(|s| s.first <= line && line <= s.last).cloned()
    }
}

/// A cached log whose candidate search gives up (with [`SearchError::Cancelled`]) once `stop`
/// says so: the digest of a long log is cancelled with its call.
pub struct Stoppable<'a> {
    /// The log.
    pub log: &'a CachedLog,
    /// Asked before each chunk the candidate search reads.
    pub stop: &'a (dyn Fn() -> bool + Sync),
}

impl NumberedLines for Stoppable<'_> {
    fn line_count(&self) -> u64 {
        self.log.line_count()
    }

    fn candidates(&self) -> Result<(Vec<Line>, u64), SearchError> {
        let found = search::search_until(self.log, &candidate_query(), self.stop)?;
        Ok((found.hits.into_iter().map(|h| h.line).collect(), found.total))
    }

    fn read(&self, first: u64, count: usize) -> Result<Vec<Line>, SearchError> {
        NumberedLines::read(self.log, first, count)
    }

    fn section_of(&self, line: u64) -> Option<Section> {
        self.log.section_of(line)
    }
}

/// Cleaned lines held in memory (a log's tail), numbered from 1 as [`clean::numbered_lines`]
/// gives them: empty lines count, as they do in the cache.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemoryLog {
    lines: Vec<String>,
}

impl MemoryLog {
    /// Lines numbered from 1, empty ones included.
    pub fn new(lines: Vec<String>) -> Self {
        MemoryLog { lines }
    }

    /// Cleans raw log bytes line by line, as the cache does; `starts_mid_line` drops the first,
    /// partial line of a tail.
    pub fn from_raw(raw: &[u8], starts_mid_line: bool) -> Self {
        MemoryLog::new(clean::numbered_lines(raw, starts_mid_line))
    }

    /// The lines; line `n` is at index `n - 1`.
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    fn line(&self, index: usize) -> Line {
        Line { number: index as u64 + 1, text: self.lines[index].clone(), ts: None }
    }
}

impl NumberedLines for MemoryLog {
    fn line_count(&self) -> u64 {
        self.lines.len() as u64
    }

    fn candidates(&self) -> Result<(Vec<Line>, u64), SearchError> {
        let re = search::compile(&candidate_query())?;
        let matching: Vec<usize> = (0..self.lines.len()).filter(|&i| re.is_match(self.lines[i].as_bytes())).collect();
        let total = matching.len() as u64;
        let last = &matching[matching.len().saturating_sub(search::MAX_HITS)..];
        Ok((last.iter().map(|&i| self.line(i)).collect(), total))
    }

    fn read(&self, first: u64, count: usize) -> Result<Vec<Line>, SearchError> {
        let start = (first.max(1) - 1).min(self.lines.len() as u64) as usize;
        let end = start.saturating_add(count).min(self.lines.len());
        Ok((start..end).map(|i| self.line(i)).collect())
    }

    fn section_of(&self, line: u64) -> Option<Section> {
        let at = (line as usize).min(self.lines.len());
        let (first, title) =
            self.lines[..at].iter().enumerate().rev().find_map(|(i, l)| section_name(l).map(|t| (i, t)))?;
        let next = self.lines[first + 1..].iter().position(|l| section_name(l).is_some());
        let last = next.map_or(self.lines.len(), |p| first + 1 + p);
        Some(Section { title: title.to_string(), first: first as u64 + 1, last: last as u64, ts: None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::store::LogStore;

    fn memory(lines: &[&str]) -> MemoryLog {
        MemoryLog::new(lines.iter().map(|s| s.to_string()).collect())
    }

    fn texts(d: &Digest) -> Vec<Vec<&str>> {
        d.blocks.iter().map(|b| b.iter().map(|l| l.text.as_str()).collect()).collect()
    }

    #[test]
    fn error_lines_keep_context_within_their_section_and_skip_zero_counts() {
        let log = memory(&[
            "+++ :rspec: Running specs",
            "....",
            "  1) User returns items",
            "     Failure/Error: expect(x).to eq(y)",
            "",
            "       expected: [1]",
            "            got: [2]",
            "Finished in 8 minutes",
            "412 examples, 1 failure",
            "0 errors in other suites",
            "--- :junit: results",
            "🚨 Error: The command exited with status 1",
            "",
            "~~~ Uploading artifacts",
        ]);
        let d = digest(&log, 30).unwrap();
        assert_eq!(d.errors, [4, 6, 7, 9, 12]);
        assert_eq!(
            texts(&d),
            [
                vec![
                    "  1) User returns items",
                    "     Failure/Error: expect(x).to eq(y)",
                    "       expected: [1]",
                    "            got: [2]",
                    "Finished in 8 minutes",
                    "412 examples, 1 failure",
                    "0 errors in other suites",
                ],
                vec!["🚨 Error: The command exited with status 1"],
            ],
            "no context across `--- :junit:` or `~~~ Uploading`, and no empty context line"
        );
        assert_eq!(d.section.map(|s| (s.title, s.first, s.last)), Some((":rspec: Running specs".into(), 1, 10)));
        assert_eq!((d.earlier, d.unchecked), (0, 0));
    }

    #[test]
    fn the_failing_section_comes_from_the_line_number_not_the_text() {
        // The same error text in two sections: the kept one is in the second.
        let log = memory(&["--- one", "error: boom", "--- two", "ok", "error: boom"]);
        let d = digest(&log, 1).unwrap();
        assert_eq!(d.errors, [5]);
        assert_eq!(d.section.map(|s| s.title).as_deref(), Some("two"));
        assert_eq!(d.earlier, 1);
    }

    #[test]
    fn go_test_results_are_not_sections_and_keep_their_message() {
        let log = memory(&[
            "--- :go: Tests",
            "=== RUN   TestAdd",
            "    add_test.go:12: expected 1, got 2",
            "--- FAIL: TestAdd (0.00s)",
            "FAIL",
        ]);
        let d = digest(&log, 30).unwrap();
        assert!(texts(&d)[0].contains(&"    add_test.go:12: expected 1, got 2"), "{d:?}");
        assert_eq!(d.section.map(|s| s.title).as_deref(), Some(":go: Tests"));
    }

    #[test]
    fn the_last_error_lines_win() {
        let lines: Vec<String> = (0..500).map(|i| format!("error: {i}")).collect();
        let d = digest(&MemoryLog::new(lines), 20).unwrap();
        assert_eq!(d.errors, (481..=500).collect::<Vec<u64>>());
        assert_eq!(d.earlier, 480);
        assert_eq!(d.error_lines().next().map(|l| l.text.as_str()), Some("error: 480"));
        assert_eq!(d.last_shown(), 500);
        let quiet: Vec<String> = (0..50).map(|i| format!("line {i}")).collect();
        assert_eq!(digest(&MemoryLog::new(quiet), 20).unwrap(), Digest::default());
    }

    #[test]
    fn a_cached_log_and_the_same_lines_in_memory_digest_alike() {
        let raw = "--- :rspec: Setup\n\x1b[31merror: one\x1b[0m\n\n$ make\nFAIL\tpkg 0.1s\n+++ :go: Tests\n--- FAIL: TestAdd\nok\n";
        let tmp = tempfile::tempdir().unwrap();
        let store = LogStore::new(tmp.path().join("logs"), 1 << 30);
        let mut w = store.writer("job").unwrap();
        w.push(raw.as_bytes()).unwrap();
        let cached = w.finish(true).unwrap();
        let memory = MemoryLog::from_raw(raw.as_bytes(), false);
        assert_eq!(digest(&cached, 24).unwrap(), digest(&memory, 24).unwrap());
    }

    #[test]
    fn a_stopped_digest_gives_up_and_an_unstopped_one_is_the_same_digest() {
        let raw = "--- :rspec: Setup\nerror: one\n$ make\nFAIL\tpkg 0.1s\n";
        let tmp = tempfile::tempdir().unwrap();
        let store = LogStore::new(tmp.path().join("logs"), 1 << 30);
        let mut w = store.writer("job").unwrap();
        w.push(raw.as_bytes()).unwrap();
        let cached = w.finish(true).unwrap();
        let stopped = Stoppable { log: &cached, stop: &|| true };
        assert!(matches!(digest(&stopped, 24), Err(SearchError::Cancelled)));
        let running = Stoppable { log: &cached, stop: &|| false };
        assert_eq!(digest(&running, 24).unwrap(), digest(&cached, 24).unwrap());
    }

    /// The must-show of one digest: for every recorded job log of the demo, the failure summary's
    /// path (the 64 KiB tail as `get_build_failure_summary` fetches it, cleaned in memory) and
    /// `log_digest`'s path (the whole log through the cache writer, read back from disk) select
    /// the same error lines, with the same context and failing section.
    #[test]
    fn the_failure_summary_and_log_digest_select_the_same_error_lines() {
        let tmp = tempfile::tempdir().unwrap();
        let store = LogStore::new(tmp.path().join("logs"), 1 << 30);
        assert!(!crate::demo::LOGS.is_empty());
        for (job, raw) in crate::demo::LOGS {
            let raw = raw.as_bytes();
            // As the ranged request returns it: one byte more than asked, the first line partial.
            let start = raw.len().saturating_sub(64 * 1024 + 1);
            let tail = MemoryLog::from_raw(&raw[start..], start > 0);
            let from_tail = digest(&tail, MAX_ERRORS).unwrap();
            let mut w = store.writer(job).unwrap();
            for chunk in raw.chunks(4096) {
                w.push(chunk).unwrap();
            }
            let cached = w.finish(true).unwrap();
            let from_cache = digest(&cached, MAX_ERRORS).unwrap();
            // A tail's line 1 is the whole log's line `offset + 1`.
            let offset = cached.meta().lines - tail.line_count();
            assert!(!from_cache.errors.is_empty(), "{job}: no error line found");
            let shifted: Vec<u64> = from_tail.errors.iter().map(|n| n + offset).collect();
            assert_eq!(shifted, from_cache.errors, "{job}: different error lines");
            let texts = |d: &Digest| d.error_lines().map(|l| l.text.clone()).collect::<Vec<_>>();
            assert_eq!(texts(&from_tail), texts(&from_cache), "{job}: different error texts");
            let shown = |d: &Digest, offset: u64| {
                d.blocks.iter().map(|b| b.iter().map(|l| (l.number + offset, l.text.clone())).collect()).collect()
            };
            let (a, b): (Vec<Vec<_>>, Vec<Vec<_>>) = (shown(&from_tail, offset), shown(&from_cache, 0));
            assert_eq!(a, b, "{job}: different context");
            let title = |d: &Digest| d.section.as_ref().map(|s| s.title.clone());
            assert_eq!(title(&from_tail), title(&from_cache), "{job}: different failing section");
            assert!(title(&from_cache).is_some(), "{job}: no failing section");
        }
    }

    /// The same, through the tools themselves on the demo data: for each job the failure summary
    /// explains, its rows (plain texts) are `log_digest`'s rows without line numbers.
    #[tokio::test]
    async fn the_two_tools_show_the_same_lines_for_each_explained_job() {
        use crate::tools::{self, Access, Ctx, LogSettings, OrgDefault};
        let tmp = tempfile::tempdir().unwrap();
        let ctx = Ctx {
            api: crate::buildkite::Api::demo(),
            access: Access::default(),
            org: OrgDefault::new(Some("acme".into())),
            logs: LogSettings::new(Some(tmp.path().join("logs")), 1 << 30, 1 << 30),
        };
        let call = async |name: &str, args: serde_json::Value| -> serde_json::Value {
            let text =
                tools::call(&ctx, name, args.as_object().cloned().unwrap(), &tools::Progress::default()).await.unwrap();
            serde_json::from_str(&text).unwrap()
        };
        let summary = call("get_build_failure_summary", serde_json::json!({"build": "acme/web/1342"})).await;
        let mut compared = 0;
        let fold = regex::Regex::new(r" \(×(\d+), to \d+\)$").unwrap();
        for failure in summary["failures"].as_array().unwrap() {
            let Some(rows) = failure["errors"].as_array() else { continue };
            let from_summary: Vec<&str> =
                rows.iter().map(|r| r.as_str().unwrap()).filter(|r| !r.starts_with("… ")).collect();
            let digest = call("log_digest", serde_json::json!({"job": failure["job"]})).await;
            assert_eq!(
                digest["failing_section"].as_str().and_then(|s| s.split_once(' ')).map(|s| s.1),
                failure["section"].as_str()
            );
            let from_digest: Vec<String> = digest["errors"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|block| block.as_array().unwrap().iter())
                .map(|row| {
                    let row = row.as_str().unwrap();
                    let text = row.trim_start_matches(|c: char| c.is_ascii_digit());
                    fold.replace(&text[1..], " (×$1)").into_owned()
                })
                .collect();
            assert_eq!(from_summary, from_digest, "{}", failure["job"]);
            compared += 1;
        }
        assert_eq!(compared, 3, "the demo build explains three failed jobs from their logs");
    }
}
