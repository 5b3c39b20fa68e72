//! The one way log lines become output rows: runs of identical consecutive lines fold into one row
//! with their count (`(×N)`), then each row is written grep style (`12:text`, `12-context`) or, for
//! lines without numbers, as plain text.

use super::store::Line;

/// Identical consecutive lines fold into one row from this many.
pub const MIN_RUN: usize = 3;

/// How a row is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowStyle {
    /// `12:text` (`sep` `:`) or `12-text` (`sep` `-`, context), with `[hh:mm:ss] ` (UTC) before the
    /// text when `times` and the line has a timestamp; a fold reads `12:text (×40, to 51)`.
    Grep {
        /// The character between number and text.
        sep: char,
        /// Whether the line's time is shown.
        times: bool,
    },
    /// The text alone, for lines without numbers (a tail fetched without the log's start); a fold
    /// reads `text (×40)`.
    Text,
}

/// Folds runs of identical consecutive lines: a run of at least `min_run` lines becomes its first
/// line with the run's length; shorter runs stay as lines with a count of 1.
pub fn fold(lines: Vec<Line>, min_run: usize) -> Vec<(Line, usize)> {
    fn close(out: &mut Vec<(Line, usize)>, run: &mut Vec<Line>, min_run: usize) {
        let len = run.len();
        if len >= min_run.max(1) {
            let mut drained = run.drain(..);
            if let Some(first) = drained.next() {
                out.push((first, len));
            }
        } else {
            out.extend(run.drain(..).map(|l| (l, 1)));
        }
    }
    let mut out = Vec::with_capacity(lines.len());
    let mut run: Vec<Line> = Vec::new();
    for line in lines {
        if run.last().is_some_and(|prev| prev.text != line.text) {
            close(&mut out, &mut run, min_run);
        }
        run.push(line);
    }
    close(&mut out, &mut run, min_run);
    out
}

/// One row: `line` standing for `count` identical lines, written in `style`.
pub fn row(line: &Line, count: usize, style: RowStyle) -> String {
    let mut text = match style {
        RowStyle::Grep { sep, times } => {
            let time = match (times, line.ts) {
                (true, Some(ts)) => format!("[{}] ", clock(ts)),
                _ => String::new(),
            };
            format!("{}{sep}{time}{}", line.number, line.text)
        }
        RowStyle::Text => line.text.clone(),
    };
    if count > 1 {
        match style {
            RowStyle::Grep { .. } => text.push_str(&format!(" (×{count}, to {})", line.number + count as u64 - 1)),
            RowStyle::Text => text.push_str(&format!(" (×{count})")),
        }
    }
    text
}

/// Lines as rows in one style, runs of [`MIN_RUN`] or more folded.
pub fn rows(lines: Vec<Line>, style: RowStyle) -> Vec<String> {
    fold(lines, MIN_RUN).iter().map(|(line, count)| row(line, *count, style)).collect()
}

/// `hh:mm:ss` (UTC) of a timestamp in milliseconds.
pub fn clock(ms: i64) -> String {
    let secs = ms.div_euclid(1000).rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(texts: &[&str]) -> Vec<Line> {
        texts.iter().enumerate().map(|(i, t)| Line { number: i as u64 + 1, text: t.to_string(), ts: None }).collect()
    }

    #[test]
    fn runs_of_identical_lines_fold_with_their_count() {
        let lines = lines(&["a", "b", "b", "b", "c", "c", "d", "d", "d"]);
        let folded = fold(lines.clone(), 3);
        let rows: Vec<(u64, &str, usize)> = folded.iter().map(|(l, c)| (l.number, l.text.as_str(), *c)).collect();
        assert_eq!(rows, [(1, "a", 1), (2, "b", 3), (5, "c", 1), (6, "c", 1), (7, "d", 3)]);
        assert_eq!(fold(lines.clone(), 100).len(), 9);
        assert_eq!(fold(lines, 2).len(), 4);
        assert!(fold(Vec::new(), 2).is_empty());
    }

    #[test]
    fn rows_are_grep_style_or_plain() {
        let grep = RowStyle::Grep { sep: ':', times: false };
        assert_eq!(rows(lines(&["a", "x", "x", "x", "b"]), grep), ["1:a", "2:x (×3, to 4)", "5:b"]);
        assert_eq!(rows(lines(&["a", "x", "x", "x"]), RowStyle::Text), ["a", "x (×3)"]);
        let timed = Line { number: 7, text: "t".into(), ts: Some(1_795_169_802_123) };
        assert_eq!(row(&timed, 1, RowStyle::Grep { sep: '-', times: true }), "7-[10:16:42] t");
    }

    #[test]
    fn clock_reads_milliseconds_as_utc_time_of_day() {
        assert_eq!(clock(1_795_169_802_123), "10:16:42");
        assert_eq!(clock(0), "00:00:00");
    }
}
