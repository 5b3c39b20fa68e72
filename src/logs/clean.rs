//! The one line cleaner: raw log bytes become the text a model should read (no ANSI, no `bk;t=`
//! timestamp markers, only the last frame of carriage-return progress bars, long lines cut). The
//! cache writer and the in-memory tail both clean with [`clean_line`], so a line reads the same
//! whichever way it was fetched.

use std::borrow::Cow;

use crate::render::clean_text;

/// Longest log line kept, in characters.
pub const MAX_LINE_CHARS: usize = 400;

/// Longest raw line cleaned, in bytes; the rest of the line is dropped (a cleaned line is at most
/// [`MAX_LINE_CHARS`] characters anyway).
pub const MAX_RAW_LINE: usize = 64 * 1024;

/// Cleans one raw line (without its `\n`): the last carriage-return frame that says something,
/// without ANSI escapes or timestamp markers, cut to [`MAX_LINE_CHARS`]. A line with nothing to
/// show, or an agent directive (`^^^ +++`), becomes the empty string.
pub fn clean_line(raw: &[u8]) -> String {
    let line = String::from_utf8_lossy(&raw[..raw.len().min(MAX_RAW_LINE)]);
    // A progress bar redraws itself after `\r`: keep the last frame that says something.
    let frame =
        line.rsplit('\r').map(|f| clean_text(&strip_bare_markers(f), MAX_LINE_CHARS)).find(|f| !f.trim().is_empty());
    match frame {
        Some(frame) => {
            let frame = frame.trim_end();
            // An agent directive, not output. Known token formats never reach the cache or the model.
            if frame == "^^^ +++" { String::new() } else { crate::redact::redact_tokens(frame).into_owned() }
        }
        None => String::new(),
    }
}

/// Every line of raw log bytes, cleaned by [`clean_line`], empty ones kept: line `i` of the result
/// is raw line `i` (as the cache numbers them; a final newline adds no line). `starts_mid_line`
/// drops the first, partial line of a tail.
pub fn numbered_lines(raw: &[u8], starts_mid_line: bool) -> Vec<String> {
    let mut pieces: Vec<&[u8]> = raw.split(|b| *b == b'\n').collect();
    if pieces.last().is_some_and(|last| last.is_empty()) {
        pieces.pop();
    }
    let skip = usize::from(starts_mid_line);
    pieces.into_iter().skip(skip).map(clean_line).collect()
}

/// Cleans raw log bytes into the lines that say something (empty ones dropped). `starts_mid_line`
/// drops the first, partial line of a tail.
pub fn clean_lines(raw: &[u8], starts_mid_line: bool) -> Vec<String> {
    let mut lines = numbered_lines(raw, starts_mid_line);
    lines.retain(|l| !l.is_empty());
    lines
}

/// Removes timestamp markers `bk;t=1795169802123\x07`, with or without their `ESC _` prefix.
fn strip_bare_markers(line: &str) -> Cow<'_, str> {
    if !line.contains("bk;t=") {
        return Cow::Borrowed(line);
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
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleaning_strips_markers_ansi_and_progress_frames() {
        let raw = b"partial line\n\x1b_bk;t=1795169802123\x07\x1b[32mok\x1b[0m\nFetching 10%\rFetching 50%\rFetching 100%\n\n^^^ +++\nlast";
        assert_eq!(clean_lines(raw, true), ["ok", "Fetching 100%", "last"]);
        assert_eq!(numbered_lines(raw, true), ["ok", "Fetching 100%", "", "", "last"]);
        assert_eq!(clean_lines(b"first\nsecond", false), ["first", "second"]);
        assert_eq!(numbered_lines(b"one\ntwo\n", false), ["one", "two"], "a final newline adds no line");
        assert_eq!(numbered_lines(b"one\n\n", false), ["one", ""]);
        let long = "x".repeat(1000);
        assert!(clean_lines(long.as_bytes(), false)[0].chars().count() <= MAX_LINE_CHARS + 1);
    }

    #[test]
    fn bare_timestamp_markers_are_removed() {
        assert_eq!(
            clean_lines(b"bk;t=1795169802123\x07--- :rspec: Tests\nkeep bk;t=notamarker", false),
            ["--- :rspec: Tests", "keep bk;t=notamarker"]
        );
    }

    #[test]
    fn over_long_raw_lines_are_cut_before_cleaning() {
        let mut raw = vec![b'x'; 2 * MAX_RAW_LINE];
        raw.extend_from_slice(b"\rlate frame");
        let line = clean_line(&raw);
        assert!(line.starts_with("xxx") && line.ends_with('…'), "the frame past the cut is not seen: {line}");
    }
}
