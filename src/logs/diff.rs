//! What a failing log says that a passing one does not: both cached logs are aligned by their
//! sections (titles normalised as [`fingerprint::normalise`] does, in order), and within each
//! pair of sections the failing log's lines whose normalised text the baseline's section does not
//! hold are the lines only in the failing log. Both logs are read in chunks: memory holds one
//! baseline section's line hashes (8 bytes and a line number per distinct line) and the lines
//! kept for the answer, never a whole log.
//!
//! The agent's own set-up sections (hooks, checkout, plugins) differ between any two builds (the
//! commit, the paths): their differing lines are counted apart and never make the first
//! divergence.

use super::fingerprint::{normalise, stable_hash};
use super::store::{CachedLog, Line, Section};
use std::io;

/// Lines read at once.
const CHUNK: usize = 4096;
/// Common lines between two lines only in the failing log that keep them in one run (shown as
/// context).
const GAP: usize = 2;

/// One side's span of lines: a section (or the lines before the first one).
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    /// The section's title (`None`: before any section).
    pub title: Option<String>,
    /// First and last line (inclusive).
    pub first: u64,
    /// Last line.
    pub last: u64,
}

/// A run of consecutive lines only in the failing log.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// The lines (numbered in the failing log), with the common lines between them.
    pub lines: Vec<Line>,
    /// Numbers of the lines of the run that the baseline holds too (context).
    pub context: Vec<u64>,
    /// The baseline line after which they would come: the last line of the baseline section
    /// matching the failing line before the run (`None`: no such line).
    pub baseline_after: Option<u64>,
    /// Lines of the run beyond those kept.
    pub more: u64,
}

/// The first section where the logs diverge, in both logs.
#[derive(Debug, Clone, PartialEq)]
pub struct Divergence {
    /// The failing log's section.
    pub failing: Span,
    /// The baseline's section aligned with it (`None`: the baseline has no such section).
    pub baseline: Option<Span>,
}

/// The comparison of two logs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LogDiff {
    /// The first section (not set-up) holding lines only in the failing log.
    pub first: Option<Divergence>,
    /// Runs of lines only in the failing log, in order, from the first divergence on, within
    /// `max_lines`.
    pub runs: Vec<Run>,
    /// Lines only in the failing log, outside set-up sections, in all.
    pub only_in_failing: u64,
    /// Lines only in the failing log within the agent's set-up sections (not shown).
    pub setup_only_in_failing: u64,
    /// Baseline lines (of aligned sections, not set-up) the failing log does not hold.
    pub only_in_baseline: u64,
    /// Sections compared and sections of the failing log the baseline lacks.
    pub sections: usize,
    /// Failing sections the baseline lacks.
    pub unmatched: usize,
}

/// Whether a section is the agent's set-up (hooks, checkout, plugins, environment), which differs
/// between any two builds. The lines before any section are not: the agent's own come under
/// headers.
pub fn is_setup(title: Option<&str>) -> bool {
    let Some(title) = title else { return false };
    let t = title.to_ascii_lowercase();
    t.starts_with("running global")
        || t.starts_with("running plugin")
        || t.starts_with("running local")
        || t.starts_with("preparing working directory")
        || t.starts_with("preparing plugins")
        || t.contains("setting up")
        || t.starts_with("running commands")
        || t.starts_with("uploading artifacts")
}

/// The spans of a log: the lines before the first section, then each section up to the next
/// one (the last to the log's end, also past the cache's section cap).
fn spans(log: &CachedLog) -> Vec<Span> {
    let lines = log.meta().lines;
    let sections: &[Section] = &log.meta().sections;
    let mut out = Vec::new();
    let first_header = sections.first().map_or(lines + 1, |s| s.first);
    if first_header > 1 && lines > 0 {
        out.push(Span { title: None, first: 1, last: first_header - 1 });
    }
    for (i, s) in sections.iter().enumerate() {
        let last = sections.get(i + 1).map_or(lines, |next| next.first.saturating_sub(1));
        out.push(Span { title: Some(s.title.clone()), first: s.first, last });
    }
    out
}

/// A normalised line's hash (`None` for a line with nothing to compare).
fn key(text: &str) -> Option<u64> {
    let n = normalise(text);
    (!n.is_empty()).then(|| stable_hash(n.as_bytes()))
}

/// Calls `each` for every line of `span`, in chunks; `stop` is asked between chunks.
fn each_line(log: &CachedLog, span: &Span, stop: &dyn Fn() -> bool, mut each: impl FnMut(Line)) -> io::Result<()> {
    let mut at = span.first;
    while at <= span.last {
        if stop() {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "cancelled"));
        }
        let want = ((span.last - at + 1) as usize).min(CHUNK);
        let lines = log.read(at, want)?;
        if lines.is_empty() {
            break;
        }
        at += lines.len() as u64;
        lines.into_iter().for_each(&mut each);
    }
    Ok(())
}

/// A baseline section's distinct line hashes, sorted, each with its first line number.
struct Held {
    hashes: Vec<u64>,
    numbers: Vec<u64>,
    used: Vec<bool>,
}

impl Held {
    fn read(log: &CachedLog, span: &Span, stop: &dyn Fn() -> bool) -> io::Result<Held> {
        let mut pairs: Vec<(u64, u64)> = Vec::new();
        each_line(log, span, stop, |l| {
            if let Some(h) = key(&l.text) {
                pairs.push((h, l.number));
            }
        })?;
        pairs.sort_unstable();
        pairs.dedup_by_key(|p| p.0);
        pairs.shrink_to_fit();
        let used = vec![false; pairs.len()];
        let (hashes, numbers) = pairs.into_iter().unzip();
        Ok(Held { hashes, numbers, used })
    }

    fn empty() -> Held {
        Held { hashes: Vec::new(), numbers: Vec::new(), used: Vec::new() }
    }

    /// The baseline line number of `hash`, marking it seen.
    fn find(&mut self, hash: u64) -> Option<u64> {
        let i = self.hashes.binary_search(&hash).ok()?;
        self.used[i] = true;
        Some(self.numbers[i])
    }
}

/// Compares `failing` with `baseline`, keeping at most `max_lines` lines only in the failing log
/// (in runs of at most `max_run` lines each); `stop` cancels between chunks.
pub fn diff(
    failing: &CachedLog,
    baseline: &CachedLog,
    max_lines: usize,
    max_run: usize,
    stop: &dyn Fn() -> bool,
) -> io::Result<LogDiff> {
    let theirs = spans(baseline);
    let title = |s: &Span| s.title.as_deref().map(normalise);
    let mut out = LogDiff::default();
    let mut cursor = 0usize;
    let mut kept = 0usize;
    for span in spans(failing) {
        let want = title(&span);
        // The next baseline span with the same normalised title (the untitled start pairs with
        // the untitled start).
        let found = theirs[cursor..].iter().position(|b| title(b) == want).map(|p| cursor + p);
        let (mut held, pair) = match found {
            Some(j) => {
                cursor = j + 1;
                (Held::read(baseline, &theirs[j], stop)?, Some(theirs[j].clone()))
            }
            None => {
                out.unmatched += 1;
                (Held::empty(), None)
            }
        };
        out.sections += 1;
        let setup = is_setup(span.title.as_deref());
        let mut last_match: Option<u64> = None;
        // Whether the last run may go on, and the common lines seen since its last line.
        let mut open = false;
        let mut gap: Vec<Line> = Vec::new();
        let mut here = 0u64;
        each_line(failing, &span, stop, |line| {
            let Some(h) = key(&line.text) else { return };
            if let Some(n) = held.find(h) {
                last_match = Some(n);
                if open {
                    gap.push(line);
                    if gap.len() > GAP {
                        open = false;
                        gap.clear();
                    }
                }
                return;
            }
            here += 1;
            if setup {
                out.setup_only_in_failing += 1;
                return;
            }
            out.only_in_failing += 1;
            let room = max_lines.saturating_sub(kept);
            match out.runs.last_mut() {
                Some(run) if open && run.lines.len() + gap.len() < max_run && gap.len() < room => {
                    kept += gap.len() + 1;
                    for l in gap.drain(..) {
                        run.context.push(l.number);
                        run.lines.push(l);
                    }
                    run.lines.push(line);
                }
                Some(run) if open => {
                    run.more += 1;
                    gap.clear();
                }
                _ if room == 0 => {}
                _ => {
                    out.runs.push(Run { lines: vec![line], context: Vec::new(), baseline_after: last_match, more: 0 });
                    open = true;
                    gap.clear();
                    kept += 1;
                }
            }
        })?;
        if pair.is_some() && !setup {
            out.only_in_baseline += held.used.iter().filter(|u| !**u).count() as u64;
        }
        if here > 0 && !setup && out.first.is_none() {
            out.first = Some(Divergence { failing: span.clone(), baseline: pair });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::store::LogStore;

    fn cached(store: &LogStore, key: &str, text: &str) -> CachedLog {
        let mut w = store.writer(key).unwrap();
        w.push(text.as_bytes()).unwrap();
        w.finish(true).unwrap()
    }

    #[test]
    fn lines_only_in_the_failing_log_are_found_by_section_with_numbers_in_both() {
        let tmp = tempfile::tempdir().unwrap();
        let store = LogStore::new(tmp.path().join("logs"), 1 << 30);
        let pass = cached(
            &store,
            "pass",
            "~~~ Preparing working directory\nHEAD is now at 1a2b3c4d Old commit\n--- build\nCompiling a v0.1\nCompiling b v0.2\nFinished in 3.2s\n--- test\n48 passed\n",
        );
        let fail = cached(
            &store,
            "fail",
            "~~~ Preparing working directory\nHEAD is now at 9f8e7d6c New commit\n--- build\nCompiling a v0.1\nCompiling b v0.2\nerror[E0308]: mismatched types\n  --> src/render.rs:42:17\nFinished in 4.9s\n",
        );
        let d = diff(&fail, &pass, 100, 50, &|| false).unwrap();
        let first = d.first.clone().unwrap();
        assert_eq!(first.failing, Span { title: Some("build".into()), first: 3, last: 8 });
        assert_eq!(first.baseline, Some(Span { title: Some("build".into()), first: 3, last: 6 }));
        assert_eq!(d.runs.len(), 1);
        let texts: Vec<&str> = d.runs[0].lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["error[E0308]: mismatched types", "  --> src/render.rs:42:17"]);
        assert_eq!((d.runs[0].lines[0].number, d.runs[0].baseline_after), (6, Some(5)));
        assert_eq!(d.only_in_failing, 2, "Finished in 4.9s is Finished in 3.2s, normalised");
        assert_eq!(d.setup_only_in_failing, 1, "the checkout line is set-up");
        assert_eq!(d.only_in_baseline, 0, "the test section is not in the failing log");
        assert_eq!(d.unmatched, 0);
    }

    #[test]
    fn the_kept_lines_are_capped_and_the_rest_counted() {
        let tmp = tempfile::tempdir().unwrap();
        let store = LogStore::new(tmp.path().join("logs"), 1 << 30);
        let pass = cached(&store, "pass", "--- t\nok\n");
        let body: String = (0..100).map(|i| format!("failure {i} in {}\n", "x".repeat(i % 7))).collect();
        let fail = cached(&store, "fail", &format!("--- t\nok\n{body}"));
        let d = diff(&fail, &pass, 10, 4, &|| false).unwrap();
        assert_eq!(d.only_in_failing, 100);
        let kept: usize = d.runs.iter().map(|r| r.lines.len()).sum();
        assert!(kept <= 10, "{kept}");
        assert!(diff(&fail, &pass, 10, 4, &|| true).is_err(), "a stop is honoured");
    }
}
